import TestSupport
import AWSWire
import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore
import SyntheticData
import Testing

@testable import Harness

/// The upload engine against moto_server (a real S3 implementation), with a fault-injecting
/// proxy in front of it for the failure paths.
@Suite(
    "Upload engine against moto",
    .enabled(if: MotoServer.isAvailable, MotoServer.unavailableReason),
    .serialized,
    .timeLimit(.minutes(3))
)
struct UploadEngineMotoTests {
    /// No in-progress upload and no object under `key`.
    static func expectNothingLeft(_ s3: S3Client, bucket: String, key: String) async throws {
        #expect(try await s3.listAllMultipartUploads(bucket: bucket).isEmpty, "an orphaned multipart upload is left")
        await #expect(throws: AWSError.self) { _ = try await s3.headObject(bucket: bucket, key: key) }
    }

    @Test("a file in several parts arrives intact, crc32c and md5", arguments: [UploadEngine.Checksum.crc32c, .md5])
    func fileRoundTrip(checksum: UploadEngine.Checksum) async throws {
        let object = Fixtures.bytes(count: 5 * Fixtures.partSize + 12_345, seed: 7)
        let path = try Fixtures.temporaryFile(object)
        defer { unlink(path) }
        try await withMotoServer(environment: Fixtures.motoEnvironment) { moto in
            try await withTestHTTPClient { http in
                let s3 = try Fixtures.client(http, endpoint: moto.endpoint)
                try await s3.createBucket("raw")
                let progress = UploadProgress()
                let (record, stats) = try await Fixtures.withEngine(endpoint: moto.endpoint, configuration: Fixtures.engineConfiguration(checksum: checksum)) { engine in
                    (await engine.upload(.init(source: .file(path: path), bucket: "raw", key: "in/file.csv", metadata: ["run": "t1"]), progress: progress),
                     engine.buffers.statistics)
                }
                #expect(record.outcome == .ok, "\(record.failure?.message ?? "")")
                #expect(record.parts.count == 6)
                #expect(record.parts.map(\.number) == Array(1...6))
                #expect(record.parts.last?.size == 12_345)
                #expect(record.parts.allSatisfy { $0.succeeded && $0.attempts.count == 1 && $0.eTag != nil })
                #expect(record.bytesUploaded == object.count)
                #expect(record.bytesRead == object.count)
                #expect(record.eTag?.hasSuffix("-6\"") == true)
                #expect(record.retries.retries == 0)
                #expect(record.retries.attemptsByOperation["UploadPart"] == 6)
                #expect(record.operations.map(\.name) == ["CreateMultipartUpload", "CompleteMultipartUpload"])
                #expect(record.completeAnswered != nil)
                #expect(record.abort == nil)
                #expect(progress.snapshot.bytesUploaded == object.count)
                #expect(progress.snapshot.partsUploaded == 6)
                // moto returns no object checksum (and computes CRC32, not CRC32C, without the
                // crc32c module), so crc32c mode verifies the parts; md5 mode verifies the ETag.
                #expect(record.verification == (checksum == .md5 ? .md5ETag : .partsOnly))
                if checksum == .crc32c {
                    #expect(record.parts.allSatisfy { CRC32C(base64: $0.checksum) != nil })
                    #expect(record.objectChecksum?.hasSuffix("-6") == true)
                }
                // Buffers: at most the global limit, reused across parts.
                #expect(stats.created <= 4)
                #expect(stats.inUse == 0)

                let (digest, count) = try await Fixtures.digest(s3, bucket: "raw", key: "in/file.csv")
                #expect(count == object.count)
                #expect(digest == Fixtures.sha256(object))
                let head = try await s3.headObject(bucket: "raw", key: "in/file.csv")
                #expect(head.userMetadata["run"] == "t1")
                #expect(head.contentType == "text/csv")
                #expect(try await s3.listAllMultipartUploads(bucket: "raw").isEmpty)
            }
        }
    }

    /// Multipart for every size (sources that fit in a part go up as one PutObject by default:
    /// UploadPutObjectTests).
    static func multipartOnly() -> UploadEngine.Configuration {
        var configuration = Fixtures.engineConfiguration()
        configuration.singlePartAsPutObject = false
        return configuration
    }

