import TestSupport
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

@testable import Harness

/// An HTTP/1.1 proxy on 127.0.0.1 in front of a real S3 server (moto), which forwards every
/// request unless a rule says otherwise: answer an error, hang, forward and then drop the
/// connection, or forward and tamper with the answer. Deterministic fault injection for the
/// upload engine's failure paths; the S3 semantics stay moto's.
final class FaultProxy: Sendable {
    struct Request: Sendable {
        var method: String
        var uri: String
        var operation: String
        var query: [String: String]
        /// 1-based count of requests of this operation so far, this one included.
        var occurrence: Int
        var partNumber: Int? { self.query["partNumber"].flatMap(Int.init) }
    }

    enum Action: Sendable {
        case forward
        /// Answer with this status and an S3 error document (no forwarding).
        case respond(status: Int, code: String)
        /// Never answer (until the proxy shuts down or the client gives up).
        case hang
        /// Forward, then close the connection instead of answering.
        case forwardThenDrop
        /// Forward, and replace a response header.
        case forwardReplacingHeader(name: String, value: String)
    }

    let port: Int
    var endpoint: String { "http://127.0.0.1:\(self.port)" }
    private let counts = Locked([String: Int]())
    private let seen = Locked([Request]())
    private let waiters = Locked([(predicate: @Sendable (Request) -> Bool, continuation: CheckedContinuation<Void, Never>)]())

    private init(port: Int) {
        self.port = port
    }

    /// Requests seen so far.
    var requests: [Request] { self.seen.current }

