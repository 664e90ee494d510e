import Crypto
import Foundation
import GRDB
import Synchronization

/// One `<Part>` of a CompleteMultipartUpload request.
package struct RequestedPart: Sendable, Hashable {
    package var partNumber: Int
    /// Without quotes.
    package var etag: String
    /// `ChecksumCRC32`/`ChecksumCRC32C` when sent.
    package var checksum: String?
}

/// The answer to a CompleteMultipartUpload: the new version, or a replay of an earlier success.
package struct CompletionOutcome: Sendable {
    package var completion: CompletionRecord
    /// nil when this is an identical retry answered from the grace window.
    package var object: ObjectRecord?
    package var event: ObjectCreatedEvent?
    package var removedBlobs: [String]
    package var versioned: Bool
}

extension MetadataStore {
    static func newUploadId() -> String {
        BlobStore.newName() + BlobStore.newName()
    }

    package func createUpload(_ upload: UploadRecord) async throws {
        try await self.pool.write { db in
            _ = try Self.requireBucket(db, upload.bucket)
            try db.executeCached(
                sql: "INSERT INTO upload (upload_id, bucket, key, initiated, content_type, user_metadata, checksum_algorithm) VALUES (?, ?, ?, ?, ?, ?, ?)",
                arguments: [upload.uploadId, upload.bucket, upload.key, upload.initiated.timeIntervalSince1970, upload.contentType,
                            Self.encodeMetadata(upload.userMetadata), upload.checksumAlgorithm?.rawValue]
            )
        }
        self.openUploads.insert(upload)
    }

    static func requireUpload(_ db: Database, bucket: String, key: String, uploadId: String) throws -> UploadRecord {
        guard let row = try Row.fetchOne(db, cachedSQL: "SELECT * FROM upload WHERE upload_id = ?", arguments: [uploadId]) else {
            throw S3Error.noSuchUpload(uploadId)
        }
        return try Self.requireMatch(Self.upload(row), bucket: bucket, key: key)
    }

    /// `upload`, if it belongs to `bucket` and `key`; else NoSuchUpload, as S3 answers.
    static func requireMatch(_ upload: UploadRecord, bucket: String, key: String) throws(S3Error) -> UploadRecord {
        guard upload.bucket == bucket, upload.key == key else { throw S3Error.noSuchUpload(upload.uploadId) }
        return upload
    }

    /// The upload, for a check before a part's body is read. An upload this process created
    /// is answered from memory: that read through the database pool (a hop to a reader thread
    /// and back) cost 0.7–1.1 ms in each part's turnaround for one upload stream. The answer may
    /// be stale (an upload aborted a moment ago); ``putPart(bucket:key:uploadId:part:)`` checks
    /// again in its transaction.
    package func upload(bucket: String, key: String, uploadId: String) async throws -> UploadRecord {
        if let upload = self.openUploads[uploadId] {
            return try Self.requireMatch(upload, bucket: bucket, key: key)
        }
        return try await self.pool.read { db in
            _ = try Self.requireBucket(db, bucket)
            return try Self.requireUpload(db, bucket: bucket, key: key, uploadId: uploadId)
        }
    }

    /// Records a part (replacing an earlier one with the same number). Returns the blob of the
    /// replaced part, to remove. Throws NoSuchUpload if the upload ended meanwhile.
    package func putPart(bucket: String, key: String, uploadId: String, part: PartRecord) async throws -> String? {
        try await self.pool.write { db in
            _ = try Self.requireUpload(db, bucket: bucket, key: key, uploadId: uploadId)
            let old = try String.fetchOne(
                db, cachedSQL: "SELECT blob FROM part WHERE upload_id = ? AND part_number = ?", arguments: [uploadId, part.partNumber]
            )
            try db.executeCached(
                sql: "INSERT OR REPLACE INTO part (upload_id, part_number, blob, size, etag, checksum, last_modified) VALUES (?, ?, ?, ?, ?, ?, ?)",
                arguments: [uploadId, part.partNumber, part.blob, part.size, part.etag, part.checksum, part.lastModified.timeIntervalSince1970]
            )
            return old
        }
    }

