import AWSWire
import Emulator
import Foundation
import Testing

@Suite("SQS JSON handler")
struct QueueSQSHandlerTests {
    func call(_ h: SQSHandler, _ op: String, _ body: JSONValue) async throws -> (Int, JSONValue, JSONProtocolResponse) {
        let r = await h.handle(target: "AmazonSQS.\(op)", body: body.serialized(), host: "localhost:1")
        return (r.status, try JSONValue.parse(r.body), r)
    }

    @Test func sendReceiveDeleteWithAttributes() async throws {
        try await withLedgerTemporaryDirectory { dir in
            let clock = LedgerTestClock()
            let h = SQSHandler(store: try QueueStore(path: dir + "/q.sqlite", now: clock.now))
            var (status, json, r) = try await call(h, "GetQueueUrl", ["QueueName": "retry"])
            #expect(status == 400)
            #expect(json["__type"] == "com.amazonaws.sqs#QueueDoesNotExist")
            #expect(r.header("x-amzn-query-error") == "AWS.SimpleQueueService.NonExistentQueue;Sender")

            (status, json, _) = try await call(h, "CreateQueue", ["QueueName": "retry", "Attributes": ["VisibilityTimeout": "10"]])
            let url = try #require(json["QueueUrl"]?.stringValue)
            #expect(url == "http://localhost:1/000000000000/retry")

            let dead = DeadLetterMessage(
                eventJSON: #"{"detail-type":"Object Created"}"#, ruleARN: "arn:aws:events:us-east-1:000000000000:rule/r",
                targetARN: "arn:aws:states:us-east-1:000000000000:stateMachine:sm", errorCode: "ThrottlingException",
                errorMessage: "Rate exceeded", exhaustedRetryCondition: .maximumRetryAttempts, retryAttempts: 185
            )
            try await h.sendDeadLetter(dead, queue: "retry")
            (status, json, _) = try await call(h, "GetQueueAttributes", ["QueueUrl": .string(url), "AttributeNames": ["All"]])
            #expect(json["Attributes"]?["ApproximateNumberOfMessages"] == "1")
            #expect(json["Attributes"]?["QueueArn"] == "arn:aws:sqs:us-east-1:000000000000:retry")

            (status, json, _) = try await call(h, "ReceiveMessage", ["QueueUrl": .string(url), "MaxNumberOfMessages": 10, "MessageAttributeNames": ["All"]])
            let messages = try #require(json["Messages"]?.arrayValue)
            #expect(messages.count == 1)
            let m = messages[0]
            #expect(m["MD5OfBody"]?.stringValue == SQSMessageDigest.md5(ofBody: dead.eventJSON))
            #expect(m["MD5OfMessageAttributes"]?.stringValue == SQSMessageDigest.md5(ofAttributes: dead.attributes))
            var attributes: [String: SQSMessageAttribute] = [:]
            for (k, v) in m["MessageAttributes"]?.objectValue ?? [:] { attributes[k] = SQSMessageAttribute(json: v) }
            #expect(DeadLetterMessage(body: m["Body"]?.stringValue ?? "", attributes: attributes) == dead)

            (status, json, _) = try await call(h, "GetQueueAttributes", ["QueueUrl": .string(url), "AttributeNames": ["ApproximateNumberOfMessagesNotVisible"]])
            #expect(json["Attributes"] == ["ApproximateNumberOfMessagesNotVisible": "1"])
            // Invisible until the visibility timeout passes.
            (status, json, _) = try await call(h, "ReceiveMessage", ["QueueUrl": .string(url)])
            #expect(json["Messages"]?.arrayValue?.isEmpty == true)
            clock.advance(10)
            (status, json, _) = try await call(h, "ReceiveMessage", ["QueueUrl": .string(url)])
            let again = try #require(json["Messages"]?.arrayValue?.first)
            #expect(again["ReceiptHandle"] != m["ReceiptHandle"])

            (status, json, _) = try await call(h, "DeleteMessage", ["QueueUrl": .string(url), "ReceiptHandle": again["ReceiptHandle"]!])
            #expect(status == 200)
            (status, json, _) = try await call(h, "DeleteMessage", ["QueueUrl": .string(url), "ReceiptHandle": "garbage"])
            #expect(json["__type"] == "com.amazonaws.sqs#ReceiptHandleIsInvalid")
            clock.advance(100)
            (status, json, _) = try await call(h, "GetQueueAttributes", ["QueueUrl": .string(url), "AttributeNames": ["All"]])
            #expect(json["Attributes"]?["ApproximateNumberOfMessages"] == "0")
            #expect(json["Attributes"]?["ApproximateNumberOfMessagesNotVisible"] == "0")
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func longPollWakesOnSend() async throws {
        try await withLedgerTemporaryDirectory { dir in
            // Real clock: the long poll waits in real time.
            let h = SQSHandler(store: try QueueStore(path: dir + "/q.sqlite", now: { Date() }), pollInterval: .seconds(30))
            let (_, created, _) = try await call(h, "CreateQueue", ["QueueName": "q"])
            let url = try #require(created["QueueUrl"])
            async let received = call(h, "ReceiveMessage", ["QueueUrl": url, "WaitTimeSeconds": 20])
            // Send once the poll is (very likely) waiting; the poll returns on the send, not after 20 s.
            try await Task.sleep(for: .milliseconds(200))
            _ = try await call(h, "SendMessage", ["QueueUrl": url, "MessageBody": "wake"])
            // Counted from the send's answer (a slow disk can make the calls before it take seconds):
            // a poll that missed the wake would answer only when its 20 s are up.
            let sent = ContinuousClock.now
            let (_, json, _) = try await received
            #expect(json["Messages"]?.arrayValue?.first?["Body"] == "wake")
            #expect(ContinuousClock.now - sent < .seconds(10))
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func longPollTimesOutEmpty() async throws {
        try await withLedgerTemporaryDirectory { dir in
            let h = SQSHandler(store: try QueueStore(path: dir + "/q.sqlite", now: { Date() }))
            let (_, created, _) = try await call(h, "CreateQueue", ["QueueName": "q"])
            let started = ContinuousClock.now
            let (status, json, _) = try await call(h, "ReceiveMessage", ["QueueUrl": created["QueueUrl"]!, "WaitTimeSeconds": 1])
            #expect(status == 200)
            #expect(json["Messages"]?.arrayValue?.isEmpty == true)
            #expect(ContinuousClock.now - started >= .milliseconds(900))
        }
    }

    @Test func validationAndPersistence() async throws {
        try await withLedgerTemporaryDirectory { dir in
            let clock = LedgerTestClock()
            do {
                let h = SQSHandler(store: try QueueStore(path: dir + "/q.sqlite", now: clock.now))
                let (_, created, _) = try await call(h, "CreateQueue", ["QueueName": "q"])
                let url = created["QueueUrl"]!
                var (status, json, _) = try await call(h, "ReceiveMessage", ["QueueUrl": url, "MaxNumberOfMessages": 11])
                #expect(status == 400)
                #expect(json["__type"] == "com.amazonaws.sqs#InvalidParameterValueException")
                (status, json, _) = try await call(h, "SendMessage", ["QueueUrl": url, "MessageBody": "persisted",
                                                                      "MessageAttributes": ["n": ["DataType": "Number", "StringValue": "7"]]])
                #expect(json["MD5OfMessageAttributes"]?.stringValue == SQSMessageDigest.md5(ofAttributes: ["n": .init(number: 7)]))
                _ = try await call(h, "SendMessage", ["QueueUrl": url, "MessageBody": "purged-later"])
            }
            let h = SQSHandler(store: try QueueStore(path: dir + "/q.sqlite", now: clock.now))
            let (_, url, _) = try await call(h, "GetQueueUrl", ["QueueName": "q"])
            let (_, json, _) = try await call(h, "ReceiveMessage", ["QueueUrl": url["QueueUrl"]!, "MaxNumberOfMessages": 1, "MessageAttributeNames": ["n"]])
            #expect(json["Messages"]?.arrayValue?.first?["Body"] == "persisted")
            #expect(json["Messages"]?.arrayValue?.first?["MessageAttributes"]?["n"]?["StringValue"] == "7")
            _ = try await call(h, "PurgeQueue", ["QueueUrl": url["QueueUrl"]!])
            let (_, attrs, _) = try await call(h, "GetQueueAttributes", ["QueueUrl": url["QueueUrl"]!, "AttributeNames": ["All"]])
            #expect(attrs["Attributes"]?["ApproximateNumberOfMessages"] == "0")
            #expect(attrs["Attributes"]?["ApproximateNumberOfMessagesNotVisible"] == "0")
        }
    }
}
