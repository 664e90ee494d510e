import TestSupport
import AWSWire
import Foundation
import NIOCore
import SyntheticData
import Testing

@testable import Harness

/// The benchmark's S3 sink, driven by the upload engine: it must give verifying clients true
/// answers (CRC32C echo, MD5 ETags, composite checksums) while storing nothing.
@Suite("S3 sink", .timeLimit(.minutes(2)))
struct S3SinkTests {
    @Test("the engine verifies everything against the sink", arguments: [UploadEngine.Checksum.crc32c, .md5])
    func engineAgainstSink(checksum: UploadEngine.Checksum) async throws {
        let object = Fixtures.bytes(count: 9 * Fixtures.partSize + 7, seed: 21)
        let path = try Fixtures.temporaryFile(object)
        defer { unlink(path) }
        try await S3Sink.withSink { sink in
            let record = try await Fixtures.withEngine(endpoint: sink.endpoint, configuration: Fixtures.engineConfiguration(checksum: checksum)) { engine in
                await engine.upload(.init(source: .file(path: path), bucket: "bench", key: "a.csv"))
            }
            #expect(record.outcome == .ok, "\(record.failure?.message ?? "")")
            #expect(record.parts.count == 10)
            #expect(record.verification == (checksum == .crc32c ? .compositeCRC32C : .md5ETag))
            if checksum == .crc32c {
                let composite = CRC32C.composite(parts: record.parts.map { CRC32C(base64: $0.checksum)! })
                #expect(record.objectChecksum == composite)
            }
            let stats = sink.statistics
            #expect(stats.requests["UploadPart"] == 10)
            #expect(stats.requests["CompleteMultipartUpload"] == 1)
            #expect(stats.bodyBytes >= object.count)
            #expect(stats.badDigests == 0)
        }
    }

    @Test func aGeneratedUploadAgainstTheSink() async throws {
        let schema = try SchemaLoader.load(path: Fixtures.repositoryRoot + "/generators/customers.yaml")
        let recipe = DatasetRecipe(schema: schema, seed: 3, size: .bytes(3 << 20))
        try await S3Sink.withSink { sink in
            let record = try await Fixtures.withEngine(endpoint: sink.endpoint) { engine in
                await engine.upload(.init(source: .generated(schema: schema, recipe: recipe, threads: 2), bucket: "bench", key: "g.csv"))
            }
            #expect(record.outcome == .ok, "\(record.failure?.message ?? "")")
            #expect(record.verification == .compositeCRC32C)
            #expect(record.bytesUploaded >= 3 << 20)
            #expect(record.recipe?.bytes == record.bytesUploaded)
        }
    }

    @Test func aWrongChecksumIsRejectedWithBadDigest() async throws {
        try await S3Sink.withSink { sink in
            try await withTestHTTPClient { http in
                let s3 = try Fixtures.client(http, endpoint: sink.endpoint)
                let upload = try await s3.createMultipartUpload(bucket: "bench", key: "x")
                await #expect {
                    _ = try await s3.uploadPart(bucket: "bench", key: "x", uploadId: upload.uploadId, partNumber: 1,
                                                body: ByteBuffer(string: "hello"), checksum: CRC32C(value: 1))
                } throws: { ($0 as? AWSError)?.code == .badDigest }
                #expect(sink.statistics.badDigests == 1)
                try await s3.abortMultipartUpload(bucket: "bench", key: "x", uploadId: upload.uploadId)
                await #expect {
                    _ = try await s3.listParts(bucket: "bench", key: "x", uploadId: upload.uploadId)
                } throws: { ($0 as? AWSError)?.code == .noSuchUpload }
            }
        }
    }
}
