import Foundation

// The job table's schema, shared by the emulated ledger (Emulator's `JobLedger`) and the
// harness reading a deployed ledger through ``DynamoDBClient``.
//
// Partition key `jobId` = `<bucket>/<key>#<sequencer>` (S). Attributes: `status`
// (RUNNING | SUCCEEDED | FAILED), `bucket`, `key`, `sequencer`, `executionId`, `startedAt`,
// `finishedAt` (ISO 8601), `attempts` (N), `error`, `cause`, `outputLocation`, `ttl` (N, epoch
// seconds, the table's TTL attribute).

/// Identifies one object version.
package struct JobLedgerKey: Sendable, Hashable, CustomStringConvertible {
    package var bucket: String
    package var key: String
    package var sequencer: String

    package init(bucket: String, key: String, sequencer: String) {
        self.bucket = bucket
        self.key = key
        self.sequencer = sequencer
    }

    /// `<bucket>/<key>#<sequencer>`.
    package var jobId: String { "\(self.bucket)/\(self.key)#\(self.sequencer)" }
    package var description: String { self.jobId }
}

package enum JobLedgerStatus: String, Sendable, Hashable {
    case running = "RUNNING"
    case succeeded = "SUCCEEDED"
    case failed = "FAILED"
}

/// One record, decoded.
package struct JobLedgerRecord: Sendable, Hashable {
    package var jobId: String
    package var bucket: String
    package var key: String
    package var sequencer: String
    package var status: JobLedgerStatus
    package var executionId: String
    package var startedAt: Date
    package var finishedAt: Date?
    package var attempts: Int
    package var error: String?
    package var cause: String?
    package var outputLocation: String?
    /// Epoch seconds after which the record disappears.
    package var ttl: Int

    package init?(item: DynamoDBItem) {
        guard let jobId = item["jobId"]?.stringValue, let s = item["status"]?.stringValue, let status = JobLedgerStatus(rawValue: s),
            let started = item["startedAt"]?.stringValue.flatMap(JobLedgerRecord.parseDate)
        else { return nil }
        self.jobId = jobId
        self.bucket = item["bucket"]?.stringValue ?? ""
        self.key = item["key"]?.stringValue ?? ""
        self.sequencer = item["sequencer"]?.stringValue ?? ""
        self.status = status
        self.executionId = item["executionId"]?.stringValue ?? ""
        self.startedAt = started
        self.finishedAt = item["finishedAt"]?.stringValue.flatMap(JobLedgerRecord.parseDate)
        self.attempts = item["attempts"]?.intValue ?? 0
        self.error = item["error"]?.stringValue
        self.cause = item["cause"]?.stringValue
        self.outputLocation = item["outputLocation"]?.stringValue
        self.ttl = item["ttl"]?.intValue ?? 0
    }

    /// ISO 8601 with milliseconds, UTC (`2026-11-29T10:38:47.123Z`).
    package static func format(_ date: Date) -> String {
        date.formatted(.iso8601.year().month().day().dateSeparator(.dash).time(includingFractionalSeconds: true).timeSeparator(.colon).timeZone(separator: .omitted))
    }

    package static func parseDate(_ s: String) -> Date? {
        try? Date(s, strategy: .iso8601.year().month().day().dateSeparator(.dash).time(includingFractionalSeconds: true).timeSeparator(.colon).timeZone(separator: .omitted))
    }
}
