import TestSupport
import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore
import NIOHTTP1
import Testing

@testable import AWSWire

/// The S3 client against a scripted loopback server: faults, retries and what goes on the wire.
@Suite("S3 client retries and wire format", .timeLimit(.minutes(1)))
struct S3ClientRetryTests {
    static let credentials = AWSCredentials(accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")

    /// Fast retries, reproducible jitter.
    static func configuration(_ endpoint: String, timeouts: S3Client.Timeouts = .init()) throws -> S3Client.Configuration {
        S3Client.Configuration(
            region: "us-east-1",
            endpoint: try S3Endpoint(url: endpoint),
            addressingStyle: .path,
            timeouts: timeouts,
            retry: RetryConfiguration(baseDelay: .milliseconds(1), jitterSeed: 42)
        )
    }

    static func withClient<T>(
        script: [ScriptedHTTPServer.Reply],
        timeouts: S3Client.Timeouts = .init(),
        _ body: (S3Client, ScriptedHTTPServer) async throws -> T
    ) async throws -> T {
        let server = try await ScriptedHTTPServer.start(script: script)
        do {
            let result = try await withTestHTTPClient { http in
                let s3 = S3Client(httpClient: http, credentials: credentials, configuration: try configuration(server.endpoint, timeouts: timeouts))
                return try await body(s3, server)
            }
            await server.stop()
            return result
        } catch {
            await server.stop()
            throw error
        }
    }

    static let slowDown = ScriptedHTTPServer.Reply.respond(
        status: 503, headers: [("x-amz-request-id", "SLOW1")],
        body: "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message><RequestId>SLOW1</RequestId></Error>"
    )

    @Test func uploadPartRetriesSlowDownAndSendsChecksum() async throws {
        let payload = ByteBuffer(string: "123456789")
        try await Self.withClient(script: [
            Self.slowDown,
            .respond(status: 200, headers: [("ETag", "\"etag-1\""), ("x-amz-checksum-crc32c", "4waSgw=="), ("x-amz-request-id", "OK1")]),
        ]) { s3, server in
            let result = try await s3.uploadPart(bucket: "raw", key: "dir/a b+c.csv", uploadId: "u/1=", partNumber: 7, body: payload)
            #expect(result.eTag == "\"etag-1\"")
            #expect(result.checksumCRC32C == "4waSgw==")
            #expect(result.sentChecksumCRC32C == "4waSgw==")
            #expect(result.requestId == "OK1")
            #expect(result.completedPart == S3CompletedPart(partNumber: 7, eTag: "\"etag-1\"", checksumCRC32C: "4waSgw=="))

            let requests = server.requests
            #expect(requests.count == 2)
            let r = try #require(requests.last)
            #expect(r.method == "PUT")
            #expect(r.uri == "/raw/dir/a%20b%2Bc.csv?partNumber=7&uploadId=u%2F1%3D")
            #expect(r.body == Array("123456789".utf8))
            #expect(r.header("x-amz-checksum-crc32c") == "4waSgw==")
            #expect(r.header("x-amz-content-sha256") == "UNSIGNED-PAYLOAD")
            #expect(r.header("host") == "127.0.0.1:\(server.port)")
            let auth = try #require(r.header("authorization"))
            #expect(auth.hasPrefix("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/"))
            #expect(auth.contains("/us-east-1/s3/aws4_request"))
            #expect(auth.contains("x-amz-checksum-crc32c"))
            // Each attempt is signed afresh.
            #expect(requests[0].header("authorization") != nil)

            let stats = s3.retryStatistics.snapshot()
            #expect(stats.attempts == 2)
            #expect(stats.retries(for: .throttling) == 1)
            #expect(stats.throttled == 1)
            #expect(stats.byOperation["UploadPart"]?.retries == 1)
            #expect(s3.retryStrategy.availableRetryTokens == 500)
        }
    }

    @Test func completeMultipartUpload200WithInternalErrorIsRetried() async throws {
        let error200 = ScriptedHTTPServer.Reply.respond(
            status: 200, headers: [("x-amz-request-id", "E200")],
            body: "\n  \n<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>InternalError</Code><Message>We encountered an internal error. Please try again.</Message><RequestId>E200</RequestId><HostId>h</HostId></Error>"
        )
        let ok = ScriptedHTTPServer.Reply.respond(
            status: 200, headers: [("x-amz-version-id", "v-1")],
            body: "  <?xml version=\"1.0\" encoding=\"UTF-8\"?><CompleteMultipartUploadResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Location>http://x/raw/k</Location><Bucket>raw</Bucket><Key>k</Key><ETag>\"abc-2\"</ETag><ChecksumCRC32C>tcghUA==-3</ChecksumCRC32C></CompleteMultipartUploadResult>"
        )
        try await Self.withClient(script: [error200, ok]) { s3, server in
            let parts = [
                S3CompletedPart(partNumber: 1, eTag: "\"e1\"", checksumCRC32C: "5yZkMA=="),
                S3CompletedPart(partNumber: 2, eTag: "\"e2\"", checksumCRC32C: "rf3tbg=="),
                S3CompletedPart(partNumber: 3, eTag: "\"e3\"", checksumCRC32C: "yZRlqg=="),
            ]
            let result = try await s3.completeMultipartUpload(
                bucket: "raw", key: "k", uploadId: "U", parts: parts,
                expectedChecksumCRC32C: CRC32C.composite(partChecksumsBase64: parts.compactMap(\.checksumCRC32C))
            )
            #expect(result.eTag == "\"abc-2\"")
            #expect(result.versionId == "v-1")
            #expect(result.location == "http://x/raw/k")
            #expect(result.checksumCRC32C == "tcghUA==-3")

            let r = try #require(server.requests.last)
            #expect(r.method == "POST")
            #expect(r.uri == "/raw/k?uploadId=U")
            #expect(r.body == S3CompletedPart.completeMultipartUploadXML(parts))
            let sha = SHA256.hash(data: r.body).map { String(format: "%02x", $0) }.joined()
            #expect(r.header("x-amz-content-sha256") == sha)

            let stats = s3.retryStatistics.snapshot()
            #expect(stats.attempts == 2)
            #expect(stats.retries(for: .transient) == 1)
        }
    }

    @Test func completeMultipartUpload200WithInvalidPartFailsWithoutRetry() async throws {
        try await Self.withClient(script: [
            .respond(status: 200, headers: [("x-amz-request-id", "R9")], body: "<Error><Code>InvalidPart</Code><Message>One or more of the specified parts could not be found.</Message></Error>"),
        ]) { s3, _ in
            await #expect {
                _ = try await s3.completeMultipartUpload(bucket: "raw", key: "k", uploadId: "U", parts: [S3CompletedPart(partNumber: 1, eTag: "\"e\"")])
            } throws: { error in
                guard let e = error as? AWSError else { return false }
                return e.code == .invalidPart && e.errorInSuccessResponse && e.statusCode == 200 && e.requestId == "R9"
                    && e.operation == "CompleteMultipartUpload"
            }
            let stats = s3.retryStatistics.snapshot()
            #expect(stats.attempts == 1 && stats.nonRetryableFailures == 1)
        }
    }

