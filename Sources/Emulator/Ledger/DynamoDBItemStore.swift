import AWSWire
import Foundation
import GRDB

/// Tables of DynamoDB items in SQLite (GRDB `DatabasePool`, WAL): the storage behind the
/// emulated DynamoDB API and the job ledger.
///
/// Items are stored generically, as their wire JSON, keyed by (table, partition key, sort key),
/// so the API serves any table the pipeline defines. Every write is one transaction that
/// reads the current item, evaluates the condition and writes — conditional writes are atomic.
///
/// TTL: an item whose TTL attribute (epoch seconds) is at or before `now()` is treated as absent
/// by every read and every condition, and is purged by the next write or ``purgeExpired()``.
/// Time comes only from the injected `now`.
///
/// Keys are stored in an order-preserving text encoding (see
/// ``DynamoDBTableDefinition``), so Query returns items in sort-key order (numbers numerically)
/// and Scan in (partition, sort) order.
package final class DynamoDBItemStore: Sendable {
    let pool: DatabasePool
    let now: @Sendable () -> Date

    /// The most items per page when no `Limit` is given (with ~1 MB of item JSON per page).
    static let maxPageBytes = 1 << 20

    /// Opens (creating when missing) the database at `path`.
    package init(path: String, now: @escaping @Sendable () -> Date) throws {
        self.pool = try DatabasePool.emulatorStore(path: path)
        self.now = now
        try Self.migrator.migrate(self.pool)
    }

    private static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("dynamodb-v1") { db in
            try db.execute(sql: """
                CREATE TABLE ddb_table (
                    name TEXT PRIMARY KEY,
                    partition_key TEXT NOT NULL,
                    partition_type TEXT NOT NULL,
                    sort_key TEXT,
                    sort_type TEXT,
                    ttl_attribute TEXT,
                    created_at REAL NOT NULL
                );
                CREATE TABLE ddb_item (
                    table_name TEXT NOT NULL,
                    pk TEXT NOT NULL,
                    sk TEXT NOT NULL,
                    item TEXT NOT NULL,
                    expires_at REAL,
                    PRIMARY KEY (table_name, pk, sk)
                );
                CREATE INDEX ddb_item_expiry ON ddb_item(expires_at) WHERE expires_at IS NOT NULL;
                """)
        }
        return migrator
    }

    // MARK: Tables

    /// Creates a table; ResourceInUseException when it exists (unless `ifNotExists`, which
    /// returns the existing definition).
    @discardableResult
    package func createTable(_ definition: DynamoDBTableDefinition, ifNotExists: Bool = false) async throws -> DynamoDBTableDefinition {
        var definition = definition
        definition.createdAt = self.now()
        return try await self.pool.write { [definition] db in
            if let existing = try Self.table(definition.name, db) {
                if ifNotExists { return existing }
                throw DynamoDBServiceError(.resourceInUse, "Table already exists: \(definition.name)")
            }
            try db.executeCached(
                sql: "INSERT INTO ddb_table (name, partition_key, partition_type, sort_key, sort_type, ttl_attribute, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                arguments: [
                    definition.name, definition.partitionKey.name, definition.partitionKey.type, definition.sortKey?.name,
                    definition.sortKey?.type, definition.ttlAttribute, definition.createdAt.timeIntervalSince1970,
                ]
            )
            return definition
        }
    }

    package func table(_ name: String) async throws -> DynamoDBTableDefinition {
        try await self.pool.read { db in
            guard let t = try Self.table(name, db) else { throw DynamoDBServiceError.tableNotFound(name) }
            return t
        }
    }

    package func tableNames() async throws -> [String] {
        try await self.pool.read { db in try String.fetchAll(db, cachedSQL: "SELECT name FROM ddb_table ORDER BY name") }
    }

    /// Deletes a table and its items.
    package func deleteTable(_ name: String) async throws -> DynamoDBTableDefinition {
        try await self.pool.write { db in
            guard let t = try Self.table(name, db) else { throw DynamoDBServiceError.tableNotFound(name) }
            try db.executeCached(sql: "DELETE FROM ddb_item WHERE table_name = ?", arguments: [name])
            try db.executeCached(sql: "DELETE FROM ddb_table WHERE name = ?", arguments: [name])
            return t
        }
    }

    /// Sets (or with nil, clears) the TTL attribute of a table.
    package func setTTLAttribute(table: String, attribute: String?) async throws {
        try await self.pool.write { db in
            guard try Self.table(table, db) != nil else { throw DynamoDBServiceError.tableNotFound(table) }
            try db.executeCached(sql: "UPDATE ddb_table SET ttl_attribute = ? WHERE name = ?", arguments: [attribute, table])
            // Existing items get their expiry computed now.
            guard let t = try Self.table(table, db) else { return }
            let rows = try Row.fetchAll(db, cachedSQL: "SELECT pk, sk, item FROM ddb_item WHERE table_name = ?", arguments: [table])
            for row in rows {
                let item = try Self.decode(row["item"])
                try db.executeCached(
                    sql: "UPDATE ddb_item SET expires_at = ? WHERE table_name = ? AND pk = ? AND sk = ?",
                    arguments: [t.expiry(of: item), table, row["pk"] as String, row["sk"] as String]
                )
            }
        }
    }

    /// Live (not expired) items of a table.
    package func itemCount(table: String) async throws -> Int {
        let now = self.now().timeIntervalSince1970
        return try await self.pool.read { db in
            try Int.fetchOne(
                db, cachedSQL: "SELECT COUNT(*) FROM ddb_item WHERE table_name = ? AND (expires_at IS NULL OR expires_at > ?)",
                arguments: [table, now]
            ) ?? 0
        }
    }

    // MARK: Items

    package func getItem(table: String, key: DynamoDBItem) async throws -> DynamoDBItem? {
        let now = self.now().timeIntervalSince1970
        return try await self.pool.read { db in
            guard let t = try Self.table(table, db) else { throw DynamoDBServiceError.tableNotFound(table) }
            try t.validateKey(key)
            return try Self.current(t, key: key, now: now, db)
        }
    }

    /// Writes `item` if `condition` holds for the current item; returns the old item.
    /// - Throws: ``DynamoDBServiceError`` ConditionalCheckFailed (carrying the old item).
    @discardableResult
    package func putItem(table: String, item: DynamoDBItem, condition: DynamoDBCondition? = nil) async throws -> DynamoDBItem? {
        let now = self.now().timeIntervalSince1970
        return try await self.pool.write { db in
            guard let t = try Self.table(table, db) else { throw DynamoDBServiceError.tableNotFound(table) }
            try t.validateKeyAttributes(of: item)
            try Self.purge(now: now, db)
            let old = try Self.current(t, key: item, now: now, db)
            if let condition, !condition.evaluate(old) { throw DynamoDBServiceError.conditionalCheckFailed(item: old) }
            try Self.write(t, item, db)
            return old
        }
    }

    /// Applies `update` to the item with `key` (a new item when none exists) if `condition`
    /// holds; returns (old, new, touched top-level names).
    package func updateItem(
        table: String, key: DynamoDBItem, update: DynamoDBUpdate?, condition: DynamoDBCondition? = nil
    ) async throws -> (old: DynamoDBItem?, new: DynamoDBItem, touched: Set<String>) {
        let now = self.now().timeIntervalSince1970
        return try await self.pool.write { db in
            guard let t = try Self.table(table, db) else { throw DynamoDBServiceError.tableNotFound(table) }
            try t.validateKey(key)
            try Self.purge(now: now, db)
            let old = try Self.current(t, key: key, now: now, db)
            if let condition, !condition.evaluate(old) { throw DynamoDBServiceError.conditionalCheckFailed(item: old) }
            var new = old ?? key
            let touched = try update?.apply(to: &new) ?? []
            for k in t.keyNames where touched.contains(k) {
                throw DynamoDBServiceError.validation("One or more parameter values were invalid: Cannot update attribute \(k). This attribute is part of the key")
            }
            try Self.write(t, new, db)
            return (old, new, touched)
        }
    }

    /// Deletes the item with `key` if `condition` holds; returns the old item.
    @discardableResult
    package func deleteItem(table: String, key: DynamoDBItem, condition: DynamoDBCondition? = nil) async throws -> DynamoDBItem? {
        let now = self.now().timeIntervalSince1970
        return try await self.pool.write { db in
            guard let t = try Self.table(table, db) else { throw DynamoDBServiceError.tableNotFound(table) }
            try t.validateKey(key)
            let old = try Self.current(t, key: key, now: now, db)
            if let condition, !condition.evaluate(old) { throw DynamoDBServiceError.conditionalCheckFailed(item: old) }
            let (pk, sk) = t.storedKey(of: key)
            try db.executeCached(sql: "DELETE FROM ddb_item WHERE table_name = ? AND pk = ? AND sk = ?", arguments: [table, pk, sk])
            return old
        }
    }

    /// One page of items: the whole table (Scan) or one partition (Query), in key order, after
    /// `exclusiveStartKey`, at most `limit` evaluated items (and about 1 MB). `filter` drops
    /// items after they count against the limit, as DynamoDB does.
    package func page(
        table: String,
        partition: DynamoDBAttributeValue? = nil,
        keyCondition: DynamoDBCondition? = nil,
        filter: DynamoDBCondition? = nil,
        limit: Int? = nil,
        exclusiveStartKey: DynamoDBItem? = nil,
        forward: Bool = true
    ) async throws -> (items: [DynamoDBItem], lastEvaluatedKey: DynamoDBItem?, scannedCount: Int) {
        let now = self.now().timeIntervalSince1970
        let limit = limit ?? Int.max
        return try await self.pool.read { db in
            guard let t = try Self.table(table, db) else { throw DynamoDBServiceError.tableNotFound(table) }
            var sql = "SELECT pk, sk, item FROM ddb_item WHERE table_name = ? AND (expires_at IS NULL OR expires_at > ?)"
            var arguments: StatementArguments = [table, now]
            if let partition {
                sql += " AND pk = ?"
                _ = arguments.append(contentsOf: [DynamoDBTableDefinition.keyString(partition)])
            }
            if let start = exclusiveStartKey {
                try t.validateKeyAttributes(of: start)
                let (pk, sk) = t.storedKey(of: start)
                let op = forward ? ">" : "<"
                sql += " AND (pk \(op) ? OR (pk = ? AND sk \(op) ?))"
                _ = arguments.append(contentsOf: [pk, pk, sk])
            }
            sql += forward ? " ORDER BY pk, sk" : " ORDER BY pk DESC, sk DESC"
            let cursor = try Row.fetchCursor(db, cachedSQL: sql, arguments: arguments)
            var items: [DynamoDBItem] = []
            var scanned = 0
            var bytes = 0
            var last: DynamoDBItem?
            while let row = try cursor.next() {
                if scanned == limit || bytes >= Self.maxPageBytes {
                    return (items, last.map(t.key(of:)), scanned)
                }
                let text: String = row["item"]
                let item = try Self.decode(text)
                if let keyCondition, !keyCondition.evaluate(item) { continue }
                scanned += 1
                bytes += text.utf8.count
                last = item
                if filter?.evaluate(item) ?? true { items.append(item) }
            }
            return (items, nil, scanned)
        }
    }

    /// Deletes every expired item now; returns how many.
    @discardableResult
    package func purgeExpired() async throws -> Int {
        let now = self.now().timeIntervalSince1970
        return try await self.pool.write { db in
            try Self.purge(now: now, db)
            return db.changesCount
        }
    }

    // MARK: - SQL helpers

    static func table(_ name: String, _ db: Database) throws -> DynamoDBTableDefinition? {
        guard let row = try Row.fetchOne(db, cachedSQL: "SELECT * FROM ddb_table WHERE name = ?", arguments: [name]) else { return nil }
        let sortKey: String? = row["sort_key"]
        let sortType: String? = row["sort_type"]
        return DynamoDBTableDefinition(
            name: row["name"],
            partitionKey: .init(name: row["partition_key"], type: row["partition_type"]),
            sortKey: sortKey.map { .init(name: $0, type: sortType ?? "S") },
            ttlAttribute: row["ttl_attribute"],
            createdAt: Date(timeIntervalSince1970: row["created_at"])
        )
    }

    static func current(_ t: DynamoDBTableDefinition, key: DynamoDBItem, now: Double, _ db: Database) throws -> DynamoDBItem? {
        let (pk, sk) = t.storedKey(of: key)
        guard
            let text = try String.fetchOne(
                db,
                cachedSQL: "SELECT item FROM ddb_item WHERE table_name = ? AND pk = ? AND sk = ? AND (expires_at IS NULL OR expires_at > ?)",
                arguments: [t.name, pk, sk, now]
            )
        else { return nil }
        return try Self.decode(text)
    }

    static func write(_ t: DynamoDBTableDefinition, _ item: DynamoDBItem, _ db: Database) throws {
        let (pk, sk) = t.storedKey(of: item)
        let text = String(decoding: JSONText.serialize(DynamoDBAttributeValue.json(item)), as: UTF8.self)
        try db.executeCached(
            sql: "INSERT OR REPLACE INTO ddb_item (table_name, pk, sk, item, expires_at) VALUES (?, ?, ?, ?, ?)",
            arguments: [t.name, pk, sk, text, t.expiry(of: item)]
        )
    }

    static func purge(now: Double, _ db: Database) throws {
        try db.executeCached(sql: "DELETE FROM ddb_item WHERE expires_at IS NOT NULL AND expires_at <= ?", arguments: [now])
    }

    static func decode(_ text: String) throws -> DynamoDBItem {
        do {
            return try DynamoDBAttributeValue.item(json: try JSONValue.parse(Array(text.utf8)))
        } catch {
            throw DynamoDBServiceError(.internalFailure, "stored item is corrupt: \(error)")
        }
    }
}
