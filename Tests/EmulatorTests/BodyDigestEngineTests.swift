import CDigest
@testable import Emulator
import Crypto
import Foundation
import NIOCore
import Testing

/// The MD5 behind every ETag and the SHA-256 of signed payloads: the C kernels (MD5 scalar,
/// AVX2 8 lanes, AVX-512 16 lanes; SHA-256 portable, SHA-NI, AVX-512 16 lanes) and the engine
/// that batches concurrent bodies into lanes, each checked against swift-crypto.
@Suite("Body digest kernels and engine")
struct BodyDigestEngineTests {
    /// Seeded bytes (xorshift), so that a failure repeats.
    static func bytes(_ count: Int, seed: UInt64) -> [UInt8] {
        var state = seed | 1
        return (0..<count).map { _ in
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return UInt8(truncatingIfNeeded: state >> 24)
        }
    }

    static func reference(_ bytes: [UInt8]) -> [UInt8] {
        Array(Insecure.MD5.hash(data: bytes))
    }

    @Test func scalarStateMatchesForEveryLengthAndSplit() {
        let data = Self.bytes(700, seed: 7)
        for length in 0...data.count {
            let state = BodyDigestState()
            let split = (length * 37) % (length + 1)
            data.withUnsafeBytes { raw in
                state.update(UnsafeRawBufferPointer(rebasing: raw[0..<split]))
                state.update(UnsafeRawBufferPointer(rebasing: raw[split..<length]))
            }
            #expect(state.finalize().md5 == Self.reference(Array(data[0..<length])), "length \(length), split \(split)")
        }
        let empty = BodyDigestState()
        #expect(empty.finalize().md5.map { String(format: "%02x", $0) }.joined() == "d41d8cd98f00b204e9800998ecf8427e")
    }

    @Test(arguments: [16, 8, 1])
    func multiBufferKernelMatchesPerLane(width: Int) throws {
        let available = Int(csvstorm_md5_mb_width())
        // A kernel the CPU lacks reports 0; the widest one present must run.
        let data = Self.bytes(16 * 8192 + 64, seed: UInt64(width))
        for lanes in 1...width {
            let blocks = 9 + lanes
            var states = (0..<lanes).map { _ in [UInt32](repeating: 0, count: 4) }
            let offsets = (0..<lanes).map { $0 * 8192 + ($0 % 5) } // misaligned starts
            let ran = data.withUnsafeBytes { raw -> Int32 in
                let base = raw.baseAddress!.assumingMemoryBound(to: UInt8.self)
                let statePointers = (0..<lanes).map { _ in UnsafeMutablePointer<UInt32>.allocate(capacity: 4) }
                defer { statePointers.forEach { $0.deallocate() } }
                for pointer in statePointers { csvstorm_md5_init(pointer) }
                var optionalStates: [UnsafeMutablePointer<UInt32>?] = statePointers
                var pointers: [UnsafePointer<UInt8>?] = offsets.map { UnsafePointer(base + $0) }
                let result = csvstorm_md5_mb_blocks_width(Int32(width), &optionalStates, &pointers, Int32(lanes), blocks)
                for lane in 0..<lanes { states[lane] = Array(UnsafeBufferPointer(start: statePointers[lane], count: 4)) }
                return result
            }
            if ran == 0 {
                #expect(width > available, "the \(width)-lane kernel must run on a CPU whose widest is \(available)")
                return
            }
            for lane in 0..<lanes {
                let message = Array(data[offsets[lane]..<(offsets[lane] + blocks * 64)])
                var digest = [UInt8](repeating: 0, count: 16)
                var state = states[lane]
                csvstorm_md5_final(&state, nil, 0, UInt64(message.count), &digest)
                #expect(digest == Self.reference(message), "width \(width), lanes \(lanes), lane \(lane)")
            }
        }
    }

    /// Feeds `bodies` to streams of `engine` in uneven buffers (some under a block), all
    /// streams open before the first byte and every byte queued before the first finish, so
    /// that (with a long gather timeout) the engine's first round has every stream in a lane.
    static func digest(_ bodies: [[UInt8]], sha256: (Int) -> Bool, engine: BodyDigestEngine) async -> [BodyDigestState.Digests] {
        let streams = bodies.indices.map { engine.makeStream(sha256: sha256($0)) }
        let sizes = [65_536, 17, 4_000, 63, 64, 1, 30_011]
        for (index, body) in bodies.enumerated() {
            var offset = 0
            var step = index
            while offset < body.count {
                let size = min(body.count - offset, sizes[step % sizes.count])
                await streams[index].submit(ByteBuffer(bytes: body[offset..<(offset + size)]))
                offset += size
                step += 1
            }
        }
        return await withTaskGroup(of: (Int, BodyDigestState.Digests).self) { group in
            for (index, stream) in streams.enumerated() {
                group.addTask { (index, await stream.finish()) }
            }
            var digests = [BodyDigestState.Digests?](repeating: nil, count: streams.count)
            for await (index, result) in group { digests[index] = result }
            return digests.map { $0! }
        }
    }

