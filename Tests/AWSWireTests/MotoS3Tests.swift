import TestSupport
import AWSWire
import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore
import NIOHTTP1
import Testing

/// The S3 client against moto_server, a real (Python) S3 implementation, on 127.0.0.1.
@Suite(
    "S3 client against moto",
    .enabled(if: MotoServer.isAvailable, MotoServer.unavailableReason),
    .serialized,
    .timeLimit(.minutes(3))
)
struct MotoS3Tests {
    /// Parts smaller than S3's 5 MiB minimum keep the test fast; moto enforces the minimum for
    /// every part but the last, so it is lowered for the server process.
    static let partSize = 64 * 1024
    static let serverEnvironment = ["S3_UPLOAD_PART_MIN_SIZE": String(partSize)]

    static func client(_ http: HTTPClient, _ server: MotoServer, credentials: AWSCredentials = .init(accessKeyId: "test", secretAccessKey: "test")) throws -> S3Client {
        S3Client(
            httpClient: http,
            credentials: credentials,
            configuration: .init(
                region: "us-east-1",
                endpoint: try S3Endpoint(url: server.endpoint),
                addressingStyle: .path,
                retry: RetryConfiguration(baseDelay: .milliseconds(5), jitterSeed: 1)
            )
        )
    }

    /// Deterministic pseudo-random bytes.
    static func bytes(count: Int, seed: UInt64) -> [UInt8] {
        var rng = SplitMix64(seed: seed)
        var out = [UInt8]()
        out.reserveCapacity(count + 8)
        while out.count < count {
            withUnsafeBytes(of: rng.next()) { out.append(contentsOf: $0) }
        }
        return Array(out.prefix(count))
    }

    @Test func multipartUploadRoundTrip() async throws {
        try await withMotoServer(environment: Self.serverEnvironment) { server in
            try await withTestHTTPClient { http in
                let s3 = try Self.client(http, server)
                let bucket = "csvstorm-raw"
                let key = "incoming/2024 01/data+ü&=.csv"
                try await s3.createBucket(bucket)

                // Three parts: two full, one short.
                let object = Self.bytes(count: 2 * Self.partSize + 12_345, seed: 42)
                let upload = try await s3.createMultipartUpload(bucket: bucket, key: key, contentType: "text/csv", metadata: ["dataset-seed": "42"])
                #expect(upload.key == key)
                #expect(upload.bucket == bucket)
                #expect(!upload.uploadId.isEmpty)

                var completed: [S3CompletedPart] = []
                var partChecksums: [CRC32C] = []
                for (index, start) in stride(from: 0, to: object.count, by: Self.partSize).enumerated() {
                    let slice = object[start..<min(object.count, start + Self.partSize)]
                    let buffer = ByteBuffer(bytes: slice)
                    let crc = CRC32C.checksum(buffer)
                    partChecksums.append(crc)
                    let part = try await s3.uploadPart(bucket: bucket, key: key, uploadId: upload.uploadId, partNumber: index + 1, body: buffer)
                    #expect(part.sentChecksumCRC32C == crc.base64)
                    #expect(part.eTag.count > 2)
                    completed.append(part.completedPart)
                }
                #expect(completed.count == 3)

                // ListParts, one part per page: exercises pagination.
                let listed = try await s3.listAllParts(bucket: bucket, key: key, uploadId: upload.uploadId, pageSize: 1)
                #expect(listed.map(\.partNumber) == [1, 2, 3])
                #expect(listed.map(\.eTag) == completed.map(\.eTag))
                #expect(listed.map(\.size) == [Int64(Self.partSize), Int64(Self.partSize), 12_345])
                let firstPage = try await s3.listParts(bucket: bucket, key: key, uploadId: upload.uploadId, maxParts: 2)
                #expect(firstPage.isTruncated)
                #expect(firstPage.nextPartNumberMarker == 2)

                let inProgress = try await s3.listAllMultipartUploads(bucket: bucket)
                #expect(inProgress.map(\.uploadId) == [upload.uploadId])

                let done = try await s3.completeMultipartUpload(bucket: bucket, key: key, uploadId: upload.uploadId, parts: completed)
                #expect(done.eTag?.hasSuffix("-3\"") == true)
                #expect(done.key == key)
                #expect(try await s3.listAllMultipartUploads(bucket: bucket).isEmpty)

                // Download (streamed) and compare.
                let got = try await s3.getObject(bucket: bucket, key: key)
                var hasher = SHA256()
                var crc = CRC32C()
                var received = 0
                for try await chunk in got.body {
                    chunk.withUnsafeReadableBytes { hasher.update(bufferPointer: $0); crc.update($0) }
                    received += chunk.readableBytes
                }
                #expect(received == object.count)
                #expect(Array(hasher.finalize()) == Array(SHA256.hash(data: object)))
                #expect(crc == CRC32C.checksum(object))
                #expect(got.metadata.contentLength == Int64(object.count))
                #expect(got.metadata.userMetadata["dataset-seed"] == "42")

                // Range.
                let ranged = try await s3.getObject(bucket: bucket, key: key, range: .bytes(10...19))
                let rangeBytes = try await ranged.body.collect(upTo: 1 << 20)
                #expect(ranged.statusCode == 206)
                #expect(Array(rangeBytes.readableBytesView) == Array(object[10...19]))

                let head = try await s3.headObject(bucket: bucket, key: key)
                #expect(head.contentLength == Int64(object.count))
                #expect(head.eTag == done.eTag)
                #expect(head.contentType == "text/csv")

                // Listing: prefix, delimiter, pagination.
                for name in ["incoming/a.csv", "incoming/b.csv", "other/c.csv"] {
                    _ = try await s3.putObject(bucket: bucket, key: name, body: ByteBuffer(string: name))
                }
                let top = try await s3.listObjectsV2(bucket: bucket, delimiter: "/")
                #expect(top.commonPrefixes.sorted() == ["incoming/", "other/"])
                #expect(top.objects.isEmpty)
                let incoming = try await s3.listAllObjectsV2(bucket: bucket, prefix: "incoming/", pageSize: 1)
                #expect(incoming.map(\.key).sorted() == ["incoming/2024 01/data+ü&=.csv", "incoming/a.csv", "incoming/b.csv"])
                let page1 = try await s3.listObjectsV2(bucket: bucket, prefix: "incoming/", maxKeys: 2)
                #expect(page1.isTruncated)
                #expect(page1.objects.count == 2)
                #expect(page1.nextContinuationToken != nil)

                // Errors from a real peer: typed, not retried.
                let before = s3.retryStatistics.snapshot()
                await #expect {
                    _ = try await s3.getObject(bucket: bucket, key: "no/such/key")
                } throws: { ($0 as? AWSError)?.code == .noSuchKey && ($0 as? AWSError)?.statusCode == 404 }
                await #expect {
                    _ = try await s3.headObject(bucket: bucket, key: "no/such/key")
                } throws: { ($0 as? AWSError)?.code == .notFound }
                let delta = s3.retryStatistics.snapshot().subtracting(before)
                #expect(delta.attempts == 2 && delta.retries == 0 && delta.nonRetryableFailures == 2)

                // Delete.
                _ = try await s3.deleteObject(bucket: bucket, key: key)
                await #expect {
                    _ = try await s3.headObject(bucket: bucket, key: key)
                } throws: { ($0 as? AWSError)?.statusCode == 404 }

