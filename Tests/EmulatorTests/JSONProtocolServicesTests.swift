import AWSWire
import Emulator
import Foundation
import Testing

@Suite("Pipeline data services (ledger + RetryQueue in a state directory)")
struct JSONProtocolServicesTests {
    @Test func survivesRestartOnTheSameStateDirectory() async throws {
        try await withLedgerTemporaryDirectory { dir in
            let clock = LedgerTestClock()
            let job = JobLedger.JobKey(bucket: "raw", key: "a.csv", sequencer: "01")
            let dead = DeadLetterMessage(
                eventJSON: "{}", ruleARN: "arn:rule", targetARN: "arn:target", errorCode: "ThrottlingException",
                errorMessage: "Rate exceeded", exhaustedRetryCondition: .maximumEventAge, retryAttempts: 4
            )
            do {
                let services = try await PipelineDataServices(stateDirectory: dir + "/state", now: clock.now, secretAccessKey: nil)
                _ = try await services.ledger.start(job, executionId: "e1")
                try await services.deadLetter(dead)
            }
            // "Restart": open again; tables and queues are created idempotently, data is still there.
            let services = try await PipelineDataServices(stateDirectory: dir + "/state", now: clock.now, secretAccessKey: nil)
            #expect(try await services.ledger.record(job)?.status == .running)
            // Served through the router as awscli would see it.
            let r = await services.router.handle(
                method: "POST", path: "/", query: nil,
                headers: [(name: "Host", value: "127.0.0.1:9"), (name: "X-Amz-Target", value: "AmazonSQS.ReceiveMessage")],
                body: JSONValue.object(["QueueUrl": "http://127.0.0.1:9/000000000000/csvstorm-retry", "MessageAttributeNames": ["All"]]).serialized()
            )
            #expect(r.status == 200)
            let message = try #require(try JSONValue.parse(r.body)["Messages"]?.arrayValue?.first)
            #expect(message["MessageAttributes"]?["EXHAUSTED_RETRY_CONDITION"]?["StringValue"] == "MaximumEventAgeInSeconds")
            let get = await services.router.handle(
                method: "POST", path: "/", query: nil,
                headers: [(name: "X-Amz-Target", value: "DynamoDB_20120810.GetItem")],
                body: Array(#"{"TableName":"csvstorm-jobs","Key":{"jobId":{"S":"raw/a.csv#01"}}}"#.utf8)
            )
            #expect(try JSONValue.parse(get.body)["Item"]?["status"] == ["S": "RUNNING"])
        }
    }

    @Test func unsignedRequestsAreRejectedWhenAuthenticationIsOn() async throws {
        try await withLedgerTemporaryDirectory { dir in
            let services = try await PipelineDataServices(stateDirectory: dir, now: { Date() }, secretAccessKey: { _ in "secret" })
            let r = await services.router.handle(
                method: "POST", path: "/", query: nil,
                headers: [(name: "X-Amz-Target", value: "DynamoDB_20120810.ListTables")], body: Array("{}".utf8)
            )
            #expect(r.status == 400)
            #expect(try JSONValue.parse(r.body)["__type"] == "com.amazon.coral.service#MissingAuthenticationTokenException")
        }
    }

    @Test func ledgerFaultHookAnswersThrottling() async throws {
        try await withLedgerTemporaryDirectory { dir in
            let services = try await PipelineDataServices(
                stateDirectory: dir, now: { Date() }, secretAccessKey: nil,
                ledgerFault: { op in op == "PutItem" ? DynamoDBServiceError(.throughputExceeded, "The level of configured provisioned throughput for the table was exceeded.") : nil }
            )
            let r = await services.dynamoDB.handle(target: "DynamoDB_20120810.PutItem", body: Array(#"{"TableName":"csvstorm-jobs","Item":{"jobId":{"S":"x"}}}"#.utf8))
            #expect(r.status == 400)
            #expect(try JSONValue.parse(r.body)["__type"] == "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException")
        }
    }
}