    package func listParts(
        bucket: String, key: String, uploadId: String, after marker: Int, maxParts: Int
    ) async throws -> (upload: UploadRecord, parts: [PartRecord], isTruncated: Bool) {
        try await self.pool.read { db in
            _ = try Self.requireBucket(db, bucket)
            let upload = try Self.requireUpload(db, bucket: bucket, key: key, uploadId: uploadId)
            let rows = try Row.fetchAll(
                db, cachedSQL: "SELECT * FROM part WHERE upload_id = ? AND part_number > ? ORDER BY part_number LIMIT ?",
                arguments: [uploadId, marker, maxParts + 1]
            )
            let parts = rows.prefix(maxParts).map(Self.part)
            return (upload, Array(parts), rows.count > maxParts)
        }
    }

    package func listUploads(
        bucket: String, prefix: String, delimiter: String?, keyMarker: String?, uploadIdMarker: String?, maxUploads: Int
    ) async throws -> ListPage<UploadRecord> {
        try await self.pool.read { db in
            _ = try Self.requireBucket(db, bucket)
            var page = ListPage<UploadRecord>(items: [], commonPrefixes: [], isTruncated: false)
            let cursor = try Row.fetchCursor(
                db, cachedSQL: "SELECT * FROM upload WHERE bucket = ? AND key >= ? ORDER BY key, initiated, upload_id",
                arguments: [bucket, max(keyMarker ?? "", prefix)]
            )
            var pastMarker = uploadIdMarker == nil
            var lastPrefix: String?
            var count = 0
            while let row = try cursor.next() {
                let upload = Self.upload(row)
                guard upload.key.hasPrefix(prefix) else { break }
                if let keyMarker, upload.key == keyMarker {
                    if !pastMarker {
                        if upload.uploadId == uploadIdMarker { pastMarker = true }
                        continue
                    }
                    if uploadIdMarker == nil { continue }
                }
                if let lastPrefix, upload.key.hasPrefix(lastPrefix) { continue }
                if count == maxUploads {
                    page.isTruncated = true
                    break
                }
                if let common = Self.commonPrefix(of: upload.key, prefix: prefix, delimiter: delimiter) {
                    lastPrefix = common
                    page.commonPrefixes.append(common)
                } else {
                    page.items.append(upload)
                    page.nextMarker = upload.key
                    page.nextVersionIdMarker = upload.uploadId
                }
                count += 1
            }
            return page
        }
    }

    /// Removes an upload and its parts; returns the part blobs to remove.
    package func abortUpload(bucket: String, key: String, uploadId: String) async throws -> [String] {
        defer { self.openUploads.remove(uploadId) }
        return try await self.pool.write { db in
            _ = try Self.requireBucket(db, bucket)
            _ = try Self.requireUpload(db, bucket: bucket, key: key, uploadId: uploadId)
            let blobs = try String.fetchAll(db, cachedSQL: "SELECT blob FROM part WHERE upload_id = ?", arguments: [uploadId])
            try db.executeCached(sql: "DELETE FROM part WHERE upload_id = ?", arguments: [uploadId])
            try db.executeCached(sql: "DELETE FROM upload WHERE upload_id = ?", arguments: [uploadId])
            return blobs
        }
    }

    /// SHA-256 over the normalized part list (numbers and ETags; checksums are checked against
    /// the parts, and cannot be parsed any more once the upload is gone): what makes two
    /// CompleteMultipartUpload requests identical.
    package static func digest(of parts: [RequestedPart]) -> String {
        var hasher = SHA256()
        for part in parts {
            hasher.update(data: Array("\(part.partNumber):\(part.etag)\n".utf8))
        }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }

