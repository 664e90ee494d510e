import Foundation

/// summary.json: the machine-readable result of one run. Versioned: a consumer checks
/// `schemaVersion` (this is version 1; fields are only ever added within a version).
/// Documented field by field in results/README.md. Times are seconds; instants are
/// ISO 8601 UTC with milliseconds.
package struct RunSummary: Sendable, Codable, Equatable {
    package static let currentSchemaVersion = 1

    package var schemaVersion: Int
    package var scenario: ScenarioInfo
    /// ISO 8601 UTC, e.g. `2026-11-29T12:00:00.000Z`.
    package var start: String
    package var end: String
    package var durationSeconds: Double
    /// `passed`, `thresholds-failed`, `audit-failed`, `aborted`, `internal-error`.
    package var outcome: String
    package var exitCode: Int32
    package var aborted: Bool
    /// Every latency metric (seconds); `count` 0 and null statistics when nothing was recorded.
    package var latencies: [String: LatencyStats]
    /// Every counter.
    package var counters: [String: Int64]
    /// Every rate: numerator (`count`), denominator (`total`) and their ratio (`rate`).
    package var rates: [String: RateStats]
    /// Retries by `layer.reason` (e.g. `s3.throttling`), only reasons that occurred.
    package var retryReasons: [String: Int64]
    /// Gauges that were sampled.
    package var gauges: [String: MetricsRegistry.Gauge]
    package var throughput: Throughput
    package var audit: AuditSummary
    package var thresholds: [ThresholdOutcome]
    package var harness: HarnessStats
    /// Ramping runs: one row per stage (uploads grouped by their scheduled stage); absent otherwise.
    package var stages: [StageMetrics.Row]?
    /// Ramping runs: where the pipeline broke (e2e p95 or backlog above the scenario's
    /// thresholds), e.g. "saturated at stage 7 (40/s): e2e p95 41.2s > 30s"; absent when it held.
    package var saturation: String?
    /// The comparison with a stored baseline (`baseline:` in the scenario or `--baseline`);
    /// absent when the run was not compared. A regression makes the run fail (exit 99).
    package var baseline: BaselineComparison?
    /// The baseline file this run was recorded as (`--write-baseline`); absent otherwise.
    package var baselineWritten: String?

    package struct ScenarioInfo: Sendable, Codable, Equatable {
        package var name: String
        package var file: String
        package var description: String
        /// `emulated` or `endpoint`.
        package var target: String
        /// `open` or `closed`.
        package var loadModel: String
    }

    package struct LatencyStats: Sendable, Codable, Equatable {
        package var count: UInt64
        package var min: Double?
        package var avg: Double?
        package var p50: Double?
        package var p90: Double?
        package var p95: Double?
        package var p99: Double?
        package var p999: Double?
        package var max: Double?

        enum CodingKeys: String, CodingKey {
            case count, min, avg, p50, p90, p95, p99, p999 = "p99.9", max
        }

        package init(count: UInt64, min: Double? = nil, avg: Double? = nil, p50: Double? = nil, p90: Double? = nil, p95: Double? = nil, p99: Double? = nil, p999: Double? = nil, max: Double? = nil) {
            self.count = count
            self.min = min
            self.avg = avg
            self.p50 = p50
            self.p90 = p90
            self.p95 = p95
            self.p99 = p99
            self.p999 = p999
            self.max = max
        }

        init(_ summary: LatencySummary?) {
            count = summary?.count ?? 0
            min = summary?.min
            avg = summary?.avg
            p50 = summary?.p50
            p90 = summary?.p90
            p95 = summary?.p95
            p99 = summary?.p99
            p999 = summary?.p999
            max = summary?.max
        }

        // Null statistics are written as `null`, so every key is always present.
        package func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(count, forKey: .count)
            try container.encode(min, forKey: .min)
            try container.encode(avg, forKey: .avg)
            try container.encode(p50, forKey: .p50)
            try container.encode(p90, forKey: .p90)
            try container.encode(p95, forKey: .p95)
            try container.encode(p99, forKey: .p99)
            try container.encode(p999, forKey: .p999)
            try container.encode(max, forKey: .max)
        }
    }

    package struct RateStats: Sendable, Codable, Equatable {
        package var count: Int64
        package var total: Int64
        package var rate: Double
    }

    package struct Throughput: Sendable, Codable, Equatable {
        /// Uploads completed per second of the run.
        package var filesPerSecond: Double
        /// Bytes uploaded per second, in MB (10^6).
        package var megabytesPerSecond: Double
        /// Rows processed per second of the run.
        package var rowsPerSecond: Double
    }

    package struct AuditSummary: Sendable, Codable, Equatable {
        /// `valid`, `invalid`, `unknown`; null when the audit did not run (aborted early).
        package var verdict: String?
        /// Every audit class with its count.
        package var counts: [String: Int]
        /// Up to 10 object keys per non-empty class.
        package var examples: [String: [String]]
    }

    package struct ThresholdOutcome: Sendable, Codable, Equatable {
        package var metric: String
        package var expression: String
        package var passed: Bool
        /// The aggregated value (seconds for latencies); null when there was nothing to aggregate.
        package var observed: Double?
        package var message: String
        /// `file:line:column` of the expression.
        package var location: String

        package func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(metric, forKey: .metric)
            try container.encode(expression, forKey: .expression)
            try container.encode(passed, forKey: .passed)
            try container.encode(observed, forKey: .observed)
            try container.encode(message, forKey: .message)
            try container.encode(location, forKey: .location)
        }
    }

    package struct HarnessStats: Sendable, Codable, Equatable {
        package var cpuSeconds: Double
        package var peakRSSBytes: Int
        /// Harness CPU milliseconds per upload started (null with no uploads).
        package var cpuMillisecondsPerUpload: Double?

        package func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(cpuSeconds, forKey: .cpuSeconds)
            try container.encode(peakRSSBytes, forKey: .peakRSSBytes)
            try container.encode(cpuMillisecondsPerUpload, forKey: .cpuMillisecondsPerUpload)
        }
    }
}

