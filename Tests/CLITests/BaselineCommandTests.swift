import Foundation
import Testing

/// `csvstorm run` with a baseline and `csvstorm compare`, as CI uses them: record a baseline,
/// pass against a fair one, fail (99) against a forged tight one, refuse (104) a missing one.
@Suite("csvstorm run --baseline / --write-baseline and csvstorm compare, end to end", .serialized, .timeLimit(.minutes(8)))
struct BaselineCommandTests {
    /// RunCommandTests' tiny scenario with a baseline: section. The tolerances are wide: a loaded
    /// machine may run the second run much slower than the first.
    static func scenario(baseline: String) -> String {
        RunCommandTests.scenario(name: "baselined", thresholds: "  audit: [lost == 0]", malformedFraction: 0) + """

            baseline:
              file: \(baseline)
              tolerances:
                e2e_latency.p95: 20x + 30s
                upload_failure_rate: "+ 0"
                throughput.filesPerSecond: 50x
            """
    }

    static func json(_ path: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
    }

    static func folder(in results: String) throws -> String {
        let folders = try FileManager.default.contentsOfDirectory(atPath: results).sorted()
        return results + "/" + (try #require(folders.last, "no results folder in \(results)"))
    }

    @Test("Record a baseline, pass against it, fail (99) against a forged tight one; compare offline")
    func recordPassFail() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let baseline = directory + "/baselines/baselined.json"
        let path = try RunCommandTests.write(Self.scenario(baseline: baseline), in: directory, as: "baselined.yaml")

        // 1. Record: the file need not exist; the run is not compared.
        let record = try await runCSVStorm(["run", path, "--results", directory + "/r1", "--write-baseline", baseline, "--machine-note", "CLI test"], timeout: 180)
        #expect(record.status == 0, "\(record.stdout)\n\(record.stderr)")
        #expect(record.stdout.contains("baseline written: \(baseline)"), "\(record.stdout)")
        let stored = try Self.json(baseline)
        #expect(stored["kind"] as? String == "csvstorm-baseline")
        #expect((stored["scenario"] as? [String: Any])?["name"] as? String == "baselined")
        let recorded = try #require(stored["recorded"] as? [String: Any])
        #expect(recorded["note"] as? String == "CLI test")
        #expect((recorded["csvstorm"] as? [String: Any])?["build"] as? String != nil)
        #expect(stored["thresholds"] == nil && stored["audit"] == nil, "trimmed to what is compared")
        let first = try Self.folder(in: directory + "/r1")
        #expect(try Self.json(first + "/summary.json")["baselineWritten"] as? String == baseline)

        // 2. A fair comparison: the same build against its own baseline passes.
        let fair = try await runCSVStorm(["run", path, "--results", directory + "/r2"], timeout: 180)
        #expect(fair.status == 0, "\(fair.stdout)\n\(fair.stderr)")
        #expect(fair.stdout.contains("no regression"), "\(fair.stdout)")
        let second = try Self.folder(in: directory + "/r2")
        let comparison = try #require(try Self.json(second + "/summary.json")["baseline"] as? [String: Any])
        #expect(comparison["passed"] as? Bool == true)
        #expect((comparison["comparisons"] as? [[String: Any]])?.count == 3)
        let junit = try String(contentsOfFile: second + "/junit.xml", encoding: .utf8)
        #expect(junit.contains("<testcase classname=\"baseline\" name=\"e2e_latency.p95 within 20x + 30s\"/>"), "\(junit)")

        // 3. A forged baseline: 1000 times the throughput this machine can do.
        var forged = stored
        var throughput = try #require(forged["throughput"] as? [String: Any])
        throughput["filesPerSecond"] = ((throughput["filesPerSecond"] as? Double) ?? 1) * 1000
        forged["throughput"] = throughput
        let forgedPath = directory + "/baselines/forged.json"
        try JSONSerialization.data(withJSONObject: forged).write(to: URL(fileURLWithPath: forgedPath))
        let tight = try await runCSVStorm(["run", path, "--results", directory + "/r3", "--baseline", forgedPath], timeout: 180)
        #expect(tight.status == 99, "\(tight.stdout)\n\(tight.stderr)")
        #expect(tight.stdout.contains("1 regression(s)") && tight.stdout.contains("✗ throughput.filesPerSecond"), "\(tight.stdout)")
        let third = try Self.folder(in: directory + "/r3")
        let summary = try Self.json(third + "/summary.json")
        #expect(summary["exitCode"] as? Int == 99 && summary["outcome"] as? String == "thresholds-failed")
        #expect((summary["baseline"] as? [String: Any])?["regressions"] as? Int == 1)
        let tightJUnit = try String(contentsOfFile: third + "/junit.xml", encoding: .utf8)
        #expect(tightJUnit.contains("type=\"baseline\""), "\(tightJUnit)")
        let report = try String(contentsOfFile: third + "/report.html", encoding: .utf8)
        #expect(report.contains("<strong>1 regression(s)</strong>"))

        // 4. Offline: the fair run against the forged baseline, and against the first run's summary.
        let offline = try await runCSVStorm(["compare", second, forgedPath], timeout: 60)
        #expect(offline.status == 99, "\(offline.stdout)\n\(offline.stderr)")
        let same = try await runCSVStorm(["compare", second + "/summary.json", first + "/summary.json", "--scenario", path, "--tolerance", "throughput.filesPerSecond=off"], timeout: 60)
        #expect(same.status == 0, "\(same.stdout)\n\(same.stderr)")
        #expect(same.stdout.split(separator: "\n").count == 3, "a header and two metrics: \(same.stdout)")
        // (Against itself: two runs on a loaded machine may differ beyond the default tolerances.)
        let json = try await runCSVStorm(["compare", second, second + "/summary.json", "--json"], timeout: 60)
        #expect(json.status == 0, "\(json.stdout)\n\(json.stderr)")
        let parsed = try #require(try JSONSerialization.jsonObject(with: json.stdoutData) as? [String: Any])
        #expect((parsed["comparisons"] as? [[String: Any]])?.count == 14, "the default tolerances without --scenario")
    }

