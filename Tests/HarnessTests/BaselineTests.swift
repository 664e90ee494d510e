import Foundation
import SyntheticData
import Testing

@testable import Harness

@Suite("Baseline comparison: metric names, tolerances, verdicts, the scenario's baseline: section, files")
struct BaselineTests {
    // MARK: Helpers

    static func metric(_ name: String) -> BaselineMetric { try! BaselineMetric.parse(name).get() }

    static func tolerance(_ text: String, _ metric: String) -> Tolerance { try! Tolerance.parse(text, for: Self.metric(metric)).get() }

    static func entry(_ name: String, _ text: String) -> BaselineTolerance {
        BaselineTolerance(metric: metric(name), tolerance: tolerance(text, name), location: "s.yaml:1:1")
    }

    static func snapshot(
        name: String = "ci", e2e: (p50: Double, p95: Double)? = (4, 6), retryRate: Double = 0, filesPerSecond: Double = 4, outcome: String? = "passed"
    ) -> BaselineSnapshot {
        var latencies: [String: RunSummary.LatencyStats] = ["task_queueing": .init(count: 0)]
        if let e2e { latencies["e2e_latency"] = .init(count: 300, min: 1, avg: e2e.p50, p50: e2e.p50, p90: e2e.p95, p95: e2e.p95, p99: e2e.p95, p999: e2e.p95, max: e2e.p95) }
        return BaselineSnapshot(
            scenario: .init(name: name, file: "scenarios/\(name).yaml", description: "", target: "emulated", loadModel: "open"), durationSeconds: 75, outcome: outcome,
            latencies: latencies,
            rates: ["upload_retry_rate": .init(count: Int64(retryRate * 1000), total: 1000, rate: retryRate)],
            throughput: .init(filesPerSecond: filesPerSecond, megabytesPerSecond: 1, rowsPerSecond: 100)
        )
    }

    func parseError(_ yaml: String) -> String {
        do {
            _ = try Scenario.parse(yaml: yaml, file: "s.yaml")
            return ""
        } catch {
            return error.description
        }
    }

    static let scenarioHead = """
        name: ci
        dataset: { schema: generators/customers.yaml, files: 3, size: 64KiB }
        load: { model: closed, concurrency: 2 }

        """

    // MARK: Names and tolerances

    @Test func metricNames() {
        #expect(Self.metric("e2e_latency.p95").source == .latency(.e2eLatency, .p95))
        #expect(Self.metric("upload_duration.p99.9").source == .latency(.uploadDuration, .p999))
        #expect(Self.metric("upload_retry_rate").source == .rate(.uploadRetryRate))
        #expect(Self.metric("upload_retry_rate.rate").description == "upload_retry_rate")
        #expect(Self.metric("throughput.filesPerSecond").higherIsBetter)
        #expect(!Self.metric("e2e_latency.max").higherIsBetter)
        func failure(_ name: String) -> BaselineMetric.NameError? {
            if case let .failure(error) = BaselineMetric.parse(name) { return error }
            return nil
        }
        #expect(failure("e2e_latency")?.message.contains("needs a statistic") == true)
        #expect(failure("e2e_latency.p42")?.validChoices == ["p50", "p90", "p95", "p99", "p99.9", "avg", "max"])
        #expect(failure("uploads_started")?.message.contains("use thresholds") == true)
        #expect(failure("throughput.bytes")?.validChoices == ["filesPerSecond", "megabytesPerSecond", "rowsPerSecond"])
        #expect(failure("e2e_latncy.p95")?.validChoices.contains("e2e_latency") == true)
    }

