import AWSWire
import NIOCore
import NIOPosix

extension UploadEngine {
    /// Reads and uploads every part. Returns when all part tasks have ended: after the last part,
    /// after the first part that failed for good (its siblings are cancelled), or on cancellation.
    ///
    /// Shape: a race between the producer (which owns the discarding task group of part uploads)
    /// and a watcher that returns on the first failure; whichever ends first cancels the other.
    /// The producer must run in a child task so that a failure can cancel it even while it waits
    /// for a buffer held by another upload.
    func runParts(
        reader: PartReader,
        partSize: Int,
        target: PartTarget,
        state: UploadState,
        origin: ContinuousClock.Instant,
        progress: UploadProgress?
    ) async {
        await withTaskGroup(of: Void.self) { race in
            race.addTask {
                await self.produceParts(reader: reader, partSize: partSize, target: target, state: state, origin: origin, progress: progress)
                state.producerFinished()
            }
            race.addTask {
                await state.waitForFailureOrEnd()
            }
            await race.next()
            race.cancelAll()
        }
    }

    /// What the producer holds for the part it is reading.
    private enum Held {
        /// A read-ahead buffer: no permit and no send buffer yet.
        case readAhead(PartBuffer)
        /// A send buffer and the upload's permit (the order without read-ahead).
        case send(PartBuffer, Permit)

        var buffer: PartBuffer {
            switch self {
            case .readAhead(let buffer), .send(let buffer, _): buffer
            }
        }
    }

    /// Returns what the producer holds to its pools (every exit path that does not send).
    private func release(_ held: Held, permits: ResourcePool<Permit>) {
        switch held {
        case .readAhead(let buffer):
            self.readAheadBuffers?.release(buffer)
        case .send(let buffer, let permit):
            self.buffers.release(buffer)
            permits.release(permit)
        }
    }

    /// The producer: fills the next part on the I/O pool and hands it to a part task.
    /// Sequential by nature (a generated stream has one reader); the sends run concurrently.
    ///
    /// With a read-ahead buffer free (``readAheadBuffers``), it reads first — while this
    /// upload's sends are in flight — and then waits for a per-upload permit and a send buffer;
    /// the two buffers then trade places (the filled one is sent and returns to ``buffers``, the
    /// empty send buffer becomes the read-ahead buffer), so the next part can be read at once.
    /// Otherwise it takes a permit and a send buffer first, then reads. Either way a part is
    /// sent holding a permit and one of ``buffers``' `partsInFlightTotal` places, and the
    /// producer holds at most one part it has not handed over.
    private func produceParts(
        reader: PartReader,
        partSize: Int,
        target: PartTarget,
        state: UploadState,
        origin: ContinuousClock.Instant,
        progress: UploadProgress?
    ) async {
        let permits = ResourcePool(limit: self.configuration.partsInFlightPerUpload) { Permit() }
        let crc = self.configuration.checksum == .crc32c
        let md5 = self.configuration.checksum == .md5
        let exactLength: Int? = if case .exact(let n) = reader.length { n } else { nil }
        await withDiscardingTaskGroup { group in
            var number = 0
            var offset = 0
            // Bounded: at most 10,000 parts are started; the 10,001st is an error.
            while !state.hasFailed {
                if number > 0, let exactLength, offset >= exactLength { break }
                var held: Held
                if let buffer = self.readAheadBuffers?.tryAcquire() {
                    held = .readAhead(buffer)
                } else {
                    let permit: Permit
                    let buffer: PartBuffer
                    do {
                        permit = try await permits.acquire()
                    } catch {
                        break  // cancelled
                    }
                    do {
                        buffer = try await self.buffers.acquire()
                    } catch {
                        permits.release(permit)
                        break  // cancelled
                    }
                    held = .send(buffer, permit)
                }
                // A buffer holds what this part can hold at most, so the last (or only) part of a
                // small source does not reserve a whole part size.
                let maxCount = min(partSize, max(0, reader.length.bound - offset))
                let filled: FilledPart
                do {
                    let buffer = held.buffer
                    filled = try await self.threadPool.runIfActive { () throws(UploadError) -> FilledPart in
                        let filled = try reader.fill(buffer, maxCount: maxCount, crc32c: crc, md5: md5)
                        // Below a whole part, the bound says this is the end: more would be cut off.
                        if maxCount < partSize, filled.count == maxCount, try !reader.isAtEnd() {
                            throw .sourceUnreadable("the source is longer than its announced bound of \(reader.length.bound) bytes")
                        }
                        return filled
                    }
                } catch {
                    self.release(held, permits: permits)
                    if !(error is CancellationError) && !Task.isCancelled {
                        state.fail(Self.uploadError(error, context: "reading the source failed"))
                    }
                    break
                }
                if filled.count == 0 && number > 0 {
                    self.release(held, permits: permits)
                    break
                }
                number += 1
                guard number <= S3MultipartLimits.maximumParts else {
                    self.release(held, permits: permits)
                    state.fail(.tooManyParts("the source is longer than \(S3MultipartLimits.maximumParts) parts of \(partSize) bytes; give a larger part size"))
                    break
                }
                let partNumber = number
                let partOffset = offset
                offset += filled.count
                progress?.read(filled.count)
                state.partReady(
                    number: partNumber, offset: partOffset, size: filled.count, ready: (ContinuousClock.now - origin).seconds,
                    crc32c: filled.crc32c, md5: filled.md5, allocated: filled.allocated
                )
                // A part read ahead now waits for its permit and a send buffer (a failure
                // cancels these waits; the part is then recorded as read but never sent).
                if case .readAhead(let buffer) = held {
                    let permit: Permit
                    let place: PartBuffer
                    do {
                        permit = try await permits.acquire()
                    } catch {
                        self.readAheadBuffers?.release(buffer)
                        break  // cancelled
                    }
                    do {
                        place = try await self.buffers.acquire()
                    } catch {
                        permits.release(permit)
                        self.readAheadBuffers?.release(buffer)
                        break  // cancelled
                    }
                    // Trade places: the filled buffer goes out as one of the send buffers, the
                    // empty one reads the next part.
                    self.readAheadBuffers?.release(place)
                    held = .send(buffer, permit)
                    if state.hasFailed {
                        self.release(held, permits: permits)
                        break
                    }
                }
                guard case .send(let buffer, let permit) = held else { preconditionFailure("a part is sent holding a permit and a send buffer") }
                group.addTask {
                    await self.sendPart(partNumber, buffer: buffer, filled: filled, target: target, state: state, origin: origin, progress: progress)
                    self.buffers.release(buffer)
                    permits.release(permit)
                }
                if filled.count < partSize { break }  // the short last part (or the bound reached)
            }
        }
    }