    @Test("A missing baseline exits 104 before anything runs, naming the scenario's line; bad arguments exit 104")
    func missingBaseline() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let baseline = directory + "/nope.json"
        let text = Self.scenario(baseline: baseline)
        let path = try RunCommandTests.write(text, in: directory, as: "baselined.yaml")
        let line = try #require(text.split(separator: "\n", omittingEmptySubsequences: false).firstIndex { $0.hasPrefix("  file: ") }) + 1
        let result = try await runCSVStorm(["run", path, "--results", directory + "/results"], timeout: 60)
        #expect(result.status == 104, "\(result.stdout)\n\(result.stderr)")
        #expect(result.stderr.contains("\(path):\(line):9: error: baseline.file: no baseline file at '\(baseline)'"), "\(result.stderr)")
        #expect(result.stderr.contains("--write-baseline"), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: directory + "/results"), "nothing ran")

        let validate = try await runCSVStorm(["run", path, "--validate-only"], timeout: 60)
        #expect(validate.status == 104 && validate.stderr.contains("baseline.file"), "\(validate.stderr)")
        let optOut = try await runCSVStorm(["run", path, "--validate-only", "--no-baseline"], timeout: 60)
        #expect(optOut.status == 0, "\(optOut.stderr)")

        let badTolerance = try await runCSVStorm(["run", path, "--validate-only", "--tolerance", "e2e_latency.p95=half"], timeout: 60)
        #expect(badTolerance.status == 104 && badTolerance.stderr.contains("--tolerance: error: e2e_latency.p95=half: invalid factor 'half'"), "\(badTolerance.stderr)")
        let both = try await runCSVStorm(["run", path, "--validate-only", "--baseline", baseline, "--write-baseline", baseline], timeout: 60)
        #expect(both.status == 104 && both.stderr.contains("exclude each other"), "\(both.stderr)")
        let compare = try await runCSVStorm(["compare", directory + "/a.json", baseline], timeout: 60)
        #expect(compare.status == 104 && compare.stderr.contains("\(directory)/a.json: error: no such file"), "\(compare.stderr)")
    }
}
