import Foundation
import Testing

@testable import Harness

@Suite("Metrics registry: histograms, counters, rates, gauges, audit, merge")
struct MetricsRegistryTests {
    @Test func latencyPercentilesInSeconds() throws {
        var registry = MetricsRegistry()
        for ms in 1...1000 { registry.record(.e2eLatency, .milliseconds(ms)) }
        let summary = try #require(registry.latencySummary(.e2eLatency))
        #expect(summary.count == 1000)
        // 3 significant digits: within 0.1 %.
        #expect(abs(summary.p50 - 0.5) < 0.001)
        #expect(abs(summary.p95 - 0.95) < 0.001)
        #expect(abs(summary.p99 - 0.99) < 0.001)
        #expect(abs(summary.max - 1.0) < 0.001)
        #expect(abs(summary.min - 0.001) < 0.00001)
        #expect(abs(summary.avg - 0.5005) < 0.001)
        #expect(registry.latencySummary(.taskQueueing) == nil)
        // Long latencies (hours) fit: the histograms resize.
        registry.record(.processingTime, .seconds(7200))
        #expect(abs(registry.latencySummary(.processingTime)!.max - 7200) < 7.2)
    }

    @Test func mergingEqualsRecordingEverythingInOne() {
        var one = MetricsRegistry()
        var a = MetricsRegistry()
        var b = MetricsRegistry()
        for i in 0..<2000 {
            let value = Duration.microseconds(Int64(i * 37 % 5000 + 1))
            one.record(.partLatency, value)
            if i % 2 == 0 { a.record(.partLatency, value) } else { b.record(.partLatency, value) }
            one.increment(.s3Requests)
            if i % 3 == 0 { a.increment(.s3Requests) } else { b.increment(.s3Requests) }
        }
        a.set(.filesInFlight, 3)
        b.set(.filesInFlight, 9)
        b.set(.filesInFlight, 1)
        a.countRetry(layer: "s3", reason: "throttling")
        b.countRetry(layer: "s3", reason: "throttling", by: 2)
        b.countRetry(layer: "workflow", reason: "ECS.AmazonECSException")
        a.classify(.lost, key: "in/1.csv")
        b.classify(.lost, key: "in/2.csv")
        a.merge(b)
        #expect(a.latencySummary(.partLatency) == one.latencySummary(.partLatency))
        #expect(a.count(.s3Requests) == 2000)
        #expect(a.gauges[.filesInFlight] == .init(value: 1, min: 1, max: 9))
        #expect(a.count(.lost) == 2)
        #expect(a.retryReasons == ["s3.throttling": 3, "workflow.ECS.AmazonECSException": 1])
        #expect(a.auditExamples[.lost] == ["in/1.csv", "in/2.csv"])
    }

    @Test func ratesAndPerSecond() {
        var registry = MetricsRegistry()
        #expect(registry.rate(.uploadRetryRate) == 0)
        registry.increment(.s3Requests, by: 200)
        registry.increment(.uploadRetries, by: 3)
        #expect(registry.rate(.uploadRetryRate) == 0.015)
        #expect(registry.hits(.uploadRetryRate) == 3)
        registry.increment(.uploadsStarted, by: 10)
        registry.increment(.uploadsFailed)
        registry.increment(.uploadsUnknown)
        #expect(registry.rate(.uploadFailureRate) == 0.2)
        #expect(registry.perSecond(.uploadsStarted) == 0)
        registry.elapsed = .seconds(4)
        #expect(registry.perSecond(.uploadsStarted) == 2.5)
    }

    @Test func auditExamplesAreBoundedAndVerdictFollowsTheClasses() {
        var registry = MetricsRegistry()
        for i in 0..<50 { registry.classify(.processed, key: "k\(i)") }
        #expect(registry.count(.processed) == 50)
        #expect(registry.auditExamples[.processed]?.count == MetricsRegistry.exampleLimit)
        #expect(registry.effectiveVerdict == .valid)
        registry.classify(.stuck, key: "s")
        #expect(registry.effectiveVerdict == .unknown)
        registry.classify(.leakedPII, key: "p")
        #expect(registry.effectiveVerdict == .invalid)
    }

    @Test func catalogNamesAreUniqueAndKinded() {
        let names = MetricCatalog.allNames
        #expect(Set(names).count == names.count)
        #expect(names.contains("e2e_latency") && names.contains("upload_retry_rate") && names.contains("audit"))
        #expect(MetricCatalog.kind(of: "e2e_latency") == .latency)
        #expect(MetricCatalog.kind(of: "task_throttles") == .counter)
        #expect(MetricCatalog.kind(of: "upload_retry_rate") == .rate)
        #expect(MetricCatalog.kind(of: "files_in_flight") == .gauge)
        #expect(MetricCatalog.kind(of: "audit") == .audit)
        #expect(MetricCatalog.kind(of: "e2e") == nil)
    }
}
