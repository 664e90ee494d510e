import TestSupport
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

/// A loopback HTTP/1.1 server that answers requests from a script, in order, and records what
/// it received: for driving the S3 client through faults (503 SlowDown, a 200 carrying
/// `<Error>`, dropped connections, hangs) without a real S3.
final class ScriptedHTTPServer: Sendable {
    enum Reply: Sendable {
        case respond(status: Int, headers: [(String, String)] = [], body: String = "")
        /// Close the connection without answering.
        case dropConnection
        /// Never answer (the client's timeout must fire).
        case hang
    }

    struct Recorded: Sendable {
        var method: String
        var uri: String
        var headers: [(String, String)]
        var body: [UInt8]

        func header(_ name: String) -> String? {
            self.headers.first { $0.0.lowercased() == name.lowercased() }?.1
        }
    }

    private struct State {
        var script: [Reply]
        var requests: [Recorded] = []
    }

    private let state: NIOLockedValueBox<State>
    private let channel: any Channel
    let port: Int
    var endpoint: String { "http://127.0.0.1:\(self.port)" }

    /// Requests received so far.
    var requests: [Recorded] { self.state.withLockedValue { $0.requests } }

    private init(state: NIOLockedValueBox<State>, channel: any Channel, port: Int) {
        self.state = state
        self.channel = channel
        self.port = port
    }

    /// Binds 127.0.0.1 port 0. When the script runs out, requests get `500 ScriptExhausted`.
    static func start(script: [Reply]) async throws -> ScriptedHTTPServer {
        let state = NIOLockedValueBox(State(script: script))
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(Handler(state: state))
                }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        guard let port = channel.localAddress?.port else { throw FixtureError("no port") }
        return ScriptedHTTPServer(state: state, channel: channel, port: port)
    }

    func stop() async {
        try? await self.channel.close()
    }

    private final class Handler: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart

        let state: NIOLockedValueBox<State>
        var head: HTTPRequestHead?
        var body: [UInt8] = []

        init(state: NIOLockedValueBox<State>) { self.state = state }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch self.unwrapInboundIn(data) {
            case .head(let head):
                self.head = head
                self.body = []
            case .body(let buffer):
                self.body.append(contentsOf: buffer.readableBytesView)
            case .end:
                guard let head = self.head else { return }
                let recorded = Recorded(
                    method: head.method.rawValue, uri: head.uri,
                    headers: head.headers.map { ($0.name, $0.value) }, body: self.body
                )
                let reply: Reply = self.state.withLockedValue { state in
                    state.requests.append(recorded)
                    return state.script.isEmpty
                        ? .respond(status: 500, body: "<Error><Code>ScriptExhausted</Code></Error>")
                        : state.script.removeFirst()
                }
                switch reply {
                case .dropConnection:
                    context.close(promise: nil)
                case .hang:
                    break
                case .respond(let status, let headers, let body):
                    var h = HTTPHeaders(headers)
                    if head.method != .HEAD || !body.isEmpty {
                        h.replaceOrAdd(name: "content-length", value: String(body.utf8.count))
                    } else {
                        h.replaceOrAdd(name: "content-length", value: "0")
                    }
                    context.write(self.wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: HTTPResponseStatus(statusCode: status), headers: h))), promise: nil)
                    if head.method != .HEAD && !body.isEmpty {
                        context.write(self.wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: body)))), promise: nil)
                    }
                    context.writeAndFlush(self.wrapOutboundOut(.end(nil)), promise: nil)
                }
            }
        }
    }
}
