import NIOCore
import NIOPosix
import Synchronization

/// One client connection and its upstream connection, glued together on one event loop.
///
/// Bytes flow both ways with back-pressure: a side is read only while the other side is
/// writable and nothing is queued for it, so memory stays bounded by a read buffer plus the
/// channel's write-buffer watermark per direction. Client bytes pass through an
/// ``HTTPRequestSniffer``; at each request head the injector decides what happens to that
/// request (forward, answer an error, reset, hang, delay, throttle, slice).
///
/// A request forwarded without pacing whose `Content-Length` body is large moves zero-copy
/// (``SpliceTransfer``, Linux): NIO stops reading the client, the body goes client → upstream
/// by `splice(2)` on a transfer thread, then NIO reads the next request head.
final class ProxyConnection {
    enum Side { case client, upstream }

    private enum Mode {
        /// Forward the current request.
        case forward
        /// Drop the request's bytes, then answer with this error when it ends.
        case respondAtEnd(FaultErrorResponse, FaultService, isHead: Bool, close: Bool)
        /// Drop everything the client sends, answer nothing (hang), or drop until closed.
        case discard
    }

    private enum Pace {
        case bandwidth(bytesPerSecond: Int)
        case slice(bytes: Int, delay: TimeAmount)
    }

    /// Bytes waiting to be written to one side (only while paced, delayed or not writable).
    private struct Outbox {
        var queue = CircularBuffer<ByteBuffer>()
        var resumeAt: NIODeadline?
        var pumpScheduled = false
        var bytes = 0
    }

    let eventLoop: any EventLoop
    private let shared: FaultProxy.Shared
    private var clientHandler: ProxySideHandler?
    private var upstreamHandler: ProxySideHandler?
    private var clientOpen = true
    private var upstreamOpen = true
    private var upstreamConnected = false
    private var sniffer = HTTPRequestSniffer()
    private var mode = Mode.forward
    private var pace: Pace?
    private var toUpstream = Outbox()
    private var toClient = Outbox()
    private var closeClientWhenDrained = false
    private var requestCounter = 0
    private let connectionId: Int
    private var splice = SpliceState.idle
    private var finished = false
    /// The descriptors NIO holds for the two sockets (looked up at the first splice; not owned).
    private var descriptors: (client: CInt, upstream: CInt)?
    private var descriptorsLookedUp = false

    private enum SpliceState {
        case idle
        /// The current body is to be spliced once NIO's read loop ends (channelReadComplete).
        case pending
        /// Waiting until every byte already written upstream has reached the socket.
        case waitingForDrain
        case running(SpliceTransfer)

        var isIdle: Bool {
            if case .idle = self { return true }
            return false
        }
    }

    init(eventLoop: any EventLoop, shared: FaultProxy.Shared, connectionId: Int) {
        self.eventLoop = eventLoop
        self.shared = shared
        self.connectionId = connectionId
    }

    // MARK: Setup

    func attachClient(_ handler: ProxySideHandler) {
        clientHandler = handler
    }

