import AWSWire
import AsyncHTTPClient
import Emulator
import Foundation
import Harness
import NIOCore
import Synchronization
import Testing

@Suite("csvstorm redrive: dead letters back into the workflow", .timeLimit(.minutes(2)))
struct RedriveTests {
    @Test("Dead-lettered events are started once each, their messages deleted; a second redrive finds nothing")
    func redriveStartsEachOnce() async throws {
        let failing = Mutex(true)
        var pipeline = PipelineConfiguration(
            eventRetryPolicy: EventRetryPolicy(maximumRetryAttempts: 1, maximumEventAgeSeconds: 60, baseBackoffSeconds: 0.02, maxBackoffSeconds: 0.05),
            launcher: .init(launchLatency: .fixed(0)), processor: .init(duration: .fixed(0)), timeScale: 1
        )
        pipeline.faults.eventTarget = { _ in
            failing.withLock { $0 } ? TargetFailure(code: "ThrottlingException", message: "Rate exceeded", retryable: true) : nil
        }
        var configuration = EmulatorConfiguration(listener: .init(port: 0))
        configuration.pipeline = pipeline
        try await withEmulator(configuration) { endpoint in
            let http = HTTPClient(eventLoopGroupProvider: .singleton)
            do {
                let credentials = AWSCredentials(accessKeyId: endpoint.credentials.accessKeyId, secretAccessKey: endpoint.credentials.secretAccessKey)
                let url = try S3Endpoint(url: endpoint.url)
                let s3 = S3Client(httpClient: http, credentials: credentials, configuration: .init(endpoint: url, addressingStyle: .path))
                let sqs = SQSClient(httpClient: http, credentials: credentials, configuration: .init(endpoint: url))
                let states = StepFunctionsClient(httpClient: http, credentials: credentials, configuration: .init(endpoint: url))
                let dynamoDB = DynamoDBClient(httpClient: http, credentials: credentials, configuration: .init(endpoint: url))
                for name in ["a.csv", "b.csv"] {
                    _ = try await s3.putObject(bucket: "raw", key: name, body: ByteBuffer(string: "id,name\n1,x\n"))
                }
                let queueURL = try await sqs.getQueueUrl("csvstorm-retry")
                var waiting = 0
                for _ in 0..<200 {
                    waiting = Int(try await sqs.getQueueAttributes(queueURL: queueURL)["ApproximateNumberOfMessages"] ?? "0") ?? 0
                    if waiting == 2 { break }
                    try await Task.sleep(for: .milliseconds(50))
                }
                #expect(waiting == 2)
                #expect(try await dynamoDB.scanAll(table: "csvstorm-jobs").isEmpty, "nothing ran while the target failed")

                failing.withLock { $0 = false }
                let redriver = Redriver(sqs: sqs, stepFunctions: states, queueURL: queueURL, stateMachineArn: pipeline.rule.targetARN)
                let dry = try await redriver.redrive(limit: 100, dryRun: true) { _ in }
                #expect(dry.count == 2 && dry.allSatisfy { $0.result == .skipped })
                let actions = try await redriver.redrive(limit: 100, dryRun: false) { _ in }
                #expect(actions.map(\.result) == [.started, .started], "\(actions)")
                #expect(Set(actions.compactMap(\.objectKey)) == ["a.csv", "b.csv"])
                var items: [DynamoDBItem] = []
                for _ in 0..<200 {
                    items = try await dynamoDB.scanAll(table: "csvstorm-jobs")
                    if items.count == 2, items.allSatisfy({ $0["status"]?.stringValue == "SUCCEEDED" }) { break }
                    try await Task.sleep(for: .milliseconds(50))
                }
                #expect(items.count == 2 && items.allSatisfy { $0["status"]?.stringValue == "SUCCEEDED" }, "\(items)")
                let again = try await redriver.redrive(limit: 100, dryRun: false) { _ in }
                #expect(again.isEmpty)
            } catch {
                try await http.shutdown()
                throw error
            }
            try await http.shutdown()
        }
    }
}
