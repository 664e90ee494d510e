import AWSWire
import AsyncHTTPClient
@testable import Emulator
import Faults
import Foundation
import NIOCore
import SyntheticData
import Testing

/// Fault plans inside the emulator, end to end on loopback: each kind's effect as a client sees
/// it, the `/_csvstorm/faults` API, and a pipeline restart with an execution in flight.
@Suite("Faults inside the emulator", .timeLimit(.minutes(3)))
struct FaultEffectTests {
    // MARK: Helpers

    static func plan(_ yaml: String) throws -> FaultInjector {
        FaultInjector(plan: try FaultPlan(yaml: yaml, file: "test.yaml"))
    }

    /// An S3-only emulator with `yaml` in force from the start.
    static func configuration(_ yaml: String?) throws -> EmulatorConfiguration {
        var configuration = TestEmulator.configuration()
        if let yaml { configuration.faults = .startingNow(try Self.plan(yaml), source: "test.yaml") }
        return configuration
    }

    static func s3(_ http: HTTPClient, _ endpoint: EmulatorEndpoint, retry: RetryConfiguration, timeouts: S3Client.Timeouts = .init()) throws -> S3Client {
        S3Client(
            httpClient: http,
            credentials: AWSCredentials(accessKeyId: endpoint.credentials.accessKeyId, secretAccessKey: endpoint.credentials.secretAccessKey),
            configuration: .init(endpoint: try S3Endpoint(url: endpoint.url), addressingStyle: .path, timeouts: timeouts, retry: retry)
        )
    }