extension RunSummary {
    /// Builds the summary of a run. `registry.elapsed` should be the run's duration; the audit
    /// counts as run when `registry.verdict` is set.
    package init(
        scenario: Scenario, registry: MetricsRegistry, thresholdResults: [ThresholdResult], start: Date, end: Date, aborted: Bool, harness: HarnessUsage,
        exitCode: RunExitCode? = nil, stages: StageMetrics? = nil, baseline: BaselineComparison? = nil, baselineWritten: String? = nil
    ) {
        let code = exitCode ?? RunExitCode.forRun(aborted: aborted, audit: registry.audit, thresholds: thresholdResults, baselineRegressed: baseline.map { !$0.passed } ?? false)
        let loadModel: String
        switch scenario.load.model {
        case .open: loadModel = "open"
        case .closed: loadModel = "closed"
        }
        let target: String
        switch scenario.target {
        case .emulated: target = "emulated"
        case .endpoint: target = "endpoint"
        }
        let seconds = max(0, end.timeIntervalSince(start))
        let started = registry.count(.uploadsStarted)
        self.init(
            schemaVersion: Self.currentSchemaVersion,
            scenario: ScenarioInfo(name: scenario.name, file: scenario.file, description: scenario.description, target: target, loadModel: loadModel),
            start: Self.timestamp(start),
            end: Self.timestamp(end),
            durationSeconds: seconds,
            outcome: code.outcome,
            exitCode: code.rawValue,
            aborted: aborted,
            latencies: Dictionary(uniqueKeysWithValues: LatencyMetric.allCases.map { ($0.rawValue, LatencyStats(registry.latencySummary($0))) }),
            counters: Dictionary(uniqueKeysWithValues: CounterMetric.allCases.map { ($0.rawValue, registry.count($0)) }),
            rates: Dictionary(uniqueKeysWithValues: RateMetric.allCases.map { ($0.rawValue, RateStats(count: registry.hits($0), total: registry.count($0.denominator), rate: registry.rate($0))) }),
            retryReasons: registry.retryReasons,
            gauges: Dictionary(uniqueKeysWithValues: registry.gauges.map { ($0.key.rawValue, $0.value) }),
            throughput: Throughput(
                filesPerSecond: seconds > 0 ? Double(registry.count(.uploadsCompleted)) / seconds : 0,
                megabytesPerSecond: seconds > 0 ? Double(registry.count(.bytesUploaded)) / 1e6 / seconds : 0,
                rowsPerSecond: seconds > 0 ? Double(registry.count(.rowsProcessed)) / seconds : 0
            ),
            audit: AuditSummary(
                verdict: registry.verdict.map { _ in registry.effectiveVerdict.rawValue },
                counts: Dictionary(uniqueKeysWithValues: AuditClass.allCases.map { ($0.rawValue, registry.count($0)) }),
                examples: Dictionary(uniqueKeysWithValues: registry.auditExamples.filter { !$0.value.isEmpty }.map { ($0.key.rawValue, $0.value) })
            ),
            thresholds: thresholdResults.map {
                ThresholdOutcome(metric: $0.threshold.metric, expression: $0.threshold.expression, passed: $0.passed, observed: $0.observed, message: $0.message, location: $0.threshold.location)
            },
            harness: HarnessStats(cpuSeconds: harness.cpuSeconds, peakRSSBytes: harness.peakRSSBytes, cpuMillisecondsPerUpload: started > 0 ? harness.cpuSeconds * 1000 / Double(started) : nil),
            stages: stages?.rows,
            saturation: stages.flatMap { stages in
                let limits = StageMetrics.limits(of: scenario.thresholds)
                return stages.breakingPoint(p95Limit: limits.p95, backlogLimit: limits.backlog)?.description
            },
            baseline: baseline,
            baselineWritten: baselineWritten
        )
    }

    /// `2026-11-29T12:00:00.123Z`.
    package static func timestamp(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: date)
    }

    /// Pretty-printed, keys sorted, one trailing newline.
    package func json() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        var data = try encoder.encode(self)
        data.append(0x0A)
        return data
    }
}