    /// Twelve bodies at once get their own digests; with SIMD on the CPU, the engine batched them.
    @Test func concurrentStreamsGetTheirOwnDigests() async {
        let engine = BodyDigestEngine(highWater: 1 << 20, gatherTimeout: .seconds(30))
        let bodies = (0..<12).map { Self.bytes(300_000 + $0 * 4_099, seed: UInt64(100 + $0)) }
        let digests = await Self.digest(bodies, sha256: { _ in false }, engine: engine)
        for (index, body) in bodies.enumerated() {
            #expect(digests[index].md5 == Self.reference(body), "stream \(index)")
            #expect(digests[index].sha256.isEmpty)
        }
        let statistics = engine.currentStatistics
        if engine.width > 1 {
            // Every stream had bytes waiting before the first round: the first rounds are full.
            let lanes = min(12, engine.width)
            #expect(statistics.simdBlocksByLanes[lanes] > 0, "no \(lanes)-lane round: \(statistics)")
        }
    }

    /// The same without SIMD batching: the same digests, every block hashed alone.
    @Test func withoutSIMDEveryStreamIsHashedAlone() async {
        let engine = BodyDigestEngine(simd: false)
        let bodies = (0..<4).map { Self.bytes(100_000 + $0, seed: UInt64(200 + $0)) }
        let digests = await Self.digest(bodies, sha256: { $0 % 2 == 0 }, engine: engine)
        for (index, body) in bodies.enumerated() {
            #expect(digests[index].md5 == Self.reference(body))
            #expect(digests[index].sha256 == (index % 2 == 0 ? Array(SHA256.hash(data: body)) : []))
        }
        #expect(engine.currentStatistics.simdBlocks == 0)
        #expect(engine.currentStatistics.sha256SIMDBlocks == 0)
    }

    /// A stream that submits far more than the high-water mark is paused rather than queued.
    @Test func submitsWaitAtTheHighWaterMark() async {
        let engine = BodyDigestEngine(highWater: 64 * 1024)
        let stream = engine.makeStream()
        let chunk = Self.bytes(16 * 1024, seed: 3)
        var whole = Insecure.MD5()
        for _ in 0..<256 { // 4 MiB
            await stream.submit(ByteBuffer(bytes: chunk))
            whole.update(data: chunk)
        }
        #expect(await stream.finish().md5 == Array(whole.finalize()))
        #expect(engine.currentStatistics.peakQueuedBytes <= 64 * 1024 + chunk.count)
    }

    /// Many streams together: senders pause at the total mark, so what waits stays bounded
    /// however many bodies arrive at once.
    @Test func totalWaitingIsBoundedAcrossStreams() async {
        let engine = BodyDigestEngine(highWater: 256 * 1024, totalHighWater: 512 * 1024, gatherTimeout: .seconds(30))
        let bodies = (0..<20).map { Self.bytes(200_000, seed: UInt64(700 + $0)) }
        let digests = await withTaskGroup(of: (Int, [UInt8]).self) { group in
            for (index, body) in bodies.enumerated() {
                group.addTask {
                    let stream = engine.makeStream()
                    var offset = 0
                    while offset < body.count {
                        let size = min(body.count - offset, 50_000)
                        await stream.submit(ByteBuffer(bytes: body[offset..<(offset + size)]))
                        offset += size
                    }
                    return (index, await stream.finish().md5)
                }
            }
            var all = [[UInt8]](repeating: [], count: bodies.count)
            for await (index, digest) in group { all[index] = digest }
            return all
        }
        for (index, body) in bodies.enumerated() {
            #expect(digests[index] == Self.reference(body), "stream \(index)")
        }
        // The mark, plus one buffer from each sender that was let through below it (counted as
        // the memory it holds: its storage).
        let held = ByteBuffer(bytes: bodies[0][0..<50_000]).storageCapacity
        #expect(held >= 50_000)
        #expect(engine.currentStatistics.peakTotalQueuedBytes <= 512 * 1024 + 20 * held)
        #expect(engine.currentStatistics.peakTotalQueuedBytes >= 50_000)
    }

