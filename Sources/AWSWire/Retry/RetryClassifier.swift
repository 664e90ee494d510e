/// Why a failed attempt may be retried. A struct over a private enum, so reasons can be added.
package struct RetryReason: Hashable, Sendable, CustomStringConvertible, CaseIterable {
    private enum Base: Hashable, Sendable, CaseIterable {
        case throttling, transient, serverError, timeout, connection
    }

    private let base: Base
    private init(_ base: Base) { self.base = base }

    /// A throttling error code (`SlowDown`, `ThrottlingException`, ...) or HTTP 429.
    package static let throttling = RetryReason(.throttling)
    /// A transient error code (`InternalError`, `RequestTimeout`, ...), whatever the status.
    package static let transient = RetryReason(.transient)
    /// A 5xx status without a more specific code.
    package static let serverError = RetryReason(.serverError)
    /// No response in time (connect, read, or request deadline).
    package static let timeout = RetryReason(.timeout)
    /// The connection was refused, reset or closed before a complete response.
    package static let connection = RetryReason(.connection)

    package static var allCases: [RetryReason] { Base.allCases.map(RetryReason.init) }

    /// Whether a retry for this reason costs the timeout cost (10) instead of the retry cost (5).
    package var usesTimeoutCost: Bool { self.base == .timeout || self.base == .connection }

    /// Stable lower-case name for metrics and reports.
    package var description: String {
        switch self.base {
        case .throttling: "throttling"
        case .transient: "transient"
        case .serverError: "server-error"
        case .timeout: "timeout"
        case .connection: "connection"
        }
    }
}

/// The standard-mode error classification: which failures are worth another attempt.
package enum RetryClassifier {
    /// Throttling codes of the SDKs' standard mode (plus `EC2ThrottledException`).
    package static let throttlingCodes: Set<String> = [
        "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
        "TooManyRequestsException", "ProvisionedThroughputExceededException", "TransactionInProgressException",
        "RequestLimitExceeded", "BandwidthLimitExceeded", "LimitExceededException", "RequestThrottled",
        "SlowDown", "EC2ThrottledException",
    ]

    /// Transient codes: retried whatever their HTTP status.
    package static let transientCodes: Set<String> = [
        "RequestTimeout", "RequestTimeoutException", "PriorRequestNotComplete", "InternalError",
    ]

    /// Classifies a failed attempt; `nil` means "do not retry".
    ///
    /// - Throttling and transient *codes* win over the status (S3's `RequestTimeout` is a 400).
    /// - Any 5xx status is retried, except 501 Not Implemented (a permanent answer).
    /// - HTTP 429 is throttling even without a code.
    /// - Every other 4xx (and 3xx) is final: `AccessDenied`, `SignatureDoesNotMatch`, `NoSuchUpload`, ...
    /// - Timeouts and connection failures are retried.
    /// - Non-`AWSError` errors (cancellation, programming errors) are never retried.
    package static func classify(_ error: any Error) -> RetryReason? {
        guard let error = error as? AWSError else { return nil }
        return self.classify(error)
    }

    package static func classify(_ error: AWSError) -> RetryReason? {
        switch error.kind {
        case .timeout: return .timeout
        case .connection: return .connection
        case .service: break
        default: return nil
        }
        return self.classify(statusCode: error.statusCode, code: error.code?.rawValue)
    }

    /// The table itself, on plain values.
    package static func classify(statusCode: Int?, code: String?) -> RetryReason? {
        if let code {
            if self.throttlingCodes.contains(code) { return .throttling }
            if self.transientCodes.contains(code) { return .transient }
        }
        guard let statusCode else { return nil }
        if statusCode == 429 { return .throttling }
        if (500..<600).contains(statusCode), statusCode != 501 { return .serverError }
        return nil
    }
}