    @Test func droppedConnectionIsRetriedAsConnectionError() async throws {
        try await Self.withClient(script: [
            .dropConnection,
            .respond(status: 200, body: "<ListPartsResult><Bucket>raw</Bucket><Key>k</Key><UploadId>U</UploadId><IsTruncated>false</IsTruncated><Part><PartNumber>1</PartNumber><ETag>\"e\"</ETag><Size>5</Size></Part></ListPartsResult>"),
        ]) { s3, _ in
            let parts = try await s3.listParts(bucket: "raw", key: "k", uploadId: "U")
            #expect(parts.parts.map(\.partNumber) == [1])
            let stats = s3.retryStatistics.snapshot()
            #expect(stats.retries(for: .connection) == 1)
            #expect(s3.retryStrategy.availableRetryTokens == 500)  // 10 taken, 10 refunded
        }
    }

    @Test func hangingServerTimesOutAndIsRetried() async throws {
        try await Self.withClient(
            script: [.hang, .respond(status: 204)],
            // Long enough that the second (answered) attempt never times out on a loaded machine.
            timeouts: .init(request: .seconds(2))
        ) { s3, _ in
            try await s3.abortMultipartUpload(bucket: "raw", key: "k", uploadId: "U")
            let stats = s3.retryStatistics.snapshot()
            #expect(stats.retries(for: .timeout) == 1)
            #expect(stats.attempts == 2)
        }
    }