    @Test func anEmptyFileIsOneEmptyPart() async throws {
        let path = try Fixtures.temporaryFile([])
        defer { unlink(path) }
        try await withMotoServer(environment: Fixtures.motoEnvironment) { moto in
            try await withTestHTTPClient { http in
                let s3 = try Fixtures.client(http, endpoint: moto.endpoint)
                try await s3.createBucket("raw")
                let record = try await Fixtures.withEngine(endpoint: moto.endpoint, configuration: Self.multipartOnly()) { engine in
                    await engine.upload(.init(source: .file(path: path), bucket: "raw", key: "empty.csv"))
                }
                #expect(record.outcome == .ok, "\(record.failure?.message ?? "")")
                #expect(record.parts.map(\.size) == [0])
                let (digest, count) = try await Fixtures.digest(s3, bucket: "raw", key: "empty.csv")
                #expect(count == 0)
                #expect(digest == Fixtures.sha256([]))
            }
        }
    }

    @Test func aMissingBucketFailsAtCreateWithoutLeavingAnything() async throws {
        let path = try Fixtures.temporaryFile(Fixtures.bytes(count: 1000, seed: 1))
        defer { unlink(path) }
        try await withMotoServer(environment: Fixtures.motoEnvironment) { moto in
            let record = try await Fixtures.withEngine(endpoint: moto.endpoint, configuration: Self.multipartOnly()) { engine in
                await engine.upload(.init(source: .file(path: path), bucket: "no-such-bucket", key: "a.csv"))
            }
            #expect(record.outcome == .fail)
            #expect(record.uploadId == nil)
            #expect(record.failure?.message.contains("NoSuchBucket") == true)
            #expect(record.operations.map(\.name) == ["CreateMultipartUpload"])
            #expect(record.operations[0].attempts.count == 1)  // a 404 is not retried
            #expect(record.abort == nil)
        }
    }

    @Test func aGeneratedDatasetArrivesAsTheRecipeRegenerates() async throws {
        let schema = try SchemaLoader.load(path: Fixtures.repositoryRoot + "/generators/customers.yaml")
        let recipe = DatasetRecipe(schema: schema, seed: 7, size: .bytes(700_000))
        var expected: [UInt8] = []
        let regenerated = try DatasetGenerator.write(schema: schema, recipe: recipe, threads: 1) { expected.append(contentsOf: $0) }
        try await withMotoServer(environment: Fixtures.motoEnvironment) { moto in
            try await withTestHTTPClient { http in
                let s3 = try Fixtures.client(http, endpoint: moto.endpoint)
                try await s3.createBucket("raw")
                let record = try await Fixtures.withEngine(endpoint: moto.endpoint) { engine in
                    await engine.upload(.init(source: .generated(schema: schema, recipe: recipe, threads: 2), bucket: "raw", key: "gen/customers.csv"))
                }
                #expect(record.outcome == .ok, "\(record.failure?.message ?? "")")
                #expect(record.parts.count == PartSizing.partCount(length: expected.count, partSize: Fixtures.partSize))
                #expect(record.bytesUploaded == expected.count)
                #expect(record.recipe?.rows == regenerated.rows)
                #expect(record.recipe?.bytes == expected.count)
                #expect(record.source.hasPrefix("generate:"))
                let (digest, count) = try await Fixtures.digest(s3, bucket: "raw", key: "gen/customers.csv")
                #expect(count == expected.count)
                #expect(digest == Fixtures.sha256(expected))
            }
        }
    }

