import AWSWire
import Foundation

/// The pipeline's job table (DESIGN.md step 3 and 5) on a ``DynamoDBItemStore``: one record per
/// object version, written with conditional writes so that a duplicate event can never
/// produce a second completed job for one object version.
///
/// ## Key
/// Partition key `jobId` = `<bucket>/<key>#<sequencer>` (S). The S3 `sequencer` orders events
/// of one key, so (bucket, key, sequencer) names one object version's creation. `#` cannot
/// be confused with the key because the sequencer is hex; the bucket name has no `/`.
///
/// ## Attributes
/// `status` (RUNNING | SUCCEEDED | FAILED), `bucket`, `key`, `sequencer`, `executionId` (the
/// owning workflow execution), `startedAt`, `finishedAt` (ISO 8601), `attempts` (N, processor
/// task attempts), `error`, `cause`, `outputLocation` (`s3://bucket/key`), `ttl` (N, epoch
/// seconds; the table's TTL attribute).
///
/// ## Protocol
/// 1. ``start(_:executionId:)`` — `PutItem … attribute_not_exists(jobId)`: the first execution
///    for a version claims it; a duplicate sees ``StartOutcome/duplicate(_:)``; the owner
///    resuming after a restart sees ``StartOutcome/resumed(_:)``.
/// 2. ``recordAttempt(_:executionId:)`` — `ADD attempts :one` if `#status = :running AND executionId = :me`.
/// 3. ``finish(_:executionId:outcome:)`` — `SET #status = …` if `#status = :running AND executionId = :me`;
///    only one execution can move a record out of RUNNING.
package struct JobLedger: Sendable {
    package typealias JobKey = JobLedgerKey
    package typealias Status = JobLedgerStatus
    package typealias Record = JobLedgerRecord

    package enum StartOutcome: Sendable, Hashable {
        /// This execution claimed the version.
        case started(Record)
        /// This execution already owns the (RUNNING or finished) record: resume from it.
        case resumed(Record)
        /// Another execution owns the version: a duplicate event; do not process.
        case duplicate(Record)
    }

    package enum Outcome: Sendable, Hashable {
        case succeeded(outputLocation: String)
        case failed(error: String, cause: String, outputLocation: String?)
    }

    package enum FinishOutcome: Sendable, Hashable {
        /// The record moved from RUNNING to the terminal status.
        case finished(Record)
        /// It was no longer RUNNING under this execution (already finished, or owned by
        /// another); nothing changed.
        case rejected(Record?)
    }

    package static let defaultTableName = "csvstorm-jobs"

    package let store: DynamoDBItemStore
    package let tableName: String
    /// How long records live after their last write. Default 30 days.
    package let recordTTL: Duration
    let now: @Sendable () -> Date

    /// - Parameter now: the clock for timestamps and TTL (inject a test or virtual clock).
    package init(store: DynamoDBItemStore, tableName: String = JobLedger.defaultTableName, recordTTL: Duration = .seconds(30 * 86_400), now: @escaping @Sendable () -> Date) {
        self.store = store
        self.tableName = tableName
        self.recordTTL = recordTTL
        self.now = now
    }

    /// Creates the table (partition key `jobId`, TTL attribute `ttl`) if it does not exist.
    package func createTableIfNeeded() async throws {
        try await self.store.createTable(
            DynamoDBTableDefinition(name: self.tableName, partitionKey: .init(name: "jobId"), ttlAttribute: "ttl"),
            ifNotExists: true
        )
    }

    package func start(_ job: JobKey, executionId: String) async throws -> StartOutcome {
        let now = self.now()
        let item: DynamoDBItem = [
            "jobId": .s(job.jobId), "bucket": .s(job.bucket), "key": .s(job.key), "sequencer": .s(job.sequencer),
            "status": .s(Status.running.rawValue), "executionId": .s(executionId), "startedAt": .s(JobLedgerRecord.format(now)),
            "attempts": .number(0), "ttl": .number(self.expiry(after: now)),
        ]
        var parser = DynamoDBExpressionParser()
        let condition = try parser.condition("attribute_not_exists(jobId)")
        do {
            try await self.store.putItem(table: self.tableName, item: item, condition: condition)
            return .started(Record(item: item)!)
        } catch let error as DynamoDBServiceError where error.code == .conditionalCheckFailed {
            guard let old = error.item, let record = Record(item: old) else { throw error }
            return record.executionId == executionId ? .resumed(record) : .duplicate(record)
        }
    }

    /// Counts one processor task attempt; returns the new count, or nil when this execution
    /// does not own a RUNNING record.
    package func recordAttempt(_ job: JobKey, executionId: String) async throws -> Int? {
        var parser = DynamoDBExpressionParser(
            names: ["#status": "status"],
            values: [":running": .s(Status.running.rawValue), ":me": .s(executionId), ":one": .number(1)]
        )
        let update = try parser.update("ADD attempts :one")
        let condition = try parser.condition("#status = :running AND executionId = :me")
        do {
            let (_, new, _) = try await self.store.updateItem(table: self.tableName, key: ["jobId": .s(job.jobId)], update: update, condition: condition)
            return new["attempts"]?.intValue
        } catch let error as DynamoDBServiceError where error.code == .conditionalCheckFailed {
            return nil
        }
    }

    package func finish(_ job: JobKey, executionId: String, outcome: Outcome) async throws -> FinishOutcome {
        let now = self.now()
        var values: DynamoDBItem = [
            ":running": .s(Status.running.rawValue), ":me": .s(executionId), ":now": .s(JobLedgerRecord.format(now)),
            ":ttl": .number(self.expiry(after: now)),
        ]
        var set = "#status = :status, finishedAt = :now, #ttl = :ttl"
        switch outcome {
        case .succeeded(let location):
            values[":status"] = .s(Status.succeeded.rawValue)
            values[":out"] = .s(location)
            set += ", outputLocation = :out"
        case .failed(let error, let cause, let location):
            values[":status"] = .s(Status.failed.rawValue)
            values[":error"] = .s(error)
            values[":cause"] = .s(cause)
            set += ", #error = :error, cause = :cause"
            if let location {
                values[":out"] = .s(location)
                set += ", outputLocation = :out"
            }
        }
        var parser = DynamoDBExpressionParser(names: ["#status": "status", "#ttl": "ttl", "#error": "error"], values: values)
        let update = try parser.update("SET " + set)
        let condition = try parser.condition("#status = :running AND executionId = :me")
        do {
            let (_, new, _) = try await self.store.updateItem(table: self.tableName, key: ["jobId": .s(job.jobId)], update: update, condition: condition)
            guard let record = Record(item: new) else { throw DynamoDBServiceError(.internalFailure, "ledger record \(job) is malformed") }
            return .finished(record)
        } catch let error as DynamoDBServiceError where error.code == .conditionalCheckFailed {
            return .rejected(error.item.flatMap(Record.init(item:)))
        }
    }

    /// The live record of `job`, or nil (never written, or expired).
    package func record(_ job: JobKey) async throws -> Record? {
        try await self.store.getItem(table: self.tableName, key: ["jobId": .s(job.jobId)]).flatMap(Record.init(item:))
    }

    /// Every live record (bounded by `maxPages` pages of 1 MB).
    package func allRecords(maxPages: Int = 100_000) async throws -> [Record] {
        var out: [Record] = []
        var start: DynamoDBItem?
        for _ in 0..<maxPages {
            let page = try await self.store.page(table: self.tableName, exclusiveStartKey: start)
            out.append(contentsOf: page.items.compactMap(Record.init(item:)))
            guard let next = page.lastEvaluatedKey else { return out }
            start = next
        }
        return out
    }

    func expiry(after date: Date) -> Int {
        Int(date.timeIntervalSince1970.rounded(.down)) + Int(self.recordTTL.components.seconds)
    }
}
