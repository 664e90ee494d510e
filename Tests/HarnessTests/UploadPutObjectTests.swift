import TestSupport
import AWSWire
import AsyncHTTPClient
import Crypto
import Emulator
import Foundation
import SyntheticData
import Testing

@testable import Harness

/// A source that fits in one part goes up as one PutObject (not Create + UploadPart + Complete),
/// with the same checksums, retries and outcome rules; nothing is ever left to abort.
@Suite("Upload engine: one PutObject for a source that fits in a part", .timeLimit(.minutes(3)))
struct UploadPutObjectEmulatorTests {
    static func withEmulatorEngine<T: Sendable>(
        checksum: UploadEngine.Checksum = .crc32c,
        _ body: @escaping @Sendable (EmulatorEndpoint, UploadEngine, S3Client.Configuration, AWSCredentials) async throws -> T
    ) async throws -> T {
        var configuration = EmulatorConfiguration(listener: .init(port: 0))
        configuration.multipart.minimumPartSize = Int64(Fixtures.partSize)
        return try await withEmulator(configuration) { endpoint in
            let credentials = AWSCredentials(accessKeyId: endpoint.credentials.accessKeyId, secretAccessKey: endpoint.credentials.secretAccessKey)
            var s3Configuration = try Fixtures.s3Configuration(endpoint: endpoint.url)
            s3Configuration.region = endpoint.region
            return try await UploadEngine.withEngine(
                s3Configuration: s3Configuration, configuration: Fixtures.engineConfiguration(checksum: checksum), credentials: { credentials }
            ) { engine in
                try await body(endpoint, engine, s3Configuration, credentials)
            }
        }
    }

    @Test("a small generated file: one PutObject, verified, byte-identical, one Object Created event", arguments: [UploadEngine.Checksum.crc32c, .md5])
    func smallGeneratedFile(checksum: UploadEngine.Checksum) async throws {
        let schema = try SchemaLoader.load(path: Fixtures.repositoryRoot + "/generators/transactions.yaml")
        let recipe = DatasetRecipe(schema: schema, seed: 5, size: .bytes(1024))
        var bytes: [UInt8] = []
        let generated = try DatasetGenerator.write(schema: schema, recipe: recipe, threads: 1) { bytes.append(contentsOf: $0) }
        let expected = bytes
        try await Self.withEmulatorEngine(checksum: checksum) { endpoint, engine, s3Configuration, credentials in
            let record = await engine.upload(.init(
                source: .generated(schema: schema, recipe: recipe, threads: 1), bucket: endpoint.buckets.raw, key: "in/small.csv",
                metadata: ["run": "p1"]
            ))
            #expect(record.outcome == .ok, "\(record.failure?.message ?? "")")
            #expect(record.method == .putObject)
            #expect(record.uploadId == nil)
            #expect(record.operations.isEmpty)
            #expect(record.abort == nil)
            #expect(record.parts.count == 1)
            #expect(record.parts.first?.succeeded == true)
            #expect(record.parts.first?.attempts.count == 1)
            #expect(record.retries.attemptsByOperation == ["PutObject": 1])
            #expect(record.bytesUploaded == expected.count)
            #expect(record.bytesRead == expected.count)
            #expect(record.recipe?.rows == generated.rows)
            #expect(record.recipe?.bytes == expected.count)
            #expect(record.completeAnswered != nil)
            #expect(record.versionId != nil, "the raw bucket is versioned")
            #expect(record.verification == (checksum == .crc32c ? .fullObjectCRC32C : .objectMD5ETag))
            if checksum == .md5 {
                #expect(record.eTag == "\"\(Hex.encode(Insecure.MD5.hash(data: expected)))\"")
            } else {
                #expect(record.objectChecksum == CRC32C.checksum(expected).base64)
            }
            // The buffer is sized to the source, not to the part size.
            #expect(engine.buffers.statistics.created == 1)

            let events = try await endpoint.events.wait(timeout: .seconds(20)) { $0.contains { $0.key == "in/small.csv" } }
            let event = try #require(events.first { $0.key == "in/small.csv" })
            #expect(event.size == Int64(expected.count))
            #expect(event.versionId == record.versionId)

            try await withTestHTTPClient { http in
                let s3 = S3Client(httpClient: http, credentials: credentials, configuration: s3Configuration)
                let (digest, count) = try await Fixtures.digest(s3, bucket: endpoint.buckets.raw, key: "in/small.csv")
                #expect(count == expected.count)
                #expect(digest == Fixtures.sha256(expected))
                let head = try await s3.headObject(bucket: endpoint.buckets.raw, key: "in/small.csv")
                #expect(head.userMetadata["run"] == "p1")
                #expect(head.contentType == "text/csv")
                #expect(head.partsCount == nil, "a PutObject object has no parts")
                #expect(try await s3.listAllMultipartUploads(bucket: endpoint.buckets.raw).isEmpty)
            }
        }
    }

