import Histogram

/// Everything a run measured: latency histograms, counters, gauges and audit counts. A plain
/// value: give each worker its own and ``merge(_:)`` them (never average percentiles), or
/// keep one behind a lock. ``elapsed`` is the run time counter rates are computed over.
package struct MetricsRegistry: Sendable {
    /// Microsecond histograms, 3 significant digits, auto-resizing (1 µs to hours).
    package private(set) var histograms: [LatencyMetric: Histogram<UInt64>]
    package private(set) var counters: [CounterMetric: Int64]
    package private(set) var gauges: [GaugeMetric: Gauge]
    package private(set) var audit: [AuditClass: Int]
    /// Retries by layer and reason, e.g. `s3.throttling`, `s3.timeout`, `workflow.ECS.AmazonECSException`.
    package private(set) var retryReasons: [String: Int64]
    /// Up to ``exampleLimit`` object keys per audit class, first seen first.
    package private(set) var auditExamples: [AuditClass: [String]]
    package var verdict: AuditVerdict?
    /// The run's duration, for counter rates (per second). Default zero (rates are then 0).
    package var elapsed: Duration

    package static let exampleLimit = 10

    package init() {
        histograms = [:]
        counters = [:]
        gauges = [:]
        audit = [:]
        retryReasons = [:]
        auditExamples = [:]
        elapsed = .zero
    }

    /// The last sampled value of a gauge, with its extremes.
    package struct Gauge: Sendable, Equatable, Codable {
        package var value: Double
        package var min: Double
        package var max: Double
    }

    static func emptyHistogram() -> Histogram<UInt64> {
        var histogram = Histogram<UInt64>(numberOfSignificantValueDigits: .three)
        histogram.autoResize = true
        return histogram
    }

    // MARK: Recording

    /// Records one latency (negative durations record as 0).
    package mutating func record(_ metric: LatencyMetric, _ duration: Duration) {
        recordMicroseconds(metric, UInt64(max(0, duration.microseconds)))
    }

    package mutating func recordMicroseconds(_ metric: LatencyMetric, _ microseconds: UInt64) {
        _ = histograms[metric, default: Self.emptyHistogram()].record(microseconds)
    }

    package mutating func increment(_ counter: CounterMetric, by amount: Int64 = 1) {
        counters[counter, default: 0] += amount
    }

    package mutating func set(_ gauge: GaugeMetric, _ value: Double) {
        if var current = gauges[gauge] {
            current.value = value
            current.min = Swift.min(current.min, value)
            current.max = Swift.max(current.max, value)
            gauges[gauge] = current
        } else {
            gauges[gauge] = Gauge(value: value, min: value, max: value)
        }
    }

    /// Counts retries for a reason (`layer.reason`, e.g. `s3.throttling`); the layer's retry
    /// counter (upload_retries, event_delivery_retries, task_retries) is counted separately.
    package mutating func countRetry(layer: String, reason: String, by amount: Int64 = 1) {
        retryReasons["\(layer).\(reason)", default: 0] += amount
    }

    /// Counts one object in an audit class, keeping it as an example while there is room.
    package mutating func classify(_ auditClass: AuditClass, key: String? = nil) {
        audit[auditClass, default: 0] += 1
        if let key, auditExamples[auditClass, default: []].count < Self.exampleLimit {
            auditExamples[auditClass, default: []].append(key)
        }
    }

    /// Adds another registry's measurements (histograms added, counters summed, gauges'
    /// extremes combined and the other's last value kept, audit counts summed). `elapsed` is the max.
    package mutating func merge(_ other: MetricsRegistry) {
        for (metric, histogram) in other.histograms {
            histograms[metric, default: Self.emptyHistogram()].add(histogram)
        }
        for (counter, value) in other.counters { counters[counter, default: 0] += value }
        for (gauge, value) in other.gauges {
            if let current = gauges[gauge] {
                gauges[gauge] = Gauge(value: value.value, min: Swift.min(current.min, value.min), max: Swift.max(current.max, value.max))
            } else {
                gauges[gauge] = value
            }
        }
        for (auditClass, count) in other.audit { audit[auditClass, default: 0] += count }
        for (reason, count) in other.retryReasons { retryReasons[reason, default: 0] += count }
        for (auditClass, keys) in other.auditExamples {
            let room = Self.exampleLimit - auditExamples[auditClass, default: []].count
            if room > 0 { auditExamples[auditClass, default: []].append(contentsOf: keys.prefix(room)) }
        }
        elapsed = Swift.max(elapsed, other.elapsed)
        verdict = verdict ?? other.verdict
    }

    // MARK: Reading

    package func histogram(_ metric: LatencyMetric) -> Histogram<UInt64> {
        histograms[metric] ?? Self.emptyHistogram()
    }

    package func count(_ counter: CounterMetric) -> Int64 { counters[counter] ?? 0 }

    package func count(_ auditClass: AuditClass) -> Int { audit[auditClass] ?? 0 }

    /// numerator / denominator; 0 when the denominator is 0.
    package func rate(_ metric: RateMetric) -> Double {
        let denominator = count(metric.denominator)
        guard denominator > 0 else { return 0 }
        return Double(metric.numerator.reduce(0) { $0 + count($1) }) / Double(denominator)
    }

    /// The numerator of a rate.
    package func hits(_ metric: RateMetric) -> Int64 {
        metric.numerator.reduce(0) { $0 + count($1) }
    }

    /// Per second over ``elapsed``; 0 when nothing elapsed.
    package func perSecond(_ counter: CounterMetric) -> Double {
        let seconds = elapsed.secondsValue
        return seconds > 0 ? Double(count(counter)) / seconds : 0
    }

    /// The verdict implied by the audit counts when none was set: invalid if any invalid
    /// class is non-zero, unknown if anything is stuck, else valid.
    package var effectiveVerdict: AuditVerdict {
        if let verdict { return verdict }
        if AuditClass.invalid.contains(where: { count($0) > 0 }) { return .invalid }
        if count(.stuck) > 0 { return .unknown }
        return .valid
    }

    /// Summary statistics of a latency metric, in seconds; nil when nothing was recorded.
    package func latencySummary(_ metric: LatencyMetric) -> LatencySummary? {
        guard let histogram = histograms[metric], histogram.totalCount > 0 else { return nil }
        return LatencySummary(histogram: histogram)
    }
}

/// Percentiles of one latency histogram, in seconds.
package struct LatencySummary: Sendable, Equatable, Codable {
    package var count: UInt64
    package var min: Double
    package var avg: Double
    package var p50: Double
    package var p90: Double
    package var p95: Double
    package var p99: Double
    package var p999: Double
    package var max: Double

    init(histogram: Histogram<UInt64>) {
        func seconds(_ microseconds: UInt64) -> Double { Double(microseconds) / 1e6 }
        count = histogram.totalCount
        min = seconds(histogram.min)
        avg = histogram.mean / 1e6
        p50 = seconds(histogram.valueAtPercentile(50))
        p90 = seconds(histogram.valueAtPercentile(90))
        p95 = seconds(histogram.valueAtPercentile(95))
        p99 = seconds(histogram.valueAtPercentile(99))
        p999 = seconds(histogram.valueAtPercentile(99.9))
        max = seconds(histogram.max)
    }

    enum CodingKeys: String, CodingKey {
        case count, min, avg, p50, p90, p95, p99, p999 = "p99.9", max
    }
}
