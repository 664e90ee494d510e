import CDigest
import Foundation
import NIOCore

/// The digests of one body, computed block by block: MD5 (four words) and, when asked for,
/// SHA-256 (eight), the bytes short of a whole block, the length. Not thread-safe; the engine
/// touches a stream's state only on its thread.
package final class BodyDigestState {
    /// What ``finalize()`` returns.
    package struct Digests: Sendable, Equatable {
        package var md5: [UInt8]
        /// Empty unless SHA-256 was asked for.
        package var sha256: [UInt8]
    }

    fileprivate let md5Words: UnsafeMutablePointer<UInt32>
    fileprivate let sha256Words: UnsafeMutablePointer<UInt32>?
    private let carry: UnsafeMutableRawPointer
    private var carryCount = 0
    private var total: UInt64 = 0

    package init(sha256: Bool = false) {
        self.md5Words = .allocate(capacity: 4)
        csvstorm_md5_init(self.md5Words)
        if sha256 {
            let words = UnsafeMutablePointer<UInt32>.allocate(capacity: 8)
            csvstorm_sha256_init(words)
            self.sha256Words = words
        } else {
            self.sha256Words = nil
        }
        self.carry = .allocate(byteCount: 64, alignment: 16)
    }

    deinit {
        self.md5Words.deallocate()
        self.sha256Words?.deallocate()
        self.carry.deallocate()
    }

    /// Hashes `bytes` here and now (one stream: scalar MD5, SHA-NI when present).
    package func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        let used = self.absorbPrefix(base, count: bytes.count)
        let rest = bytes.count - used
        let blocks = rest / 64
        if blocks > 0 { self.compress(base + used, blocks: blocks) }
        self.stashTail(base + used + blocks * 64, count: rest - blocks * 64)
    }

    /// The digests. The state is spent afterwards.
    package func finalize() -> Digests {
        var md5 = [UInt8](repeating: 0, count: 16)
        let length = self.total + UInt64(self.carryCount)
        md5.withUnsafeMutableBufferPointer {
            csvstorm_md5_final(self.md5Words, self.carry, self.carryCount, length, $0.baseAddress)
        }
        var sha256: [UInt8] = []
        if let words = self.sha256Words {
            sha256 = [UInt8](repeating: 0, count: 32)
            sha256.withUnsafeMutableBufferPointer {
                csvstorm_sha256_final(words, self.carry, self.carryCount, length, $0.baseAddress)
            }
        }
        return Digests(md5: md5, sha256: sha256)
    }

    fileprivate var hasSHA256: Bool { self.sha256Words != nil }

    /// Whole blocks through every digest, one stream alone.
    private func compress(_ pointer: UnsafeRawPointer, blocks: Int) {
        csvstorm_md5_blocks(self.md5Words, pointer, blocks)
        if let words = self.sha256Words { csvstorm_sha256_blocks(words, pointer, blocks) }
        self.total += UInt64(blocks * 64)
    }

    /// Completes a partial block from the start of `pointer`; returns the bytes taken (0 when
    /// no block is partial).
    fileprivate func absorbPrefix(_ pointer: UnsafeRawPointer, count: Int) -> Int {
        guard self.carryCount > 0 else { return 0 }
        let take = min(64 - self.carryCount, count)
        (self.carry + self.carryCount).copyMemory(from: pointer, byteCount: take)
        self.carryCount += take
        if self.carryCount == 64 {
            self.compress(UnsafeRawPointer(self.carry), blocks: 1)
            self.carryCount = 0
        }
        return take
    }

    /// Keeps fewer than 64 bytes (with no partial block pending) for later.
    fileprivate func stashTail(_ pointer: UnsafeRawPointer, count: Int) {
        guard count > 0 else { return }
        precondition(self.carryCount + count < 64)
        (self.carry + self.carryCount).copyMemory(from: pointer, byteCount: count)
        self.carryCount += count
    }

    /// Whole blocks were hashed elsewhere (SIMD lanes) into the words.
    fileprivate func advanced(blocks: Int) {
        self.total += UInt64(blocks * 64)
    }

    fileprivate var hasPartialBlock: Bool { self.carryCount > 0 }
}

