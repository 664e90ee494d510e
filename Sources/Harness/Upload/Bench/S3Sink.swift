import AWSWire
import Crypto
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// A minimal S3 endpoint that stores nothing: it accepts CreateMultipartUpload, UploadPart,
/// CompleteMultipartUpload, AbortMultipartUpload, ListParts, PutObject and bucket creation,
/// discards the bytes and answers with plausible XML. It exists so that upload clients can be
/// compared against a server that is not the bottleneck (moto_server caps any client near
/// 110 MB/s).
///
/// It still checks what it can, cheaply, so that a verifying client gets true answers:
/// - `x-amz-checksum-crc32c`: the CRC32C of the received bytes is computed (hardware CRC32C)
///   and echoed; a mismatch is answered `400 BadDigest`. Other `x-amz-checksum-*` headers
///   (awscli sends CRC32) are echoed as sent.
/// - `Content-MD5`: the MD5 is computed, a mismatch is `400 BadDigest`, and the part ETag is the
///   hex MD5 (so md5-of-md5s multipart ETags are right too). With `verifyContentMD5: false` the
///   sent MD5 is trusted and only echoed as the ETag (MD5 costs ~2 CPU s/GiB here, which would
///   make the sink the bottleneck for clients that send it, such as s5cmd).
/// - CompleteMultipartUpload returns the composite CRC32C (`base64-N`) of the listed parts for
///   uploads created with `x-amz-checksum-algorithm: CRC32C`.
///
/// No authentication (signatures are not checked), no objects to read back (GET/HEAD of an
/// object is 404).
package final class S3Sink: Sendable {
    /// Requests and bytes seen, by operation.
    package struct Statistics: Sendable, Hashable {
        package var requests: [String: Int] = [:]
        package var bodyBytes = 0
        package var badDigests = 0
    }

    /// The bound port on 127.0.0.1.
    package let port: Int
    package var endpoint: String { "http://127.0.0.1:\(self.port)" }
    private let channel: any Channel
    let store: SinkStore

    private init(port: Int, channel: any Channel, store: SinkStore) {
        self.port = port
        self.channel = channel
        self.store = store
    }

    package var statistics: Statistics { self.store.state.withLock { $0.statistics } }

    /// Runs `body` with a sink listening on 127.0.0.1:`port` (0: any free port); the sink is
    /// closed on return, throw or cancellation.
    package static func withSink<T>(
        port: Int = 0,
        verifyContentMD5: Bool = true,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        _ body: (S3Sink) async throws -> T
    ) async throws -> T {
        let store = SinkStore(verifyContentMD5: verifyContentMD5)
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.recvAllocator, value: AdaptiveRecvByteBufferAllocator(minimum: 64 << 10, initial: 256 << 10, maximum: 1 << 20))
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(SinkHandler(store: store))
                }
            }
            .bind(host: "127.0.0.1", port: port)
            .get()
        guard let bound = channel.localAddress?.port else {
            try? await channel.close()
            throw UploadError.invalidConfiguration("the S3 sink could not read its bound port")
        }
        let sink = S3Sink(port: bound, channel: channel, store: store)
        do {
            let result = try await body(sink)
            try? await channel.close()
            return result
        } catch {
            try? await channel.close()
            throw error
        }
    }
}

/// In-progress uploads: part checksums only (a few bytes per part).
final class SinkStore: Sendable {
    struct Part {
        var crc32c: UInt32?
        var md5: [UInt8]?
        var size: Int
    }

    struct Upload {
        var key: String
        var crc32c: Bool
        var parts: [Int: Part] = [:]
    }

    struct State {
        var nextId = 0
        var uploads: [String: Upload] = [:]
        var statistics = S3Sink.Statistics()
    }

    let state = Locked(State())
    let verifyContentMD5: Bool

    init(verifyContentMD5: Bool) {
        self.verifyContentMD5 = verifyContentMD5
    }
}

