import AWSWire
import Foundation
import GRDB

/// Buckets, object versions, uploads, parts, completions and the event outbox, in SQLite
/// (GRDB `DatabasePool`, WAL). Every operation is one transaction; an object version and its
/// Object Created event are committed together, so no acknowledged object lacks its event.
package final class MetadataStore: Sendable {
    let pool: DatabasePool
    /// Uploads created by this process and not yet completed or aborted, so that UploadPart
    /// finds its upload before reading the body without a database round trip (see
    /// ``upload(bucket:key:uploadId:)``).
    let openUploads = OpenUploads()

    package init(path: String, synchronousFull: Bool) throws {
        self.pool = try DatabasePool.emulatorStore(path: path, synchronousFull: synchronousFull)
        try Self.migrator.migrate(self.pool)
    }

    private static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE bucket (
                    name TEXT PRIMARY KEY,
                    created_at REAL NOT NULL,
                    versioning INTEGER NOT NULL,
                    lock_enabled INTEGER NOT NULL,
                    retention_seconds INTEGER
                );
                CREATE TABLE object (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    bucket TEXT NOT NULL,
                    key TEXT NOT NULL,
                    version_id TEXT NOT NULL,
                    is_latest INTEGER NOT NULL,
                    is_delete_marker INTEGER NOT NULL,
                    size INTEGER NOT NULL,
                    etag TEXT NOT NULL,
                    content_type TEXT,
                    user_metadata TEXT,
                    checksum_algorithm TEXT,
                    checksum_value TEXT,
                    checksum_type TEXT,
                    segments TEXT NOT NULL,
                    part_count INTEGER,
                    last_modified REAL NOT NULL,
                    retain_until REAL
                );
                CREATE UNIQUE INDEX object_version ON object(bucket, key, version_id);
                CREATE INDEX object_latest ON object(bucket, is_latest, key);
                CREATE TABLE upload (
                    upload_id TEXT PRIMARY KEY,
                    bucket TEXT NOT NULL,
                    key TEXT NOT NULL,
                    initiated REAL NOT NULL,
                    content_type TEXT,
                    user_metadata TEXT,
                    checksum_algorithm TEXT
                );
                CREATE INDEX upload_key ON upload(bucket, key, initiated);
                CREATE TABLE part (
                    upload_id TEXT NOT NULL,
                    part_number INTEGER NOT NULL,
                    blob TEXT NOT NULL,
                    size INTEGER NOT NULL,
                    etag TEXT NOT NULL,
                    checksum TEXT,
                    last_modified REAL NOT NULL,
                    PRIMARY KEY (upload_id, part_number)
                );
                CREATE TABLE completion (
                    upload_id TEXT PRIMARY KEY,
                    bucket TEXT NOT NULL,
                    key TEXT NOT NULL,
                    request_digest TEXT NOT NULL,
                    etag TEXT NOT NULL,
                    version_id TEXT NOT NULL,
                    checksum_algorithm TEXT,
                    checksum_value TEXT,
                    checksum_type TEXT,
                    completed_at REAL NOT NULL
                );
                CREATE TABLE event (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    json BLOB NOT NULL,
                    delivered INTEGER NOT NULL DEFAULT 0
                );
                CREATE INDEX event_pending ON event(delivered, seq);
                """)
        }
        return migrator
    }

    // MARK: Encoding helpers

    static func encodeSegments(_ segments: [Segment]) -> String {
        segments.map { "\($0.blob):\($0.size)" }.joined(separator: ",")
    }

    static func decodeSegments(_ text: String) -> [Segment] {
        guard !text.isEmpty else { return [] }
        return text.split(separator: ",").map { item in
            let colon = item.firstIndex(of: ":")!
            return Segment(blob: String(item[..<colon]), size: Int64(item[item.index(after: colon)...])!)
        }
    }

    /// User metadata as a JSON object (keys sorted); nil when empty.
    static func encodeMetadata(_ metadata: [String: String]) -> String? {
        guard !metadata.isEmpty else { return nil }
        var text = JSONText()
        text.object(metadata) { $0.string($1) }
        return String(decoding: text.bytes, as: UTF8.self)
    }

    static func decodeMetadata(_ text: String?) -> [String: String] {
        guard let text, !text.isEmpty, let members = (try? JSONValue.parse(text.utf8))?.objectValue else { return [:] }
        var metadata: [String: String] = [:]
        for (name, value) in members {
            if let value = value.stringValue { metadata[name] = value }
        }
        return metadata
    }

    static func object(_ row: Row) -> ObjectRecord {
        var checksum: ChecksumValue?
        if let name: String = row["checksum_algorithm"], let algorithm = ChecksumAlgorithm(name: name),
           let value: String = row["checksum_value"] {
            checksum = ChecksumValue(algorithm: algorithm, value: value, type: row["checksum_type"] ?? "FULL_OBJECT")
        }
        let retainUntil: Double? = row["retain_until"]
        return ObjectRecord(
            id: row["id"],
            bucket: row["bucket"],
            key: row["key"],
            versionId: row["version_id"],
            isLatest: row["is_latest"],
            isDeleteMarker: row["is_delete_marker"],
            size: row["size"],
            etag: row["etag"],
            contentType: row["content_type"],
            userMetadata: Self.decodeMetadata(row["user_metadata"]),
            checksum: checksum,
            segments: Self.decodeSegments(row["segments"]),
            partCount: row["part_count"],
            lastModified: Date(timeIntervalSince1970: row["last_modified"]),
            retainUntil: retainUntil.map { Date(timeIntervalSince1970: $0) }
        )
    }

    static func bucket(_ row: Row) -> BucketRecord {
        BucketRecord(
            name: row["name"],
            createdAt: Date(timeIntervalSince1970: row["created_at"]),
            versioningEnabled: row["versioning"],
            objectLockEnabled: row["lock_enabled"],
            retentionSeconds: row["retention_seconds"]
        )
    }

    static func upload(_ row: Row) -> UploadRecord {
        let algorithm: String? = row["checksum_algorithm"]
        return UploadRecord(
            uploadId: row["upload_id"],
            bucket: row["bucket"],
            key: row["key"],
            initiated: Date(timeIntervalSince1970: row["initiated"]),
            contentType: row["content_type"],
            userMetadata: Self.decodeMetadata(row["user_metadata"]),
            checksumAlgorithm: algorithm.flatMap(ChecksumAlgorithm.init(name:))
        )
    }

    static func part(_ row: Row) -> PartRecord {
        PartRecord(
            partNumber: row["part_number"],
            blob: row["blob"],
            size: row["size"],
            etag: row["etag"],
            checksum: row["checksum"],
            lastModified: Date(timeIntervalSince1970: row["last_modified"])
        )
    }

    // MARK: Buckets

    package func bucket(_ name: String) async throws -> BucketRecord? {
        try await self.pool.read { db in
            try Row.fetchOne(db, cachedSQL: "SELECT * FROM bucket WHERE name = ?", arguments: [name]).map(Self.bucket)
        }
    }

    static func requireBucket(_ db: Database, _ name: String) throws -> BucketRecord {
        guard let row = try Row.fetchOne(db, cachedSQL: "SELECT * FROM bucket WHERE name = ?", arguments: [name]) else {
            throw S3Error.noSuchBucket(name)
        }
        return Self.bucket(row)
    }

    package func listBuckets() async throws -> [BucketRecord] {
        try await self.pool.read { db in
            try Row.fetchAll(db, cachedSQL: "SELECT * FROM bucket ORDER BY name").map(Self.bucket)
        }
    }

    /// Creates a bucket; returns false when it already existed (settings unchanged).
    @discardableResult
    package func createBucket(_ bucket: BucketRecord) async throws -> Bool {
        try await self.pool.write { db in
            if try Row.fetchOne(db, cachedSQL: "SELECT 1 FROM bucket WHERE name = ?", arguments: [bucket.name]) != nil {
                return false
            }
            try db.executeCached(
                sql: "INSERT INTO bucket (name, created_at, versioning, lock_enabled, retention_seconds) VALUES (?, ?, ?, ?, ?)",
                arguments: [bucket.name, bucket.createdAt.timeIntervalSince1970, bucket.versioningEnabled, bucket.objectLockEnabled, bucket.retentionSeconds]
            )
            return true
        }
    }

    package func setVersioning(bucket: String, enabled: Bool) async throws {
        try await self.pool.write { db in
            let record = try Self.requireBucket(db, bucket)
            if record.objectLockEnabled && !enabled {
                throw S3Error(.invalidRequest, "An Object Lock configuration is present on this bucket, so the versioning state cannot be changed.")
            }
            try db.executeCached(sql: "UPDATE bucket SET versioning = ? WHERE name = ?", arguments: [enabled, bucket])
        }
    }

    package func deleteBucket(_ name: String) async throws {
        try await self.pool.write { db in
            _ = try Self.requireBucket(db, name)
            if try Row.fetchOne(db, cachedSQL: "SELECT 1 FROM object WHERE bucket = ? LIMIT 1", arguments: [name]) != nil
                || Row.fetchOne(db, cachedSQL: "SELECT 1 FROM upload WHERE bucket = ? LIMIT 1", arguments: [name]) != nil
            {
                throw S3Error(.bucketNotEmpty, "The bucket you tried to delete is not empty", details: [("BucketName", name)])
            }
            try db.executeCached(sql: "DELETE FROM bucket WHERE name = ?", arguments: [name])
        }
    }

    // MARK: Garbage collection

    /// Every blob name that metadata refers to.
    package func referencedBlobs() async throws -> Set<String> {
        try await self.pool.read { db in
            var names = Set<String>()
            for text in try String.fetchAll(db, cachedSQL: "SELECT segments FROM object WHERE segments != ''") {
                for segment in Self.decodeSegments(text) { names.insert(segment.blob) }
            }
            for name in try String.fetchAll(db, cachedSQL: "SELECT blob FROM part") { names.insert(name) }
            return names
        }
    }

    // MARK: Events

    /// Up to `limit` undelivered events in creation order.
    package func pendingEvents(limit: Int) async throws -> [(seq: Int64, event: ObjectCreatedEvent)] {
        try await self.pool.read { db in
            try Row.fetchAll(db, cachedSQL: "SELECT seq, json FROM event WHERE delivered = 0 ORDER BY seq LIMIT ?", arguments: [limit]).map { row in
                let json: Data = row["json"]
                return (seq: row["seq"], event: try ObjectCreatedEvent.decode(json: json))
            }
        }
    }

    package func markDelivered(_ seq: Int64) async throws {
        try await self.markDelivered([seq])
    }

    /// Marks events delivered, in one transaction.
    package func markDelivered(_ seqs: [Int64]) async throws {
        guard !seqs.isEmpty else { return }
        try await self.pool.write { db in
            for seq in seqs {
                try db.executeCached(sql: "UPDATE event SET delivered = 1 WHERE seq = ?", arguments: [seq])
            }
        }
    }

    package func eventCount() async throws -> (total: Int, pending: Int) {
        try await self.pool.read { db in
            let total = try Int.fetchOne(db, cachedSQL: "SELECT COUNT(*) FROM event") ?? 0
            let pending = try Int.fetchOne(db, cachedSQL: "SELECT COUNT(*) FROM event WHERE delivered = 0") ?? 0
            return (total, pending)
        }
    }

    static func insertEvent(_ db: Database, _ event: ObjectCreatedEvent) throws {
        try db.executeCached(sql: "INSERT INTO event (json) VALUES (?)", arguments: [try event.jsonData()])
    }
}

extension DatabasePool {
    /// A WAL pool as every emulator store opens it: a 10 s busy timeout and
    /// `synchronous = NORMAL` (or `FULL`, which survives power loss).
    static func emulatorStore(path: String, synchronousFull: Bool = false) throws -> DatabasePool {
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        let synchronous = synchronousFull ? "FULL" : "NORMAL"
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = \(synchronous)")
        }
        return try DatabasePool(path: path, configuration: configuration)
    }
}