    /// Uploads one part (retried by the strategy) and verifies what the server says it got.
    /// Catches everything: the outcome goes into `state`.
    private func sendPart(
        _ number: Int,
        buffer: PartBuffer,
        filled: FilledPart,
        target: PartTarget,
        state: UploadState,
        origin: ContinuousClock.Instant,
        progress: UploadProgress?
    ) async {
        let (result, attempts) = await self.sendPartBody(number, body: buffer.bytes, crc32c: filled.crc32c, target: target, origin: origin)
        switch result {
        case .success(let part):
            if let mismatch = Self.verify(part: part, number: number, filled: filled, checksum: self.configuration.checksum) {
                state.partDone(number: number, eTag: part.eTag, attempts: attempts, succeeded: false)
                state.fail(mismatch)
                return
            }
            state.partDone(number: number, eTag: part.eTag, attempts: attempts, succeeded: true, completed: part.completedPart)
            progress?.uploaded(filled.count, retries: attempts.count - 1)
        case .failure(let error):
            state.partDone(number: number, eTag: nil, attempts: attempts, succeeded: false)
            if error is CancellationError || Task.isCancelled { return }
            if let error = error as? AWSError, error.code == .badDigest {
                state.fail(.integrity("part \(number): \(error)"))
            } else {
                state.fail(.requestFailed("part \(number) failed after \(attempts.count) attempt(s): \(error)"))
            }
        }
    }

    /// The request itself; `body` is a second reference to the pooled buffer's storage, dropped
    /// on return so the next fill can reuse it in place.
    private func sendPartBody(
        _ number: Int,
        body: ByteBuffer,
        crc32c: CRC32C?,
        target: PartTarget,
        origin: ContinuousClock.Instant
    ) async -> (Result<S3UploadPartResult, any Error>, [UploadRecord.Attempt]) {
        await self.attempted("UploadPart", origin: origin) {
            try await self.s3.uploadPart(
                bucket: target.bucket, key: target.key, uploadId: target.uploadId, partNumber: number, body: body, checksum: crc32c
            )
        }
    }

    /// nil when the server's answer matches what we sent.
    static func verify(part: S3UploadPartResult, number: Int, filled: FilledPart, checksum: Checksum) -> UploadError? {
        switch checksum {
        case .crc32c:
            // S3Client already threw if the echo differs; a missing echo is no verification.
            guard let echoed = part.checksumCRC32C else {
                return .integrity("part \(number): the server did not echo x-amz-checksum-crc32c, so the part cannot be verified")
            }
            guard echoed == filled.crc32c?.base64 else {
                return .integrity("part \(number): the server echoed CRC32C \(echoed) but we sent \(filled.crc32c?.base64 ?? "none")")
            }
            return nil
        case .md5:
            let expected = Hex.encode(filled.md5 ?? [])
            let got = ETag.unquoted(part.eTag).lowercased()
            guard got == expected else {
                return .integrity("part \(number): ETag \(part.eTag) is not the part's MD5 \(expected) (note: SSE-KMS buckets do not use MD5 ETags; use --checksum crc32c there)")
            }
            return nil
        }
    }
}

