import Testing

@testable import Faults

@Suite struct AWSRequestClassifierTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var method: String
        var uri: String
        var host: String = "127.0.0.1:4566"
        var headers: [(name: String, value: String)] = []
        var expected: FaultRequest
        var testDescription: String { "\(method) \(uri) (\(host))" }
    }

    static func s3(_ operation: String?, _ bucket: String?, _ key: String? = nil) -> FaultRequest {
        FaultRequest(service: .s3, operation: operation, bucket: bucket, key: key)
    }

    static let cases: [Case] = [
        Case(method: "GET", uri: "/", expected: s3("ListBuckets", nil)),
        Case(method: "PUT", uri: "/raw", expected: s3("CreateBucket", "raw")),
        Case(method: "PUT", uri: "/raw?versioning", expected: s3("PutBucketVersioning", "raw")),
        Case(method: "HEAD", uri: "/raw", expected: s3("HeadBucket", "raw")),
        Case(method: "GET", uri: "/raw?list-type=2&prefix=in%2F", expected: s3("ListObjectsV2", "raw")),
        Case(method: "GET", uri: "/raw?prefix=in", expected: s3("ListObjects", "raw")),
        Case(method: "GET", uri: "/raw?uploads", expected: s3("ListMultipartUploads", "raw")),
        Case(method: "GET", uri: "/raw?versions", expected: s3("ListObjectVersions", "raw")),
        Case(method: "POST", uri: "/raw?delete", expected: s3("DeleteObjects", "raw")),
        Case(method: "PUT", uri: "/raw/in/a%20b.csv", expected: s3("PutObject", "raw", "in/a b.csv")),
        Case(method: "POST", uri: "/raw/in/a.csv?uploads", expected: s3("CreateMultipartUpload", "raw", "in/a.csv")),
        Case(method: "PUT", uri: "/raw/in/a.csv?partNumber=3&uploadId=xyz", expected: s3("UploadPart", "raw", "in/a.csv")),
        Case(method: "POST", uri: "/raw/in/a.csv?uploadId=xyz", expected: s3("CompleteMultipartUpload", "raw", "in/a.csv")),
        Case(method: "DELETE", uri: "/raw/in/a.csv?uploadId=xyz", expected: s3("AbortMultipartUpload", "raw", "in/a.csv")),
        Case(method: "GET", uri: "/raw/in/a.csv?uploadId=xyz", expected: s3("ListParts", "raw", "in/a.csv")),
        Case(method: "GET", uri: "/raw/in/a.csv", expected: s3("GetObject", "raw", "in/a.csv")),
        Case(method: "GET", uri: "/raw/in/a.csv?retention", expected: s3("GetObjectRetention", "raw", "in/a.csv")),
        Case(method: "GET", uri: "/raw/in/a.csv?tagging", expected: s3(nil, "raw", "in/a.csv")),
        Case(method: "HEAD", uri: "/raw/in/a.csv?versionId=3", expected: s3("HeadObject", "raw", "in/a.csv")),
        Case(method: "DELETE", uri: "/raw/in/a.csv", expected: s3("DeleteObject", "raw", "in/a.csv")),
        Case(method: "PUT", uri: "/raw/b.csv", headers: [("x-amz-copy-source", "raw/a.csv")], expected: s3("CopyObject", "raw", "b.csv")),
        Case(method: "PUT", uri: "/raw/b.csv?partNumber=1&uploadId=u", headers: [("X-Amz-Copy-Source", "raw/a.csv")], expected: s3("UploadPartCopy", "raw", "b.csv")),
        // Virtual-hosted style.
        Case(method: "PUT", uri: "/in/a.csv?partNumber=1&uploadId=u", host: "raw.s3.us-east-1.amazonaws.com", expected: s3("UploadPart", "raw", "in/a.csv")),
        Case(method: "GET", uri: "/?list-type=2", host: "my.dotted.bucket.s3.amazonaws.com", expected: s3("ListObjectsV2", "my.dotted.bucket")),
        Case(method: "HEAD", uri: "/k", host: "b.s3-us-west-2.amazonaws.com", expected: s3("HeadObject", "b", "k")),
        Case(method: "GET", uri: "/k", host: "raw.localhost:4566", expected: s3("GetObject", "raw", "k")),
        Case(method: "GET", uri: "/raw/k", host: "s3.us-east-1.amazonaws.com", expected: s3("GetObject", "raw", "k")),
        Case(method: "GET", uri: "http://127.0.0.1:4566/raw/k?x-id=GetObject", expected: s3("GetObject", "raw", "k")),
        // JSON services.
        Case(method: "POST", uri: "/", headers: [("X-Amz-Target", "DynamoDB_20120810.PutItem")], expected: FaultRequest(service: .dynamodb, operation: "PutItem")),
        Case(method: "POST", uri: "/", headers: [("x-amz-target", "AmazonSQS.SendMessage")], expected: FaultRequest(service: .sqs, operation: "SendMessage")),
        Case(method: "POST", uri: "/", headers: [("X-Amz-Target", "AWSStepFunctions.StartExecution")], expected: FaultRequest(service: .states, operation: "StartExecution")),
        Case(method: "POST", uri: "/", headers: [("X-Amz-Target", "AWSEvents.PutEvents")], expected: FaultRequest(service: .events, operation: "PutEvents")),
        Case(method: "POST", uri: "/", headers: [("X-Amz-Target", "AmazonEC2ContainerServiceV20141113.RunTask")], expected: FaultRequest(service: .ecs, operation: "RunTask")),
        Case(method: "POST", uri: "/", host: "sqs.us-east-1.amazonaws.com", expected: FaultRequest(service: .sqs, operation: nil)),
    ]

    @Test(arguments: Self.cases)
    func classifies(_ c: Case) {
        let request = AWSRequestClassifier.classify(method: c.method, uri: c.uri, headers: [("Host", c.host)] + c.headers)
        #expect(request == c.expected)
    }

    @Test func everyNamedS3OperationIsInTheCatalogue() {
        for c in Self.cases {
            if let op = c.expected.operation { #expect(c.expected.service.operations.contains(op), "\(op)") }
        }
    }
}
