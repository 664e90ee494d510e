import AsyncHTTPClient
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1

/// The AWS JSON 1.0 protocol as DynamoDB and SQS speak it: `POST /` with
/// `X-Amz-Target: <prefix>.<Operation>`, `Content-Type: application/x-amz-json-1.0`, a JSON
/// body, SigV4 in ``SigV4Signer/Mode/standard`` mode (no `x-amz-content-sha256` header), and
/// errors as `{"__type": "<namespace>#<Code>", "message": "…"}`.
///
/// Shared by ``DynamoDBClient`` and ``SQSClient``: every attempt is signed anew and runs through
/// the ``StandardRetryStrategy``.
struct JSONProtocolTransport: Sendable {
    /// JSON 1.0 (DynamoDB, SQS, Step Functions); ECS speaks JSON 1.1, which differs only in this
    /// content type for what the clients here send and read.
    static let contentType = "application/x-amz-json-1.0"
    static let contentType11 = "application/x-amz-json-1.1"

    let httpClient: HTTPClient
    let endpoint: S3Endpoint
    let region: String
    /// The signing name (`dynamodb`, `sqs`).
    let service: String
    /// `DynamoDB_20120810`, `AmazonSQS`.
    let targetPrefix: String
    let signing: JSONSigningSource
    let retryStrategy: StandardRetryStrategy
    let requestTimeout: Duration
    let maxResponseBytes: Int
    let logger: Logger?
    var contentType: String = Self.contentType

    /// Calls `operation` with `body` (retried) and returns the parsed response document.
    func call(_ operation: String, _ body: JSONValue, timeout: Duration? = nil) async throws -> JSONValue {
        let bytes = body.serialized()
        let payloadHash = SigV4Signer.payloadHash(of: bytes)
        let timeout = timeout ?? self.requestTimeout
        return try await self.retryStrategy.execute(operation: operation) { _ in
            try await S3Client.withAttemptTimeout(timeout, operation: operation) {
                try await self.attempt(operation, bytes: bytes, payloadHash: payloadHash, timeout: timeout)
            }
        }
    }

    private func attempt(_ operation: String, bytes: [UInt8], payloadHash: String, timeout: Duration) async throws -> JSONValue {
        let authority = self.endpoint.authority()
        let target = "\(self.targetPrefix).\(operation)"
        let headers: [(name: String, value: String)] = [
            (name: "host", value: authority),
            (name: "content-type", value: self.contentType),
            (name: "x-amz-target", value: target),
        ]
        let signer = try await self.signing.signer(region: self.region, service: self.service)
        let added = signer.signHeaders(
            method: "POST", path: "/", query: nil, headers: headers, payloadHash: payloadHash,
            date: Date(), addContentSHA256Header: false
        )
        var request = HTTPClientRequest(url: "\(self.endpoint.scheme)://\(authority)/")
        request.method = .POST
        request.headers.add(name: "Host", value: authority)
        request.headers.add(name: "Content-Type", value: self.contentType)
        request.headers.add(name: "X-Amz-Target", value: target)
        for h in added { request.headers.add(name: h.name, value: h.value) }
        request.headers.add(name: "Content-Length", value: String(bytes.count))
        request.body = .bytes(ByteBuffer(bytes: bytes))

        let response: HTTPClientResponse
        let collected: ByteBuffer
        do {
            response = try await self.httpClient.execute(request, deadline: S3Client.deadline(after: timeout), logger: self.logger)
            collected = try await response.body.collect(upTo: self.maxResponseBytes)
        } catch {
            throw AWSError.transport(operation: operation, error: error)
        }
        let status = Int(response.status.code)
        let requestId = response.headers.first(name: "x-amzn-RequestId") ?? response.headers.first(name: "x-amz-request-id")
        let body = Array(collected.readableBytesView)
        if status >= 300 {
            throw AWSError.jsonProtocol(operation: operation, status: status, body: body, headers: response.headers, requestId: requestId)
        }
        if body.isEmpty { return .object([:]) }
        do {
            return try JSONValue.parse(body)
        } catch {
            throw AWSError(kind: .invalidResponse, operation: operation, statusCode: status, message: error.message, requestId: requestId)
        }
    }
}

/// Static credentials, or a provider asked on every attempt (the signer rebuilt only when the
/// credentials change).
enum JSONSigningSource: Sendable {
    case fixed(AWSCredentials)
    case provider(@Sendable () async throws -> AWSCredentials, NIOLockedValueBox<SigV4Signer?>)

    func signer(region: String, service: String) async throws -> SigV4Signer {
        let credentials: AWSCredentials
        let cache: NIOLockedValueBox<SigV4Signer?>?
        switch self {
        case .fixed(let c):
            credentials = c
            cache = nil
        case .provider(let provide, let box):
            credentials = try await provide()
            cache = box
        }
        guard let cache else { return SigV4Signer(credentials: credentials, region: region, service: service, mode: .standard) }
        return cache.withLockedValue { cached in
            if let s = cached, s.credentials == credentials { return s }
            let s = SigV4Signer(credentials: credentials, region: region, service: service, mode: .standard)
            cached = s
            return s
        }
    }
}

extension AWSError {
    /// An error response of the JSON 1.0 protocol. The code is the part of `__type` (or of the
    /// `x-amzn-ErrorType` header) after the last `#` and before any `:`; the message is
    /// `message` or `Message`.
    static func jsonProtocol(operation: String, status: Int, body: [UInt8], headers: HTTPHeaders, requestId: String?) -> AWSError {
        let document = try? JSONValue.parse(body)
        var type = document?["__type"]?.stringValue ?? headers.first(name: "x-amzn-ErrorType") ?? document?["code"]?.stringValue
        if let t = type {
            var code = Substring(t)
            if let hash = code.lastIndex(of: "#") { code = code[code.index(after: hash)...] }
            if let colon = code.firstIndex(of: ":") { code = code[..<colon] }
            type = String(code)
        }
        let message = document?["message"]?.stringValue ?? document?["Message"]?.stringValue
        return AWSError(
            kind: .service,
            operation: operation,
            statusCode: status,
            code: type.map(AWSError.Code.init(rawValue:)),
            message: message ?? (document == nil && !body.isEmpty ? String(decoding: body.prefix(512), as: UTF8.self) : nil),
            requestId: requestId
        )
    }
}

extension AWSError.Code {
    // DynamoDB
    package static let conditionalCheckFailed: Self = "ConditionalCheckFailedException"
    package static let resourceNotFound: Self = "ResourceNotFoundException"
    package static let resourceInUse: Self = "ResourceInUseException"
    package static let validation: Self = "ValidationException"
    package static let provisionedThroughputExceeded: Self = "ProvisionedThroughputExceededException"
    // SQS (JSON protocol codes; the query protocol's `AWS.SimpleQueueService.NonExistentQueue`
    // travels in the `x-amzn-query-error` header)
    package static let queueDoesNotExist: Self = "QueueDoesNotExist"
    package static let receiptHandleIsInvalid: Self = "ReceiptHandleIsInvalid"
    package static let invalidParameterValue: Self = "InvalidParameterValue"
    package static let purgeQueueInProgress: Self = "PurgeQueueInProgress"
}
