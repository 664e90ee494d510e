import AWSWire
import Crypto
import Emulator
import Foundation
import NIOCore
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Large bodies written with O_DIRECT through an aligned staging buffer (BlobStore/DirectWrites).
@Suite("Direct writes of large bodies", .timeLimit(.minutes(2)))
struct DirectWritesTests {
    /// The open flags of one of this process's descriptors (from /proc/self/fdinfo), or nil.
    private static func openFlags(of path: String) -> Int? {
        let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        for fd in fds {
            guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(fd)"), target == path,
                  let info = try? String(contentsOfFile: "/proc/self/fdinfo/\(fd)", encoding: .utf8),
                  let line = info.split(separator: "\n").first(where: { $0.hasPrefix("flags:") })
            else { continue }
            return Int(line.dropFirst("flags:".count).trimmingCharacters(in: .whitespaces), radix: 8)
        }
        return nil
    }

    /// Writes `bytes` in pieces of `piece` bytes; returns the writer's digests and the file's bytes.
    private static func write(
        _ bytes: [UInt8], piece: Int, store: BlobStore, declared: Int64?
    ) async throws -> (direct: Bool, flags: Int?, digests: BlobDigests, stored: [UInt8]) {
        let writer = try store.makeWriter(checksums: [.crc32c], declaredLength: declared)
        let flags = Self.openFlags(of: "\(store.root)/tmp/\(writer.name)")
        var offset = 0
        while offset < bytes.count {
            let end = min(offset + piece, bytes.count)
            try bytes[offset..<end].withUnsafeBytes { try writer.append($0) }
            offset = end
        }
        let digests = try await writer.finish()
        try writer.commit()
        let stored = [UInt8](try Data(contentsOf: URL(fileURLWithPath: store.path(of: writer.name))))
        return (writer.writesDirectly, flags, digests, stored)
    }

    @Test(arguments: [
        (1 << 20, 65_537), (1 << 20 | 1, 65_536), (5 * DirectWrites.bufferSize, 100_000),
        (3 << 20 | 777, 4_096), (6 * DirectWrites.bufferSize - 1, 300_000),
    ])
    func largeBodiesAreStoredExactly(count: Int, piece: Int) async throws {
        let bytes = TestEmulator.bytes(count: count, seed: UInt64(count))
        let root = try TestEmulator.scratchDirectory("direct")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let store = try BlobStore(root: root, fsync: false, directWrites: true)
        let result = try await Self.write(bytes, piece: piece, store: store, declared: Int64(count))
        // Wherever the file system takes O_DIRECT, a body of 1 MiB or more is written with it.
        #expect(result.direct == store.directWrites)
        #expect(store.directWrites == DirectWrites.isSupported(in: root))
        #expect(result.flags != nil, "the blob's descriptor is in /proc/self/fdinfo")
        if let flags = result.flags {
            #expect((flags & Int(DirectWrites.flag) != 0) == result.direct, "the descriptor has O_DIRECT exactly when written directly")
        }
        // Exactly the bytes: the padded tail was cut off.
        #expect(result.stored.count == count)
        #expect(result.stored == bytes)
        #expect(result.digests.size == Int64(count))
        #expect(result.digests.md5 == Array(Insecure.MD5.hash(data: bytes)))
        #expect(result.digests.checksums[.crc32c] == CRC32C.checksum(bytes).base64)
    }

    @Test func smallOrUnknownBodiesAndTheSwitchUseThePageCache() async throws {
        let bytes = TestEmulator.bytes(count: 200_000, seed: 7)
        let root = try TestEmulator.scratchDirectory("direct")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let store = try BlobStore(root: root, fsync: false, directWrites: true)
        for declared in [Int64(bytes.count), nil] {
            let result = try await Self.write(bytes, piece: 50_000, store: store, declared: declared)
            #expect(!result.direct)
            if let flags = result.flags { #expect(flags & Int(DirectWrites.flag) == 0) }
            #expect(result.stored == bytes)
        }
        let off = try BlobStore(root: root, fsync: false, directWrites: false)
        #expect(!off.directWrites)
        let big = TestEmulator.bytes(count: 2 << 20, seed: 8)
        let result = try await Self.write(big, piece: 65_536, store: off, declared: Int64(big.count))
        #expect(!result.direct)
        #expect(result.stored == big)
    }

    @Test func anAbandonedDirectWriteLeavesNothing() async throws {
        let root = try TestEmulator.scratchDirectory("direct")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let store = try BlobStore(root: root, fsync: false, directWrites: true)
        do {
            let writer = try store.makeWriter(checksums: [], declaredLength: 4 << 20)
            let bytes = TestEmulator.bytes(count: 700_000, seed: 9)
            try bytes.withUnsafeBytes { try writer.append($0) }
            #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/tmp").count == 1)
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/tmp").isEmpty)
    }

    /// Through the S3 face: multipart parts and a PutObject over 1 MiB, read back whole and in ranges.
    @Test func objectsWrittenDirectlyReadBackIdentically() async throws {
        try await TestEmulator.withS3 { s3, _ in
            let part1 = TestEmulator.bytes(count: (3 << 20) + 5, seed: 11)
            let part2 = TestEmulator.bytes(count: (1 << 20) + 4_097, seed: 12)
            let upload = try await s3.createMultipartUpload(bucket: "raw", key: "direct/multi.bin")
            let p1 = try await s3.uploadPart(bucket: "raw", key: "direct/multi.bin", uploadId: upload.uploadId, partNumber: 1, body: TestEmulator.buffer(part1))
            let p2 = try await s3.uploadPart(bucket: "raw", key: "direct/multi.bin", uploadId: upload.uploadId, partNumber: 2, body: TestEmulator.buffer(part2))
            #expect(p1.eTag == "\"\(Insecure.MD5.hash(data: part1).map { String(format: "%02x", $0) }.joined())\"")
            _ = try await s3.completeMultipartUpload(
                bucket: "raw", key: "direct/multi.bin", uploadId: upload.uploadId,
                parts: [p1.completedPart, p2.completedPart]
            )
            let whole = try await s3.getObject(bucket: "raw", key: "direct/multi.bin")
            #expect(Array(buffer: try await whole.body.collect(upTo: 8 << 20)) == part1 + part2)
            let across = try await s3.getObject(bucket: "raw", key: "direct/multi.bin", range: .bytes(Int64(part1.count - 10)...Int64(part1.count + 9)))
            #expect(Array(buffer: try await across.body.collect(upTo: 1 << 20)) == Array((part1 + part2)[(part1.count - 10)..<(part1.count + 10)]))

            let single = TestEmulator.bytes(count: (2 << 20) + 1, seed: 13)
            _ = try await s3.putObject(bucket: "raw", key: "direct/put.bin", body: TestEmulator.buffer(single))
            let got = try await s3.getObject(bucket: "raw", key: "direct/put.bin")
            #expect(Array(buffer: try await got.body.collect(upTo: 4 << 20)) == single)
        }
    }
}