    @Test func toleranceForms() {
        #expect(Self.tolerance("1.5x", "e2e_latency.p95") == Tolerance(factor: 1.5, slack: 0))
        #expect(Self.tolerance("2x + 500ms", "e2e_latency.p95") == Tolerance(factor: 2, slack: 0.5))
        #expect(Self.tolerance("2X+2s", "e2e_latency.p95") == Tolerance(factor: 2, slack: 2))
        // A bare latency slack is milliseconds, as in thresholds.
        #expect(Self.tolerance("+ 250", "upload_duration.p50") == Tolerance(factor: 1, slack: 0.25))
        #expect(Self.tolerance("+ 0.01", "upload_retry_rate") == Tolerance(factor: 1, slack: 0.01))
        #expect(Self.tolerance("1x + 1%", "upload_retry_rate") == Tolerance(factor: 1, slack: 0.01))
        #expect(Self.tolerance("1.25x", "throughput.filesPerSecond") == Tolerance(factor: 1.25, slack: 0))
        // The canonical text reads back to the same tolerance.
        for (text, metric) in [("1.5x + 2s", "e2e_latency.p95"), ("+ 0.01", "upload_retry_rate"), ("3x + 250ms", "upload_duration.p50"), ("1.25x", "throughput.filesPerSecond")] {
            let parsed = Self.tolerance(text, metric)
            #expect(parsed.text(for: Self.metric(metric)) == text)
        }
        func failure(_ text: String, _ metric: String = "e2e_latency.p95") -> Tolerance.ParseError? {
            if case let .failure(error) = Tolerance.parse(text, for: Self.metric(metric)) { return error }
            return nil
        }
        #expect(failure("0.5x")?.message.contains("a factor is ≥ 1") == true)
        #expect(failure("1.5")?.message.contains("invalid factor '1.5'") == true)
        #expect(failure("1.5x +")?.offset == 6)
        #expect(failure("1.5x - 1s")?.offset == 5)
        #expect(failure("1.5x + 2 apples")?.message.contains("a duration such as 500ms") == true)
        #expect(failure("+ 5%", "throughput.filesPerSecond")?.offset == 2)
        #expect(failure("")?.message.contains("empty tolerance") == true)
        #expect(failure("+ -1s")?.message.contains("≥ 0") == true)
    }

    @Test func commandLineOverrides() throws {
        let base = [Self.entry("e2e_latency.p95", "1.5x"), Self.entry("upload_retry_rate", "+ 0.01")]
        let overrides = [
            try ToleranceOverride(parsing: "e2e_latency.p95=3x+1s"),
            try ToleranceOverride(parsing: "upload_retry_rate=off"),
            try ToleranceOverride(parsing: "throughput.filesPerSecond = 2x"),
        ]
        let result = ToleranceOverride.apply(overrides, to: base)
        #expect(result.map(\.metric.description) == ["e2e_latency.p95", "throughput.filesPerSecond"])
        #expect(result[0].tolerance == Tolerance(factor: 3, slack: 1) && result[0].location == "--tolerance")
        #expect(throws: ConfigError.self) { try ToleranceOverride(parsing: "e2e_latency.p95") }
        do {
            _ = try ToleranceOverride(parsing: "uploads_started=2x")
            Issue.record("a counter is not compared")
        } catch {
            #expect(error.description.hasPrefix("--tolerance: error: uploads_started=2x: unknown metric"))
        }
    }

    // MARK: Verdicts (pure)

    @Test func latencyWithinAndBeyondTolerance() {
        let baseline = Self.snapshot(e2e: (4, 6))
        let tolerances = [Self.entry("e2e_latency.p50", "1.5x"), Self.entry("e2e_latency.p95", "1.5x + 1s")]
        let same = BaselineComparison.compare(current: Self.snapshot(e2e: (4, 6)), baseline: baseline, tolerances: tolerances, file: "b.json")
        #expect(same.passed && same.regressions == 0)
        #expect(same.comparisons.map(\.status) == ["passed", "passed"])
        #expect(same.comparisons[1].limit == 10)

        // p50 6.1 > 4 × 1.5 = 6; p95 10 ≤ 6 × 1.5 + 1 = 10 (the limit itself passes).
        let slower = BaselineComparison.compare(current: Self.snapshot(e2e: (6.1, 10)), baseline: baseline, tolerances: tolerances, file: "b.json")
        #expect(!slower.passed && slower.regressions == 1)
        let p50 = slower.comparisons[0]
        #expect(p50.status == "regressed" && p50.ratio == 1.525 && p50.limit == 6 && p50.better == "lower" && p50.location == "s.yaml:1:1")
        #expect(p50.message == "e2e_latency.p50 6.1s vs baseline 4s (1.53x); 1.5x allows at most 6s")
        #expect(slower.comparisons[1].status == "passed")
    }

    @Test func throughputRegressesDownwards() {
        let baseline = Self.snapshot(filesPerSecond: 4)
        let tolerances = [Self.entry("throughput.filesPerSecond", "1.25x")]
        #expect(BaselineComparison.compare(current: Self.snapshot(filesPerSecond: 3.2), baseline: baseline, tolerances: tolerances, file: "b").passed)
        #expect(BaselineComparison.compare(current: Self.snapshot(filesPerSecond: 40), baseline: baseline, tolerances: tolerances, file: "b").passed)
        let slower = BaselineComparison.compare(current: Self.snapshot(filesPerSecond: 3.1), baseline: baseline, tolerances: tolerances, file: "b")
        #expect(!slower.passed)
        #expect(slower.comparisons[0].better == "higher" && slower.comparisons[0].limit == 3.2)
        #expect(slower.comparisons[0].message.contains("allows at least 3.2 files/s"))
    }