/// Computes the digests of request bodies — the MD5 of every body (the ETag) and the SHA-256
/// of a signed payload (`x-amz-content-sha256`) — on one thread of its own, beside the request
/// tasks that checksum and write the bytes, and advances all bodies that have bytes waiting
/// together, one per SIMD lane: MD5 in 16 lanes with AVX-512 (8 with AVX2), SHA-256 in 16 with
/// AVX-512 (from ten bodies on; below, SHA-NI per body). That is several times the throughput
/// of hashing each body alone, and is what keeps the emulator's CPU per received GiB under a
/// fifth of moto's when clients send parts concurrently (awscli sends ten); for one upload
/// stream it lets the MD5 run on one core while the bytes are received and written on the other.
///
/// To fill lanes, the thread waits briefly until every open stream has bytes waiting, one has
/// ``highWater`` bytes (its sender is then paused), one is finishing, or ``gatherTimeout`` passes. Memory is
/// bounded whatever the number of bodies: at most ``highWater`` bytes (plus one buffer) wait per
/// stream, and senders also pause while all streams together have ``totalHighWater`` waiting.
package final class BodyDigestEngine: @unchecked Sendable {
    /// One engine per process.
    package static let shared = BodyDigestEngine()

    /// Memory a stream's waiting buffers may hold before its sender waits.
    package let highWater: Int
    /// The same for all streams together.
    package let totalHighWater: Int
    /// The lanes of the widest kernel on this CPU (1: no SIMD, every stream alone).
    package let width: Int
    /// Whether to batch for SIMD at all (off: hash each stream's bytes as they come, scalar).
    package let simd: Bool
    /// Fewer lanes than this are hashed one after another: a 16-lane AVX-512 round costs less
    /// than two scalar blocks here, an 8-lane AVX2 round more.
    private let minimumSIMDLanes: Int

    private let condition = NSCondition()
    // Guarded by `condition`:
    private var open: [ObjectIdentifier: BodyDigestStream] = [:]
    private var order: [BodyDigestStream] = []
    private var rotation = 0
    /// Memory the waiting chunks of all streams hold.
    private var totalHeld = 0
    /// Senders waiting for room.
    private var paused = 0
    private var started = false
    private var statistics = Statistics()

    /// What the engine did, for benchmarks and tests.
    package struct Statistics: Sendable, Equatable {
        /// MD5 blocks hashed in SIMD rounds, per lanes in use (index = lanes).
        package var simdBlocksByLanes = [Int](repeating: 0, count: 17)
        /// MD5 blocks hashed one stream at a time.
        package var scalarBlocks = 0
        package var rounds = 0
        /// SHA-256 blocks hashed in 16-lane rounds, and one lane at a time (SHA-NI).
        package var sha256SIMDBlocks = 0
        package var sha256ScalarBlocks = 0
        /// Buffers submitted, and their bytes.
        package var chunks = 0
        package var bytes = 0
        /// The most memory all streams' waiting buffers held together.
        package var peakTotalQueuedBytes = 0
        /// The most memory any one stream's waiting buffers held.
        package var peakQueuedBytes = 0
        /// Time the thread waited for bytes while some body was open (its sender was slower
        /// than the hashing, or a wake-up was late).
        package var starvedNanoseconds = 0

        package var simdBlocks: Int { self.simdBlocksByLanes.reduce(0, +) }

        /// One line for people: how much was batched, and how wide.
        package var summary: String {
            let simd = self.simdBlocks
            let meanLanes = self.simdBlocksByLanes.enumerated().reduce(0.0) { $0 + Double($1.offset * $1.element) } / Double(max(simd, 1))
            func mib(_ blocks: Int) -> String { String(format: "%.0f MiB", Double(blocks) * 64 / 1_048_576) }
            return "MD5 \(mib(simd)) in SIMD rounds (mean \(String(format: "%.1f", meanLanes)) lanes), \(mib(self.scalarBlocks)) alone; "
                + "SHA-256 \(mib(self.sha256SIMDBlocks)) in 16-lane rounds, \(mib(self.sha256ScalarBlocks)) by SHA-NI (up to 4 bodies interleaved); \(self.rounds) rounds; "
                + "\(self.chunks) buffers of \(self.bytes / max(self.chunks, 1)) bytes on average, at most "
                + String(format: "%.1f MiB waiting", Double(self.peakTotalQueuedBytes) / 1_048_576)
                + String(format: "; waited %.2f s for bytes of open bodies", Double(self.starvedNanoseconds) / 1e9)
        }
    }

    /// How long the thread waits for lanes to fill before it hashes what it has.
    package let gatherTimeout: TimeInterval

    /// - Parameters:
    ///   - highWater: bytes a stream may have waiting before its sender waits.
    ///   - totalHighWater: the same for all streams together.
    ///   - gatherTimeout: the longest wait for lanes to fill (2 ms; tests lengthen it to make
    ///     batching deterministic).
    ///   - simd: batch into SIMD lanes (off: every stream alone).
    package init(
        highWater: Int = 1 << 20, totalHighWater: Int = 16 << 20, gatherTimeout: Duration = .milliseconds(2), simd: Bool = true
    ) {
        self.highWater = highWater
        self.totalHighWater = max(totalHighWater, highWater)
        self.gatherTimeout = Double(gatherTimeout.components.seconds) + Double(gatherTimeout.components.attoseconds) / 1e18
        self.width = Int(csvstorm_md5_mb_width())
        self.simd = simd && self.width > 1
        self.minimumSIMDLanes = self.width >= 16 ? 2 : 3
    }

    package var currentStatistics: Statistics {
        self.condition.lock()
        defer { self.condition.unlock() }
        return self.statistics
    }

    /// A new stream (MD5, and SHA-256 when `sha256`); its owner must
    /// ``BodyDigestStream/finish()`` or ``BodyDigestStream/cancel()`` it.
    package func makeStream(sha256: Bool = false) -> BodyDigestStream {
        let stream = BodyDigestStream(engine: self, sha256: sha256)
        self.condition.lock()
        if !self.started {
            self.started = true
            let thread = Thread { [self] in self.run() }
            thread.name = "csvstorm-md5"
            thread.start()
        }
        self.open[ObjectIdentifier(stream)] = stream
        self.order.append(stream)
        self.condition.unlock()
        return stream
    }

    // MARK: - Called by streams (any thread)

    fileprivate func submit(_ buffer: ByteBuffer, to stream: BodyDigestStream) async {
        let count = buffer.readableBytes
        guard count > 0 else { return }
        // The pointer stays valid while `buffer` (kept in the chunk) holds its storage.
        let base = buffer.withUnsafeReadableBytesWithStorageManagement { bytes, _ in bytes.baseAddress! }
        // What a buffer holds in memory is its storage, which a slice shares with the rest of a
        // socket read: the marks count that, so they bound memory, not just bytes.
        let held = max(count, buffer.storageCapacity)
        if self.enqueue(BodyDigestStream.Chunk(buffer: buffer, base: base, count: count, held: held, offset: 0), to: stream) {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                self.condition.lock()
                if !self.mustPause(stream) || stream.cancelled {
                    self.condition.unlock()
                    continuation.resume()
                } else {
                    stream.spaceWaiter = continuation
                    self.paused += 1
                    self.condition.unlock()
                }
            }
        }
    }

    /// Queues a chunk; returns whether the stream is at its high-water mark.
    private func enqueue(_ chunk: BodyDigestStream.Chunk, to stream: BodyDigestStream) -> Bool {
        self.condition.lock()
        defer { self.condition.unlock() }
        stream.queue.append(chunk)
        stream.queuedBytes += chunk.count
        stream.heldBytes += chunk.held
        self.totalHeld += chunk.held
        self.statistics.peakTotalQueuedBytes = max(self.statistics.peakTotalQueuedBytes, self.totalHeld)
        self.statistics.peakQueuedBytes = max(self.statistics.peakQueuedBytes, stream.heldBytes)
        self.statistics.chunks += 1
        self.statistics.bytes += chunk.count
        self.condition.signal()
        return self.mustPause(stream)
    }

    /// Under the lock: whether the stream's sender waits before queuing more.
    private func mustPause(_ stream: BodyDigestStream) -> Bool {
        stream.heldBytes >= self.highWater || self.totalHeld >= self.totalHighWater
    }

    /// Under the lock: whether a paused sender may go on (hysteresis: half the marks).
    private func mayResume(_ stream: BodyDigestStream) -> Bool {
        stream.heldBytes < self.highWater / 2 && self.totalHeld < self.totalHighWater / 2
    }

    fileprivate func finish(_ stream: BodyDigestStream) async -> BodyDigestState.Digests {
        await withCheckedContinuation { (continuation: CheckedContinuation<BodyDigestState.Digests, Never>) in
            self.condition.lock()
            stream.finisher = continuation
            self.condition.signal()
            self.condition.unlock()
        }
    }

    fileprivate func cancel(_ stream: BodyDigestStream) {
        self.condition.lock()
        stream.cancelled = true
        stream.queue.removeAll()
        self.totalHeld -= stream.heldBytes
        stream.queuedBytes = 0
        stream.heldBytes = 0
        let waiter = stream.spaceWaiter
        stream.spaceWaiter = nil
        if waiter != nil { self.paused -= 1 }
        self.remove(stream)
        self.condition.unlock()
        waiter?.resume()
    }

    /// Under the lock.
    private func remove(_ stream: BodyDigestStream) {
        self.open[ObjectIdentifier(stream)] = nil
        if let index = self.order.firstIndex(where: { $0 === stream }) { self.order.remove(at: index) }
    }

    // MARK: - The hashing thread

    /// One stream's share of a round: whole blocks at `pointer`.
    private struct Lane {
        var stream: BodyDigestStream
        /// Keeps the bytes alive while the lock is released.
        var chunk: BodyDigestStream.Chunk
        var pointer: UnsafeRawPointer
        var blocks: Int
    }

    private func run() {
        var forced = false
        var lanes: [Lane] = []
        lanes.reserveCapacity(16)
        var resumes: [() -> Void] = []
        self.condition.lock()
        while true {
            // Streams with something to do: whole blocks waiting (after completing a partial one),
            // or a digest asked for.
            var ready = 0
            var urgent = false
            for stream in self.order {
                let waiting = stream.queuedBytes
                if stream.finisher != nil { urgent = true; ready += 1; continue }
                if waiting >= 64 || (waiting > 0 && stream.queue.count > 1) {
                    ready += 1
                    // A paused sender waits until its stream is below half the mark.
                    if stream.heldBytes >= self.highWater || stream.spaceWaiter != nil { urgent = true }
                }
            }
            if self.paused > 0 || self.totalHeld >= self.totalHighWater / 2 { urgent = true }
            if ready == 0 {
                forced = false
                let starved = !self.order.isEmpty
                let since = starved ? DispatchTime.now().uptimeNanoseconds : 0
                self.condition.wait()
                if starved { self.statistics.starvedNanoseconds += Int(DispatchTime.now().uptimeNanoseconds - since) }
                continue
            }
            let go = !self.simd || urgent || forced || ready >= self.width || ready == self.order.count
            if !go {
                forced = !self.condition.wait(until: Date(timeIntervalSinceNow: self.gatherTimeout))
                continue
            }
            forced = false
            lanes.removeAll(keepingCapacity: true)
            self.fillLanes(&lanes, resumes: &resumes)
            if lanes.isEmpty {
                self.resumeSenders(&resumes)
                self.condition.unlock()
                for resume in resumes { resume() }
                resumes.removeAll(keepingCapacity: true)
                self.condition.lock()
                continue
            }
            self.condition.unlock()
            let hashed = Self.hash(&lanes, simd: self.simd, minimumSIMDLanes: self.minimumSIMDLanes)
            self.condition.lock()
            self.statistics.rounds += 1
            if hashed.simd {
                self.statistics.simdBlocksByLanes[lanes.count] += hashed.blocksPerLane * lanes.count
            } else {
                self.statistics.scalarBlocks += lanes.reduce(0) { $0 + $1.blocks }
            }
            self.statistics.sha256SIMDBlocks += hashed.sha256SIMDBlocks
            self.statistics.sha256ScalarBlocks += hashed.sha256ScalarBlocks
            for lane in lanes {
                self.advance(lane, by: hashed.simd ? hashed.blocksPerLane : lane.blocks)
            }
            self.resumeSenders(&resumes)
            if !resumes.isEmpty {
                self.condition.unlock()
                for resume in resumes { resume() }
                resumes.removeAll(keepingCapacity: true)
                self.condition.lock()
            }
        }
    }

    /// Under the lock: picks up to `width` streams (round robin) and each one's next run of
    /// whole blocks; finishes streams that have nothing left.
    private func fillLanes(_ lanes: inout [Lane], resumes: inout [() -> Void]) {
        let count = self.order.count
        guard count > 0 else { return }
        let start = self.rotation % count
        self.rotation &+= 1
        var finished: [BodyDigestStream] = []
        for step in 0..<count where lanes.count < self.width {
            let stream = self.order[(start + step) % count]
            if let lane = self.nextRun(of: stream) {
                lanes.append(lane)
            } else if stream.queue.isEmpty, let finisher = stream.finisher {
                stream.finisher = nil
                let digest = stream.state.finalize()
                finished.append(stream)
                resumes.append { finisher.resume(returning: digest) }
            }
        }
        for stream in finished { self.remove(stream) }
    }

    /// Under the lock: the stream's next whole blocks, consuming partial-block bytes on the way.
    private func nextRun(of stream: BodyDigestStream) -> Lane? {
        while var chunk = stream.queue.first {
            if stream.state.hasPartialBlock {
                chunk.offset += stream.state.absorbPrefix(chunk.base + chunk.offset, count: chunk.count - chunk.offset)
                stream.queue[stream.queue.startIndex] = chunk
            }
            let rest = chunk.count - chunk.offset
            let blocks = rest / 64
            if blocks > 0 {
                return Lane(stream: stream, chunk: chunk, pointer: chunk.base + chunk.offset, blocks: blocks)
            }
            // Fewer than 64 bytes left: they wait for the next chunk (or the end).
            if !stream.state.hasPartialBlock || rest == 0 {
                stream.state.stashTail(chunk.base + chunk.offset, count: rest)
                self.pop(stream)
            } else {
                // The partial block took the whole chunk and is still short.
                self.pop(stream)
            }
        }
        return nil
    }

    private func pop(_ stream: BodyDigestStream) {
        let chunk = stream.queue.removeFirst()
        stream.queuedBytes -= chunk.count
        stream.heldBytes -= chunk.held
        self.totalHeld -= chunk.held
    }

    /// Under the lock: records `blocks` hashed for the lane's stream.
    private func advance(_ lane: Lane, by blocks: Int) {
        let stream = lane.stream
        guard !stream.cancelled else { return }
        stream.state.advanced(blocks: blocks)
        guard var chunk = stream.queue.first else { return }
        chunk.offset += blocks * 64
        stream.queue[stream.queue.startIndex] = chunk
        let rest = chunk.count - chunk.offset
        if rest < 64 {
            stream.state.stashTail(chunk.base + chunk.offset, count: rest)
            self.pop(stream)
        }
    }

    /// Under the lock: wakes the paused senders that may go on.
    private func resumeSenders(_ resumes: inout [() -> Void]) {
        guard self.paused > 0 else { return }
        for stream in self.order {
            if let waiter = stream.spaceWaiter, self.mayResume(stream) {
                stream.spaceWaiter = nil
                self.paused -= 1
                resumes.append { waiter.resume() }
            }
        }
    }

    /// The C kernels' arguments for `lanes`: each one's state words (picked by `words`) and
    /// data pointer, in two arrays on the stack.
    private static func withLaneArrays(
        _ lanes: [Lane], words: (BodyDigestState) -> UnsafeMutablePointer<UInt32>?,
        _ body: (UnsafePointer<UnsafeMutablePointer<UInt32>?>, UnsafePointer<UnsafePointer<UInt8>?>) -> Void
    ) {
        withUnsafeTemporaryAllocation(of: UnsafeMutablePointer<UInt32>?.self, capacity: lanes.count) { states in
            withUnsafeTemporaryAllocation(of: UnsafePointer<UInt8>?.self, capacity: lanes.count) { data in
                for (index, lane) in lanes.enumerated() {
                    states[index] = words(lane.stream.state)
                    data[index] = lane.pointer.assumingMemoryBound(to: UInt8.self)
                }
                body(UnsafePointer(states.baseAddress!), UnsafePointer(data.baseAddress!))
            }
        }
    }

    /// The fewest SHA-256 bodies in a round that take the 16-lane AVX-512 kernel.
    static let sha256SIMDMinimumLanes = 12

    /// Without the lock: hashes the lanes' runs, MD5 and (for the lanes that want it) SHA-256.
    /// Returns whether MD5 ran in SIMD and how many blocks of each lane were hashed then (the
    /// shortest run; one stream alone hashes its run whole), and how SHA-256 ran.
    private static func hash(_ lanes: inout [Lane], simd: Bool, minimumSIMDLanes: Int)
        -> (simd: Bool, blocksPerLane: Int, sha256SIMDBlocks: Int, sha256ScalarBlocks: Int)
    {
        let useSIMD = simd && lanes.count >= minimumSIMDLanes
        let blocks = useSIMD ? lanes.reduce(Int.max) { min($0, $1.blocks) } : 0
        if useSIMD {
            Self.withLaneArrays(lanes, words: { $0.md5Words }) { states, data in
                csvstorm_md5_mb_blocks(states, data, Int32(lanes.count), blocks)
            }
        } else {
            for lane in lanes { csvstorm_md5_blocks(lane.stream.state.md5Words, lane.pointer, lane.blocks) }
        }
        // SHA-256 over the same blocks: one 16-lane round costs about seven SHA-NI blocks in
        // isolation and nearer ten inside the server (its buffers come from memory); SHA-NI with
        // four messages interleaved does a block in about 0.8 of one alone, so 16 lanes pay off
        // from twelve bodies on. Below that, SHA-NI, four bodies at a time.
        var shaSIMD = 0
        var shaScalar = 0
        let shaLanes = lanes.filter { $0.stream.state.hasSHA256 }
        if !shaLanes.isEmpty {
            if useSIMD && shaLanes.count >= Self.sha256SIMDMinimumLanes && csvstorm_sha256_mb_width() >= 16 {
                Self.withLaneArrays(shaLanes, words: { $0.sha256Words }) { states, data in
                    csvstorm_sha256_mb_blocks(states, data, Int32(shaLanes.count), blocks)
                }
                shaSIMD = blocks * shaLanes.count
            } else if useSIMD {
                Self.withLaneArrays(shaLanes, words: { $0.sha256Words }) { states, data in
                    csvstorm_sha256_ni_mb_blocks(states, data, Int32(shaLanes.count), blocks)
                }
                shaScalar = blocks * shaLanes.count
            } else {
                for lane in shaLanes {
                    csvstorm_sha256_blocks(lane.stream.state.sha256Words, lane.pointer, lane.blocks)
                    shaScalar += lane.blocks
                }
            }
        }
        return (useSIMD, blocks, shaSIMD, shaScalar)
    }
}

