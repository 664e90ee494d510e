import AsyncHTTPClient
import Foundation
import Logging
import NIOConcurrencyHelpers

/// An SQS client on the JSON 1.0 protocol (`X-Amz-Target: AmazonSQS.<Op>`, what botocore ≥ 1.31
/// and the current SDKs use), on AsyncHTTPClient: every attempt signed with SigV4 (service
/// `sqs`, standard mode), retried through one shared ``StandardRetryStrategy``. Service errors
/// are ``AWSError``s with the JSON code (``AWSError/Code/queueDoesNotExist``). Received
/// messages are checked against `MD5OfBody` (and `MD5OfMessageAttributes`), as the SDKs do.
package struct SQSClient: Sendable {
    /// The service's name in endpoint host names.
    package enum Service: JSONService {
        package static let hostPrefix = "sqs"
    }

    package typealias Configuration = JSONServiceConfiguration<Service>

    /// A received message.
    package struct Message: Sendable, Hashable {
        package var messageId: String
        package var receiptHandle: String
        package var body: String
        package var md5OfBody: String
        package var attributes: [String: String]
        package var messageAttributes: [String: SQSMessageAttribute]
    }

    /// What SendMessage answered.
    package struct SendResult: Sendable, Hashable {
        package var messageId: String
        package var md5OfMessageBody: String
        package var md5OfMessageAttributes: String?
    }

    package let configuration: Configuration
    package var retryStrategy: StandardRetryStrategy { self.transport.retryStrategy }
    package var retryStatistics: RetryStatistics { self.transport.retryStrategy.statistics }
    let transport: JSONProtocolTransport

    package init(
        httpClient: HTTPClient,
        credentials: AWSCredentials,
        configuration: Configuration = Configuration(),
        retryStrategy: StandardRetryStrategy? = nil,
        logger: Logger? = nil
    ) {
        self.init(httpClient: httpClient, signing: .fixed(credentials), configuration: configuration, retryStrategy: retryStrategy, logger: logger)
    }

    package init(
        httpClient: HTTPClient,
        configuration: Configuration = Configuration(),
        retryStrategy: StandardRetryStrategy? = nil,
        logger: Logger? = nil,
        credentialsProvider: @escaping @Sendable () async throws -> AWSCredentials
    ) {
        self.init(
            httpClient: httpClient, signing: .provider(credentialsProvider, NIOLockedValueBox(nil)),
            configuration: configuration, retryStrategy: retryStrategy, logger: logger
        )
    }

    private init(httpClient: HTTPClient, signing: JSONSigningSource, configuration: Configuration, retryStrategy: StandardRetryStrategy?, logger: Logger?) {
        self.configuration = configuration
        self.transport = JSONProtocolTransport(
            httpClient: httpClient,
            endpoint: configuration.resolvedEndpoint,
            region: configuration.region,
            service: "sqs",
            targetPrefix: "AmazonSQS",
            signing: signing,
            retryStrategy: retryStrategy ?? StandardRetryStrategy(configuration: configuration.retry),
            requestTimeout: configuration.requestTimeout,
            maxResponseBytes: configuration.maxResponseBytes,
            logger: logger
        )
    }

    /// Creates a queue (idempotent with the same attributes) and returns its URL.
    @discardableResult
    package func createQueue(_ name: String, attributes: [String: String] = [:]) async throws -> String {
        var body: [String: JSONValue] = ["QueueName": .string(name)]
        if !attributes.isEmpty { body["Attributes"] = .object(attributes.mapValues(JSONValue.string)) }
        return try Self.string(try await self.transport.call("CreateQueue", .object(body)), "QueueUrl", operation: "CreateQueue")
    }

    package func getQueueUrl(_ name: String) async throws -> String {
        try Self.string(try await self.transport.call("GetQueueUrl", ["QueueName": .string(name)]), "QueueUrl", operation: "GetQueueUrl")
    }

    /// Attributes by name (default `All`), e.g. `ApproximateNumberOfMessages`.
    package func getQueueAttributes(queueURL: String, names: [String] = ["All"]) async throws -> [String: String] {
        let response = try await self.transport.call(
            "GetQueueAttributes", ["QueueUrl": .string(queueURL), "AttributeNames": .array(names.map(JSONValue.string))]
        )
        return (response["Attributes"]?.objectValue ?? [:]).compactMapValues(\.stringValue)
    }

    @discardableResult
    package func sendMessage(
        queueURL: String, body: String, attributes: [String: SQSMessageAttribute] = [:], delaySeconds: Int? = nil
    ) async throws -> SendResult {
        var request: [String: JSONValue] = ["QueueUrl": .string(queueURL), "MessageBody": .string(body)]
        if !attributes.isEmpty { request["MessageAttributes"] = .object(attributes.mapValues(\.json)) }
        if let delaySeconds { request["DelaySeconds"] = .number(Double(delaySeconds)) }
        let response = try await self.transport.call("SendMessage", .object(request))
        let result = SendResult(
            messageId: try Self.string(response, "MessageId", operation: "SendMessage"),
            md5OfMessageBody: try Self.string(response, "MD5OfMessageBody", operation: "SendMessage"),
            md5OfMessageAttributes: response["MD5OfMessageAttributes"]?.stringValue
        )
        guard result.md5OfMessageBody == SQSMessageDigest.md5(ofBody: body) else {
            throw AWSError(kind: .invalidResponse, operation: "SendMessage", message: "MD5OfMessageBody does not match the body sent")
        }
        if let md5 = result.md5OfMessageAttributes, md5 != SQSMessageDigest.md5(ofAttributes: attributes) {
            throw AWSError(kind: .invalidResponse, operation: "SendMessage", message: "MD5OfMessageAttributes does not match the attributes sent")
        }
        return result
    }

    /// Up to `maxMessages` (1–10) messages, waiting up to `waitSeconds` (0–20) for the first.
    package func receiveMessage(
        queueURL: String,
        maxMessages: Int = 1,
        waitSeconds: Int? = nil,
        visibilityTimeout: Int? = nil,
        attributeNames: [String] = ["All"],
        messageAttributeNames: [String] = ["All"]
    ) async throws -> [Message] {
        var request: [String: JSONValue] = [
            "QueueUrl": .string(queueURL),
            "MaxNumberOfMessages": .number(Double(maxMessages)),
            "MessageSystemAttributeNames": .array(attributeNames.map(JSONValue.string)),
            "AttributeNames": .array(attributeNames.map(JSONValue.string)),
            "MessageAttributeNames": .array(messageAttributeNames.map(JSONValue.string)),
        ]
        if let waitSeconds { request["WaitTimeSeconds"] = .number(Double(waitSeconds)) }
        if let visibilityTimeout { request["VisibilityTimeout"] = .number(Double(visibilityTimeout)) }
        let timeout = self.configuration.requestTimeout + .seconds(waitSeconds ?? 20)
        let response = try await self.transport.call("ReceiveMessage", .object(request), timeout: timeout)
        var messages: [Message] = []
        for m in response["Messages"]?.arrayValue ?? [] {
            var attributes: [String: SQSMessageAttribute] = [:]
            for (k, v) in m["MessageAttributes"]?.objectValue ?? [:] {
                guard let a = SQSMessageAttribute(json: v) else {
                    throw AWSError(kind: .invalidResponse, operation: "ReceiveMessage", message: "malformed message attribute \(k)")
                }
                attributes[k] = a
            }
            let message = Message(
                messageId: try Self.string(m, "MessageId", operation: "ReceiveMessage"),
                receiptHandle: try Self.string(m, "ReceiptHandle", operation: "ReceiveMessage"),
                body: m["Body"]?.stringValue ?? "",
                md5OfBody: m["MD5OfBody"]?.stringValue ?? "",
                attributes: (m["Attributes"]?.objectValue ?? [:]).compactMapValues(\.stringValue),
                messageAttributes: attributes
            )
            guard message.md5OfBody == SQSMessageDigest.md5(ofBody: message.body) else {
                throw AWSError(kind: .invalidResponse, operation: "ReceiveMessage", message: "MD5OfBody mismatch for message \(message.messageId)")
            }
            if let md5 = m["MD5OfMessageAttributes"]?.stringValue, md5 != SQSMessageDigest.md5(ofAttributes: attributes) {
                throw AWSError(kind: .invalidResponse, operation: "ReceiveMessage", message: "MD5OfMessageAttributes mismatch for message \(message.messageId)")
            }
            messages.append(message)
        }
        return messages
    }

    package func deleteMessage(queueURL: String, receiptHandle: String) async throws {
        _ = try await self.transport.call("DeleteMessage", ["QueueUrl": .string(queueURL), "ReceiptHandle": .string(receiptHandle)])
    }

    package func changeMessageVisibility(queueURL: String, receiptHandle: String, visibilityTimeout: Int) async throws {
        _ = try await self.transport.call(
            "ChangeMessageVisibility",
            ["QueueUrl": .string(queueURL), "ReceiptHandle": .string(receiptHandle), "VisibilityTimeout": .number(Double(visibilityTimeout))]
        )
    }

    package func purgeQueue(queueURL: String) async throws {
        _ = try await self.transport.call("PurgeQueue", ["QueueUrl": .string(queueURL)])
    }

    static func string(_ json: JSONValue, _ key: String, operation: String) throws -> String {
        guard let s = json[key]?.stringValue else {
            throw AWSError(kind: .invalidResponse, operation: operation, message: "no \(key) in the response")
        }
        return s
    }
}
