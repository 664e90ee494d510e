import AWSWire
import Crypto
import Foundation
import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Object bytes as files: `blobs/<xx>/<name>` under the state directory. A blob is written to
/// `tmp/` while the request streams in, and renamed into `blobs/` only when complete; metadata
/// refers to it only after that. So after a crash, `tmp/` holds at most garbage (cleared at
/// start) and `blobs/` at most unreferenced files (collected at start); nothing half-written is
/// ever visible.
package struct BlobStore: Sendable {
    package let root: String
    package let fsync: Bool
    /// Whether large bodies are written with `O_DIRECT` (see ``DirectWrites``): asked for, and
    /// the state directory's file system takes it.
    package let directWrites: Bool
    /// A body declared at least this long is written directly; smaller ones, and bodies of
    /// unknown length, through the page cache.
    package static let directWriteMinimum: Int64 = 1 << 20
    /// Whether direct writes are submitted asynchronously (``DirectWriteQueue``) where the
    /// kernel allows; off, each write waits for the device.
    package let asynchronousDirectWrites: Bool
    private let staging: DirectWrites.BufferPool
    private let contexts: AIOContextPool

    /// Staging buffers held by writers now (for tests: all come back).
    package var stagingBuffersOut: Int { self.staging.outstanding }

    /// - Parameters:
    ///   - directWrites: write large bodies with `O_DIRECT` when the file system allows it
    ///     (probed here; see ``EmulatorConfiguration/directWrites``).
    ///   - asynchronousDirectWrites: submit those writes with native AIO, several in flight.
    package init(root: String, fsync: Bool, directWrites: Bool = false, asynchronousDirectWrites: Bool = true) throws {
        self.root = root
        self.fsync = fsync
        self.asynchronousDirectWrites = asynchronousDirectWrites
        let fm = FileManager.default
        try fm.createDirectory(atPath: root + "/tmp", withIntermediateDirectories: true)
        self.directWrites = directWrites && DirectWrites.isSupported(in: root + "/tmp")
        self.staging = DirectWrites.BufferPool()
        self.contexts = .shared
        for index in 0..<256 {
            try fm.createDirectory(atPath: self.directory(prefix: Self.hexByte(index)), withIntermediateDirectories: true)
        }
    }

    private static func hexByte(_ value: Int) -> String {
        let digits = Array("0123456789abcdef")
        return String([digits[value >> 4], digits[value & 15]])
    }

    private func directory(prefix: String) -> String { "\(self.root)/blobs/\(prefix)" }

    package func path(of name: String) -> String {
        "\(self.root)/blobs/\(name.prefix(2))/\(name)"
    }

    /// A new random blob name (32 hex digits).
    package static func newName() -> String {
        var generator = SystemRandomNumberGenerator()
        let a = generator.next() as UInt64
        let b = generator.next() as UInt64
        func hex(_ v: UInt64) -> String {
            let s = String(v, radix: 16)
            return String(repeating: "0", count: 16 - s.count) + s
        }
        return hex(a) + hex(b)
    }

    /// Starts writing a new blob.
    /// - Parameter md5: how to compute the MD5 (the ETag of a plain object). With `.none`,
    ///   ``BlobDigests/md5`` is empty (for objects whose ETag is not an MD5, as SSE-KMS objects').
    /// - Parameter declaredLength: the body's length when known: from ``directWriteMinimum`` on,
    ///   it is written with `O_DIRECT` (when ``directWrites``).
    package func makeWriter(
        checksums: Set<ChecksumAlgorithm>, md5: BlobWriter.MD5Mode = .inline, declaredLength: Int64? = nil
    ) throws(S3Error) -> BlobWriter {
        let name = Self.newName()
        let tmp = "\(self.root)/tmp/\(name)"
        let direct = self.directWrites && (declaredLength ?? 0) >= Self.directWriteMinimum
        let fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | (direct ? DirectWrites.flag : 0), 0o644)
        guard fd >= 0 else { throw S3Error(.internalError, "cannot create \(tmp): errno \(errno)") }
        let queue = direct && self.asynchronousDirectWrites
            ? DirectWriteQueue(fd: fd, pool: self.staging, contexts: self.contexts, length: declaredLength ?? 0)
            : nil
        return BlobWriter(
            name: name, tmpPath: tmp, finalPath: self.path(of: name), fd: fd, fsync: self.fsync, checksums: checksums, md5: md5,
            staging: direct ? self.staging : nil, queue: queue
        )
    }

    /// Removes blobs (after the metadata that referred to them is gone). Missing files are fine.
    package func remove(_ names: [String]) {
        for name in names { unlink(self.path(of: name)) }
    }

    /// Startup: empties `tmp/` and removes every blob `isReferenced` does not know.
    /// Returns how many files were removed.
    package func collectGarbage(isReferenced: (String) -> Bool) -> Int {
        let fm = FileManager.default
        var removed = 0
        for name in (try? fm.contentsOfDirectory(atPath: self.root + "/tmp")) ?? [] {
            unlink("\(self.root)/tmp/\(name)")
            removed += 1
        }
        for index in 0..<256 {
            let directory = self.directory(prefix: Self.hexByte(index))
            for name in (try? fm.contentsOfDirectory(atPath: directory)) ?? [] where !isReferenced(name) {
                unlink("\(directory)/\(name)")
                removed += 1
            }
        }
        return removed
    }

    /// Opens a blob for reading.
    package func openForReading(_ name: String) throws(S3Error) -> Int32 {
        let fd = open(self.path(of: name), O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw S3Error(.internalError, "object data \(name) is missing (errno \(errno))") }
        return fd
    }
}

