#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Faults
import Foundation
import HTTPTypes
import HummingbirdCore
import NIOCore

/// What the endpoint does with a request once the fault plan has been asked.
enum EndpointFaultOutcome: Sendable {
    /// Serve it normally; with pacing, its body and its answer move at most that fast.
    case serve(EndpointPacing?)
    /// Send this answer instead of serving the request.
    case answer(HTTPResponse, ResponseBody)
    /// The connection was reset or closed without an answer (reset, hang): do nothing more.
    case dropped
}

/// The endpoint-outage faults (and ledger throttling on the DynamoDB API) inside the emulator:
/// the S3 endpoint and the JSON services on the same port ask ``intercept(_:body:channel:)``
/// before doing anything else with a request.
extension EmulatorFaults {
    /// Names a request the way selectors do: JSON services by `X-Amz-Target`
    /// (``AWSRequestClassifier``), S3 from the bucket and key the endpoint resolved (path or
    /// virtual-hosted style) and the operation from method and sub-resources. nil for the
    /// emulator's own `/_csvstorm/…` paths, which faults never touch.
    static func classify(_ request: S3Request) -> FaultRequest? {
        if request.rawPath.hasPrefix("/_csvstorm/") { return nil }
        if let target = request.header("x-amz-target") {
            let named = AWSRequestClassifier.classify(method: request.method.rawValue, uri: "/", host: nil, amzTarget: target)
            if named.service != .s3 { return named }
        }
        let operation = AWSRequestClassifier.s3Operation(
            method: request.method.rawValue, hasBucket: request.bucket != nil, hasKey: request.key != nil, query: request.query,
            copySource: request.header("x-amz-copy-source") != nil
        )
        return FaultRequest(service: .s3, operation: operation, bucket: request.bucket, key: request.key)
    }

    /// Asks the active plan about `request` and applies what it decides: an error answer in the
    /// service's shape, a reset, a hang, a delay, or pacing. Without a plan: `.serve(nil)` at
    /// the cost of one lock.
    func intercept(_ request: S3Request, body: RequestBody, channel: any Channel) async -> EndpointFaultOutcome {
        guard self.active != nil, let named = Self.classify(request), let decision = self.decide(named, for: .wire) else { return .serve(nil) }
        switch decision.action {
        case .respond(let error):
            let expectsContinue = request.header("expect")?.lowercased() == "100-continue"
            if !expectsContinue {
                // Read what the client sends anyway, so the connection stays usable (as the proxy does).
                do {
                    for try await _ in body {}
                } catch {
                    return .dropped
                }
            }
            return .answer(
                Self.errorHead(error, service: named.service, request: request, close: expectsContinue),
                request.method == .head ? ResponseBody() : ResponseBody(byteBuffer: ByteBuffer(string: Self.errorBody(error, service: named.service, request: request)))
            )
        case .reset:
            await Self.reset(channel)
            return .dropped
        case .hang:
            await self.hang(on: channel)
            try? await channel.close()
            return .dropped
        case .delay(let delay):
            try? await Task.sleep(for: delay)
            return .serve(nil)
        case .limitBandwidth(let rate):
            return .serve(EndpointPacing(bytesPerSecond: rate))
        case .slice(let bytes, let delay):
            return .serve(EndpointPacing(sliceBytes: bytes, sliceDelay: delay))
        case .failTask, .crashTask, .failDelivery, .duplicate:
            // Pipeline-side actions: not for a request at the endpoint.
            return .serve(nil)
        }
    }

    static func errorBody(_ error: FaultErrorResponse, service: FaultService, request: S3Request) -> String {
        error.body(for: service, requestId: request.requestId, resource: service == .s3 ? request.rawPath : nil)
    }

    static func errorHead(_ error: FaultErrorResponse, service: FaultService, request: S3Request, close: Bool) -> HTTPResponse {
        var fields = HTTPFields()
        for (name, value) in error.headers(for: service, requestId: request.requestId) {
            if let field = HTTPField.Name(name) { fields[field] = value }
        }
        if service == .s3 {
            fields[HTTPField.Name("x-amz-id-2")!] = request.requestId
            fields[.server] = "AmazonS3"
        }
        fields[.date] = S3Time.rfc1123(Date())
        fields[.contentLength] = request.method == .head ? "0" : String(Self.errorBody(error, service: service, request: request).utf8.count)
        if close { fields[.connection] = "close" }
        return HTTPResponse(status: HTTPResponse.Status(code: error.status), headerFields: fields)
    }