    @Test func exhaustedRetriesSurfaceTheLastError() async throws {
        let e500 = ScriptedHTTPServer.Reply.respond(status: 500, body: "<Error><Code>InternalError</Code><Message>boom</Message></Error>")
        try await Self.withClient(script: [e500, e500, e500, .respond(status: 200)]) { s3, server in
            await #expect {
                _ = try await s3.headObject(bucket: "raw", key: "k")
            } throws: { ($0 as? AWSError)?.statusCode == 500 }
            #expect(server.requests.count == 3)
            let stats = s3.retryStatistics.snapshot()
            #expect(stats.exhausted == 1 && stats.retries == 2 && stats.attempts == 3)
        }
    }

    @Test func headObjectNotFoundIsNotRetried() async throws {
        try await Self.withClient(script: [.respond(status: 404, headers: [("x-amz-request-id", "NF")])]) { s3, _ in
            await #expect {
                _ = try await s3.headObject(bucket: "raw", key: "missing")
            } throws: { error in
                guard let e = error as? AWSError else { return false }
                return e.code == .notFound && e.statusCode == 404 && e.requestId == "NF"
            }
            #expect(s3.retryStatistics.snapshot().attempts == 1)
        }
    }

    @Test func getObjectStreamsWithRangeAndVersion() async throws {
        try await Self.withClient(script: [
            .respond(status: 206, headers: [("Content-Range", "bytes 2-5/10"), ("ETag", "\"e\""), ("x-amz-version-id", "v9"), ("x-amz-meta-origin", "test")], body: "3456"),
        ]) { s3, server in
            let out = try await s3.getObject(bucket: "raw", key: "k", range: .bytes(2...5), versionId: "v9")
            var collected: [UInt8] = []
            for try await chunk in out.body { collected.append(contentsOf: chunk.readableBytesView) }
            #expect(collected == Array("3456".utf8))
            #expect(out.statusCode == 206)
            #expect(out.contentRange == "bytes 2-5/10")
            #expect(out.metadata.versionId == "v9")
            #expect(out.metadata.userMetadata == ["origin": "test"])
            let r = try #require(server.requests.last)
            #expect(r.uri == "/raw/k?versionId=v9")
            #expect(r.header("range") == "bytes=2-5")
        }
    }

    @Test func addressing() async throws {
        try await withTestHTTPClient { http in
            func client(_ url: String?, _ style: S3Client.AddressingStyle, region: String = "us-east-1") throws -> S3Client {
                S3Client(httpClient: http, credentials: Self.credentials, configuration: .init(
                    region: region, endpoint: try url.map { try S3Endpoint(url: $0) }, addressingStyle: style))
            }
            let spec = S3RequestSpec(operation: "GetObject", method: .GET, bucket: "my-bucket", key: "a/b c/ü~._-+?#%.csv", timeout: .seconds(1))

            let aws = try client(nil, .automatic, region: "eu-west-1").address(spec)
            #expect(aws.authority == "my-bucket.s3.eu-west-1.amazonaws.com")
            #expect(aws.path == "/a/b%20c/%C3%BC~._-%2B%3F%23%25.csv")

            let path = try client("http://127.0.0.1:9000", .automatic).address(spec)
            #expect(path.authority == "127.0.0.1:9000")
            #expect(path.path == "/my-bucket/a/b%20c/%C3%BC~._-%2B%3F%23%25.csv")

            let dotted = S3RequestSpec(operation: "GetObject", method: .GET, bucket: "my.bucket", key: "k", timeout: .seconds(1))
            #expect(try client(nil, .automatic).address(dotted).path == "/my.bucket/k")
            #expect(try client(nil, .virtualHosted).address(dotted).authority == "my.bucket.s3.us-east-1.amazonaws.com")
            #expect(try client("https://minio.local:443/", .path).address(spec).authority == "minio.local")

            var bucketOnly = S3RequestSpec(operation: "ListObjectsV2", method: .GET, bucket: "my-bucket", timeout: .seconds(1))
            bucketOnly.query = [(name: "list-type", value: "2"), (name: "prefix", value: "a b/")]
            let b = try client("http://localhost:4566", .path).address(bucketOnly)
            #expect(b.path == "/my-bucket")
            #expect(b.query == "list-type=2&prefix=a%20b%2F")
            let v = try client(nil, .virtualHosted).address(bucketOnly)
            #expect(v.path == "/")
        }
    }

    @Test("endpoint URLs", arguments: ["ftp://x", "http://", "http://h/path", "not a url", "http://h?q=1"])
    func badEndpoints(url: String) {
        #expect(throws: AWSError.self) { try S3Endpoint(url: url) }
    }

    @Test func uriEncoding() {
        #expect(AWSURIEncoding.encode("a/b c", keepSlash: true) == "a/b%20c")
        #expect(AWSURIEncoding.encode("a/b c") == "a%2Fb%20c")
        #expect(AWSURIEncoding.encode("~-._AZaz09") == "~-._AZaz09")
        #expect(AWSURIEncoding.encode("é*") == "%C3%A9%2A")
        #expect(AWSURIEncoding.decode("a%2Fb+c%zz%C3%A9", plusAsSpace: true) == "a/b c%zzé")
        #expect(AWSURIEncoding.query([(name: "uploads", value: nil), (name: "a b", value: "c=d")]) == "uploads&a%20b=c%3Dd")
    }
}

@Suite("S3 client credentials provider", .timeLimit(.minutes(1)))
struct S3ClientCredentialsProviderTests {
    @Test func providerCredentialsAreUsedPerAttempt() async throws {
        let server = try await ScriptedHTTPServer.start(script: [.respond(status: 204), .respond(status: 204)])
        do {
            try await withTestHTTPClient { http in
                let provider = CachedCredentialsProvider {
                    ResolvedCredentials(
                        credentials: AWSCredentials(accessKeyId: "ASIATEMP", secretAccessKey: "s", sessionToken: "TOKEN"),
                        source: .environment
                    )
                }
                let s3 = S3Client(httpClient: http, credentialsProvider: provider,
                                  configuration: try S3ClientRetryTests.configuration(server.endpoint))
                try await s3.abortMultipartUpload(bucket: "b", key: "k", uploadId: "u")
                _ = try await s3.deleteObject(bucket: "b", key: "k")
                for r in server.requests {
                    #expect(r.header("authorization")?.contains("Credential=ASIATEMP/") == true)
                    #expect(r.header("x-amz-security-token") == "TOKEN")
                }
                #expect(server.requests.count == 2)
            }
            await server.stop()
        } catch {
            await server.stop()
            throw error
        }
    }
}