/// One connection's request handling. Bodies are checksummed chunk by chunk and dropped.
private final class SinkHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private enum Operation: String {
        case createMultipartUpload = "CreateMultipartUpload"
        case uploadPart = "UploadPart"
        case completeMultipartUpload = "CompleteMultipartUpload"
        case abortMultipartUpload = "AbortMultipartUpload"
        case listParts = "ListParts"
        case listMultipartUploads = "ListMultipartUploads"
        case putObject = "PutObject"
        case createBucket = "CreateBucket"
        case headBucket = "HeadBucket"
        case headObject = "HeadObject"
        case getObject = "GetObject"
        case deleteObject = "DeleteObject"
        case listObjects = "ListObjects"
        case other = "Other"
    }

    private struct Request {
        var operation: Operation
        var head: HTTPRequestHead
        var bucket: String
        var key: String
        var query: [String: String]
        var crc32c: CRC32C?
        var sentCRC32C: String?
        var md5: Insecure.MD5?
        var sentMD5: String?
        var bodyBytes = 0
        /// Kept only for CompleteMultipartUpload (a small XML document).
        var document: ByteBuffer?
    }

    private let store: SinkStore
    private var request: Request?

    init(store: SinkStore) {
        self.store = store
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch self.unwrapInboundIn(data) {
        case .head(let head):
            self.request = Self.classify(head, verifyContentMD5: self.store.verifyContentMD5)
            if head.headers.first(name: "expect")?.lowercased() == "100-continue" {
                context.writeAndFlush(self.wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .continue))), promise: nil)
            }
        case .body(let buffer):
            guard var request = self.request else { return }
            self.request = nil  // keep the state uniquely referenced while mutating
            request.bodyBytes += buffer.readableBytes
            if request.crc32c != nil { request.crc32c!.update(buffer) }
            if request.md5 != nil { buffer.withUnsafeReadableBytes { request.md5!.update(bufferPointer: $0) } }
            if request.operation == .completeMultipartUpload, (request.document?.readableBytes ?? 0) < 4 << 20 {
                var document = request.document ?? context.channel.allocator.buffer(capacity: buffer.readableBytes)
                var copy = buffer
                document.writeBuffer(&copy)
                request.document = document
            }
            self.request = request
        case .end:
            guard let request = self.request else { return }
            self.request = nil
            let (status, headers, body) = self.respond(to: request)
            self.write(context: context, version: request.head.version, keepAlive: request.head.isKeepAlive, status: status, headers: headers, body: body)
        }
    }

    // MARK: Routing

    private static func classify(_ head: HTTPRequestHead, verifyContentMD5: Bool) -> Request {
        let uri = head.uri
        let pathPart: Substring
        var query: [String: String] = [:]
        if let q = uri.firstIndex(of: "?") {
            pathPart = uri[..<q]
            for item in uri[uri.index(after: q)...].split(separator: "&") {
                let pair = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                let name = String(pair[0]).removingPercentEncoding ?? String(pair[0])
                let value = pair.count > 1 ? (String(pair[1]).removingPercentEncoding ?? String(pair[1])) : ""
                query[name] = value
            }
        } else {
            pathPart = Substring(uri)
        }
        let trimmed = pathPart.drop { $0 == "/" }
        let slash = trimmed.firstIndex(of: "/")
        let bucket = String(slash.map { trimmed[..<$0] } ?? trimmed)
        let key = slash.map { String(trimmed[trimmed.index(after: $0)...]).removingPercentEncoding ?? "" } ?? ""

        let operation: Operation
        switch head.method {
        case .POST where query["uploads"] != nil: operation = .createMultipartUpload
        case .POST where query["uploadId"] != nil: operation = .completeMultipartUpload
        case .PUT where query["partNumber"] != nil && query["uploadId"] != nil: operation = .uploadPart
        case .PUT where key.isEmpty: operation = .createBucket
        case .PUT: operation = .putObject
        case .DELETE where query["uploadId"] != nil: operation = .abortMultipartUpload
        case .DELETE: operation = .deleteObject
        case .GET where query["uploadId"] != nil: operation = .listParts
        case .GET where query["uploads"] != nil: operation = .listMultipartUploads
        case .GET where key.isEmpty: operation = .listObjects
        case .GET: operation = .getObject
        case .HEAD where key.isEmpty: operation = .headBucket
        case .HEAD: operation = .headObject
        default: operation = .other
        }
        var request = Request(operation: operation, head: head, bucket: bucket, key: key, query: query)
        if operation == .uploadPart || operation == .putObject {
            if let sent = head.headers.first(name: "x-amz-checksum-crc32c") {
                request.sentCRC32C = sent
                request.crc32c = CRC32C()
            }
            if let sent = head.headers.first(name: "content-md5") {
                request.sentMD5 = sent
                if verifyContentMD5 { request.md5 = Insecure.MD5() }
            }
        }
        return request
    }

    private func respond(to request: Request) -> (HTTPResponseStatus, [(String, String)], String) {
        self.store.state.withLock { state in
            state.statistics.requests[request.operation.rawValue, default: 0] += 1
            state.statistics.bodyBytes += request.bodyBytes
            let (status, headers, body) = Self.respond(to: request, state: &state)
            if status == .badRequest, body.contains("BadDigest") { state.statistics.badDigests += 1 }
            return (status, headers, body)
        }
    }

    private static func respond(to request: Request, state: inout SinkStore.State) -> (HTTPResponseStatus, [(String, String)], String) {
        let xml = [("Content-Type", "application/xml")]
        switch request.operation {
        case .createMultipartUpload:
            state.nextId += 1
            let id = "sink-\(state.nextId)-\(UInt32.random(in: 0...UInt32.max))"
            let crc = request.head.headers.first(name: "x-amz-checksum-algorithm")?.uppercased() == "CRC32C"
            state.uploads[id] = SinkStore.Upload(key: request.key, crc32c: crc)
            var headers = xml
            if crc { headers.append(("x-amz-checksum-algorithm", "CRC32C")) }
            return (.ok, headers, """
                <?xml version="1.0" encoding="UTF-8"?>
                <InitiateMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Bucket>\(Self.escape(request.bucket))</Bucket><Key>\(Self.escape(request.key))</Key><UploadId>\(id)</UploadId></InitiateMultipartUploadResult>
                """)

        case .uploadPart, .putObject:
            var headers: [(String, String)] = []
            let verified = Self.verifyBody(request, headers: &headers)
            if let error = verified.error { return error }
            headers.append(("ETag", "\"\(verified.eTag)\""))
            if request.operation == .uploadPart {
                guard let id = request.query["uploadId"], state.uploads[id] != nil,
                      let number = request.query["partNumber"].flatMap(Int.init), (1...10_000).contains(number)
                else {
                    return Self.error(.notFound, "NoSuchUpload", "The specified upload does not exist.")
                }
                state.uploads[id]!.parts[number] = SinkStore.Part(crc32c: verified.crc32c?.value, md5: verified.md5, size: request.bodyBytes)
            }
            return (.ok, headers, "")

        case .completeMultipartUpload:
            guard let id = request.query["uploadId"], let upload = state.uploads[id] else {
                return Self.error(.notFound, "NoSuchUpload", "The specified upload does not exist.")
            }
            let numbers = Self.partNumbers(in: request.document)
            guard !numbers.isEmpty else {
                return Self.error(.badRequest, "MalformedXML", "The XML you provided was not well-formed.")
            }
            var crcs: [CRC32C] = []
            var md5 = Insecure.MD5()
            var allMD5 = true
            for number in numbers {
                guard let part = upload.parts[number] else {
                    return Self.error(.badRequest, "InvalidPart", "Part \(number) was not uploaded.")
                }
                if let value = part.crc32c { crcs.append(CRC32C(value: value)) }
                if let digest = part.md5 { md5.update(data: digest) } else { allMD5 = false }
            }
            state.uploads[id] = nil
            let eTag: String
            if allMD5 {
                eTag = Hex.encode(md5.finalize()) + "-\(numbers.count)"
            } else {
                eTag = Hex.encode(Insecure.MD5.hash(data: Array(CRC32C.composite(parts: crcs).utf8))) + "-\(numbers.count)"
            }
            var checksum = ""
            if upload.crc32c, crcs.count == numbers.count {
                checksum = "<ChecksumCRC32C>\(CRC32C.composite(parts: crcs))</ChecksumCRC32C><ChecksumType>COMPOSITE</ChecksumType>"
            }
            return (.ok, xml, """
                <?xml version="1.0" encoding="UTF-8"?>
                <CompleteMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Location>http://127.0.0.1/\(Self.escape(request.bucket))/\(Self.escape(request.key))</Location><Bucket>\(Self.escape(request.bucket))</Bucket><Key>\(Self.escape(request.key))</Key><ETag>&quot;\(eTag)&quot;</ETag>\(checksum)</CompleteMultipartUploadResult>
                """)

        case .abortMultipartUpload:
            guard let id = request.query["uploadId"], state.uploads.removeValue(forKey: id) != nil else {
                return Self.error(.notFound, "NoSuchUpload", "The specified upload does not exist.")
            }
            return (.noContent, [], "")

        case .listParts:
            guard let id = request.query["uploadId"], let upload = state.uploads[id] else {
                return Self.error(.notFound, "NoSuchUpload", "The specified upload does not exist.")
            }
            return (.ok, xml, """
                <?xml version="1.0" encoding="UTF-8"?>
                <ListPartsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Bucket>\(Self.escape(request.bucket))</Bucket><Key>\(Self.escape(upload.key))</Key><UploadId>\(id)</UploadId><IsTruncated>false</IsTruncated></ListPartsResult>
                """)

        case .listMultipartUploads:
            var uploads = ""
            for (id, upload) in state.uploads.sorted(by: { $0.key < $1.key }) {
                uploads += "<Upload><Key>\(Self.escape(upload.key))</Key><UploadId>\(id)</UploadId></Upload>"
            }
            return (.ok, xml, """
                <?xml version="1.0" encoding="UTF-8"?>
                <ListMultipartUploadsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Bucket>\(Self.escape(request.bucket))</Bucket><IsTruncated>false</IsTruncated>\(uploads)</ListMultipartUploadsResult>
                """)

        case .listObjects:
            return (.ok, xml, """
                <?xml version="1.0" encoding="UTF-8"?>
                <ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>\(Self.escape(request.bucket))</Name><KeyCount>0</KeyCount><IsTruncated>false</IsTruncated></ListBucketResult>
                """)

        case .createBucket, .headBucket:
            return (.ok, [], "")
        case .deleteObject:
            return (.noContent, [], "")
        case .headObject:
            return (.notFound, [], "")
        case .getObject:
            return Self.error(.notFound, "NoSuchKey", "The S3 sink stores nothing.")
        case .other:
            return Self.error(.notImplemented, "NotImplemented", "The S3 sink does not implement this request.")
        }
    }

    /// The part's checksums against the headers; an error response on a mismatch.
    private static func verifyBody(
        _ request: Request, headers: inout [(String, String)]
    ) -> (error: (HTTPResponseStatus, [(String, String)], String)?, eTag: String, crc32c: CRC32C?, md5: [UInt8]?) {
        var eTag = String(format: "%016x", request.bodyBytes)
        var digest: [UInt8]?
        if let crc = request.crc32c {
            guard crc.base64 == request.sentCRC32C else {
                return (Self.error(.badRequest, "BadDigest", "The CRC32C you specified did not match the calculated checksum."), "", nil, nil)
            }
            headers.append(("x-amz-checksum-crc32c", crc.base64))
            eTag = String(format: "%08x%016x", crc.value, request.bodyBytes)
        }
        if let md5 = request.md5 {
            let bytes = Array(md5.finalize())
            guard Data(bytes).base64EncodedString() == request.sentMD5 else {
                return (Self.error(.badRequest, "BadDigest", "The Content-MD5 you specified did not match what we received."), "", nil, nil)
            }
            digest = bytes
            eTag = Hex.encode(bytes)
        } else if let sent = request.sentMD5, let data = Data(base64Encoded: sent), data.count == 16 {
            // Not verified (see verifyContentMD5): trusted as sent.
            digest = Array(data)
            eTag = Hex.encode(data)
        }
        for header in request.head.headers where header.name.lowercased().hasPrefix("x-amz-checksum-") {
            let name = header.name.lowercased()
            if name != "x-amz-checksum-crc32c" && name != "x-amz-checksum-algorithm" && name != "x-amz-checksum-type" {
                headers.append((name, header.value))
            }
        }
        return (nil, eTag, request.crc32c, digest)
    }

    /// `<PartNumber>N</PartNumber>` values, in document order.
    private static func partNumbers(in document: ByteBuffer?) -> [Int] {
        guard let document else { return [] }
        let open = Array("<PartNumber>".utf8)
        var numbers: [Int] = []
        document.withUnsafeReadableBytes { bytes in
            var i = 0
            while i + open.count < bytes.count, numbers.count <= 10_000 {
                if bytes[i] == open[0], (0..<open.count).allSatisfy({ bytes[i + $0] == open[$0] }) {
                    var j = i + open.count
                    var n = 0
                    while j < bytes.count, bytes[j] >= 0x30, bytes[j] <= 0x39, n < 100_000 {
                        n = n * 10 + Int(bytes[j] - 0x30)
                        j += 1
                    }
                    numbers.append(n)
                    i = j
                } else {
                    i += 1
                }
            }
        }
        return numbers
    }

    private static func error(_ status: HTTPResponseStatus, _ code: String, _ message: String) -> (HTTPResponseStatus, [(String, String)], String) {
        (status, [("Content-Type", "application/xml")], """
            <?xml version="1.0" encoding="UTF-8"?>
            <Error><Code>\(code)</Code><Message>\(message)</Message><RequestId>sink</RequestId></Error>
            """)
    }

    private static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for c in text {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.append(c)
            }
        }
        return out
    }

    // MARK: Writing

    private func write(
        context: ChannelHandlerContext, version: HTTPVersion, keepAlive: Bool,
        status: HTTPResponseStatus, headers: [(String, String)], body: String
    ) {
        var head = HTTPResponseHead(version: version, status: status)
        head.headers.reserveCapacity(headers.count + 3)
        for (name, value) in headers { head.headers.add(name: name, value: value) }
        head.headers.add(name: "x-amz-request-id", value: "sink")
        head.headers.add(name: "Content-Length", value: String(body.utf8.count))
        if !keepAlive { head.headers.add(name: "Connection", value: "close") }
        context.write(self.wrapOutboundOut(.head(head)), promise: nil)
        if !body.isEmpty {
            var buffer = context.channel.allocator.buffer(capacity: body.utf8.count)
            buffer.writeString(body)
            context.write(self.wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        }
        if keepAlive {
            context.writeAndFlush(self.wrapOutboundOut(.end(nil)), promise: nil)
        } else {
            context.writeAndFlush(self.wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        }
    }
}
