import AWSWire
import Emulator
import Foundation
import Testing

@Suite("DynamoDB JSON handler")
struct LedgerDynamoDBHandlerTests {
    func withHandler(_ body: (DynamoDBHandler) async throws -> Void) async throws {
        try await withLedgerTemporaryDirectory { dir in
            let store = try DynamoDBItemStore(path: dir + "/ddb.sqlite", now: LedgerTestClock().now)
            try await body(DynamoDBHandler(store: store))
        }
    }

    func call(_ h: DynamoDBHandler, _ op: String, _ body: String) async throws -> (Int, JSONValue, JSONProtocolResponse) {
        let r = await h.handle(target: "DynamoDB_20120810.\(op)", body: Array(body.utf8))
        #expect(r.header("Content-Type") == "application/x-amz-json-1.0")
        return (r.status, try JSONValue.parse(r.body), r)
    }

    let createJobs = #"{"TableName":"jobs","KeySchema":[{"AttributeName":"jobId","KeyType":"HASH"}],"AttributeDefinitions":[{"AttributeName":"jobId","AttributeType":"S"}],"BillingMode":"PAY_PER_REQUEST"}"#

    @Test func tableLifecycle() async throws {
        try await withHandler { h in
            var (status, json, _) = try await call(h, "CreateTable", createJobs)
            #expect(status == 200)
            #expect(json["TableDescription"]?["TableStatus"] == "ACTIVE")
            (status, json, _) = try await call(h, "CreateTable", createJobs)
            #expect(status == 400)
            #expect(json["__type"] == "com.amazonaws.dynamodb.v20120810#ResourceInUseException")
            (status, json, _) = try await call(h, "DescribeTable", #"{"TableName":"jobs"}"#)
            #expect(json["Table"]?["KeySchema"] == [["AttributeName": "jobId", "KeyType": "HASH"]])
            (status, json, _) = try await call(h, "ListTables", "{}")
            #expect(json["TableNames"] == ["jobs"])
            (status, json, _) = try await call(h, "DescribeTable", #"{"TableName":"nope"}"#)
            #expect(status == 400)
            #expect(json["__type"] == "com.amazonaws.dynamodb.v20120810#ResourceNotFoundException")
        }
    }

    @Test func conditionalPutAndUpdate() async throws {
        try await withHandler { h in
            _ = try await call(h, "CreateTable", createJobs)
            let put = #"{"TableName":"jobs","Item":{"jobId":{"S":"raw/a#01"},"status":{"S":"RUNNING"},"attempts":{"N":"0"}},"ConditionExpression":"attribute_not_exists(jobId)"}"#
            var (status, json, r) = try await call(h, "PutItem", put)
            #expect(status == 200)
            #expect(json == [:])
            (status, json, r) = try await call(h, "PutItem", put)
            #expect(status == 400)
            #expect(json["__type"] == "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException")
            #expect(json["message"] == "The conditional request failed")
            #expect(r.header("x-amzn-ErrorType") == "ConditionalCheckFailedException")

            let update = #"""
                {"TableName":"jobs","Key":{"jobId":{"S":"raw/a#01"}},
                 "UpdateExpression":"SET #s = :done ADD attempts :one","ConditionExpression":"#s = :running AND attempts < :max",
                 "ExpressionAttributeNames":{"#s":"status"},
                 "ExpressionAttributeValues":{":done":{"S":"SUCCEEDED"},":one":{"N":"1"},":running":{"S":"RUNNING"},":max":{"N":"3"}},
                 "ReturnValues":"UPDATED_NEW"}
                """#
            (status, json, _) = try await call(h, "UpdateItem", update)
            #expect(status == 200)
            #expect(json["Attributes"] == ["status": ["S": "SUCCEEDED"], "attempts": ["N": "1"]])
            (status, json, _) = try await call(h, "UpdateItem", update)
            #expect(json["__type"] == "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException")

            (status, json, _) = try await call(h, "GetItem", #"{"TableName":"jobs","Key":{"jobId":{"S":"raw/a#01"}}}"#)
            #expect(json["Item"]?["status"] == ["S": "SUCCEEDED"])
            (status, json, _) = try await call(h, "PutItem", #"{"TableName":"jobs","Item":{"jobId":{"S":"raw/a#01"}},"ReturnValues":"ALL_OLD"}"#)
            #expect(json["Attributes"]?["attempts"] == ["N": "1"])
            (status, json, _) = try await call(h, "GetItem", #"{"TableName":"jobs","Key":{"jobId":{"S":"missing"}}}"#)
            #expect(status == 200)
            #expect(json == [:])
        }
    }

    @Test func validationErrors() async throws {
        try await withHandler { h in
            _ = try await call(h, "CreateTable", createJobs)
            for body in [
                #"{"TableName":"jobs","Item":{"other":{"S":"x"}}}"#,
                #"{"TableName":"jobs","Item":{"jobId":{"N":"1"}}}"#,
                #"{"TableName":"jobs","Item":{"jobId":{"S":"x"}},"ConditionExpression":"attribute_not_exists("}"#,
                #"{"TableName":"jobs","Item":{"jobId":{"S":"x"}},"ConditionExpression":"a = :v"}"#,
                #"{"TableName":"jobs","Item":{"jobId":{"Q":"x"}}}"#,
            ] {
                let (status, json, _) = try await call(h, "PutItem", body)
                #expect(status == 400, "\(body)")
                #expect(json["__type"] == "com.amazonaws.dynamodb.v20120810#ValidationException", "\(body)")
            }
            let (status, json, _) = try await call(h, "UpdateItem", #"{"TableName":"jobs","Key":{"jobId":{"S":"x"}},"UpdateExpression":"SET jobId = :v","ExpressionAttributeValues":{":v":{"S":"y"}}}"#)
            #expect(status == 400)
            #expect(json["__type"] == "com.amazonaws.dynamodb.v20120810#ValidationException")
        }
    }

    @Test func queryAndScanPagination() async throws {
        try await withHandler { h in
            _ = try await call(h, "CreateTable", #"{"TableName":"events","KeySchema":[{"AttributeName":"pk","KeyType":"HASH"},{"AttributeName":"sk","KeyType":"RANGE"}],"AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"},{"AttributeName":"sk","AttributeType":"S"}]}"#)
            for p in ["a", "b"] {
                for s in 0..<5 {
                    _ = try await call(h, "PutItem", #"{"TableName":"events","Item":{"pk":{"S":"\#(p)"},"sk":{"S":"s\#(s)"}}}"#)
                }
            }
            var start = ""
            var got: [String] = []
            for _ in 0..<10 {
                let (status, json, _) = try await call(h, "Query", ##"{"TableName":"events","KeyConditionExpression":"#p = :v","ExpressionAttributeNames":{"#p":"pk"},"ExpressionAttributeValues":{":v":{"S":"b"}},"Limit":2\##(start)}"##)
                #expect(status == 200)
                got += (json["Items"]?.arrayValue ?? []).compactMap { $0["sk"]?["S"]?.stringValue }
                guard let last = json["LastEvaluatedKey"] else { break }
                start = ",\"ExclusiveStartKey\":" + String(decoding: last.serialized(), as: UTF8.self)
            }
            #expect(got == ["s0", "s1", "s2", "s3", "s4"])

            let (_, json, _) = try await call(h, "Query", #"{"TableName":"events","KeyConditionExpression":"pk = :v AND begins_with(sk, :p)","ExpressionAttributeValues":{":v":{"S":"a"},":p":{"S":"s3"}}}"#)
            #expect(json["Count"] == 1)

            start = ""
            var scanned = 0
            for _ in 0..<10 {
                let (_, json, _) = try await call(h, "Scan", #"{"TableName":"events","Limit":3\#(start)}"#)
                scanned += json["Items"]?.arrayValue?.count ?? 0
                guard let last = json["LastEvaluatedKey"] else { break }
                start = ",\"ExclusiveStartKey\":" + String(decoding: last.serialized(), as: UTF8.self)
            }
            #expect(scanned == 10)
            let (status, missing, _) = try await call(h, "Query", #"{"TableName":"events","KeyConditionExpression":"sk = :v","ExpressionAttributeValues":{":v":{"S":"a"}}}"#)
            #expect(status == 400)
            #expect(missing["__type"] == "com.amazonaws.dynamodb.v20120810#ValidationException")
        }
    }

    @Test func unknownOperationAndBadJSON() async throws {
        try await withHandler { h in
            var r = await h.handle(target: "DynamoDB_20120810.Frobnicate", body: Array("{}".utf8))
            #expect(r.status == 400)
            let unknown = try JSONValue.parse(r.body)
            #expect(unknown["__type"] == "com.amazon.coral.service#UnknownOperationException")
            r = await h.handle(target: "DynamoDB_20120810.GetItem", body: Array("{nope".utf8))
            let bad = try JSONValue.parse(r.body)
            #expect(bad["__type"] == "com.amazon.coral.service#SerializationException")
        }
    }
}
