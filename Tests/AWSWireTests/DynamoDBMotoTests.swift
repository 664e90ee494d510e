import TestSupport
import AWSWire
import AsyncHTTPClient
import Foundation
import Testing

/// The DynamoDB client against moto_server (an independent implementation) on 127.0.0.1.
@Suite(
    "DynamoDB client against moto",
    .enabled(if: MotoServer.isAvailable, MotoServer.unavailableReason),
    .serialized,
    .timeLimit(.minutes(3))
)
struct DynamoDBMotoTests {
    static func client(_ http: HTTPClient, _ server: MotoServer) throws -> DynamoDBClient {
        DynamoDBClient(
            httpClient: http,
            credentials: AWSCredentials(accessKeyId: "test", secretAccessKey: "test"),
            configuration: .init(endpoint: try S3Endpoint(url: server.endpoint), retry: RetryConfiguration(baseDelay: .milliseconds(5), jitterSeed: 1))
        )
    }

    @Test func conditionalWritesQueryAndScanPagination() async throws {
        try await withMotoServer { server in
            try await withTestHTTPClient { http in
                let ddb = try Self.client(http, server)
                let created = try await ddb.createTable("jobs", partitionKey: "jobId")
                #expect(created.partitionKey == "jobId")
                let described = try await ddb.describeTable("jobs")
                #expect(described.tableName == "jobs")
                #expect(described.keySchema.first?.name == "jobId")

                let key: DynamoDBItem = ["jobId": .s("raw/a.csv#01")]
                try await ddb.putItem(
                    table: "jobs", item: key.merging(["status": .s("RUNNING"), "attempts": .number(0)]) { a, _ in a },
                    condition: "attribute_not_exists(jobId)"
                )
                // A duplicate start fails the condition.
                await #expect {
                    try await ddb.putItem(table: "jobs", item: key.merging(["status": .s("RUNNING")]) { a, _ in a }, condition: "attribute_not_exists(jobId)")
                } throws: { ($0 as? AWSError)?.code == .conditionalCheckFailed && ($0 as? AWSError)?.statusCode == 400 }

                let updated = try await ddb.updateItem(
                    table: "jobs", key: key, update: "SET #s = :done ADD attempts :one",
                    condition: "#s = :running AND attempts < :max",
                    names: ["#s": "status"],
                    values: [":done": .s("SUCCEEDED"), ":one": .number(1), ":running": .s("RUNNING"), ":max": .number(3)],
                    returnValues: .allNew
                )
                #expect(updated?["status"] == .s("SUCCEEDED"))
                #expect(updated?["attempts"]?.intValue == 1)
                await #expect {
                    try await ddb.updateItem(
                        table: "jobs", key: key, update: "SET #s = :done", condition: "#s = :running", names: ["#s": "status"],
                        values: [":done": .s("SUCCEEDED"), ":running": .s("RUNNING")]
                    )
                } throws: { ($0 as? AWSError)?.code == .conditionalCheckFailed }
                // Not retried: exactly one attempt per conditional failure.
                #expect(ddb.retryStatistics.snapshot().retries == 0)

                let got = try await ddb.getItem(table: "jobs", key: key)
                #expect(got?["status"] == .s("SUCCEEDED"))
                #expect(try await ddb.getItem(table: "jobs", key: ["jobId": .s("nope")]) == nil)

                for i in 0..<7 { try await ddb.putItem(table: "jobs", item: ["jobId": .s("raw/b\(i).csv#01"), "status": .s("RUNNING")]) }
                let all = try await ddb.scanAll(table: "jobs", pageSize: 3)
                #expect(all.count == 8)
                #expect(Set(all.compactMap { $0["jobId"]?.stringValue }).count == 8)
                let first = try await ddb.scan(table: "jobs", limit: 3)
                #expect(first.items.count == 3)
                #expect(first.lastEvaluatedKey != nil)

                let q = try await ddb.query(table: "jobs", keyCondition: "#k = :v", names: ["#k": "jobId"], values: [":v": .s("raw/b3.csv#01")])
                #expect(q.items.count == 1)
                #expect(q.items.first?["jobId"] == .s("raw/b3.csv#01"))

                await #expect {
                    try await ddb.describeTable("missing")
                } throws: { ($0 as? AWSError)?.code == .resourceNotFound }
            }
        }
    }
}
