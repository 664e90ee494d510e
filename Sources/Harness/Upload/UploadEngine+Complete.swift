import AWSWire
import Crypto

extension UploadEngine {
    /// CompleteMultipartUpload, then the object-level check. Decides ok / fail / unknown.
    func complete(_ target: PartTarget, parts: UploadState.Finished, origin: ContinuousClock.Instant, into record: inout UploadRecord) async {
        let checksum = self.configuration.checksum
        let expectedComposite = checksum == .crc32c ? CRC32C.composite(parts: parts.crc32c) : nil
        let expectedMD5ETag = checksum == .md5 ? Self.md5OfMD5s(parts.md5) : nil

        let (result, attempts) = await self.attempted("CompleteMultipartUpload", origin: origin) {
            try await self.s3.completeMultipartUpload(
                bucket: target.bucket, key: target.key, uploadId: target.uploadId, parts: parts.completed,
                expectedChecksumCRC32C: expectedComposite
            )
        }
        record.operations.append(.init(name: "CompleteMultipartUpload", attempts: attempts, succeeded: (try? result.get()) != nil))
        record.completeAnswered = (ContinuousClock.now - origin).seconds

        switch result {
        case .success(let done):
            record.eTag = done.eTag
            record.versionId = done.versionId
            record.objectChecksum = done.checksumCRC32C ?? expectedComposite
            if let mismatch = Self.verifyObject(done, partCount: parts.completed.count, checksum: checksum, expectedMD5ETag: expectedMD5ETag) {
                record.outcome = .fail
                record.failure = .init(code: mismatch.codeName, message: mismatch.message + " (the object was completed and is left in place for inspection)")
                return
            }
            record.verification = switch checksum {
            case .crc32c: done.checksumCRC32C != nil ? .compositeCRC32C : .partsOnly
            case .md5: .md5ETag
            }
            record.outcome = .ok

        case .failure(let error):
            let cancelled = error is CancellationError || Task.isCancelled
            let earlierIndeterminate = attempts.dropLast().contains { attempt in
                attempt.retryReason == RetryReason.timeout.description || attempt.retryReason == RetryReason.connection.description
            }
            if let error = error as? AWSError, error.code == .badDigest, error.operation == "CompleteMultipartUpload", error.statusCode.map({ $0 < 300 }) ?? false {
                // Our composite check after a 200: the object exists with another checksum.
                record.outcome = .fail
                record.failure = .init(code: "integrity", message: "\(error) (the object was completed and is left in place for inspection)")
                return
            }
            let unknown = cancelled || Self.isIndeterminate(error) || (Self.isNoSuchUpload(error) && earlierIndeterminate)
            record.outcome = unknown ? .unknown : .fail
            record.cancelled = cancelled
            let failure = Self.uploadError(error, context: "CompleteMultipartUpload failed")
            record.failure = .init(code: failure.codeName, message: failure.message)
            // Clean up. If the upload still existed, Complete did not take effect: a definite fail.
            let abort = await self.abortShielded(target, origin: origin)
            record.abort = abort
            if unknown, abort.uploadExisted == true {
                record.outcome = .fail
                record.failure?.message += "; the upload still existed and was aborted, so the object was not created"
            } else if unknown {
                record.failure?.message += "; the object may or may not exist (outcome unknown)"
            }
            if !abort.confirmed && abort.uploadExisted != false {
                record.failure?.message += "; the abort was not confirmed (\(abort.error ?? "unknown")): run `csvstorm uploads clean`"
            }
        }
    }

