/// What a fault does. Each kind names the AWS behaviour it models (docs/faults.md).
package enum FaultKind: String, Sendable, Hashable, Codable, CaseIterable {
    /// The processor task exits non-zero → the workflow's Retry/Catch → FAILED once attempts run out.
    case taskFailure = "task-failure"
    /// The task dies after writing part of its output (no clean exit, no SUCCEEDED).
    case taskCrash = "task-crash"
    /// The RunTask token bucket and/or running-task cap is lowered for a window (ThrottlingException).
    case throttledStarts = "throttled-starts"
    /// An endpoint answers 503 SlowDown / 500 InternalError, resets, hangs, slows down or is bandwidth-limited.
    case endpointOutage = "endpoint-outage"
    /// The EventBridge rule's target fails → EventBridge retries → RetryQueue (DLQ).
    case eventDeliveryFailure = "event-delivery-failure"
    /// An event is delivered more than once (EventBridge is at-least-once).
    case duplicateDelivery = "duplicate-delivery"
    /// An event is delivered late.
    case delayedDelivery = "delayed-delivery"
    /// Events are delivered out of order (each held a seeded random time up to a bound).
    case reorderedDelivery = "reordered-delivery"
    /// DynamoDB answers ProvisionedThroughputExceededException on ledger requests.
    case ledgerThrottling = "ledger-throttling"
    /// The emulated pipeline stops at a time and starts again after a downtime.
    case pipelineRestart = "pipeline-restart"

    package static var names: [String] { allCases.map(\.rawValue) }

    /// Services whose requests this kind can affect (the selector's `service` must be one of them).
    package var services: [FaultService] {
        switch self {
        case .taskFailure, .taskCrash, .throttledStarts: return [.ecs]
        case .endpointOutage: return FaultService.allCases
        case .eventDeliveryFailure, .duplicateDelivery, .delayedDelivery, .reorderedDelivery: return [.events]
        case .ledgerThrottling: return [.dynamodb]
        case .pipelineRestart: return []
        }
    }

    /// Faults that change the pipeline's state for a window rather than decide per request.
    package var isStateChange: Bool { self == .throttledStarts || self == .pipelineRestart }

    /// Keys of the fault's own parameters (besides kind, window, select and the intensity keys).
    package var parameterKeys: [String] {
        switch self {
        case .taskFailure: return ["exit-code"]
        case .taskCrash: return ["output-fraction"]
        case .throttledStarts: return ["burst", "refill-per-second", "max-running"]
        case .endpointOutage: return ["effect", "latency", "jitter", "bytes-per-second", "slice-bytes", "slice-delay"]
        case .eventDeliveryFailure: return ["error-code", "retryable"]
        case .duplicateDelivery: return ["copies"]
        case .delayedDelivery: return ["delay", "jitter"]
        case .reorderedDelivery: return ["max-delay"]
        case .ledgerThrottling: return []
        case .pipelineRestart: return ["at", "downtime"]
        }
    }
}

/// The AWS service a request is for (the selector's `service`).
package enum FaultService: String, Sendable, Hashable, Codable, CaseIterable {
    case s3, dynamodb, sqs, ecs, events, states

    package static var names: [String] { allCases.map(\.rawValue) }

    /// The operations of the service a selector may name. The emulator and the proxy name
    /// requests with these (``AWSRequestClassifier``).
    package var operations: [String] {
        switch self {
        case .s3:
            return [
                "AbortMultipartUpload", "CompleteMultipartUpload", "CopyObject", "CreateBucket", "CreateMultipartUpload",
                "DeleteBucket", "DeleteObject", "DeleteObjects", "GetBucketLocation", "GetBucketVersioning", "GetObject",
                "GetObjectLockConfiguration", "GetObjectRetention", "HeadBucket", "HeadObject", "ListBuckets",
                "ListMultipartUploads", "ListObjectVersions", "ListObjects", "ListObjectsV2", "ListParts",
                "PutBucketVersioning", "PutObject", "UploadPart", "UploadPartCopy",
            ]
        case .dynamodb:
            return [
                "BatchGetItem", "BatchWriteItem", "CreateTable", "DeleteItem", "DeleteTable", "DescribeTable", "GetItem",
                "ListTables", "PutItem", "Query", "Scan", "TransactGetItems", "TransactWriteItems", "UpdateItem",
            ]
        case .sqs:
            return [
                "ChangeMessageVisibility", "CreateQueue", "DeleteMessage", "DeleteMessageBatch", "GetQueueAttributes",
                "GetQueueUrl", "ListQueues", "PurgeQueue", "ReceiveMessage", "SendMessage", "SendMessageBatch",
            ]
        case .ecs:
            return ["DescribeTasks", "ListTasks", "RunTask", "StopTask"]
        case .events:
            return ["PutEvents", "InvokeTarget"]
        case .states:
            return ["DescribeExecution", "GetExecutionHistory", "ListExecutions", "SendTaskFailure", "SendTaskSuccess", "StartExecution", "StopExecution"]
        }
    }

    /// The `X-Amz-Target` prefix of a JSON-protocol service (nil for S3, which is REST/XML).
    package var targetPrefix: String? {
        switch self {
        case .s3: return nil
        case .dynamodb: return "DynamoDB_20120810"
        case .sqs: return "AmazonSQS"
        case .ecs: return "AmazonEC2ContainerServiceV20141113"
        case .events: return "AWSEvents"
        case .states: return "AWSStepFunctions"
        }
    }

    /// The namespace of `__type` in JSON 1.0/1.1 error documents.
    package var errorNamespace: String {
        switch self {
        case .s3: return ""
        case .dynamodb: return "com.amazonaws.dynamodb.v20120810"
        case .sqs: return "com.amazonaws.sqs"
        case .ecs: return "com.amazonaws.ecs"
        case .events: return "com.amazonaws.events"
        case .states: return "com.amazonaws.states"
        }
    }
}

extension FaultKind {
    /// The operations of `service` this kind can affect (what a selector may name).
    package func operations(of service: FaultService) -> [String] {
        guard services.contains(service) else { return [] }
        switch self {
        case .taskFailure, .taskCrash, .throttledStarts: return ["RunTask"]
        case .eventDeliveryFailure, .duplicateDelivery, .delayedDelivery, .reorderedDelivery: return ["InvokeTarget"]
        case .endpointOutage, .ledgerThrottling, .pipelineRestart: return service.operations
        }
    }

    /// Whether requests of `service` carry a bucket and key a selector can match.
    package static func carriesObject(_ service: FaultService) -> Bool {
        switch service {
        case .s3, .ecs, .events, .dynamodb: return true
        case .sqs, .states: return false
        }
    }
}