    @Test func aPartThatKeepsFailingAbortsTheUploadAndLeavesNothing() async throws {
        let object = Fixtures.bytes(count: 6 * Fixtures.partSize, seed: 3)
        let path = try Fixtures.temporaryFile(object)
        defer { unlink(path) }
        try await withMotoServer(environment: Fixtures.motoEnvironment) { moto in
            try await withTestHTTPClient { http in
                let s3 = try Fixtures.client(http, endpoint: moto.endpoint)
                try await s3.createBucket("raw")
                // Part 3 always answers 500 InternalError: retried (3 attempts), then the upload fails.
                // One part in flight: no sibling request can race moto's abort (under load moto
                // then answered a stray 500 of its own, which made the exact counts below flaky).
                let record = try await FaultProxy.withProxy(upstream: moto.endpoint, rule: { request in
                    request.operation == "UploadPart" && request.partNumber == 3 ? .respond(status: 500, code: "InternalError") : .forward
                }) { proxy in
                    try await Fixtures.withEngine(endpoint: proxy.endpoint, configuration: Fixtures.engineConfiguration(partsInFlight: 1, total: 1)) { engine in
                        await engine.upload(.init(source: .file(path: path), bucket: "raw", key: "fails.csv"))
                    }
                }
                #expect(record.outcome == .fail)
                #expect(!record.cancelled)
                #expect(record.failure?.code == "request-failed")
                #expect(record.failure?.message.contains("part 3") == true)
                let part3 = try #require(record.parts.first { $0.number == 3 })
                #expect(part3.attempts.count == 3)
                #expect(part3.attempts.allSatisfy { $0.retryReason == "transient" })
                #expect(!part3.succeeded)
                #expect(record.retries.failedAttemptsByReason["transient"] == 3, "\(record.parts.map { ($0.number, $0.attempts.map { $0.retryReason ?? "ok" }) }) \(record.abort?.operations.map { ($0.name, $0.attempts.map { $0.retryReason ?? "ok" }) } ?? [])")
                let abort = try #require(record.abort)
                #expect(abort.confirmed)
                #expect(abort.uploadExisted == true)
                #expect(!record.operations.contains { $0.name == "CompleteMultipartUpload" })
                try await Self.expectNothingLeft(s3, bucket: "raw", key: "fails.csv")
            }
        }
    }

    @Test func cancellationAbortsTheUpload() async throws {
        let object = Fixtures.bytes(count: 5 * Fixtures.partSize, seed: 4)
        let path = try Fixtures.temporaryFile(object)
        defer { unlink(path) }
        try await withMotoServer(environment: Fixtures.motoEnvironment) { moto in
            try await withTestHTTPClient { http in
                let s3 = try Fixtures.client(http, endpoint: moto.endpoint)
                try await s3.createBucket("raw")
                // Part 2 never gets an answer, so the upload cannot finish before we cancel it.
                let record = try await FaultProxy.withProxy(upstream: moto.endpoint, rule: { request in
                    request.operation == "UploadPart" && request.partNumber == 2 ? .hang : .forward
                }) { proxy in
                    try await Fixtures.withEngine(endpoint: proxy.endpoint) { engine in
                        let upload = Task { await engine.upload(.init(source: .file(path: path), bucket: "raw", key: "cancelled.csv")) }
                        await proxy.waitForRequest { $0.operation == "UploadPart" && $0.partNumber == 2 }
                        upload.cancel()
                        return await upload.value
                    }
                }
                #expect(record.outcome == .fail)
                #expect(record.cancelled)
                #expect(record.failure?.code == "cancelled")
                let abort = try #require(record.abort)
                #expect(abort.confirmed)
                #expect(!record.operations.contains { $0.name == "CompleteMultipartUpload" })
                try await Self.expectNothingLeft(s3, bucket: "raw", key: "cancelled.csv")
            }
        }
    }

    @Test func aWrongChecksumEchoIsAnIntegrityFailure() async throws {
        let object = Fixtures.bytes(count: 3 * Fixtures.partSize, seed: 5)
        let path = try Fixtures.temporaryFile(object)
        defer { unlink(path) }
        try await withMotoServer(environment: Fixtures.motoEnvironment) { moto in
            try await withTestHTTPClient { http in
                let s3 = try Fixtures.client(http, endpoint: moto.endpoint)
                try await s3.createBucket("raw")
                let record = try await FaultProxy.withProxy(upstream: moto.endpoint, rule: { request in
                    request.operation == "UploadPart" && request.partNumber == 2
                        ? .forwardReplacingHeader(name: "x-amz-checksum-crc32c", value: "AAAAAA==") : .forward
                }) { proxy in
                    try await Fixtures.withEngine(endpoint: proxy.endpoint) { engine in
                        await engine.upload(.init(source: .file(path: path), bucket: "raw", key: "corrupt.csv"))
                    }
                }
                #expect(record.outcome == .fail)
                #expect(record.failure?.code == "integrity")
                #expect(record.failure?.message.contains("part 2") == true)
                #expect(record.abort?.confirmed == true)
                try await Self.expectNothingLeft(s3, bucket: "raw", key: "corrupt.csv")
            }
        }
    }

