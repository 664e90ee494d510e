import AWSWire
import NIOPosix

extension UploadEngine {
    /// One PutObject for a source that fits in one part: the whole source is read into a pooled
    /// buffer (sized to the source, not to the part size), checksummed on the I/O pool, sent
    /// through the retry strategy one attempt at a time, and verified (the CRC32C echo, or the
    /// ETag against the MD5). The record holds it as part 1 (its attempts are the PutObject's).
    ///
    /// Outcomes, as for CompleteMultipartUpload: `ok` when the answer verifies; `unknown` when
    /// the object may exist although no answer said so (the last attempt — or an earlier one,
    /// since a retry can fail after a first attempt took effect — timed out or lost its
    /// connection, or the request was cancelled while in flight); `fail` otherwise. There is no
    /// upload id, so nothing is ever left to abort.
    func putWhole(
        _ request: Request,
        reader: PartReader,
        origin: ContinuousClock.Instant,
        progress: UploadProgress?,
        into record: inout UploadRecord
    ) async {
        func fail(_ error: UploadError) {
            record.outcome = .fail
            record.failure = .init(code: error.codeName, message: error.message)
            if error.isCancellation { record.cancelled = true }
        }
        let checksum = self.configuration.checksum
        // The global buffer pool bounds the bodies in flight, as for parts.
        let buffer: PartBuffer
        do {
            buffer = try await self.buffers.acquire()
        } catch {
            return fail(.cancelled())
        }
        defer { self.buffers.release(buffer) }

        let maxCount = max(0, reader.length.bound)
        let filled: FilledPart
        do {
            filled = try await self.threadPool.runIfActive { () throws(UploadError) -> FilledPart in
                let filled = try reader.fill(buffer, maxCount: maxCount, crc32c: checksum == .crc32c, md5: checksum == .md5)
                // A generator that produced its whole bound must have nothing more: a source
                // longer than its bound would otherwise be cut short silently.
                if filled.count == maxCount, try !reader.isAtEnd() {
                    throw .sourceUnreadable("the source is longer than its announced bound of \(maxCount) bytes")
                }
                return filled
            }
        } catch {
            return fail(Self.uploadError(error, context: "reading the source failed"))
        }
        record.recipe = reader.finishedRecipe
        record.bytesRead = filled.count
        record.bufferAllocations = filled.allocated ? 1 : 0
        progress?.read(filled.count)
        var part = UploadRecord.Part(
            number: 1, offset: 0, size: filled.count, ready: (ContinuousClock.now - origin).seconds,
            checksum: filled.crc32c?.base64 ?? filled.md5.map { Hex.encode($0) } ?? "", eTag: nil, attempts: [], succeeded: false
        )
        if Task.isCancelled {
            record.parts = [part]
            return fail(.cancelled())
        }

        let body = buffer.bytes
        let (result, attempts) = await self.attempted("PutObject", origin: origin) {
            try await self.s3.putObject(
                bucket: request.bucket, key: request.key, body: body, contentType: self.configuration.contentType,
                metadata: request.metadata, checksum: filled.crc32c
            )
        }
        record.completeAnswered = (ContinuousClock.now - origin).seconds
        part.attempts = attempts

        switch result {
        case .success(let put):
            part.eTag = put.eTag
            record.eTag = put.eTag
            record.versionId = put.versionId
            record.objectChecksum = put.checksumCRC32C
            if let mismatch = Self.verifyPut(put, filled: filled, checksum: checksum) {
                record.parts = [part]
                record.outcome = .fail
                record.failure = .init(code: mismatch.codeName, message: mismatch.message + " (the object was written and is left in place for inspection)")
                return
            }
            part.succeeded = true
            record.parts = [part]
            record.bytesUploaded = filled.count
            record.verification = checksum == .crc32c ? .fullObjectCRC32C : .objectMD5ETag
            record.outcome = .ok
            progress?.uploaded(filled.count, retries: attempts.count - 1)

        case .failure(let error):
            record.parts = [part]
            let cancelled = error is CancellationError || Task.isCancelled
            if let error = error as? AWSError, error.code == .badDigest, error.statusCode.map({ $0 < 300 }) ?? false {
                // S3Client's echo check after a 200: the object exists with another checksum.
                record.outcome = .fail
                record.failure = .init(code: "integrity", message: "\(error) (the object was written and is left in place for inspection)")
                return
            }
            let anyIndeterminate = attempts.contains { attempt in
                attempt.retryReason == RetryReason.timeout.description || attempt.retryReason == RetryReason.connection.description
            }
            let inFlight = cancelled && !attempts.isEmpty
            let unknown = inFlight || Self.isIndeterminate(error) || anyIndeterminate
            let failure = Self.uploadError(error, context: "PutObject failed")
            record.outcome = unknown ? .unknown : .fail
            record.cancelled = cancelled
            record.failure = .init(code: failure.codeName, message: failure.message)
            if unknown { record.failure?.message += "; the object may or may not exist (outcome unknown)" }
        }
    }

    /// nil when PutObject's answer matches the body we sent.
    static func verifyPut(_ put: S3PutObjectResult, filled: FilledPart, checksum: Checksum) -> UploadError? {
        switch checksum {
        case .crc32c:
            // S3Client threw already if the echo differs from what we sent.
            guard let got = put.checksumCRC32C, got == filled.crc32c?.base64 else {
                return .integrity("PutObject: the object's CRC32C \(put.checksumCRC32C ?? "none") is not the one we sent (\(filled.crc32c?.base64 ?? "none"))")
            }
            return nil
        case .md5:
            let expected = Hex.encode(filled.md5 ?? [])
            guard let eTag = put.eTag, ETag.unquoted(eTag).lowercased() == expected else {
                return .integrity("PutObject: ETag \(put.eTag ?? "none") is not the body's MD5 \(expected) (note: SSE-KMS buckets do not use MD5 ETags; use --checksum crc32c there)")
            }
            return nil
        }
    }
}
