import AWSWire
import Foundation
import HTTPTypes
import HummingbirdCore
import Logging
import NIOCore
import Synchronization

/// The S3 REST face: authenticates, routes and answers one request at a time per connection.
///
/// Every handler first does what it can without the body (authentication, the bucket, the
/// upload, the part number…). Only when that succeeds does it ask for the body, so a client
/// that sent `Expect: 100-continue` (awscli and boto3 do for every PUT) gets `100 Continue`
/// only for a request that can succeed, and a final error otherwise (with `Connection: close`,
/// as the body was never sent).
struct S3Server: Sendable {
    let configuration: EmulatorConfiguration
    let store: MetadataStore
    let blobs: BlobStore
    let verifier: SigV4Verifier
    /// Called after an object version and its event are committed.
    let onObjectCreated: @Sendable () -> Void
    let requestIds = RequestIdGenerator()
    /// Bodies being read in large reads.
    var largeReads: LargeReads { self.configuration.largeReads }
    let logger: Logger
    /// DynamoDB, SQS and Step Functions (`POST /` with `X-Amz-Target`), when the pipeline runs.
    let jsonRouter: JSONProtocolRouter?
    /// `/_csvstorm/…`, when the pipeline runs.
    let control: PipelineControl?
    /// The fault plan in force (asked before every request) and `/_csvstorm/faults`.
    let faults: EmulatorFaults?
    let faultControl: FaultControl?

    init(
        configuration: EmulatorConfiguration,
        store: MetadataStore,
        blobs: BlobStore,
        jsonRouter: JSONProtocolRouter? = nil,
        control: PipelineControl? = nil,
        faults: EmulatorFaults? = nil,
        onObjectCreated: @escaping @Sendable () -> Void
    ) {
        self.configuration = configuration
        self.store = store
        self.blobs = blobs
        self.jsonRouter = jsonRouter
        self.control = control
        self.faults = faults
        self.faultControl = faults.map { FaultControl(faults: $0, credentials: configuration.credentials, pipeline: control?.pipeline) }
        self.onObjectCreated = onObjectCreated
        self.logger = configuration.logger
        let credentials = configuration.credentials
        self.verifier = SigV4Verifier(configuration: .init(mode: .s3)) { accessKeyId in
            accessKeyId == credentials.accessKeyId ? credentials.secretAccessKey : nil
        }
    }

    /// What a handler decided before reading the body.
    enum Plan: Sendable {
        case respond(S3Response)
        /// Read the body (after `100 Continue` if the client asked for it), then answer.
        case readBody(@Sendable (RequestBody) async throws -> S3Response)
    }

    // MARK: Entry point

