import AWSWire
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// A tiny HTTP/1.1 server on 127.0.0.1 standing in for S3 behind the proxy: it checksums every
/// request body (CRC32C) and answers `200` with the byte count and checksum in headers (and an
/// ETag, so S3Client's PutObject is satisfied); `GET …?size=N` answers N deterministic bytes.
final class TestUpstream: Sendable {
    struct Received: Sendable, Equatable {
        var method: String
        var uri: String
        var bytes: Int
        var crc32c: UInt32
    }

    let port: Int
    var endpoint: String { "http://127.0.0.1:\(port)" }
    private let seen: Mutex<[Received]>

    var received: [Received] { seen.withLock { $0 } }

    private init(port: Int) {
        self.port = port
        self.seen = Mutex([])
    }

    fileprivate func record(_ r: Received) { seen.withLock { $0.append(r) } }

    /// `count` deterministic pseudo-random bytes (xorshift, 8 bytes per step).
    static func bytes(count: Int, seed: UInt64) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: count) { raw in
            var x = seed | 1
            var offset = 0
            while offset < count {
                x ^= x << 13
                x ^= x >> 7
                x ^= x << 17
                withUnsafeBytes(of: x.littleEndian) { word in
                    let n = min(8, count - offset)
                    raw.baseAddress!.advanced(by: offset).copyMemory(from: word.baseAddress!, byteCount: n)
                }
                offset += 8
            }
            return count
        }
        return buffer
    }

    static func withUpstream<T>(_ body: (TestUpstream) async throws -> T) async throws -> T {
        let box = UpstreamBox()
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(UpstreamHandler(box: box))
                }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        let upstream = TestUpstream(port: channel.localAddress!.port!)
        box.upstream.withLock { $0 = upstream }
        do {
            let result = try await body(upstream)
            try? await channel.close()
            return result
        } catch {
            try? await channel.close()
            throw error
        }
    }
}

private final class UpstreamBox: Sendable {
    let upstream = Mutex<TestUpstream?>(nil)
}

private final class UpstreamHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let box: UpstreamBox
    var head: HTTPRequestHead?
    var crc = CRC32C()
    var bytes = 0

    init(box: UpstreamBox) { self.box = box }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h):
            head = h
            crc = CRC32C()
            bytes = 0
        case .body(let buffer):
            crc.update(buffer)
            bytes += buffer.readableBytes
        case .end:
            guard let head else { return }
            box.upstream.withLock { $0 }?.record(.init(method: head.method.rawValue, uri: head.uri, bytes: bytes, crc32c: crc.value))
            var response = HTTPResponseHead(version: head.version, status: .ok)
            if head.method == .GET, let sizeText = head.uri.split(separator: "size=").last, let size = Int(sizeText) {
                let content = TestUpstream.bytes(count: size, seed: 77)
                let sent = CRC32C.checksum(content)
                let chunks = stride(from: 0, to: size, by: 1 << 20).map { content.getSlice(at: $0, length: min(1 << 20, size - $0))! }
                response.headers.add(name: "Content-Length", value: "\(size)")
                response.headers.add(name: "x-sent-crc32c", value: "\(sent.value)")
                // Announced before the head goes out, so the client does not send its next request
                // on a connection that is about to close (it did: remoteConnectionClosed, now and then).
                if head.uri.contains("close=1") { response.headers.add(name: "Connection", value: "close") }
                context.write(wrapOutboundOut(.head(response)), promise: nil)
                for chunk in chunks { context.write(wrapOutboundOut(.body(.byteBuffer(chunk))), promise: nil) }
                let written = context.writeAndFlush(wrapOutboundOut(.end(nil)))
                if head.uri.contains("close=1") {
                    // Close as soon as the answer is handed to the kernel: the proxy must still deliver all of it.
                    let channel = context.channel
                    written.assumeIsolatedUnsafeUnchecked().whenComplete { _ in channel.close(promise: nil) }
                }
            } else {
                response.headers.add(name: "ETag", value: "\"0123456789abcdef\"")
                response.headers.add(name: "x-received-bytes", value: "\(bytes)")
                response.headers.add(name: "x-received-crc32c", value: "\(crc.value)")
                response.headers.add(name: "Content-Length", value: head.method == .HEAD ? "0" : "2")
                context.write(wrapOutboundOut(.head(response)), promise: nil)
                if head.method != .HEAD {
                    context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: "ok")))), promise: nil)
                }
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            }
            self.head = nil
        }
    }
}
