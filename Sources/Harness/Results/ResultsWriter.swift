import Foundation
import Histogram

/// Writes one run's folder, `results/<UTC yyyyMMdd'T'HHmmss'Z'>-<scenario>/`:
///
/// | file | content |
/// |---|---|
/// | summary.json | ``RunSummary`` (schemaVersion 1) |
/// | events.jsonl | one line per operation and fault window edge (``EventsWriter``, streamed) |
/// | latency-<metric>.hgrm | HdrHistogram percentile distribution per latency metric, in milliseconds |
/// | timeline.csv | ``Timeline`` (per second) |
/// | audit.json | verdict, counts and example keys per class, and the classified objects given |
/// | junit.xml | one test case per threshold, per audit check and per baseline metric |
/// | scenario.resolved.yaml | the scenario with every default filled in |
/// | report.html | ``HTMLReport``: the run on one self-contained page |
///
/// Every file is written to `<name>.partial` and renamed, so a reader never sees half a file.
package struct ResultsWriter: Sendable {
    /// The run's folder.
    package let directory: URL

    /// Creates the folder under `root` (default `results`), named for the start time (UTC)
    /// and the scenario; `-2`, `-3`, … is appended if it exists already.
    package static func create(root: String = "results", scenario: String, start: Date) throws -> ResultsWriter {
        let base = URL(fileURLWithPath: root, isDirectory: true)
        try FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
        let name = folderName(scenario: scenario, start: start)
        var candidate = base.appendingPathComponent(name, isDirectory: true)
        var attempt = 1
        while FileManager.default.fileExists(atPath: candidate.path) {
            attempt += 1
            candidate = base.appendingPathComponent("\(name)-\(attempt)", isDirectory: true)
        }
        try FileManager.default.createDirectory(at: candidate, withIntermediateDirectories: false)
        return ResultsWriter(directory: candidate)
    }

    package init(directory: URL) {
        self.directory = directory
    }

    /// `20261129T120000Z-smoke`.
    package static func folderName(scenario: String, start: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: start)
        func two(_ value: Int?) -> String { let v = value ?? 0; return v < 10 ? "0\(v)" : "\(v)" }
        return "\(c.year ?? 0)\(two(c.month))\(two(c.day))T\(two(c.hour))\(two(c.minute))\(two(c.second))Z-\(scenario)"
    }

    package func path(_ file: String) -> String { directory.appendingPathComponent(file).path }

    /// Writes bytes via `<file>.partial` + rename.
    package func write(_ data: Data, to file: String) throws {
        let final = directory.appendingPathComponent(file)
        let partial = directory.appendingPathComponent(file + ".partial")
        try data.write(to: partial)
        if FileManager.default.fileExists(atPath: final.path) { try FileManager.default.removeItem(at: final) }
        try FileManager.default.moveItem(at: partial, to: final)
    }

    package func write(_ text: String, to file: String) throws {
        try write(Data(text.utf8), to: file)
    }

    // MARK: The files

    /// Opens events.jsonl for streaming.
    package func openEvents(bufferBytes: Int = 64 << 10) throws -> EventsWriter {
        try EventsWriter(path: path("events.jsonl"), bufferBytes: bufferBytes)
    }

    package func writeSummary(_ summary: RunSummary) throws {
        try write(summary.json(), to: "summary.json")
    }

    package func writeResolvedScenario(_ scenario: Scenario) throws {
        try write(scenario.resolvedYAML(), to: "scenario.resolved.yaml")
    }

    package func writeTimeline(_ timeline: Timeline) throws {
        try write(timeline.csv(), to: "timeline.csv")
    }

    /// One `latency-<metric>.hgrm` per latency metric that has samples; returns the file names.
    @discardableResult
    package func writeHistograms(_ registry: MetricsRegistry) throws -> [String] {
        var written: [String] = []
        for metric in LatencyMetric.allCases {
            guard let histogram = registry.histograms[metric], histogram.totalCount > 0 else { continue }
            let file = "latency-\(metric.rawValue).hgrm"
            try write(Self.hgrm(histogram), to: file)
            written.append(file)
        }
        return written
    }

    /// HdrHistogram's percentile distribution text (as `HistogramLogProcessor` and the online
    /// plotter read it): values in milliseconds (recorded in microseconds, scaled by 1000),
    /// 5 ticks per half distance.
    package static func hgrm(_ histogram: Histogram<UInt64>) -> String {
        var text = ""
        histogram.outputPercentileDistribution(to: &text, outputValueUnitScalingRatio: 1000, percentileTicksPerHalfDistance: 5)
        return text
    }

    package func writeAudit(_ report: AuditReport) throws {
        try write(report.json(), to: "audit.json")
    }

    package func writeJUnit(scenario: String, thresholds: [ThresholdResult], registry: MetricsRegistry, duration: Duration, baseline: BaselineComparison? = nil) throws {
        try write(JUnitReport.xml(scenario: scenario, thresholds: thresholds, registry: registry, duration: duration, baseline: baseline), to: "junit.xml")
    }

    package func writeReport(summary: RunSummary, timeline: Timeline) throws {
        try write(HTMLReport.html(summary: summary, timeline: timeline, directory: directory.path), to: "report.html")
    }

    /// Everything but events.jsonl (streamed during the run): summary.json, the .hgrm files,
    /// timeline.csv, audit.json, junit.xml, scenario.resolved.yaml and report.html. Returns the
    /// summary. `baseline` is the run's comparison with a baseline (it joins summary.json,
    /// junit.xml and report.html, and a regression makes the exit code 99 when `exitCode` is
    /// not given); `baselineWritten` the baseline file recorded from this run.
    @discardableResult
    package func writeAll(
        scenario: Scenario, registry: MetricsRegistry, timeline: Timeline, auditObjects: [AuditReport.Object] = [],
        start: Date, end: Date, aborted: Bool, harness: HarnessUsage, exitCode: RunExitCode? = nil, stages: StageMetrics? = nil,
        baseline: BaselineComparison? = nil, baselineWritten: String? = nil
    ) throws -> RunSummary {
        var registry = registry
        if registry.elapsed == .zero { registry.elapsed = .secondsValue(max(0, end.timeIntervalSince(start))) }
        let results = scenario.thresholds.evaluate(registry)
        let summary = RunSummary(
            scenario: scenario, registry: registry, thresholdResults: results, start: start, end: end, aborted: aborted, harness: harness, exitCode: exitCode,
            stages: stages, baseline: baseline, baselineWritten: baselineWritten
        )
        try writeResolvedScenario(scenario)
        try writeHistograms(registry)
        try writeTimeline(timeline)
        try writeAudit(AuditReport(registry: registry, objects: auditObjects))
        try writeJUnit(scenario: scenario.name, thresholds: results, registry: registry, duration: registry.elapsed, baseline: baseline)
        try writeReport(summary: summary, timeline: timeline)
        try writeSummary(summary)
        return summary
    }
}

