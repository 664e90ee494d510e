import Foundation
import GRDB

/// The pipeline's own durable state, in `<stateDirectory>/pipeline.sqlite` (GRDB, WAL): the
/// event bus's inbox (events accepted from S3, not yet turned into an execution) and the
/// workflow executions with their history. Together with the ledger and the RetryQueue this is
/// what lets a restarted pipeline resume: a delivery still pending is attempted again, an
/// execution still RUNNING is resumed — none silently vanishes.
package final class PipelineStore: Sendable {
    let pool: DatabasePool

    /// One event in the bus's inbox.
    package struct Delivery: Sendable, Hashable {
        package var id: Int64
        package var event: ObjectCreatedEvent
        package var receivedAt: Date
        /// Failed attempts so far.
        package var attempts: Int
        package var notBefore: Date
    }

    package enum ExecutionStatus: String, Sendable, Codable, CaseIterable {
        case running = "RUNNING"
        case succeeded = "SUCCEEDED"
        case failed = "FAILED"
        case aborted = "ABORTED"
    }

    /// One workflow execution as stored.
    package struct Execution: Sendable, Equatable, Codable {
        /// Increasing; the listing cursor.
        package var seq: Int64
        package var executionId: String
        package var jobId: String
        package var bucket: String
        package var key: String
        package var sequencer: String
        package var status: ExecutionStatus
        /// `event` (the rule's target), `redrive`, or `api` (StartExecution).
        package var source: String
        package var startedAt: Date
        package var stoppedAt: Date?
        /// `SUCCEEDED`, `FAILED`, `DUPLICATE`, `EXECUTION_FAILED`, …
        package var result: String?
        package var error: String?
        package var cause: String?
        /// RunTask calls.
        package var attempts: Int
        package var history: [JobWorkflow.HistoryEvent]
        package var eventJSON: String
    }

    package init(path: String, synchronousFull: Bool) throws {
        self.pool = try DatabasePool.emulatorStore(path: path, synchronousFull: synchronousFull)
        try Self.migrator.migrate(self.pool)
    }

    private static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE delivery (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    event_json BLOB NOT NULL,
                    received_at REAL NOT NULL,
                    attempts INTEGER NOT NULL DEFAULT 0,
                    not_before REAL NOT NULL,
                    state TEXT NOT NULL
                );
                CREATE INDEX delivery_due ON delivery(state, not_before);
                CREATE TABLE execution (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    execution_id TEXT NOT NULL UNIQUE,
                    job_id TEXT NOT NULL,
                    bucket TEXT NOT NULL,
                    key TEXT NOT NULL,
                    sequencer TEXT NOT NULL,
                    status TEXT NOT NULL,
                    source TEXT NOT NULL,
                    started_at REAL NOT NULL,
                    stopped_at REAL,
                    result TEXT,
                    error TEXT,
                    cause TEXT,
                    attempts INTEGER NOT NULL DEFAULT 0,
                    history_json BLOB NOT NULL,
                    event_json BLOB NOT NULL
                );
                CREATE INDEX execution_status ON execution(status, seq);
                CREATE INDEX execution_job ON execution(job_id);
                """)
        }
        return migrator
    }

    // MARK: Deliveries

    /// An event entering the inbox.
    package struct Arrival: Sendable {
        package var event: ObjectCreatedEvent
        /// 2 for a duplicated delivery.
        package var copies: Int
        package var notBefore: Date

        package init(event: ObjectCreatedEvent, copies: Int, notBefore: Date) {
            self.event = event
            self.copies = copies
            self.notBefore = notBefore
        }
    }

    /// Accepts an event into the inbox `copies` times (2 for a duplicated delivery).
    package func accept(_ event: ObjectCreatedEvent, copies: Int, notBefore: Date, now: Date) async throws {
        try await self.accept([Arrival(event: event, copies: copies, notBefore: notBefore)], now: now)
    }

    /// Accepts events into the inbox, all in one transaction (or none).
    package func accept(_ arrivals: [Arrival], now: Date) async throws {
        guard !arrivals.isEmpty else { return }
        let rows = arrivals.map { (json: $0.event.jsonBytes(), copies: $0.copies, notBefore: $0.notBefore) }
        try await self.pool.write { db in
            for row in rows {
                for _ in 0..<max(1, row.copies) {
                    try db.executeCached(
                        sql: "INSERT INTO delivery (event_json, received_at, not_before, state) VALUES (?, ?, ?, 'pending')",
                        arguments: [Data(row.json), now.timeIntervalSince1970, row.notBefore.timeIntervalSince1970]
                    )
                }
            }
        }
    }

    /// Pending deliveries due at `now`, oldest first, and when the next one after them is due.
    package func dueDeliveries(at now: Date, limit: Int) async throws -> (due: [Delivery], nextDue: Date?) {
        try await self.pool.read { db in
            let rows = try Row.fetchAll(
                db, cachedSQL: "SELECT * FROM delivery WHERE state = 'pending' AND not_before <= ? ORDER BY not_before, id LIMIT ?",
                arguments: [now.timeIntervalSince1970, limit]
            )
            let due = try rows.map { row in
                let json: Data = row["event_json"]
                return Delivery(
                    id: row["id"], event: try ObjectCreatedEvent.decode(json: json),
                    receivedAt: Date(timeIntervalSince1970: row["received_at"]), attempts: row["attempts"],
                    notBefore: Date(timeIntervalSince1970: row["not_before"])
                )
            }
            let next = try Double.fetchOne(
                db, cachedSQL: "SELECT MIN(not_before) FROM delivery WHERE state = 'pending' AND not_before > ?", arguments: [now.timeIntervalSince1970]
            )
            return (due, next.map { Date(timeIntervalSince1970: $0) })
        }
    }

    package func scheduleRetry(delivery id: Int64, attempts: Int, notBefore: Date) async throws {
        try await self.pool.write { db in
            try db.executeCached(
                sql: "UPDATE delivery SET attempts = ?, not_before = ? WHERE id = ?",
                arguments: [attempts, notBefore.timeIntervalSince1970, id]
            )
        }
    }

    /// The delivery went to the RetryQueue.
    package func markDeadLettered(delivery id: Int64) async throws {
        try await self.pool.write { db in
            try db.executeCached(sql: "UPDATE delivery SET state = 'dead' WHERE id = ?", arguments: [id])
        }
    }

    /// Starts an execution: inserts it RUNNING and, when it comes from the inbox, marks that
    /// delivery done, in one transaction (so a crash cannot lose or double the hand-over).
    package func startExecution(_ execution: Execution, delivery: Int64?) async throws -> Execution {
        try await self.pool.write { db in try Self.insertExecution(execution, delivery: delivery, db) }
    }

    /// ``startExecution(_:delivery:)`` for several, in one transaction (all or none).
    package func startExecutions(_ starts: [(execution: Execution, delivery: Int64?)]) async throws -> [Execution] {
        guard !starts.isEmpty else { return [] }
        return try await self.pool.write { db in
            try starts.map { try Self.insertExecution($0.execution, delivery: $0.delivery, db) }
        }
    }

    private static func insertExecution(_ execution: Execution, delivery: Int64?, _ db: Database) throws -> Execution {
        if let delivery {
            try db.executeCached(sql: "UPDATE delivery SET state = 'done' WHERE id = ?", arguments: [delivery])
        }
        try db.executeCached(
            sql: """
                INSERT INTO execution (execution_id, job_id, bucket, key, sequencer, status, source, started_at, attempts, history_json, event_json)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?)
                """,
            arguments: [
                execution.executionId, execution.jobId, execution.bucket, execution.key, execution.sequencer,
                execution.status.rawValue, execution.source, execution.startedAt.timeIntervalSince1970,
                try Self.encoder.encode(execution.history), Data(execution.eventJSON.utf8),
            ]
        )
        var stored = execution
        stored.seq = db.lastInsertedRowID
        return stored
    }

    /// Saves the execution's progress (history, attempts) or its end.
    package func update(_ execution: Execution) async throws {
        try await self.pool.write { db in
            try db.executeCached(
                sql: """
                    UPDATE execution SET status = ?, stopped_at = ?, result = ?, error = ?, cause = ?, attempts = ?, history_json = ?
                    WHERE execution_id = ?
                    """,
                arguments: [
                    execution.status.rawValue, execution.stoppedAt?.timeIntervalSince1970, execution.result, execution.error,
                    execution.cause, execution.attempts, try Self.encoder.encode(execution.history), execution.executionId,
                ]
            )
        }
    }

    package func execution(id: String) async throws -> Execution? {
        try await self.pool.read { db in
            try Row.fetchOne(db, cachedSQL: "SELECT * FROM execution WHERE execution_id = ?", arguments: [id]).map(Self.execution)
        }
    }

    /// Executions after cursor `after` (a `seq`), oldest first, optionally of one status.
    package func executions(status: ExecutionStatus?, after: Int64, limit: Int) async throws -> [Execution] {
        try await self.pool.read { db in
            if let status {
                return try Row.fetchAll(
                    db, cachedSQL: "SELECT * FROM execution WHERE status = ? AND seq > ? ORDER BY seq LIMIT ?",
                    arguments: [status.rawValue, after, limit]
                ).map(Self.execution)
            }
            return try Row.fetchAll(db, cachedSQL: "SELECT * FROM execution WHERE seq > ? ORDER BY seq LIMIT ?", arguments: [after, limit])
                .map(Self.execution)
        }
    }

    /// Removes the oldest finished executions beyond `limit`.
    package func trimHistory(keeping limit: Int) async throws {
        try await self.pool.write { db in
            let count = try Int.fetchOne(db, cachedSQL: "SELECT COUNT(*) FROM execution") ?? 0
            guard count > limit else { return }
            try db.executeCached(
                sql: "DELETE FROM execution WHERE seq IN (SELECT seq FROM execution WHERE status != 'RUNNING' ORDER BY seq LIMIT ?)",
                arguments: [count - limit]
            )
        }
    }

    package struct Counts: Sendable, Hashable, Codable {
        package var deliveriesPending: Int
        package var deliveriesDeadLettered: Int
        package var executions: [String: Int]
    }

    package func counts() async throws -> Counts {
        try await self.pool.read { db in
            let pending = try Int.fetchOne(db, cachedSQL: "SELECT COUNT(*) FROM delivery WHERE state = 'pending'") ?? 0
            let dead = try Int.fetchOne(db, cachedSQL: "SELECT COUNT(*) FROM delivery WHERE state = 'dead'") ?? 0
            var executions: [String: Int] = [:]
            for row in try Row.fetchAll(db, cachedSQL: "SELECT status, COUNT(*) AS n FROM execution GROUP BY status") {
                executions[row["status"]] = row["n"]
            }
            return Counts(deliveriesPending: pending, deliveriesDeadLettered: dead, executions: executions)
        }
    }

    // MARK: Row mapping

    private static let encoder = JSONEncoder()

    static func execution(_ row: Row) throws -> Execution {
        let history: Data = row["history_json"]
        let event: Data = row["event_json"]
        let stopped: Double? = row["stopped_at"]
        return Execution(
            seq: row["seq"], executionId: row["execution_id"], jobId: row["job_id"], bucket: row["bucket"], key: row["key"],
            sequencer: row["sequencer"], status: ExecutionStatus(rawValue: row["status"]) ?? .failed, source: row["source"],
            startedAt: Date(timeIntervalSince1970: row["started_at"]), stoppedAt: stopped.map { Date(timeIntervalSince1970: $0) },
            result: row["result"], error: row["error"], cause: row["cause"], attempts: row["attempts"],
            history: try JSONDecoder().decode([JobWorkflow.HistoryEvent].self, from: history),
            eventJSON: String(decoding: event, as: UTF8.self)
        )
    }
}