    /// Connects upstream; the client is not read until this succeeds.
    func connectUpstream() {
        let configuration = shared.configuration
        let connection = NIOLoopBound(self, eventLoop: eventLoop)
        let bootstrap = ClientBootstrap(group: eventLoop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelOption(.autoRead, value: true)
            .channelOption(.recvAllocator, value: FaultProxy.receiveAllocator)
            .channelOption(.writeBufferWaterMark, value: FaultProxy.writeWatermark)
            .connectTimeout(configuration.connectTimeout)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let bufferBytes = configuration.socketBufferBytes {
                        try channel.syncOptions?.setOption(.socketOption(.so_rcvbuf), value: SocketOptionValue(bufferBytes))
                        try channel.syncOptions?.setOption(.socketOption(.so_sndbuf), value: SocketOptionValue(bufferBytes))
                    }
                    let handler = ProxySideHandler(side: .upstream, connection: connection.value)
                    try channel.pipeline.syncOperations.addHandler(handler)
                }
            }
        bootstrap.connect(host: configuration.upstreamHost, port: configuration.upstreamPort).assumeIsolatedUnsafeUnchecked().whenComplete { result in
            switch result {
            case .success:
                self.upstreamConnected = true
                if !self.clientOpen {
                    self.upstreamHandler?.close()
                    return
                }
                self.pump(.upstream)
                self.clientHandler?.resumeReading()
            case .failure:
                self.upstreamOpen = false
                self.shared.upstreamConnectFailed()
                self.clientHandler?.close()
            }
        }
    }

    func attachUpstream(_ handler: ProxySideHandler) {
        upstreamHandler = handler
    }

    // MARK: Events from the handlers

    func mayRead(_ side: Side) -> Bool {
        switch side {
        case .client:
            guard splice.isIdle else { return false }
            if case .discard = mode { return true }
            if case .respondAtEnd = mode { return true }
            guard upstreamConnected, let upstream = upstreamHandler, upstream.isWritable else { return false }
            return toUpstream.queue.isEmpty
        case .upstream:
            guard let client = clientHandler, client.isWritable else { return false }
            return toClient.queue.isEmpty
        }
    }

    func received(_ buffer: ByteBuffer, from side: Side) {
        switch side {
        case .upstream:
            shared.bytesFromUpstream.add(buffer.readableBytes, ordering: .relaxed)
            send(buffer, to: .client)
        case .client:
            switch splice {
            case .running:
                // NIO read the client while a transfer owns its bytes (it drains a half-closed
                // socket on its own): their order is lost, so the connection cannot go on.
                closeBoth()
                return
            case .waitingForDrain:
                // Read before the transfer started: still in order; decide again below.
                splice = .idle
            case .idle, .pending:
                break
            }
            shared.bytesFromClients.add(buffer.readableBytes, ordering: .relaxed)
            sniffer.feed(buffer) { event in self.handle(event) }
            considerSplice()
        }
    }

    func readComplete(from side: Side) {
        switch side {
        case .client:
            upstreamHandler?.flush()
            if case .pending = splice {
                splice = .waitingForDrain
                upstreamHandler?.whenWritesDrained { self.startSplice() }
            }
        case .upstream: clientHandler?.flush()
        }
    }

    func writabilityChanged(_ side: Side, writable: Bool) {
        guard writable else { return }
        pump(side)
        switch side {
        case .client: upstreamHandler?.resumeReading()
        case .upstream: clientHandler?.resumeReading()
        }
    }

    func closed(_ side: Side) {
        if case .running(let transfer) = splice { transfer.abort() }
        switch side {
        case .client:
            guard clientOpen else { return }
            clientOpen = false
            upstreamHandler?.close()
        case .upstream:
            guard upstreamOpen else { return }
            upstreamOpen = false
            if toClient.queue.isEmpty {
                clientHandler?.closeAfterPendingWrites()
            } else {
                closeClientWhenDrained = true
            }
        }
        if !clientOpen && (!upstreamOpen || !upstreamConnected) {
            finish()
        }
    }

    private func finish() {
        // Closing one side from `closed(_:)` can close the other synchronously (re-entering
        // `closed(_:)`), so both calls may get here: count the connection once.
        guard !finished else { return }
        finished = true
        if case .running(let transfer) = splice { transfer.abort() }
        shared.connectionClosed()
        // Break the handler ↔ connection cycles.
        clientHandler?.connection = nil
        upstreamHandler?.connection = nil
        clientHandler = nil
        upstreamHandler = nil
    }

    // MARK: Requests

    private func handle(_ event: HTTPRequestSniffer.Event) {
        switch event {
        case .head(let head, let raw):
            requestCounter += 1
            startRequest(head, raw: raw)
        case .body(let bytes):
            if case .forward = mode { send(bytes, to: .upstream) }
        case .end:
            if case .respondAtEnd(let response, let service, let isHead, let close) = mode {
                respond(response, service: service, isHead: isHead, close: close)
            }
        case .passthrough(let bytes):
            if case .forward = mode { send(bytes, to: .upstream) }
        }
    }

    private func startRequest(_ head: HTTPRequestSniffer.Head, raw: ByteBuffer) {
        if case .discard = mode { return }
        pace = nil
        mode = .forward
        let request = AWSRequestClassifier.classify(method: head.method, uri: head.uri, headers: head.headers)
        let decision = shared.decide(request)
        switch decision?.action {
        case .respond(let response)?:
            if head.expectContinue {
                // The client waits for 100 Continue before sending the body: answer at once,
                // close, and drop whatever body it sends anyway.
                mode = .discard
                respond(response, service: request.service, isHead: head.method == "HEAD", close: true)
            } else {
                mode = .respondAtEnd(response, request.service, isHead: head.method == "HEAD", close: head.connectionClose)
                if head.contentLength == nil && !head.chunked {
                    respond(response, service: request.service, isHead: head.method == "HEAD", close: head.connectionClose)
                }
            }
            return
        case .reset?:
            reset()
            return
        case .hang?:
            mode = .discard
            return
        case .delay(let delay)?:
            let until = NIODeadline.now() + .nanoseconds(Self.nanoseconds(delay))
            toUpstream.resumeAt = max(toUpstream.resumeAt ?? until, until)
        case .limitBandwidth(let rate)?:
            pace = .bandwidth(bytesPerSecond: max(1, rate))
        case .slice(let bytes, let delay)?:
            pace = .slice(bytes: max(1, bytes), delay: .nanoseconds(Self.nanoseconds(delay)))
        case .failTask?, .crashTask?, .failDelivery?, .duplicate?, nil:
            break  // not network faults: forward
        }
        send(raw, to: .upstream)
    }

    private func respond(_ response: FaultErrorResponse, service: FaultService, isHead: Bool, close: Bool) {
        if case .respondAtEnd = mode { mode = .forward }
        let requestId = "FAULT\(connectionId)X\(requestCounter)"
        let bytes = response.httpResponse(for: service, requestId: requestId, isHead: isHead, close: close)
        var buffer = ByteBufferAllocator().buffer(capacity: bytes.count)
        buffer.writeBytes(bytes)
        guard let client = clientHandler else { return }
        if close {
            mode = .discard
            client.writeThenHalfClose(buffer, gracePeriod: shared.configuration.closeGracePeriod)
        } else {
            client.write(buffer, flush: true)
        }
    }

    private func reset() {
        mode = .discard
        clientHandler?.reset()
        upstreamHandler?.close()
    }

    // MARK: Zero-copy bodies

    /// Marks the current body for splicing when it is forwarded as is (no fault, no pacing, no
    /// delay, nothing queued) and large enough to be worth a transfer thread.
    private func considerSplice() {
        guard splice.isIdle || { if case .pending = splice { return true } else { return false } }() else { return }
        let configuration = shared.configuration
        guard configuration.zeroCopy, SpliceTransfer.isAvailable, case .forward = mode, pace == nil,
              toUpstream.queue.isEmpty, toUpstream.resumeAt.map({ $0 <= .now() }) ?? true, upstreamConnected, upstreamOpen, clientOpen,
              let remaining = sniffer.fixedBodyRemaining, remaining >= configuration.spliceThreshold
        else {
            splice = .idle
            return
        }
        if descriptorsLookedUp && descriptors == nil {
            splice = .idle
            return
        }
        splice = .pending
    }

    private func startSplice() {
        guard case .waitingForDrain = splice else { return }
        if !descriptorsLookedUp {
            descriptorsLookedUp = true
            if let client = clientHandler?.channel, let upstream = upstreamHandler?.channel,
               let clientFD = SocketDescriptorLookup.find(local: client.localAddress, remote: client.remoteAddress),
               let upstreamFD = SocketDescriptorLookup.find(local: upstream.localAddress, remote: upstream.remoteAddress)
            {
                descriptors = (clientFD, upstreamFD)
            }
        }
        guard clientOpen, upstreamOpen, toUpstream.queue.isEmpty, let descriptors, let remaining = sniffer.fixedBodyRemaining, remaining > 0,
              let transfer = SpliceTransfer(source: descriptors.client, destination: descriptors.upstream, count: remaining)
        else {
            splice = .idle
            clientHandler?.resumeReading()
            return
        }
        splice = .running(transfer)
        let connection = NIOLoopBound(self, eventLoop: eventLoop)
        let eventLoop = self.eventLoop
        transfer.start { outcome in
            eventLoop.execute { connection.value.spliceEnded(transfer, outcome) }
        }
    }

    private func spliceEnded(_ transfer: SpliceTransfer, _ outcome: SpliceTransfer.Outcome) {
        guard case .running(let current) = splice, current === transfer else { return }
        splice = .idle
        let moved = transfer.moved.load(ordering: .relaxed)
        shared.bytesFromClients.add(moved, ordering: .relaxed)
        shared.splicedBytes.add(moved, ordering: .relaxed)
        guard outcome == .done else {
            // The body was cut: nothing sensible can follow on this connection. A close already
            // under way (either side closed) finishes on its own.
            if clientOpen && upstreamOpen { closeBoth() }
            return
        }
        shared.splicedBodies.add(1, ordering: .relaxed)
        sniffer.skipFixedBody(moved) { event in self.handle(event) }
        clientHandler?.resumeReading()
    }

    private func closeBoth() {
        if case .running(let transfer) = splice { transfer.abort() }
        clientHandler?.close()
        upstreamHandler?.close()
    }

    // MARK: Forwarding with pacing

    private func send(_ buffer: ByteBuffer, to side: Side) {
        guard buffer.readableBytes > 0 else { return }
        let now = NIODeadline.now()
        let handler = side == .upstream ? upstreamHandler : clientHandler
        let outbox = side == .upstream ? toUpstream : toClient
        if outbox.queue.isEmpty, pace == nil, outbox.resumeAt.map({ $0 <= now }) ?? true, let handler, side == .client || upstreamConnected {
            handler.write(buffer, flush: false)
            return
        }
        withOutbox(side) { outbox in
            outbox.queue.append(buffer)
            outbox.bytes += buffer.readableBytes
        }
        pump(side)
    }

    private func withOutbox<T>(_ side: Side, _ body: (inout Outbox) -> T) -> T {
        switch side {
        case .upstream: return body(&toUpstream)
        case .client: return body(&toClient)
        }
    }

    /// Writes queued bytes to `side` as pacing, delays and writability allow.
    private func pump(_ side: Side) {
        guard let handler = side == .upstream ? upstreamHandler : clientHandler else { return }
        if side == .upstream && !upstreamConnected { return }
        var wrote = false
        // Set when the loop stops because the pace says "not before": the pump must then run
        // again at that deadline, even if it has passed by the time the loop is left (checking
        // against a later `now` there lost the wake-up on a loaded machine and stalled the transfer).
        var pacedUntil: NIODeadline?
        while true {
            let now = NIODeadline.now()
            let step: (ByteBuffer, TimeAmount?)? = withOutbox(side) { outbox in
                guard !outbox.pumpScheduled, var first = outbox.queue.first else { return nil }
                if let resumeAt = outbox.resumeAt, resumeAt > now {
                    pacedUntil = resumeAt
                    return nil
                }
                guard handler.isWritable else { return nil }
                var chunk: ByteBuffer
                var delay: TimeAmount?
                switch pace {
                case .bandwidth(let rate)?:
                    let size = max(1, min(first.readableBytes, min(64 << 10, rate / 50)))
                    chunk = first.readSlice(length: size)!
                    delay = .nanoseconds(Int64(Double(size) / Double(rate) * 1e9))
                case .slice(let bytes, let sliceDelay)?:
                    chunk = first.readSlice(length: min(bytes, first.readableBytes))!
                    delay = sliceDelay
                case nil:
                    chunk = first
                    first.moveReaderIndex(forwardBy: first.readableBytes)
                }
                if first.readableBytes == 0 {
                    outbox.queue.removeFirst()
                } else {
                    outbox.queue[outbox.queue.startIndex] = first
                }
                outbox.bytes -= chunk.readableBytes
                outbox.resumeAt = delay.map { now + $0 }
                return (chunk, delay)
            }
            guard let (chunk, _) = step else { break }
            handler.write(chunk, flush: false)
            wrote = true
        }
        if wrote { handler.flush() }
        let (empty, scheduled) = withOutbox(side) { ($0.queue.isEmpty, $0.pumpScheduled) }
        if !empty, let pacedUntil, !scheduled {
            withOutbox(side) { $0.pumpScheduled = true }
            eventLoop.assumeIsolatedUnsafeUnchecked().scheduleTask(deadline: pacedUntil) {
                self.withOutbox(side) { $0.pumpScheduled = false }
                self.pump(side)
            }
        }
        if empty {
            if side == .client && closeClientWhenDrained {
                clientHandler?.closeAfterPendingWrites()
                return
            }
            // The other side may be read again.
            switch side {
            case .upstream: clientHandler?.resumeReading()
            case .client: upstreamHandler?.resumeReading()
            }
        }
    }

    static func nanoseconds(_ duration: Duration) -> Int64 {
        let (s, atto) = duration.components
        return s * 1_000_000_000 + atto / 1_000_000_000
    }
}

