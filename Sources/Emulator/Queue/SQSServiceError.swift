/// An error the SQS JSON API answers with: `{"__type": "com.amazonaws.sqs#<Code>", "message": …}`
/// plus `x-amzn-query-error: <query code>;Sender`, from which botocore (awsQueryCompatible)
/// reports the query-protocol code, e.g. `AWS.SimpleQueueService.NonExistentQueue` for
/// `QueueDoesNotExist` — what boto3's `QueueDoesNotExist` exception class is matched on.
package struct SQSServiceError: Error, Sendable, Hashable, CustomStringConvertible {
    package struct Code: Hashable, Sendable {
        private enum Base: Hashable, Sendable {
            case queueDoesNotExist, queueNameExists, receiptHandleIsInvalid, invalidParameterValue
            case missingParameter, invalidAttributeName, unsupportedOperation, invalidMessageContents
            case overLimit, purgeQueueInProgress, messageNotInflight, internalError
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        package static let queueDoesNotExist = Code(.queueDoesNotExist)
        package static let queueNameExists = Code(.queueNameExists)
        package static let receiptHandleIsInvalid = Code(.receiptHandleIsInvalid)
        package static let invalidParameterValue = Code(.invalidParameterValue)
        package static let missingParameter = Code(.missingParameter)
        package static let invalidAttributeName = Code(.invalidAttributeName)
        package static let unsupportedOperation = Code(.unsupportedOperation)
        package static let invalidMessageContents = Code(.invalidMessageContents)
        package static let overLimit = Code(.overLimit)
        package static let purgeQueueInProgress = Code(.purgeQueueInProgress)
        package static let messageNotInflight = Code(.messageNotInflight)
        package static let internalError = Code(.internalError)

        /// The JSON protocol name (`__type` after `#`).
        package var name: String {
            switch self.base {
            case .queueDoesNotExist: "QueueDoesNotExist"
            case .queueNameExists: "QueueNameExists"
            case .receiptHandleIsInvalid: "ReceiptHandleIsInvalid"
            case .invalidParameterValue: "InvalidParameterValueException"
            case .missingParameter: "MissingParameter"
            case .invalidAttributeName: "InvalidAttributeName"
            case .unsupportedOperation: "UnsupportedOperation"
            case .invalidMessageContents: "InvalidMessageContents"
            case .overLimit: "OverLimit"
            case .purgeQueueInProgress: "PurgeQueueInProgress"
            case .messageNotInflight: "MessageNotInflight"
            case .internalError: "InternalError"
            }
        }

        /// The query protocol code (`x-amzn-query-error`).
        package var queryCode: String {
            switch self.base {
            case .queueDoesNotExist: "AWS.SimpleQueueService.NonExistentQueue"
            case .queueNameExists: "QueueAlreadyExists"
            case .receiptHandleIsInvalid: "ReceiptHandleIsInvalid"
            case .invalidParameterValue: "InvalidParameterValue"
            case .unsupportedOperation: "AWS.SimpleQueueService.UnsupportedOperation"
            case .purgeQueueInProgress: "AWS.SimpleQueueService.PurgeQueueInProgress"
            case .messageNotInflight: "AWS.SimpleQueueService.MessageNotInflight"
            default: self.name
            }
        }

        package var httpStatus: Int { self.base == .internalError ? 500 : 400 }
    }

    package var code: Code
    package var message: String

    package init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    package static func queueDoesNotExist() -> Self {
        Self(.queueDoesNotExist, "The specified queue does not exist.")
    }

    package static func invalid(_ message: String) -> Self { Self(.invalidParameterValue, message) }

    package var description: String { "\(self.code.name): \(self.message)" }
}
