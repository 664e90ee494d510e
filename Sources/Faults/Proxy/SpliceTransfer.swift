#if os(Linux)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import NIOCore
import Synchronization

/// Zero-copy forwarding of one request body (Linux `splice(2)`): client socket → pipe →
/// upstream socket inside the kernel, so the bytes are never copied into the proxy's memory.
///
/// The proxy still reads each request head through NIO (to name and decide it); once a request
/// is decided "forward, no pacing" and announces a `Content-Length` body, the connection stops
/// reading the client through NIO, waits until everything it already wrote upstream has reached
/// the socket, and hands exactly the remaining body bytes to a transfer on its own thread
/// (blocking in `poll(2)`, never on an event loop). When the body has moved, NIO reads the next
/// request head. Responses keep flowing upstream → client through NIO meanwhile.
///
/// The transfer works on `dup(2)`ed descriptors, so NIO closing a channel never leaves it with
/// a reused descriptor number; ``abort()`` (the connection closed) ends it within one poll.
final class SpliceTransfer: Sendable {
    enum Outcome: Sendable, Equatable {
        /// Every byte moved.
        case done
        /// The client closed before the body ended.
        case clientClosed
        /// A socket error (upstream closed, reset…).
        case failed(String)
        /// ``abort()`` was called.
        case aborted
    }

    private let source: CInt
    private let destination: CInt
    private let count: Int
    /// Written by ``abort()`` to wake the poll.
    private let wakeRead: CInt
    private let wakeWrite: CInt
    private let aborted = Atomic<Bool>(false)
    /// Bytes written upstream so far (read by the connection for statistics when it ends).
    let moved = Atomic<Int>(0)

    /// Whether this platform can splice (Linux, with `splice` resolvable at run time).
    static var isAvailable: Bool { spliceFunction != nil }

    private typealias SpliceFunction = @convention(c) (CInt, UnsafeMutablePointer<Int64>?, CInt, UnsafeMutablePointer<Int64>?, Int, UInt32) -> Int
    /// glibc declares `splice` only under _GNU_SOURCE, which the Glibc module does not import.
    private static let spliceFunction: SpliceFunction? = {
        #if os(Linux)
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "splice") else { return nil }
        return unsafeBitCast(symbol, to: SpliceFunction.self)
        #else
        return nil
        #endif
    }()
    private static let moveFlag: UInt32 = 1  // SPLICE_F_MOVE
    private static let nonBlockFlag: UInt32 = 2  // SPLICE_F_NONBLOCK
    private static let moreFlag: UInt32 = 4  // SPLICE_F_MORE
    private static let setPipeSize: CInt = 1031  // F_SETPIPE_SZ
    private static let getPipeSize: CInt = 1032  // F_GETPIPE_SZ
    /// Pipe capacity asked for: the most a transfer holds in flight.
    static let pipeBytes = 1 << 20

    /// Duplicates `source` and `destination` (descriptors NIO owns; call on their event loop).
    /// nil when duplication fails.
    init?(source: CInt, destination: CInt, count: Int) {
        guard Self.isAvailable, count > 0 else { return nil }
        let s = dup(source)
        guard s >= 0 else { return nil }
        let d = dup(destination)
        guard d >= 0 else {
            close(s)
            return nil
        }
        var wake: [CInt] = [-1, -1]
        guard pipe(&wake) == 0 else {
            close(s)
            close(d)
            return nil
        }
        for fd in [s, d, wake[0], wake[1]] { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        _ = fcntl(wake[1], F_SETFL, fcntl(wake[1], F_GETFL) | O_NONBLOCK)
        self.source = s
        self.destination = d
        self.count = count
        self.wakeRead = wake[0]
        self.wakeWrite = wake[1]
    }

    /// Runs the transfer on a new thread; `completion` is called there once, at the end.
    func start(_ completion: @escaping @Sendable (Outcome) -> Void) {
        let thread = Thread { [self] in
            let outcome = self.run()
            close(self.source)
            close(self.destination)
            close(self.wakeRead)
            close(self.wakeWrite)
            completion(outcome)
        }
        thread.name = "csvstorm-proxy-splice"
        thread.start()
    }

    /// Ends the transfer at its next wake-up (at once when it waits in poll).
    func abort() {
        guard !aborted.exchange(true, ordering: .acquiringAndReleasing) else { return }
        var byte: UInt8 = 1
        _ = write(wakeWrite, &byte, 1)
    }

    private func run() -> Outcome {
        guard let splice = Self.spliceFunction else { return .failed("splice unavailable") }
        var pipeFDs: [CInt] = [-1, -1]
        guard pipe(&pipeFDs) == 0 else { return .failed("pipe: errno \(errno)") }
        defer {
            close(pipeFDs[0])
            close(pipeFDs[1])
        }
        for fd in pipeFDs { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        _ = fcntl(pipeFDs[1], Self.setPipeSize, CInt(Self.pipeBytes))
        let capacity = max(4096, Int(fcntl(pipeFDs[1], Self.getPipeSize)))
        var toRead = count
        var inPipe = 0
        while toRead > 0 || inPipe > 0 {
            if aborted.load(ordering: .acquiring) { return .aborted }
            var progressed = false
            if toRead > 0 && inPipe < capacity {
                let n = splice(source, nil, pipeFDs[1], nil, min(toRead, capacity - inPipe), Self.moveFlag | Self.nonBlockFlag)
                if n > 0 {
                    toRead -= n
                    inPipe += n
                    progressed = true
                } else if n == 0 {
                    return .clientClosed
                } else if errno != EAGAIN && errno != EINTR {
                    return .failed("splice from the client: errno \(errno)")
                }
            }
            if inPipe > 0 {
                let n = splice(pipeFDs[0], nil, destination, nil, inPipe, Self.moveFlag | Self.nonBlockFlag | (toRead > 0 ? Self.moreFlag : 0))
                if n > 0 {
                    inPipe -= n
                    moved.add(n, ordering: .relaxed)
                    progressed = true
                } else if n < 0 && errno != EAGAIN && errno != EINTR {
                    return .failed("splice to the upstream: errno \(errno)")
                }
            }
            if progressed { continue }
            // Wait until the client has bytes (and the pipe room), the upstream room, or an abort.
            var fds = [pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0)]
            if toRead > 0 && inPipe < capacity { fds.append(pollfd(fd: source, events: Int16(POLLIN), revents: 0)) }
            if inPipe > 0 { fds.append(pollfd(fd: destination, events: Int16(POLLOUT), revents: 0)) }
            // A tick of 1 s re-checks the abort flag even if a wake-up byte were lost.
            let ready = poll(&fds, nfds_t(fds.count), 1000)
            if ready < 0 && errno != EINTR { return .failed("poll: errno \(errno)") }
        }
        return .done
    }
}

