/// One request (or task launch, or event delivery) a fault may apply to.
///
/// - S3: `operation` from ``AWSRequestClassifier`` (`UploadPart`, …), `bucket` and `key`.
/// - DynamoDB / SQS / Step Functions: the `X-Amz-Target` operation (`PutItem`, `SendMessage`,
///   `StartExecution`); for ledger writes the emulator may set the job's bucket and key.
/// - Task launches: service `ecs`, operation `RunTask`, bucket and key of the input object.
/// - Event deliveries: service `events`, operation `InvokeTarget`, bucket and key of the object
///   the event is about.
package struct FaultRequest: Sendable, Hashable {
    package var service: FaultService
    package var operation: String?
    package var bucket: String?
    package var key: String?

    package init(service: FaultService, operation: String?, bucket: String? = nil, key: String? = nil) {
        self.service = service
        self.operation = operation
        self.bucket = bucket
        self.key = key
    }

    /// A processor task launch for the object `bucket/key`.
    package static func taskLaunch(bucket: String, key: String) -> FaultRequest {
        FaultRequest(service: .ecs, operation: "RunTask", bucket: bucket, key: key)
    }

    /// The rule delivering the event about `bucket/key` to its target.
    package static func eventDelivery(bucket: String, key: String) -> FaultRequest {
        FaultRequest(service: .events, operation: "InvokeTarget", bucket: bucket, key: key)
    }
}

/// What to do to one request. The emulator and the proxy act on it; the injector has already
/// recorded it.
package struct FaultDecision: Sendable, Equatable {
    /// Index of the fault in the plan.
    package var faultIndex: Int
    package var kind: FaultKind
    package var action: Action

    package enum Action: Sendable, Equatable {
        /// Answer with this error instead of serving the request (see ``FaultErrorResponse``):
        /// 503 SlowDown / 500 InternalError for S3, 400 ProvisionedThroughputExceededException
        /// for ledger throttling, and so on.
        case respond(FaultErrorResponse)
        /// Reset the connection (TCP RST) without answering.
        case reset
        /// Accept and never answer.
        case hang
        /// Serve the request after this delay (latency with jitter resolved; delayed or
        /// reordered event delivery).
        case delay(Duration)
        /// Move the request and its answer at most this many bytes per second.
        case limitBandwidth(bytesPerSecond: Int)
        /// Move the bytes in slices of `bytes` with `delay` between slices.
        case slice(bytes: Int, delay: Duration)
        /// The processor task exits with this code.
        case failTask(exitCode: Int32)
        /// The processor task writes this fraction of its output, then dies.
        case crashTask(outputFraction: Double)
        /// The rule's target invocation fails with this error.
        case failDelivery(errorCode: String, message: String, retryable: Bool)
        /// Deliver the event this many extra times.
        case duplicate(copies: Int)
    }
}

/// An error answer as the real service would send it.
package struct FaultErrorResponse: Sendable, Hashable {
    package var status: Int
    /// The AWS error code (`SlowDown`, `InternalError`, `ProvisionedThroughputExceededException`).
    package var code: String
    package var message: String
    /// Whether the SDKs retry it.
    package var retryable: Bool

    package init(status: Int, code: String, message: String, retryable: Bool) {
        self.status = status
        self.code = code
        self.message = message
        self.retryable = retryable
    }

    /// S3's `503 SlowDown`; JSON services' `503 ServiceUnavailable`.
    package static func unavailable(for service: FaultService) -> FaultErrorResponse {
        service == .s3
            ? FaultErrorResponse(status: 503, code: "SlowDown", message: "Please reduce your request rate.", retryable: true)
            : FaultErrorResponse(status: 503, code: "ServiceUnavailable", message: "The service is unavailable. Please try again shortly.", retryable: true)
    }

    /// S3's `500 InternalError`; JSON services' `500 InternalServerError` (InternalFailure for SQS).
    package static func internalError(for service: FaultService) -> FaultErrorResponse {
        switch service {
        case .s3: return FaultErrorResponse(status: 500, code: "InternalError", message: "We encountered an internal error. Please try again.", retryable: true)
        case .sqs: return FaultErrorResponse(status: 500, code: "InternalFailure", message: "The request processing has failed because of an unknown error, exception or failure.", retryable: true)
        default: return FaultErrorResponse(status: 500, code: "InternalServerError", message: "Internal server error", retryable: true)
        }
    }

    /// DynamoDB's `400 ProvisionedThroughputExceededException` (retried by the SDKs).
    package static let provisionedThroughputExceeded = FaultErrorResponse(
        status: 400, code: "ProvisionedThroughputExceededException",
        message: "The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API.",
        retryable: true
    )
}
