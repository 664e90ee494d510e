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

        Exit codes: 0 pass, 99 thresholds failed, 104 invalid scenario or arguments, 105 aborted \
        (Ctrl-C: uploads aborted, partial results written), 107 internal error, 108 the audit found \
        lost or duplicated data.

        Examples:
          csvstorm run scenarios/smoke.yaml
          csvstorm run scenarios/task-failures.yaml --results /tmp/results
          csvstorm run scenarios/smoke.yaml --validate-only
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

    func run() async throws {
        if self.validateOnly {
            do {
                let (scenario, plan, schema) = try ScenarioRunner.validate(path: self.scenario)
                print("\(self.scenario): valid — \(scenario.name), schema \(schema.name), \(plan.map { "\($0.faults.count) fault(s)" } ?? "no faults"), \(scenario.thresholds.count) threshold(s)")
                return
            } catch {
                throw CommandFailure(message: "\(error)", exitCode: ExitCodes.invalidInput)
            }
        }
        guard self.progressInterval > 0 else { throw CommandFailure(message: "--progress-interval must be positive", exitCode: ExitCodes.invalidInput) }
        let runner = ScenarioRunner(
            options: .init(
                scenarioPath: self.scenario, resultsRoot: self.results, progressInterval: .milliseconds(Int64(self.progressInterval * 1000)),
                interactive: isatty(STDOUT_FILENO) == 1
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
