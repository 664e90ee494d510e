import ArgumentParser
import Foundation
import Harness
import SyntheticData

struct Compare: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compare a stored run's summary.json with a baseline, metric by metric within tolerances (offline).",
        discussion: """
        CURRENT is a run's summary.json (or its results folder); BASELINE a baseline file written \\
        by `csvstorm run --write-baseline` or another summary.json. Latency percentiles, rates and \\
        throughput are compared as ratios with tolerances (e.g. e2e_latency.p95 within 1.5x + 2s): \\
        from --scenario's baseline: section, else the default set (results/README.md), changed by \\
        --tolerance.

        Exit codes: 0 no regression, 99 at least one metric regressed, 104 invalid arguments or \\
        files (a missing file, not a csvstorm summary, a bad tolerance).

        Examples:
          csvstorm compare results/20261129T120000Z-ci-regression results/baselines/ci-regression.json
          csvstorm compare new/summary.json old/summary.json --tolerance e2e_latency.p95=1.2x --json
        """
    )

    @Argument(help: "The run to check: its summary.json or its results folder.")
    var current: String

    @Argument(help: "The baseline: a baseline file or a summary.json (or a results folder).")
    var baseline: String

    @Option(help: ArgumentHelp("Take the tolerances from this scenario's baseline: section.", valueName: "file"))
    var scenario: String?

    @Option(help: ArgumentHelp("Change, add or drop (=off) one metric's tolerance, e.g. e2e_latency.p95=1.5x+2s. Repeatable.", valueName: "metric=tolerance"))
    var tolerance: [String] = []

    @Flag(help: "Print the comparison as JSON (as summary.json's baseline field) instead of text.")
    var json = false

    func run() async throws {
        let comparison: BaselineComparison
        let warnings: [String]
        do {
            var overrides: [ToleranceOverride] = []
            for text in self.tolerance { overrides.append(try ToleranceOverride(parsing: text)) }
            (comparison, warnings) = try BaselineComparison.compareFiles(current: self.current, baseline: self.baseline, scenario: self.scenario, overrides: overrides)
        } catch {
            throw CommandFailure(message: "\(error)", exitCode: ExitCodes.invalidInput)
        }
        for warning in warnings { printError("csvstorm compare: \(warning)") }
        if self.json {
            FileHandle.standardOutput.write(try comparison.json())
        } else {
            print(comparison.lines(indent: "").joined(separator: "\n"))
        }
        if !comparison.passed { throw ExitCode(ExitCodes.thresholdsFailed) }
    }
}