    /// Returns once a request matching `predicate` has arrived (at once if one already has).
    func waitForRequest(where predicate: @escaping @Sendable (Request) -> Bool) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let already = self.waiters.withLock { waiters -> Bool in
                if self.seen.current.contains(where: predicate) { return true }
                waiters.append((predicate, continuation))
                return false
            }
            if already { continuation.resume() }
        }
    }

    private func record(_ head: HTTPRequestHead) -> Request {
        let operation = Self.operation(head)
        let occurrence = self.counts.withLock { counts -> Int in
            counts[operation.name, default: 0] += 1
            return counts[operation.name]!
        }
        let request = Request(method: head.method.rawValue, uri: head.uri, operation: operation.name, query: operation.query, occurrence: occurrence)
        let ready = self.waiters.withLock { waiters -> [CheckedContinuation<Void, Never>] in
            self.seen.withLock { $0.append(request) }
            var ready: [CheckedContinuation<Void, Never>] = []
            waiters.removeAll { waiter in
                guard waiter.predicate(request) else { return false }
                ready.append(waiter.continuation)
                return true
            }
            return ready
        }
        for continuation in ready { continuation.resume() }
        return request
    }

    static func operation(_ head: HTTPRequestHead) -> (name: String, query: [String: String]) {
        var query: [String: String] = [:]
        if let q = head.uri.firstIndex(of: "?") {
            for item in head.uri[head.uri.index(after: q)...].split(separator: "&") {
                let pair = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                query[String(pair[0])] = pair.count > 1 ? String(pair[1]).removingPercentEncoding : ""
            }
        }
        let name: String
        switch head.method {
        case .POST where query["uploads"] != nil: name = "CreateMultipartUpload"
        case .POST where query["uploadId"] != nil: name = "CompleteMultipartUpload"
        case .PUT where query["partNumber"] != nil: name = "UploadPart"
        case .DELETE where query["uploadId"] != nil: name = "AbortMultipartUpload"
        case .GET where query["uploadId"] != nil: name = "ListParts"
        case .GET where query["uploads"] != nil: name = "ListMultipartUploads"
        default: name = "\(head.method.rawValue)"
        }
        return (name, query)
    }

    /// Runs `body` with a proxy to `upstream` applying `rule`; the proxy is closed afterwards.
    static func withProxy<T: Sendable>(
        upstream: String,
        rule: @escaping @Sendable (Request) -> Action,
        _ body: @escaping @Sendable (FaultProxy) async throws -> T
    ) async throws -> T {
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: "127.0.0.1", port: 0) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    return try NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>(wrappingChannelSynchronously: channel)
                }
            }
        guard let port = server.channel.localAddress?.port else { throw FixtureError("the proxy has no port") }
        let proxy = FaultProxy(port: port)
        return try await withTestHTTPClient { http in
            try await withThrowingTaskGroup(of: T?.self) { group in
                group.addTask {
                    try await withThrowingDiscardingTaskGroup { connections in
                        try await server.executeThenClose { inbound in
                            for try await connection in inbound {
                                connections.addTask {
                                    try? await proxy.serve(connection, upstream: upstream, http: http, rule: rule)
                                }
                            }
                        }
                    }
                    return nil
                }
                group.addTask { try await body(proxy) }
                defer { group.cancelAll() }
                while let result = try await group.next() {
                    if let result { return result }
                }
                throw FixtureError("the proxy stopped before the test body finished")
            }
        }
    }

    private func serve(
        _ connection: NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>,
        upstream: String,
        http: HTTPClient,
        rule: @Sendable (Request) -> Action
    ) async throws {
        try await connection.executeThenClose { inbound, outbound in
            var head: HTTPRequestHead?
            var body = ByteBuffer()
            for try await part in inbound {
                switch part {
                case .head(let h):
                    head = h
                    body.clear()
                case .body(var chunk):
                    body.writeBuffer(&chunk)
                case .end:
                    guard let h = head else { continue }
                    let request = self.record(h)
                    switch rule(request) {
                    case .forward:
                        let (status, headers, answer) = try await Self.forward(h, body: body, upstream: upstream, http: http)
                        try await Self.write(outbound, version: h.version, status: status, headers: headers, body: answer)
                    case .respond(let status, let code):
                        var answer = ByteBuffer()
                        answer.writeString("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>\(code)</Code><Message>injected by the test proxy</Message><RequestId>proxy</RequestId></Error>")
                        try await Self.write(outbound, version: h.version, status: .init(statusCode: status), headers: [("Content-Type", "application/xml")], body: answer)
                    case .hang:
                        try await Task.sleep(for: .seconds(120))
                        return
                    case .forwardThenDrop:
                        _ = try await Self.forward(h, body: body, upstream: upstream, http: http)
                        return  // closes the connection without an answer
                    case .forwardReplacingHeader(let name, let value):
                        var (status, headers, answer) = try await Self.forward(h, body: body, upstream: upstream, http: http)
                        headers.removeAll { $0.0.lowercased() == name.lowercased() }
                        headers.append((name, value))
                        try await Self.write(outbound, version: h.version, status: status, headers: headers, body: answer)
                    }
                    head = nil
                }
            }
        }
    }

    private static func forward(
        _ head: HTTPRequestHead, body: ByteBuffer, upstream: String, http: HTTPClient
    ) async throws -> (HTTPResponseStatus, [(String, String)], ByteBuffer) {
        var request = HTTPClientRequest(url: upstream + head.uri)
        request.method = head.method
        let skipped: Set<String> = ["host", "content-length", "transfer-encoding", "connection", "expect"]
        for header in head.headers where !skipped.contains(header.name.lowercased()) {
            request.headers.add(name: header.name, value: header.value)
        }
        if body.readableBytes > 0 || head.method == .PUT || head.method == .POST {
            request.body = .bytes(body)
        }
        let response = try await http.execute(request, timeout: .seconds(60))
        let answer = try await response.body.collect(upTo: 64 << 20)
        let headers = response.headers
            .filter { !["content-length", "transfer-encoding", "connection"].contains($0.name.lowercased()) }
            .map { ($0.name, $0.value) }
        return (response.status, headers, answer)
    }

    private static func write(
        _ outbound: NIOAsyncChannelOutboundWriter<HTTPServerResponsePart>,
        version: HTTPVersion, status: HTTPResponseStatus, headers: [(String, String)], body: ByteBuffer
    ) async throws {
        var head = HTTPResponseHead(version: version, status: status)
        for (name, value) in headers { head.headers.add(name: name, value: value) }
        head.headers.add(name: "Content-Length", value: String(body.readableBytes))
        try await outbound.write(.head(head))
        if body.readableBytes > 0 { try await outbound.write(.body(.byteBuffer(body))) }
        try await outbound.write(.end(nil))
    }
}
