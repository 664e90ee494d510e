import AWSWire
import AsyncHTTPClient
@testable import Emulator
import Foundation
import NIOCore
import SyntheticData
import Testing

/// The repository root, from this file's location (Tests/EmulatorTests/PipelineTests.swift).
let pipelineProjectRoot: String = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

/// Pipeline configurations and clients for tests.
enum TestPipeline {
    static func schema(_ name: String) throws -> Schema {
        try SchemaLoader.load(path: "\(pipelineProjectRoot)/generators/\(name).yaml")
    }

    /// No launch latency, no minimum task time: a file takes as long as its processing.
    static func configuration(
        faults: PipelineFaultHooks = .init(),
        duplicateRate: Double = 0,
        launcher: PipelineConfiguration.Launcher = .init(launchLatency: .fixed(0)),
        eventRetryPolicy: EventRetryPolicy = .init(),
        workflow: JobWorkflow.Definition = .standard
    ) throws -> PipelineConfiguration {
        PipelineConfiguration(
            eventRetryPolicy: eventRetryPolicy, duplicateRate: duplicateRate, workflow: workflow, launcher: launcher,
            processor: .init(schemas: [try schema("customers"), try schema("transactions")], duration: .fixed(0)),
            timeScale: 1, faults: faults
        )
    }

    static func emulator(_ pipeline: PipelineConfiguration, stateDirectory: EmulatorConfiguration.StateDirectory = .temporary) -> EmulatorConfiguration {
        var configuration = TestEmulator.configuration(stateDirectory: stateDirectory)
        configuration.pipeline = pipeline
        return configuration
    }

    static func generate(_ schema: Schema, seed: UInt64, rows: Int, options: GeneratorOptions = GeneratorOptions()) throws -> (bytes: [UInt8], recipe: DatasetRecipe) {
        var bytes: [UInt8] = []
        let recipe = try DatasetGenerator.write(schema: schema, recipe: DatasetRecipe(schema: schema, seed: seed, size: .rows(rows), options: options)) { slice in
            bytes.append(contentsOf: slice)
        }
        return (bytes, recipe)
    }

    struct Clients {
        var s3: S3Client
        var dynamoDB: DynamoDBClient
        var sqs: SQSClient
        var states: StepFunctionsClient
    }

    static func withClients<T>(_ configuration: EmulatorConfiguration, _ body: (Clients, EmulatorEndpoint) async throws -> T) async throws -> T {
        try await withEmulator(configuration) { endpoint in
            try await TestEmulator.withHTTPClient { http in
                let credentials = AWSCredentials(accessKeyId: endpoint.credentials.accessKeyId, secretAccessKey: endpoint.credentials.secretAccessKey)
                let url = try S3Endpoint(url: endpoint.url)
                let retry = RetryConfiguration(baseDelay: .milliseconds(5), jitterSeed: 1)
                let clients = Clients(
                    s3: try TestEmulator.client(http, endpoint),
                    dynamoDB: DynamoDBClient(httpClient: http, credentials: credentials, configuration: .init(endpoint: url, retry: retry)),
                    sqs: SQSClient(httpClient: http, credentials: credentials, configuration: .init(endpoint: url, retry: retry)),
                    states: StepFunctionsClient(httpClient: http, credentials: credentials, configuration: .init(endpoint: url, retry: retry))
                )
                return try await body(clients, endpoint)
            }
        }
    }

