import Foundation

/// The message EventBridge puts on a target's dead-letter queue (the RetryQueue) when delivery
/// of an event is exhausted: the event JSON as body, and the attributes `RULE_ARN`,
/// `TARGET_ARN`, `ERROR_CODE`, `ERROR_MESSAGE`, `EXHAUSTED_RETRY_CONDITION` and
/// `RETRY_ATTEMPTS` (all `String`, as EventBridge sends them). Shared by the emulated RetryQueue
/// and the harness reading a deployed one with ``SQSClient``.
package struct DeadLetterMessage: Sendable, Hashable {
    /// Why retries stopped.
    package struct ExhaustedRetryCondition: RawRepresentable, Sendable, Hashable {
        package var rawValue: String
        package init(rawValue: String) { self.rawValue = rawValue }
        /// `MaximumRetryAttempts` reached.
        package static let maximumRetryAttempts = Self(rawValue: "MaximumRetryAttempts")
        /// `MaximumEventAgeInSeconds` passed.
        package static let maximumEventAge = Self(rawValue: "MaximumEventAgeInSeconds")
    }

    package var eventJSON: String
    package var ruleARN: String
    package var targetARN: String
    package var errorCode: String
    package var errorMessage: String
    /// nil for errors that are not retried (EventBridge then omits the attribute).
    package var exhaustedRetryCondition: ExhaustedRetryCondition?
    package var retryAttempts: Int

    package init(
        eventJSON: String, ruleARN: String, targetARN: String, errorCode: String, errorMessage: String,
        exhaustedRetryCondition: ExhaustedRetryCondition?, retryAttempts: Int
    ) {
        self.eventJSON = eventJSON
        self.ruleARN = ruleARN
        self.targetARN = targetARN
        self.errorCode = errorCode
        self.errorMessage = errorMessage
        self.exhaustedRetryCondition = exhaustedRetryCondition
        self.retryAttempts = retryAttempts
    }

    /// The message attributes, as SendMessage takes them.
    package var attributes: [String: SQSMessageAttribute] {
        var a: [String: SQSMessageAttribute] = [
            "RULE_ARN": .init(string: self.ruleARN),
            "TARGET_ARN": .init(string: self.targetARN),
            "ERROR_CODE": .init(string: self.errorCode),
            "ERROR_MESSAGE": .init(string: self.errorMessage),
            "RETRY_ATTEMPTS": .init(string: String(self.retryAttempts)),
        ]
        if let c = self.exhaustedRetryCondition { a["EXHAUSTED_RETRY_CONDITION"] = .init(string: c.rawValue) }
        return a
    }

    /// Reads a received message back (for `csvstorm redrive` and the audit); nil when the
    /// attributes are missing.
    package init?(body: String, attributes: [String: SQSMessageAttribute]) {
        guard let rule = attributes["RULE_ARN"]?.stringValue, let target = attributes["TARGET_ARN"]?.stringValue else { return nil }
        self.eventJSON = body
        self.ruleARN = rule
        self.targetARN = target
        self.errorCode = attributes["ERROR_CODE"]?.stringValue ?? ""
        self.errorMessage = attributes["ERROR_MESSAGE"]?.stringValue ?? ""
        self.exhaustedRetryCondition = attributes["EXHAUSTED_RETRY_CONDITION"]?.stringValue.map(ExhaustedRetryCondition.init(rawValue:))
        self.retryAttempts = attributes["RETRY_ATTEMPTS"]?.stringValue.flatMap { Int($0) } ?? 0
    }
}

extension DeadLetterMessage {
    /// Reads a message received with ``SQSClient/receiveMessage(queueURL:maxMessages:waitSeconds:visibilityTimeout:attributeNames:messageAttributeNames:)``.
    package init?(_ message: SQSClient.Message) {
        self.init(body: message.body, attributes: message.messageAttributes)
    }
}

extension SQSClient {
    /// Sends a dead-letter message (as EventBridge would) to `queueURL`.
    @discardableResult
    package func sendMessage(queueURL: String, deadLetter: DeadLetterMessage) async throws -> SendResult {
        try await self.sendMessage(queueURL: queueURL, body: deadLetter.eventJSON, attributes: deadLetter.attributes)
    }
}
