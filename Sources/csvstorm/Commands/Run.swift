import ArgumentParser
import Foundation
import Faults
import Harness
import SyntheticData

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a scenario end to end: load, faults, end-to-end latency, retries, ledger audit, thresholds, results.",
        discussion: """
        Starts the embedded emulated pipeline (unless the scenario targets an endpoint), generates \
        and uploads the scenario's files under its load model and fault plan, waits for the \
        pipeline to go quiet, audits every upload (ledger, buckets, RetryQueue, PII in the \
        outputs), writes results/<UTC time>-<scenario>/ and prints a summary. The scenario format \
        is in scenarios/README.md; the results in results/README.md.

        A scenario with a baseline: section (or --baseline FILE) is compared with that stored \
        baseline, metric by metric within tolerances; a regression fails the run like a threshold. \
        --write-baseline FILE records a passing run as the baseline instead.

        Exit codes: 0 pass, 99 thresholds failed or a baseline regression, 104 invalid scenario or \
        arguments (also: the baseline file is missing), 105 aborted (Ctrl-C: uploads aborted, \
        partial results written), 107 internal error, 108 the audit found lost or duplicated data.

        Examples:
          csvstorm run scenarios/smoke.yaml
          csvstorm run scenarios/task-failures.yaml --results /tmp/results
          csvstorm run scenarios/smoke.yaml --validate-only
          csvstorm run scenarios/ci-regression.yaml --tolerance e2e_latency.p95=2x+2s
          csvstorm run scenarios/ci-regression.yaml --write-baseline results/baselines/ci-regression.json --machine-note "2-core CI runner"
        """
    )

    @Argument(help: "The scenario file (YAML).")
    var scenario: String

    @Option(help: "Where results/<time>-<name>/ folders are written.")
    var results = "results"

    @Flag(help: "Validate the scenario (and its fault plan and schema), run nothing.")
    var validateOnly = false

    @Option(help: "Seconds between progress lines.")
    var progressInterval: Double = 2

    @Option(help: ArgumentHelp("Compare with this baseline (a baseline file or a summary.json) instead of the scenario's baseline.file.", valueName: "file"))
    var baseline: String?

    @Option(help: ArgumentHelp("Change, add or drop (=off) one compared metric's tolerance, e.g. e2e_latency.p95=1.5x+2s, upload_retry_rate=+0.01, throughput.filesPerSecond=off. Repeatable.", valueName: "metric=tolerance"))
    var tolerance: [String] = []

    @Flag(help: "Do not compare with a baseline, even if the scenario names one.")
    var noBaseline = false

    @Option(help: ArgumentHelp("Record this run as the baseline at this path if it passes (no comparison; the file need not exist).", valueName: "file"))
    var writeBaseline: String?

    @Option(help: ArgumentHelp("A note stored in the baseline written by --write-baseline (machine, what else ran).", valueName: "text"))
    var machineNote: String?

    func baselineOptions() throws(ConfigError) -> ScenarioRunner.BaselineOptions {
        if self.machineNote != nil, self.writeBaseline == nil {
            throw ConfigError(file: "--machine-note", message: "--machine-note is stored in a baseline written by --write-baseline; give both")
        }
        var overrides: [ToleranceOverride] = []
        for text in self.tolerance { overrides.append(try ToleranceOverride(parsing: text)) }
        return .init(file: self.baseline, overrides: overrides, disabled: self.noBaseline, writeTo: self.writeBaseline, machineNote: self.machineNote)
    }

    func run() async throws {
        if self.validateOnly {
            do {
                let (scenario, plan, schema) = try ScenarioRunner.validate(path: self.scenario)
                let baseline = try ScenarioRunner.baselinePlan(for: scenario, options: try self.baselineOptions())
                let compared = baseline.map { ", compared with \($0.file) (\($0.tolerances.count) metric(s))" } ?? ""
                print("\(self.scenario): valid — \(scenario.name), schema \(schema.name), \(plan.map { "\($0.faults.count) fault(s)" } ?? "no faults"), \(scenario.thresholds.count) threshold(s)\(compared)")
                return
            } catch {
                throw CommandFailure(message: "\(error)", exitCode: ExitCodes.invalidInput)
            }
        }
        let baselineOptions: ScenarioRunner.BaselineOptions
        do {
            baselineOptions = try self.baselineOptions()
        } catch {
            throw CommandFailure(message: "\(error)", exitCode: ExitCodes.invalidInput)
        }
        guard self.progressInterval > 0 else { throw CommandFailure(message: "--progress-interval must be positive", exitCode: ExitCodes.invalidInput) }
        let runner = ScenarioRunner(
            options: .init(
                scenarioPath: self.scenario, resultsRoot: self.results, progressInterval: .milliseconds(Int64(self.progressInterval * 1000)),
                interactive: isatty(STDOUT_FILENO) == 1, baseline: baselineOptions
            ),
            output: { line in FileHandle.standardOutput.write(Data((line + "\n").utf8)) }
        )
        let outcome = try await Interruptible.run { await runner.run() }
        let result = outcome.value
        if result.exitCode == .invalidScenario || result.exitCode == .internalError {
            throw CommandFailure(message: result.message, exitCode: result.exitCode.rawValue)
        }
        print(result.message)
        if result.exitCode != .passed {
            throw ExitCode(result.exitCode.rawValue)
        }
    }
}
