import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization
import UnixSignals

/// A Toxiproxy-style TCP proxy for AWS endpoints csvstorm does not run: forwards bytes both
/// ways at full speed with back-pressure, sniffs each HTTP/1.1 request head on the client side
/// to name it (``AWSRequestClassifier``), and applies the network faults of a plan to the
/// requests they select — latency with jitter, bandwidth limits, resets (RST), hangs, slicing,
/// and 503 SlowDown / 500 InternalError answered by the proxy itself.
///
/// Use ``withFaultProxy(configuration:group:_:)`` for a scoped proxy (tests, benchmarks) or
/// ``FaultProxyService`` in a `ServiceGroup` (the `csvstorm proxy` command).
package final class FaultProxy: Sendable {
    package struct Configuration: Sendable {
        /// Address to listen on. Default 127.0.0.1.
        package var listenHost = "127.0.0.1"
        /// Port to listen on; 0 (the default) picks a free one (read ``FaultProxy/port``).
        package var listenPort = 0
        package var upstreamHost: String
        package var upstreamPort: Int
        /// Decides the faults; nil forwards everything.
        package var injector: FaultInjector?
        /// Upstream connect timeout. Default 10 s.
        package var connectTimeout: TimeAmount = .seconds(10)
        /// After an error answer with `Connection: close`, how long to drain the client before
        /// closing. Default 2 s.
        package var closeGracePeriod: TimeAmount = .seconds(2)
        /// SO_RCVBUF / SO_SNDBUF of both sockets of a connection; nil (the default) keeps the
        /// kernel's autotuning.
        package var socketBufferBytes: Int?
        /// Forward large request bodies with `splice(2)` (Linux; ignored elsewhere) once their
        /// request is decided "no fault". Default true.
        package var zeroCopy = true
        /// Smallest remaining `Content-Length` body spliced (smaller ones are copied). Default 256 KiB.
        package var spliceThreshold = 256 << 10

        package init(upstreamHost: String, upstreamPort: Int, injector: FaultInjector? = nil) {
            self.upstreamHost = upstreamHost
            self.upstreamPort = upstreamPort
            self.injector = injector
        }
    }

    /// Traffic through the proxy so far.
    package struct Statistics: Sendable, Equatable {
        package var connections = 0
        package var openConnections = 0
        package var upstreamConnectFailures = 0
        /// Requests by operation (`?` when unnamed).
        package var requests: [String: Int] = [:]
        /// Requests a fault was applied to.
        package var faultedRequests = 0
        /// Bytes read from clients / from upstream so far.
        package var bytesFromClients = 0
        package var bytesFromUpstream = 0
        /// Client bytes forwarded zero-copy, and the request bodies they made up.
        package var splicedBytes = 0
        package var splicedBodies = 0
    }

    /// State every connection shares.
    final class Shared: Sendable {
        let configuration: Configuration
        let start: NIODeadline
        private let statistics = Mutex(Statistics())
        /// Bytes read, counted as they flow (relaxed atomics: one add per read).
        let bytesFromClients = Atomic<Int>(0)
        let bytesFromUpstream = Atomic<Int>(0)
        let splicedBytes = Atomic<Int>(0)
        let splicedBodies = Atomic<Int>(0)

        init(configuration: Configuration) {
            self.configuration = configuration
            self.start = .now()
        }

        var current: Statistics {
            var copy = statistics.withLock { $0 }
            copy.bytesFromClients = bytesFromClients.load(ordering: .relaxed)
            copy.bytesFromUpstream = bytesFromUpstream.load(ordering: .relaxed)
            copy.splicedBytes = splicedBytes.load(ordering: .relaxed)
            copy.splicedBodies = splicedBodies.load(ordering: .relaxed)
            return copy
        }

        var elapsed: Duration { .nanoseconds((NIODeadline.now() - start).nanoseconds) }

        func decide(_ request: FaultRequest) -> FaultDecision? {
            let decision = configuration.injector?.decide(request, at: elapsed, for: .wire)
            statistics.withLock {
                $0.requests[request.operation ?? "?", default: 0] += 1
                if decision != nil { $0.faultedRequests += 1 }
            }
            return decision
        }

        func connectionOpened() -> Int {
            statistics.withLock {
                $0.connections += 1
                $0.openConnections += 1
                return $0.connections
            }
        }

        func upstreamConnectFailed() {
            statistics.withLock { $0.upstreamConnectFailures += 1 }
        }

        func connectionClosed() {
            statistics.withLock { $0.openConnections -= 1 }
        }
    }

    /// Reads of 64 KiB to 1 MiB: large enough for full-speed forwarding of multi-GB uploads.
    static let receiveAllocator = AdaptiveRecvByteBufferAllocator(minimum: 16 << 10, initial: 64 << 10, maximum: 1 << 20)
    /// Client reads when large bodies are spliced: NIO reads a body's first bytes (with its head)
    /// before the proxy can decide, up to 4 reads per readiness event; small reads keep that
    /// copied share near 256 KiB per body instead of 4 MiB.
    static let clientReceiveAllocatorWithSplice = FixedSizeRecvByteBufferAllocator(capacity: 64 << 10)
    /// A side stops being read once 2 MiB wait to be written to the other (resumes below
    /// 512 KiB): room for a whole read while the previous one drains, so reading and writing
    /// overlap instead of taking turns (NIO's default, 64 KiB, is below one read). Bounds a
    /// connection's buffered bytes at about 2 MiB + one read per direction.
    static let writeWatermark = ChannelOptions.Types.WriteBufferWaterMark(low: 512 << 10, high: 2 << 20)

    private let shared: Shared
    private let channel: any Channel
    /// The bound port.
    package let port: Int
    package var configuration: Configuration { shared.configuration }
    /// `127.0.0.1:PORT`.
    package var address: String { "\(configuration.listenHost):\(port)" }
    package var statistics: Statistics { shared.current }
    /// Time since the proxy started: the clock its fault windows run on.
    package var elapsed: Duration { shared.elapsed }

    private init(shared: Shared, channel: any Channel, port: Int) {
        self.shared = shared
        self.channel = channel
        self.port = port
    }

    /// Binds and starts accepting; close with ``close()``.
    package static func start(configuration: Configuration, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) async throws -> FaultProxy {
        let shared = Shared(configuration: configuration)
        let bufferBytes = configuration.socketBufferBytes
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.recvAllocator, value: configuration.zeroCopy && SpliceTransfer.isAvailable ? clientReceiveAllocatorWithSplice : receiveAllocator)
            .childChannelOption(.writeBufferWaterMark, value: writeWatermark)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let bufferBytes {
                        try channel.syncOptions?.setOption(.socketOption(.so_rcvbuf), value: SocketOptionValue(bufferBytes))
                        try channel.syncOptions?.setOption(.socketOption(.so_sndbuf), value: SocketOptionValue(bufferBytes))
                    }
                    let connection = ProxyConnection(eventLoop: channel.eventLoop, shared: shared, connectionId: shared.connectionOpened())
                    try channel.pipeline.syncOperations.addHandler(ProxySideHandler(side: .client, connection: connection))
                }
            }
            .bind(host: configuration.listenHost, port: configuration.listenPort)
            .get()
        guard let port = channel.localAddress?.port else {
            try? await channel.close()
            throw FaultProxyError(message: "the proxy could not read its bound port")
        }
        return FaultProxy(shared: shared, channel: channel, port: port)
    }

    /// Stops accepting. Open connections end when their peers close them.
    package func close() async {
        try? await channel.close()
    }

    /// Runs `body` with a started proxy; closes it on return, throw or cancellation.
    package static func withFaultProxy<T>(
        configuration: Configuration,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        _ body: (FaultProxy) async throws -> T
    ) async throws -> T {
        let proxy = try await start(configuration: configuration, group: group)
        do {
            let result = try await body(proxy)
            await proxy.close()
            return result
        } catch {
            await proxy.close()
            throw error
        }
    }
}

