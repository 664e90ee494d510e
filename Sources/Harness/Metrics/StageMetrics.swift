import Histogram

/// Capacity planning for a ramping-arrival-rate run: latencies grouped by the stage in which each
/// upload was *scheduled*, with the pipeline backlog at each stage's edges, and the first stage
/// at which the pipeline broke (p95 above a limit, or the backlog above a limit). A plain value;
/// record into it as uploads finish.
package struct StageMetrics: Sendable {
    package struct Stage: Sendable, Equatable {
        package var index: Int
        package var fromRate: ArrivalRate
        package var toRate: ArrivalRate
        package var start: Duration
        package var end: Duration
    }

    package private(set) var stages: [Stage]
    private var histograms: [Histogram<UInt64>]
    private var backlogMax: [Int?]

    package init(startRate: ArrivalRate, stages: [Scenario.Load.Stage]) {
        var result: [Stage] = []
        var from = startRate
        var start = Duration.zero
        for (index, stage) in stages.enumerated() {
            result.append(Stage(index: index, fromRate: from, toRate: stage.target, start: start, end: start + stage.duration))
            start += stage.duration
            from = stage.target
        }
        self.stages = result
        self.histograms = Array(repeating: MetricsRegistry.emptyHistogram(), count: result.count)
        self.backlogMax = Array(repeating: nil, count: result.count)
    }

    /// For a scenario with a ramping-arrival-rate model; nil for any other model.
    package init?(scenario: Scenario) {
        guard case let .open(.ramping(startRate, stages)) = scenario.load.model else { return nil }
        self.init(startRate: startRate, stages: stages)
    }

    /// The stage an offset from the start of the load falls in (the last stage past the end).
    package func stageIndex(at offset: Duration) -> Int? {
        guard !stages.isEmpty else { return nil }
        return stages.firstIndex { offset < $0.end } ?? stages.count - 1
    }

    /// An end-to-end latency of an upload scheduled at `intendedStart`.
    package mutating func record(e2e latency: Duration, intendedStart: Duration) {
        guard let index = stageIndex(at: intendedStart) else { return }
        _ = histograms[index].record(UInt64(max(0, latency.microseconds)))
    }

    /// A sample of the backlog (uploads acknowledged, ledger not terminal) at `time`.
    package mutating func sampleBacklog(_ backlog: Int, at time: Duration) {
        guard let index = stageIndex(at: time) else { return }
        backlogMax[index] = max(backlogMax[index] ?? 0, backlog)
    }

    /// One stage as reported.
    package struct Row: Sendable, Equatable, Codable {
        package var stage: Int
        /// `5/s → 10/s`.
        package var rates: String
        package var startSeconds: Double
        package var endSeconds: Double
        /// Uploads scheduled in this stage that reached a terminal state.
        package var count: UInt64
        /// e2e p95 of those uploads, seconds; nil when none finished.
        package var p95: Double?
        /// The highest backlog sampled during the stage; nil when none was sampled.
        package var maxBacklog: Int?
    }

    package var rows: [Row] {
        stages.map { stage in
            let histogram = histograms[stage.index]
            return Row(
                stage: stage.index, rates: "\(stage.fromRate) → \(stage.toRate)",
                startSeconds: stage.start.secondsValue, endSeconds: stage.end.secondsValue,
                count: histogram.totalCount,
                p95: histogram.totalCount > 0 ? Double(histogram.valueAtPercentile(95)) / 1e6 : nil,
                maxBacklog: backlogMax[stage.index]
            )
        }
    }

    /// Where the pipeline broke.
    package struct Breaking: Sendable, Equatable, Codable, CustomStringConvertible {
        package var stage: Int
        /// The arrival rate (per second) reached in that stage (its target).
        package var ratePerSecond: Double
        package var reason: String

        package var description: String {
            "saturated at stage \(stage + 1) (\(ArrivalRate(perSecond: ratePerSecond))): \(reason)"
        }
    }

    /// The first stage whose e2e p95 exceeds `p95Limit` or whose backlog exceeds
    /// `backlogLimit`; nil when every stage held (or there is nothing to judge).
    package func breakingPoint(p95Limit: Duration?, backlogLimit: Int?) -> Breaking? {
        for row in rows {
            let stage = stages[row.stage]
            if let p95Limit, let p95 = row.p95, p95 > p95Limit.secondsValue {
                return Breaking(stage: row.stage, ratePerSecond: stage.toRate.perSecond, reason: "e2e p95 \(DurationText.format(.secondsValue(p95))) > \(DurationText.format(p95Limit))")
            }
            if let backlogLimit, let backlog = row.maxBacklog, backlog > backlogLimit {
                return Breaking(stage: row.stage, ratePerSecond: stage.toRate.perSecond, reason: "backlog \(backlog) > \(backlogLimit)")
            }
        }
        return nil
    }

    /// The limits a scenario's thresholds imply: the lowest `e2e_latency` `p(95) <`/`<=` value
    /// and the lowest `pipeline_backlog` `max <`/`<=` value.
    package static func limits(of thresholds: [Threshold]) -> (p95: Duration?, backlog: Int?) {
        var p95: Double?
        var backlog: Double?
        for threshold in thresholds where threshold.comparison == .less || threshold.comparison == .lessOrEqual {
            if threshold.metric == LatencyMetric.e2eLatency.rawValue, threshold.aggregation == .percentile(95) {
                p95 = min(p95 ?? .infinity, threshold.value)
            }
            if threshold.metric == GaugeMetric.pipelineBacklog.rawValue, threshold.aggregation == .max {
                backlog = min(backlog ?? .infinity, threshold.value)
            }
        }
        return (p95.map { .secondsValue($0) }, backlog.map { Int($0) })
    }
}
