import Foundation
import SyntheticData

/// Everything one upload (multipart, or one PutObject for a source that fits in a part) did, for the `run` command to aggregate (one operation in
/// the Jepsen sense: ``Outcome/ok``, ``Outcome/fail`` or ``Outcome/unknown``).
///
/// Times are seconds relative to ``actualStart`` on the monotonic clock (offsets and
/// durations), plus wall-clock dates for the start and the end.
package struct UploadRecord: Sendable, Codable, Equatable {
    /// Jepsen's vocabulary: `ok` when CompleteMultipartUpload (or PutObject) succeeded and was
    /// verified, `fail` when the object definitely does not exist, `unknown` when the request
    /// that creates the object may have taken effect (it timed out, or the connection died
    /// after it was sent).
    package enum Outcome: String, Sendable, Codable, Hashable {
        case ok
        case fail
        case unknown
    }

    /// One HTTP attempt of one operation.
    package struct Attempt: Sendable, Codable, Hashable {
        /// 1-based.
        package var number: Int
        /// Seconds after the upload's actual start.
        package var start: Double
        /// Seconds until the response (or the error).
        package var duration: Double
        /// nil when the attempt succeeded.
        package var error: String?
        /// Why it was retried or would be (`throttling`, `timeout`, ...); nil for non-retryable
        /// errors and successes.
        package var retryReason: String?
    }

    /// An operation other than UploadPart (create, complete, abort, list).
    package struct Operation: Sendable, Codable, Hashable {
        package var name: String
        package var attempts: [Attempt]
        package var succeeded: Bool
    }

    package struct Part: Sendable, Codable, Hashable {
        package var number: Int
        /// Offset of the part in the object.
        package var offset: Int
        package var size: Int
        /// Seconds after the start when the part's bytes were ready (read and checksummed).
        package var ready: Double
        /// Base64 CRC32C (crc32c mode) or hex MD5 (md5 mode) we computed.
        package var checksum: String
        /// The ETag S3 returned, quotes included.
        package var eTag: String?
        package var attempts: [Attempt]
        package var succeeded: Bool
    }

    /// Abort of a failed or cancelled upload, and its confirmation.
    package struct Abort: Sendable, Codable, Hashable {
        package var operations: [Operation]
        /// ListParts answered NoSuchUpload after the abort: nothing is left behind.
        package var confirmed: Bool
        /// The upload still existed when aborted (so CompleteMultipartUpload did not take effect).
        package var uploadExisted: Bool?
        package var error: String?
    }

    /// Attempt and retry counts of this upload's requests (derived from the attempts above).
    package struct RetryCounts: Sendable, Codable, Hashable {
        package var operations = 0
        package var attempts = 0
        package var retries = 0
        /// Failed attempts by retry reason (`throttling`, `transient`, `server-error`, `timeout`,
        /// `connection`; `none` for errors that are not retried).
        package var failedAttemptsByReason: [String: Int] = [:]
        /// Attempts per operation name.
        package var attemptsByOperation: [String: Int] = [:]

        package init() {}
    }

    package struct Failure: Sendable, Codable, Hashable {
        /// A stable name: `integrity`, `request-failed`, `cancelled`, ...
        package var code: String
        package var message: String
    }

    /// What was verified about the completed object.
    package enum Verification: String, Sendable, Codable, Hashable {
        /// The object's composite CRC32C (`base64-N`) equals the one computed from our parts.
        case compositeCRC32C = "composite-crc32c"
        /// The object's ETag equals the MD5 of the parts' MD5s, `-N`.
        case md5ETag = "md5-of-md5s-etag"
        /// The server returned no object checksum: every part's checksum was verified on
        /// upload and the ETag's `-N` part count matches, but the whole was not checked.
        case partsOnly = "parts-only"
        /// PutObject with `x-amz-checksum-crc32c` of the whole body: S3 checks the body against
        /// it (BadDigest otherwise) and its echo must equal it.
        case fullObjectCRC32C = "full-object-crc32c"
        /// PutObject with `Content-MD5` (checked by S3): the ETag equals the body's MD5.
        case objectMD5ETag = "md5-etag"
    }

    /// How the object went up.
    package enum Method: String, Sendable, Codable, Hashable {
        /// CreateMultipartUpload, UploadPart × N, CompleteMultipartUpload.
        case multipart
        /// One PutObject (a source no larger than one part). Its attempts are the single
        /// part's; there is no upload id and nothing to abort.
        case putObject = "put-object"
    }

    package var id: String
    package var bucket: String
    package var key: String
    package var uploadId: String?
    package var method: Method = .multipart
    package var source: String
    /// `crc32c` or `md5`.
    package var checksumAlgorithm: String
    package var partSize: Int

    /// When the scheduler meant to start this upload (equal to ``actualStart`` when unscheduled).
    package var intendedStart: Date
    package var actualStart: Date
    /// Seconds from the intended to the actual start (queueing the scheduler could not avoid).
    package var startDelay: Double
    /// Wall-clock end (after complete, or after the abort).
    package var completedAt: Date?
    /// Seconds from the actual start to the end.
    package var duration: Double
    /// Seconds from the actual start until the request that creates the object
    /// (CompleteMultipartUpload or PutObject) answered; nil when never sent.
    package var completeAnswered: Double?

    /// Bytes read from the source / bytes of parts S3 acknowledged.
    package var bytesRead: Int
    package var bytesUploaded: Int
    package var parts: [Part]
    /// Parts whose pooled buffer had to be (re)allocated: its first use, a larger part size, or
    /// a copy because the HTTP client still held the previous part. At most the pool size when
    /// buffers are reused as intended.
    package var bufferAllocations: Int
    package var operations: [Operation]
    package var abort: Abort?

    package var outcome: Outcome
    package var cancelled: Bool
    package var failure: Failure?
    package var verification: Verification?
    package var versionId: String?
    package var eTag: String?
    /// The object's composite checksum, as returned by S3 (or computed, when S3 returned none).
    package var objectChecksum: String?
    package var retries: RetryCounts
    /// For generated sources: the recipe completed with the rows and bytes produced.
    package var recipe: DatasetRecipe?

    /// Part attempts that were retries (attempt number > 1), all operations.
    package var retryCount: Int { self.retries.retries }
}

extension UploadRecord.RetryCounts {
    mutating func add(_ operation: String, _ attempts: [UploadRecord.Attempt]) {
        guard !attempts.isEmpty else { return }
        self.operations += 1
        self.attempts += attempts.count
        self.retries += attempts.count - 1
        self.attemptsByOperation[operation, default: 0] += attempts.count
        for attempt in attempts where attempt.error != nil {
            self.failedAttemptsByReason[attempt.retryReason ?? "none", default: 0] += 1
        }
    }
}

extension UploadRecord {
    /// Recomputes ``retries`` from the parts and operations.
    mutating func tallyRetries() {
        var counts = RetryCounts()
        for part in self.parts { counts.add(self.method == .putObject ? "PutObject" : "UploadPart", part.attempts) }
        for operation in self.operations { counts.add(operation.name, operation.attempts) }
        for operation in self.abort?.operations ?? [] { counts.add(operation.name, operation.attempts) }
        self.retries = counts
    }

    /// A JSON document (sorted keys, ISO 8601 dates).
    package func jsonData(pretty: Bool = true) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return try encoder.encode(self)
    }
}