                let stats = s3.retryStatistics.snapshot()
                #expect(stats.retries == 0)
                #expect(stats.byOperation["UploadPart"]?.attempts == 3)
            }
        }
    }

    @Test func abortLeavesNothingListed() async throws {
        try await withMotoServer(environment: Self.serverEnvironment) { server in
            try await withTestHTTPClient { http in
                let s3 = try Self.client(http, server)
                let bucket = "csvstorm-abort"
                try await s3.createBucket(bucket)
                let upload = try await s3.createMultipartUpload(bucket: bucket, key: "big.csv")
                _ = try await s3.uploadPart(bucket: bucket, key: "big.csv", uploadId: upload.uploadId, partNumber: 1,
                                            body: ByteBuffer(bytes: Self.bytes(count: Self.partSize, seed: 1)))
                #expect(try await s3.listMultipartUploads(bucket: bucket).uploads.count == 1)

                try await s3.abortMultipartUpload(bucket: bucket, key: "big.csv", uploadId: upload.uploadId)

                let uploads = try await s3.listMultipartUploads(bucket: bucket)
                #expect(uploads.uploads.isEmpty)
                #expect(!uploads.isTruncated)
                await #expect {
                    _ = try await s3.listParts(bucket: bucket, key: "big.csv", uploadId: upload.uploadId)
                } throws: { error in
                    guard let e = error as? AWSError else { return false }
                    return e.code == .noSuchUpload && e.statusCode == 404 && e.kind == .service
                }
                #expect(try await s3.listObjectsV2(bucket: bucket).objects.isEmpty)
                #expect(s3.retryStatistics.snapshot().retries == 0)
            }
        }
    }

    /// moto checks signatures only with IAM authentication on: `INITIAL_NO_AUTH_ACTION_COUNT=N`
    /// lets the first N actions through unauthenticated (default: infinity, i.e. never check).
    /// With N = 3 we create an IAM user, give it an inline `s3:*` policy and an access key;
    /// every later request is verified (by botocore's SigV4 code) against that key.
    @Test func wrongSecretKeyFailsWithSignatureDoesNotMatch() async throws {
        try await withMotoServer(environment: Self.serverEnvironment.merging(["INITIAL_NO_AUTH_ACTION_COUNT": "3"]) { $1 }) { server in
            try await withTestHTTPClient { http in
                let good = try await MotoIAM.createUserWithAccessKey(http: http, endpoint: server.endpoint)
                #expect(good.accessKeyId.hasPrefix("AKIA"))

                // The right key works, for signed XML bodies and for UNSIGNED-PAYLOAD parts.
                let s3 = try Self.client(http, server, credentials: good)
                try await s3.createBucket("csvstorm-auth")
                _ = try await s3.putObject(bucket: "csvstorm-auth", key: "a b/ok.csv", body: ByteBuffer(string: "id,name\n1,x\n"))
                let upload = try await s3.createMultipartUpload(bucket: "csvstorm-auth", key: "mp.csv")
                let part = try await s3.uploadPart(bucket: "csvstorm-auth", key: "mp.csv", uploadId: upload.uploadId, partNumber: 1, body: ByteBuffer(string: "hello"))
                _ = try await s3.completeMultipartUpload(bucket: "csvstorm-auth", key: "mp.csv", uploadId: upload.uploadId, parts: [part.completedPart])
                #expect(try await s3.listObjectsV2(bucket: "csvstorm-auth").objects.map(\.key).sorted() == ["a b/ok.csv", "mp.csv"])

                // A wrong secret: 403 SignatureDoesNotMatch, not retried.
                let wrong = AWSCredentials(accessKeyId: good.accessKeyId, secretAccessKey: good.secretAccessKey + "x")
                let bad = try Self.client(http, server, credentials: wrong)
                await #expect {
                    _ = try await bad.putObject(bucket: "csvstorm-auth", key: "nope.csv", body: ByteBuffer(string: "x"))
                } throws: { error in
                    guard let e = error as? AWSError else { return false }
                    return e.code == .signatureDoesNotMatch && e.statusCode == 403 && e.kind == .service
                        && (e.message ?? "").contains("signature") && "\(e)".contains("SignatureDoesNotMatch")
                }
                await #expect {
                    _ = try await bad.listObjectsV2(bucket: "csvstorm-auth")
                } throws: { ($0 as? AWSError)?.code == .signatureDoesNotMatch }
                let stats = bad.retryStatistics.snapshot()
                #expect(stats.attempts == 2 && stats.retries == 0 && stats.nonRetryableFailures == 2)

                // An unknown access key id.
                let unknown = try Self.client(http, server, credentials: .init(accessKeyId: "AKIAUNKNOWNUNKNOWN00", secretAccessKey: "x"))
                await #expect {
                    _ = try await unknown.listObjectsV2(bucket: "csvstorm-auth")
                } throws: { ($0 as? AWSError)?.code == .invalidAccessKeyId }
            }
        }
    }
}

