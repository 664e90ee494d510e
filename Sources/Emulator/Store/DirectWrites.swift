import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Large request bodies go to disk with `O_DIRECT`: the bytes are copied once into an aligned
/// staging buffer and written from there, instead of being copied into the page cache by
/// `write(2)`, whose cost grows with the dirty pages waiting for writeback. For an `aws s3 cp`
/// of 1 GiB with 2.3 GB already dirty, the server's kernel CPU was 0.41–0.51 s against
/// 0.59–0.63 buffered; on a clean page cache the two were within the noise
/// (`csvstorm emulate --no-direct-writes` compares). Small bodies and bodies of unknown length
/// still go through the page cache.
///
/// A blob written this way is an ordinary file: it is read (GetObject, the processor) through
/// the page cache like any other.
package enum DirectWrites {
    /// `O_DIRECT`, which the Glibc module does not export (it needs `_GNU_SOURCE`); its value
    /// differs between architectures, so only the two known here are used (0 elsewhere: no
    /// direct writes).
    package static var flag: Int32 {
        #if os(Linux) && arch(arm64)
        return 0o200000
        #elseif os(Linux) && arch(x86_64)
        return 0o40000
        #else
        return 0
        #endif
    }

    /// Alignment of buffers, file offsets and lengths. 4 KiB satisfies every Linux file system
    /// and device (the strictest usual requirement is the 4 KiB logical block of some disks).
    package static let alignment = 4096

    /// Size of one staging buffer: large enough that a direct write costs little per byte
    /// (256 KiB: 0.15 CPU-s per GiB with the copy; 128 KiB: 0.20), small enough that a hundred
    /// concurrent uploads hold 25 MiB.
    package static let bufferSize = 256 << 10

    /// Whether files in `directory` can be opened and written with `O_DIRECT` (tmpfs and some
    /// network file systems refuse).
    package static func isSupported(in directory: String) -> Bool {
        guard Self.flag != 0 else { return false }
        let path = "\(directory)/.direct-write-probe-\(getpid())"
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | Self.flag, 0o600)
        guard fd >= 0 else { return false }
        defer {
            close(fd)
            unlink(path)
        }
        guard let buffer = Self.allocate(Self.alignment) else { return false }
        defer { free(buffer) }
        memset(buffer, 0, Self.alignment)
        return write(fd, buffer, Self.alignment) == Self.alignment
    }

    static func allocate(_ size: Int) -> UnsafeMutableRawPointer? {
        var pointer: UnsafeMutableRawPointer?
        guard posix_memalign(&pointer, Self.alignment, size) == 0 else { return nil }
        return pointer
    }

    /// Staging buffers, reused: a large allocation is a fresh mmap whose pages fault in one by
    /// one, which costs more than the write it serves. Keeps at most ``maximumKept`` idle ones.
    final class BufferPool: Sendable {
        /// Idle buffers' addresses.
        private let idle = Mutex<[UInt]>([])
        static let maximumKept = 16

        deinit {
            for address in self.idle.withLock({ $0 }) { free(UnsafeMutableRawPointer(bitPattern: address)) }
        }

        func take() -> UnsafeMutableRawPointer? {
            if let address = self.idle.withLock({ $0.popLast() }) { return UnsafeMutableRawPointer(bitPattern: address) }
            return DirectWrites.allocate(DirectWrites.bufferSize)
        }

        func give(_ buffer: UnsafeMutableRawPointer) {
            let kept = self.idle.withLock { idle in
                guard idle.count < Self.maximumKept else { return false }
                idle.append(UInt(bitPattern: buffer))
                return true
            }
            if !kept { free(buffer) }
        }
    }
}
