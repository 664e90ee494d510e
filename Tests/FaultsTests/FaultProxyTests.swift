import AWSWire
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import TestSupport
import Testing

@testable import Faults

/// The proxy end to end: a real HTTP client → the proxy → a tiny upstream, all on 127.0.0.1.
@Suite(.timeLimit(.minutes(2)))
struct FaultProxyTests {
    /// Runs `body` with an upstream and a proxy in front of it applying `plan` (YAML, optional).
    func withProxy<T>(plan: String? = nil, _ body: (FaultProxy, TestUpstream, HTTPClient) async throws -> T) async throws -> T {
        let injector = try plan.map { FaultInjector(plan: try FaultPlan(yaml: $0, file: "test-plan.yaml")) }
        return try await TestUpstream.withUpstream { upstream in
            var configuration = FaultProxy.Configuration(upstreamHost: "127.0.0.1", upstreamPort: upstream.port, injector: injector)
            configuration.closeGracePeriod = .milliseconds(500)
            return try await FaultProxy.withFaultProxy(configuration: configuration) { proxy in
                try await withTestHTTPClient { http in try await body(proxy, upstream, http) }
            }
        }
    }

    /// Deterministic pseudo-random bytes (8 at a time: debug builds are slow per byte).
    static func body(_ size: Int, seed: UInt8) -> ByteBuffer {
        TestUpstream.bytes(count: size, seed: UInt64(seed) &+ 1)
    }

    @Test func largeBodiesArriveIntactBothWaysOnAKeepAliveConnection() async throws {
        try await withProxy { proxy, upstream, http in
            let endpoint = "http://127.0.0.1:\(proxy.port)"
            var sentCRCs: [UInt32] = []
            for i in 0..<3 {
                let body = Self.body(24 << 20, seed: UInt8(i))
                sentCRCs.append(CRC32C.checksum(body).value)
                var request = HTTPClientRequest(url: "\(endpoint)/raw/in/big.csv?partNumber=\(i + 1)&uploadId=u1")
                request.method = .PUT
                request.body = .bytes(body)
                let response = try await http.execute(request, timeout: .seconds(60))
                #expect(response.status == .ok)
                #expect(response.headers.first(name: "x-received-bytes") == "\(24 << 20)")
                #expect(response.headers.first(name: "x-received-crc32c") == "\(sentCRCs[i])")
                _ = try await response.body.collect(upTo: 1024)
            }
            // A chunked body (length unknown to the client).
            let chunked = Self.body(5 << 20 + 17, seed: 9)
            var request = HTTPClientRequest(url: "\(endpoint)/raw/in/chunked.csv")
            request.method = .PUT
            let pieces = stride(from: 0, to: chunked.readableBytes, by: 700_001).map { chunked.getSlice(at: $0, length: min(700_001, chunked.readableBytes - $0))! }
            let stream = AsyncStream<ByteBuffer> { continuation in
                for piece in pieces { continuation.yield(piece) }
                continuation.finish()
            }
            request.body = .stream(stream, length: .unknown)
            let put = try await http.execute(request, timeout: .seconds(60))
            #expect(put.headers.first(name: "x-received-crc32c") == "\(CRC32C.checksum(chunked).value)")
            _ = try await put.body.collect(upTo: 1024)
            // A large answer.
            let get = try await http.execute(HTTPClientRequest(url: "\(endpoint)/raw/out.bin?size=\(32 << 20)"), timeout: .seconds(60))
            let downloaded = try await get.body.collect(upTo: 64 << 20)
            #expect(downloaded.readableBytes == 32 << 20)
            #expect(get.headers.first(name: "x-sent-crc32c") == "\(CRC32C.checksum(downloaded).value)")

            #expect(upstream.received.map(\.crc32c).prefix(3) == sentCRCs[...])
            let stats = proxy.statistics
            #expect(stats.requests["UploadPart"] == 3)
            #expect(stats.requests["PutObject"] == 1)
            #expect(stats.requests["GetObject"] == 1)
            #expect(stats.faultedRequests == 0)
        }
    }