/// The digests of a finished blob.
package struct BlobDigests: Sendable, Hashable {
    package var size: Int64
    package var md5: [UInt8]
    /// The body's SHA-256 when the engine computed it (a signed payload), else empty.
    package var sha256: [UInt8] = []
    package var checksums: [ChecksumAlgorithm: String]

    package var md5Hex: String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(32)
        for byte in self.md5 {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    package var md5Base64: String { Data(self.md5).base64EncodedString() }
}

/// Streams one blob to disk while computing its MD5 (the ETag) and the requested checksums.
/// Memory use is bounded: every buffer is hashed and written, then dropped (with
/// ``MD5Mode/engine(_:sha256:)``, at most the engine's high-water mark waits for the digests).
///
/// Owned by one request task. If it is dropped without ``commit()``, the temporary file is removed.
package final class BlobWriter {
    /// Where the MD5 is computed.
    package enum MD5Mode {
        /// None (``BlobDigests/md5`` stays empty).
        case none
        /// On the writing task, as bytes are appended.
        case inline
        /// On the ``BodyDigestEngine``'s thread, beside the writing task, batched with other
        /// bodies; with `sha256`, the body's SHA-256 as well (``BlobDigests/sha256``). Only
        /// ``append(_:sha256:)`` feeds it.
        case engine(BodyDigestEngine, sha256: Bool)
    }

    package let name: String
    private let tmpPath: String
    private let finalPath: String
    private var fd: Int32
    private let fsync: Bool
    private var committed = false
    package private(set) var size: Int64 = 0
    private var md5: BodyDigestState?
    private var md5Stream: BodyDigestStream?
    private var crc32: CRC32?
    private var crc32c: CRC32C?

    /// Set when the file was opened with `O_DIRECT`: bytes gather in ``stage`` (from this
    /// pool) and go to disk a whole buffer at a time.
    private let staging: DirectWrites.BufferPool?
    private var stage: UnsafeMutableRawPointer?
    private var staged = 0
    /// With ``queue``: the file offset of the next staging buffer to be written.
    private var submitted: Int64 = 0
    /// Set when direct writes are submitted asynchronously.
    private let queue: DirectWriteQueue?

    /// Whether this blob is written with `O_DIRECT`.
    package var writesDirectly: Bool { self.staging != nil }
    /// Whether its direct writes go to the device asynchronously, several in flight.
    package var writesAsynchronously: Bool { self.queue != nil }

    fileprivate init(
        name: String, tmpPath: String, finalPath: String, fd: Int32, fsync: Bool, checksums: Set<ChecksumAlgorithm>, md5: MD5Mode,
        staging: DirectWrites.BufferPool?, queue: DirectWriteQueue?
    ) {
        self.name = name
        self.tmpPath = tmpPath
        self.finalPath = finalPath
        self.fd = fd
        self.fsync = fsync
        self.staging = staging
        self.queue = queue
        if checksums.contains(.crc32) { self.crc32 = CRC32() }
        if checksums.contains(.crc32c) { self.crc32c = CRC32C() }
        switch md5 {
        case .none: break
        case .inline: self.md5 = BodyDigestState()
        case .engine(let engine, let sha256): self.md5Stream = engine.makeStream(sha256: sha256)
        }
    }

    deinit {
        self.md5Stream?.cancel()
        if let stage = self.stage { self.staging?.give(stage) }
        if self.fd >= 0 { close(self.fd) }
        if !self.committed { unlink(self.tmpPath) }
    }

    /// Hashes and writes `bytes` (not for an ``MD5Mode/engine(_:sha256:)`` writer: it takes buffers).
    package func append(_ bytes: UnsafeRawBufferPointer) throws(S3Error) {
        precondition(self.md5Stream == nil, "an engine-hashed blob is appended as ByteBuffers")
        guard bytes.count > 0 else { return }
        self.hash(bytes)
        try self.store(bytes)
        self.size += Int64(bytes.count)
    }

    package func append(_ buffer: ByteBuffer) throws(S3Error) {
        do {
            try buffer.withUnsafeReadableBytes { bytes in try self.append(bytes) }
        } catch let error as S3Error {
            throw error
        } catch {
            throw S3Error(.internalError, "\(error)")
        }
    }

    /// Hashes and writes `buffer`, and feeds it to `sha256` (a signed payload being verified).
    /// With an engine, the MD5 happens on the engine's thread while this task computes the
    /// checksums and writes; this waits only when the engine is behind by its high-water mark.
    package func append(_ buffer: ByteBuffer, sha256: inout SHA256?) async throws(S3Error) {
        guard buffer.readableBytes > 0 else { return }
        if let stream = self.md5Stream { await stream.submit(buffer) }
        var failure: S3Error?
        buffer.withUnsafeReadableBytes { bytes in
            self.hash(bytes)
            if sha256 != nil { sha256!.update(bufferPointer: bytes) }
            do throws(S3Error) {
                try self.store(bytes)
            } catch {
                failure = error
            }
        }
        if let failure { throw failure }
        self.size += Int64(buffer.readableBytes)
    }

    private func hash(_ bytes: UnsafeRawBufferPointer) {
        self.md5?.update(bytes)
        if self.crc32c != nil { self.crc32c!.update(bytes) }
        if self.crc32 != nil { self.crc32!.update(bytes) }
    }

    /// Writes `bytes` to the file, or (direct) into the staging buffer, writing it out each
    /// time it fills.
    private func store(_ bytes: UnsafeRawBufferPointer) throws(S3Error) {
        guard let staging = self.staging else {
            try Self.writeAll(fd: self.fd, bytes)
            return
        }
        var offset = 0
        while offset < bytes.count {
            if self.stage == nil {
                if let queue = self.queue {
                    self.stage = try queue.nextBuffer()
                } else {
                    guard let buffer = staging.take() else { throw S3Error(.internalError, "cannot allocate a write buffer") }
                    self.stage = buffer
                }
            }
            let take = min(DirectWrites.bufferSize - self.staged, bytes.count - offset)
            (self.stage! + self.staged).copyMemory(from: bytes.baseAddress! + offset, byteCount: take)
            self.staged += take
            offset += take
            if self.staged == DirectWrites.bufferSize {
                try self.writeStage(count: self.staged)
            }
        }
    }

    /// Direct: writes the `count` bytes at the start of the staging buffer (a whole buffer, or
    /// the padded tail), synchronously or by handing the buffer to ``queue``.
    private func writeStage(count: Int) throws(S3Error) {
        guard let stage = self.stage else { return }
        self.staged = 0
        if let queue = self.queue {
            self.stage = nil
            try queue.submit(stage, count: count, offset: self.submitted)
            self.submitted += Int64(count)
        } else {
            try Self.writeAll(fd: self.fd, UnsafeRawBufferPointer(start: stage, count: count))
        }
    }

    /// Direct: writes (or submits) the staged tail padded to the alignment.
    private func writeTail() throws(S3Error) {
        guard self.staging != nil else { return }
        defer {
            if let stage = self.stage { self.staging?.give(stage) }
            self.stage = nil
        }
        if let stage = self.stage, self.staged > 0 {
            let padded = (self.staged + DirectWrites.alignment - 1) / DirectWrites.alignment * DirectWrites.alignment
            (stage + self.staged).initializeMemory(as: UInt8.self, repeating: 0, count: padded - self.staged)
            try self.writeStage(count: padded)
        }
    }

    /// Direct: waits for the writes in flight, then cuts the file to its size (the padding, or
    /// the preallocation, went past it).
    private func completeWrites() throws(S3Error) {
        guard self.staging != nil else { return }
        try self.queue?.drain()
        guard ftruncate(self.fd, off_t(self.size)) == 0 else {
            throw S3Error(.internalError, "cannot truncate object data to its size: errno \(errno)")
        }
    }

    private static func writeAll(fd: Int32, _ bytes: UnsafeRawBufferPointer) throws(S3Error) {
        var offset = 0
        while offset < bytes.count {
            let written = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                throw S3Error(.internalError, "writing object data failed: errno \(errno)")
            }
            offset += written
        }
    }

    /// Closes the file (fsynced in ``EmulatorConfiguration/Durability/powerLoss``) and returns
    /// the digests. The blob is not visible until ``commit()``.
    package func finish() async throws(S3Error) -> BlobDigests {
        try self.writeTail()
        var md5 = self.md5?.finalize().md5 ?? []
        var sha256: [UInt8] = []
        // The engine's last bytes of MD5 (up to its high-water mark behind) overlap the direct
        // writes still in flight.
        if let stream = self.md5Stream {
            self.md5Stream = nil
            let digests = await stream.finish()
            md5 = digests.md5
            sha256 = digests.sha256
        }
        try self.completeWrites()
        if self.fsync, Glibc.fsync(self.fd) != 0 {
            throw S3Error(.internalError, "fsync failed: errno \(errno)")
        }
        close(self.fd)
        self.fd = -1
        var checksums: [ChecksumAlgorithm: String] = [:]
        if let crc32 = self.crc32 { checksums[.crc32] = crc32.base64 }
        if let crc32c = self.crc32c { checksums[.crc32c] = crc32c.base64 }
        return BlobDigests(size: self.size, md5: md5, sha256: sha256, checksums: checksums)
    }

    /// Moves the finished file into `blobs/`. After this, the caller owns the blob (it must be
    /// referenced by metadata, or removed).
    package func commit() throws(S3Error) {
        guard rename(self.tmpPath, self.finalPath) == 0 else {
            throw S3Error(.internalError, "cannot move object data into place: errno \(errno)")
        }
        self.committed = true
        if self.fsync {
            let directory = String(self.finalPath[..<self.finalPath.lastIndex(of: "/")!])
            let dfd = open(directory, O_RDONLY | O_DIRECTORY)
            if dfd >= 0 {
                _ = Glibc.fsync(dfd)
                close(dfd)
            }
        }
    }
}
