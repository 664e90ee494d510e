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
}
