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
    ) async throws -> (direct: Bool, asynchronous: Bool, flags: Int?, digests: BlobDigests, stored: [UInt8]) {
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
        return (writer.writesDirectly, writer.writesAsynchronously, flags, digests, stored)
    }

    @Test(arguments: [
        (1 << 20, 65_537), (1 << 20 | 1, 65_536), (5 * DirectWrites.bufferSize, 100_000),
        (3 << 20 | 777, 4_096), (6 * DirectWrites.bufferSize - 1, 300_000),
    ])
    func largeBodiesAreStoredExactly(count: Int, piece: Int) async throws {
        for asynchronous in [true, false] {
            try await self.largeBodyIsStoredExactly(count: count, piece: piece, asynchronous: asynchronous)
        }
    }

    private func largeBodyIsStoredExactly(count: Int, piece: Int, asynchronous: Bool) async throws {
        let bytes = TestEmulator.bytes(count: count, seed: UInt64(count))
        let root = try TestEmulator.scratchDirectory("direct")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let store = try BlobStore(root: root, fsync: false, directWrites: true, asynchronousDirectWrites: asynchronous)
        let result = try await Self.write(bytes, piece: piece, store: store, declared: Int64(count))
        // Wherever the file system takes O_DIRECT, a body of 1 MiB or more is written with it;
        // on Linux (native AIO) asynchronously unless switched off.
        #expect(result.direct == store.directWrites)
        #if os(Linux)
        #expect(result.asynchronous == (result.direct && asynchronous))
        #endif
        #expect(store.stagingBuffersOut == 0, "every staging buffer is back in the pool")
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

    /// Dropped mid-body (a client that went away), with writes still in flight: no file is left
    /// and every staging buffer comes back (after its write has finished).
    @Test func anAbandonedDirectWriteLeavesNothing() async throws {
        let root = try TestEmulator.scratchDirectory("direct")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let store = try BlobStore(root: root, fsync: false, directWrites: true)
        do {
            let writer = try store.makeWriter(checksums: [], declaredLength: 4 << 20)
            let bytes = TestEmulator.bytes(count: 5 * DirectWrites.bufferSize / 2, seed: 9)
            try bytes.withUnsafeBytes { try writer.append($0) }
            #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/tmp").count == 1)
            #expect(store.stagingBuffersOut >= 1)
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/tmp").isEmpty)
        #expect(store.stagingBuffersOut == 0)
    }

    /// Many bodies at once: each gets its bytes exactly, and the staging buffers beyond one per
    /// body stay within the pool's budget.
    @Test func concurrentDirectWritersStayWithinTheBudget() async throws {
        let root = try TestEmulator.scratchDirectory("direct")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let store = try BlobStore(root: root, fsync: false, directWrites: true)
        try #require(store.directWrites, "O_DIRECT works in the scratch directory")
        let bodies = (0..<24).map { TestEmulator.bytes(count: (3 << 20) + $0 * 1_001, seed: 100 + UInt64($0)) }
        let writers = try bodies.map { try store.makeWriter(checksums: [.crc32c], declaredLength: Int64($0.count)) }
        let piece = 300_000
        var offset = 0
        var most = 0
        // Round robin, a piece of each body at a time (bounded: the longest body's pieces).
        while offset < bodies.map(\.count).max()! {
            for (body, writer) in zip(bodies, writers) where offset < body.count {
                try body[offset..<min(offset + piece, body.count)].withUnsafeBytes { try writer.append($0) }
                most = max(most, store.stagingBuffersOut)
            }
            offset += piece
        }
        #expect(most <= DirectWrites.BufferPool.maximumOutstanding + bodies.count)
        for (body, writer) in zip(bodies, writers) {
            let digests = try await writer.finish()
            try writer.commit()
            #expect(digests.checksums[.crc32c] == CRC32C.checksum(body).base64)
            #expect([UInt8](try Data(contentsOf: URL(fileURLWithPath: store.path(of: writer.name)))) == body)
        }
        #expect(store.stagingBuffersOut == 0)
    }

    /// The queue itself: up to its depth in flight, then the next buffer waits for a finished
    /// write; a write the device refuses (not aligned) is reported, and its buffer comes back.
    @Test func theWriteQueueKeepsItsDepthAndReportsFailures() throws {
        let root = try TestEmulator.scratchDirectory("direct")
        defer { try? FileManager.default.removeItem(atPath: root) }
        try #require(DirectWrites.isSupported(in: root))
        let pool = DirectWrites.BufferPool()
        let contexts = AIOContextPool()
        let size = DirectWrites.bufferSize
        do {
            let fd = open(root + "/queued", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | DirectWrites.flag, 0o600)
            try #require(fd >= 0)
            defer { close(fd) }
            let queue = try #require(DirectWriteQueue(fd: fd, pool: pool, contexts: contexts, length: Int64(6 * size)))
            // Buffers straight from the pool: `nextBuffer()` would reap writes that have finished,
            // and how many have is up to the device.
            for index in 0..<DirectWriteQueue.depth {
                let buffer = try #require(pool.take())
                memset(buffer, Int32(index + 1), size)
                try queue.submit(buffer, count: size, offset: Int64(index * size))
                #expect(queue.pending == index + 1)
            }
            // At the depth: the next buffer is one whose write has finished.
            let reused = try queue.nextBuffer()
            #expect(queue.pending < DirectWriteQueue.depth)
            memset(reused, 9, size)
            try queue.submit(reused, count: size, offset: Int64(DirectWriteQueue.depth * size))
            try queue.drain()
            #expect(queue.pending == 0)
        }
        #expect(pool.outstanding == 0)
        let written = [UInt8](try Data(contentsOf: URL(fileURLWithPath: root + "/queued")))
        #expect(written.count == 6 * size, "preallocated to the declared length")
        for index in 0...DirectWriteQueue.depth {
            #expect(written[index * size] == (index < DirectWriteQueue.depth ? UInt8(index + 1) : 9))
            #expect(written[(index + 1) * size - 1] == written[index * size])
        }

        let fd = open(root + "/refused", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | DirectWrites.flag, 0o600)
        try #require(fd >= 0)
        defer { close(fd) }
        do {
            let queue = try #require(DirectWriteQueue(fd: fd, pool: pool, contexts: contexts, length: Int64(size)))
            #expect(throws: S3Error.self) {
                let buffer = try queue.nextBuffer()
                try queue.submit(buffer, count: 1_000, offset: 0)
                try queue.drain()
            }
        }
        #expect(pool.outstanding == 0)
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