    /// Polls the job table (GetItem over the wire) until the record of `event` is terminal.
    static func waitForTerminal(_ dynamoDB: DynamoDBClient, _ event: ObjectCreatedEvent, timeout: Duration = .seconds(60)) async throws -> JobLedgerRecord {
        let key = JobLedgerKey(bucket: event.bucket, key: event.key, sequencer: event.sequencer)
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        var last: JobLedgerRecord?
        while clock.now < deadline {
            if let item = try await dynamoDB.getItem(table: JobLedger.defaultTableName, key: ["jobId": .s(key.jobId)], consistentRead: true),
               let record = JobLedgerRecord(item: item)
            {
                last = record
                if record.status != .running { return record }
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw PipelineTestError("job \(key.jobId) not terminal within \(timeout); last: \(String(describing: last))")
    }

    static func event(for key: String, _ endpoint: EmulatorEndpoint) async throws -> ObjectCreatedEvent {
        let events = try await endpoint.events.wait(timeout: .seconds(20)) { $0.contains { $0.bucket == "raw" && $0.key == key } }
        return try #require(events.last { $0.bucket == "raw" && $0.key == key })
    }

    static func get(_ s3: S3Client, bucket: String, key: String) async throws -> [UInt8] {
        var body = try await s3.getObject(bucket: bucket, key: key).body.collect(upTo: 256 << 20)
        return body.readBytes(length: body.readableBytes) ?? []
    }

    static func health(_ endpoint: EmulatorEndpoint) async throws -> JSONValue {
        try await control(endpoint, "/_csvstorm/health")
    }

    static func control(_ endpoint: EmulatorEndpoint, _ path: String) async throws -> JSONValue {
        try await TestEmulator.withHTTPClient { http in
            let response = try await http.execute(HTTPClientRequest(url: endpoint.url + path), timeout: .seconds(10))
            var body = try await response.body.collect(upTo: 16 << 20)
            return try JSONValue.parse(body.readBytes(length: body.readableBytes) ?? [])
        }
    }
}

struct PipelineTestError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

func bytesContain(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
    guard !needle.isEmpty, needle.count <= haystack.count else { return false }
    let first = needle[0]
    var i = 0
    let last = haystack.count - needle.count
    while i <= last {
        if haystack[i] == first && Array(haystack[i..<(i + needle.count)]) == needle { return true }
        i += 1
    }
    return false
}

@Suite("The emulated pipeline: events → workflow → task → processor → ledger", .timeLimit(.minutes(3)))
struct PipelineTests {
    @Test("An uploaded CSV ends SUCCEEDED in the ledger, with a scrubbed output that holds none of its rows' seeded PII")
    func happyPath() async throws {
        let schema = try TestPipeline.schema("customers")
        let rows = 400
        let (input, recipe) = try TestPipeline.generate(schema, seed: 11, rows: rows)
        try await TestPipeline.withClients(TestPipeline.emulator(try TestPipeline.configuration())) { clients, endpoint in
            _ = try await clients.s3.putObject(bucket: "raw", key: "in/customers.csv", body: ByteBuffer(bytes: input))
            let event = try await TestPipeline.event(for: "in/customers.csv", endpoint)
            let record = try await TestPipeline.waitForTerminal(clients.dynamoDB, event)
            #expect(record.status == .succeeded, "\(record)")
            #expect(record.attempts == 1)
            let keys = ProcessorOutputKeys(inputKey: "in/customers.csv", sequencer: event.sequencer)
            #expect(keys.processed == "in/customers.\(event.sequencer).csv")
            #expect(record.outputLocation == "s3://processed/\(keys.processed)")
            let output = try await TestPipeline.get(clients.s3, bucket: "processed", key: keys.processed)
            let lines = output.split(separator: 0x0A, omittingEmptySubsequences: false)
            #expect(lines.count == rows + 2, "header, rows, and the empty piece after the last LF")
            let regenerator = try recipe.regenerator(schema: schema)
            var checked = 0
            for row in 0..<rows {
                let line = Array(lines[row + 1])
                for value in regenerator.piiValues(row: row) {
                    #expect(!bytesContain(line, Array(value.value.utf8)), "row \(row): \(value.kind) '\(value.value)' survived")
                    checked += 1
                }
            }
            #expect(checked > rows * 8)
            // The execution is visible with its history.
            let page = try await TestPipeline.control(endpoint, "/_csvstorm/executions?status=SUCCEEDED")
            let executions = try #require(page["executions"]?.arrayValue)
            #expect(executions.count == 1)
            let id = try #require(executions.first?["executionId"]?.stringValue)
            #expect(id == record.executionId)
            let detail = try await TestPipeline.control(endpoint, "/_csvstorm/executions/\(id)")
            let types = (detail["history"]?.arrayValue ?? []).compactMap { $0["type"]?.stringValue }
            for expected in ["ExecutionStarted", "TaskStateEntered", "TaskStarted", "TaskRunning", "ExecutionSucceeded"] {
                #expect(types.contains(expected), "\(types)")
            }
            let health = try await TestPipeline.health(endpoint)
            #expect(health["counters"]?["files_processed"]?.intValue == 1)
            #expect(health["counters"]?["rows_processed"]?.intValue == rows)
        }
    }

    @Test("A malformed file ends FAILED: the input and an error report land in the failed bucket, nothing in processed")
    func malformedFile() async throws {
        let schema = try TestPipeline.schema("transactions")
        let (input, _) = try TestPipeline.generate(schema, seed: 5, rows: 200, options: GeneratorOptions(malformed: .wrongColumnCount))
        let pipeline = try TestPipeline.configuration(workflow: JobWorkflow.Definition(
            taskRetriers: [StatesRetrier(errorEquals: ["States.TaskFailed"], intervalSeconds: 0.05, backoffRate: 1, maxAttempts: 1)],
            ledgerRetriers: [], taskCatchers: [StatesCatcher(errorEquals: ["States.ALL"], next: "RecordJobFailed")]
        ))
        try await TestPipeline.withClients(TestPipeline.emulator(pipeline)) { clients, endpoint in
            _ = try await clients.s3.putObject(bucket: "raw", key: "bad.csv", body: ByteBuffer(bytes: input))
            let event = try await TestPipeline.event(for: "bad.csv", endpoint)
            let record = try await TestPipeline.waitForTerminal(clients.dynamoDB, event)
            #expect(record.status == .failed)
            #expect(record.error == "States.TaskFailed")
            #expect(record.cause?.contains("wrong-column-count") == true, "\(record.cause ?? "")")
            #expect(record.attempts == 2, "the task was retried once, as the definition says")
            let keys = ProcessorOutputKeys(inputKey: "bad.csv", sequencer: event.sequencer)
            #expect(try await TestPipeline.get(clients.s3, bucket: "failed", key: keys.failedInput) == input)
            let report = try JSONValue.parse(try await TestPipeline.get(clients.s3, bucket: "failed", key: keys.failedReport))
            #expect(report["defect"]?.stringValue == "wrong-column-count")
            #expect(report["input"]?.stringValue?.hasPrefix("s3://raw/bad.csv?versionId=") == true)
            await #expect(throws: AWSError.self) { _ = try await clients.s3.headObject(bucket: "processed", key: keys.processed) }
            // Object Lock: the failed input cannot be deleted.
            let version = try await clients.s3.headObject(bucket: "failed", key: keys.failedInput).versionId
            await #expect(throws: AWSError.self) { _ = try await clients.s3.deleteObject(bucket: "failed", key: keys.failedInput, versionId: version) }
        }
    }

    @Test("Every event delivered twice still yields exactly one completed job and one output version")
    func duplicateDelivery() async throws {
        let schema = try TestPipeline.schema("transactions")
        let (input, _) = try TestPipeline.generate(schema, seed: 3, rows: 100)
        try await TestPipeline.withClients(TestPipeline.emulator(try TestPipeline.configuration(duplicateRate: 1))) { clients, endpoint in
            _ = try await clients.s3.putObject(bucket: "raw", key: "dup.csv", body: ByteBuffer(bytes: input))
            let event = try await TestPipeline.event(for: "dup.csv", endpoint)
            let record = try await TestPipeline.waitForTerminal(clients.dynamoDB, event)
            #expect(record.status == .succeeded)
            // Both executions end; exactly one did the job.
            var executions: [JSONValue] = []
            for _ in 0..<200 {
                executions = try await TestPipeline.control(endpoint, "/_csvstorm/executions")["executions"]?.arrayValue ?? []
                if executions.count == 2, executions.allSatisfy({ $0["status"]?.stringValue != "RUNNING" }) { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            let results = executions.compactMap { $0["result"]?.stringValue }.sorted()
            #expect(results == ["DUPLICATE", "SUCCEEDED"], "\(executions)")
            let items = try await clients.dynamoDB.scanAll(table: JobLedger.defaultTableName)
            #expect(items.count == 1)
            let keys = ProcessorOutputKeys(inputKey: "dup.csv", sequencer: event.sequencer)
            // Every object version emits an event: one output version was written.
            let outputs = endpoint.events.events.filter { $0.bucket == "processed" && $0.key == keys.processed }
            #expect(outputs.count == 1)
            let health = try await TestPipeline.health(endpoint)
            #expect(health["counters"]?["events_duplicated"]?.intValue == 1)
            #expect(health["counters"]?["executions_duplicate"]?.intValue == 1)
        }
    }

    @Test("A failing rule target retries, then dead-letters with EventBridge's attributes; redrive starts the execution")
    func deadLetterAndRedrive() async throws {
        let schema = try TestPipeline.schema("transactions")
        let (input, _) = try TestPipeline.generate(schema, seed: 9, rows: 50)
        let failing = Mutex(true)
        let hooks = PipelineFaultHooks(eventTarget: { _ in
            failing.withLock { $0 } ? TargetFailure(code: "ThrottlingException", message: "Rate exceeded", retryable: true) : nil
        })
        let pipeline = try TestPipeline.configuration(
            faults: hooks, eventRetryPolicy: EventRetryPolicy(maximumRetryAttempts: 2, maximumEventAgeSeconds: 60, baseBackoffSeconds: 0.05, maxBackoffSeconds: 0.1)
        )
        try await TestPipeline.withClients(TestPipeline.emulator(pipeline)) { clients, endpoint in
            _ = try await clients.s3.putObject(bucket: "raw", key: "lost.csv", body: ByteBuffer(bytes: input))
            let event = try await TestPipeline.event(for: "lost.csv", endpoint)
            let queueURL = try await clients.sqs.getQueueUrl(PipelineDataServices.defaultRetryQueueName)
            var messages: [SQSClient.Message] = []
            for _ in 0..<20 where messages.isEmpty {
                messages = try await clients.sqs.receiveMessage(queueURL: queueURL, maxMessages: 10, waitSeconds: 1)
            }
            let healthNow = try await TestPipeline.health(endpoint)
            let message = try #require(messages.first, "nothing dead-lettered: \(healthNow)")
            let attributes = message.messageAttributes
            #expect(attributes["ERROR_CODE"]?.stringValue == "ThrottlingException")
            #expect(attributes["EXHAUSTED_RETRY_CONDITION"]?.stringValue == "MaximumRetryAttempts")
            #expect(attributes["RETRY_ATTEMPTS"]?.stringValue == "2")
            #expect(attributes["RULE_ARN"]?.stringValue == pipeline.rule.ruleARN)
            #expect(attributes["TARGET_ARN"]?.stringValue == pipeline.rule.targetARN)
            let dead = try ObjectCreatedEvent.decode(json: Data(message.body.utf8))
            #expect(dead.key == "lost.csv" && dead.sequencer == event.sequencer)
            let health = try await TestPipeline.health(endpoint)
            #expect(health["counters"]?["delivery_retries"]?.intValue == 2)
            #expect(health["counters"]?["events_dead_lettered"]?.intValue == 1)
            #expect(health["executions"]?["RUNNING"]?.intValue == 0)

            // Redrive: StartExecution with the dead-lettered event, as `csvstorm redrive` does.
            failing.withLock { $0 = false }
            let arn = try await clients.states.startExecution(stateMachineArn: pipeline.rule.targetARN, input: message.body, name: "redrive-test-1")
            let record = try await TestPipeline.waitForTerminal(clients.dynamoDB, dead)
            #expect(record.status == .succeeded)
            let described = try await clients.states.describeExecution(arn)
            #expect(described.status == "SUCCEEDED")
            try await clients.sqs.deleteMessage(queueURL: queueURL, receiptHandle: message.receiptHandle)
        }
    }

    @Test("Throttled RunTask calls are retried with backoff and counted; every job still succeeds")
    func throttledStarts() async throws {
        let schema = try TestPipeline.schema("transactions")
        let pipeline = try TestPipeline.configuration(
            launcher: .init(burst: 1, refillPerSecond: 0.5, maxRunningTasks: 100, launchLatency: .fixed(0)),
            workflow: JobWorkflow.Definition(
                taskRetriers: [StatesRetrier(errorEquals: ["ECS.ThrottlingException", "ECS.AmazonECSException"], intervalSeconds: 0.2, backoffRate: 1.5, maxAttempts: 8)],
                ledgerRetriers: [], taskCatchers: [StatesCatcher(errorEquals: ["States.ALL"], next: "RecordJobFailed")]
            )
        )
        try await TestPipeline.withClients(TestPipeline.emulator(pipeline)) { clients, endpoint in
            var events: [ObjectCreatedEvent] = []
            // All four at once: one token, then one every 2 s, so at least two starts throttle
            // however slowly a loaded machine delivers the events.
            let s3 = clients.s3
            try await withThrowingTaskGroup(of: Void.self) { group in
                for i in 0..<4 {
                    let (input, _) = try TestPipeline.generate(schema, seed: UInt64(i), rows: 20)
                    group.addTask { _ = try await s3.putObject(bucket: "raw", key: "t\(i).csv", body: ByteBuffer(bytes: input)) }
                }
                try await group.waitForAll()
            }
            for i in 0..<4 { events.append(try await TestPipeline.event(for: "t\(i).csv", endpoint)) }
            for event in events {
                let record = try await TestPipeline.waitForTerminal(clients.dynamoDB, event)
                #expect(record.status == .succeeded, "\(record)")
            }
            let health = try await TestPipeline.health(endpoint)
            let throttled = try #require(health["counters"]?["run_task_throttled"]?.intValue)
            #expect(throttled >= 2, "4 near-simultaneous starts against a burst of 1 must throttle")
            #expect(health["counters"]?["workflow_retries"]?.intValue == throttled)
        }
    }

    @Test("Task faults: a forced exit ends FAILED after the retry; a crash mid-write publishes no output")
    func taskFaults() async throws {
        let schema = try TestPipeline.schema("transactions")
        let hooks = PipelineFaultHooks(task: { _, key in
            key.hasPrefix("exit/") ? .exit(code: 1, reason: "injected") : key.hasPrefix("crash/") ? .crash(afterFraction: 0.5) : nil
        })
        let pipeline = try TestPipeline.configuration(faults: hooks, workflow: JobWorkflow.Definition(
            taskRetriers: [StatesRetrier(errorEquals: ["States.TaskFailed"], intervalSeconds: 0.05, backoffRate: 1, maxAttempts: 2)],
            ledgerRetriers: [], taskCatchers: [StatesCatcher(errorEquals: ["States.ALL"], next: "RecordJobFailed")]
        ))
        let processor = PipelineConfiguration.Processor(schemas: [schema], duration: .fixed(0), chunkBytes: 4096)
        var withSmallChunks = pipeline
        withSmallChunks.processor = processor
        try await TestPipeline.withClients(TestPipeline.emulator(withSmallChunks)) { clients, endpoint in
            let (input, _) = try TestPipeline.generate(schema, seed: 4, rows: 2000)
            _ = try await clients.s3.putObject(bucket: "raw", key: "exit/a.csv", body: ByteBuffer(bytes: input))
            _ = try await clients.s3.putObject(bucket: "raw", key: "crash/b.csv", body: ByteBuffer(bytes: input))
            for key in ["exit/a.csv", "crash/b.csv"] {
                let event = try await TestPipeline.event(for: key, endpoint)
                let record = try await TestPipeline.waitForTerminal(clients.dynamoDB, event)
                #expect(record.status == .failed, "\(key)")
                #expect(record.attempts == 3, "\(key): first attempt and two retries")
                let keys = ProcessorOutputKeys(inputKey: key, sequencer: event.sequencer)
                await #expect(throws: AWSError.self, "\(key) has no output") { _ = try await clients.s3.headObject(bucket: "processed", key: keys.processed) }
                if key.hasPrefix("crash/") { #expect(record.cause?.contains("exit code 137") == true, "\(record.cause ?? "")") }
            }
            let health = try await TestPipeline.health(endpoint)
            #expect(health["counters"]?["tasks_crashed"]?.intValue == 3)
        }
    }

    @Test("The output keys derive from the input key and the sequencer")
    func outputKeys() {
        let keys = ProcessorOutputKeys(inputKey: "a/b/file.csv", sequencer: "00000000000000000A")
        #expect(keys.processed == "a/b/file.00000000000000000A.csv")
        #expect(keys.failedReport == "a/b/file.00000000000000000A.error.json")
        #expect(ProcessorOutputKeys(inputKey: "plain", sequencer: "1").processed == "plain.1.csv")
    }
}

import Synchronization
