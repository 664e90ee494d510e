import CMD5
@testable import Emulator
import Crypto
import Foundation
import NIOCore
import Testing

/// The MD5 behind every ETag: the C kernels (scalar, AVX2 8 lanes, AVX-512 16 lanes) and the
/// engine that batches concurrent bodies into lanes, each checked against swift-crypto's MD5.
@Suite("MD5 kernels and engine")
struct MD5EngineTests {
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
            let state = MD5State()
            let split = (length * 37) % (length + 1)
            data.withUnsafeBytes { raw in
                state.update(UnsafeRawBufferPointer(rebasing: raw[0..<split]))
                state.update(UnsafeRawBufferPointer(rebasing: raw[split..<length]))
            }
            #expect(state.finalize() == Self.reference(Array(data[0..<length])), "length \(length), split \(split)")
        }
        let empty = MD5State()
        #expect(empty.finalize().map { String(format: "%02x", $0) }.joined() == "d41d8cd98f00b204e9800998ecf8427e")
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

    /// Streams that submit concurrently, in buffers of uneven sizes (some under a block), get
    /// their own digests; with SIMD on the CPU, the engine really batches them.
    @Test func concurrentStreamsGetTheirOwnDigests() async {
        let engine = MD5Engine(highWater: 256 * 1024)
        let streams = 12
        let results = await withTaskGroup(of: (Int, [UInt8], [UInt8]).self) { group in
            for index in 0..<streams {
                group.addTask {
                    let body = Self.bytes(300_000 + index * 4_099, seed: UInt64(100 + index))
                    let stream = engine.makeStream()
                    var offset = 0
                    var step = 0
                    while offset < body.count {
                        let size = min(body.count - offset, [65_536, 17, 4_000, 63, 64, 1, 30_011][step % 7])
                        await stream.submit(ByteBuffer(bytes: body[offset..<(offset + size)]))
                        offset += size
                        step += 1
                    }
                    return (index, await stream.finish(), Self.reference(body))
                }
            }
            var all: [(Int, [UInt8], [UInt8])] = []
            for await result in group { all.append(result) }
            return all
        }
        #expect(results.count == streams)
        for (index, digest, expected) in results {
            #expect(digest == expected, "stream \(index)")
        }
        let statistics = engine.currentStatistics
        if engine.width > 1 {
            #expect(statistics.simdBlocks > 0, "no SIMD round: \(statistics)")
        }
        #expect(statistics.simdBlocks + statistics.scalarBlocks > 0)
    }

    /// A stream that submits far more than the high-water mark is paused rather than queued.
    @Test func submitsWaitAtTheHighWaterMark() async {
        let engine = MD5Engine(highWater: 64 * 1024)
        let stream = engine.makeStream()
        let chunk = Self.bytes(16 * 1024, seed: 3)
        var whole = Insecure.MD5()
        for _ in 0..<256 { // 4 MiB
            await stream.submit(ByteBuffer(bytes: chunk))
            whole.update(data: chunk)
        }
        #expect(await stream.finish() == Array(whole.finalize()))
        #expect(engine.currentStatistics.peakQueuedBytes <= 64 * 1024 + chunk.count)
    }

    /// A cancelled stream (its body failed) neither blocks nor corrupts the others.
    @Test func cancelledStreamLeavesOthersIntact() async {
        let engine = MD5Engine(highWater: 64 * 1024)
        let kept = engine.makeStream()
        let dropped = engine.makeStream()
        let body = Self.bytes(200_000, seed: 9)
        await dropped.submit(ByteBuffer(bytes: body[0..<50_000]))
        await kept.submit(ByteBuffer(bytes: body[0..<100_000]))
        dropped.cancel()
        await kept.submit(ByteBuffer(bytes: body[100_000...]))
        #expect(await kept.finish() == Self.reference(body))
        let another = engine.makeStream()
        await another.submit(ByteBuffer(bytes: body[0..<10]))
        #expect(await another.finish() == Self.reference(Array(body[0..<10])))
    }
}