/// audit.json: the audit's verdict and every class with its count and example keys, plus the
/// objects the audit classified (the runner decides how many it keeps; summary.json has the
/// counts either way).
package struct AuditReport: Sendable, Codable, Equatable {
    package var schemaVersion: Int
    /// `valid`, `invalid`, `unknown`; null when the audit did not run.
    package var verdict: String?
    package var counts: [String: Int]
    package var examples: [String: [String]]
    package var objects: [Object]

    package struct Object: Sendable, Codable, Equatable {
        package var key: String
        package var versionId: String?
        /// An ``AuditClass`` raw value.
        package var auditClass: String
        /// Why (e.g. "ledger SUCCEEDED, no output in processed").
        package var detail: String?

        enum CodingKeys: String, CodingKey {
            case key, versionId, auditClass = "class", detail
        }

        package init(key: String, versionId: String? = nil, auditClass: AuditClass, detail: String? = nil) {
            self.key = key
            self.versionId = versionId
            self.auditClass = auditClass.rawValue
            self.detail = detail
        }
    }

    package init(registry: MetricsRegistry, objects: [Object] = []) {
        schemaVersion = 1
        verdict = registry.verdict.map { _ in registry.effectiveVerdict.rawValue }
        counts = Dictionary(uniqueKeysWithValues: AuditClass.allCases.map { ($0.rawValue, registry.count($0)) })
        examples = Dictionary(uniqueKeysWithValues: registry.auditExamples.filter { !$0.value.isEmpty }.map { ($0.key.rawValue, $0.value) })
        self.objects = objects
    }

    package func json() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        var data = try encoder.encode(self)
        data.append(0x0A)
        return data
    }
}