/// Finds the descriptor NIO holds for a connected socket, by its two addresses (NIO does not
/// expose descriptors). Linux only: it lists /proc/self/fd. Call on the channel's event loop,
/// where NIO cannot close it meanwhile; a connected socket's address pair is unique.
enum SocketDescriptorLookup {
    static func find(local: SocketAddress?, remote: SocketAddress?) -> CInt? {
        #if os(Linux)
        guard let local, let remote, let localPort = local.port, let remotePort = remote.port,
              let localIP = local.ipAddress, let remoteIP = remote.ipAddress,
              let directory = opendir("/proc/self/fd")
        else { return nil }
        defer { closedir(directory) }
        var scanned = 0
        while let entry = readdir(directory), scanned < 1_000_000 {
            scanned += 1
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            guard let fd = CInt(name) else { continue }
            guard let (ip, port) = address(fd, peer: false), port == localPort, ip == localIP,
                  let (peerIP, peerPort) = address(fd, peer: true), peerPort == remotePort, peerIP == remoteIP
            else { continue }
            return fd
        }
        return nil
        #else
        return nil
        #endif
    }

    /// The IP text and port of a socket's local (or peer) address; nil for anything else.
    private static func address(_ fd: CInt, peer: Bool) -> (String, Int)? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let result = withUnsafeMutablePointer(to: &storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { peer ? getpeername(fd, $0, &length) : getsockname(fd, $0, &length) }
        }
        guard result == 0 else { return nil }
        guard let address = try? SocketAddress(storage) else { return nil }
        guard let ip = address.ipAddress, let port = address.port else { return nil }
        return (ip, port)
    }
}

extension SocketAddress {
    fileprivate init(_ storage: sockaddr_storage) throws {
        switch Int32(storage.ss_family) {
        case AF_INET:
            var copy = storage
            let address = withUnsafePointer(to: &copy) { $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee } }
            self = SocketAddress(address, host: "")
        case AF_INET6:
            var copy = storage
            let address = withUnsafePointer(to: &copy) { $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { $0.pointee } }
            self = SocketAddress(address, host: "")
        default:
            throw FaultProxyError(message: "not an IP socket")
        }
    }
}