/// Just enough of the IAM Query API to mint credentials in moto.
enum MotoIAM {
    static func call(http: HTTPClient, endpoint: String, _ parameters: [(String, String)]) async throws -> XML.Element {
        let body = AWSURIEncoding.query(parameters.map { (name: $0.0, value: $0.1) } + [(name: "Version", value: "2010-05-08")]) ?? ""
        let host = String(endpoint.dropFirst("http://".count))
        // Signed properly (service iam), though moto does not check while the no-auth budget lasts;
        // the credential scope is what routes the request to moto's IAM backend.
        let signer = SigV4Signer(credentials: .init(accessKeyId: "test", secretAccessKey: "test"), region: "us-east-1", service: "iam", mode: .standard)
        let headers: [(name: String, value: String)] = [
            (name: "host", value: host), (name: "content-type", value: "application/x-www-form-urlencoded; charset=utf-8"),
        ]
        let added = signer.signHeaders(
            method: "POST", path: "/", query: nil, headers: headers,
            payloadHash: SigV4Signer.payloadHash(of: Array(body.utf8)), date: Date(), addContentSHA256Header: false
        )
        var request = HTTPClientRequest(url: endpoint + "/")
        request.method = .POST
        for h in headers + added { request.headers.add(name: h.name, value: h.value) }
        request.body = .bytes(ByteBuffer(string: body))
        let response = try await http.execute(request, timeout: .seconds(30))
        let bytes = try await response.body.collect(upTo: 1 << 20)
        guard response.status.code == 200 else {
            throw FixtureError("IAM \(parameters.first?.1 ?? "?") failed: \(response.status.code) \(String(buffer: bytes))")
        }
        return try XML.parse(bytes)
    }

    /// CreateUser + PutUserPolicy (s3:*) + CreateAccessKey: three actions.
    static func createUserWithAccessKey(http: HTTPClient, endpoint: String) async throws -> AWSCredentials {
        _ = try await call(http: http, endpoint: endpoint, [("Action", "CreateUser"), ("UserName", "csvstorm")])
        let policy = #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#
        _ = try await call(http: http, endpoint: endpoint, [
            ("Action", "PutUserPolicy"), ("UserName", "csvstorm"), ("PolicyName", "s3-all"), ("PolicyDocument", policy),
        ])
        let root = try await call(http: http, endpoint: endpoint, [("Action", "CreateAccessKey"), ("UserName", "csvstorm")])
        guard let key = root.child("CreateAccessKeyResult")?.child("AccessKey"),
              let id = key.childText("AccessKeyId"), let secret = key.childText("SecretAccessKey")
        else { throw FixtureError("no access key in the CreateAccessKey response") }
        return AWSCredentials(accessKeyId: id, secretAccessKey: secret)
    }
}
