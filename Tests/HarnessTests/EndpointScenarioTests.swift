import Foundation
import SyntheticData
import Testing

@testable import Harness

/// An endpoint target's `ecs:` section and the fault plans such a scenario may carry.
@Suite("Endpoint scenarios: ecs, and which faults they can run")
struct EndpointScenarioTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    static func yaml(ecs: String?, faults: String?) -> String {
        var text = """
            name: deployed
            target:
              endpoint:
                jobTable: jobs
                retryQueue: retry
                s3: "http://127.0.0.1:4566"

            """
        if let ecs { text += "    ecs: \(ecs)\n" }
        text += """
            dataset: { schema: "\(Self.root)/generators/transactions.yaml", files: 2, size: 4KiB }
            load: { concurrency: 1 }

            """
        if let faults { text += "faults:\n  faults:\n" + faults }
        return text
    }

    /// Writes `yaml` to a scenario file and validates it as `csvstorm run` does.
    static func validate(_ yaml: String) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("csvstorm-endpoint-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("s.yaml").path
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        _ = try ScenarioRunner.validate(path: path)
    }

    @Test("ecs: parses with defaults, round-trips through the resolved YAML, and rejects unknown keys with the valid ones")
    func ecsSection() throws {
        let scenario = try Scenario.parse(yaml: Self.yaml(ecs: "{ cluster: csv, family: processor, keyVariable: S3_KEY, endpoint: \"http://127.0.0.1:5000\" }", faults: nil), file: "s.yaml")
        guard case .endpoint(let endpoint) = scenario.target else { Issue.record("not an endpoint target"); return }
        #expect(endpoint.ecs == ECSTaskTarget(cluster: "csv", family: "processor", keyVariable: "S3_KEY", endpoint: "http://127.0.0.1:5000", pollInterval: .seconds(1)))
        let again = try Scenario.parse(yaml: scenario.resolvedYAML(), file: "r.yaml")
        #expect(again.target == scenario.target)

        #expect(throws: ConfigError.self) { try Scenario.parse(yaml: Self.yaml(ecs: "{ cluster: csv }", faults: nil), file: "s.yaml") }
        do {
            _ = try Scenario.parse(yaml: Self.yaml(ecs: "{ cluster: csv, family: p, taskFamily: p }", faults: nil), file: "s.yaml")
            Issue.record("an unknown key parsed")
        } catch {
            #expect("\(error)".hasPrefix("s.yaml:7:"), "\(error)")
            #expect("\(error)".contains("keyVariable"), "names the valid keys: \(error)")
        }
    }

    @Test("A fault the deployed pipeline cannot have is refused before the run, at its line")
    func unsupportedFaults() throws {
        let duplicate = Self.yaml(ecs: "{ cluster: csv, family: processor }", faults: "    - { kind: duplicate-delivery, window: always }\n")
        do {
            try Self.validate(duplicate)
            Issue.record("duplicate-delivery against an endpoint validated")
        } catch {
            #expect("\(error)".contains("s.yaml:12:"), "\(error)")
            #expect("\(error)".contains("acts only on the emulated pipeline"), "\(error)")
        }
        let noECS = Self.yaml(ecs: nil, faults: "    - { kind: task-failure, window: always, probability: 0.1 }\n")
        do {
            try Self.validate(noECS)
            Issue.record("task-failure without ecs validated")
        } catch {
            #expect("\(error)".contains("target.endpoint.ecs"), "\(error)")
        }
        try Self.validate(Self.yaml(ecs: "{ cluster: csv, family: processor }", faults: "    - { kind: task-failure, window: always, probability: 0.1 }\n"))
    }
}
