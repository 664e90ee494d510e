import CSystemExtras
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
    /// `O_DIRECT` (from C: the Glibc module does not export it); 0 where there is none.
    package static let flag = Int32(csvstorm_dio_open_flag())

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
    ///
    /// A body always gets one buffer (so memory grows by one buffer per concurrent body, as the
    /// bodies' socket buffers do); buffers beyond that, for writes in flight, come from a budget
    /// of ``maximumOutstanding`` for all bodies together.
    package final class BufferPool: Sendable {
        private struct State {
            /// Idle buffers' addresses.
            var idle: [UInt] = []
            /// Buffers handed out and not yet given back.
            var outstanding = 0
        }

        private let state = Mutex(State())
        static let maximumKept = 16
        /// Buffers out, all bodies together, beyond which ``takeExtra()`` refuses (16 MiB).
        package static let maximumOutstanding = 64

        package init() {}

        deinit {
            for address in self.state.withLock({ $0.idle }) { free(UnsafeMutableRawPointer(bitPattern: address)) }
        }

        /// A buffer (nil only when memory is exhausted).
        package func take() -> UnsafeMutableRawPointer? {
            self.take(extra: false)
        }

        /// A buffer if fewer than ``maximumOutstanding`` are out, else nil.
        package func takeExtra() -> UnsafeMutableRawPointer? {
            self.take(extra: true)
        }

        private func take(extra: Bool) -> UnsafeMutableRawPointer? {
            let idle: UInt?? = self.state.withLock { state in
                if extra && state.outstanding >= Self.maximumOutstanding { return .none }
                state.outstanding += 1
                return .some(state.idle.popLast())
            }
            switch idle {
            case .none:
                return nil
            case .some(.some(let address)):
                return UnsafeMutableRawPointer(bitPattern: address)
            case .some(.none):
                if let buffer = DirectWrites.allocate(DirectWrites.bufferSize) { return buffer }
                self.state.withLock { $0.outstanding -= 1 }
                return nil
            }
        }

        package func give(_ buffer: UnsafeMutableRawPointer) {
            let kept = self.state.withLock { state in
                state.outstanding -= 1
                guard state.idle.count < Self.maximumKept else { return false }
                state.idle.append(UInt(bitPattern: buffer))
                return true
            }
            if !kept { free(buffer) }
        }

        /// Buffers handed out and not given back (for tests).
        package var outstanding: Int { self.state.withLock { $0.outstanding } }
    }
}

/// Native AIO contexts, reused: `io_destroy` waits for an RCU grace period (tens of
/// milliseconds), far longer than a part takes. A context is idle when handed back (no writes
/// in flight). Keeps at most ``maximumKept`` idle ones; the rest are destroyed.
package final class AIOContextPool: Sendable {
    /// The process's pool (every ``BlobStore``'s): its contexts go with the process, so no
    /// emulator's shutdown waits for their destruction.
    package static let shared = AIOContextPool()

    private let idle = Mutex<[UInt64]>([])
    static let maximumKept = 32

    package init() {}

    deinit {
        for context in self.idle.withLock({ $0 }) { _ = csvstorm_dio_destroy(context) }
    }

    /// An idle context for ``DirectWriteQueue/depth`` writes, or nil where the kernel refuses.
    func take() -> UInt64? {
        if let context = self.idle.withLock({ $0.popLast() }) { return context }
        var context: UInt64 = 0
        guard csvstorm_dio_setup(UInt32(DirectWriteQueue.depth), &context) == 0 else { return nil }
        return context
    }

    /// Takes back a context with no writes in flight.
    func give(_ context: UInt64) {
        let kept = self.idle.withLock { idle in
            guard idle.count < Self.maximumKept else { return false }
            idle.append(context)
            return true
        }
        if !kept { _ = csvstorm_dio_destroy(context) }
    }
}

