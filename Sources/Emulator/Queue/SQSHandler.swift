import AWSWire
import Foundation

/// The SQS JSON 1.0 API (`X-Amz-Target: AmazonSQS.<Op>`, `application/x-amz-json-1.0`) over a
/// ``QueueStore``: CreateQueue, GetQueueUrl, ListQueues, DeleteQueue, GetQueueAttributes,
/// SetQueueAttributes, SendMessage, ReceiveMessage (long polling up to 20 s, woken by sends),
/// DeleteMessage, ChangeMessageVisibility, PurgeQueue.
///
/// Independent of the HTTP server: ``handle(target:body:host:)`` returns status, headers and body.
/// Queue URLs are `http://<host>/<accountId>/<name>`; requests are matched on the last path
/// component of `QueueUrl`, so any host works.
package struct SQSHandler: Sendable {
    package static let targetPrefix = "AmazonSQS."

    package let store: QueueStore
    /// Host (and port) for queue URLs when the request's Host is not passed.
    package let defaultHost: String
    package let accountId: String
    package let region: String
    let waiters = QueueWaiters()
    /// Poll interval while long-polling, for messages whose visibility timeout or delay ends
    /// during the wait (sends wake waiters at once).
    let pollInterval: Duration

    package init(store: QueueStore, defaultHost: String = "127.0.0.1:4566", accountId: String = "000000000000", region: String = "us-east-1", pollInterval: Duration = .milliseconds(250)) {
        self.store = store
        self.defaultHost = defaultHost
        self.accountId = accountId
        self.region = region
        self.pollInterval = pollInterval
    }

    /// Handles one request. `target` is the `X-Amz-Target` header; `host` the request's Host
    /// header (for the queue URLs returned).
    package func handle(target: String, body: [UInt8], host: String? = nil) async -> JSONProtocolResponse {
        guard target.hasPrefix(Self.targetPrefix) else {
            return .error(status: 400, type: "com.amazon.coral.service#UnknownOperationException", message: "Unknown target \(target)")
        }
        let operation = String(target.dropFirst(Self.targetPrefix.count))
        let request: [String: JSONValue]
        do {
            guard case .object(let o) = try JSONValue.parse(body.isEmpty ? Array("{}".utf8) : body) else {
                return .error(status: 400, type: "com.amazon.coral.service#SerializationException", message: "expected a JSON object")
            }
            request = o
        } catch {
            return .error(status: 400, type: "com.amazon.coral.service#SerializationException", message: error.message)
        }
        do {
            return .ok(try await self.dispatch(operation, request, host: host ?? self.defaultHost))
        } catch let error as SQSServiceError {
            return Self.response(for: error)
        } catch {
            return Self.response(for: SQSServiceError(.internalError, "\(error)"))
        }
    }

    static func response(for error: SQSServiceError) -> JSONProtocolResponse {
        .error(
            status: error.code.httpStatus, type: "com.amazonaws.sqs#\(error.code.name)", message: error.message,
            extraHeaders: [(name: "x-amzn-query-error", value: "\(error.code.queryCode);Sender")]
        )
    }

    func url(_ name: String, host: String) -> String { "http://\(host)/\(self.accountId)/\(name)" }

    func dispatch(_ operation: String, _ r: [String: JSONValue], host: String) async throws -> JSONValue {
        switch operation {
        case "CreateQueue":
            let name = try Self.string(r, "QueueName")
            try await self.store.createQueue(name, attributes: Self.stringMap(r["Attributes"]))
            return ["QueueUrl": .string(self.url(name, host: host))]
        case "GetQueueUrl":
            let name = try Self.string(r, "QueueName")
            _ = try await self.store.queue(name)
            return ["QueueUrl": .string(self.url(name, host: host))]
        case "ListQueues":
            let names = try await self.store.queueNames(prefix: r["QueueNamePrefix"]?.stringValue ?? "")
            return ["QueueUrls": .array(names.prefix(1000).map { .string(self.url($0, host: host)) })]
        case "DeleteQueue":
            try await self.store.deleteQueue(try Self.queueName(r))
            return [:]
        case "GetQueueAttributes":
            return try await self.getQueueAttributes(r)
        case "SetQueueAttributes":
            try await self.store.setAttributes(queue: try Self.queueName(r), Self.stringMap(r["Attributes"]))
            return [:]
        case "SendMessage":
            return try await self.sendMessage(r)
        case "ReceiveMessage":
            return try await self.receiveMessage(r)
        case "DeleteMessage":
            try await self.store.delete(queue: try Self.queueName(r), receiptHandle: try Self.string(r, "ReceiptHandle"))
            return [:]
        case "ChangeMessageVisibility":
            guard let timeout = r["VisibilityTimeout"]?.intValue, (0...43_200).contains(timeout) else {
                throw SQSServiceError.invalid("Value for parameter VisibilityTimeout is invalid. Reason: Must be between 0 and 43200.")
            }
            let name = try Self.queueName(r)
            try await self.store.changeVisibility(queue: name, receiptHandle: try Self.string(r, "ReceiptHandle"), timeout: timeout)
            if timeout == 0 { self.waiters.signal(queue: name) }
            return [:]
        case "PurgeQueue":
            try await self.store.purge(queue: try Self.queueName(r))
            return [:]
        default:
            throw SQSServiceError(.unsupportedOperation, "Unsupported operation: \(operation)")
        }
    }

    func getQueueAttributes(_ r: [String: JSONValue]) async throws -> JSONValue {
        let name = try Self.queueName(r)
        let q = try await self.store.queue(name)
        let counts = try await self.store.counts(queue: name)
        var all: [String: String] = [
            "QueueArn": "arn:aws:sqs:\(self.region):\(self.accountId):\(name)",
            "ApproximateNumberOfMessages": String(counts.visible),
            "ApproximateNumberOfMessagesNotVisible": String(counts.inFlight),
            "ApproximateNumberOfMessagesDelayed": String(counts.delayed),
            "CreatedTimestamp": String(Int(q.createdAt.timeIntervalSince1970)),
            "LastModifiedTimestamp": String(Int(q.createdAt.timeIntervalSince1970)),
            "VisibilityTimeout": String(q.visibilityTimeout),
            "MaximumMessageSize": String(q.maximumMessageSize),
            "MessageRetentionPeriod": String(q.messageRetentionPeriod),
            "DelaySeconds": String(q.delaySeconds),
            "ReceiveMessageWaitTimeSeconds": String(q.receiveMessageWaitTimeSeconds),
            "SqsManagedSseEnabled": "false",
        ]
        for (k, v) in q.otherAttributes { all[k] = v }
        let requested = (r["AttributeNames"]?.arrayValue ?? []).compactMap(\.stringValue)
        var out: [String: JSONValue] = [:]
        if requested.contains("All") {
            out = all.mapValues(JSONValue.string)
        } else {
            for n in requested {
                guard let v = all[n] else { throw SQSServiceError(.invalidAttributeName, "Unknown Attribute \(n).") }
                out[n] = .string(v)
            }
        }
        return out.isEmpty ? [:] : ["Attributes": .object(out)]
    }

    func sendMessage(_ r: [String: JSONValue]) async throws -> JSONValue {
        let name = try Self.queueName(r)
        let body = try Self.string(r, "MessageBody")
        guard !body.isEmpty else { throw SQSServiceError(.missingParameter, "The request must contain the parameter MessageBody.") }
        var attributes: [String: SQSMessageAttribute] = [:]
        for (k, v) in r["MessageAttributes"]?.objectValue ?? [:] {
            guard let a = SQSMessageAttribute(json: v), a.dataType.hasPrefix("String") || a.dataType.hasPrefix("Number") || a.dataType.hasPrefix("Binary"),
                a.isBinary ? a.binaryValue != nil : a.stringValue != nil
            else {
                throw SQSServiceError.invalid("The message attribute '\(k)' has an invalid message attribute type or value.")
            }
            attributes[k] = a
        }
        guard attributes.count <= 10 else { throw SQSServiceError.invalid("Number of message attributes [\(attributes.count)] exceeds the allowed maximum [10].") }
        var delay: Int?
        if let d = r["DelaySeconds"] {
            guard let v = d.intValue, (0...900).contains(v) else { throw SQSServiceError.invalid("Value for parameter DelaySeconds is invalid. Reason: Must be between 0 and 900.") }
            delay = v
        }
        let sent = try await self.store.send(queue: name, body: body, attributes: attributes, delaySeconds: delay)
        self.waiters.signal(queue: name)
        var out: [String: JSONValue] = ["MessageId": .string(sent.messageId), "MD5OfMessageBody": .string(sent.md5OfBody)]
        if let md5 = sent.md5OfAttributes { out["MD5OfMessageAttributes"] = .string(md5) }
        return .object(out)
    }

    func receiveMessage(_ r: [String: JSONValue]) async throws -> JSONValue {
        let name = try Self.queueName(r)
        let q = try await self.store.queue(name)
        let max = r["MaxNumberOfMessages"]?.intValue ?? 1
        guard (1...10).contains(max) else {
            throw SQSServiceError.invalid("Value \(max) for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided.")
        }
        let wait = r["WaitTimeSeconds"]?.intValue ?? q.receiveMessageWaitTimeSeconds
        guard (0...20).contains(wait) else {
            throw SQSServiceError.invalid("Value \(wait) for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and <= 20, if provided.")
        }
        var visibility: Int?
        if let v = r["VisibilityTimeout"] {
            guard let n = v.intValue, (0...43_200).contains(n) else {
                throw SQSServiceError.invalid("Value for parameter VisibilityTimeout is invalid. Reason: Must be between 0 and 43200.")
            }
            visibility = n
        }
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(wait)
        var generation = self.waiters.generation(queue: name)
        var messages = try await self.store.receive(queue: name, maxMessages: max, visibilityTimeout: visibility)
        // Long poll: bounded by WaitTimeSeconds (≤ 20 s); woken by a send, re-checked every poll interval.
        while messages.isEmpty, clock.now < deadline, !Task.isCancelled {
            await self.waiters.wait(queue: name, after: generation, timeout: min(deadline - clock.now, self.pollInterval))
            generation = self.waiters.generation(queue: name)
            messages = try await self.store.receive(queue: name, maxMessages: max, visibilityTimeout: visibility)
        }
        let wantedSystem = Set(((r["MessageSystemAttributeNames"]?.arrayValue ?? []) + (r["AttributeNames"]?.arrayValue ?? [])).compactMap(\.stringValue))
        let wantedAttributes = (r["MessageAttributeNames"]?.arrayValue ?? []).compactMap(\.stringValue)
        return ["Messages": .array(messages.map { self.json($0, system: wantedSystem, attributes: wantedAttributes) })]
    }

    func json(_ m: QueueStore.Message, system: Set<String>, attributes wanted: [String]) -> JSONValue {
        var o: [String: JSONValue] = [
            "MessageId": .string(m.messageId), "ReceiptHandle": .string(m.receiptHandle),
            "MD5OfBody": .string(m.md5OfBody), "Body": .string(m.body),
        ]
        let all: [String: String] = [
            "SenderId": self.accountId,
            "SentTimestamp": String(Int64(m.sentAt.timeIntervalSince1970 * 1000)),
            "ApproximateReceiveCount": String(m.receiveCount),
            "ApproximateFirstReceiveTimestamp": String(Int64(m.firstReceivedAt.timeIntervalSince1970 * 1000)),
        ]
        let systemAttributes = system.contains("All") ? all : all.filter { system.contains($0.key) }
        if !systemAttributes.isEmpty { o["Attributes"] = .object(systemAttributes.mapValues(JSONValue.string)) }
        // Message attributes: by name, `All`/`.*`, or a `prefix.*`.
        let selected = m.attributes.filter { name, _ in
            wanted.contains { w in
                w == "All" || w == ".*" || w == name || (w.hasSuffix(".*") && name.hasPrefix(String(w.dropLast(1))))
            }
        }
        if !selected.isEmpty {
            o["MessageAttributes"] = .object(selected.mapValues(\.json))
            if let md5 = SQSMessageDigest.md5(ofAttributes: selected) { o["MD5OfMessageAttributes"] = .string(md5) }
        }
        return .object(o)
    }

    // MARK: - Request helpers

    static func string(_ r: [String: JSONValue], _ field: String) throws(SQSServiceError) -> String {
        guard let s = r[field]?.stringValue else { throw SQSServiceError(.missingParameter, "The request must contain the parameter \(field).") }
        return s
    }

    /// The queue name: the last path component of `QueueUrl`.
    static func queueName(_ r: [String: JSONValue]) throws(SQSServiceError) -> String {
        let url = try Self.string(r, "QueueUrl")
        guard let name = url.split(separator: "/").last, !name.isEmpty else { throw SQSServiceError.queueDoesNotExist() }
        return String(name)
    }

    static func stringMap(_ v: JSONValue?) -> [String: String] {
        (v?.objectValue ?? [:]).compactMapValues { $0.stringValue ?? $0.intValue.map(String.init) }
    }
}

extension SQSHandler {
    /// Enqueues a dead-letter message on `queue` and wakes its long polls (what the event bus
    /// calls when delivery is exhausted).
    @discardableResult
    package func sendDeadLetter(_ message: DeadLetterMessage, queue: String) async throws -> String {
        let id = try await message.send(to: self.store, queue: queue)
        self.waiters.signal(queue: queue)
        return id
    }
}
