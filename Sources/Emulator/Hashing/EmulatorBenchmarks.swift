import CDigest
import Crypto
import Foundation

/// Measurements for `csvstorm emulate md5-speed` (scripts/bench-emulate.sh).
package enum EmulatorBenchmarks {
    /// Best-of-`repeats` throughput (bytes/s) of the MD5 the emulator computes for every
    /// uploaded byte, over `bytes` bytes hashed in 64 KiB slices as request bodies arrive.
    package static func md5Throughput(bytes: Int, repeats: Int) -> Double {
        let chunk = 1 << 16
        var buffer = [UInt8](repeating: 0, count: chunk)
        for index in buffer.indices { buffer[index] = UInt8(truncatingIfNeeded: index &* 2_654_435_761 >> 13) }
        var best = 0.0
        let clock = ContinuousClock()
        for _ in 0..<repeats {
            var md5 = Insecure.MD5()
            let start = clock.now
            var done = 0
            buffer.withUnsafeBytes { pointer in
                while done < bytes {
                    md5.update(bufferPointer: UnsafeRawBufferPointer(rebasing: pointer[0..<min(chunk, bytes - done)]))
                    done += min(chunk, bytes - done)
                }
            }
            _ = md5.finalize()
            let elapsed = clock.now - start
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            best = max(best, Double(bytes) / seconds)
        }
        return best
    }

    /// Best-of-`repeats` aggregate throughput (bytes/s) of the emulator's own MD5 kernels:
    /// `lanes` independent messages of `bytes / lanes` bytes each, hashed together (1: the
    /// scalar block function). nil when the CPU has no kernel that wide.
    package static func md5KernelThroughput(lanes: Int, bytes: Int, repeats: Int) -> Double? {
        guard lanes == 1 || lanes <= Int(csvstorm_md5_mb_width()) else { return nil }
        let perLane = max(64, (bytes / lanes) & ~63)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 16, alignment: 64)
        defer { buffer.deallocate() }
        for index in 0..<buffer.count { buffer[index] = UInt8(truncatingIfNeeded: index &* 2_654_435_761 >> 13) }
        let states = (0..<lanes).map { _ in UnsafeMutablePointer<UInt32>.allocate(capacity: 4) }
        defer { states.forEach { $0.deallocate() } }
        var statePointers: [UnsafeMutablePointer<UInt32>?] = states
        // Each lane reads its own 4 KiB-offset window of the buffer, over and over.
        var data: [UnsafePointer<UInt8>?] = (0..<lanes).map { lane in
            UnsafePointer(buffer.baseAddress!.assumingMemoryBound(to: UInt8.self) + (lane * 4096) % (buffer.count / 2))
        }
        let window = (buffer.count / 2) / 64
        var best = 0.0
        let clock = ContinuousClock()
        for _ in 0..<repeats {
            for state in states { csvstorm_md5_init(state) }
            var remaining = perLane / 64
            let start = clock.now
            while remaining > 0 {
                let blocks = min(remaining, window)
                if lanes == 1 {
                    csvstorm_md5_blocks(states[0], data[0], blocks)
                } else {
                    csvstorm_md5_mb_blocks(&statePointers, &data, Int32(lanes), blocks)
                }
                remaining -= blocks
            }
            let elapsed = clock.now - start
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            best = max(best, Double(perLane * lanes) / seconds)
        }
        return best
    }
}