    /// Large bodies forwarded as is move zero-copy (splice, Linux) on a keep-alive connection;
    /// the request after each one is still named and faulted, so the sniffer stays in step.
    @Test func largeBodiesMoveZeroCopyAndTheNextRequestIsStillNamedAndFaulted() async throws {
        let plan = "faults:\n  - {kind: endpoint-outage, window: always, effect: status-503, select: {operation: CompleteMultipartUpload}}\n"
        try await withProxy(plan: plan) { proxy, upstream, http in
            let endpoint = "http://127.0.0.1:\(proxy.port)"
            var sent: [UInt32] = []
            var total = 0
            for i in 0..<3 {
                let body = Self.body(16 << 20 + i * 1001, seed: UInt8(20 + i))
                total += body.readableBytes
                sent.append(CRC32C.checksum(body).value)
                var put = HTTPClientRequest(url: "\(endpoint)/raw/in/z.csv?partNumber=\(i + 1)&uploadId=u\(i)")
                put.method = .PUT
                put.body = .bytes(body)
                let response = try await http.execute(put, timeout: .seconds(60))
                #expect(response.status == .ok)
                #expect(response.headers.first(name: "x-received-bytes") == "\(body.readableBytes)")
                #expect(response.headers.first(name: "x-received-crc32c") == "\(sent[i])")
                _ = try await response.body.collect(upTo: 1024)
                var complete = HTTPClientRequest(url: "\(endpoint)/raw/in/z.csv?uploadId=u\(i)")
                complete.method = .POST
                complete.body = .bytes(ByteBuffer(string: "<CompleteMultipartUpload></CompleteMultipartUpload>"))
                let answer = try await http.execute(complete, timeout: .seconds(60))
                #expect(answer.status == .serviceUnavailable)
                _ = try await answer.body.collect(upTo: 64 << 10)
            }
            #expect(upstream.received.map(\.crc32c) == sent)
            let stats = proxy.statistics
            #expect(stats.requests["UploadPart"] == 3)
            #expect(stats.requests["CompleteMultipartUpload"] == 3)
            #expect(stats.faultedRequests == 3)
            #expect(stats.bytesFromClients > total)
            #if os(Linux)
            #expect(stats.splicedBodies >= 1, "\(stats)")
            #expect(stats.splicedBytes > 0 && stats.splicedBytes <= total, "\(stats)")
            #endif
        }
    }

