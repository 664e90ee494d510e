import AWSWire
import Foundation
import GRDB

/// SQS queues and their messages in SQLite (GRDB `DatabasePool`, WAL) in the state
/// directory: queued messages survive a restart. Visibility and retention come from the
/// injected `now`.
package final class QueueStore: Sendable {
    /// A queue and its settings.
    package struct Queue: Sendable, Hashable {
        package var name: String
        package var createdAt: Date
        /// Seconds a received message stays invisible. Default 30.
        package var visibilityTimeout: Int
        /// Seconds a message is kept. Default 345 600 (4 days).
        package var messageRetentionPeriod: Int
        /// Default 0.
        package var delaySeconds: Int
        /// Default 262 144.
        package var maximumMessageSize: Int
        /// Default long-poll wait of ReceiveMessage. Default 0.
        package var receiveMessageWaitTimeSeconds: Int
        /// Other attributes, stored and returned as given (RedrivePolicy, Policy, …).
        package var otherAttributes: [String: String]
    }

    /// A message handed out by ``receive(queue:maxMessages:visibilityTimeout:)``.
    package struct Message: Sendable, Hashable {
        package var messageId: String
        package var receiptHandle: String
        package var body: String
        package var md5OfBody: String
        package var attributes: [String: SQSMessageAttribute]
        package var md5OfAttributes: String?
        package var sentAt: Date
        package var receiveCount: Int
        package var firstReceivedAt: Date
    }

    /// Message counts of a queue.
    package struct Counts: Sendable, Hashable {
        package var visible: Int
        package var inFlight: Int
        package var delayed: Int
    }

    let pool: DatabasePool
    let now: @Sendable () -> Date

    package init(path: String, now: @escaping @Sendable () -> Date) throws {
        self.pool = try DatabasePool.emulatorStore(path: path)
        self.now = now
        try Self.migrator.migrate(self.pool)
    }

    private static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("sqs-v1") { db in
            try db.execute(sql: """
                CREATE TABLE sqs_queue (
                    name TEXT PRIMARY KEY,
                    created_at REAL NOT NULL,
                    visibility_timeout INTEGER NOT NULL,
                    retention INTEGER NOT NULL,
                    delay_seconds INTEGER NOT NULL,
                    maximum_message_size INTEGER NOT NULL,
                    receive_wait INTEGER NOT NULL,
                    other_attributes TEXT NOT NULL
                );
                CREATE TABLE sqs_message (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    queue TEXT NOT NULL,
                    message_id TEXT NOT NULL,
                    body TEXT NOT NULL,
                    attributes TEXT NOT NULL,
                    md5_body TEXT NOT NULL,
                    md5_attributes TEXT,
                    sent_at REAL NOT NULL,
                    visible_at REAL NOT NULL,
                    receive_count INTEGER NOT NULL DEFAULT 0,
                    first_received_at REAL,
                    receipt_handle TEXT
                );
                CREATE INDEX sqs_message_visible ON sqs_message(queue, visible_at, seq);
                CREATE UNIQUE INDEX sqs_message_receipt ON sqs_message(receipt_handle) WHERE receipt_handle IS NOT NULL;
                """)
        }
        return migrator
    }

    /// The attribute names SetQueueAttributes / CreateQueue understand as settings.
    static let settingNames: Set<String> = [
        "VisibilityTimeout", "MessageRetentionPeriod", "DelaySeconds", "MaximumMessageSize", "ReceiveMessageWaitTimeSeconds",
    ]

    // MARK: Queues

    /// Creates `name` (or returns the existing queue: CreateQueue is idempotent).
    @discardableResult
    package func createQueue(_ name: String, attributes: [String: String] = [:]) async throws -> Queue {
        guard !name.isEmpty, name.utf8.count <= 80,
            name.unicodeScalars.allSatisfy({ $0.properties.isAlphabetic && $0.isASCII || ("0"..."9").contains($0) || $0 == "-" || $0 == "_" || $0 == "." })
        else {
            throw SQSServiceError.invalid("Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length")
        }
        var queue = Queue(
            name: name, createdAt: self.now(), visibilityTimeout: 30, messageRetentionPeriod: 345_600, delaySeconds: 0,
            maximumMessageSize: 262_144, receiveMessageWaitTimeSeconds: 0, otherAttributes: [:]
        )
        try Self.apply(attributes, to: &queue)
        return try await self.pool.write { [queue] db in
            if let existing = try Self.queue(name, db) { return existing }
            try Self.save(queue, db)
            return queue
        }
    }

    package func queue(_ name: String) async throws -> Queue {
        try await self.pool.read { db in
            guard let q = try Self.queue(name, db) else { throw SQSServiceError.queueDoesNotExist() }
            return q
        }
    }

    package func queueNames(prefix: String = "") async throws -> [String] {
        try await self.pool.read { db in
            try String.fetchAll(db, sql: "SELECT name FROM sqs_queue ORDER BY name").filter { $0.hasPrefix(prefix) }
        }
    }

    package func setAttributes(queue name: String, _ attributes: [String: String]) async throws {
        try await self.pool.write { db in
            guard var q = try Self.queue(name, db) else { throw SQSServiceError.queueDoesNotExist() }
            try Self.apply(attributes, to: &q)
            try Self.save(q, db)
        }
    }

    package func deleteQueue(_ name: String) async throws {
        try await self.pool.write { db in
            guard try Self.queue(name, db) != nil else { throw SQSServiceError.queueDoesNotExist() }
            try db.execute(sql: "DELETE FROM sqs_message WHERE queue = ?", arguments: [name])
            try db.execute(sql: "DELETE FROM sqs_queue WHERE name = ?", arguments: [name])
        }
    }

    // MARK: Messages

    /// Enqueues a message; returns (MessageId, MD5 of the body, MD5 of the attributes).
    package func send(
        queue name: String, body: String, attributes: [String: SQSMessageAttribute] = [:], delaySeconds: Int? = nil
    ) async throws -> (messageId: String, md5OfBody: String, md5OfAttributes: String?) {
        let now = self.now().timeIntervalSince1970
        let messageId = UUID().uuidString.lowercased()
        let md5Body = SQSMessageDigest.md5(ofBody: body)
        let md5Attributes = SQSMessageDigest.md5(ofAttributes: attributes)
        let attributesText = String(decoding: JSONValue.object(attributes.mapValues(\.json)).serialized(), as: UTF8.self)
        try await self.pool.write { db in
            guard let q = try Self.queue(name, db) else { throw SQSServiceError.queueDoesNotExist() }
            let size = body.utf8.count + attributes.reduce(0) { $0 + $1.key.utf8.count + $1.value.dataType.utf8.count + ($1.value.stringValue?.utf8.count ?? 0) + ($1.value.binaryValue?.count ?? 0) }
            guard size <= q.maximumMessageSize else {
                throw SQSServiceError.invalid("One or more parameters are invalid. Reason: Message must be shorter than \(q.maximumMessageSize) bytes.")
            }
            let delay = delaySeconds ?? q.delaySeconds
            try db.execute(
                sql: "INSERT INTO sqs_message (queue, message_id, body, attributes, md5_body, md5_attributes, sent_at, visible_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                arguments: [name, messageId, body, attributesText, md5Body, md5Attributes, now, now + Double(delay)]
            )
        }
        return (messageId, md5Body, md5Attributes)
    }

    /// Takes up to `maxMessages` visible messages (oldest first), making them invisible for
    /// `visibilityTimeout` (default: the queue's) under a new receipt handle each.
    package func receive(queue name: String, maxMessages: Int, visibilityTimeout: Int? = nil) async throws -> [Message] {
        let now = self.now().timeIntervalSince1970
        return try await self.pool.write { db in
            guard let q = try Self.queue(name, db) else { throw SQSServiceError.queueDoesNotExist() }
            try db.execute(
                sql: "DELETE FROM sqs_message WHERE queue = ? AND sent_at <= ?",
                arguments: [name, now - Double(q.messageRetentionPeriod)]
            )
            let rows = try Row.fetchAll(
                db,
                sql: "SELECT * FROM sqs_message WHERE queue = ? AND visible_at <= ? ORDER BY seq LIMIT ?",
                arguments: [name, now, maxMessages]
            )
            let invisibleUntil = now + Double(visibilityTimeout ?? q.visibilityTimeout)
            var messages: [Message] = []
            for row in rows {
                let handle = Self.newReceiptHandle(queue: name)
                let count: Int = row["receive_count"] + 1
                let first: Double = row["first_received_at"] ?? now
                try db.execute(
                    sql: "UPDATE sqs_message SET visible_at = ?, receive_count = ?, first_received_at = ?, receipt_handle = ? WHERE seq = ?",
                    arguments: [invisibleUntil, count, first, handle, row["seq"] as Int64]
                )
                var attributes: [String: SQSMessageAttribute] = [:]
                let text: String = row["attributes"]
                for (k, v) in (try? JSONValue.parse(Array(text.utf8)))?.objectValue ?? [:] {
                    attributes[k] = SQSMessageAttribute(json: v)
                }
                messages.append(Message(
                    messageId: row["message_id"], receiptHandle: handle, body: row["body"], md5OfBody: row["md5_body"],
                    attributes: attributes, md5OfAttributes: row["md5_attributes"],
                    sentAt: Date(timeIntervalSince1970: row["sent_at"]), receiveCount: count,
                    firstReceivedAt: Date(timeIntervalSince1970: first)
                ))
            }
            return messages
        }
    }

    /// Deletes the message last received with `receiptHandle`. A well-formed handle of a
    /// message that is gone succeeds (as SQS does); a malformed one is ReceiptHandleIsInvalid.
    package func delete(queue name: String, receiptHandle: String) async throws {
        try await self.pool.write { db in
            guard try Self.queue(name, db) != nil else { throw SQSServiceError.queueDoesNotExist() }
            guard Self.isWellFormed(receiptHandle) else {
                throw SQSServiceError(.receiptHandleIsInvalid, "The input receipt handle \"\(receiptHandle)\" is not a valid receipt handle.")
            }
            try db.execute(sql: "DELETE FROM sqs_message WHERE queue = ? AND receipt_handle = ?", arguments: [name, receiptHandle])
        }
    }

    /// Makes an in-flight message visible again after `timeout` seconds (0: now).
    package func changeVisibility(queue name: String, receiptHandle: String, timeout: Int) async throws {
        let now = self.now().timeIntervalSince1970
        try await self.pool.write { db in
            guard try Self.queue(name, db) != nil else { throw SQSServiceError.queueDoesNotExist() }
            guard Self.isWellFormed(receiptHandle) else {
                throw SQSServiceError(.receiptHandleIsInvalid, "The input receipt handle \"\(receiptHandle)\" is not a valid receipt handle.")
            }
            try db.execute(
                sql: "UPDATE sqs_message SET visible_at = ? WHERE queue = ? AND receipt_handle = ? AND visible_at > ?",
                arguments: [now + Double(timeout), name, receiptHandle, now]
            )
            guard db.changesCount == 1 else {
                throw SQSServiceError(.messageNotInflight, "Message does not exist or is not available for visibility timeout change.")
            }
        }
    }

    /// Deletes every message of the queue.
    package func purge(queue name: String) async throws {
        try await self.pool.write { db in
            guard try Self.queue(name, db) != nil else { throw SQSServiceError.queueDoesNotExist() }
            try db.execute(sql: "DELETE FROM sqs_message WHERE queue = ?", arguments: [name])
        }
    }

    package func counts(queue name: String) async throws -> Counts {
        let now = self.now().timeIntervalSince1970
        return try await self.pool.read { db in
            guard try Self.queue(name, db) != nil else { throw SQSServiceError.queueDoesNotExist() }
            let row = try Row.fetchOne(
                db,
                sql: """
                    SELECT
                      SUM(CASE WHEN visible_at <= ? THEN 1 ELSE 0 END) AS visible,
                      SUM(CASE WHEN visible_at > ? AND receive_count > 0 THEN 1 ELSE 0 END) AS in_flight,
                      SUM(CASE WHEN visible_at > ? AND receive_count = 0 THEN 1 ELSE 0 END) AS delayed
                    FROM sqs_message WHERE queue = ?
                    """,
                arguments: [now, now, now, name]
            )
            return Counts(visible: row?["visible"] ?? 0, inFlight: row?["in_flight"] ?? 0, delayed: row?["delayed"] ?? 0)
        }
    }

    // MARK: - Helpers

    static func newReceiptHandle(queue: String) -> String {
        "csvstorm-rh-" + UUID().uuidString.lowercased() + "-" + UUID().uuidString.lowercased()
    }

    static func isWellFormed(_ handle: String) -> Bool {
        handle.hasPrefix("csvstorm-rh-") && handle.utf8.count == 12 + 36 + 1 + 36
    }

    static func apply(_ attributes: [String: String], to q: inout Queue) throws {
        func int(_ name: String, _ range: ClosedRange<Int>) throws -> Int? {
            guard let s = attributes[name] else { return nil }
            guard let v = Int(s), range.contains(v) else {
                throw SQSServiceError(.invalidAttributeName, "Invalid value for the parameter \(name).")
            }
            return v
        }
        if let v = try int("VisibilityTimeout", 0...43_200) { q.visibilityTimeout = v }
        if let v = try int("MessageRetentionPeriod", 60...1_209_600) { q.messageRetentionPeriod = v }
        if let v = try int("DelaySeconds", 0...900) { q.delaySeconds = v }
        if let v = try int("MaximumMessageSize", 1024...262_144) { q.maximumMessageSize = v }
        if let v = try int("ReceiveMessageWaitTimeSeconds", 0...20) { q.receiveMessageWaitTimeSeconds = v }
        for (k, v) in attributes where !Self.settingNames.contains(k) { q.otherAttributes[k] = v }
    }

    static func queue(_ name: String, _ db: Database) throws -> Queue? {
        guard let row = try Row.fetchOne(db, sql: "SELECT * FROM sqs_queue WHERE name = ?", arguments: [name]) else { return nil }
        let other: String = row["other_attributes"]
        return Queue(
            name: row["name"], createdAt: Date(timeIntervalSince1970: row["created_at"]),
            visibilityTimeout: row["visibility_timeout"], messageRetentionPeriod: row["retention"],
            delaySeconds: row["delay_seconds"], maximumMessageSize: row["maximum_message_size"],
            receiveMessageWaitTimeSeconds: row["receive_wait"],
            otherAttributes: ((try? JSONValue.parse(Array(other.utf8)))?.objectValue ?? [:]).compactMapValues(\.stringValue)
        )
    }

    static func save(_ q: Queue, _ db: Database) throws {
        let other = String(decoding: JSONValue.object(q.otherAttributes.mapValues(JSONValue.string)).serialized(), as: UTF8.self)
        try db.execute(
            sql: """
                INSERT OR REPLACE INTO sqs_queue (name, created_at, visibility_timeout, retention, delay_seconds, maximum_message_size, receive_wait, other_attributes)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [q.name, q.createdAt.timeIntervalSince1970, q.visibilityTimeout, q.messageRetentionPeriod, q.delaySeconds,
                        q.maximumMessageSize, q.receiveMessageWaitTimeSeconds, other]
        )
    }
}
