/// Why ``SigV4Verifier`` rejected a request, with the S3 error code and HTTP status to answer with.
///
/// Compare errors by ``code`` (`error.code == .signatureDoesNotMatch`); ``message`` is the text
/// for the `<Message>` element of the error response. For ``Code/signatureDoesNotMatch`` the
/// canonical request and string to sign the server computed are attached, as S3 returns them.
package struct SigV4Error: Error, Sendable, CustomStringConvertible {
    /// The kind of failure; maps to one S3 error code.
    package struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: Hashable, Sendable {
            case signatureDoesNotMatch
            case accessDenied
            case invalidAccessKeyId
            case authorizationHeaderMalformed
            case authorizationQueryParametersError
            case requestTimeTooSkewed
            case invalidRequest
            case invalidArgument
        }

        private let base: Base

        private init(_ base: Base) { self.base = base }

        /// The computed signature differs from the one sent (403).
        package static let signatureDoesNotMatch = Code(.signatureDoesNotMatch)
        /// No authentication, a missing date, or an expired / not yet valid presigned URL (403).
        package static let accessDenied = Code(.accessDenied)
        /// The access key id is not known (403).
        package static let invalidAccessKeyId = Code(.invalidAccessKeyId)
        /// The `Authorization` header cannot be parsed, or its scope is wrong (400).
        package static let authorizationHeaderMalformed = Code(.authorizationHeaderMalformed)
        /// A presigned URL lacks a parameter or has a bad one (400).
        package static let authorizationQueryParametersError = Code(.authorizationQueryParametersError)
        /// The request time is too far from the server's clock (403).
        package static let requestTimeTooSkewed = Code(.requestTimeTooSkewed)
        /// Unsupported signing algorithm or a required header is missing (400).
        package static let invalidRequest = Code(.invalidRequest)
        /// Conflicting authentication, or an invalid `x-amz-content-sha256` value (400).
        package static let invalidArgument = Code(.invalidArgument)

        /// The S3 error code, e.g. `SignatureDoesNotMatch`.
        package var s3Code: String {
            switch self.base {
            case .signatureDoesNotMatch: "SignatureDoesNotMatch"
            case .accessDenied: "AccessDenied"
            case .invalidAccessKeyId: "InvalidAccessKeyId"
            case .authorizationHeaderMalformed: "AuthorizationHeaderMalformed"
            case .authorizationQueryParametersError: "AuthorizationQueryParametersError"
            case .requestTimeTooSkewed: "RequestTimeTooSkewed"
            case .invalidRequest: "InvalidRequest"
            case .invalidArgument: "InvalidArgument"
            }
        }

        /// The HTTP status S3 answers with.
        package var httpStatus: Int {
            switch self.base {
            case .signatureDoesNotMatch, .accessDenied, .invalidAccessKeyId, .requestTimeTooSkewed: 403
            case .authorizationHeaderMalformed, .authorizationQueryParametersError, .invalidRequest,
                .invalidArgument:
                400
            }
        }

        package var description: String { self.s3Code }
    }

    /// The kind of failure.
    package let code: Code
    /// A human-readable explanation, in S3's wording where S3 has one.
    package let message: String
    /// For ``Code/signatureDoesNotMatch``: the canonical request the server computed.
    package let canonicalRequest: String?
    /// For ``Code/signatureDoesNotMatch``: the string to sign the server computed.
    package let stringToSign: String?

    /// The S3 error code, e.g. `SignatureDoesNotMatch`.
    package var s3Code: String { self.code.s3Code }
    /// The HTTP status to answer with.
    package var httpStatus: Int { self.code.httpStatus }

    private init(_ code: Code, _ message: String, canonicalRequest: String? = nil, stringToSign: String? = nil) {
        self.code = code
        self.message = message
        self.canonicalRequest = canonicalRequest
        self.stringToSign = stringToSign
    }

    package var description: String {
        "SigV4Error(\(self.code.s3Code), \(self.code.httpStatus)): \(self.message)"
    }

    static func signatureDoesNotMatch(canonicalRequest: String, stringToSign: String) -> Self {
        Self(
            .signatureDoesNotMatch,
            "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
            canonicalRequest: canonicalRequest,
            stringToSign: stringToSign
        )
    }

    static func missingAuthentication() -> Self {
        Self(.accessDenied, "Access Denied: the request carries neither an Authorization header nor a presigned query.")
    }

    static func missingDate() -> Self {
        Self(.accessDenied, "AWS authentication requires a valid Date or x-amz-date header")
    }

    static func expired(expiredAt: String, now: String) -> Self {
        Self(.accessDenied, "Request has expired (expired at \(expiredAt), server time \(now)).")
    }

    static func notYetValid(signedAt: String, now: String) -> Self {
        Self(.accessDenied, "Request is not yet valid (signed at \(signedAt), server time \(now)).")
    }

    static func invalidAccessKeyId(_ accessKeyId: String) -> Self {
        Self(
            .invalidAccessKeyId,
            "The AWS Access Key Id you provided does not exist in our records (\(accessKeyId))."
        )
    }

    static func malformedHeader(_ detail: String) -> Self {
        Self(.authorizationHeaderMalformed, "The authorization header is malformed; \(detail)")
    }

    static func malformedQuery(_ detail: String) -> Self {
        Self(.authorizationQueryParametersError, detail)
    }

    static func tooSkewed(requestTime: String, serverTime: String, maximum: Duration) -> Self {
        Self(
            .requestTimeTooSkewed,
            "The difference between the request time (\(requestTime)) and the server's time (\(serverTime)) is too large (more than \(maximum))."
        )
    }

    static func unsupportedAlgorithm(_ found: String) -> Self {
        Self(
            .invalidRequest,
            "The authorization mechanism you have provided (\(found)) is not supported. Please use AWS4-HMAC-SHA256."
        )
    }

    static func missingContentSHA256() -> Self {
        Self(.invalidRequest, "Missing required header for this request: x-amz-content-sha256")
    }

    static func invalidContentSHA256(_ value: String) -> Self {
        Self(
            .invalidArgument,
            "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER or a valid sha256 value (got \"\(value)\")."
        )
    }

    static func conflictingAuthentication() -> Self {
        Self(.invalidArgument, "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter or the Authorization header should be specified.")
    }
}