    /// Bodies from this size on are read up to ``largeBodyAllocator``'s maximum at a time.
    static let largeBodyReads = 1 << 20
    /// NIO's adaptive allocator with a 256 KiB ceiling instead of 64 KiB.
    static let largeBodyAllocator = AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 65_536, maximum: 262_144)
    /// NIO's default.
    static let defaultAllocator = AdaptiveRecvByteBufferAllocator()

    func handle(_ request: Request, writer: consuming ResponseWriter, channel: any Channel) async throws {
        let requestId = self.requestIds.next()
        let source = channel.remoteAddress?.ipAddress ?? "127.0.0.1"
        let s3 = S3Request(head: request.head, requestId: requestId, sourceIPAddress: source)
        // Large bodies in larger reads: a quarter of the reads (and of the per-buffer work behind
        // each: HTTP parsing, the body stream, the digest queue, the file write). A body read so
        // holds about 1 MiB more, so a body gets them only while at most
        // ``EmulatorConfiguration/largeReadBodies`` are in flight (default 16).
        var largeBody = false
        if s3.method == .put, let length = s3.header("content-length").flatMap(Int.init), length >= 65_536 {
            largeBody = length >= Self.largeBodyReads
            let largeRead = largeBody && self.largeReads.begin()
            channel.setOption(ChannelOptions.recvAllocator, value: largeRead ? Self.largeBodyAllocator : Self.defaultAllocator)
                .whenComplete { _ in }
        }
        defer { if largeBody { self.largeReads.end() } }
        var request = request
        var pacing: EndpointPacing?
        if let faults = self.faults {
            switch await faults.intercept(s3, body: request.body, channel: channel) {
            case .serve(let paced):
                pacing = paced
                if let paced { request.body = paced.requestBody(request.body) }
            case .answer(let head, let body):
                try await writer.write(response: head, body: body)
                return
            case .dropped:
                return
            }
        }
        if let answer = await self.handleNonS3(s3, body: request.body) {
            try await writer.write(response: answer.head, body: pacing?.responseBody(answer.body) ?? answer.body)
            return
        }
        let isHead = s3.method == .head
        let expectsContinue = request.headers[.expect]?.lowercased() == "100-continue"
        var closeConnection = false
        var response: S3Response
        do {
            switch try await self.plan(s3) {
            case .respond(let planned):
                response = planned
                closeConnection = expectsContinue
            case .readBody(let consume):
                if expectsContinue {
                    try await writer.writeInformationalHead(HTTPResponse(status: .continue))
                }
                do {
                    response = try await consume(request.body)
                } catch {
                    response = self.errorResponse(error, s3, isHead: isHead)
                    closeConnection = true
                }
            }
        } catch {
            response = self.errorResponse(error, s3, isHead: isHead)
            closeConnection = expectsContinue
        }
        response.set("x-amz-request-id", requestId)
        response.set("x-amz-id-2", requestId)
        response.set("date", S3Time.rfc1123(Date()))
        response.set("server", "AmazonS3")
        if closeConnection { response.set("connection", "close") }
        if response.headers[.contentLength] == nil, response.status != .noContent, response.status != .notModified,
           let length = response.body.contentLength
        {
            response.headers[.contentLength] = String(length)
        }
        if response.status == .noContent || response.status == .notModified {
            response.headers[.contentLength] = nil
        }
        try await writer.write(
            response: HTTPResponse(status: response.status, headerFields: response.headers), body: pacing?.responseBody(response.body) ?? response.body
        )
    }

    /// The pipeline's other faces on the same port: the JSON 1.0 services (`POST /` with
    /// `X-Amz-Target`) and `/_csvstorm/…`. Nil for an S3 request.
    private func handleNonS3(_ request: S3Request, body: RequestBody) async -> (head: HTTPResponse, body: ResponseBody)? {
        let answer: JSONProtocolResponse
        if let router = self.jsonRouter, request.method == .post, request.rawPath == "/",
           let target = request.header("x-amz-target"), router.accepts(target: target)
        {
            let bytes: [UInt8]
            do {
                var buffer = try await body.collect(upTo: 16 << 20)
                bytes = buffer.readBytes(length: buffer.readableBytes) ?? []
            } catch {
                return Self.jsonAnswer(.error(status: 413, type: "com.amazon.coral.service#SerializationException", message: "request body over 16 MiB"))
            }
            answer = await router.handle(method: "POST", path: "/", query: request.rawQuery, headers: request.signingHeaders, body: bytes)
        } else if let faultControl = self.faultControl, request.rawPath == FaultControl.path {
            answer = await faultControl.handle(request, body: body)
        } else if let control = self.control, request.rawPath.hasPrefix(PipelineControl.prefix) {
            answer = await control.handle(method: request.method.rawValue, path: request.rawPath, query: request.query)
        } else {
            return nil
        }
        return Self.jsonAnswer(answer)
    }

    private static func jsonAnswer(_ answer: JSONProtocolResponse) -> (head: HTTPResponse, body: ResponseBody) {
        var fields = HTTPFields()
        for (name, value) in answer.headers {
            if let field = HTTPField.Name(name) { fields.append(HTTPField(name: field, value: value)) }
        }
        fields[.contentLength] = String(answer.body.count)
        fields[.date] = S3Time.rfc1123(Date())
        let head = HTTPResponse(status: HTTPResponse.Status(code: answer.status), headerFields: fields)
        return (head, ResponseBody(byteBuffer: ByteBuffer(bytes: answer.body)))
    }

    func errorResponse(_ error: any Error, _ request: S3Request, isHead: Bool) -> S3Response {
        let s3Error: S3Error
        switch error {
        case let error as S3Error: s3Error = error
        case let error as SigV4Error: s3Error = S3Error(error)
        default:
            self.logger.debug("internal error", metadata: ["request-id": "\(request.requestId)", "error": "\(error)"])
            s3Error = S3Error(.internalError, "We encountered an internal error. Please try again. (\(error))")
        }
        self.logger.debug(
            "S3 error",
            metadata: ["request-id": "\(request.requestId)", "code": "\(s3Error.code.name)", "path": "\(request.rawPath)"]
        )
        return .error(s3Error, requestId: request.requestId, resource: request.rawPath, isHead: isHead)
    }

    // MARK: Authentication and routing

    func plan(_ request: S3Request) async throws -> Plan {
        let identity: SigV4Identity
        do {
            identity = try self.verifier.verify(
                method: request.method.rawValue, path: request.rawPath, query: request.rawQuery, headers: request.signingHeaders
            )
        } catch {
            throw S3Error(error)
        }
        guard let bucket = request.bucket else {
            guard request.method == .get else { throw S3Error(.methodNotAllowed, "The specified method is not allowed against this resource.") }
            return .respond(try await self.listBuckets(request))
        }
        guard let key = request.key else {
            return try await self.routeBucket(request, bucket: bucket, identity: identity)
        }
        return try await self.routeObject(request, bucket: bucket, key: key, identity: identity)
    }

    private func routeBucket(_ request: S3Request, bucket: String, identity: SigV4Identity) async throws -> Plan {
        switch request.method {
        case .put:
            if request.has("versioning") { return self.collectBody(request) { try await self.putBucketVersioning(request, bucket: bucket, body: $0) } }
            if request.has("object-lock") || request.has("policy") || request.has("tagging") || request.has("notification") {
                throw S3Error.notImplemented("bucket sub-resource")
            }
            return self.collectBody(request) { try await self.createBucket(request, bucket: bucket, identity: identity, body: $0) }
        case .head:
            return .respond(try await self.headBucket(request, bucket: bucket))
        case .delete:
            return .respond(try await self.deleteBucket(request, bucket: bucket))
        case .get:
            if request.has("uploads") { return .respond(try await self.listMultipartUploads(request, bucket: bucket)) }
            if request.has("versions") { return .respond(try await self.listObjectVersions(request, bucket: bucket)) }
            if request.has("versioning") { return .respond(try await self.getBucketVersioning(request, bucket: bucket)) }
            if request.has("object-lock") { return .respond(try await self.getObjectLockConfiguration(request, bucket: bucket)) }
            if request.has("location") { return .respond(try await self.getBucketLocation(request, bucket: bucket)) }
            if request.query["list-type"] == "2" { return .respond(try await self.listObjectsV2(request, bucket: bucket)) }
            if request.query.isEmpty || request.has("prefix") || request.has("marker") || request.has("delimiter") || request.has("max-keys")
                || request.has("encoding-type")
            {
                return .respond(try await self.listObjectsV1(request, bucket: bucket))
            }
            throw S3Error.notImplemented("GET bucket with \(request.rawQuery ?? "")")
        case .post:
            if request.has("delete") {
                return self.collectBody(request) { try await self.deleteObjects(request, bucket: bucket, body: $0) }
            }
            throw S3Error.notImplemented("POST on a bucket (browser PostObject)")
        default:
            throw S3Error(.methodNotAllowed, "The specified method is not allowed against this resource.")
        }
    }

    private func routeObject(_ request: S3Request, bucket: String, key: String, identity: SigV4Identity) async throws -> Plan {
        switch request.method {
        case .put:
            if request.header("x-amz-copy-source") != nil { throw S3Error.notImplemented("x-amz-copy-source (CopyObject, UploadPartCopy)") }
            if request.has("uploadId") || request.has("partNumber") {
                return try await self.uploadPart(request, bucket: bucket, key: key, identity: identity)
            }
            if request.has("retention") || request.has("tagging") || request.has("acl") || request.has("legal-hold") {
                throw S3Error.notImplemented("object sub-resource")
            }
            return try await self.putObject(request, bucket: bucket, key: key, identity: identity)
        case .post:
            if request.has("uploads") { return .respond(try await self.createMultipartUpload(request, bucket: bucket, key: key)) }
            if let uploadId = request.query["uploadId"] {
                return try await self.completeMultipartUpload(request, bucket: bucket, key: key, uploadId: uploadId)
            }
            throw S3Error.notImplemented("POST on an object")
        case .delete:
            if let uploadId = request.query["uploadId"] {
                return .respond(try await self.abortMultipartUpload(request, bucket: bucket, key: key, uploadId: uploadId))
            }
            return .respond(try await self.deleteObject(request, bucket: bucket, key: key))
        case .get:
            if let uploadId = request.query["uploadId"] {
                return .respond(try await self.listParts(request, bucket: bucket, key: key, uploadId: uploadId))
            }
            if request.has("retention") { return .respond(try await self.getObjectRetention(request, bucket: bucket, key: key)) }
            if request.has("tagging") || request.has("acl") || request.has("legal-hold") || request.has("attributes") {
                throw S3Error.notImplemented("object sub-resource")
            }
            return .respond(try await self.getObject(request, bucket: bucket, key: key, isHead: false))
        case .head:
            return .respond(try await self.getObject(request, bucket: bucket, key: key, isHead: true))
        default:
            throw S3Error(.methodNotAllowed, "The specified method is not allowed against this resource.")
        }
    }

    /// A small XML body (at most 1 MiB), collected then handed to `handler`.
    func collectBody(_ request: S3Request, _ handler: @escaping @Sendable (ByteBuffer) async throws -> S3Response) -> Plan {
        .readBody { body in
            let buffer: ByteBuffer
            do {
                buffer = try await body.collect(upTo: 1 << 20)
            } catch {
                throw S3Error(.malformedXML, "The XML you provided was too large or could not be read.")
            }
            return try await handler(buffer)
        }
    }

    func eventContext(_ request: S3Request, reason: ObjectCreatedEvent.Reason) -> EventContext {
        EventContext(
            requestId: request.requestId, reason: reason, region: self.configuration.region,
            account: self.configuration.accountId, sourceIPAddress: request.sourceIPAddress
        )
    }

    /// Removes blobs that metadata no longer refers to.
    func removeBlobs(_ names: [String]) {
        if !names.isEmpty { self.blobs.remove(names) }
    }
}

/// `x-amz-request-id`s: 16 upper-case hex digits, a random prefix and a counter.
final class RequestIdGenerator: Sendable {
    /// For writes that do not come through the endpoint (pipeline tasks).
    static let shared = RequestIdGenerator()
    private let counter = Atomic<UInt64>(0)
    private let prefix: UInt64 = UInt64.random(in: 0...0xFFFF) << 48

    func next() -> String {
        let value = self.prefix | (self.counter.wrappingAdd(1, ordering: .relaxed).newValue & 0xFFFF_FFFF_FFFF)
        let hex = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}

/// The bodies of 1 MiB and more in flight, and whether a new one may use large socket reads:
/// only while at most `limit` such bodies are in flight in all (the first `limit` of a burst).
package final class LargeReads: Sendable {
    package let limit: Int
    private let inFlight = Atomic<Int>(0)

    init(limit: Int) {
        self.limit = limit
    }

    /// Counts a new body in; returns whether it gets large reads. Pair with ``end()``.
    func begin() -> Bool {
        let count = self.inFlight.add(1, ordering: .relaxed).newValue
        return count <= self.limit
    }

    func end() {
        self.inFlight.subtract(1, ordering: .relaxed)
    }
}