    /// A cancelled stream (its body failed) neither blocks nor corrupts the others.
    @Test func cancelledStreamLeavesOthersIntact() async {
        let engine = BodyDigestEngine(highWater: 64 * 1024)
        let kept = engine.makeStream()
        let dropped = engine.makeStream()
        let body = Self.bytes(200_000, seed: 9)
        await dropped.submit(ByteBuffer(bytes: body[0..<50_000]))
        await kept.submit(ByteBuffer(bytes: body[0..<100_000]))
        dropped.cancel()
        await kept.submit(ByteBuffer(bytes: body[100_000...]))
        #expect(await kept.finish().md5 == Self.reference(body))
        let another = engine.makeStream()
        await another.submit(ByteBuffer(bytes: body[0..<10]))
        #expect(await another.finish().md5 == Self.reference(Array(body[0..<10])))
    }

    @Test(arguments: [0, 1, 2, 3, 4, 16])
    func sha256KernelMatchesPerLane(kind: Int) {
        let data = Self.bytes(16 * 8192 + 64, seed: UInt64(kind + 50))
        for lanes in 1...16 {
            let blocks = 3 + lanes
            let offsets = (0..<lanes).map { $0 * 8192 + ($0 % 7) }
            let statePointers = (0..<lanes).map { _ in UnsafeMutablePointer<UInt32>.allocate(capacity: 8) }
            defer { statePointers.forEach { $0.deallocate() } }
            for pointer in statePointers { csvstorm_sha256_init(pointer) }
            let ran = data.withUnsafeBytes { raw -> Int32 in
                let base = raw.baseAddress!.assumingMemoryBound(to: UInt8.self)
                var states: [UnsafeMutablePointer<UInt32>?] = statePointers
                var pointers: [UnsafePointer<UInt8>?] = offsets.map { UnsafePointer(base + $0) }
                return csvstorm_sha256_blocks_kind(Int32(kind), &states, &pointers, Int32(lanes), blocks)
            }
            if ran == 0 {
                // Only the CPU's lack of SHA-NI or AVX-512 excuses a kernel; the portable one always runs.
                #expect(kind != 0)
                #expect(kind != 16 || csvstorm_sha256_mb_width() < 16)
                #expect(!(1...4).contains(kind) || csvstorm_sha256_hardware() == 0)
                return
            }
            for lane in 0..<lanes {
                let tail = (lane * 9) % 64
                let message = Array(data[offsets[lane]..<(offsets[lane] + blocks * 64 + tail)])
                var digest = [UInt8](repeating: 0, count: 32)
                message.withUnsafeBytes { raw in
                    csvstorm_sha256_final(statePointers[lane], raw.baseAddress! + blocks * 64, tail, UInt64(message.count), &digest)
                }
                #expect(digest == Array(SHA256.hash(data: message)), "kind \(kind), lanes \(lanes), lane \(lane)")
            }
        }
    }

    /// Signed payloads: fourteen bodies with SHA-256 and two without; every digest matches, and
    /// with AVX-512 the SHA-256 ran in 16-lane rounds (twelve bodies or more in a round).
    @Test func concurrentStreamsWithSHA256() async {
        let engine = BodyDigestEngine(highWater: 1 << 20, gatherTimeout: .seconds(30))
        let bodies = (0..<16).map { Self.bytes(200_000 + $0 * 1_031, seed: UInt64(300 + $0)) }
        let digests = await Self.digest(bodies, sha256: { $0 < 14 }, engine: engine)
        for (index, body) in bodies.enumerated() {
            #expect(digests[index].md5 == Self.reference(body), "stream \(index)")
            #expect(digests[index].sha256 == (index < 14 ? Array(SHA256.hash(data: body)) : []), "stream \(index)")
        }
        let statistics = engine.currentStatistics
        if csvstorm_sha256_mb_width() >= 16 {
            #expect(statistics.sha256SIMDBlocks > 0, "no 16-lane SHA-256 round: \(statistics)")
        }
    }

    /// Fewer signed bodies than a 16-lane round pays for: SHA-NI, several bodies interleaved;
    /// every digest matches (odd counts leave a narrower last group).
    @Test(arguments: [2, 5, 7])
    func fewStreamsWithSHA256(count: Int) async {
        let engine = BodyDigestEngine(highWater: 1 << 20, gatherTimeout: .seconds(30))
        let bodies = (0..<count).map { Self.bytes(150_000 + $0 * 2_053, seed: UInt64(400 + $0)) }
        let digests = await Self.digest(bodies, sha256: { _ in true }, engine: engine)
        for (index, body) in bodies.enumerated() {
            #expect(digests[index].sha256 == Array(SHA256.hash(data: body)), "stream \(index)")
            #expect(digests[index].md5 == Self.reference(body), "stream \(index)")
        }
        let statistics = engine.currentStatistics
        #expect(statistics.sha256SIMDBlocks == 0, "\(statistics)")
        // Blocks that straddle two buffers are hashed from the stream's tail, outside the rounds.
        #expect(statistics.sha256ScalarBlocks > bodies.reduce(0) { $0 + $1.count / 64 } * 9 / 10, "\(statistics)")
    }
}