    /// Closes with SO_LINGER 0, so the kernel sends RST instead of FIN.
    static func reset(_ channel: any Channel) async {
        if let provider = channel as? any SocketOptionProvider {
            _ = try? await provider.setSoLinger(linger(l_onoff: 1, l_linger: 0)).get()
        }
        try? await channel.close()
    }
}

/// How fast a paced request body and its answer move: `sliceBytes` at a time, each slice due
/// `sliceDelay` after the previous (for `bandwidth`, slices of about 1/20 s at the rate).
struct EndpointPacing: Sendable, Hashable {
    var sliceBytes: Int
    var sliceDelay: Duration

    init(sliceBytes: Int, sliceDelay: Duration) {
        self.sliceBytes = max(1, sliceBytes)
        self.sliceDelay = max(.zero, sliceDelay)
    }

    init(bytesPerSecond: Int) {
        let rate = max(1, bytesPerSecond)
        let slice = max(1, min(rate / 20, 256 * 1024))
        self.init(sliceBytes: slice, sliceDelay: .nanoseconds(Int64((Double(slice) / Double(rate) * 1e9).rounded())))
    }

    /// The request body, paced.
    func requestBody(_ body: RequestBody) -> RequestBody {
        RequestBody(asyncSequence: PacedBody(base: body, pacing: self))
    }

    /// The answer's body, paced (same length).
    func responseBody(_ body: ResponseBody) -> ResponseBody {
        ResponseBody(contentLength: body.contentLength) { writer in
            try await body.write(PacedResponseBodyWriter(parent: writer, schedule: PaceSchedule(pacing: self)))
        }
    }
}

/// When each slice is due, on a fixed schedule from the first one: a sleep that overshoots (a loaded
/// machine) is made up by the following slices moving sooner, so the average rate holds. The
/// schedule never falls more than `maximumBacklog` behind, so a stalled reader cannot earn a burst.
struct PaceSchedule: Sendable {
    static let maximumBacklog: Duration = .seconds(1)

    let pacing: EndpointPacing
    private let clock = ContinuousClock()
    private var next: ContinuousClock.Instant?

    init(pacing: EndpointPacing) { self.pacing = pacing }

    /// Waits until the next slice may move.
    mutating func waitForSlice() async throws {
        let now = self.clock.now
        let due = max(self.next ?? now, now - Self.maximumBacklog)
        if due > now { try await Task.sleep(until: due, clock: self.clock) }
        self.next = due + self.pacing.sliceDelay
    }
}

struct PacedResponseBodyWriter: ResponseBodyWriter {
    var parent: any ResponseBodyWriter
    var schedule: PaceSchedule

    mutating func write(_ buffer: ByteBuffer) async throws {
        var buffer = buffer
        while buffer.readableBytes > 0 {
            try await self.schedule.waitForSlice()
            let slice = buffer.readSlice(length: min(self.schedule.pacing.sliceBytes, buffer.readableBytes))!
            try await self.parent.write(slice)
        }
    }

    consuming func finish(_ trailingHeaders: HTTPFields?) async throws {
        try await self.parent.finish(trailingHeaders)
    }
}

/// A request body read at most one slice per slice delay.
struct PacedBody: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let base: RequestBody
    let pacing: EndpointPacing

    struct AsyncIterator: AsyncIteratorProtocol {
        var base: RequestBody.AsyncIterator
        var schedule: PaceSchedule
        var pending = ByteBuffer()

        mutating func next() async throws -> ByteBuffer? {
            if self.pending.readableBytes == 0 {
                guard let buffer = try await self.base.next() else { return nil }
                self.pending = buffer
            }
            try await self.schedule.waitForSlice()
            return self.pending.readSlice(length: Swift.min(self.schedule.pacing.sliceBytes, self.pending.readableBytes))
        }
    }

    func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: self.base.makeAsyncIterator(), schedule: PaceSchedule(pacing: self.pacing))
    }
}
