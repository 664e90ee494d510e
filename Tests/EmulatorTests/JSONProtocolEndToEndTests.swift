import AWSWire
import AsyncHTTPClient
import Emulator
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import TestSupport
import Testing

/// The DynamoDB and SQS handlers behind a minimal NIOHTTP1 server on 127.0.0.1 (the endpoint
/// mounts them the same way: POST / with X-Amz-Target → ``JSONProtocolRouter``), driven by
/// csvstorm's own clients, boto3 and the aws CLI, all SigV4-verified.
@Suite("JSON protocol end to end", .serialized, .timeLimit(.minutes(3)))
struct JSONProtocolEndToEndTests {
    static let credentials = AWSCredentials(accessKeyId: "csvstorm", secretAccessKey: "csvstorm-secret")

    /// Runs `body` with the router served on a free port; the server stops afterwards.
    static func withServer(_ body: @Sendable (Int, String) async throws -> Void) async throws {
        try await withLedgerTemporaryDirectory { dir in
            let now: @Sendable () -> Date = { Date() }
            let router = JSONProtocolRouter(
                dynamoDB: DynamoDBHandler(store: try DynamoDBItemStore(path: dir + "/ledger.sqlite", now: now)),
                sqs: SQSHandler(store: try QueueStore(path: dir + "/queue.sqlite", now: now)),
                secretAccessKey: { $0 == Self.credentials.accessKeyId ? Self.credentials.secretAccessKey : nil }
            )
            let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .bind(host: "127.0.0.1", port: 0) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                        return try NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>(wrappingChannelSynchronously: channel)
                    }
                }
            let port = try #require(server.channel.localAddress?.port)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    try await withThrowingDiscardingTaskGroup { connections in
                        try await server.executeThenClose { inbound in
                            for try await connection in inbound {
                                connections.addTask {
                                    try? await Self.serve(connection, router: router)
                                }
                            }
                        }
                    }
                }
                try await body(port, dir)
                group.cancelAll()
            }
        }
    }

    static func serve(_ connection: NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>, router: JSONProtocolRouter) async throws {
        try await connection.executeThenClose { inbound, outbound in
            var head: HTTPRequestHead?
            var body = ByteBuffer()
            for try await part in inbound {
                switch part {
                case .head(let h):
                    head = h
                    body.clear()
                case .body(var b):
                    body.writeBuffer(&b)
                case .end:
                    guard let h = head else { continue }
                    let split = h.uri.split(separator: "?", maxSplits: 1)
                    let response = await router.handle(
                        method: h.method.rawValue,
                        path: split.first.map(String.init) ?? "/",
                        query: split.count > 1 ? String(split[1]) : nil,
                        headers: h.headers.map { (name: $0.name, value: $0.value) },
                        body: Array(body.readableBytesView)
                    )
                    var responseHead = HTTPResponseHead(version: h.version, status: .init(statusCode: response.status))
                    for x in response.headers { responseHead.headers.add(name: x.name, value: x.value) }
                    responseHead.headers.add(name: "Content-Length", value: String(response.body.count))
                    try await outbound.write(.head(responseHead))
                    try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: response.body))))
                    try await outbound.write(.end(nil))
                }
            }
        }
    }

    @Test func ownClientsWithSignatureVerification() async throws {
        try await Self.withServer { port, _ in
            let http = HTTPClient(eventLoopGroupProvider: .singleton)
            do {
                let endpoint = try S3Endpoint(url: "http://127.0.0.1:\(port)")
                let retry = RetryConfiguration(baseDelay: .milliseconds(5), jitterSeed: 1)
                let ddb = DynamoDBClient(httpClient: http, credentials: Self.credentials, configuration: .init(endpoint: endpoint, retry: retry))
                try await ddb.createTable("jobs", partitionKey: "jobId")
                try await ddb.putItem(table: "jobs", item: ["jobId": .s("raw/a#1"), "status": .s("RUNNING")], condition: "attribute_not_exists(jobId)")
                await #expect {
                    try await ddb.putItem(table: "jobs", item: ["jobId": .s("raw/a#1")], condition: "attribute_not_exists(jobId)")
                } throws: { ($0 as? AWSError)?.code == .conditionalCheckFailed }
                for i in 0..<5 { try await ddb.putItem(table: "jobs", item: ["jobId": .s("raw/b#\(i)")]) }
                #expect(try await ddb.scanAll(table: "jobs", pageSize: 2).count == 6)
                #expect(try await ddb.describeTable("jobs").itemCount == 6)
                #expect(try await ddb.listTables() == ["jobs"])
                let deleted = try await ddb.deleteItem(table: "jobs", key: ["jobId": .s("raw/b#0")], condition: "attribute_exists(jobId)", returnOldValues: true)
                #expect(deleted?["jobId"] == .s("raw/b#0"))
                await #expect {
                    try await ddb.deleteItem(table: "jobs", key: ["jobId": .s("raw/b#0")], condition: "attribute_exists(jobId)")
                } throws: { ($0 as? AWSError)?.code == .conditionalCheckFailed }

                let sqs = SQSClient(httpClient: http, credentials: Self.credentials, configuration: .init(endpoint: endpoint, retry: retry))
                let url = try await sqs.createQueue("retry")
                try await sqs.sendMessage(queueURL: url, body: "event", attributes: ["RULE_ARN": .init(string: "arn:r"), "N": .init(number: 1)])
                let messages = try await sqs.receiveMessage(queueURL: url, maxMessages: 10, waitSeconds: 1)
                #expect(messages.map(\.body) == ["event"])
                try await sqs.deleteMessage(queueURL: url, receiptHandle: messages[0].receiptHandle)
                #expect(try await sqs.getQueueAttributes(queueURL: url)["ApproximateNumberOfMessages"] == "0")
                let dead = DeadLetterMessage(
                    eventJSON: "{}", ruleARN: "arn:rule", targetARN: "arn:target", errorCode: "ThrottlingException",
                    errorMessage: "Rate exceeded", exhaustedRetryCondition: .maximumRetryAttempts, retryAttempts: 3
                )
                try await sqs.sendMessage(queueURL: url, deadLetter: dead)
                let back = try await sqs.receiveMessage(queueURL: url, waitSeconds: 1)
                #expect(back.first.flatMap(DeadLetterMessage.init) == dead)

                let wrong = DynamoDBClient(
                    httpClient: http, credentials: AWSCredentials(accessKeyId: "csvstorm", secretAccessKey: "wrong"),
                    configuration: .init(endpoint: endpoint, retry: retry)
                )
                await #expect {
                    try await wrong.describeTable("jobs")
                } throws: { ($0 as? AWSError)?.code == "InvalidSignatureException" }
                try await http.shutdown()
            } catch {
                try? await http.shutdown()
                throw error
            }
        }
    }

    /// What a person does with the real tools: boto3 (conditional put → ConditionalCheckFailedException,
    /// paginated scan, SQS with message attributes and QueueDoesNotExist) and the aws CLI.
    @Test(.enabled(if: Self.python != nil, "python3 with boto3 is not installed"))
    func boto3AndAWSCLI() async throws {
        try await Self.withServer { port, dir in
            let script = """
                import boto3, botocore, json, sys
                kw = dict(endpoint_url="http://127.0.0.1:\(port)", region_name="us-east-1",
                          aws_access_key_id="csvstorm", aws_secret_access_key="csvstorm-secret")
                ddb = boto3.client("dynamodb", **kw)
                ddb.create_table(TableName="jobs", KeySchema=[{"AttributeName": "jobId", "KeyType": "HASH"}],
                                 AttributeDefinitions=[{"AttributeName": "jobId", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
                ddb.put_item(TableName="jobs", Item={"jobId": {"S": "raw/a#1"}, "status": {"S": "RUNNING"}, "attempts": {"N": "0"}},
                             ConditionExpression="attribute_not_exists(jobId)")
                try:
                    ddb.put_item(TableName="jobs", Item={"jobId": {"S": "raw/a#1"}}, ConditionExpression="attribute_not_exists(jobId)")
                    sys.exit("duplicate put succeeded")
                except ddb.exceptions.ConditionalCheckFailedException:
                    pass
                r = ddb.update_item(TableName="jobs", Key={"jobId": {"S": "raw/a#1"}}, UpdateExpression="SET #s = :d ADD attempts :one",
                                    ConditionExpression="#s = :r", ExpressionAttributeNames={"#s": "status"},
                                    ExpressionAttributeValues={":d": {"S": "SUCCEEDED"}, ":one": {"N": "1"}, ":r": {"S": "RUNNING"}},
                                    ReturnValues="ALL_NEW")
                assert r["Attributes"]["status"] == {"S": "SUCCEEDED"}, r
                for i in range(5):
                    ddb.put_item(TableName="jobs", Item={"jobId": {"S": f"raw/b#{i}"}})
                items = [i for p in ddb.get_paginator("scan").paginate(TableName="jobs", PaginationConfig={"PageSize": 2}) for i in p["Items"]]
                assert len(items) == 6, items
                assert ddb.describe_table(TableName="jobs")["Table"]["TableStatus"] == "ACTIVE"
                try:
                    ddb.describe_table(TableName="missing")
                    sys.exit("missing table found")
                except ddb.exceptions.ResourceNotFoundException:
                    pass

                sqs = boto3.client("sqs", **kw)
                try:
                    sqs.get_queue_url(QueueName="retry")
                    sys.exit("missing queue found")
                except sqs.exceptions.QueueDoesNotExist:
                    pass
                url = sqs.create_queue(QueueName="retry")["QueueUrl"]
                sqs.send_message(QueueUrl=url, MessageBody='{"detail-type":"Object Created"}',
                                 MessageAttributes={"RULE_ARN": {"DataType": "String", "StringValue": "arn:aws:events:us-east-1:0:rule/r"},
                                                    "RETRY_ATTEMPTS": {"DataType": "Number", "StringValue": "3"},
                                                    "BLOB": {"DataType": "Binary", "BinaryValue": b"\\x00\\x01"}})
                m = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1, MessageAttributeNames=["All"])["Messages"]
                assert len(m) == 1 and m[0]["MessageAttributes"]["BLOB"]["BinaryValue"] == b"\\x00\\x01", m
                a = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessagesNotVisible"])["Attributes"]
                assert a == {"ApproximateNumberOfMessagesNotVisible": "1"}, a
                sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=m[0]["ReceiptHandle"], VisibilityTimeout=0)
                sqs.send_message(QueueUrl=url, MessageBody="second")
                print("ok")
                """
            try await Self.run([Self.python!, "-c", script], environment: [:])
            // The aws CLI (v1, botocore JSON protocols).
            let env = [
                "AWS_ACCESS_KEY_ID": "csvstorm", "AWS_SECRET_ACCESS_KEY": "csvstorm-secret", "AWS_DEFAULT_REGION": "us-east-1",
                "AWS_CONFIG_FILE": dir + "/none", "AWS_SHARED_CREDENTIALS_FILE": dir + "/none",
            ]
            let endpoint = "http://127.0.0.1:\(port)"
            let item = try await Self.run(["aws", "dynamodb", "get-item", "--endpoint-url", endpoint, "--table-name", "jobs",
                                     "--key", #"{"jobId":{"S":"raw/a#1"}}"#, "--output", "json"], environment: env)
            #expect(item.contains("SUCCEEDED"))
            let scan = try await Self.run(["aws", "dynamodb", "scan", "--endpoint-url", endpoint, "--table-name", "jobs", "--page-size", "2",
                                     "--output", "json"], environment: env)
            #expect(try JSONValue.parse(Array(scan.utf8))["Count"] == 6)
            let received = try await Self.run(["aws", "sqs", "receive-message", "--endpoint-url", endpoint, "--queue-url", endpoint + "/000000000000/retry",
                                         "--max-number-of-messages", "10", "--message-attribute-names", "All", "--output", "json"], environment: env)
            let messages = try JSONValue.parse(Array(received.utf8))["Messages"]?.arrayValue ?? []
            #expect(messages.count == 2)
        }
    }

    static let python: String? = {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", "import sys, boto3; print(sys.executable)"]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        do { try p.run() } catch { return nil }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { return nil }
        let path = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return path.isEmpty ? nil : path
    }()

    /// Runs a command (through /usr/bin/env), returns stdout; throws with stderr on failure.
    /// Waits without blocking a thread (``runChildProcess``): a blocked cooperative thread starves
    /// the other suites' emulators, whose timers then fire late.
    @discardableResult
    static func run(_ arguments: [String], environment: [String: String]) async throws -> String {
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        let result = try await runChildProcess("/usr/bin/env", arguments, environment: env, timeout: .seconds(300))
        guard result.status == 0 else {
            let err = String(decoding: result.stderr, as: UTF8.self)
            throw CommandFailure(description: "\(arguments.prefix(3).joined(separator: " ")) exited \(result.status): \(err.suffix(2000))")
        }
        return String(decoding: result.stdout, as: UTF8.self)
    }

    struct CommandFailure: Error, CustomStringConvertible {
        var description: String
    }
}