/// One body's digests on the ``BodyDigestEngine``: ``submit(_:)`` its buffers in order, then ``finish()``.
/// The buffers are kept (not copied) until hashed.
package final class BodyDigestStream: @unchecked Sendable {
    fileprivate struct Chunk {
        var buffer: ByteBuffer
        var base: UnsafeRawPointer
        var count: Int
        /// Memory the chunk keeps alive (its storage's capacity).
        var held: Int
        var offset: Int
    }

    private let engine: BodyDigestEngine
    fileprivate let state: BodyDigestState
    // Guarded by the engine's lock:
    fileprivate var queue = CircularBuffer<Chunk>(initialCapacity: 8)
    fileprivate var queuedBytes = 0
    /// Memory its waiting chunks hold (their storage), what the marks bound.
    fileprivate var heldBytes = 0
    fileprivate var finisher: CheckedContinuation<BodyDigestState.Digests, Never>?
    fileprivate var spaceWaiter: CheckedContinuation<Void, Never>?
    fileprivate var cancelled = false

    fileprivate init(engine: BodyDigestEngine, sha256: Bool) {
        self.engine = engine
        self.state = BodyDigestState(sha256: sha256)
    }

    /// Queues `buffer` for hashing; waits while this stream has too many bytes queued.
    package func submit(_ buffer: ByteBuffer) async {
        await self.engine.submit(buffer, to: self)
    }

    /// The digests of everything submitted. Call once.
    package func finish() async -> BodyDigestState.Digests {
        await self.engine.finish(self)
    }

    /// Drops the stream (its body failed).
    package func cancel() {
        self.engine.cancel(self)
    }
}