    @Test("a file of exactly one part size is one PutObject; one byte more is multipart")
    func thresholdIsThePartSize() async throws {
        let exact = Fixtures.bytes(count: Fixtures.partSize, seed: 31)
        let over = Fixtures.bytes(count: Fixtures.partSize + 1, seed: 32)
        let exactPath = try Fixtures.temporaryFile(exact)
        let overPath = try Fixtures.temporaryFile(over)
        defer {
            unlink(exactPath)
            unlink(overPath)
        }
        try await Self.withEmulatorEngine { endpoint, engine, _, _ in
            let one = await engine.upload(.init(source: .file(path: exactPath), bucket: endpoint.buckets.raw, key: "in/exact.csv"))
            #expect(one.outcome == .ok, "\(one.failure?.message ?? "")")
            #expect(one.method == .putObject)
            #expect(one.bytesUploaded == exact.count)
            let two = await engine.upload(.init(source: .file(path: overPath), bucket: endpoint.buckets.raw, key: "in/over.csv"))
            #expect(two.outcome == .ok, "\(two.failure?.message ?? "")")
            #expect(two.method == .multipart)
            #expect(two.parts.map(\.size) == [Fixtures.partSize, 1])
            #expect(two.verification == .compositeCRC32C)
        }
    }

    @Test("an empty file is one empty PutObject")
    func emptyFile() async throws {
        let path = try Fixtures.temporaryFile([])
        defer { unlink(path) }
        try await Self.withEmulatorEngine { endpoint, engine, s3Configuration, credentials in
            let record = await engine.upload(.init(source: .file(path: path), bucket: endpoint.buckets.raw, key: "in/empty.csv"))
            #expect(record.outcome == .ok, "\(record.failure?.message ?? "")")
            #expect(record.method == .putObject)
            #expect(record.parts.map(\.size) == [0])
            try await withTestHTTPClient { http in
                let s3 = S3Client(httpClient: http, credentials: credentials, configuration: s3Configuration)
                let (digest, count) = try await Fixtures.digest(s3, bucket: endpoint.buckets.raw, key: "in/empty.csv")
                #expect(count == 0)
                #expect(digest == Fixtures.sha256([]))
            }
        }
    }

    @Test("a missing bucket fails the PutObject at once (not retried), nothing to abort")
    func missingBucket() async throws {
        let path = try Fixtures.temporaryFile(Fixtures.bytes(count: 1000, seed: 1))
        defer { unlink(path) }
        try await Self.withEmulatorEngine { _, engine, _, _ in
            let record = await engine.upload(.init(source: .file(path: path), bucket: "no-such-bucket", key: "a.csv"))
            #expect(record.outcome == .fail)
            #expect(record.method == .putObject)
            #expect(record.failure?.message.contains("NoSuchBucket") == true)
            #expect(record.parts.first?.attempts.count == 1)
            #expect(record.parts.first?.succeeded == false)
            #expect(record.abort == nil)
            #expect(record.bytesUploaded == 0)
        }
    }

