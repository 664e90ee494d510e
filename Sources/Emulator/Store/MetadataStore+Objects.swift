import Crypto
import Foundation
import GRDB

/// Who created an object, for its event.
package struct EventContext: Sendable {
    package var requestId: String
    package var reason: ObjectCreatedEvent.Reason
    package var region: String
    package var account: String
    package var sourceIPAddress: String
}

/// A new object version to record.
package struct NewObject: Sendable {
    package var bucket: String
    package var key: String
    package var size: Int64
    package var etag: String
    package var contentType: String?
    package var userMetadata: [String: String]
    package var checksum: ChecksumValue?
    package var segments: [Segment]
    package var partCount: Int?
    package var lastModified: Date
}

/// The answer to a DeleteObject.
package struct DeleteOutcome: Sendable {
    package var versionId: String?
    package var deleteMarker: Bool
    package var removedBlobs: [String]
}

/// One page of a listing.
package struct ListPage<Item: Sendable>: Sendable {
    package var items: [Item]
    package var commonPrefixes: [String]
    package var isTruncated: Bool
    /// ListObjectsV2: the continuation token; ListObjectVersions: next key marker.
    package var nextMarker: String?
    package var nextVersionIdMarker: String?
}

extension MetadataStore {
    static func newVersionId() -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._")
        var generator = SystemRandomNumberGenerator()
        return String((0..<32).map { _ in alphabet[Int(generator.next(upperBound: UInt64(alphabet.count)))] })
    }

    /// Records a new version (or replaces the `null` version of an unversioned bucket) and its
    /// event, in the caller's transaction. Returns the record, the event and blobs to remove.
    static func insertVersion(
        _ db: Database,
        _ new: NewObject,
        context: EventContext
    ) throws -> (ObjectRecord, ObjectCreatedEvent, [String]) {
        let bucket = try Self.requireBucket(db, new.bucket)
        var removed: [String] = []
        let versionId = bucket.versioningEnabled ? Self.newVersionId() : "null"
        if !bucket.versioningEnabled,
           let row = try Row.fetchOne(db, cachedSQL: "SELECT * FROM object WHERE bucket = ? AND key = ? AND version_id = 'null'", arguments: [new.bucket, new.key])
        {
            let old = Self.object(row)
            removed = old.segments.map(\.blob)
            try db.executeCached(sql: "DELETE FROM object WHERE id = ?", arguments: [old.id])
        }
        try db.executeCached(sql: "UPDATE object SET is_latest = 0 WHERE bucket = ? AND key = ? AND is_latest = 1", arguments: [new.bucket, new.key])
        let retainUntil: Double? =
            bucket.objectLockEnabled ? bucket.retentionSeconds.map { new.lastModified.timeIntervalSince1970 + Double($0) } : nil
        try db.executeCached(
            sql: """
                INSERT INTO object (bucket, key, version_id, is_latest, is_delete_marker, size, etag, content_type, user_metadata,
                    checksum_algorithm, checksum_value, checksum_type, segments, part_count, last_modified, retain_until)
                VALUES (?, ?, ?, 1, 0, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                new.bucket, new.key, versionId, new.size, new.etag, new.contentType, Self.encodeMetadata(new.userMetadata),
                new.checksum?.algorithm.rawValue, new.checksum?.value, new.checksum?.type, Self.encodeSegments(new.segments),
                new.partCount, new.lastModified.timeIntervalSince1970, retainUntil,
            ]
        )
        let record = ObjectRecord(
            id: db.lastInsertedRowID, bucket: new.bucket, key: new.key, versionId: versionId, isLatest: true, isDeleteMarker: false,
            size: new.size, etag: new.etag, contentType: new.contentType, userMetadata: new.userMetadata, checksum: new.checksum,
            segments: new.segments, partCount: new.partCount, lastModified: new.lastModified,
            retainUntil: retainUntil.map { Date(timeIntervalSince1970: $0) }
        )
        let event = ObjectCreatedEvent(
            time: new.lastModified, region: context.region, account: context.account, bucket: new.bucket, key: new.key,
            size: new.size, etag: new.etag, versionId: bucket.versioningEnabled ? versionId : nil, sequencer: record.sequencer,
            requestId: context.requestId, reason: context.reason, requester: context.account,
            sourceIPAddress: context.sourceIPAddress
        )
        try Self.insertEvent(db, event)
        return (record, event, removed)
    }

    package func putObject(_ new: NewObject, context: EventContext) async throws -> (ObjectRecord, ObjectCreatedEvent, [String]) {
        try await self.pool.write { db in try Self.insertVersion(db, new, context: context) }
    }

    /// Whether the bucket exists (throws NoSuchBucket otherwise).
    package func requireBucket(_ name: String) async throws -> BucketRecord {
        try await self.pool.read { db in try Self.requireBucket(db, name) }
    }

    /// The version GetObject/HeadObject should serve: the latest, or `versionId`.
    package func object(bucket: String, key: String, versionId: String?) async throws -> ObjectRecord {
        try await self.pool.read { db in try Self.object(db, bucket: bucket, key: key, versionId: versionId) }
    }

    /// ``object(bucket:key:versionId:)`` for several versions, in one read transaction; each
    /// answer is the record or the error that call would have thrown.
    package func objects(_ lookups: [(bucket: String, key: String, versionId: String?)]) async throws -> [Result<ObjectRecord, any Error>] {
        try await self.pool.read { db in
            lookups.map { lookup in Result { try Self.object(db, bucket: lookup.bucket, key: lookup.key, versionId: lookup.versionId) } }
        }
    }

    static func object(_ db: Database, bucket: String, key: String, versionId: String?) throws -> ObjectRecord {
        _ = try Self.requireBucket(db, bucket)
        if let versionId {
            guard let row = try Row.fetchOne(db, cachedSQL: "SELECT * FROM object WHERE bucket = ? AND key = ? AND version_id = ?", arguments: [bucket, key, versionId]) else {
                throw S3Error.noSuchVersion(key: key, versionId: versionId)
            }
            let record = Self.object(row)
            if record.isDeleteMarker {
                throw S3Error(
                    .methodNotAllowed, "The specified method is not allowed against this resource.",
                    details: [("Method", "GET"), ("ResourceType", "DeleteMarker")],
                    headers: [("x-amz-delete-marker", "true"), ("x-amz-version-id", record.versionId)]
                )
            }
            return record
        }
        guard let row = try Row.fetchOne(db, cachedSQL: "SELECT * FROM object WHERE bucket = ? AND key = ? AND is_latest = 1", arguments: [bucket, key]) else {
            throw S3Error.noSuchKey(key)
        }
        let record = Self.object(row)
        if record.isDeleteMarker {
            var error = S3Error.noSuchKey(key)
            error.headers = [("x-amz-delete-marker", "true"), ("x-amz-version-id", record.versionId)]
            throw error
        }
        return record
    }

    /// DeleteObject: a delete marker (versioned, no version id), removal of one version
    /// (refused while it is under retention), or removal of the `null` version.
    package func deleteObject(bucket: String, key: String, versionId: String?, now: Date) async throws -> DeleteOutcome {
        try await self.pool.write { db in
            let record = try Self.requireBucket(db, bucket)
            if versionId == nil && record.versioningEnabled {
                let markerId = Self.newVersionId()
                try db.executeCached(sql: "UPDATE object SET is_latest = 0 WHERE bucket = ? AND key = ? AND is_latest = 1", arguments: [bucket, key])
                try db.executeCached(
                    sql: """
                        INSERT INTO object (bucket, key, version_id, is_latest, is_delete_marker, size, etag, segments, last_modified)
                        VALUES (?, ?, ?, 1, 1, 0, '', '', ?)
                        """,
                    arguments: [bucket, key, markerId, now.timeIntervalSince1970]
                )
                return DeleteOutcome(versionId: markerId, deleteMarker: true, removedBlobs: [])
            }
            let target = versionId ?? "null"
            guard let row = try Row.fetchOne(db, cachedSQL: "SELECT * FROM object WHERE bucket = ? AND key = ? AND version_id = ?", arguments: [bucket, key, target]) else {
                return DeleteOutcome(versionId: versionId, deleteMarker: false, removedBlobs: [])
            }
            let version = Self.object(row)
            if !version.isDeleteMarker, let until = version.retainUntil, until > now {
                throw S3Error.lockedVersion()
            }
            try db.executeCached(sql: "DELETE FROM object WHERE id = ?", arguments: [version.id])
            if version.isLatest {
                try db.executeCached(
                    sql: """
                        UPDATE object SET is_latest = 1 WHERE id = (SELECT MAX(id) FROM object WHERE bucket = ? AND key = ?)
                        """,
                    arguments: [bucket, key]
                )
            }
            return DeleteOutcome(
                versionId: versionId, deleteMarker: version.isDeleteMarker, removedBlobs: version.segments.map(\.blob)
            )
        }
    }

    // MARK: Listing

    /// A continuation token: the last key, or the last common prefix (whose keys are skipped).
    static func encodeToken(key: String, isPrefix: Bool) -> String {
        Data(((isPrefix ? "P" : "K") + key).utf8).base64EncodedString()
    }

    static func decodeToken(_ token: String) -> (key: String, isPrefix: Bool)? {
        guard let data = Data(base64Encoded: token), let text = String(data: data, encoding: .utf8), let kind = text.first,
              kind == "P" || kind == "K" else { return nil }
        return (String(text.dropFirst()), kind == "P")
    }

    /// Grouping of a key under `prefix` by `delimiter`: the common prefix, or nil.
    static func commonPrefix(of key: String, prefix: String, delimiter: String?) -> String? {
        guard let delimiter, !delimiter.isEmpty else { return nil }
        let rest = key.utf8.dropFirst(prefix.utf8.count)
        guard let range = Substring(rest).range(of: delimiter) else { return nil }
        return prefix + String(Substring(rest)[..<range.upperBound])
    }

    /// ListObjectsV2 over the latest, non-deleted versions.
    package func listObjects(
        bucket: String,
        prefix: String,
        delimiter: String?,
        after: (key: String, isPrefix: Bool)?,
        maxKeys: Int
    ) async throws -> ListPage<ObjectRecord> {
        try await self.pool.read { db in
            _ = try Self.requireBucket(db, bucket)
            var page = ListPage<ObjectRecord>(items: [], commonPrefixes: [], isTruncated: false)
            let start = max(after?.key ?? "", prefix)
            let cursor = try Row.fetchCursor(
                db,
                cachedSQL: "SELECT * FROM object WHERE bucket = ? AND is_latest = 1 AND is_delete_marker = 0 AND key >= ? ORDER BY key",
                arguments: [bucket, start]
            )
            var lastPrefix: String? = after?.isPrefix == true ? after?.key : nil
            var count = 0
            var lastReturned: (String, Bool)?
            while let row = try cursor.next() {
                let key: String = row["key"]
                guard key.hasPrefix(prefix) else { break }
                if let after, !after.isPrefix, key <= after.key { continue }
                if let lastPrefix, key.hasPrefix(lastPrefix) { continue }
                let common = Self.commonPrefix(of: key, prefix: prefix, delimiter: delimiter)
                if count == maxKeys {
                    page.isTruncated = true
                    break
                }
                if let common {
                    lastPrefix = common
                    page.commonPrefixes.append(common)
                    lastReturned = (common, true)
                } else {
                    page.items.append(Self.object(row))
                    lastReturned = (key, false)
                }
                count += 1
            }
            if page.isTruncated, let lastReturned {
                page.nextMarker = Self.encodeToken(key: lastReturned.0, isPrefix: lastReturned.1)
            }
            return page
        }
    }

    /// ListObjectVersions: every version and delete marker, key ascending, newest first.
    package func listVersions(
        bucket: String,
        prefix: String,
        delimiter: String?,
        keyMarker: String?,
        versionIdMarker: String?,
        maxKeys: Int
    ) async throws -> ListPage<ObjectRecord> {
        try await self.pool.read { db in
            _ = try Self.requireBucket(db, bucket)
            var page = ListPage<ObjectRecord>(items: [], commonPrefixes: [], isTruncated: false)
            let start = max(keyMarker ?? "", prefix)
            let cursor = try Row.fetchCursor(
                db,
                cachedSQL: "SELECT * FROM object WHERE bucket = ? AND key >= ? ORDER BY key, id DESC",
                arguments: [bucket, start]
            )
            var markerId: Int64?
            if let keyMarker, let versionIdMarker {
                markerId = try Int64.fetchOne(
                    db, cachedSQL: "SELECT id FROM object WHERE bucket = ? AND key = ? AND version_id = ?",
                    arguments: [bucket, keyMarker, versionIdMarker]
                )
            }
            var lastPrefix: String?
            var count = 0
            var last: ObjectRecord?
            while let row = try cursor.next() {
                let record = Self.object(row)
                guard record.key.hasPrefix(prefix) else { break }
                if let keyMarker, record.key == keyMarker {
                    guard let markerId, record.id < markerId else { continue }
                }
                if let lastPrefix, record.key.hasPrefix(lastPrefix) { continue }
                if count == maxKeys {
                    page.isTruncated = true
                    break
                }
                if let common = Self.commonPrefix(of: record.key, prefix: prefix, delimiter: delimiter) {
                    lastPrefix = common
                    page.commonPrefixes.append(common)
                    last = nil
                    page.nextMarker = common
                    page.nextVersionIdMarker = nil
                } else {
                    page.items.append(record)
                    last = record
                }
                count += 1
            }
            if page.isTruncated {
                if let last {
                    page.nextMarker = last.key
                    page.nextVersionIdMarker = last.versionId
                }
            } else {
                page.nextMarker = nil
                page.nextVersionIdMarker = nil
            }
            return page
        }
    }
}
