import Foundation
import Testing
#if canImport(FoundationXML)
import FoundationXML
#endif

@testable import Harness

@Suite("Results: folder, summary.json, events.jsonl, .hgrm, timeline.csv, audit.json, junit.xml, exit codes")
struct ResultsWriterTests {
    static let scenarioYAML = """
        name: results-test
        description: writer test
        dataset: { schema: generators/customers.yaml, files: 4, size: 64KiB }
        load: { arrival: { executor: constant-arrival-rate, rate: 2/s } }
        thresholds:
          e2e_latency: ["p(95) < 30s", "max < 100ms"]
          upload_retry_rate: ["rate < 0.01"]
          audit: ["lost == 0"]
        """

    func temporaryRoot() -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("csvstorm-results-\(UUID().uuidString)").path
        return path
    }

    func sampleRegistry() -> MetricsRegistry {
        var registry = MetricsRegistry()
        for ms in [120, 250, 400, 900] { registry.record(.e2eLatency, .milliseconds(ms)) }
        for ms in [20, 30] { registry.record(.uploadDuration, .milliseconds(ms)) }
        registry.increment(.uploadsStarted, by: 4)
        registry.increment(.uploadsCompleted, by: 4)
        registry.increment(.s3Requests, by: 12)
        registry.increment(.bytesUploaded, by: 4 * 65_536)
        registry.increment(.rowsProcessed, by: 400)
        registry.set(.filesInFlight, 2)
        registry.countRetry(layer: "s3", reason: "throttling", by: 2)
        registry.elapsed = .seconds(2)
        registry.verdict = .valid
        for i in 0..<4 { registry.classify(.processed, key: "in/00000\(i).csv") }
        return registry
    }

    @Test func folderNameIsUTCAndUnique() throws {
        let start = Date(timeIntervalSince1970: 1_795_953_600)  // 2026-11-29T12:00:00Z
        #expect(ResultsWriter.folderName(scenario: "smoke", start: start) == "20261129T120000Z-smoke")
        let root = temporaryRoot()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let first = try ResultsWriter.create(root: root, scenario: "smoke", start: start)
        let second = try ResultsWriter.create(root: root, scenario: "smoke", start: start)
        #expect(first.directory.lastPathComponent == "20261129T120000Z-smoke")
        #expect(second.directory.lastPathComponent == "20261129T120000Z-smoke-2")
    }

    @Test func writesEveryFile() throws {
        let scenario = try Scenario.parse(yaml: Self.scenarioYAML, file: "scenarios/results-test.yaml")
        let root = temporaryRoot()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let start = Date(timeIntervalSince1970: 1_795_953_600)
        let writer = try ResultsWriter.create(root: root, scenario: scenario.name, start: start)
        let events = try writer.openEvents()
        events.write(RunEvent(time: .milliseconds(1500), type: "upload", key: "in/000001.csv", fields: [("outcome", .string("ok")), ("bytes", .int(65_536))]))
        try events.close()
        var timeline = Timeline()
        timeline.uploadStarted(at: .milliseconds(100))
        timeline.uploadFinished(at: .milliseconds(1200), ok: true)
        let summary = try writer.writeAll(
            scenario: scenario, registry: sampleRegistry(), timeline: timeline,
            auditObjects: [.init(key: "in/000000.csv", versionId: "v1", auditClass: .processed)],
            start: start, end: start.addingTimeInterval(2), aborted: false, harness: HarnessUsage(cpuSeconds: 0.4, peakRSSBytes: 50 << 20)
        )
        let files = try Set(FileManager.default.contentsOfDirectory(atPath: writer.directory.path))
        #expect(files == ["summary.json", "events.jsonl", "latency-e2e_latency.hgrm", "latency-upload_duration.hgrm", "timeline.csv", "audit.json", "junit.xml", "scenario.resolved.yaml", "report.html"])

        // The summary: max < 100ms fails, so thresholds failed → 99.
        #expect(summary.exitCode == 99 && summary.outcome == "thresholds-failed" && !summary.aborted)
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: writer.directory.appendingPathComponent("summary.json"))) as! [String: Any]
        #expect(json["schemaVersion"] as? Int == 1)
        #expect(json["start"] as? String == "2026-11-29T12:00:00.000Z")
        #expect(json["exitCode"] as? Int == 99)
        let latencies = json["latencies"] as! [String: [String: Any]]
        #expect(Set(latencies.keys) == Set(LatencyMetric.allCases.map(\.rawValue)))
        let e2e = latencies["e2e_latency"]!
        #expect(e2e["count"] as? Int == 4)
        #expect(abs((e2e["max"] as! Double) - 0.9) < 0.001)
        #expect(abs((e2e["p50"] as! Double) - 0.25) < 0.001)
        #expect(e2e.keys.contains("p99.9"))
        #expect(latencies["task_queueing"]!["p95"] is NSNull)
        let rates = json["rates"] as! [String: [String: Any]]
        #expect(rates["upload_retry_rate"]!["total"] as? Int == 12)
        #expect(json["retryReasons"] as? [String: Int] == ["s3.throttling": 2])
        let throughput = json["throughput"] as! [String: Double]
        #expect(throughput["filesPerSecond"] == 2 && throughput["rowsPerSecond"] == 200)
        #expect(abs(throughput["megabytesPerSecond"]! - 0.131072) < 1e-9)
        let audit = json["audit"] as! [String: Any]
        #expect(audit["verdict"] as? String == "valid")
        #expect((audit["counts"] as! [String: Int])["processed"] == 4)
        let thresholds = json["thresholds"] as! [[String: Any]]
        #expect(thresholds.count == 4)
        #expect(thresholds.map { $0["passed"] as! Bool } == [true, false, true, true])
        #expect(thresholds[1]["location"] as? String == "scenarios/results-test.yaml:6:33")
        #expect((json["harness"] as! [String: Any])["cpuMillisecondsPerUpload"] as? Double == 100)

        let hgrm = try String(contentsOf: writer.directory.appendingPathComponent("latency-e2e_latency.hgrm"), encoding: .utf8)
        #expect(hgrm.hasPrefix("       Value     Percentile TotalCount 1/(1-Percentile)"))
        #expect(hgrm.contains("#[Max     =      900.")) // milliseconds
        #expect(hgrm.contains("Total count    =            4]"))

        let eventLines = try String(contentsOf: writer.directory.appendingPathComponent("events.jsonl"), encoding: .utf8)
        #expect(eventLines == "{\"t\":1.500000,\"type\":\"upload\",\"key\":\"in/000001.csv\",\"outcome\":\"ok\",\"bytes\":65536}\n")

        let junit = try String(contentsOf: writer.directory.appendingPathComponent("junit.xml"), encoding: .utf8)
        #expect(junit.contains("<testsuite name=\"results-test\" tests=\"10\" failures=\"1\" errors=\"0\" skipped=\"0\""))
        #expect(junit.contains("<testcase classname=\"thresholds.e2e_latency\" name=\"max &lt; 100ms\">"))
        // HdrHistogram's max is the top of the 900 ms bucket (3 significant digits).
        #expect(junit.contains("<failure message=\"max=900.095ms &lt; 100ms\" type=\"threshold\">scenarios/results-test.yaml:6:33: e2e_latency: max=900.095ms &lt; 100ms</failure>"))
        #expect(junit.contains("<testcase classname=\"audit\" name=\"no lost\"/>"))

        let auditJSON = try JSONSerialization.jsonObject(with: Data(contentsOf: writer.directory.appendingPathComponent("audit.json"))) as! [String: Any]
        #expect((auditJSON["objects"] as! [[String: Any]]).first?["class"] as? String == "processed")

        let resolved = try String(contentsOf: writer.directory.appendingPathComponent("scenario.resolved.yaml"), encoding: .utf8)
        let reparsed = try Scenario.parse(yaml: resolved, file: "resolved.yaml")
        #expect(reparsed.load == scenario.load && reparsed.dataset == scenario.dataset)
        #expect(!files.contains { $0.hasSuffix(".partial") })
    }

    /// report.html: self-contained, escaped, well-formed, and it names what failed.
    @Test func reportIsSelfContainedEscapedAndNamesFailures() throws {
        let yaml = Self.scenarioYAML.replacingOccurrences(of: "description: writer test", with: "description: \"p95 <script>alert('x')</script> & more\"")
        let scenario = try Scenario.parse(yaml: yaml, file: "scenarios/results-test.yaml")
        let root = temporaryRoot()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let start = Date(timeIntervalSince1970: 1_795_953_600)
        let writer = try ResultsWriter.create(root: root, scenario: scenario.name, start: start)
        var timeline = Timeline()
        for second in 0..<5 {
            timeline.uploadStarted(at: .seconds(second))
            timeline.filesInFlight(second, at: .seconds(second))
            timeline.completion(at: .milliseconds(second * 1000 + 500))
        }
        timeline.faultWindowOpened("task-failure<1>", at: .seconds(1))
        timeline.faultWindowClosed("task-failure<1>", at: .seconds(3))
        var registry = sampleRegistry()
        registry.classify(.lost, key: "in/<lost>.csv")
        let baselineFile = BaselineSnapshot(
            kind: BaselineSnapshot.kindName, scenario: .init(name: "results-test", file: "f", description: "", target: "emulated", loadModel: "open"),
            latencies: ["e2e_latency": .init(count: 4, p50: 0.1, p95: 0.2)], rates: [:], throughput: nil
        )
        let comparison = BaselineComparison.compare(
            current: BaselineSnapshot(summary: RunSummary(scenario: scenario, registry: registry, thresholdResults: [], start: start, end: start.addingTimeInterval(2), aborted: false, harness: .init(cpuSeconds: 0, peakRSSBytes: 0))),
            baseline: baselineFile, tolerances: [BaselineTolerance(metric: try BaselineMetric.parse("e2e_latency.p95").get(), tolerance: Tolerance(factor: 1.5))], file: "results/baselines/results-test.json"
        )
        let summary = try writer.writeAll(
            scenario: scenario, registry: registry, timeline: timeline, start: start, end: start.addingTimeInterval(2), aborted: false,
            harness: HarnessUsage(cpuSeconds: 0.4, peakRSSBytes: 50 << 20), baseline: comparison
        )
        // lost data wins over the failed threshold and the regression.
        #expect(summary.exitCode == 108 && summary.baseline?.passed == false)
        let html = try String(contentsOf: writer.directory.appendingPathComponent("report.html"), encoding: .utf8)
        #expect(html.hasPrefix("<!DOCTYPE html>"))
        // Escaped: the description's markup is text.
        #expect(html.contains("p95 &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; more"))
        #expect(!html.contains("<script"))
        #expect(html.contains("task-failure&lt;1&gt;"))
        #expect(html.contains("in/&lt;lost&gt;.csv"))
        // Self-contained: nothing loaded from elsewhere.
        #expect(!html.contains("src=") && !html.contains("href=") && !html.contains("@import"))
        // Every threshold; the failing one marked.
        for expression in ["p(95) &lt; 30s", "max &lt; 100ms", "rate &lt; 0.01", "lost == 0"] { #expect(html.contains(expression), "\(expression)") }
        #expect(html.contains("<tr class=\"failed\"><td>✗</td><td>e2e_latency</td><td>max &lt; 100ms</td><td>max=900.095ms &lt; 100ms</td><td>scenarios/results-test.yaml:6:33</td></tr>"))
        #expect(html.contains("<span class=\"badge fail\">audit-failed (exit 108)</span>"))
        // The baseline table, the chart with its fault window, the retry reasons.
        #expect(html.contains("<strong>1 regression(s)</strong>"))
        #expect(html.contains("<td>e2e_latency.p95</td><td>900ms</td><td>200ms</td><td>4.5x</td><td>1.5x</td><td>300ms</td>"))
        #expect(html.contains("<svg xmlns=\"http://www.w3.org/2000/svg\""))
        #expect(html.contains("<rect class=\"fault\""))
        #expect(html.contains("<polyline class=\"series completions\""))
        #expect(html.contains("<td>s3.throttling</td><td>2</td>"))

        // Well-formed (XML parses it): every element closed, every entity known.
        let parser = XMLParser(data: Data(html.replacingOccurrences(of: "<!DOCTYPE html>\n", with: "").utf8))
        #expect(parser.parse(), "\(String(describing: parser.parserError))")
        #expect(!FileManager.default.fileExists(atPath: writer.directory.appendingPathComponent("report.html.partial").path))
    }

    @Test func longTimelinesAreDrawnInBuckets() {
        var timeline = Timeline()
        for second in stride(from: 0, to: 7200, by: 3) { timeline.uploadStarted(at: .seconds(second)) }
        var page = HTMLReport.Page()
        HTMLReport.chart(timeline, into: &page)
        let points = page.text.components(separatedBy: "<polyline class=\"series started\" points=\"")[1].prefix { $0 != "\"" }
        #expect(points.split(separator: " ").count == 1200)
        #expect(page.text.contains("in buckets of 6 s"))
        #expect(HTMLReport.niceCeiling(7) == 10 && HTMLReport.niceCeiling(0.3) == 0.5 && HTMLReport.niceCeiling(100) == 100)
    }

    @Test func exitCodesFollowDesign() {
        let passed = ThresholdResult(threshold: try! Threshold.parse(expression: "count == 0", metric: "task_retries", file: "f", line: 1, column: 1), observed: 0, passed: true, message: "")
        var failed = passed
        failed.passed = false
        #expect(RunExitCode.forRun(aborted: false, audit: [:], thresholds: [passed]) == .passed)
        #expect(RunExitCode.forRun(aborted: false, audit: [.stuck: 2], thresholds: [passed]) == .passed)
        #expect(RunExitCode.forRun(aborted: false, audit: [:], thresholds: [passed, failed]) == .thresholdsFailed)
        #expect(RunExitCode.forRun(aborted: false, audit: [.lost: 1], thresholds: [failed]) == .auditFailed)
        #expect(RunExitCode.forRun(aborted: false, audit: [.duplicated: 1], thresholds: []) == .auditFailed)
        #expect(RunExitCode.forRun(aborted: true, audit: [.lost: 1], thresholds: [failed]) == .aborted)
        #expect(RunExitCode.allCases.map(\.rawValue) == [0, 99, 104, 105, 107, 108])
    }

    @Test func abortedRunWithoutAuditSkipsAuditChecks() {
        var registry = MetricsRegistry()
        registry.increment(.uploadsStarted)
        let xml = JUnitReport.xml(scenario: "a<b", thresholds: [], registry: registry, duration: .seconds(1))
        #expect(xml.contains("<testsuite name=\"a&lt;b\" tests=\"6\" failures=\"0\" errors=\"0\" skipped=\"6\""))
        #expect(xml.contains("<skipped message=\"the audit did not run\"/>"))
        registry.verdict = .invalid
        registry.classify(.lost, key: "in/000009.csv")
        let failing = JUnitReport.xml(scenario: "s", thresholds: [], registry: registry, duration: .seconds(1))
        #expect(failing.contains("<failure message=\"1 object(s) lost, e.g. in/000009.csv\" type=\"audit\">"))
    }

    @Test func eventsStreamWithBoundedBuffer() throws {
        let root = temporaryRoot()
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let path = root + "/events.jsonl"
        let writer = try EventsWriter(path: path, bufferBytes: 4096)
        for i in 0..<10_000 {
            writer.write(RunEvent(time: .milliseconds(i), type: "part", key: "k\"\(i)\n", fields: [("n", .int(Int64(i))), ("ok", .bool(i % 2 == 0)), ("x", .double(0.5))]))
            // The buffer is written out as it fills: the file grows during the run.
            if i == 5000 {
                let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as! Int
                #expect(size > 4096 * 10)
            }
        }
        try writer.close()
        writer.write(RunEvent(time: .zero, type: "ignored"))
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 10_000)
        let last = try JSONSerialization.jsonObject(with: Data(lines.last!.utf8)) as! [String: Any]
        #expect(last["key"] as? String == "k\"9999\n")
        #expect(last["n"] as? Int == 9999 && last["ok"] as? Bool == false && last["t"] as? Double == 9.999)
    }

    @Test func timelineRowsPerSecond() {
        var timeline = Timeline()
        timeline.uploadStarted(at: .milliseconds(100))
        timeline.uploadStarted(at: .milliseconds(900))
        timeline.filesInFlight(2, at: .milliseconds(950))
        timeline.bytesUploaded(3_000_000, at: .milliseconds(1500))
        timeline.uploadFinished(at: .milliseconds(1600), ok: true)
        timeline.uploadFinished(at: .milliseconds(2100), ok: false)
        timeline.faultWindowOpened("task-failure", at: .milliseconds(1200))
        timeline.faultWindowOpened("endpoint-outage", at: .milliseconds(2500))
        timeline.faultWindowClosed("task-failure", at: .milliseconds(2000))
        timeline.completion(at: .milliseconds(3500))
        timeline.retry(at: .milliseconds(3600), count: 2)
        #expect(timeline.csv() == """
            \(Timeline.header)
            0,2,0,0,0,2,0,0,
            1,0,1,0,3,2,0,0,task-failure
            2,0,0,1,0,2,0,0,endpoint-outage
            3,0,0,0,0,2,1,2,endpoint-outage

            """)
    }
}
