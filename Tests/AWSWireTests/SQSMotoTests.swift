import TestSupport
import AWSWire
import AsyncHTTPClient
import Foundation
import Testing

/// The SQS client (JSON protocol) against moto_server on 127.0.0.1.
@Suite(
    "SQS client against moto",
    .enabled(if: MotoServer.isAvailable, MotoServer.unavailableReason),
    .serialized,
    .timeLimit(.minutes(3))
)
struct SQSMotoTests {
    static func client(_ http: HTTPClient, _ server: MotoServer) throws -> SQSClient {
        SQSClient(
            httpClient: http,
            credentials: AWSCredentials(accessKeyId: "test", secretAccessKey: "test"),
            configuration: .init(endpoint: try S3Endpoint(url: server.endpoint), retry: RetryConfiguration(baseDelay: .milliseconds(5), jitterSeed: 1))
        )
    }

    @Test func sendReceiveDeleteAndAttributes() async throws {
        try await withMotoServer { server in
            try await withTestHTTPClient { http in
                let sqs = try Self.client(http, server)
                await #expect {
                    try await sqs.getQueueUrl("retry-queue")
                } throws: { ($0 as? AWSError)?.code == .queueDoesNotExist }

                let created = try await sqs.createQueue("retry-queue", attributes: ["VisibilityTimeout": "30"])
                let url = try await sqs.getQueueUrl("retry-queue")
                #expect(url == created)

                let attributes: [String: SQSMessageAttribute] = [
                    "RULE_ARN": .init(string: "arn:aws:events:us-east-1:000000000000:rule/raw-created"),
                    "RETRY_ATTEMPTS": .init(string: "185"),
                    "COUNT": .init(number: 3),
                    "BLOB": .init(binary: [0, 1, 2, 250]),
                ]
                // sendMessage checks moto's MD5OfMessageBody and MD5OfMessageAttributes against ours.
                let sent = try await sqs.sendMessage(queueURL: url, body: #"{"detail-type":"Object Created"}"#, attributes: attributes)
                #expect(sent.md5OfMessageAttributes == SQSMessageDigest.md5(ofAttributes: attributes))
                try await sqs.sendMessage(queueURL: url, body: "second")

                var queueAttributes = try await sqs.getQueueAttributes(queueURL: url)
                #expect(queueAttributes["ApproximateNumberOfMessages"] == "2")
                #expect(queueAttributes["QueueArn"]?.hasSuffix(":retry-queue") == true)

                let received = try await sqs.receiveMessage(queueURL: url, maxMessages: 10, waitSeconds: 1)
                #expect(received.count == 2)
                let first = try #require(received.first { $0.messageId == sent.messageId })
                #expect(first.messageAttributes == attributes)
                #expect(first.attributes["ApproximateReceiveCount"] == "1")

                queueAttributes = try await sqs.getQueueAttributes(
                    queueURL: url, names: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
                )
                #expect(queueAttributes["ApproximateNumberOfMessages"] == "0")
                #expect(queueAttributes["ApproximateNumberOfMessagesNotVisible"] == "2")

                for m in received { try await sqs.deleteMessage(queueURL: url, receiptHandle: m.receiptHandle) }
                queueAttributes = try await sqs.getQueueAttributes(queueURL: url)
                #expect(queueAttributes["ApproximateNumberOfMessagesNotVisible"] == "0")

                try await sqs.sendMessage(queueURL: url, body: "to purge")
                try await sqs.purgeQueue(queueURL: url)
                #expect(try await sqs.receiveMessage(queueURL: url, waitSeconds: 0).isEmpty)
            }
        }
    }
}
