import Foundation
import SyntheticData
import Testing

@testable import Harness

@Suite("Thresholds: parsing with positions, evaluation, no silent pass")
struct ThresholdTests {
    func parse(_ expression: String, _ metric: String) throws(ConfigError) -> Threshold {
        try Threshold.parse(expression: expression, metric: metric, file: "t.yaml", line: 3, column: 10)
    }

    func error(_ expression: String, _ metric: String) -> String {
        do {
            _ = try parse(expression, metric)
            return ""
        } catch {
            return error.description
        }
    }

    @Test func parsesEveryAggregationAndUnit() throws {
        #expect(try parse("p(95) < 30s", "e2e_latency").aggregation == .percentile(95))
        #expect(try parse("p(95) < 30s", "e2e_latency").value == 30)
        #expect(try parse("p(99.9)<=1500ms", "e2e_latency").aggregation == .percentile(99.9))
        #expect(try parse("p(99.9)<=1500ms", "e2e_latency").value == 1.5)
        #expect(try parse("max < 2m", "e2e_latency").value == 120)
        #expect(try parse("avg < 250", "part_latency").value == 0.25)  // bare = ms
        #expect(try parse("med < 1h", "processing_time").value == 3600)
        #expect(try parse("min >= 500us", "upload_duration").value == 0.0005)
        #expect(try parse("count > 10", "e2e_latency").value == 10)
        #expect(try parse("rate < 0.01", "upload_retry_rate").value == 0.01)
        #expect(try parse("rate < 1%", "upload_retry_rate").value == 0.01)
        #expect(try parse("count == 0", "dead_lettered").comparison == .equal)
        #expect(try parse("rate > 5", "uploads_completed").aggregation == .rate)
        #expect(try parse("max < 1073741824", "harness_rss_bytes").aggregation == .max)
        #expect(try parse("value != 3", "files_in_flight").comparison == .notEqual)
        #expect(try parse("max < 1GiB", "harness_rss_bytes").value == 1_073_741_824)
        #expect(try parse("count >= 10MB", "bytes_uploaded").value == 10_000_000)
        #expect(try parse("lost == 0", "audit").aggregation == .audit(.lost))
        #expect(try parse("leaked_pii == 0", "audit").aggregation == .audit(.leakedPII))
        #expect(try parse("failed_as_expected >= 1", "audit").comparison == .greaterOrEqual)
    }

    @Test func errorsNameTheValidChoicesAndPointIntoTheExpression() {
        #expect(error("p(95) < 30s", "e2e") == "t.yaml:3:10: error: thresholds.e2e: unknown metric 'e2e' (valid: \(MetricCatalog.allNames.joined(separator: ", ")))")
        #expect(error("rate < 0.1", "e2e_latency") == "t.yaml:3:10: error: thresholds.e2e_latency: 'rate' is not an aggregation of e2e_latency (a latency metric) (valid: p(N), avg, min, max, med, count)")
        #expect(error("p(95) < 0.1", "upload_retry_rate") == "t.yaml:3:10: error: thresholds.upload_retry_rate: 'p(95)' is not an aggregation of upload_retry_rate (a rate metric) (valid: rate, count)")
        #expect(error("avg < 3", "task_retries") == "t.yaml:3:10: error: thresholds.task_retries: 'avg' is not an aggregation of task_retries (a counter metric) (valid: count, rate)")
        #expect(error("gone == 0", "audit").hasPrefix("t.yaml:3:10: error: thresholds.audit: unknown audit class 'gone' (valid: processed, failed_as_expected, dead_lettered, lost, duplicated"))
        #expect(error("p(95) =< 30s", "e2e_latency") == "t.yaml:3:16: error: thresholds.e2e_latency: unknown operator '=<' (valid: <, <=, >, >=, ==, !=)")
        #expect(error("p(95) 30s", "e2e_latency") == "t.yaml:3:16: error: thresholds.e2e_latency: missing operator after 'p(95)' (valid: <, <=, >, >=, ==, !=)")
        #expect(error("p(95) < 30 fortnights", "e2e_latency") == "t.yaml:3:18: error: thresholds.e2e_latency: invalid value '30 fortnights'; expected \(Threshold.acceptedValueForms)")
        #expect(error("p(95) <", "e2e_latency") == "t.yaml:3:17: error: thresholds.e2e_latency: missing value after '<'")
        #expect(error("p(101) < 1s", "e2e_latency").contains("p(N) needs a percentile 0 < N ≤ 100"))
        #expect(error("p(95 < 1s", "e2e_latency").contains("'(' without ')'"))
        #expect(error("rate < 5%", "uploads_completed").contains("invalid value '5%'"))
        #expect(error("max < 1GiB", "files_in_flight").contains("invalid value '1GiB'"))
    }

