import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// In-process object reads and writes for the emulated pipeline's tasks: the same store, blob
/// files, Object Lock rules and Object Created events as the S3 endpoint, without HTTP.
///
/// A write streams into a blob file (MD5 as it goes, memory bounded by the caller's chunks)
/// and becomes visible only when ``ObjectWriter/publish(contentType:metadata:)`` commits
/// it: an abandoned writer (a crashed task) leaves no object and no file.
package struct ObjectIO: Sendable {
    let store: MetadataStore
    let blobs: BlobStore
    let region: String
    let accountId: String
    /// Wakes the event outbox after a commit.
    let onObjectCreated: @Sendable () -> Void

    /// The version to read: `versionId`, or the latest.
    package func object(bucket: String, key: String, versionId: String?) async throws -> ObjectRecord {
        try await self.store.object(bucket: bucket, key: key, versionId: versionId)
    }

    /// ``object(bucket:key:versionId:)`` for several versions in one read (see
    /// ``MetadataStore/objects(_:)``).
    package func objects(_ lookups: [(bucket: String, key: String, versionId: String?)]) async throws -> [Result<ObjectRecord, any Error>] {
        try await self.store.objects(lookups)
    }

    /// Whether a live (non-delete-marker) latest version of `key` exists.
    package func exists(bucket: String, key: String) async -> Bool {
        (try? await self.store.object(bucket: bucket, key: key, versionId: nil)) != nil
    }

    /// A reader of the version's bytes, from the start.
    package func reader(_ object: ObjectRecord) -> ObjectReader {
        ObjectReader(blobs: self.blobs, segments: object.segments)
    }

    /// The whole object, when it is at most `limit` bytes (small objects: reports).
    package func readAll(_ object: ObjectRecord, limit: Int) throws -> [UInt8] {
        guard object.size <= Int64(limit) else { throw S3Error(.entityTooLarge, "object over \(limit) bytes") }
        var out = [UInt8](repeating: 0, count: Int(object.size))
        let reader = self.reader(object)
        var filled = 0
        while filled < out.count {
            let count = try out.withUnsafeMutableBytes { try reader.read(into: UnsafeMutableRawBufferPointer(rebasing: $0[filled...])) }
            if count == 0 { break }
            filled += count
        }
        return Array(out[0..<filled])
    }

    /// A new object. Pipeline outputs are written as the stack writes them, SSE-KMS encrypted:
    /// such an object's ETag is not the MD5 of its content (S3 documents this), so none is
    /// computed — the ETag is derived from the object's CRC32C and size instead, and the CRC32C
    /// is kept as the object's full-object checksum.
    package func makeWriter(bucket: String, key: String) throws -> ObjectWriter {
        ObjectWriter(io: self, bucket: bucket, key: key, blob: try self.blobs.makeWriter(checksums: [.crc32c], md5: .none))
    }
}

/// One object being written by a pipeline task.
package final class ObjectWriter {
    private let io: ObjectIO
    package let bucket: String
    package let key: String
    private let blob: BlobWriter
    private var published = false

    fileprivate init(io: ObjectIO, bucket: String, key: String, blob: BlobWriter) {
        self.io = io
        self.bucket = bucket
        self.key = key
        self.blob = blob
    }

    package var size: Int64 { self.blob.size }

    /// 32 hex digits from the CRC32C and the size: opaque, stable for the content, not an MD5.
    static func kmsStyleETag(crc: String, size: Int64) -> String {
        let crcBytes = Data(base64Encoded: crc).map(Array.init) ?? []
        var value: UInt64 = 0
        for byte in crcBytes { value = value << 8 | UInt64(byte) }
        let a = String(value, radix: 16)
        let b = String(UInt64(bitPattern: size), radix: 16)
        return String(repeating: "0", count: 16 - a.count) + a + String(repeating: "0", count: 16 - b.count) + b
    }

    package func write(_ bytes: UnsafeRawBufferPointer) throws {
        try self.blob.append(bytes)
    }

    package func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try self.blob.append($0) }
    }

    /// Commits the object as a new version (Object Lock retention applies as for any PUT) and
    /// emits its Object Created event. Returns the record.
    package func publish(contentType: String, metadata: [String: String] = [:]) async throws -> ObjectRecord {
        precondition(!self.published, "an object is published once")
        self.published = true
        let digests = try await self.blob.finish()
        try self.blob.commit()
        let crc = digests.checksums[.crc32c]
        let new = NewObject(
            bucket: self.bucket, key: self.key, size: digests.size, etag: digests.md5.isEmpty ? Self.kmsStyleETag(crc: crc ?? "", size: digests.size) : digests.md5Hex,
            contentType: contentType, userMetadata: metadata, checksum: crc.map { ChecksumValue(algorithm: .crc32c, value: $0, type: "FULL_OBJECT") },
            segments: [Segment(blob: self.blob.name, size: digests.size)], partCount: nil, lastModified: Date()
        )
        let context = EventContext(
            requestId: RequestIdGenerator.shared.next(), reason: .putObject, region: self.io.region, account: self.io.accountId,
            sourceIPAddress: "127.0.0.1"
        )
        do {
            let (record, _, removed) = try await self.io.store.putObject(new, context: context)
            self.io.onObjectCreated()
            if !removed.isEmpty { self.io.blobs.remove(removed) }
            return record
        } catch {
            self.io.blobs.remove([self.blob.name])
            throw error
        }
    }
}

/// Reads one object version's bytes in order, across its part files.
package final class ObjectReader {
    private let blobs: BlobStore
    private let segments: [Segment]
    private var segment = 0
    private var offset: Int64 = 0
    private var fd: Int32 = -1

    fileprivate init(blobs: BlobStore, segments: [Segment]) {
        self.blobs = blobs
        self.segments = segments
    }

    deinit {
        if self.fd >= 0 { close(self.fd) }
    }

    /// Fills `buffer` with the next bytes; returns how many (0 at the end).
    package func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        while self.segment < self.segments.count {
            let current = self.segments[self.segment]
            if self.offset >= current.size {
                if self.fd >= 0 { close(self.fd) }
                self.fd = -1
                self.segment += 1
                self.offset = 0
                continue
            }
            if self.fd < 0 { self.fd = try self.blobs.openForReading(current.blob) }
            let want = Int(min(Int64(buffer.count), current.size - self.offset))
            let got = pread(self.fd, buffer.baseAddress, want, off_t(self.offset))
            if got < 0 && errno == EINTR { continue }
            guard got > 0 else { throw S3Error(.internalError, "object data \(current.blob) is shorter than recorded") }
            self.offset += Int64(got)
            return got
        }
        return 0
    }
}
