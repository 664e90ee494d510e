import AWSWire
@testable import Emulator
import Foundation
import SyntheticData
import Synchronization
import Testing

/// The pipeline through awscli (Tests/python/pipeline_clients.py): S3 upload, DynamoDB
/// get-item/scan on the job table, SQS receive-message on the RetryQueue. The PII check of the
/// downloaded output uses the dataset recipe here.
@Suite(
    "The emulated pipeline through awscli",
    .enabled(if: Tools.realClientsAvailable, "needs `aws` (pip install awscli) and python3 with boto3"),
    .timeLimit(.minutes(5))
)
struct PipelineRealClientTests {
    static let script: String = {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("python/pipeline_clients.py").path
    }()

    static let rows = 300

    /// Writes customers.csv (seed 21) and malformed.csv into `workdir`; returns the customers recipe.
    static func prepareInputs(_ workdir: String) throws -> (Schema, DatasetRecipe) {
        let customers = try TestPipeline.schema("customers")
        let (bytes, recipe) = try TestPipeline.generate(customers, seed: 21, rows: Self.rows)
        try Data(bytes).write(to: URL(fileURLWithPath: workdir + "/customers.csv"))
        let (broken, _) = try TestPipeline.generate(customers, seed: 22, rows: 100, options: GeneratorOptions(malformed: .wrongColumnCount))
        try Data(broken).write(to: URL(fileURLWithPath: workdir + "/malformed.csv"))
        return (customers, recipe)
    }

    static func runCase(_ name: String, pipeline: PipelineConfiguration) async throws -> [String: JSONValue] {
        let workdir = try TestEmulator.scratchDirectory("pipeline-\(name)")
        defer { try? FileManager.default.removeItem(atPath: workdir) }
        let (schema, recipe) = try Self.prepareInputs(workdir)
        return try await withEmulator(TestPipeline.emulator(pipeline)) { endpoint in
            let python = try #require(Tools.find("python3"))
            let result = try await Tools.run(
                python, [Self.script, name], environment: Tools.awsEnvironment(endpoint, workdir: workdir), timeout: .seconds(200)
            )
            #expect(result.status == 0, "\(name): \(result.output)")
            let summary = (try? JSONValue.parse(Array(Data(contentsOf: URL(fileURLWithPath: workdir + "/result.json"))))) ?? .object([:])
            if let output = summary["output"]?.stringValue {
                // None of the rows' seeded PII values survived in the output awscli downloaded.
                let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: output)))
                let lines = bytes.split(separator: 0x0A, omittingEmptySubsequences: false)
                #expect(lines.count == Self.rows + 2)
                let regenerator = try recipe.regenerator(schema: schema)
                var checked = 0
                for row in 0..<min(Self.rows, lines.count - 1) {
                    let line = Array(lines[row + 1])
                    for value in regenerator.piiValues(row: row) {
                        #expect(!bytesContain(line, Array(value.value.utf8)), "row \(row): \(value.kind) '\(value.value)' survived")
                        checked += 1
                    }
                }
                #expect(checked > Self.rows * 8)
            }
            return summary.objectValue ?? [:]
        }
    }

    @Test("aws s3 cp → the job table says SUCCEEDED, the output holds no seeded PII, deleting it is denied")
    func happy() async throws {
        let summary = try await Self.runCase("happy", pipeline: try TestPipeline.configuration())
        #expect(summary["output"] != nil, "the case downloaded the output")
    }

    @Test("A malformed file ends FAILED with the input in the failed bucket")
    func malformed() async throws {
        _ = try await Self.runCase("malformed", pipeline: try TestPipeline.configuration())
    }

    @Test("A failing rule target dead-letters the event; aws sqs receive-message sees it")
    func deadLetter() async throws {
        let hooks = PipelineFaultHooks(eventTarget: { _ in TargetFailure(code: "InternalException", message: "target unavailable", retryable: true) })
        let pipeline = try TestPipeline.configuration(
            faults: hooks, eventRetryPolicy: EventRetryPolicy(maximumRetryAttempts: 3, maximumEventAgeSeconds: 60, baseBackoffSeconds: 0.05, maxBackoffSeconds: 0.2)
        )
        _ = try await Self.runCase("dead-letter", pipeline: pipeline)
    }

    @Test("A duplicated event yields exactly one completed job")
    func duplicate() async throws {
        _ = try await Self.runCase("duplicate", pipeline: try TestPipeline.configuration(duplicateRate: 1))
    }
}