    @Test func evaluationReportsTheObservedValue() throws {
        var registry = MetricsRegistry()
        for ms in 1...100 { registry.record(.e2eLatency, .milliseconds(ms * 100)) }  // 0.1 s … 10 s
        registry.increment(.s3Requests, by: 1000)
        registry.increment(.uploadRetries, by: 20)
        registry.increment(.uploadsCompleted, by: 60)
        registry.elapsed = .seconds(30)
        registry.set(.filesInFlight, 12)
        registry.verdict = .valid
        registry.classify(.processed, key: "a")

        let p95 = try parse("p(95) < 30s", "e2e_latency").evaluate(registry)
        #expect(p95.passed)
        #expect(abs(p95.observed! - 9.5) < 0.01)
        #expect(p95.message == "p(95)=9.503s < 30s" || p95.message.hasPrefix("p(95)=9.5"))
        let max = try parse("max < 5s", "e2e_latency").evaluate(registry)
        #expect(!max.passed)
        #expect(abs(max.observed! - 10) < 0.01)
        #expect(try !parse("rate < 0.01", "upload_retry_rate").evaluate(registry).passed)
        #expect(try parse("rate <= 0.02", "upload_retry_rate").evaluate(registry).passed)
        #expect(try parse("count == 20", "upload_retry_rate").evaluate(registry).passed)
        #expect(try parse("rate == 2", "uploads_completed").evaluate(registry).passed)
        #expect(try parse("count == 60", "uploads_completed").evaluate(registry).passed)
        let gauge = try parse("min == 12", "files_in_flight").evaluate(registry)
        #expect(gauge.passed && gauge.message == "min=12 == 12")
        #expect(try parse("lost == 0", "audit").evaluate(registry).passed)
        #expect(try parse("processed == 1", "audit").evaluate(registry).passed)
        registry.classify(.lost, key: "in/000003.csv")
        let lost = try parse("lost == 0", "audit").evaluate(registry)
        #expect(!lost.passed && lost.observed == 1 && lost.message == "lost=1 == 0")
    }

    @Test func nothingToAggregateFails() throws {
        let empty = MetricsRegistry()
        let latency = try parse("p(95) < 30s", "e2e_latency").evaluate(empty)
        #expect(!latency.passed && latency.observed == nil && latency.message.hasSuffix("no samples recorded"))
        #expect(try parse("count == 0", "e2e_latency").evaluate(empty).passed)
        #expect(try !parse("value < 10", "files_in_flight").evaluate(empty).passed)
        let audit = try parse("lost == 0", "audit").evaluate(empty)
        #expect(!audit.passed && audit.message.hasSuffix("the audit did not run"))
        #expect(try !parse("rate > 0", "uploads_completed").evaluate(empty).passed)
    }

    @Test func sectionParsingKeepsPositions() throws {
        let yaml = """
            thresholds:
              e2e_latency: ["p(95) < 30s", max < 2m]
              audit: lost == 0
            """
        let root = try YAMLNode.parse(yaml: yaml, file: "x.yaml")
        let thresholds = try Threshold.parseSection(try root.required("thresholds"))
        #expect(thresholds.map(\.location) == ["x.yaml:2:18", "x.yaml:2:32", "x.yaml:3:10"])
        #expect(thresholds.map(\.expression) == ["p(95) < 30s", "max < 2m", "lost == 0"])
        let bad = try YAMLNode.parse(yaml: "thresholds:\n  e2e_latency: []", file: "y.yaml")
        #expect(throws: ConfigError.self) { try Threshold.parseSection(try bad.required("thresholds")) }
    }
}
