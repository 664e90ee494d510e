/// An error from an AWS call: a service error response, a transport failure or a response
/// we could not understand.
///
/// A struct wrapping a private kind enum (so new kinds can be added without breaking callers),
/// with the context an operator needs: the operation, HTTP status, AWS error code, message,
/// request id and host id.
///
/// ```swift
/// do { try await s3.abortMultipartUpload(...) }
/// catch let error as AWSError where error.code == .noSuchUpload { ... }
/// ```
package struct AWSError: Error, Sendable, CustomStringConvertible {
    /// What went wrong, broadly.
    package struct Kind: Hashable, Sendable, CustomStringConvertible {
        private enum Base: Hashable, Sendable {
            case service
            case timeout
            case connection
            case invalidResponse
            case invalidRequest
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The service answered with an error (an HTTP error status, or a 200 carrying `<Error>`).
        package static let service = Kind(.service)
        /// No response in time (connect, read, or the request deadline).
        package static let timeout = Kind(.timeout)
        /// The connection failed or was reset before a complete response arrived.
        package static let connection = Kind(.connection)
        /// A response arrived but we could not make sense of it (bad XML, missing fields).
        package static let invalidResponse = Kind(.invalidResponse)
        /// The request could not be built (bad endpoint, bucket name, arguments).
        package static let invalidRequest = Kind(.invalidRequest)

        package var description: String {
            switch self.base {
            case .service: "service error"
            case .timeout: "timeout"
            case .connection: "connection error"
            case .invalidResponse: "invalid response"
            case .invalidRequest: "invalid request"
            }
        }
    }

    /// An AWS error code such as `NoSuchUpload` or `SlowDown`. Open set: any string the service
    /// sends is representable; well-known ones have constants.
    package struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible, ExpressibleByStringLiteral {
        package var rawValue: String
        package init(rawValue: String) { self.rawValue = rawValue }
        package init(_ rawValue: String) { self.rawValue = rawValue }
        package init(stringLiteral value: String) { self.rawValue = value }
        package var description: String { self.rawValue }
    }

    package var kind: Kind
    /// The API operation, e.g. `UploadPart`.
    package var operation: String
    /// HTTP status when a response arrived.
    package var statusCode: Int?
    /// The AWS error code (from the `<Code>` element, or derived from the status for HEAD).
    package var code: Code?
    package var message: String?
    /// `x-amz-request-id` header or `<RequestId>`.
    package var requestId: String?
    /// `x-amz-id-2` header or `<HostId>`.
    package var hostId: String?
    /// True when the service answered `200 OK` with an `<Error>` body (CompleteMultipartUpload,
    /// UploadPartCopy, CopyObject do this when they fail after sending the status line).
    package var errorInSuccessResponse: Bool
    /// The transport error behind a `.timeout` / `.connection` error.
    package var underlying: (any Error)?

    package init(
        kind: Kind,
        operation: String,
        statusCode: Int? = nil,
        code: Code? = nil,
        message: String? = nil,
        requestId: String? = nil,
        hostId: String? = nil,
        errorInSuccessResponse: Bool = false,
        underlying: (any Error)? = nil
    ) {
        self.kind = kind
        self.operation = operation
        self.statusCode = statusCode
        self.code = code
        self.message = message
        self.requestId = requestId
        self.hostId = hostId
        self.errorInSuccessResponse = errorInSuccessResponse
        self.underlying = underlying
    }

    package var description: String {
        var s = "\(self.operation) failed: \(self.kind)"
        if let statusCode { s += " (HTTP \(statusCode)\(self.errorInSuccessResponse ? " with an <Error> body" : ""))" }
        if let code { s += " \(code.rawValue)" }
        if let message, !message.isEmpty { s += ": \(message)" }
        if let underlying { s += ": \(underlying)" }
        if let requestId { s += " [request id \(requestId)]" }
        return s
    }
}

extension AWSError.Code {
    // S3
    package static let noSuchUpload: Self = "NoSuchUpload"
    package static let noSuchKey: Self = "NoSuchKey"
    package static let noSuchBucket: Self = "NoSuchBucket"
    package static let noSuchVersion: Self = "NoSuchVersion"
    package static let notFound: Self = "NotFound"
    package static let invalidPart: Self = "InvalidPart"
    package static let invalidPartOrder: Self = "InvalidPartOrder"
    package static let entityTooSmall: Self = "EntityTooSmall"
    package static let badDigest: Self = "BadDigest"
    package static let invalidRange: Self = "InvalidRange"
    package static let preconditionFailed: Self = "PreconditionFailed"
    package static let notModified: Self = "NotModified"
    package static let bucketAlreadyExists: Self = "BucketAlreadyExists"
    package static let bucketAlreadyOwnedByYou: Self = "BucketAlreadyOwnedByYou"
    package static let slowDown: Self = "SlowDown"
    package static let serviceUnavailable: Self = "ServiceUnavailable"
    package static let internalError: Self = "InternalError"
    package static let requestTimeout: Self = "RequestTimeout"
    // Authentication / authorisation
    package static let signatureDoesNotMatch: Self = "SignatureDoesNotMatch"
    package static let invalidAccessKeyId: Self = "InvalidAccessKeyId"
    package static let accessDenied: Self = "AccessDenied"
    package static let expiredToken: Self = "ExpiredToken"
    package static let requestTimeTooSkewed: Self = "RequestTimeTooSkewed"
    // Generic
    package static let badRequest: Self = "BadRequest"
    package static let forbidden: Self = "Forbidden"
    package static let methodNotAllowed: Self = "MethodNotAllowed"
    package static let throttling: Self = "Throttling"
    package static let throttlingException: Self = "ThrottlingException"
}