/// The writes of one file opened with `O_DIRECT`, submitted with Linux native AIO: the request
/// task hands a full staging buffer to the device and goes on receiving while it is written,
/// instead of waiting for each write (0.3–0.4 ms per 256 KiB on this machine's virtual disk,
/// during which the body's bytes stopped flowing to the MD5 thread). Up to ``depth`` writes are
/// in flight per file, within the pool's budget; beyond that the task waits for the oldest.
///
/// The file is first given its final size (rounded up to the alignment): ext4 and XFS complete
/// an AIO write that extends the file inside `io_submit`, synchronously. The writer cuts the
/// file to the body's size at the end.
package final class DirectWriteQueue {
    /// Writes in flight per file at most.
    package static let depth = 4

    private let context: UInt64
    private let contexts: AIOContextPool
    private let fd: Int32
    private let pool: DirectWrites.BufferPool
    /// Buffers being written: address → bytes submitted.
    private var inFlight: [UInt: Int] = [:]
    /// The first failed write, reported by the next call.
    private var failure: S3Error?

    /// nil where the kernel refuses (no native AIO, no room for another AIO context, or no
    /// preallocation): the caller then writes synchronously.
    package init?(fd: Int32, pool: DirectWrites.BufferPool, contexts: AIOContextPool, length: Int64) {
        let alignment = Int64(DirectWrites.alignment)
        guard length > 0, csvstorm_dio_preallocate(fd, (length + alignment - 1) / alignment * alignment) == 0,
              let context = contexts.take()
        else { return nil }
        self.context = context
        self.contexts = contexts
        self.fd = fd
        self.pool = pool
    }

    deinit {
        // Waits for the writes in flight (an abandoned body): their buffers must not be reused
        // before, nor the context. (A failed write is nobody's to report any more.)
        try? self.drain()
        if self.inFlight.isEmpty {
            self.contexts.give(self.context)
        } else {
            // Waiting failed: destroying the context waits for its writes.
            _ = csvstorm_dio_destroy(self.context)
            for address in self.inFlight.keys { self.pool.give(UnsafeMutableRawPointer(bitPattern: address)!) }
        }
    }

    /// Writes in flight now.
    package var pending: Int { self.inFlight.count }

    /// Submits the write of `count` bytes of `buffer` (from the pool) at `offset`; the queue
    /// owns the buffer from here on, and gives it back to the pool once written.
    package func submit(_ buffer: UnsafeMutableRawPointer, count: Int, offset: Int64) throws(S3Error) {
        if let failure = self.failure {
            self.pool.give(buffer)
            throw failure
        }
        let address = UInt(bitPattern: buffer)
        let result = csvstorm_dio_submit_write(self.context, self.fd, buffer, count, offset, UInt64(address))
        guard result == 0 else {
            self.pool.give(buffer)
            throw S3Error(.internalError, "writing object data failed: errno \(-result)")
        }
        self.inFlight[address] = count
    }

    /// A staging buffer for the next bytes: the pool's while fewer than ``depth`` writes are in
    /// flight and its budget allows, else the buffer of the first write to finish.
    package func nextBuffer() throws(S3Error) -> UnsafeMutableRawPointer {
        _ = try self.reap(minimum: 0)
        if self.inFlight.isEmpty {
            guard let buffer = self.pool.take() else { throw S3Error(.internalError, "cannot allocate a write buffer") }
            return buffer
        }
        if self.inFlight.count < Self.depth, let buffer = self.pool.takeExtra() { return buffer }
        guard let buffer = try self.reap(minimum: 1) else { throw S3Error(.internalError, "a direct write did not complete") }
        return buffer
    }

    /// Waits until every write has finished; throws the first failure.
    package func drain() throws(S3Error) {
        while !self.inFlight.isEmpty {
            if let buffer = try self.reap(minimum: 1) { self.pool.give(buffer) }
        }
        if let failure = self.failure { throw failure }
    }

    /// Reaps completions (waiting for `minimum`): records failures, gives buffers back to the
    /// pool except one, which it returns (with `minimum` 1, always one).
    private func reap(minimum: Int) throws(S3Error) -> UnsafeMutableRawPointer? {
        guard !self.inFlight.isEmpty else { return nil }
        var tags = [UInt64](repeating: 0, count: Self.depth)
        var results = [Int64](repeating: 0, count: Self.depth)
        let count = csvstorm_dio_reap(self.context, Int32(minimum), Int32(Self.depth), &tags, &results)
        guard count >= 0 else { throw S3Error(.internalError, "waiting for object data writes failed: errno \(-count)") }
        var kept: UnsafeMutableRawPointer?
        for index in 0..<Int(count) {
            let address = UInt(tags[index])
            guard let submitted = self.inFlight.removeValue(forKey: address) else { continue }
            if results[index] != Int64(submitted), self.failure == nil {
                self.failure = results[index] < 0
                    ? S3Error(.internalError, "writing object data failed: errno \(-results[index])")
                    : S3Error(.internalError, "writing object data failed: \(results[index]) of \(submitted) bytes written")
            }
            let buffer = UnsafeMutableRawPointer(bitPattern: address)!
            if kept == nil && minimum > 0 { kept = buffer } else { self.pool.give(buffer) }
        }
        return kept
    }
}
