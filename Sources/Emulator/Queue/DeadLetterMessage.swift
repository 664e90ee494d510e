import AWSWire

extension DeadLetterMessage {
    /// Enqueues this message on `queue`.
    @discardableResult
    package func send(to store: QueueStore, queue: String) async throws -> String {
        try await store.send(queue: queue, body: self.eventJSON, attributes: self.attributes).messageId
    }
}