    /// nil when the completed object matches the parts we sent.
    static func verifyObject(_ done: S3CompleteMultipartUploadResult, partCount: Int, checksum: Checksum, expectedMD5ETag: String?) -> UploadError? {
        if let eTag = done.eTag, let n = ETag.partCount(eTag), n != partCount {
            return .integrity("the object's ETag \(eTag) says \(n) parts, but \(partCount) were uploaded")
        }
        switch checksum {
        case .crc32c:
            // A composite checksum that differs was already thrown by S3Client (BadDigest).
            if let got = done.checksumCRC32C, !got.hasSuffix("-\(partCount)") {
                return .integrity("the object's checksum \(got) is not a composite of \(partCount) parts")
            }
            return nil
        case .md5:
            guard let eTag = done.eTag else {
                return .integrity("CompleteMultipartUpload returned no ETag, so the object cannot be verified")
            }
            guard let expectedMD5ETag, ETag.unquoted(eTag).lowercased() == expectedMD5ETag else {
                return .integrity("the object's ETag \(eTag) is not the MD5 of the part MD5s (\(expectedMD5ETag ?? "none"))")
            }
            return nil
        }
    }

    /// The multipart ETag S3 computes without SSE-KMS: hex MD5 of the concatenated part MD5s, `-N`.
    package static func md5OfMD5s(_ digests: [[UInt8]]) -> String {
        var md5 = Insecure.MD5()
        for digest in digests { md5.update(data: digest) }
        return Hex.encode(md5.finalize()) + "-\(digests.count)"
    }
}

// MARK: - Abort

extension UploadEngine {
    /// ``abortAndConfirm(_:origin:)`` in a task that is not cancelled, awaited: the one place
    /// the engine leaves structured cancellation, because an interrupted upload must still be
    /// aborted (its requests would otherwise fail at once). Bounded by the abort rounds.
    func abortShielded(_ target: PartTarget, origin: ContinuousClock.Instant) async -> UploadRecord.Abort {
        await Task {
            await self.abortAndConfirm(target, origin: origin)
        }.value
    }

    /// AbortMultipartUpload (retried by the strategy), then ListParts, which must answer
    /// NoSuchUpload; up to ``Abort/rounds`` rounds.
    func abortAndConfirm(_ target: PartTarget, origin: ContinuousClock.Instant) async -> UploadRecord.Abort {
        var abort = UploadRecord.Abort(operations: [], confirmed: false, uploadExisted: nil, error: nil)
        var pause = self.configuration.abort.pause
        for round in 1...self.configuration.abort.rounds {
            let (aborted, abortAttempts) = await self.attempted("AbortMultipartUpload", origin: origin) {
                try await self.s3.abortMultipartUpload(bucket: target.bucket, key: target.key, uploadId: target.uploadId)
            }
            abort.operations.append(.init(name: "AbortMultipartUpload", attempts: abortAttempts, succeeded: (try? aborted.get()) != nil))
            switch aborted {
            case .success:
                abort.uploadExisted = true
            case .failure(let error) where Self.isNoSuchUpload(error):
                // Gone already: only a first answer on a first attempt says it never was there
                // (an earlier attempt that timed out may have been the one that aborted it).
                if round == 1 && abortAttempts.count == 1 && abort.uploadExisted == nil { abort.uploadExisted = false }
            case .failure(let error):
                abort.error = "AbortMultipartUpload: \(error)"
            }

            let (listed, listAttempts) = await self.attempted("ListParts", origin: origin) {
                try await self.s3.listParts(bucket: target.bucket, key: target.key, uploadId: target.uploadId, maxParts: 1)
            }
            switch listed {
            case .failure(let error) where Self.isNoSuchUpload(error):
                abort.operations.append(.init(name: "ListParts", attempts: listAttempts, succeeded: true))
                abort.confirmed = true
                abort.error = nil
                return abort
            case .success:
                abort.operations.append(.init(name: "ListParts", attempts: listAttempts, succeeded: true))
                abort.error = "the upload is still listed after AbortMultipartUpload"
            case .failure(let error):
                abort.operations.append(.init(name: "ListParts", attempts: listAttempts, succeeded: false))
                abort.error = "ListParts after the abort: \(error)"
            }
            if round < self.configuration.abort.rounds {
                try? await Task.sleep(for: pause)
                pause *= 2
            }
        }
        return abort
    }
}