/// Bookkeeping of one upload's parts, shared by the producer and the part tasks.
final class UploadState: Sendable {
    struct Finished {
        var records: [UploadRecord.Part]
        /// Completed parts in part-number order.
        var completed: [S3CompletedPart]
        var crc32c: [CRC32C]
        var md5: [[UInt8]]
        var bytesRead: Int
        var bytesUploaded: Int
        var bufferAllocations: Int
        var failure: UploadError?
        var allSucceeded: Bool
    }

    private struct State {
        var parts: [Int: UploadRecord.Part] = [:]
        var completed: [Int: S3CompletedPart] = [:]
        var crc32c: [Int: CRC32C] = [:]
        var md5: [Int: [UInt8]] = [:]
        var bytesRead = 0
        var bytesUploaded = 0
        var bufferAllocations = 0
        var failure: UploadError?
        var producerDone = false
        var watcher: CheckedContinuation<Void, Never>?
    }

    private let state = Locked(State())

    var hasFailed: Bool { self.state.withLock { $0.failure != nil } }

    func partReady(number: Int, offset: Int, size: Int, ready: Double, crc32c: CRC32C?, md5: [UInt8]?, allocated: Bool) {
        let checksum = crc32c?.base64 ?? md5.map { Hex.encode($0) } ?? ""
        self.state.withLock {
            $0.parts[number] = UploadRecord.Part(
                number: number, offset: offset, size: size, ready: ready, checksum: checksum, eTag: nil, attempts: [], succeeded: false
            )
            if let crc32c { $0.crc32c[number] = crc32c }
            if let md5 { $0.md5[number] = md5 }
            $0.bytesRead += size
            if allocated { $0.bufferAllocations += 1 }
        }
    }

    func partDone(number: Int, eTag: String?, attempts: [UploadRecord.Attempt], succeeded: Bool, completed: S3CompletedPart? = nil) {
        self.state.withLock {
            $0.parts[number]?.eTag = eTag
            $0.parts[number]?.attempts = attempts
            $0.parts[number]?.succeeded = succeeded
            if succeeded, let completed {
                $0.completed[number] = completed
                $0.bytesUploaded += $0.parts[number]?.size ?? 0
            }
        }
    }

    /// Records the first failure and wakes the watcher (later failures are consequences).
    func fail(_ error: UploadError) {
        let watcher = self.state.withLock { state -> CheckedContinuation<Void, Never>? in
            if state.failure == nil { state.failure = error }
            defer { state.watcher = nil }
            return state.watcher
        }
        watcher?.resume()
    }

    func producerFinished() {
        let watcher = self.state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.producerDone = true
            defer { state.watcher = nil }
            return state.watcher
        }
        watcher?.resume()
    }

    /// Returns on the first failure, when the producer is done, or on cancellation.
    func waitForFailureOrEnd() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let now = self.state.withLock { state -> Bool in
                    if state.failure != nil || state.producerDone || Task.isCancelled { return true }
                    state.watcher = continuation
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            let watcher = self.state.withLock { state -> CheckedContinuation<Void, Never>? in
                defer { state.watcher = nil }
                return state.watcher
            }
            watcher?.resume()
        }
    }

    func finished() -> Finished {
        self.state.withLock { state in
            let numbers = state.parts.keys.sorted()
            let completed = numbers.compactMap { state.completed[$0] }
            return Finished(
                records: numbers.compactMap { state.parts[$0] },
                completed: completed,
                crc32c: numbers.compactMap { state.crc32c[$0] },
                md5: numbers.compactMap { state.md5[$0] },
                bytesRead: state.bytesRead,
                bytesUploaded: state.bytesUploaded,
                bufferAllocations: state.bufferAllocations,
                failure: state.failure,
                allSucceeded: !numbers.isEmpty && completed.count == numbers.count
            )
        }
    }
}

/// Lower-case hex.
package enum Hex {
    private static let digits: [UInt8] = Array("0123456789abcdef".utf8)

    package static func encode(_ bytes: some Sequence<UInt8>) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(64)
        for b in bytes {
            out.append(self.digits[Int(b >> 4)])
            out.append(self.digits[Int(b & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// ETag helpers.
package enum ETag {
    /// The ETag without its surrounding quotes.
    package static func unquoted(_ eTag: String) -> Substring {
        var s = Substring(eTag)
        if s.hasPrefix("W/") { s = s.dropFirst(2) }
        if s.hasPrefix("\"") { s = s.dropFirst() }
        if s.hasSuffix("\"") { s = s.dropLast() }
        return s
    }

    /// The part count of a multipart ETag (`"<hex>-N"`), nil for other ETags.
    package static func partCount(_ eTag: String) -> Int? {
        let s = self.unquoted(eTag)
        guard let dash = s.lastIndex(of: "-") else { return nil }
        return Int(s[s.index(after: dash)...])
    }
}
