import Foundation
import Testing

/// `csvstorm run` as CI runs it: each exit code of DESIGN.md from a real run of the binary on the
/// embedded emulator, with its results folder.
@Suite("csvstorm run, end to end", .serialized, .timeLimit(.minutes(5)))
struct RunCommandTests {
    /// A scenario of a few small files, tasks without simulated launch or run time.
    static func scenario(name: String, extraTarget: String = "", thresholds: String, malformedFraction: Double = 0.25) -> String {
        """
        name: \(name)
        description: a short run for the tests
        target:
          emulated:
            timeScale: 0.01
            tasks: { launchLatency: { distribution: fixed, value: 0s } }
            processor: { duration: { distribution: fixed, value: 0s }\(extraTarget) }
        dataset:
          schema: \(projectRoot)/generators/customers.yaml
          seed: 7
          files: 4
          size: 16KiB
          malformedFraction: \(malformedFraction)
          malformedModes: [wrong-column-count]
        load:
          arrival: { executor: constant-arrival-rate, rate: 20/s }
        thresholds:
        \(thresholds)
        quiescence: { idle: 1s, deadline: 30s }
        """
    }

    static func write(_ text: String, in directory: String, as name: String) throws -> String {
        let path = directory + "/" + name
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static func summary(in results: String) throws -> [String: Any] {
        let folders = try FileManager.default.contentsOfDirectory(atPath: results)
        let folder = try #require(folders.first, "no results folder in \(results)")
        let data = try Data(contentsOf: URL(fileURLWithPath: "\(results)/\(folder)/summary.json"))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    static func audit(in results: String) throws -> [String: Int] {
        let folder = try #require(try FileManager.default.contentsOfDirectory(atPath: results).first)
        let data = try Data(contentsOf: URL(fileURLWithPath: "\(results)/\(folder)/audit.json"))
        let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        return try #require(json["counts"] as? [String: Int])
    }

    @Test("A clean run exits 0 and writes every result file; the audit accounts for each upload")
    func passes() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = try Self.write(Self.scenario(name: "clean", thresholds: "  audit: [lost == 0, failed_as_expected == 1, processed == 3]\n  e2e_latency: [\"p(95) < 30s\"]"), in: directory, as: "clean.yaml")
        let result = try await runCSVStorm(["run", path, "--results", directory + "/results"], timeout: 120)
        #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)")
        #expect(result.stdout.contains("audit: valid"), "\(result.stdout)")
        let folder = try #require(try FileManager.default.contentsOfDirectory(atPath: directory + "/results").first)
        let files = Set(try FileManager.default.contentsOfDirectory(atPath: "\(directory)/results/\(folder)"))
        for file in ["summary.json", "events.jsonl", "timeline.csv", "audit.json", "junit.xml", "scenario.resolved.yaml", "latency-e2e_latency.hgrm", "report.html"] {
            #expect(files.contains(file), "\(file) in \(files)")
        }
        let summary = try Self.summary(in: directory + "/results")
        #expect(summary["exitCode"] as? Int == 0)
        let audit = try Self.audit(in: directory + "/results")
        #expect(audit["processed"] == 3 && audit["failed_as_expected"] == 1, "\(audit)")
        let events = try String(contentsOfFile: "\(directory)/results/\(folder)/events.jsonl", encoding: .utf8)
        #expect(events.split(separator: "\n").filter { $0.contains("\"upload\"") }.count == 4)
    }

    @Test("A threshold that cannot hold exits 99, and junit.xml records the failure")
    func thresholdsFail() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = try Self.write(Self.scenario(name: "too-strict", thresholds: "  e2e_latency: [\"p(95) < 1ms\"]"), in: directory, as: "strict.yaml")
        let result = try await runCSVStorm(["run", path, "--results", directory + "/results"], timeout: 120)
        #expect(result.status == 99, "\(result.stdout)\n\(result.stderr)")
        #expect(result.stdout.contains("✗"), "\(result.stdout)")
        let folder = try #require(try FileManager.default.contentsOfDirectory(atPath: directory + "/results").first)
        let junit = try String(contentsOfFile: "\(directory)/results/\(folder)/junit.xml", encoding: .utf8)
        #expect(junit.contains("<failure"), "\(junit)")
        // The report names the failing threshold, marked failed.
        let report = try String(contentsOfFile: "\(directory)/results/\(folder)/report.html", encoding: .utf8)
        #expect(report.contains("<tr class=\"failed\"><td>✗</td><td>e2e_latency</td><td>p(95) &lt; 1ms</td>"), "\(report)")
        #expect(report.contains("thresholds-failed (exit 99)"))
    }

    @Test("An invalid scenario exits 104 before anything runs, naming file:line:column and the valid keys")
    func invalidScenario() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let text = Self.scenario(name: "typo", thresholds: "  e2e_latency: [\"p(95) < 30s\"]").replacingOccurrences(of: "  files: 4", with: "  filez: 4")
        let path = try Self.write(text, in: directory, as: "typo.yaml")
        let result = try await runCSVStorm(["run", path, "--results", directory + "/results"], timeout: 60)
        #expect(result.status == 104, "\(result.stdout)\n\(result.stderr)")
        #expect(result.stderr.contains("\(path):11:3"), "\(result.stderr)")
        #expect(result.stderr.contains("files"), "the valid keys are listed: \(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: directory + "/results"), "nothing ran")
    }

    @Test("A processor that drops its output loses data: the audit says lost and the run exits 108")
    func lostData() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = try Self.write(
            Self.scenario(name: "lossy", extraTarget: ", dropOutput: 1.0", thresholds: "  e2e_latency: [\"p(95) < 30s\"]", malformedFraction: 0),
            in: directory, as: "lossy.yaml"
        )
        let result = try await runCSVStorm(["run", path, "--results", directory + "/results"], timeout: 120)
        #expect(result.status == 108, "\(result.stdout)\n\(result.stderr)")
        let audit = try Self.audit(in: directory + "/results")
        #expect(audit["lost"] == 4, "\(audit)")
        #expect(result.stdout.contains("audit: invalid"), "\(result.stdout)")
    }
}
