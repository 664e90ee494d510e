import Faults
import Foundation
import SyntheticData
import Testing

@testable import Harness

@Suite("Shipped scenarios: every file in scenarios/ validates, fault plans included")
struct ScenarioShippedFilesTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let directory = root.appendingPathComponent("scenarios")
    static let required = [
        "smoke", "steady-state", "burst", "ramp-to-saturation", "multi-gb", "task-failures", "throttled-starts",
        "endpoint-outage", "event-delivery-failure", "duplicate-delivery", "pipeline-restart", "soak", "ci-regression",
    ]

    static var files: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []).filter { $0.hasSuffix(".yaml") }.sorted()
    }

    func load(_ file: String) throws -> Scenario {
        let path = Self.directory.appendingPathComponent(file).path
        let text = try String(contentsOfFile: path, encoding: .utf8)
        return try Scenario.parse(yaml: text, file: "scenarios/\(file)", fileExists: { FileManager.default.fileExists(atPath: Self.root.appendingPathComponent($0).path) })
    }

    @Test func everyRequiredScenarioShips() {
        #expect(Set(Self.files.map { String($0.dropLast(5)) }).isSuperset(of: Self.required), "\(Self.files)")
    }

    @Test(arguments: files)
    func validates(file: String) throws {
        let scenario = try load(file)
        #expect(scenario.name + ".yaml" == file, "the name names the results folder: keep it equal to the file name")
        #expect(!scenario.description.isEmpty)
        // The leading comment says what the scenario is for and what to expect.
        let text = try String(contentsOf: Self.directory.appendingPathComponent(file), encoding: .utf8)
        #expect(text.hasPrefix("# \(scenario.name) — "))
        #expect(text.contains("\n# Expect: "))
        #expect(!scenario.thresholds.isEmpty)
        if let faults = scenario.faults {
            let plan = try FaultPlan(node: faults.node, file: faults.file)
            #expect(!plan.faults.isEmpty)
        }
        // The resolved form reads back the same.
        let again = try Scenario.parse(yaml: scenario.resolvedYAML(), file: "resolved")
        #expect(again.resolvedYAML() == scenario.resolvedYAML())
    }

    @Test func smokeFinishesWellUnderAMinute() throws {
        let smoke = try load("smoke.yaml")
        let offsets = Array(try #require(smoke.arrivalSchedule))
        #expect(offsets.count == 10)
        #expect(offsets.last! < .seconds(10))
        #expect(smoke.quiescence.deadline <= .seconds(45))
        guard case let .fixed(size) = smoke.dataset.size else { Issue.record("smoke uses fixed sizes"); return }
        #expect(size.bytes <= 1 << 20)
        #expect((0..<10).filter { smoke.dataset.plannedFile($0).malformed != nil }.count == 1)
    }
}