/// The proxy as a `Service`: listens until graceful shutdown (SIGINT/SIGTERM in a `ServiceGroup`).
package struct FaultProxyService: Service {
    package let configuration: FaultProxy.Configuration
    private let onListening: @Sendable (FaultProxy) -> Void
    private let onStop: @Sendable (FaultProxy) -> Void

    package init(configuration: FaultProxy.Configuration, onListening: @escaping @Sendable (FaultProxy) -> Void, onStop: @escaping @Sendable (FaultProxy) -> Void = { _ in }) {
        self.configuration = configuration
        self.onListening = onListening
        self.onStop = onStop
    }

    package func run() async throws {
        let proxy = try await FaultProxy.start(configuration: configuration)
        onListening(proxy)
        // Returns on graceful shutdown (SIGINT/SIGTERM) or cancellation.
        try? await gracefulShutdown()
        await proxy.close()
        onStop(proxy)
    }
}

extension FaultProxyService {
    /// Runs the proxy in a `ServiceGroup` until SIGINT or SIGTERM, then closes it.
    package static func runUntilSignalled(
        configuration: FaultProxy.Configuration,
        onListening: @escaping @Sendable (FaultProxy) -> Void,
        onStop: @escaping @Sendable (FaultProxy) -> Void = { _ in }
    ) async throws {
        var logger = Logger(label: "csvstorm.proxy")
        logger.logLevel = .warning
        let service = FaultProxyService(configuration: configuration, onListening: onListening, onStop: onStop)
        let group = ServiceGroup(configuration: .init(services: [service], gracefulShutdownSignals: [.sigint, .sigterm], logger: logger))
        try await group.run()
    }
}

package struct FaultProxyError: Error, CustomStringConvertible {
    package var message: String
    package var description: String { message }
}
