import AWSWire
import AsyncHTTPClient
import Emulator
import Faults
import Foundation
import Logging
import NIOCore
import SyntheticData

/// `csvstorm run`: executes one scenario end to end — starts the embedded emulator (unless the
/// scenario targets an endpoint), generates and uploads the files under the load model and the
/// fault plan, waits for the pipeline to go quiet, audits, writes results/<time>-<name>/, and
/// answers the exit code.
package struct ScenarioRunner: Sendable {
    package struct Options: Sendable {
        package var scenarioPath: String
        /// Default `results`.
        package var resultsRoot: String
        /// How often the ledger is scanned while the run goes on (rate limit of observation).
        /// Default 1 s.
        package var ledgerPollInterval: Duration
        /// Progress: one line this often. Default 2 s.
        package var progressInterval: Duration
        /// Rewrite one status line in place (a terminal) instead of printing lines.
        package var interactive: Bool
        /// The baseline comparison (`--baseline`, `--tolerance`, `--no-baseline`, `--write-baseline`).
        package var baseline: BaselineOptions

        package init(
            scenarioPath: String, resultsRoot: String = "results", ledgerPollInterval: Duration = .seconds(1), progressInterval: Duration = .seconds(2), interactive: Bool = false,
            baseline: BaselineOptions = .init()
        ) {
            self.scenarioPath = scenarioPath
            self.resultsRoot = resultsRoot
            self.ledgerPollInterval = ledgerPollInterval
            self.progressInterval = progressInterval
            self.interactive = interactive
            self.baseline = baseline
        }
    }

    /// How a run uses a baseline. By default it compares with the scenario's `baseline.file`
    /// using the scenario's tolerances (or the defaults), if the scenario has a `baseline:`.
    package struct BaselineOptions: Sendable {
        /// Compare with this file instead of the scenario's (`--baseline`).
        package var file: String?
        /// Tolerances changed, added or dropped on the command line (`--tolerance`).
        package var overrides: [ToleranceOverride]
        /// Do not compare, even if the scenario names a baseline (`--no-baseline`).
        package var disabled: Bool
        /// Record this run as the baseline at this path when it passes, instead of comparing
        /// (`--write-baseline`); the file need not exist.
        package var writeTo: String?
        /// Stored in a written baseline (`--machine-note`).
        package var machineNote: String?

        package init(file: String? = nil, overrides: [ToleranceOverride] = [], disabled: Bool = false, writeTo: String? = nil, machineNote: String? = nil) {
            self.file = file
            self.overrides = overrides
            self.disabled = disabled
            self.writeTo = writeTo
            self.machineNote = machineNote
        }
    }

    package struct Outcome: Sendable {
        package var exitCode: RunExitCode
        /// The results folder (nil when nothing ran).
        package var resultsDirectory: String?
        /// What to print at the end (the summary, or the error).
        package var message: String
    }

    package let options: Options
    let output: @Sendable (String) -> Void

    package init(options: Options, output: @escaping @Sendable (String) -> Void) {
        self.options = options
        self.output = output
    }

    /// A scenario, its fault plan and its schema, validated: every error names file:line:column.
    package static func validate(path: String) throws -> (Scenario, FaultPlan?, Schema) {
        let scenario = try Scenario.load(file: path)
        let plan = try scenario.faults.map { try FaultPlan(node: $0.node, file: $0.file) }
        if case .endpoint(let endpoint) = scenario.target, let plan, let error = ECSTaskFaults.unsupported(plan, ecs: endpoint.ecs, file: scenario.file) {
            throw error
        }
        let schema = try SchemaLoader.load(path: scenario.dataset.schema)
        return (scenario, plan, schema)
    }

    /// The baseline a run of `scenario` compares with, loaded and checked; nil when it compares
    /// with none. A missing or unreadable baseline file, a baseline of another scenario, or
    /// contradictory options are errors (exit 104) before anything runs — unless the run records
    /// the baseline (`--write-baseline`).
    package static func baselinePlan(for scenario: Scenario, options: BaselineOptions) throws(ConfigError) -> BaselinePlan? {
        if options.writeTo != nil {
            if options.file != nil { throw ConfigError(file: "--write-baseline", message: "--baseline and --write-baseline exclude each other: a run either compares with a baseline or records one") }
            if options.disabled { throw ConfigError(file: "--write-baseline", message: "--no-baseline and --write-baseline exclude each other") }
            if !options.overrides.isEmpty { throw ConfigError(file: "--tolerance", message: "--tolerance applies to a comparison; a run that records a baseline (--write-baseline) is not compared") }
            return nil
        }
        if options.disabled {
            if options.file != nil { throw ConfigError(file: "--no-baseline", message: "--baseline and --no-baseline exclude each other") }
            if !options.overrides.isEmpty { throw ConfigError(file: "--tolerance", message: "--tolerance applies to a comparison; --no-baseline turns it off") }
            return nil
        }
        guard let file = options.file ?? scenario.baseline?.file else {
            if !options.overrides.isEmpty {
                throw ConfigError(file: "--tolerance", message: "no baseline to compare with: give --baseline FILE or a baseline: section in \(scenario.file)")
            }
            return nil
        }
        let tolerances = ToleranceOverride.apply(options.overrides, to: scenario.baseline?.tolerances ?? BaselineTolerance.defaults)
        guard !tolerances.isEmpty else { throw ConfigError(file: "--tolerance", message: "every compared metric is turned off") }
        let snapshot: BaselineSnapshot
        do {
            snapshot = try BaselineSnapshot.load(path: file)
        } catch {
            guard options.file == nil, let section = scenario.baseline else { throw ConfigError(file: "--baseline", message: error.description) }
            // The scenario named it: point at its line.
            let missing = !FileManager.default.fileExists(atPath: file)
            let detail = missing
                ? "no baseline file at '\(file)' (relative paths start at the working directory); record one with `csvstorm run \(scenario.file) --write-baseline \(file)`, or run with --no-baseline"
                : error.description
            throw ConfigError(file: scenario.file, line: section.fileLine, column: section.fileColumn, message: "baseline.file: \(detail)")
        }
        guard snapshot.scenario.name == scenario.name else {
            throw ConfigError(file: file, message: "this baseline is of scenario '\(snapshot.scenario.name)', not '\(scenario.name)'")
        }
        return BaselinePlan(file: file, snapshot: snapshot, tolerances: tolerances)
    }

    /// Runs the scenario. Never throws: errors become exit codes. Cancellation (Ctrl-C) aborts
    /// the uploads, writes partial results marked aborted, and answers 105.
    package func run() async -> Outcome {
        let scenario: Scenario
        let plan: FaultPlan?
        let schema: Schema
        do {
            (scenario, plan, schema) = try Self.validate(path: self.options.scenarioPath)
        } catch {
            return Outcome(exitCode: .invalidScenario, resultsDirectory: nil, message: "\(error)")
        }
        let baselinePlan: BaselinePlan?
        do {
            baselinePlan = try Self.baselinePlan(for: scenario, options: self.options.baseline)
        } catch {
            return Outcome(exitCode: .invalidScenario, resultsDirectory: nil, message: "\(error)")
        }
        let state = RunState(stages: StageMetrics(scenario: scenario))
        let results: ResultsWriter
        let events: EventsWriter
        do {
            results = try ResultsWriter.create(root: self.options.resultsRoot, scenario: scenario.name, start: state.startDate)
            events = try results.openEvents()
        } catch {
            return Outcome(exitCode: .internalError, resultsDirectory: nil, message: "cannot write results: \(error)")
        }
        let injector = plan.map { FaultInjector(plan: $0) }
        let usageAtStart = HarnessUsage.current()
        self.output("csvstorm run: \(scenario.name) → \(results.directory.path)")
        let execution = Execution(runner: self, scenario: scenario, schema: schema, state: state, events: events, injector: injector)
        let report: Execution.Report
        do {
            switch scenario.target {
            case .emulated(let emulated):
                var configuration = EmulatorConfiguration(listener: .init(port: 0), multipart: .init(minimumPartSize: Int64(Execution.emulatorMinimumPartSize)))
                // The emulator owns the run's injector: its endpoint (S3, DynamoDB, SQS), its pipeline
                // hooks and pipeline restarts follow the plan, on the run's clock.
                configuration.faults = injector.map { injector in FaultInjection(injector: injector, source: self.options.scenarioPath) { state.elapsed } }
                configuration.pipeline = emulated.pipelineConfiguration(schema: schema, defaultSeed: scenario.dataset.seed, faults: PipelineFaultHooks())
                report = try await withEmulator(configuration) { endpoint in
                    try await execution.run(target: try RunTarget.emulated(endpoint, minimumPartSize: Execution.emulatorMinimumPartSize))
                }
            case .endpoint(let endpoint):
                // Task faults act through ECS StopTask on the deployed pipeline's processor tasks.
                let target = try RunTarget.deployed(endpoint)
                report = try await ECSTaskFaults.alongside(
                    endpoint: endpoint, credentials: target.credentials, injector: injector, logger: Logger(label: "csvstorm.run.faults"), elapsed: { state.elapsed }
                ) {
                    try await execution.run(target: target)
                }
            }
        } catch {
            try? events.close()
            return Outcome(exitCode: .internalError, resultsDirectory: results.directory.path, message: "run failed: \(error)")
        }
        // Results (also for an aborted run: partial, marked aborted).
        try? events.close()
        var registry = state.metrics
        registry.elapsed = report.end.timeIntervalSince(state.startDate) > 0 ? .secondsValue(report.end.timeIntervalSince(state.startDate)) : .zero
        if !report.aborted, report.audited { registry.verdict = registry.effectiveVerdict }
        let usage = HarnessUsage.current().since(usageAtStart)
        registry.set(.harnessCPUSeconds, usage.cpuSeconds)
        registry.set(.harnessRSSBytes, Double(usage.peakRSSBytes))
        let thresholdResults = scenario.thresholds.evaluate(registry)
        var exitCode = RunExitCode.forRun(aborted: report.aborted, audit: registry.audit, thresholds: thresholdResults)
        var timeline = state.timeline
        for window in report.faultWindows {
            timeline.faultWindowOpened(window.name, at: window.start)
            if let end = window.end { timeline.faultWindowClosed(window.name, at: end) }
        }
        // The baseline: compare (an aborted run is partial: not compared), or record this run.
        let measured = RunSummary(
            scenario: scenario, registry: registry, thresholdResults: thresholdResults, start: state.startDate, end: report.end, aborted: report.aborted,
            harness: usage, exitCode: exitCode, stages: state.stages
        )
        let comparison = report.aborted ? nil : baselinePlan?.compare(BaselineSnapshot(summary: measured))
        exitCode = RunExitCode.forRun(aborted: report.aborted, audit: registry.audit, thresholds: thresholdResults, baselineRegressed: comparison.map { !$0.passed } ?? false)
        var baselineNote: String?
        var baselineWritten: String?
        if let path = self.options.baseline.writeTo {
            if exitCode == .passed {
                do {
                    let run = (self.options.resultsRoot as NSString).appendingPathComponent(results.directory.lastPathComponent)
                    try BaselineSnapshot.baseline(from: measured, run: run, note: self.options.baseline.machineNote).write(to: path)
                    baselineWritten = path
                    baselineNote = "  baseline written: \(path)"
                } catch {
                    return Outcome(exitCode: .internalError, resultsDirectory: results.directory.path, message: "cannot write the baseline \(path): \(error)")
                }
            } else {
                baselineNote = "  baseline not written: the run did not pass (\(exitCode.outcome), exit \(exitCode.rawValue)); \(path) is unchanged"
            }
        } else if report.aborted, let baselinePlan {
            baselineNote = "  baseline \(baselinePlan.file): not compared (the run was aborted)"
        }
        let summary: RunSummary
        do {
            summary = try results.writeAll(
                scenario: scenario, registry: registry, timeline: timeline, auditObjects: report.auditObjects, start: state.startDate,
                end: report.end, aborted: report.aborted, harness: usage, exitCode: exitCode, stages: state.stages,
                baseline: comparison, baselineWritten: baselineWritten
            )
        } catch {
            return Outcome(exitCode: .internalError, resultsDirectory: results.directory.path, message: "cannot write results: \(error)")
        }
        return Outcome(
            exitCode: exitCode, resultsDirectory: results.directory.path,
            message: Self.summaryText(
                scenario: scenario, registry: registry, thresholds: thresholdResults, exitCode: exitCode, usage: usage, summary: summary, directory: results.directory.path,
                baselineNote: baselineNote
            )
        )
    }

    static func summaryText(
        scenario: Scenario, registry: MetricsRegistry, thresholds: [ThresholdResult], exitCode: RunExitCode, usage: HarnessUsage, summary: RunSummary, directory: String,
        baselineNote: String? = nil
    ) -> String {
        var lines: [String] = []
        let uploads = registry.count(.uploadsStarted)
        lines.append("\(scenario.name): \(exitCode.outcome) (exit \(exitCode.rawValue)) in \(String(format: "%.1f", registry.elapsed.secondsValue)) s")
        lines.append("  uploads: \(uploads) started, \(registry.count(.uploadsCompleted)) ok, \(registry.count(.uploadsFailed)) failed, \(registry.count(.uploadsUnknown)) unknown; \(String(format: "%.1f", Double(registry.count(.bytesUploaded)) / 1e6)) MB; upload retry rate \(String(format: "%.4f", registry.rate(.uploadRetryRate)))")
        for metric in [LatencyMetric.uploadDuration, .pipelineLatency, .e2eLatency, .taskQueueing, .processingTime] {
            if let s = registry.latencySummary(metric) {
                lines.append(String(format: "  %@: p50 %.3fs  p95 %.3fs  p99 %.3fs  max %.3fs  (n=%llu)", metric.rawValue, s.p50, s.p95, s.p99, s.max, s.count))
            }
        }
        lines.append("  pipeline: \(registry.count(.jobsSucceeded)) succeeded, \(registry.count(.jobsFailed)) failed; task launches \(registry.count(.taskLaunches)), throttled \(registry.count(.taskThrottles)), retries \(registry.count(.taskRetries)); event retries \(registry.count(.eventDeliveryRetries)), dead-lettered \(registry.count(CounterMetric.deadLettered))")
        let audit = AuditClass.allCases.compactMap { c in registry.count(c) > 0 ? "\(c.rawValue) \(registry.count(c))" : nil }.joined(separator: ", ")
        lines.append("  audit: \(registry.verdict?.rawValue ?? "not run")\(audit.isEmpty ? "" : " — \(audit)")")
        for (auditClass, keys) in registry.auditExamples.sorted(by: { $0.key < $1.key }) where AuditClass.invalid.contains(auditClass) || auditClass == .stuck {
            lines.append("    \(auditClass.rawValue): \(keys.prefix(3).joined(separator: ", "))")
        }
        for result in thresholds { lines.append("  threshold \(result.passed ? "✓" : "✗") \(result.message)") }
        if let comparison = summary.baseline {
            lines.append(contentsOf: comparison.lines())
        }
        if let baselineNote { lines.append(baselineNote) }
        lines.append(String(format: "  harness: %.2f CPU s (%.2f ms per upload), peak RSS %d MiB", usage.cpuSeconds, uploads > 0 ? usage.cpuSeconds * 1000 / Double(uploads) : 0, usage.peakRSSBytes >> 20))
        if let saturation = summary.saturation { lines.append("  saturation: \(saturation)") }
        lines.append("  results: \(directory) (report.html)")
        return lines.joined(separator: "\n")
    }
}