    static func md5Bytes(hex: String) -> [UInt8]? {
        let u = Array(hex.utf8)
        guard u.count == 32 else { return nil }
        var out = [UInt8]()
        out.reserveCapacity(16)
        var index = 0
        while index < 32 {
            guard let high = Self.hexValue(u[index]), let low = Self.hexValue(u[index + 1]) else { return nil }
            out.append(high << 4 | low)
            index += 2
        }
        return out
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 48...57: byte - 48
        case 65...70: byte - 55
        case 97...102: byte - 87
        default: nil
        }
    }

    /// Completes an upload: validates the part list as S3 does, records the object (its
    /// segments are the part files themselves: no byte is copied), the completion (for
    /// identical retries within `gracePeriod`) and the event, in one transaction.
    package func completeUpload(
        bucket: String,
        key: String,
        uploadId: String,
        parts requested: [RequestedPart],
        minimumPartSize: Int64,
        gracePeriod: Duration,
        now: Date,
        context: EventContext
    ) async throws -> CompletionOutcome {
        let digest = Self.digest(of: requested)
        let grace = Double(gracePeriod.components.seconds)
        // Whatever the outcome, the next lookup reads the database (a failed completion leaves
        // the upload there).
        defer { self.openUploads.remove(uploadId) }
        return try await self.pool.write { db in
            let bucketRecord = try Self.requireBucket(db, bucket)
            try db.executeCached(sql: "DELETE FROM completion WHERE completed_at < ?", arguments: [now.timeIntervalSince1970 - grace])
            guard let uploadRow = try Row.fetchOne(db, cachedSQL: "SELECT * FROM upload WHERE upload_id = ?", arguments: [uploadId]) else {
                if let row = try Row.fetchOne(db, cachedSQL: "SELECT * FROM completion WHERE upload_id = ?", arguments: [uploadId]),
                   row["bucket"] == bucket, row["key"] == key, row["request_digest"] == digest
                {
                    var checksum: ChecksumValue?
                    if let name: String = row["checksum_algorithm"], let algorithm = ChecksumAlgorithm(name: name) {
                        checksum = ChecksumValue(algorithm: algorithm, value: row["checksum_value"], type: row["checksum_type"])
                    }
                    let completion = CompletionRecord(
                        uploadId: uploadId, bucket: bucket, key: key, requestDigest: digest, etag: row["etag"],
                        versionId: row["version_id"], checksum: checksum,
                        completedAt: Date(timeIntervalSince1970: row["completed_at"])
                    )
                    return CompletionOutcome(
                        completion: completion, object: nil, event: nil, removedBlobs: [],
                        versioned: bucketRecord.versioningEnabled
                    )
                }
                throw S3Error.noSuchUpload(uploadId)
            }
            let upload = try Self.requireMatch(Self.upload(uploadRow), bucket: bucket, key: key)

            var stored: [Int: PartRecord] = [:]
            for row in try Row.fetchAll(db, cachedSQL: "SELECT * FROM part WHERE upload_id = ?", arguments: [uploadId]) {
                let part = Self.part(row)
                stored[part.partNumber] = part
            }
            var previous = 0
            for part in requested {
                guard part.partNumber > previous else {
                    throw S3Error(.invalidPartOrder, "The list of parts was not in ascending order. Parts must be ordered by part number.", details: [("UploadId", uploadId)])
                }
                previous = part.partNumber
            }
            var chosen: [PartRecord] = []
            chosen.reserveCapacity(requested.count)
            for part in requested {
                guard let have = stored[part.partNumber], have.etag == part.etag else {
                    throw S3Error(
                        .invalidPart,
                        "One or more of the specified parts could not be found.  The part may not have been uploaded, or the specified entity tag may not have matched the part's entity tag.",
                        details: [("UploadId", uploadId), ("PartNumber", String(part.partNumber)), ("ETag", part.etag)]
                    )
                }
                if let sent = part.checksum, let checksum = have.checksum, sent != checksum {
                    throw S3Error(
                        .invalidPart,
                        "The checksum of part \(part.partNumber) you specified (\(sent)) does not match the uploaded part's (\(checksum)).",
                        details: [("UploadId", uploadId), ("PartNumber", String(part.partNumber))]
                    )
                }
                chosen.append(have)
            }
            for part in chosen.dropLast() where part.size < minimumPartSize {
                throw S3Error(
                    .entityTooSmall, "Your proposed upload is smaller than the minimum allowed object size.",
                    details: [("ProposedSize", String(part.size)), ("MinSizeAllowed", String(minimumPartSize)),
                              ("PartNumber", String(part.partNumber)), ("ETag", part.etag)]
                )
            }

            var md5 = Insecure.MD5()
            for part in chosen {
                guard let bytes = Self.md5Bytes(hex: part.etag) else { throw S3Error(.internalError, "corrupt part ETag \(part.etag)") }
                md5.update(data: bytes)
            }
            let etag = md5.finalize().map { String(format: "%02x", $0) }.joined() + "-\(chosen.count)"
            var checksum: ChecksumValue?
            if let algorithm = upload.checksumAlgorithm {
                let values = chosen.compactMap(\.checksum)
                if values.count == chosen.count, let composite = algorithm.composite(partChecksums: values) {
                    checksum = ChecksumValue(algorithm: algorithm, value: composite, type: "COMPOSITE")
                }
            }
            let new = NewObject(
                bucket: bucket, key: key, size: chosen.reduce(0) { $0 + $1.size }, etag: etag, contentType: upload.contentType,
                userMetadata: upload.userMetadata, checksum: checksum, segments: chosen.map { Segment(blob: $0.blob, size: $0.size) },
                partCount: chosen.count, lastModified: now
            )
            var (record, event, removed) = try Self.insertVersion(db, new, context: context)
            let used = Set(chosen.map(\.partNumber))
            removed.append(contentsOf: stored.values.filter { !used.contains($0.partNumber) }.map(\.blob))
            try db.executeCached(sql: "DELETE FROM part WHERE upload_id = ?", arguments: [uploadId])
            try db.executeCached(sql: "DELETE FROM upload WHERE upload_id = ?", arguments: [uploadId])
            let completion = CompletionRecord(
                uploadId: uploadId, bucket: bucket, key: key, requestDigest: digest, etag: etag, versionId: record.versionId,
                checksum: checksum, completedAt: now
            )
            try db.executeCached(
                sql: """
                    INSERT OR REPLACE INTO completion (upload_id, bucket, key, request_digest, etag, version_id, checksum_algorithm,
                        checksum_value, checksum_type, completed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [uploadId, bucket, key, digest, etag, record.versionId, checksum?.algorithm.rawValue, checksum?.value,
                            checksum?.type, now.timeIntervalSince1970]
            )
            record.isLatest = true
            return CompletionOutcome(
                completion: completion, object: record, event: event, removedBlobs: removed,
                versioned: bucketRecord.versioningEnabled
            )
        }
    }
}

/// Uploads created by this process and still open, by upload id (``MetadataStore/openUploads``).
/// Filled only by CreateMultipartUpload and emptied by completion or abort, never from a
/// database read, so it cannot bring back an upload that ended. Bounded: past
/// ``limit`` uploads left open (abandoned by their clients), new ones are looked up in the database.
final class OpenUploads: Sendable {
    static let limit = 10_000
    private let uploads = Mutex<[String: UploadRecord]>([:])

    subscript(uploadId: String) -> UploadRecord? {
        self.uploads.withLock { $0[uploadId] }
    }

    func insert(_ upload: UploadRecord) {
        self.uploads.withLock { uploads in
            if uploads.count < Self.limit { uploads[upload.uploadId] = upload }
        }
    }

    func remove(_ uploadId: String) {
        _ = self.uploads.withLock { $0.removeValue(forKey: uploadId) }
    }
}