    @Test("multipart for every size when asked")
    func multipartWhenAsked() async throws {
        let path = try Fixtures.temporaryFile(Fixtures.bytes(count: 1000, seed: 2))
        defer { unlink(path) }
        var configuration = EmulatorConfiguration(listener: .init(port: 0))
        configuration.multipart.minimumPartSize = Int64(Fixtures.partSize)
        try await withEmulator(configuration) { endpoint in
            let credentials = AWSCredentials(accessKeyId: endpoint.credentials.accessKeyId, secretAccessKey: endpoint.credentials.secretAccessKey)
            var s3Configuration = try Fixtures.s3Configuration(endpoint: endpoint.url)
            s3Configuration.region = endpoint.region
            var engineConfiguration = Fixtures.engineConfiguration()
            engineConfiguration.singlePartAsPutObject = false
            let record = try await UploadEngine.withEngine(
                s3Configuration: s3Configuration, configuration: engineConfiguration, credentials: { credentials }
            ) { engine in
                await engine.upload(.init(source: .file(path: path), bucket: endpoint.buckets.raw, key: "in/mp.csv"))
            }
            #expect(record.outcome == .ok, "\(record.failure?.message ?? "")")
            #expect(record.method == .multipart)
            #expect(record.operations.map(\.name) == ["CreateMultipartUpload", "CompleteMultipartUpload"])
            #expect(record.verification == .compositeCRC32C)
        }
    }
}

/// The same path against moto_server (a real S3 implementation), with the fault proxy for the
/// failure paths.
@Suite(
    "Upload engine: PutObject against moto",
    .enabled(if: MotoServer.isAvailable, MotoServer.unavailableReason),
    .serialized,
    .timeLimit(.minutes(3))
)
struct UploadPutObjectMotoTests {
    @Test("a small file is one PutObject, verified", arguments: [UploadEngine.Checksum.crc32c, .md5])
    func smallFile(checksum: UploadEngine.Checksum) async throws {
        let object = Fixtures.bytes(count: 5000, seed: 41)
        let path = try Fixtures.temporaryFile(object)
        defer { unlink(path) }
        try await withMotoServer(environment: Fixtures.motoEnvironment) { moto in
            try await withTestHTTPClient { http in
                let s3 = try Fixtures.client(http, endpoint: moto.endpoint)
                try await s3.createBucket("raw")
                let record = try await Fixtures.withEngine(endpoint: moto.endpoint, configuration: Fixtures.engineConfiguration(checksum: checksum)) { engine in
                    await engine.upload(.init(source: .file(path: path), bucket: "raw", key: "in/small.csv", metadata: ["run": "m1"]))
                }
                #expect(record.outcome == .ok, "\(record.failure?.message ?? "")")
                #expect(record.method == .putObject)
                #expect(record.verification == (checksum == .crc32c ? .fullObjectCRC32C : .objectMD5ETag))
                #expect(record.retries.attemptsByOperation == ["PutObject": 1])
                let (digest, count) = try await Fixtures.digest(s3, bucket: "raw", key: "in/small.csv")
                #expect(count == object.count)
                #expect(digest == Fixtures.sha256(object))
                let head = try await s3.headObject(bucket: "raw", key: "in/small.csv")
                #expect(head.userMetadata["run"] == "m1")
                #expect(try await s3.listAllMultipartUploads(bucket: "raw").isEmpty)
            }
        }
    }