    @Test func zeroBaselineUsesTheSlack() {
        let baseline = Self.snapshot(retryRate: 0)
        let tolerances = [Self.entry("upload_retry_rate", "2x + 0.01")]
        let fine = BaselineComparison.compare(current: Self.snapshot(retryRate: 0.01), baseline: baseline, tolerances: tolerances, file: "b")
        #expect(fine.passed && fine.comparisons[0].ratio == nil)
        let worse = BaselineComparison.compare(current: Self.snapshot(retryRate: 0.02), baseline: baseline, tolerances: tolerances, file: "b")
        #expect(!worse.passed)
        // A ratio-only tolerance on a zero baseline allows exactly zero.
        let strict = [Self.entry("upload_retry_rate", "10x")]
        #expect(!BaselineComparison.compare(current: Self.snapshot(retryRate: 0.001), baseline: baseline, tolerances: strict, file: "b").passed)
    }

    @Test func missingValues() {
        let tolerances = [Self.entry("e2e_latency.p95", "1.5x"), Self.entry("task_queueing.p95", "1.5x")]
        // No e2e samples now, but the baseline has some: a regression (never a silent pass).
        let result = BaselineComparison.compare(current: Self.snapshot(e2e: nil), baseline: Self.snapshot(), tolerances: tolerances, file: "b")
        #expect(result.comparisons[0].status == "regressed" && result.comparisons[0].current == nil)
        #expect(result.comparisons[0].message.contains("no value in this run"))
        // No baseline samples (task_queueing count 0): nothing to compare with, skipped.
        #expect(result.comparisons[1].status == "skipped" && result.comparisons[1].limit == nil)
        #expect(result.regressions == 1)
        let onlySkipped = BaselineComparison.compare(current: Self.snapshot(), baseline: Self.snapshot(), tolerances: [tolerances[1]], file: "b")
        #expect(onlySkipped.passed)
    }

    @Test func defaultTolerancesPassAnUnchangedRun() {
        let comparison = BaselineComparison.compare(current: Self.snapshot(), baseline: Self.snapshot(), tolerances: BaselineTolerance.defaults, file: "b")
        #expect(comparison.passed)
        #expect(BaselineTolerance.defaults.count == 14)
        #expect(BaselineTolerance.defaults.allSatisfy { $0.location == "default" })
    }

    // MARK: The scenario's baseline: section

    @Test func baselineSectionParsesAndRoundTrips() throws {
        let yaml = Self.scenarioHead + """
            baseline:
              file: results/baselines/ci.json
              tolerances:
                e2e_latency.p95: 1.5x + 2s
                upload_retry_rate: "+ 1%"
                throughput.filesPerSecond: 1.25x
            """
        let scenario = try Scenario.parse(yaml: yaml, file: "s.yaml")
        let section = try #require(scenario.baseline)
        #expect(section.file == "results/baselines/ci.json" && section.fileLine == 5 && section.fileColumn == 9)
        #expect(section.tolerances.map(\.metric.description) == ["e2e_latency.p95", "upload_retry_rate", "throughput.filesPerSecond"])
        #expect(section.tolerances[1].tolerance == Tolerance(factor: 1, slack: 0.01))
        #expect(section.tolerances[0].location == "s.yaml:7:22")
        #expect(section.tolerances[1].location == "s.yaml:8:25")
        let resolved = scenario.resolvedYAML()
        #expect(resolved.contains("baseline:"))
        let again = try Scenario.parse(yaml: resolved, file: "resolved.yaml")
        #expect(again.baseline?.file == section.file)
        #expect(again.baseline?.tolerances.map(\.tolerance) == section.tolerances.map(\.tolerance))
        #expect(again.resolvedYAML() == resolved)

        // Without tolerances: the default set, written out in the resolved scenario.
        let defaults = try Scenario.parse(yaml: Self.scenarioHead + "baseline: { file: b.json }", file: "s.yaml")
        #expect(defaults.baseline?.tolerances.map(\.tolerance) == BaselineTolerance.defaults.map(\.tolerance))
        #expect(defaults.resolvedYAML().contains("e2e_latency.p95: 1.5x + 2s"))
        #expect(try Scenario.parse(yaml: Self.scenarioHead, file: "s.yaml").baseline == nil)
    }