/// One side's channel handler: hands reads to the connection and holds `read()` while the
/// connection says the other side cannot take more.
final class ProxySideHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let side: ProxyConnection.Side
    var connection: ProxyConnection?
    private var context: ChannelHandlerContext?
    private var readPending = false
    private var closing = false

    init(side: ProxyConnection.Side, connection: ProxyConnection) {
        self.side = side
        self.connection = connection
    }

    var isWritable: Bool { context?.channel.isWritable ?? false }

    var channel: (any Channel)? { context?.channel }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        switch side {
        case .client: connection?.attachClient(self)
        case .upstream: connection?.attachUpstream(self)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        if side == .client { connection?.connectUpstream() }
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        connection?.received(unwrapInboundIn(data), from: side)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        connection?.readComplete(from: side)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        connection?.writabilityChanged(side, writable: context.channel.isWritable)
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        connection?.closed(side)
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed {
            // The peer half-closed: treat as closed (HTTP does not need half-open sockets).
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    func read(context: ChannelHandlerContext) {
        if connection?.mayRead(side) ?? true {
            context.read()
        } else {
            readPending = true
        }
    }

    // MARK: Called by the connection

    func resumeReading() {
        guard readPending, let context, connection?.mayRead(side) ?? true else { return }
        readPending = false
        context.read()
    }

    func write(_ buffer: ByteBuffer, flush: Bool) {
        guard let context, !closing else { return }
        if flush {
            context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
        } else {
            context.write(wrapOutboundOut(buffer), promise: nil)
        }
    }

    func flush() {
        context?.flush()
    }

    /// Calls `body` (on the event loop) once every write so far has reached the socket; never
    /// when the handler is gone or closing.
    func whenWritesDrained(_ body: @escaping () -> Void) {
        guard let context, !closing else { return }
        context.writeAndFlush(wrapOutboundOut(ByteBuffer())).assumeIsolatedUnsafeUnchecked().whenComplete { result in
            if case .success = result { body() }
        }
    }

    func close() {
        guard let context, !closing else { return }
        closing = true
        context.flush()
        context.close(promise: nil)
    }

    /// Closes once every write so far has reached the socket (a plain close would fail the
    /// writes still queued in the channel, cutting off the end of an answer).
    func closeAfterPendingWrites() {
        guard let context, !closing else { return }
        closing = true
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(ByteBuffer())).assumeIsolatedUnsafeUnchecked().whenComplete { _ in
            channel.close(promise: nil)
        }
    }

    /// Writes `buffer`, then half-closes (FIN) and keeps reading (and dropping) what the peer
    /// still sends until it closes or `gracePeriod` passes, so the peer sees the whole answer
    /// rather than a reset.
    func writeThenHalfClose(_ buffer: ByteBuffer, gracePeriod: TimeAmount) {
        guard let context, !closing else { return }
        closing = true
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(buffer)).assumeIsolatedUnsafeUnchecked().whenComplete { _ in
            channel.close(mode: .output, promise: nil)
        }
        channel.eventLoop.assumeIsolatedUnsafeUnchecked().scheduleTask(in: gracePeriod) {
            channel.close(promise: nil)
        }
        // Keep reading so the peer's late bytes are drained, not left to trigger a reset.
        readPending = false
        context.read()
    }

    /// Closes with SO_LINGER 0: the kernel sends RST instead of FIN.
    func reset() {
        guard let context, !closing else { return }
        closing = true
        let channel = context.channel
        // On the event loop the option is set synchronously, before the close.
        _ = (channel as? any SocketOptionProvider)?.setSoLinger(linger(l_onoff: 1, l_linger: 0))
        channel.close(promise: nil)
    }
}
