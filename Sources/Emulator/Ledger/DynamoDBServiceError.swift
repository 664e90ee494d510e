import AWSWire

/// An error the DynamoDB API answers with: HTTP 400 and
/// `{"__type": "com.amazonaws.dynamodb.v20120810#<Code>", "message": "…"}`.
package struct DynamoDBServiceError: Error, Sendable, Hashable, CustomStringConvertible {
    package struct Code: Hashable, Sendable {
        private enum Base: String, Hashable, Sendable {
            case conditionalCheckFailed = "ConditionalCheckFailedException"
            case validation = "ValidationException"
            case resourceNotFound = "ResourceNotFoundException"
            case resourceInUse = "ResourceInUseException"
            case unknownOperation = "UnknownOperationException"
            case serialization = "SerializationException"
            case internalFailure = "InternalServerError"
            case throughputExceeded = "ProvisionedThroughputExceededException"
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        package static let conditionalCheckFailed = Code(.conditionalCheckFailed)
        package static let validation = Code(.validation)
        package static let resourceNotFound = Code(.resourceNotFound)
        package static let resourceInUse = Code(.resourceInUse)
        package static let unknownOperation = Code(.unknownOperation)
        package static let serialization = Code(.serialization)
        package static let internalFailure = Code(.internalFailure)
        /// What a ledger-throttling fault answers with (retried by the SDKs as throttling).
        package static let throughputExceeded = Code(.throughputExceeded)

        /// The wire name, e.g. `ConditionalCheckFailedException`.
        package var name: String { self.base.rawValue }
        /// `com.amazonaws.dynamodb.v20120810#<name>` (`__type`).
        package var type: String {
            self.base == .unknownOperation || self.base == .serialization
                ? "com.amazon.coral.service#\(self.name)" : "com.amazonaws.dynamodb.v20120810#\(self.name)"
        }
        package var httpStatus: Int { self.base == .internalFailure ? 500 : 400 }
    }

    package var code: Code
    package var message: String
    /// For ConditionalCheckFailed with `ReturnValuesOnConditionCheckFailure: ALL_OLD`.
    package var item: DynamoDBItem?

    package init(_ code: Code, _ message: String, item: DynamoDBItem? = nil) {
        self.code = code
        self.message = message
        self.item = item
    }

    package static func conditionalCheckFailed(item: DynamoDBItem? = nil) -> Self {
        Self(.conditionalCheckFailed, "The conditional request failed", item: item)
    }

    package static func validation(_ message: String) -> Self { Self(.validation, message) }

    package static func tableNotFound(_ table: String) -> Self {
        Self(.resourceNotFound, "Requested resource not found: Table: \(table) not found")
    }

    package var description: String { "\(self.code.name): \(self.message)" }
}