    static func control(_ http: HTTPClient, _ endpoint: EmulatorEndpoint, secret: String? = nil) -> FaultControlClient {
        FaultControlClient(
            httpClient: http, endpointURL: endpoint.url,
            credentials: AWSCredentials(accessKeyId: endpoint.credentials.accessKeyId, secretAccessKey: secret ?? endpoint.credentials.secretAccessKey)
        )
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    // MARK: endpoint-outage

    @Test("A 503 SlowDown window on PutObject: S3Client retries (throttling) until the window closes, then succeeds")
    func slowDownWindow() async throws {
        let yaml = """
            faults:
              - kind: endpoint-outage
                window: {at: 0s, duration: 8s}
                select: {service: s3, operation: PutObject}
                effect: status-503
            """
        // 8 s: the first attempt must reach the emulator inside the window, and a loaded CI
        // machine has taken over 3 s for that. Backoff up to 500 ms keeps the ~30 throttling
        // retries well inside the standard retry bucket (500 tokens, 5 per throttling retry).
        try await withEmulator(try Self.configuration(nil)) { endpoint in
            try await TestEmulator.withHTTPClient { http in
                let s3 = try Self.s3(http, endpoint, retry: RetryConfiguration(maxAttempts: 100, baseDelay: .milliseconds(50), maxBackoff: .milliseconds(500), jitterSeed: 3))
                let clock = ContinuousClock()
                let start = clock.now
                // The window counts from here.
                endpoint.faults?.apply(.startingNow(try Self.plan(yaml), source: "test.yaml"))
                _ = try await s3.putObject(bucket: "raw", key: "slow/a.csv", body: ByteBuffer(string: "a,b\n1,2\n"))
                let elapsed = clock.now - start
                let stats = s3.retryStatistics.snapshot()
                #expect(stats.succeededAfterRetry == 1, "\(stats)")
                #expect(stats.retries(for: .throttling) >= 1, "\(stats)")
                #expect(stats.throttled >= 1)
                #expect(elapsed >= .milliseconds(7500), "the put succeeded only once the window (8 s) had about closed: \(elapsed)")
                // HeadObject is not selected: untouched, and the object is there.
                _ = try await s3.headObject(bucket: "raw", key: "slow/a.csv")
                let injector = try #require(endpoint.faults?.active?.injector)
                let injected = injector.records.filter { $0.event == .injected }
                #expect(injected.count == stats.retries(for: .throttling))
                #expect(injected.allSatisfy { $0.operation == "PutObject" && $0.action == "respond 503 SlowDown" && $0.key == "slow/a.csv" })
            }
        }
    }

    @Test("status-500 on S3 answers the XML InternalError document; on DynamoDB the JSON InternalServerError shape")
    func errorShapes() async throws {
        let yaml = """
            faults:
              - kind: endpoint-outage
                window: always
                select: {service: [s3, dynamodb], operation: [GetObject, DescribeTable]}
                effect: status-500
            """
        var configuration = TestPipeline.emulator(try TestPipeline.configuration())
        configuration.faults = .startingNow(try Self.plan(yaml), source: "test.yaml")
        try await TestPipeline.withClients(configuration) { clients, endpoint in
            _ = try await clients.s3.putObject(bucket: "raw", key: "other/x.txt", body: ByteBuffer(string: "x"))
            try await TestEmulator.withHTTPClient { http in
                let s3 = try Self.s3(http, endpoint, retry: .disabled)
                let error = await #expect(throws: AWSError.self) { _ = try await s3.getObject(bucket: "raw", key: "other/x.txt") }
                #expect(error?.statusCode == 500, "\(String(describing: error))")
                #expect(error?.code == "InternalError", "\(String(describing: error))")
                let dynamo = DynamoDBClient(
                    httpClient: http,
                    credentials: AWSCredentials(accessKeyId: endpoint.credentials.accessKeyId, secretAccessKey: endpoint.credentials.secretAccessKey),
                    configuration: .init(endpoint: try S3Endpoint(url: endpoint.url), retry: .disabled)
                )
                let dynamoError = await #expect(throws: AWSError.self) { _ = try await dynamo.describeTable(JobLedger.defaultTableName) }
                #expect(dynamoError?.statusCode == 500, "\(String(describing: dynamoError))")
                #expect(dynamoError?.code == "InternalServerError", "\(String(describing: dynamoError))")
            }
        }
    }

    @Test("reset: the connection is reset without an answer; the client fails fast with a connection error")
    func reset() async throws {
        let yaml = """
            faults:
              - kind: endpoint-outage
                window: always
                select: {service: s3, operation: GetObject}
                effect: reset
            """
        try await withEmulator(try Self.configuration(yaml)) { endpoint in
            try await TestEmulator.withHTTPClient { http in
                let s3 = try Self.s3(http, endpoint, retry: RetryConfiguration(maxAttempts: 2, baseDelay: .milliseconds(5), jitterSeed: 1), timeouts: .init(request: .seconds(30), transfer: .seconds(30)))
                _ = try await s3.putObject(bucket: "raw", key: "r.txt", body: ByteBuffer(string: "r"))
                // Answered at once, not by the 30 s timeout (long, so a loaded machine cannot reach it): the
                // retry statistics below say so.
                await #expect(throws: (any Error).self) { _ = try await s3.getObject(bucket: "raw", key: "r.txt") }
                let stats = s3.retryStatistics.snapshot()
                #expect(stats.retries(for: .connection) + stats.retries(for: .transient) >= 1, "\(stats)")
                #expect(stats.retries(for: .timeout) == 0, "\(stats)")
                #expect(endpoint.faults?.active?.injector.statistics.first?.injected == 2)
            }
        }
    }

    @Test("hang: the request is never answered; the client's timeout bounds it, and the emulator still shuts down")
    func hang() async throws {
        let yaml = """
            faults:
              - kind: endpoint-outage
                window: always
                select: {service: s3, operation: HeadObject}
                effect: hang
            """
        let clock = ContinuousClock()
        try await withEmulator(try Self.configuration(yaml)) { endpoint in
            try await TestEmulator.withHTTPClient { http in
                let s3 = try Self.s3(http, endpoint, retry: .disabled, timeouts: .init(request: .milliseconds(700)))
                _ = try await s3.putObject(bucket: "raw", key: "h.txt", body: ByteBuffer(string: "h"))
                let start = clock.now
                let error = await #expect(throws: AWSError.self) { _ = try await s3.headObject(bucket: "raw", key: "h.txt") }
                let waited = clock.now - start
                // The upper bound is only a sanity check: the timeout count below is what shows the client's
                // 700 ms timeout ended the wait (a loaded machine stretches any wall-clock figure).
                #expect(waited >= .milliseconds(600) && waited < .seconds(30), "bounded by the client's 700 ms timeout: \(waited)")
                #expect(s3.retryStatistics.snapshot().failedAttemptsByReason[.timeout] == 1, "\(String(describing: error))")
                // Other operations still work while a request hangs.
                var body = try await s3.getObject(bucket: "raw", key: "h.txt").body.collect(upTo: 1024)
                #expect(body.readString(length: body.readableBytes) == "h")
            }
            // Leaving withEmulator shuts it down: a held request must not keep it waiting.
        }
    }

    @Test("latency: the selected operation takes at least the latency; others do not")
    func latency() async throws {
        let yaml = """
            faults:
              - kind: endpoint-outage
                window: always
                select: {service: s3, operation: GetObject}
                effect: latency
                latency: 400ms
                jitter: 100ms
            """
        try await withEmulator(try Self.configuration(yaml)) { endpoint in
            try await TestEmulator.withHTTPClient { http in
                let s3 = try Self.s3(http, endpoint, retry: .disabled)
                _ = try await s3.putObject(bucket: "raw", key: "l.txt", body: ByteBuffer(string: "l"))
                let clock = ContinuousClock()
                var slow: [Duration] = []
                for _ in 0..<3 {
                    let start = clock.now
                    _ = try await s3.getObject(bucket: "raw", key: "l.txt").body.collect(upTo: 1024)
                    slow.append(clock.now - start)
                }
                // HeadObject is not selected: served without delay (the records show only the GETs).
                _ = try await s3.headObject(bucket: "raw", key: "l.txt")
                #expect(slow.allSatisfy { $0 >= .milliseconds(400) && $0 < .seconds(30) }, "\(slow)")
                let actions = (endpoint.faults?.active?.injector.records ?? []).compactMap(\.action)
                #expect(actions.count == 3 && actions.allSatisfy { $0.hasPrefix("delay 0.4") || $0.hasPrefix("delay 0.5") }, "\(actions)")
            }
        }
    }

    @Test("bandwidth: a 256 KiB GetObject at 256 KiB/s takes about a second")
    func bandwidth() async throws {
        let yaml = """
            faults:
              - kind: endpoint-outage
                window: always
                select: {service: s3, operation: GetObject}
                effect: bandwidth
                bytes-per-second: 256KiB
            """
        try await withEmulator(try Self.configuration(yaml)) { endpoint in
            try await TestEmulator.withHTTPClient { http in
                let s3 = try Self.s3(http, endpoint, retry: .disabled)
                let bytes = TestEmulator.bytes(count: 256 * 1024, seed: 9)
                _ = try await s3.putObject(bucket: "raw", key: "b.bin", body: TestEmulator.buffer(bytes))
                let clock = ContinuousClock()
                let start = clock.now
                var body = try await s3.getObject(bucket: "raw", key: "b.bin").body.collect(upTo: 1 << 20)
                let elapsed = clock.now - start
                #expect(body.readBytes(length: body.readableBytes) == bytes)
                // At least the paced second; the upper bound is a sanity check only (a loaded CI machine has
                // stretched this second to seven).
                #expect(elapsed >= .milliseconds(850) && elapsed < .seconds(30), "\(elapsed)")
            }
        }
    }

    @Test("slicing: an answer moves in slices with a pause between them; the bytes arrive intact")
    func slicing() async throws {
        let yaml = """
            faults:
              - kind: endpoint-outage
                window: always
                select: {service: s3, operation: GetObject}
                effect: slicing
                slice-bytes: 1024
                slice-delay: 100ms
            """
        try await withEmulator(try Self.configuration(yaml)) { endpoint in
            try await TestEmulator.withHTTPClient { http in
                let s3 = try Self.s3(http, endpoint, retry: .disabled)
                let bytes = TestEmulator.bytes(count: 6 * 1024, seed: 4)
                _ = try await s3.putObject(bucket: "raw", key: "s.bin", body: TestEmulator.buffer(bytes))
                let clock = ContinuousClock()
                let start = clock.now
                var body = try await s3.getObject(bucket: "raw", key: "s.bin").body.collect(upTo: 1 << 20)
                let elapsed = clock.now - start
                #expect(body.readBytes(length: body.readableBytes) == bytes)
                #expect(elapsed >= .milliseconds(450) && elapsed < .seconds(30), "6 slices, 100 ms apart: \(elapsed)")
            }
        }
    }

    // MARK: ledger-throttling

    @Test("ledger-throttling: the workflow's ledger write is throttled, retried (workflow retries, ledger errors) and the job still SUCCEEDS; the DynamoDB API answers ProvisionedThroughputExceededException")
    func ledgerThrottling() async throws {
        let yaml = """
            faults:
              - kind: ledger-throttling
                window: always
                select: {operation: [PutItem, UpdateItem]}
                every: 2
            """
        var configuration = TestPipeline.emulator(try TestPipeline.configuration())
        configuration.faults = .startingNow(try Self.plan(yaml), source: "test.yaml")
        try await TestPipeline.withClients(configuration) { clients, endpoint in
            let schema = try TestPipeline.schema("customers")
            let (input, _) = try TestPipeline.generate(schema, seed: 3, rows: 50)
            _ = try await clients.s3.putObject(bucket: "raw", key: "in/throttled.csv", body: ByteBuffer(bytes: input))
            let event = try await TestPipeline.event(for: "in/throttled.csv", endpoint)
            let record = try await TestPipeline.waitForTerminal(clients.dynamoDB, event)
            #expect(record.status == .succeeded, "\(record)")
            let health = try await TestPipeline.health(endpoint)
            #expect((health["counters"]?["ledger_errors"]?.intValue ?? 0) >= 1, "\(health)")
            #expect((health["counters"]?["workflow_retries"]?.intValue ?? 0) >= 1, "\(health)")
            // On the wire: a throttled PutItem is retried by the client (throttling) and succeeds.
            let before = clients.dynamoDB.retryStatistics.snapshot().retries(for: .throttling)
            for index in 0..<2 {
                _ = try await clients.dynamoDB.putItem(table: JobLedger.defaultTableName, item: ["jobId": .s("probe-\(index)")])
            }
            #expect(clients.dynamoDB.retryStatistics.snapshot().retries(for: .throttling) > before)
            let injected = (endpoint.faults?.active?.injector.records ?? []).filter { $0.event == .injected }
            #expect(injected.allSatisfy { $0.action == "respond 400 ProvisionedThroughputExceededException" })
            #expect(injected.count >= 2)
        }
    }

    // MARK: Hook points

    @Test("duplicate-delivery every: 3 duplicates exactly the 3rd and 6th event, although the event bus also asks about each event's target invocation")
    func everyNthAcrossTheBusHooks() async throws {
        let yaml = """
            faults:
              - {kind: duplicate-delivery, window: always, every: 3}
            """
        var configuration = TestPipeline.emulator(try TestPipeline.configuration())
        configuration.faults = .startingNow(try Self.plan(yaml), source: "test.yaml")
        try await TestPipeline.withClients(configuration) { clients, endpoint in
            let schema = try TestPipeline.schema("customers")
            for index in 1...6 {
                let (input, _) = try TestPipeline.generate(schema, seed: UInt64(index), rows: 20)
                let key = "in/every-\(index).csv"
                _ = try await clients.s3.putObject(bucket: "raw", key: key, body: ByteBuffer(bytes: input))
                let event = try await TestPipeline.event(for: key, endpoint)
                let record = try await TestPipeline.waitForTerminal(clients.dynamoDB, event)
                #expect(record.status == .succeeded, "\(record)")
            }
            let injected = (endpoint.faults?.active?.injector.records ?? []).filter { $0.event == .injected }
            #expect(injected.map(\.key) == ["in/every-3.csv", "in/every-6.csv"])
            let health = try await TestPipeline.health(endpoint)
            #expect(health["counters"]?["events_duplicated"]?.intValue == 2, "\(health)")
            #expect(endpoint.faults?.active?.injector.statistics.map(\.matched) == [6])
        }
    }

    @Test("The pipeline hooks built from a plan ask only about what they act on: a target failure every 2nd attempt and a duplicate every 3rd event keep their cadence")
    func pipelineHooksKeepEachCadence() throws {
        let injector = try Self.plan("""
            faults:
              - {kind: event-delivery-failure, window: always, every: 2}
              - {kind: duplicate-delivery, window: always, every: 3}
              - {kind: task-failure, window: always, every: 2, exit-code: 3}
            """)
        let hooks = PipelineFaultHooks.from(injector, elapsed: { .zero })
        var duplicated: [Int] = []
        var failedAttempts: [Int] = []
        var failedTasks: [Int] = []
        var attempt = 0
        for index in 1...6 {
            let event = ObjectCreatedEvent(
                time: Date(), region: "us-east-1", account: "000000000000", bucket: "raw", key: "in/\(index).csv", size: 1, etag: "e",
                versionId: nil, sequencer: String(format: "%018X", index), requestId: "r", reason: .putObject, requester: "x", sourceIPAddress: "127.0.0.1"
            )
            if hooks.delivery?(event)?.duplicate == true { duplicated.append(index) }
            for _ in 0..<2 {
                attempt += 1
                if hooks.eventTarget?(event) != nil { failedAttempts.append(attempt) }
            }
            if hooks.task?(event.bucket, event.key) != nil { failedTasks.append(index) }
        }
        #expect(duplicated == [3, 6])
        #expect(failedAttempts == [2, 4, 6, 8, 10, 12])
        #expect(failedTasks == [2, 4, 6])
    }

    // MARK: /_csvstorm/faults

    @Test("A plan POSTed to /_csvstorm/faults changes behaviour at once and is recorded; GET reports it; DELETE removes it; unsigned requests are refused")
    func appliedOverHTTP() async throws {
        try await withEmulator(try Self.configuration(nil)) { endpoint in
            try await TestEmulator.withHTTPClient { http in
                let s3 = try Self.s3(http, endpoint, retry: .disabled)
                let control = Self.control(http, endpoint)
                _ = try await s3.putObject(bucket: "raw", key: "before.txt", body: ByteBuffer(string: "ok"))
                #expect(try await control.status().document["active"]?.boolValue == false)
                let yaml = """
                    seed: 11
                    faults:
                      - kind: endpoint-outage
                        window: {at: 0s, duration: 1h}
                        select: {service: s3, operation: PutObject, key: "blocked/*"}
                        effect: status-503
                    """
                // Unsigned, or signed with the wrong secret: refused, nothing changes.
                let unsigned = try await control.send("POST", query: nil, body: Array(yaml.utf8), signed: false)
                #expect(unsigned.status == 400 || unsigned.status == 403, "\(unsigned.document)")
                let wrong = try await Self.control(http, endpoint, secret: "not-the-secret").apply(yaml: yaml, file: "p.yaml")
                #expect(wrong.status == 400 || wrong.status == 403, "\(wrong.document)")
                #expect(try await control.status().document["active"]?.boolValue == false)

                let applied = try await control.apply(yaml: yaml, file: "p.yaml")
                #expect(applied.status == 200, "\(applied.document)")
                #expect(applied.document["active"]?.boolValue == true)
                let error = await #expect(throws: AWSError.self) { _ = try await s3.putObject(bucket: "raw", key: "blocked/a.txt", body: ByteBuffer(string: "no")) }
                #expect(error?.code == "SlowDown")
                #expect(error?.statusCode == 503)
                _ = try await s3.putObject(bucket: "raw", key: "open/a.txt", body: ByteBuffer(string: "yes"))

                let status = try await control.status().document
                #expect(status["source"]?.stringValue == "p.yaml")
                #expect(status["seed"]?.stringValue == "11")
                #expect(status["openWindows"]?.arrayValue?.count == 1)
                #expect(status["faults"]?.arrayValue?.first?["injected"]?.intValue == 1)
                #expect(status["faults"]?.arrayValue?.first?["source"]?.stringValue == "p.yaml:3:5")
                let records = status["records"]?.arrayValue ?? []
                #expect(records.contains { $0["type"]?.stringValue == "fault-window-opened" })
                let injected = try #require(records.first { $0["type"]?.stringValue == "fault-injected" })
                #expect(injected["key"]?.stringValue == "blocked/a.txt")
                #expect(injected["action"]?.stringValue == "respond 503 SlowDown")
                #expect(status["nextRecord"]?.intValue == records.count)

                let cleared = try await control.clear()
                #expect(cleared.status == 200)
                #expect(cleared.document["cleared"]?.boolValue == true)
                #expect(cleared.document["injected"]?.intValue == 1)
                _ = try await s3.putObject(bucket: "raw", key: "blocked/a.txt", body: ByteBuffer(string: "now yes"))
                #expect(try await control.status().document["active"]?.boolValue == false)
            }
        }
    }

    @Test("An invalid plan POSTed gets 400 with file:line:column and leaves the plan in force unchanged")
    func invalidPlanRejected() async throws {
        let good = """
            faults:
              - kind: endpoint-outage
                window: always
                select: {service: s3, operation: DeleteObject}
                effect: status-500
            """
        try await withEmulator(try Self.configuration(nil)) { endpoint in
            try await TestEmulator.withHTTPClient { http in
                let control = Self.control(http, endpoint)
                #expect(try await control.apply(yaml: good, file: "good.yaml").status == 200)
                let bad = """
                    seed: 1
                    faults:
                      - kind: task-fail
                        window: always
                    """
                let answer = try await control.apply(yaml: bad, file: "bad.yaml")
                #expect(answer.status == 400)
                #expect(answer.document["__type"]?.stringValue == "InvalidFaultPlan")
                let message = try #require(answer.message)
                #expect(message.hasPrefix("bad.yaml:3:"), "\(message)")
                #expect(message.contains("unknown fault kind 'task-fail'"), "\(message)")
                #expect(message.contains("task-failure"), "lists the valid kinds: \(message)")
                #expect(answer.document["line"]?.intValue == 3)
                #expect(answer.document["column"]?.intValue != nil)
                let status = try await control.status().document
                #expect(status["source"]?.stringValue == "good.yaml", "the earlier plan stays in force")
            }
        }
    }

    // MARK: pipeline-restart

    @Test("pipeline-restart: an execution in flight resumes after the downtime and ends SUCCEEDED; an event arriving meanwhile waits in the outbox and is processed after")
    func pipelineRestart() async throws {
        let pipeline = PipelineConfiguration(
            launcher: .init(launchLatency: .fixed(0)),
            // A 6 s task: long enough that a loaded machine still applies the restart while it runs.
            processor: .init(schemas: [try TestPipeline.schema("customers")], duration: .fixed(6)),
            timeScale: 1
        )
        try await TestPipeline.withClients(TestPipeline.emulator(pipeline)) { clients, endpoint in
            let emulated = try #require(endpoint.pipeline)
            let faults = try #require(endpoint.faults)
            let schema = try TestPipeline.schema("customers")
            let (first, _) = try TestPipeline.generate(schema, seed: 21, rows: 100)
            _ = try await clients.s3.putObject(bucket: "raw", key: "in/first.csv", body: ByteBuffer(bytes: first))
            let firstEvent = try await TestPipeline.event(for: "in/first.csv", endpoint)
            // Wait until its task runs, then restart the pipeline with 2 s downtime.
            let clock = ContinuousClock()
            let deadline = clock.now + .seconds(20)
            var running: JSONValue?
            while clock.now < deadline {
                let page = try await TestPipeline.control(endpoint, "/_csvstorm/executions?status=RUNNING")
                if let execution = page["executions"]?.arrayValue?.first, execution["taskRunningAt"] != nil {
                    running = execution
                    break
                }
                try await Task.sleep(for: .milliseconds(20))
            }
            let inFlight = try #require(running?["executionId"]?.stringValue, "the first execution never reached its task")
            faults.apply(.startingNow(try Self.plan("faults:\n  - kind: pipeline-restart\n    at: 0s\n    downtime: 2s\n"), source: "restart.yaml"))
            // The restart happens however late the supervisor runs; a loaded machine may take a while.
            let downDeadline = clock.now + .seconds(30)
            while !emulated.isDown, clock.now < downDeadline { try await Task.sleep(for: .milliseconds(10)) }
            #expect(emulated.isDown)

            // An event arriving while the pipeline is down stays pending in the outbox.
            let (second, _) = try TestPipeline.generate(schema, seed: 22, rows: 100)
            _ = try await clients.s3.putObject(bucket: "raw", key: "in/second.csv", body: ByteBuffer(bytes: second))
            let deliveredWhileDown = endpoint.events.events.contains { $0.key == "in/second.csv" }
            if emulated.isDown {
                #expect(!deliveredWhileDown, "the pipeline refused the event while down")
            }

            let firstRecord = try await TestPipeline.waitForTerminal(clients.dynamoDB, firstEvent)
            #expect(firstRecord.status == .succeeded, "\(firstRecord)")
            #expect(firstRecord.executionId == inFlight, "the execution in flight finished the job, not a new one")
            let detail = try await TestPipeline.control(endpoint, "/_csvstorm/executions/\(inFlight)")
            #expect(detail["status"]?.stringValue == "SUCCEEDED")
            let types = (detail["history"]?.arrayValue ?? []).compactMap { $0["type"]?.stringValue }
            #expect(types.contains("ExecutionResumed"), "\(types)")

            let secondEvent = try await TestPipeline.event(for: "in/second.csv", endpoint)
            let secondRecord = try await TestPipeline.waitForTerminal(clients.dynamoDB, secondEvent)
            #expect(secondRecord.status == .succeeded, "\(secondRecord)")
            #expect(!emulated.isDown)

            let health = try await TestPipeline.health(endpoint)
            #expect((health["counters"]?["executions_resumed"]?.intValue ?? 0) >= 1, "\(health)")
            let records = faults.active?.injector.records ?? []
            #expect(records.contains { $0.event == .windowOpened && $0.kind == .pipelineRestart })
            #expect(records.contains { $0.event == .windowClosed && $0.kind == .pipelineRestart })
        }
    }

    @Test("pipeline-restart seen after its window (a busy machine): the pipeline still stops, for its whole downtime, once")
    func lateRestartStillHappensOnce() async throws {
        let pipeline = PipelineConfiguration(processor: .init(schemas: [try TestPipeline.schema("customers")]), timeScale: 1)
        try await TestPipeline.withClients(TestPipeline.emulator(pipeline)) { _, endpoint in
            let emulated = try #require(endpoint.pipeline)
            let faults = try #require(endpoint.faults)
            // The plan's clock already reads 10 s: the restart at 1 s (down until 2.5 s) is in the past
            // when the supervisor first looks, as if it had been starved of a thread for 8.5 s.
            let clock = ContinuousClock()
            let start = clock.now
            let injector = try Self.plan("faults:\n  - kind: pipeline-restart\n    at: 1s\n    downtime: 1500ms\n")
            faults.apply(FaultInjection(injector: injector, source: "late.yaml") { clock.now - start + .seconds(10) })

            let downDeadline = clock.now + .seconds(30)
            while !emulated.isDown, clock.now < downDeadline { try await Task.sleep(for: .milliseconds(5)) }
            try #require(emulated.isDown, "a restart whose window passed before the supervisor saw it was skipped")

            let upDeadline = clock.now + .seconds(30)
            while emulated.isDown, clock.now < upDeadline { try await Task.sleep(for: .milliseconds(5)) }
            #expect(!emulated.isDown)
            // It stopped after `start`, so a whole downtime ends at least 1.5 s after it (a stop that
            // counted its downtime on the plan's clock would end at once: the window closed at 2.5 s).
            #expect(clock.now - start >= .milliseconds(1500), "down for the whole downtime, from when it stopped")

            // Once: it does not stop again.
            let quiet = clock.now + .seconds(1)
            while clock.now < quiet {
                #expect(!emulated.isDown, "the restart was carried out a second time")
                if emulated.isDown { break }
                try await Task.sleep(for: .milliseconds(5))
            }
        }
    }

    @Test("GET /_csvstorm/faults reports the pipeline's state, not the plan's window; clearing the plan ends a downtime at once")
    func statusShowsThePipelinesStateAndClearingEndsDowntime() async throws {
        let pipeline = PipelineConfiguration(processor: .init(schemas: [try TestPipeline.schema("customers")]), timeScale: 1)
        try await TestPipeline.withClients(TestPipeline.emulator(pipeline)) { _, endpoint in
            let emulated = try #require(endpoint.pipeline)
            let faults = try #require(endpoint.faults)
            // A plan clock stopped at 700 s: the restart's window (1 s to 601 s) has closed, so the
            // plan says "up" while the late restart holds the pipeline down for 600 s.
            let injector = try Self.plan("faults:\n  - kind: pipeline-restart\n    at: 1s\n    downtime: 600s\n")
            faults.apply(FaultInjection(injector: injector, source: "late.yaml") { .seconds(700) })
            let clock = ContinuousClock()
            let downDeadline = clock.now + .seconds(30)
            while !emulated.isDown, clock.now < downDeadline { try await Task.sleep(for: .milliseconds(5)) }
            try #require(emulated.isDown)
            let status = try await TestPipeline.control(endpoint, "/_csvstorm/faults")
            #expect(status["pipelineDown"]?.boolValue == true, "\(status)")
            #expect(status["openWindows"]?.arrayValue?.isEmpty == true, "the plan's window is closed: \(status)")

            faults.clear()
            let upDeadline = clock.now + .seconds(30)
            while emulated.isDown, clock.now < upDeadline { try await Task.sleep(for: .milliseconds(5)) }
            #expect(!emulated.isDown, "clearing the plan ends the downtime")
        }
    }
}