    @Test func baselineSectionErrorsNamePositions() {
        // Line 4 is `baseline:`; the head's three lines come first.
        #expect(parseError(Self.scenarioHead + "baseline: { fil: b.json }") == "s.yaml:4:13: error: baseline.fil: unknown key 'fil' (valid: file, tolerances)")
        #expect(parseError(Self.scenarioHead + "baseline: { tolerances: { e2e_latency.p95: 2x } }") == "s.yaml:4:11: error: baseline: missing required key 'file'")
        #expect(parseError(Self.scenarioHead + "baseline:\n  file: b.json\n  tolerances:\n    e2e_latncy.p95: 2x").hasPrefix("s.yaml:7:5: error: baseline.tolerances.e2e_latncy.p95: unknown metric 'e2e_latncy.p95' (valid: upload_duration, "))
        #expect(parseError(Self.scenarioHead + "baseline:\n  file: b.json\n  tolerances:\n    e2e_latency.p42: 2x") == "s.yaml:7:5: error: baseline.tolerances.e2e_latency.p42: unknown statistic 'p42' of e2e_latency (valid: p50, p90, p95, p99, p99.9, avg, max)")
        #expect(parseError(Self.scenarioHead + "baseline:\n  file: b.json\n  tolerances:\n    audit: 2x").contains("use thresholds"))
        // Errors inside a tolerance point at the character.
        #expect(parseError(Self.scenarioHead + "baseline:\n  file: b.json\n  tolerances:\n    e2e_latency.p95: 2x + 3 parsecs") == "s.yaml:7:27: error: baseline.tolerances.e2e_latency.p95: invalid slack '3 parsecs' for e2e_latency.p95; expected a duration such as 500ms or 2s (a bare number is milliseconds), ≥ 0")
        #expect(parseError(Self.scenarioHead + "baseline:\n  file: b.json\n  tolerances:\n    e2e_latency.p95: \"0.5x\"").hasPrefix("s.yaml:7:23: error: baseline.tolerances.e2e_latency.p95: a factor is ≥ 1"))
        #expect(parseError(Self.scenarioHead + "baseline:\n  file: b.json\n  tolerances:\n    upload_retry_rate: 2x\n    upload_retry_rate.rate: 3x") == "s.yaml:8:5: error: baseline.tolerances.upload_retry_rate.rate: upload_retry_rate is listed twice")
        #expect(parseError(Self.scenarioHead + "baseline:\n  file: b.json\n  tolerances: {}").hasPrefix("s.yaml:6:15: error: baseline.tolerances: expected at least one metric"))
        #expect(parseError(Self.scenarioHead + "baseline:\n  file: [a, b]").hasPrefix("s.yaml:5:9: error: baseline.file: expected a single value"))
    }

    // MARK: Files and the runner's plan

    func temporaryDirectory() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("csvstorm-baseline-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test func baselineFileRoundTripAndLoadErrors() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var file = Self.snapshot()
        file.kind = BaselineSnapshot.kindName
        file.recorded = .init(at: "2026-11-29T12:00:00.000Z", run: "results/x", csvstorm: .init(gitCommit: "abc", gitDirty: false, build: "release"), machine: .current(), note: "a <note>")
        try file.write(to: directory + "/sub/b.json")
        #expect(try BaselineSnapshot.load(path: directory + "/sub/b.json") == file)
        #expect(!FileManager.default.fileExists(atPath: directory + "/sub/b.json.partial"))
        #expect(BaselineSnapshot.Machine.current().cpus >= 1)

        func loadError(_ text: String) throws -> String {
            try text.write(toFile: directory + "/bad.json", atomically: true, encoding: .utf8)
            do {
                _ = try BaselineSnapshot.load(path: directory + "/bad.json")
                return ""
            } catch {
                return error.description
            }
        }
        #expect(try loadError("nope").hasPrefix("\(directory)/bad.json: error: not JSON"))
        #expect(try loadError("{\"schemaVersion\": 2}") == "\(directory)/bad.json: error: schemaVersion 2 is not supported (this csvstorm reads version 1)")
        #expect(try loadError("{\"latencies\": {}}").contains("no schemaVersion"))
        #expect(try loadError("{\"schemaVersion\": 1, \"latencies\": {}, \"rates\": {}}") == "\(directory)/bad.json: error: missing field 'scenario'")
        do {
            _ = try BaselineSnapshot.load(path: directory + "/missing.json")
            Issue.record("a missing file is an error")
        } catch {
            #expect(error.description == "\(directory)/missing.json: error: no such file (a run's summary.json, or a baseline recorded with `csvstorm run SCENARIO --write-baseline \(directory)/missing.json`)")
        }
    }