    @Test func completeAnsweringErrorInA200IsRetriedThenFailsAndAborts() async throws {
        let object = Fixtures.bytes(count: 2 * Fixtures.partSize, seed: 6)
        let path = try Fixtures.temporaryFile(object)
        defer { unlink(path) }
        try await withMotoServer(environment: Fixtures.motoEnvironment) { moto in
            try await withTestHTTPClient { http in
                let s3 = try Fixtures.client(http, endpoint: moto.endpoint)
                try await s3.createBucket("raw")
                let record = try await FaultProxy.withProxy(upstream: moto.endpoint, rule: { request in
                    request.operation == "CompleteMultipartUpload" ? .respond(status: 200, code: "InternalError") : .forward
                }) { proxy in
                    try await Fixtures.withEngine(endpoint: proxy.endpoint) { engine in
                        await engine.upload(.init(source: .file(path: path), bucket: "raw", key: "complete-fails.csv"))
                    }
                }
                #expect(record.outcome == .fail)
                let complete = try #require(record.operations.first { $0.name == "CompleteMultipartUpload" })
                #expect(complete.attempts.count == 3)
                #expect(complete.attempts.allSatisfy { $0.retryReason == "transient" && ($0.error ?? "").contains("<Error> body") })
                #expect(record.abort?.confirmed == true)
                #expect(record.abort?.uploadExisted == true)
                try await Self.expectNothingLeft(s3, bucket: "raw", key: "complete-fails.csv")
            }
        }
    }

    /// The connection dies after CompleteMultipartUpload reached moto (which completes the
    /// object). When every attempt dies so, the outcome is unknown; when only the first does,
    /// the retry succeeds (S3, and moto, answer a repeated Complete of a completed upload with
    /// success) and the outcome is ok.
    @Test("a connection lost after Complete", arguments: [true, false])
    func aConnectionLostAfterComplete(everyAttempt: Bool) async throws {
        let object = Fixtures.bytes(count: 2 * Fixtures.partSize + 1, seed: 8)
        let path = try Fixtures.temporaryFile(object)
        defer { unlink(path) }
        try await withMotoServer(environment: Fixtures.motoEnvironment) { moto in
            try await withTestHTTPClient { http in
                let s3 = try Fixtures.client(http, endpoint: moto.endpoint)
                try await s3.createBucket("raw")
                let record = try await FaultProxy.withProxy(upstream: moto.endpoint, rule: { request in
                    request.operation == "CompleteMultipartUpload" && (everyAttempt || request.occurrence == 1) ? .forwardThenDrop : .forward
                }) { proxy in
                    try await Fixtures.withEngine(endpoint: proxy.endpoint) { engine in
                        await engine.upload(.init(source: .file(path: path), bucket: "raw", key: "maybe.csv"))
                    }
                }
                let complete = try #require(record.operations.first { $0.name == "CompleteMultipartUpload" })
                #expect(complete.attempts.first?.retryReason == "connection")
                if everyAttempt {
                    #expect(record.outcome == .unknown, "\(record.failure?.message ?? "")")
                    #expect(complete.attempts.count == 3)
                    #expect(complete.attempts.allSatisfy { $0.retryReason == "connection" })
                    #expect(record.failure?.message.contains("may or may not exist") == true)
                    // The abort finds nothing (moto completed it), which keeps the outcome unknown.
                    #expect(record.abort?.confirmed == true)
                    #expect(record.abort?.uploadExisted == false)
                } else {
                    #expect(record.outcome == .ok, "\(record.failure?.message ?? "")")
                    #expect(complete.attempts.count == 2)
                    #expect(complete.attempts.last?.error == nil)
                    #expect(record.retries.failedAttemptsByReason["connection"] == 1)
                    #expect(record.abort == nil)
                }
                // The object exists either way: that is what "unknown" is for.
                let (digest, _) = try await Fixtures.digest(s3, bucket: "raw", key: "maybe.csv")
                #expect(digest == Fixtures.sha256(object))
                #expect(try await s3.listAllMultipartUploads(bucket: "raw").isEmpty)
            }
        }
    }

