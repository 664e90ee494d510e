import Foundation
import Testing

@testable import Harness

@Suite("Stage metrics: where a ramp saturates")
struct MetricsStageTests {
    static let yaml = """
        name: ramp
        dataset: { schema: a.yaml, size: 1KiB }
        load:
          arrival:
            executor: ramping-arrival-rate
            startRate: 5/s
            stages: [ { target: 5/s, duration: 60s }, { target: 10/s, duration: 60s }, { target: 20/s, duration: 60s } ]
        thresholds:
          e2e_latency: ["p(95) < 30s", "p(95) < 40s", "max < 2m"]
          pipeline_backlog: ["max <= 300"]
        """

    @Test func findsTheFirstStageOverTheLimits() throws {
        let scenario = try Scenario.parse(yaml: Self.yaml, file: "r.yaml")
        var stages = try #require(StageMetrics(scenario: scenario))
        #expect(stages.stages.map(\.end) == [.seconds(60), .seconds(120), .seconds(180)])
        #expect(stages.stageIndex(at: .seconds(59)) == 0)
        #expect(stages.stageIndex(at: .seconds(60)) == 1)
        #expect(stages.stageIndex(at: .seconds(500)) == 2)
        // Stage 0 fast, stage 1 slower but under 30 s, stage 2 over.
        for i in 0..<100 {
            stages.record(e2e: .seconds(5), intendedStart: .milliseconds(i * 600))
            stages.record(e2e: .seconds(20 + i % 5), intendedStart: .seconds(60) + .milliseconds(i * 600))
            stages.record(e2e: .seconds(40 + i), intendedStart: .seconds(120) + .milliseconds(i * 600))
        }
        stages.sampleBacklog(10, at: .seconds(30))
        stages.sampleBacklog(250, at: .seconds(100))
        stages.sampleBacklog(900, at: .seconds(170))
        let rows = stages.rows
        #expect(rows.map(\.count) == [100, 100, 100])
        #expect(rows.map(\.maxBacklog) == [10, 250, 900])
        #expect(rows[1].rates == "5/s → 10/s")
        #expect(abs(rows[0].p95! - 5) < 0.01)

        let limits = StageMetrics.limits(of: scenario.thresholds)
        #expect(limits.p95 == .seconds(30) && limits.backlog == 300)
        let breaking = try #require(stages.breakingPoint(p95Limit: limits.p95, backlogLimit: limits.backlog))
        #expect(breaking.stage == 2 && breaking.ratePerSecond == 20)
        #expect(breaking.description.hasPrefix("saturated at stage 3 (20/s): e2e p95 "))
        // The backlog alone can break it earlier.
        #expect(stages.breakingPoint(p95Limit: nil, backlogLimit: 200)?.stage == 1)
        #expect(stages.breakingPoint(p95Limit: .seconds(600), backlogLimit: nil) == nil)
    }

    @Test func summaryCarriesStagesAndSaturation() throws {
        let scenario = try Scenario.parse(yaml: Self.yaml, file: "r.yaml")
        var stages = try #require(StageMetrics(scenario: scenario))
        stages.record(e2e: .seconds(45), intendedStart: .seconds(61))
        let registry = MetricsRegistry()
        let start = Date(timeIntervalSince1970: 0)
        let summary = RunSummary(scenario: scenario, registry: registry, thresholdResults: [], start: start, end: start.addingTimeInterval(200), aborted: false, harness: .init(cpuSeconds: 0, peakRSSBytes: 0), stages: stages)
        #expect(summary.stages?.count == 3)
        #expect(summary.saturation?.hasPrefix("saturated at stage 2 (10/s): e2e p95 45") == true)
        let closed = try Scenario.parse(yaml: "name: c\ndataset: { schema: a.yaml, files: 1, size: 1KiB }\nload: { concurrency: 1 }", file: "c.yaml")
        #expect(StageMetrics(scenario: closed) == nil)
    }
}