    @Test func runnerPlanChecksTheBaselineBeforeARun() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/ci.json"
        let scenario = try Scenario.parse(yaml: Self.scenarioHead + "baseline:\n  file: \(path)\n  tolerances: { e2e_latency.p95: 2x }", file: "s.yaml")
        func planError(_ options: ScenarioRunner.BaselineOptions, _ scenario: Scenario) -> String {
            do {
                _ = try ScenarioRunner.baselinePlan(for: scenario, options: options)
                return ""
            } catch {
                return error.description
            }
        }
        // Missing: the error points at the scenario's baseline.file and says how to record one.
        #expect(planError(.init(), scenario) == "s.yaml:5:9: error: baseline.file: no baseline file at '\(path)' (relative paths start at the working directory); record one with `csvstorm run s.yaml --write-baseline \(path)`, or run with --no-baseline")
        #expect(planError(.init(file: directory + "/other.json"), scenario).hasPrefix("--baseline: error: \(directory)/other.json: error: no such file"))
        // Recording or opting out needs no file.
        #expect(try ScenarioRunner.baselinePlan(for: scenario, options: .init(writeTo: path)) == nil)
        #expect(try ScenarioRunner.baselinePlan(for: scenario, options: .init(disabled: true)) == nil)
        #expect(planError(.init(file: path, writeTo: path), scenario).contains("exclude each other"))
        #expect(planError(.init(overrides: [try ToleranceOverride(parsing: "e2e_latency.p95=2x")], writeTo: path), scenario).contains("is not compared"))

        var file = Self.snapshot(name: "ci")
        file.kind = BaselineSnapshot.kindName
        try file.write(to: path)
        let plan = try #require(try ScenarioRunner.baselinePlan(for: scenario, options: .init(overrides: [try ToleranceOverride(parsing: "throughput.filesPerSecond=2x")])))
        #expect(plan.file == path && plan.tolerances.map(\.metric.description) == ["e2e_latency.p95", "throughput.filesPerSecond"])
        // A scenario without a section compares only when asked, with the defaults.
        let plain = try Scenario.parse(yaml: Self.scenarioHead, file: "s.yaml")
        #expect(try ScenarioRunner.baselinePlan(for: plain, options: .init()) == nil)
        #expect(try ScenarioRunner.baselinePlan(for: plain, options: .init(file: path))?.tolerances.count == BaselineTolerance.defaults.count)
        #expect(planError(.init(overrides: [try ToleranceOverride(parsing: "e2e_latency.p95=2x")]), plain).contains("no baseline to compare with"))
        // A baseline of another scenario is a mistake.
        try Self.snapshot(name: "smoke").write(to: path)
        #expect(planError(.init(), scenario) == "\(path): error: this baseline is of scenario 'smoke', not 'ci'")
    }

    @Test func junitHasOneCasePerComparedMetric() {
        var registry = MetricsRegistry()
        registry.verdict = .valid
        let comparison = BaselineComparison.compare(
            current: Self.snapshot(e2e: (9, 20)), baseline: Self.snapshot(),
            tolerances: [Self.entry("e2e_latency.p95", "1.5x + 2s"), Self.entry("throughput.filesPerSecond", "1.25x"), Self.entry("task_queueing.p95", "2x")], file: "b<1>.json"
        )
        let xml = JUnitReport.xml(scenario: "ci", thresholds: [], registry: registry, duration: .seconds(1), baseline: comparison)
        #expect(xml.contains("<testsuite name=\"ci\" tests=\"9\" failures=\"1\" errors=\"0\" skipped=\"1\""))
        #expect(xml.contains("<testcase classname=\"baseline\" name=\"e2e_latency.p95 within 1.5x + 2s\">\n      <failure message=\"e2e_latency.p95 20s vs baseline 6s (3.33x); 1.5x + 2s allows at most 11s\" type=\"baseline\">s.yaml:1:1: e2e_latency.p95 20s vs baseline 6s (3.33x); 1.5x + 2s allows at most 11s (baseline b&lt;1&gt;.json)</failure>"))
        #expect(xml.contains("<testcase classname=\"baseline\" name=\"throughput.filesPerSecond within 1.25x\"/>"))
        #expect(xml.contains("<testcase classname=\"baseline\" name=\"task_queueing.p95 within 2x\">\n      <skipped message="))
    }

    @Test func exitCodeCountsARegressionAsAFailedThreshold() {
        #expect(RunExitCode.forRun(aborted: false, audit: [:], thresholds: [], baselineRegressed: true) == .thresholdsFailed)
        #expect(RunExitCode.forRun(aborted: false, audit: [.lost: 1], thresholds: [], baselineRegressed: true) == .auditFailed)
        #expect(RunExitCode.forRun(aborted: true, audit: [:], thresholds: [], baselineRegressed: true) == .aborted)
    }
}
