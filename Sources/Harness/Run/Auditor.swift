import AWSWire
import Foundation
import NIOCore
import SyntheticData

/// The audit of a run (DESIGN.md's vocabulary): after the pipeline went quiet, each upload is
/// classified by reading the ledger (DynamoDB), the buckets (S3) and the RetryQueue (SQS) —
/// the code path a deployed pipeline needs too.
package enum AuditClassifier {
    /// What the audit knows about one upload.
    package struct Evidence: Sendable {
        package var outcome: String?
        package var expectedMalformed: Bool
        package var records: [JobLedgerRecord]
        package var deadLettered: Bool
        /// The processed output (SUCCEEDED) or the failed input (FAILED) exists; nil: not checked.
        package var outputExists: Bool?
        /// Seeded PII values found in the processed output.
        package var leakedValues: Int
        /// The output's data rows differ from the recipe's.
        package var rowMismatch: Bool

        package init(outcome: String?, expectedMalformed: Bool, records: [JobLedgerRecord], deadLettered: Bool = false, outputExists: Bool? = nil, leakedValues: Int = 0, rowMismatch: Bool = false) {
            self.outcome = outcome
            self.expectedMalformed = expectedMalformed
            self.records = records
            self.deadLettered = deadLettered
            self.outputExists = outputExists
            self.leakedValues = leakedValues
            self.rowMismatch = rowMismatch
        }
    }

    /// The classes of one upload: the primary one first, then findings about its output
    /// (`recovered`, `leaked_pii`, `mismatched`). Empty for an upload that did not happen
    /// (`fail`, or `info` with no trace) — nothing to account for.
    package static func classify(_ e: Evidence) -> [AuditClass] {
        switch e.outcome {
        case nil:
            return []
        case "fail"?:
            // A definitely-failed upload must leave no trace in the pipeline.
            return e.records.isEmpty ? [] : [.unexpected]
        default:
            break
        }
        let info = e.outcome == "info"
        guard !e.records.isEmpty else {
            if e.deadLettered { return [.deadLettered] }
            return info ? [] : [.lost]
        }
        let completed = e.records.filter { $0.status != .running }
        if completed.filter({ $0.status == .succeeded }).count > 1 { return [.duplicated] }
        guard let record = completed.first else { return [.stuck] }
        var classes: [AuditClass]
        switch record.status {
        case .succeeded:
            if e.expectedMalformed { return [.mismatched] }
            if e.outputExists == false { return [.lost] }
            classes = [.processed]
            if info { classes.append(.recovered) }
            if e.leakedValues > 0 { classes.append(.leakedPII) }
            if e.rowMismatch { classes.append(.mismatched) }
        case .failed:
            if e.expectedMalformed {
                classes = [e.outputExists == false ? .lost : .failedAsExpected]
            } else {
                classes = [.failedUnexpectedly]
            }
        case .running:
            classes = [.stuck]
        }
        return classes
    }
}

/// Reads what the audit needs from a pipeline.
package struct AuditReader: Sendable {
    package let s3: S3Client
    package let sqs: SQSClient
    package let dynamoDB: DynamoDBClient
    package let target: RunTarget

    /// Every ledger record (Scan, all pages).
    package func ledgerRecords() async throws -> [JobLedgerRecord] {
        try await self.dynamoDB.scanAll(table: self.target.jobTable, consistentRead: true).compactMap(JobLedgerRecord.init(item:))
    }

    /// The object keys of the events waiting in the RetryQueue: receives every message (hiding
    /// them for the pass), then makes them visible again. Bounded by `limit` messages.
    package func deadLetteredKeys(limit: Int = 100_000) async throws -> [String: Int] {
        let queueURL = self.target.retryQueue.hasPrefix("http") ? self.target.retryQueue : try await self.sqs.getQueueUrl(self.target.retryQueue)
        var keys: [String: Int] = [:]
        var handles: [String] = []
        var empty = 0
        while handles.count < limit, empty < 2 {
            let batch = try await self.sqs.receiveMessage(queueURL: queueURL, maxMessages: 10, waitSeconds: 0, visibilityTimeout: 60)
            if batch.isEmpty {
                empty += 1
                continue
            }
            for message in batch {
                handles.append(message.receiptHandle)
                if let json = try? JSONValue.parse(Array(message.body.utf8)), let key = json["detail"]?["object"]?["key"]?.stringValue {
                    keys[key, default: 0] += 1
                }
            }
        }
        for handle in handles {
            try? await self.sqs.changeMessageVisibility(queueURL: queueURL, receiptHandle: handle, visibilityTimeout: 0)
        }
        return keys
    }

    /// Whether `s3://bucket/key` exists.
    package func exists(_ location: String) async -> Bool {
        guard let (bucket, key) = Self.split(location) else { return false }
        return (try? await self.s3.headObject(bucket: bucket, key: key)) != nil
    }

    /// Streams the processed output at `location` and checks it row by row against the recipe:
    /// the data row count, and that none of each row's seeded PII values survived in it.
    package func checkOutput(_ location: String, regenerator: RowRegenerator) async throws -> (rows: Int, leaks: Int, example: String?) {
        guard let (bucket, key) = Self.split(location) else { return (0, 0, nil) }
        let output = try await self.s3.getObject(bucket: bucket, key: key)
        var line: [UInt8] = []
        var lineIndex = 0
        var leaks = 0
        var example: String?
        func finishLine() {
            defer {
                lineIndex += 1
                line.removeAll(keepingCapacity: true)
            }
            guard lineIndex > 0 else { return }  // the header
            for value in regenerator.piiValues(row: lineIndex - 1) where Self.contains(line, Array(value.value.utf8)) {
                leaks += 1
                if example == nil { example = "row \(lineIndex - 1): \(value.kind) '\(value.value)'" }
            }
        }
        for try await buffer in output.body {
            buffer.withUnsafeReadableBytes { bytes in
                var start = 0
                while start < bytes.count {
                    guard let newline = bytes[start...].firstIndex(of: 0x0A) else {
                        line.append(contentsOf: bytes[start...])
                        return
                    }
                    line.append(contentsOf: bytes[start..<newline])
                    finishLine()
                    start = newline + 1
                }
            }
        }
        if !line.isEmpty { finishLine() }
        return (max(0, lineIndex - 1), leaks, example)
    }

    static func split(_ location: String) -> (String, String)? {
        guard location.hasPrefix("s3://") else { return nil }
        let rest = location.dropFirst(5)
        guard let slash = rest.firstIndex(of: "/") else { return nil }
        return (String(rest[..<slash]), String(rest[rest.index(after: slash)...]))
    }

    static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, needle.count <= haystack.count else { return false }
        let first = needle[0]
        var i = 0
        let last = haystack.count - needle.count
        while i <= last {
            if haystack[i] == first {
                var j = 1
                while j < needle.count, haystack[i + j] == needle[j] { j += 1 }
                if j == needle.count { return true }
            }
            i += 1
        }
        return false
    }
}
