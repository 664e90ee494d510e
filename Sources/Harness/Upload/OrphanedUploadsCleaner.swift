import AsyncHTTPClient
import AWSWire
import Foundation

/// `csvstorm uploads clean`: lists a bucket's in-progress multipart uploads
/// (ListMultipartUploads, paginated) and aborts those initiated before a cut-off.
package struct OrphanedUploadsCleaner: Sendable {
    /// What was done to one in-progress upload.
    package struct Action: Sendable, Hashable, Codable {
        package enum Result: String, Sendable, Hashable, Codable {
            /// Aborted, and ListParts then answered NoSuchUpload.
            case aborted
            /// Already gone when we aborted it (completed or aborted by someone else).
            case alreadyGone = "already-gone"
            /// Younger than the cut-off: left alone.
            case kept
            /// Would be aborted (dry run).
            case wouldAbort = "would-abort"
            case failed
        }

        package var key: String
        package var uploadId: String
        package var initiated: String?
        package var result: Result
        package var error: String?
    }

    package struct Report: Sendable, Hashable, Codable {
        package var bucket: String
        package var actions: [Action]

        package var aborted: Int { self.actions.filter { $0.result == .aborted || $0.result == .alreadyGone }.count }
        package var failed: Int { self.actions.filter { $0.result == .failed }.count }
        package var kept: Int { self.actions.filter { $0.result == .kept }.count }
    }

    package let client: S3Client

    package init(client: S3Client) {
        self.client = client
    }

    /// - Parameters:
    ///   - olderThan: only uploads initiated at least this long before `now` (nil: all).
    ///   - onAction: called after each upload is handled (for printing as it goes).
    package func clean(
        bucket: String,
        prefix: String? = nil,
        olderThan: Duration? = nil,
        now: Date = Date(),
        dryRun: Bool = false,
        onAction: (Action) -> Void = { _ in }
    ) async throws -> Report {
        let uploads = try await self.client.listAllMultipartUploads(bucket: bucket, prefix: prefix, maxPages: 1000)
        var report = Report(bucket: bucket, actions: [])
        for upload in uploads {
            try Task.checkCancellation()
            var action = Action(key: upload.key, uploadId: upload.uploadId, initiated: upload.initiated, result: .kept, error: nil)
            if Self.isOldEnough(initiated: upload.initiated, olderThan: olderThan, now: now) {
                action = dryRun ? Action(key: upload.key, uploadId: upload.uploadId, initiated: upload.initiated, result: .wouldAbort) : await self.abort(upload, bucket: bucket)
            }
            report.actions.append(action)
            onAction(action)
        }
        return report
    }

    private func abort(_ upload: S3MultipartUpload, bucket: String) async -> Action {
        var action = Action(key: upload.key, uploadId: upload.uploadId, initiated: upload.initiated, result: .aborted, error: nil)
        do {
            try await self.client.abortMultipartUpload(bucket: bucket, key: upload.key, uploadId: upload.uploadId)
        } catch let error as AWSError where error.code == .noSuchUpload {
            action.result = .alreadyGone
            return action
        } catch {
            action.result = .failed
            action.error = "\(error)"
            return action
        }
        do {
            _ = try await self.client.listParts(bucket: bucket, key: upload.key, uploadId: upload.uploadId, maxParts: 1)
            action.result = .failed
            action.error = "still listed after AbortMultipartUpload"
        } catch let error as AWSError where error.code == .noSuchUpload {
            // Confirmed.
        } catch {
            action.result = .failed
            action.error = "could not confirm the abort: \(error)"
        }
        return action
    }

    /// Whether an upload initiated at `initiated` (ISO 8601, as S3 lists it) is old enough.
    /// With a cut-off, an upload whose date is missing or unparsable is kept: never abort what
    /// we cannot date. Without one, every upload is old enough.
    package static func isOldEnough(initiated: String?, olderThan: Duration?, now: Date) -> Bool {
        guard let olderThan else { return true }
        guard let initiated, let date = Self.parseDate(initiated) else { return false }
        return now.timeIntervalSince(date) >= olderThan.seconds
    }

    static func parseDate(_ text: String) -> Date? {
        let withFraction = ISO8601DateFormatter()
        withFraction.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = withFraction.date(from: text) { return date }
        let plain = ISO8601DateFormatter()
        plain.formatOptions = [.withInternetDateTime]
        return plain.date(from: text)
    }
}

/// Parses durations such as `90s`, `15m`, `1h`, `2d`, `1h30m`.
package enum DurationParser {
    package static func parse(_ text: String) -> Duration? {
        var total: Int64 = 0
        var number: Int64?
        var sawUnit = false
        for c in text.lowercased() {
            if let d = c.wholeNumberValue {
                let (m, o1) = (number ?? 0).multipliedReportingOverflow(by: 10)
                let (a, o2) = m.addingReportingOverflow(Int64(d))
                guard !o1, !o2 else { return nil }
                number = a
                continue
            }
            let unit: Int64
            switch c {
            case "s": unit = 1
            case "m": unit = 60
            case "h": unit = 3600
            case "d": unit = 86_400
            default: return nil
            }
            guard let n = number else { return nil }
            let (p, o) = n.multipliedReportingOverflow(by: unit)
            guard !o else { return nil }
            total += p
            number = nil
            sawUnit = true
        }
        guard sawUnit, number == nil else { return nil }
        return .seconds(total)
    }
}

extension OrphanedUploadsCleaner {
    /// Runs `body` with a cleaner on its own HTTP client, shut down afterwards.
    package static func withClient<T>(connection: S3Connection, _ body: (OrphanedUploadsCleaner) async throws -> T) async throws -> T {
        try await HTTPClient.withHTTPClient { http in
            let client = S3Client(httpClient: http, configuration: connection.configuration, credentialsProvider: connection.credentials)
            return try await body(OrphanedUploadsCleaner(client: client))
        }
    }
}
