import TestSupport
import AsyncHTTPClient
import Foundation
import Testing

@testable import AWSWire

/// The DynamoDB and SQS clients against a scripted loopback server: throttling retried (each
/// attempt signed anew), conditional failures not retried, and what goes on the wire.
@Suite("DynamoDB/SQS clients: retries and wire format", .timeLimit(.minutes(1)))
struct DynamoDBClientRetryTests {
    static let credentials = AWSCredentials(accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    static let retry = RetryConfiguration(baseDelay: .milliseconds(1), jitterSeed: 42)

    static func withServer<T>(script: [ScriptedHTTPServer.Reply], _ body: (HTTPClient, ScriptedHTTPServer) async throws -> T) async throws -> T {
        let server = try await ScriptedHTTPServer.start(script: script)
        do {
            let result = try await withTestHTTPClient { http in try await body(http, server) }
            await server.stop()
            return result
        } catch {
            await server.stop()
            throw error
        }
    }

    static let throttled = ScriptedHTTPServer.Reply.respond(
        status: 400, headers: [("Content-Type", "application/x-amz-json-1.0"), ("x-amzn-RequestId", "T1")],
        body: #"{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"Rate of requests exceeds the allowed throughput."}"#
    )

    @Test func throttlingIsRetriedAndEveryAttemptSigned() async throws {
        try await Self.withServer(script: [
            Self.throttled,
            .respond(status: 200, headers: [("Content-Type", "application/x-amz-json-1.0")], body: #"{"Item":{"jobId":{"S":"k"},"n":{"N":"3"}}}"#),
        ]) { http, server in
            let ddb = DynamoDBClient(
                httpClient: http, credentials: Self.credentials,
                configuration: .init(region: "eu-west-1", endpoint: try S3Endpoint(url: server.endpoint), retry: Self.retry)
            )
            let item = try await ddb.getItem(table: "jobs", key: ["jobId": .s("k")], consistentRead: true)
            #expect(item == ["jobId": .s("k"), "n": .n("3")])
            let requests = server.requests
            #expect(requests.count == 2)
            for r in requests {
                #expect(r.method == "POST")
                #expect(r.uri == "/")
                #expect(r.header("X-Amz-Target") == "DynamoDB_20120810.GetItem")
                #expect(r.header("Content-Type") == "application/x-amz-json-1.0")
                #expect(r.header("x-amz-content-sha256") == nil)
                let auth = try #require(r.header("Authorization"))
                #expect(auth.contains("/eu-west-1/dynamodb/aws4_request"))
                #expect(auth.contains("SignedHeaders=content-type;host;x-amz-date;x-amz-target"))
                let body = try JSONValue.parse(r.body)
                #expect(body == ["TableName": "jobs", "Key": ["jobId": ["S": "k"]], "ConsistentRead": true])
            }
            let stats = ddb.retryStatistics.snapshot()
            #expect(stats.retries == 1)
            #expect(stats.throttled == 1)
        }
    }

    @Test func conditionalCheckFailedIsTypedAndNotRetried() async throws {
        try await Self.withServer(script: [
            .respond(
                status: 400, headers: [("Content-Type", "application/x-amz-json-1.0"), ("x-amzn-RequestId", "R1")],
                body: #"{"__type":"com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException","message":"The conditional request failed"}"#
            )
        ]) { http, server in
            let ddb = DynamoDBClient(httpClient: http, credentials: Self.credentials, configuration: .init(endpoint: try S3Endpoint(url: server.endpoint), retry: Self.retry))
            do {
                try await ddb.putItem(table: "jobs", item: ["jobId": .s("k")], condition: "attribute_not_exists(jobId)")
                Issue.record("expected ConditionalCheckFailedException")
            } catch let error as AWSError {
                #expect(error.code == .conditionalCheckFailed)
                #expect(error.message == "The conditional request failed")
                #expect(error.requestId == "R1")
                #expect(error.statusCode == 400)
            }
            #expect(server.requests.count == 1)
        }
    }

    @Test func sqsQueryCompatibleErrorAndMD5Check() async throws {
        try await Self.withServer(script: [
            .respond(
                status: 400,
                headers: [("Content-Type", "application/x-amz-json-1.0"), ("x-amzn-query-error", "AWS.SimpleQueueService.NonExistentQueue;Sender")],
                body: #"{"__type":"com.amazonaws.sqs#QueueDoesNotExist","message":"The specified queue does not exist."}"#
            ),
            // A corrupted body: the MD5 no longer matches.
            .respond(
                status: 200, headers: [("Content-Type", "application/x-amz-json-1.0")],
                body: #"{"Messages":[{"MessageId":"m","ReceiptHandle":"h","Body":"tampered","MD5OfBody":"5d41402abc4b2a76b9719d911017c592"}]}"#
            ),
        ]) { http, server in
            let sqs = SQSClient(httpClient: http, credentials: Self.credentials, configuration: .init(endpoint: try S3Endpoint(url: server.endpoint), retry: Self.retry))
            await #expect {
                try await sqs.getQueueUrl("nope")
            } throws: { ($0 as? AWSError)?.code == .queueDoesNotExist }
            await #expect {
                try await sqs.receiveMessage(queueURL: "http://x/0/q", waitSeconds: 0)
            } throws: { ($0 as? AWSError)?.kind == .invalidResponse }
            #expect(server.requests.map { $0.header("X-Amz-Target") } == ["AmazonSQS.GetQueueUrl", "AmazonSQS.ReceiveMessage"])
            #expect(server.requests.allSatisfy { $0.header("Authorization")?.contains("/us-east-1/sqs/aws4_request") == true })
        }
    }
}
