import CMD5
import Foundation
import NIOCore

/// One MD5 computation: four state words, the bytes short of a whole block, the length.
/// Not thread-safe; the engine touches a stream's state only on its thread.
package final class MD5State {
    fileprivate let words: UnsafeMutablePointer<UInt32>
    private let carry: UnsafeMutableRawPointer
    private var carryCount = 0
    private var total: UInt64 = 0

    package init() {
        self.words = .allocate(capacity: 4)
        self.carry = .allocate(byteCount: 64, alignment: 16)
        csvstorm_md5_init(self.words)
    }

    deinit {
        self.words.deallocate()
        self.carry.deallocate()
    }

    /// Hashes `bytes` here and now (scalar).
    package func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        let used = self.absorbPrefix(base, count: bytes.count)
        let rest = bytes.count - used
        let blocks = rest / 64
        if blocks > 0 {
            csvstorm_md5_blocks(self.words, base + used, blocks)
            self.total += UInt64(blocks * 64)
        }
        self.stashTail(base + used + blocks * 64, count: rest - blocks * 64)
    }

    /// The digest (16 bytes). The state is spent afterwards.
    package func finalize() -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: 16)
        let length = self.total + UInt64(self.carryCount)
        digest.withUnsafeMutableBufferPointer {
            csvstorm_md5_final(self.words, self.carry, self.carryCount, length, $0.baseAddress)
        }
        return digest
    }

    /// Completes a partial block from the start of `pointer`; returns the bytes taken (0 when
    /// no block is partial).
    fileprivate func absorbPrefix(_ pointer: UnsafeRawPointer, count: Int) -> Int {
        guard self.carryCount > 0 else { return 0 }
        let take = min(64 - self.carryCount, count)
        (self.carry + self.carryCount).copyMemory(from: pointer, byteCount: take)
        self.carryCount += take
        if self.carryCount == 64 {
            csvstorm_md5_blocks(self.words, self.carry, 1)
            self.total += 64
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

    /// Whole blocks were hashed elsewhere (a SIMD lane) into ``words``.
    fileprivate func advanced(blocks: Int) {
        self.total += UInt64(blocks * 64)
    }

    fileprivate var hasPartialBlock: Bool { self.carryCount > 0 }
}

/// Computes the MD5 (the ETag) of request bodies on one thread of its own, beside the request
/// tasks that write them to disk, and advances all bodies that have bytes waiting together: one
/// per SIMD lane (16 with AVX-512, 8 with AVX2), at several times the throughput of hashing
/// each alone. This is what keeps the emulator's CPU per received GiB under one core's MD5 rate
/// when clients send parts concurrently (awscli sends ten), and what lets one upload stream
/// hash on one core while its bytes are received and written on the other.
///
/// To fill lanes, the thread waits briefly until every open stream has bytes waiting, one has
/// ``highWater`` bytes (its sender is then paused), one is finishing, or 2 ms pass. Memory is
/// bounded: at most ``highWater`` bytes (plus one buffer) wait per stream.
package final class MD5Engine: @unchecked Sendable {
    /// One engine per process.
    package static let shared = MD5Engine()

    /// Bytes a stream may have waiting before its sender waits.
    package let highWater: Int
    /// The lanes of the widest kernel on this CPU (1: no SIMD, every stream alone).
    package let width: Int
    /// Whether to batch for SIMD at all (off: hash each stream's bytes as they come, scalar).
    package let simd: Bool

    private let condition = NSCondition()
    // Guarded by `condition`:
    private var open: [ObjectIdentifier: MD5Stream] = [:]
    private var order: [MD5Stream] = []
    private var rotation = 0
    private var started = false
    private var statistics = Statistics()

    /// What the engine did, for benchmarks and tests.
    package struct Statistics: Sendable, Equatable {
        /// Blocks hashed in SIMD rounds, per lanes in use (index = lanes).
        package var simdBlocksByLanes = [Int](repeating: 0, count: 17)
        /// Blocks hashed one stream at a time.
        package var scalarBlocks = 0
        package var rounds = 0
        /// The most bytes any one stream had waiting.
        package var peakQueuedBytes = 0

        package var simdBlocks: Int { self.simdBlocksByLanes.reduce(0, +) }
    }

    package init(highWater: Int = 512 * 1024, simd: Bool = true) {
        self.highWater = highWater
        self.width = Int(csvstorm_md5_mb_width())
        self.simd = simd && self.width > 1
    }

    package var currentStatistics: Statistics {
        self.condition.lock()
        defer { self.condition.unlock() }
        return self.statistics
    }

    /// A new stream; its owner must ``MD5Stream/finish()`` or ``MD5Stream/cancel()`` it.
    package func makeStream() -> MD5Stream {
        let stream = MD5Stream(engine: self)
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

    fileprivate func submit(_ buffer: ByteBuffer, to stream: MD5Stream) async {
        let count = buffer.readableBytes
        guard count > 0 else { return }
        // The pointer stays valid while `buffer` (kept in the chunk) holds its storage.
        let base = buffer.withUnsafeReadableBytesWithStorageManagement { bytes, _ in bytes.baseAddress! }
        if self.enqueue(MD5Stream.Chunk(buffer: buffer, base: base, count: count, offset: 0), to: stream) {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                self.condition.lock()
                if stream.queuedBytes < self.highWater || stream.cancelled {
                    self.condition.unlock()
                    continuation.resume()
                } else {
                    stream.spaceWaiter = continuation
                    self.condition.unlock()
                }
            }
        }
    }

    /// Queues a chunk; returns whether the stream is at its high-water mark.
    private func enqueue(_ chunk: MD5Stream.Chunk, to stream: MD5Stream) -> Bool {
        self.condition.lock()
        defer { self.condition.unlock() }
        stream.queue.append(chunk)
        stream.queuedBytes += chunk.count
        self.statistics.peakQueuedBytes = max(self.statistics.peakQueuedBytes, stream.queuedBytes)
        self.condition.signal()
        return stream.queuedBytes >= self.highWater
    }

    fileprivate func finish(_ stream: MD5Stream) async -> [UInt8] {
        await withCheckedContinuation { (continuation: CheckedContinuation<[UInt8], Never>) in
            self.condition.lock()
            stream.finisher = continuation
            self.condition.signal()
            self.condition.unlock()
        }
    }

    fileprivate func cancel(_ stream: MD5Stream) {
        self.condition.lock()
        stream.cancelled = true
        stream.queue.removeAll()
        stream.queuedBytes = 0
        let waiter = stream.spaceWaiter
        stream.spaceWaiter = nil
        self.remove(stream)
        self.condition.unlock()
        waiter?.resume()
    }

    /// Under the lock.
    private func remove(_ stream: MD5Stream) {
        self.open[ObjectIdentifier(stream)] = nil
        if let index = self.order.firstIndex(where: { $0 === stream }) { self.order.remove(at: index) }
    }

    // MARK: - The hashing thread

    /// One stream's share of a round: whole blocks at `pointer`.
    private struct Lane {
        var stream: MD5Stream
        /// Keeps the bytes alive while the lock is released.
        var chunk: MD5Stream.Chunk
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
                    if waiting >= self.highWater { urgent = true }
                }
            }
            if ready == 0 {
                forced = false
                self.condition.wait()
                continue
            }
            let go = !self.simd || urgent || forced || ready >= self.width || ready == self.order.count
            if !go {
                forced = !self.condition.wait(until: Date(timeIntervalSinceNow: 0.002))
                continue
            }
            forced = false
            lanes.removeAll(keepingCapacity: true)
            self.fillLanes(&lanes, resumes: &resumes)
            if lanes.isEmpty {
                self.condition.unlock()
                for resume in resumes { resume() }
                resumes.removeAll(keepingCapacity: true)
                self.condition.lock()
                continue
            }
            self.condition.unlock()
            let hashed = Self.hash(&lanes, simd: self.simd)
            self.condition.lock()
            self.statistics.rounds += 1
            if hashed.simd {
                self.statistics.simdBlocksByLanes[lanes.count] += hashed.blocksPerLane * lanes.count
            } else {
                self.statistics.scalarBlocks += lanes.reduce(0) { $0 + $1.blocks }
            }
            for lane in lanes {
                self.advance(lane, by: hashed.simd ? hashed.blocksPerLane : lane.blocks, resumes: &resumes)
            }
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
        var finished: [MD5Stream] = []
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
    private func nextRun(of stream: MD5Stream) -> Lane? {
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

    private func pop(_ stream: MD5Stream) {
        let chunk = stream.queue.removeFirst()
        stream.queuedBytes -= chunk.count
    }

    /// Under the lock: records `blocks` hashed for the lane's stream.
    private func advance(_ lane: Lane, by blocks: Int, resumes: inout [() -> Void]) {
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
        if stream.queuedBytes < self.highWater / 2, let waiter = stream.spaceWaiter {
            stream.spaceWaiter = nil
            resumes.append { waiter.resume() }
        }
    }

    /// Without the lock: hashes the lanes' runs. Returns whether SIMD was used and how many
    /// blocks of each lane it hashed (the shortest run; scalar hashes every run whole).
    private static func hash(_ lanes: inout [Lane], simd: Bool) -> (simd: Bool, blocksPerLane: Int) {
        if !simd || lanes.count <= 2 {
            for lane in lanes { csvstorm_md5_blocks(lane.stream.state.words, lane.pointer, lane.blocks) }
            return (false, 0)
        }
        let blocks = lanes.reduce(Int.max) { min($0, $1.blocks) }
        withUnsafeTemporaryAllocation(of: UnsafeMutablePointer<UInt32>?.self, capacity: lanes.count) { states in
            withUnsafeTemporaryAllocation(of: UnsafePointer<UInt8>?.self, capacity: lanes.count) { data in
                for (index, lane) in lanes.enumerated() {
                    states[index] = lane.stream.state.words
                    data[index] = lane.pointer.assumingMemoryBound(to: UInt8.self)
                }
                csvstorm_md5_mb_blocks(states.baseAddress, data.baseAddress, Int32(lanes.count), blocks)
            }
        }
        return (true, blocks)
    }
}

/// One body's MD5 on the ``MD5Engine``: ``submit(_:)`` its buffers in order, then ``finish()``.
/// The buffers are kept (not copied) until hashed.
package final class MD5Stream: @unchecked Sendable {
    fileprivate struct Chunk {
        var buffer: ByteBuffer
        var base: UnsafeRawPointer
        var count: Int
        var offset: Int
    }

    private let engine: MD5Engine
    fileprivate let state = MD5State()
    // Guarded by the engine's lock:
    fileprivate var queue = CircularBuffer<Chunk>(initialCapacity: 8)
    fileprivate var queuedBytes = 0
    fileprivate var finisher: CheckedContinuation<[UInt8], Never>?
    fileprivate var spaceWaiter: CheckedContinuation<Void, Never>?
    fileprivate var cancelled = false

    fileprivate init(engine: MD5Engine) {
        self.engine = engine
    }

    /// Queues `buffer` for hashing; waits while this stream has too many bytes queued.
    package func submit(_ buffer: ByteBuffer) async {
        await self.engine.submit(buffer, to: self)
    }

    /// The digest of everything submitted. Call once.
    package func finish() async -> [UInt8] {
        await self.engine.finish(self)
    }

    /// Drops the stream (its body failed).
    package func cancel() {
        self.engine.cancel(self)
    }
}