    /// A client that goes away in the middle of a spliced body: the transfer ends, both
    /// connections close, nothing is left open (bounded wait, generous for loaded machines).
    @Test func aClientClosingMidBodyEndsTheTransferAndBothConnections() async throws {
        try await withProxy { proxy, _, _ in
            let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connect(host: "127.0.0.1", port: proxy.port) { channel in
                    channel.eventLoop.makeCompletedFuture { try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel) }
                }
            try await channel.executeThenClose { _, outbound in
                try await outbound.write(ByteBuffer(string: "PUT /raw/cut.csv HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: \(16 << 20)\r\n\r\n"))
                // 4 MiB of 16: the proxy splices part of it, then the client closes.
                for i in 0..<4 { try await outbound.write(Self.body(1 << 20, seed: UInt8(40 + i))) }
                try await Task.sleep(for: .milliseconds(200))
            }
            let clock = ContinuousClock()
            let deadline = clock.now + .seconds(30)
            while proxy.statistics.openConnections > 0 && clock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(proxy.statistics.openConnections == 0, "\(proxy.statistics)")
            #expect(proxy.statistics.connections == 1)
        }
    }

    /// The same traffic with zero-copy off: every byte passes through the proxy's buffers.
    @Test func zeroCopyCanBeTurnedOff() async throws {
        try await TestUpstream.withUpstream { upstream in
            var configuration = FaultProxy.Configuration(upstreamHost: "127.0.0.1", upstreamPort: upstream.port)
            configuration.zeroCopy = false
            try await FaultProxy.withFaultProxy(configuration: configuration) { proxy in
                try await withTestHTTPClient { http in
                    let body = Self.body(8 << 20, seed: 31)
                    var put = HTTPClientRequest(url: "http://127.0.0.1:\(proxy.port)/raw/in/c.csv")
                    put.method = .PUT
                    put.body = .bytes(body)
                    let response = try await http.execute(put, timeout: .seconds(60))
                    #expect(response.headers.first(name: "x-received-crc32c") == "\(CRC32C.checksum(body).value)")
                    _ = try await response.body.collect(upTo: 1024)
                }
                #expect(proxy.statistics.splicedBytes == 0)
            }
        }
    }

    @Test func anAnswerFollowedByTheUpstreamsCloseArrivesWhole() async throws {
        try await withProxy { proxy, _, http in
            for _ in 0..<3 {
                let get = try await http.execute(HTTPClientRequest(url: "http://127.0.0.1:\(proxy.port)/raw/k?close=1&size=\(16 << 20)"), timeout: .seconds(60))
                let body = try await get.body.collect(upTo: 32 << 20)
                #expect(body.readableBytes == 16 << 20)
                #expect(get.headers.first(name: "x-sent-crc32c") == "\(CRC32C.checksum(body).value)")
            }
        }
    }

    @Test func a503WindowIsSeenByS3ClientAsSlowDownAndRetried() async throws {
        let plan = """
            seed: 1
            faults:
              - kind: endpoint-outage
                window: always
                select: {service: s3, operation: PutObject, key: "in/*"}
                every: 2
                effect: status-503
            """
        try await withProxy(plan: plan) { proxy, upstream, http in
            let s3 = S3Client(
                httpClient: http, credentials: AWSCredentials(accessKeyId: "test", secretAccessKey: "test"),
                configuration: .init(endpoint: try S3Endpoint(url: "http://127.0.0.1:\(proxy.port)"), addressingStyle: .path)
            )
            let body = Self.body(1 << 20, seed: 3)
            // Matches 1 and 3 pass, match 2 (the first attempt of the second put) gets 503 and is retried.
            _ = try await s3.putObject(bucket: "raw", key: "in/a.csv", body: body)
            _ = try await s3.putObject(bucket: "raw", key: "in/b.csv", body: body)
            let snapshot = s3.retryStatistics.snapshot()
            #expect(snapshot.retries == 1)
            #expect(snapshot.failed == 0)
            #expect(upstream.received.count == 2, "the 503 was answered by the proxy, not forwarded")
            // Another key is not selected.
            _ = try await s3.putObject(bucket: "raw", key: "other/c.csv", body: body)
            #expect(upstream.received.count == 3)

            // The raw answer: S3's error XML, the connection still usable.
            var request = HTTPClientRequest(url: "http://127.0.0.1:\(proxy.port)/raw/in/d.csv")
            request.method = .PUT
            request.body = .bytes(body)
            let response = try await http.execute(request, timeout: .seconds(30))  // match 4: 503
            #expect(response.status == .serviceUnavailable)
            #expect(response.headers.first(name: "Content-Type") == "application/xml")
            let text = String(buffer: try await response.body.collect(upTo: 4096))
            #expect(text.contains("<Code>SlowDown</Code>"))
            #expect(text.contains("<Message>Please reduce your request rate.</Message>"))
            let records = proxy.configuration.injector!.records.filter { $0.event == .injected }
            #expect(records.count == 2)
            #expect(records.first?.operation == "PutObject")
            #expect(records.first?.key == "in/b.csv")
        }
    }

    @Test func anOutageForEveryAttemptFailsTheOperationWithTheServiceError() async throws {
        let plan = "faults:\n  - {kind: endpoint-outage, window: always, effect: status-500}\n"
        try await withProxy(plan: plan) { proxy, upstream, http in
            let s3 = S3Client(
                httpClient: http, credentials: AWSCredentials(accessKeyId: "test", secretAccessKey: "test"),
                configuration: .init(endpoint: try S3Endpoint(url: "http://127.0.0.1:\(proxy.port)"), addressingStyle: .path)
            )
            let error = await #expect(throws: AWSError.self) { try await s3.putObject(bucket: "raw", key: "x", body: ByteBuffer(string: "hello")) }
            #expect(error?.statusCode == 500)
            #expect(error?.code == .internalError)
            #expect(s3.retryStatistics.snapshot().attempts == 3)
            #expect(upstream.received.isEmpty)
        }
    }

    @Test func resetIsAConnectionErrorForTheClient() async throws {
        let plan = "faults:\n  - {kind: endpoint-outage, window: always, effect: reset, select: {operation: UploadPart}}\n"
        try await withProxy(plan: plan) { proxy, upstream, http in
            var request = HTTPClientRequest(url: "http://127.0.0.1:\(proxy.port)/raw/k?partNumber=1&uploadId=u")
            request.method = .PUT
            request.body = .bytes(Self.body(1 << 20, seed: 1))
            await #expect(throws: (any Error).self) { _ = try await http.execute(request, timeout: .seconds(10)) }
            #expect(upstream.received.isEmpty)
            // Other operations pass.
            let get = try await http.execute(HTTPClientRequest(url: "http://127.0.0.1:\(proxy.port)/raw/k?size=10"), timeout: .seconds(10))
            #expect(get.status == .ok)
            _ = try await get.body.collect(upTo: 100)
        }
    }

    @Test func latencyDelaysTheRequestByAtLeastItsAmount() async throws {
        let plan = "faults:\n  - {kind: endpoint-outage, window: always, effect: latency, latency: 400ms, jitter: 100ms, select: {operation: HeadObject}}\n"
        try await withProxy(plan: plan) { proxy, _, http in
            let clock = ContinuousClock()
            let url = "http://127.0.0.1:\(proxy.port)/raw/k"
            var head = HTTPClientRequest(url: url)
            head.method = .HEAD
            let slow = try await clock.measure {
                let response = try await http.execute(head, timeout: .seconds(10))
                _ = try await response.body.collect(upTo: 100)
            }
            #expect(slow >= .milliseconds(400))
            // Other operations are not delayed (checked by the records, not by a timing that a
            // loaded machine could stretch).
            let response = try await http.execute(HTTPClientRequest(url: url + "?size=1"), timeout: .seconds(10))
            _ = try await response.body.collect(upTo: 100)
            let injected = proxy.configuration.injector!.records.filter { $0.event == .injected }
            #expect(injected.map(\.operation) == ["HeadObject"])
            #expect(proxy.statistics.requests["GetObject"] == 1)
        }
    }

    @Test func hangNeverAnswers() async throws {
        let plan = "faults:\n  - {kind: endpoint-outage, window: always, effect: hang}\n"
        try await withProxy(plan: plan) { proxy, upstream, http in
            let request = HTTPClientRequest(url: "http://127.0.0.1:\(proxy.port)/raw/k")
            let error = await #expect(throws: HTTPClientError.self) { _ = try await http.execute(request, timeout: .milliseconds(500)) }
            #expect(error == .deadlineExceeded)
            #expect(upstream.received.isEmpty)
        }
    }

    @Test func bandwidthLimitsTheRateOfTheAnswer() async throws {
        let plan = "faults:\n  - {kind: endpoint-outage, window: always, effect: bandwidth, bytes-per-second: 2MiB, select: {operation: GetObject}}\n"
        try await withProxy(plan: plan) { proxy, _, http in
            let clock = ContinuousClock()
            let took = try await clock.measure {
                let response = try await http.execute(HTTPClientRequest(url: "http://127.0.0.1:\(proxy.port)/raw/k?size=\(1 << 20)"), timeout: .seconds(20))
                let body = try await response.body.collect(upTo: 2 << 20)
                #expect(body.readableBytes == 1 << 20)
            }
            #expect(took >= .milliseconds(450), "1 MiB at 2 MiB/s")
        }
    }

    @Test func slicingDeliversEverythingInSmallPieces() async throws {
        let plan = "faults:\n  - {kind: endpoint-outage, window: always, effect: slicing, slice-bytes: 64KiB, slice-delay: 20ms}\n"
        try await withProxy(plan: plan) { proxy, upstream, http in
            let body = Self.body(512 << 10, seed: 5)
            var request = HTTPClientRequest(url: "http://127.0.0.1:\(proxy.port)/raw/k")
            request.method = .PUT
            request.body = .bytes(body)
            let clock = ContinuousClock()
            let took = try await clock.measure {
                let response = try await http.execute(request, timeout: .seconds(20))
                #expect(response.headers.first(name: "x-received-crc32c") == "\(CRC32C.checksum(body).value)")
                _ = try await response.body.collect(upTo: 100)
            }
            #expect(took >= .milliseconds(140), "8 slices, 20 ms apart")
            #expect(upstream.received.count == 1)
        }
    }

    /// A client that waits for `100 Continue` gets the error at once, then a clean close.
    @Test func anErrorForAnExpectContinueRequestIsAnsweredAtOnceAndClosed() async throws {
        let plan = "faults:\n  - {kind: endpoint-outage, window: always, effect: status-503}\n"
        try await withProxy(plan: plan) { proxy, upstream, _ in
            let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connect(host: "127.0.0.1", port: proxy.port) { channel in
                    channel.eventLoop.makeCompletedFuture { try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel) }
                }
            let answer = try await channel.executeThenClose { inbound, outbound in
                try await outbound.write(ByteBuffer(string: "PUT /raw/k HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000000\r\nExpect: 100-continue\r\n\r\n"))
                var answer = ByteBuffer()
                for try await var chunk in inbound { answer.writeBuffer(&chunk) }  // until the proxy closes
                return String(buffer: answer)
            }
            #expect(answer.hasPrefix("HTTP/1.1 503 Service Unavailable\r\n"))
            #expect(answer.contains("Connection: close\r\n"))
            #expect(answer.hasSuffix("</Error>"))
            #expect(upstream.received.isEmpty)
        }
    }

    @Test func anUnreachableUpstreamClosesTheClient() async throws {
        // A port nothing listens on: bind one, note it, close it.
        let placeholder = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).get()
        let port = placeholder.localAddress!.port!
        try await placeholder.close()
        try await FaultProxy.withFaultProxy(configuration: .init(upstreamHost: "127.0.0.1", upstreamPort: port)) { proxy in
            _ = try await withTestHTTPClient { http in
                await #expect(throws: (any Error).self) {
                    _ = try await http.execute(HTTPClientRequest(url: "http://127.0.0.1:\(proxy.port)/x"), timeout: .seconds(10))
                }
            }
            #expect(proxy.statistics.upstreamConnectFailures >= 1)
        }
    }
}