    @Test func aPutThatKeepsFailingIsRetriedThenFailsAndLeavesNothing() async throws {
        let path = try Fixtures.temporaryFile(Fixtures.bytes(count: 3000, seed: 42))
        defer { unlink(path) }
        try await withMotoServer(environment: Fixtures.motoEnvironment) { moto in
            try await withTestHTTPClient { http in
                let s3 = try Fixtures.client(http, endpoint: moto.endpoint)
                try await s3.createBucket("raw")
                let record = try await FaultProxy.withProxy(upstream: moto.endpoint, rule: { request in
                    request.operation == "PUT" ? .respond(status: 500, code: "InternalError") : .forward
                }) { proxy in
                    try await Fixtures.withEngine(endpoint: proxy.endpoint) { engine in
                        await engine.upload(.init(source: .file(path: path), bucket: "raw", key: "fails.csv"))
                    }
                }
                #expect(record.outcome == .fail)
                #expect(record.method == .putObject)
                let attempts = try #require(record.parts.first?.attempts)
                #expect(attempts.count == 3)
                #expect(attempts.allSatisfy { $0.retryReason == "transient" })
                #expect(record.retries.retries == 2)
                #expect(record.abort == nil)
                await #expect(throws: AWSError.self) { _ = try await s3.headObject(bucket: "raw", key: "fails.csv") }
                #expect(try await s3.listAllMultipartUploads(bucket: "raw").isEmpty)
            }
        }
    }

    @Test func aWrongChecksumEchoIsAnIntegrityFailure() async throws {
        let path = try Fixtures.temporaryFile(Fixtures.bytes(count: 3000, seed: 43))
        defer { unlink(path) }
        try await withMotoServer(environment: Fixtures.motoEnvironment) { moto in
            let record = try await FaultProxy.withProxy(upstream: moto.endpoint, rule: { request in
                request.operation == "PUT" && request.uri.contains("corrupt") ? .forwardReplacingHeader(name: "x-amz-checksum-crc32c", value: "AAAAAA==") : .forward
            }) { proxy in
                try await withTestHTTPClient { http in
                    try await Fixtures.client(http, endpoint: moto.endpoint).createBucket("raw")
                }
                return try await Fixtures.withEngine(endpoint: proxy.endpoint) { engine in
                    await engine.upload(.init(source: .file(path: path), bucket: "raw", key: "corrupt.csv"))
                }
            }
            #expect(record.outcome == .fail)
            #expect(record.failure?.code == "integrity")
            #expect(record.abort == nil)
        }
    }

    /// The connection dies after PutObject reached moto (which stores the object). When every
    /// attempt dies so, the outcome is unknown; when only the first does, the retry succeeds
    /// (a PutObject is idempotent: a second version of the same bytes) and the outcome is ok.
    @Test("a connection lost after PutObject", arguments: [true, false])
    func aConnectionLostAfterPut(everyAttempt: Bool) async throws {
        let object = Fixtures.bytes(count: 4000, seed: 44)
        let path = try Fixtures.temporaryFile(object)
        defer { unlink(path) }
        try await withMotoServer(environment: Fixtures.motoEnvironment) { moto in
            try await withTestHTTPClient { http in
                let s3 = try Fixtures.client(http, endpoint: moto.endpoint)
                try await s3.createBucket("raw")
                let record = try await FaultProxy.withProxy(upstream: moto.endpoint, rule: { request in
                    request.operation == "PUT" && (everyAttempt || request.occurrence == 1) ? .forwardThenDrop : .forward
                }) { proxy in
                    try await Fixtures.withEngine(endpoint: proxy.endpoint) { engine in
                        await engine.upload(.init(source: .file(path: path), bucket: "raw", key: "maybe.csv"))
                    }
                }
                let attempts = try #require(record.parts.first?.attempts)
                #expect(attempts.first?.retryReason == "connection")
                if everyAttempt {
                    #expect(record.outcome == .unknown, "\(record.failure?.message ?? "")")
                    #expect(attempts.count == 3)
                    #expect(record.failure?.message.contains("may or may not exist") == true)
                } else {
                    #expect(record.outcome == .ok, "\(record.failure?.message ?? "")")
                    #expect(attempts.count == 2)
                    #expect(record.retries.failedAttemptsByReason["connection"] == 1)
                }
                #expect(record.abort == nil)
                let (digest, _) = try await Fixtures.digest(s3, bucket: "raw", key: "maybe.csv")
                #expect(digest == Fixtures.sha256(object))
            }
        }
    }
}