    @Test func uploadsWithinOneEngineShareTheGlobalBufferLimit() async throws {
        let objects = (0..<3).map { Fixtures.bytes(count: 7 * Fixtures.partSize + $0, seed: UInt64(10 + $0)) }
        let paths = try objects.map { try Fixtures.temporaryFile($0) }
        defer { paths.forEach { unlink($0) } }
        try await withMotoServer(environment: Fixtures.motoEnvironment) { moto in
            try await withTestHTTPClient { http in
                let s3 = try Fixtures.client(http, endpoint: moto.endpoint)
                try await s3.createBucket("raw")
                let configuration = Fixtures.engineConfiguration(partsInFlight: 3, total: 2)
                let (records, stats) = try await Fixtures.withEngine(endpoint: moto.endpoint, configuration: configuration) { engine in
                    let records = await withTaskGroup(of: UploadRecord.self) { group in
                        for (i, path) in paths.enumerated() {
                            group.addTask { await engine.upload(.init(source: .file(path: path), bucket: "raw", key: "many/\(i).csv")) }
                        }
                        return await group.reduce(into: []) { $0.append($1) }
                    }
                    return (records, engine.buffers.statistics)
                }
                #expect(records.count == 3)
                #expect(records.allSatisfy { $0.outcome == .ok })
                #expect(stats.created <= 2)
                #expect(stats.peakInUse <= 2)
                for (i, object) in objects.enumerated() {
                    let (digest, _) = try await Fixtures.digest(s3, bucket: "raw", key: "many/\(i).csv")
                    #expect(digest == Fixtures.sha256(object))
                }
            }
        }
    }

    @Test func uploadsCleanAbortsOrphans() async throws {
        try await withMotoServer(environment: Fixtures.motoEnvironment) { moto in
            try await withTestHTTPClient { http in
                let s3 = try Fixtures.client(http, endpoint: moto.endpoint)
                try await s3.createBucket("raw")
                var orphans: [String] = []
                for key in ["runs/a.csv", "runs/b.csv", "other/c.csv"] {
                    let upload = try await s3.createMultipartUpload(bucket: "raw", key: key)
                    _ = try await s3.uploadPart(bucket: "raw", key: key, uploadId: upload.uploadId, partNumber: 1, body: .init(bytes: Fixtures.bytes(count: 1000, seed: 1)))
                    orphans.append(upload.uploadId)
                }
                let cleaner = OrphanedUploadsCleaner(client: s3)
                // moto lists every upload as initiated at 2010-11-10T20:48:33.000Z: half an hour
                // later they are younger than an hour, so kept.
                let listed = try await s3.listAllMultipartUploads(bucket: "raw")
                let initiated = try #require(listed.first?.initiated.flatMap(OrphanedUploadsCleaner.parseDate))
                let young = try await cleaner.clean(bucket: "raw", olderThan: .seconds(3600), now: initiated.addingTimeInterval(1800))
                #expect(young.kept == 3)
                #expect(young.aborted == 0)
                // Dry run: nothing aborted.
                let dry = try await cleaner.clean(bucket: "raw", dryRun: true)
                #expect(dry.actions.map(\.result) == [.wouldAbort, .wouldAbort, .wouldAbort])
                #expect(try await s3.listAllMultipartUploads(bucket: "raw").count == 3)
                // A prefix, then everything.
                var printed: [String] = []
                let runs = try await cleaner.clean(bucket: "raw", prefix: "runs/") { printed.append("\($0.result.rawValue) \($0.key)") }
                #expect(runs.aborted == 2)
                #expect(printed.sorted() == ["aborted runs/a.csv", "aborted runs/b.csv"])
                #expect(try await s3.listAllMultipartUploads(bucket: "raw").map(\.key) == ["other/c.csv"])
                let rest = try await cleaner.clean(bucket: "raw")
                #expect(rest.aborted == 1)
                #expect(rest.failed == 0)
                #expect(try await s3.listAllMultipartUploads(bucket: "raw").isEmpty)
            }
        }
    }
}
