import Synchronization

/// Where the emulator delivers ``ObjectCreatedEvent``s: the pipeline's event bus (next issue),
/// or a recorder in tests.
///
/// Delivery is at least once, like EventBridge: every event is first stored with the object
/// (same SQLite transaction), then handed to the sink in the order events were created; an
/// event is marked delivered only after ``deliver(_:)`` returns. A throw leaves the event (and
/// those after it) pending: delivery is retried with backoff, and after a restart. So a crash
/// between `deliver` and the mark delivers the event again: consumers deduplicate by event `id`
/// or by (bucket, key, sequencer).
package protocol ObjectEventSink: Sendable {
    func deliver(_ event: ObjectCreatedEvent) async throws
}

/// A sink that takes a batch of events at once, all or nothing (the pipeline stores a batch in
/// one inbox transaction). The outbox then marks the batch delivered in one transaction too;
/// at-least-once and creation order are unchanged.
package protocol ObjectEventBatchSink: ObjectEventSink {
    /// Accepts every event of `events` (in order), or throws having accepted none.
    func deliver(batch events: [ObjectCreatedEvent]) async throws
}

/// A sink made of a closure.
package struct ObjectEventClosureSink: ObjectEventSink {
    private let body: @Sendable (ObjectCreatedEvent) async throws -> Void
    package init(_ body: @escaping @Sendable (ObjectCreatedEvent) async throws -> Void) { self.body = body }
    package func deliver(_ event: ObjectCreatedEvent) async throws { try await self.body(event) }
}

/// An in-memory observer of delivered events: a snapshot, and streams that replay what was seen
/// and then follow. The emulator always feeds one (``Emulator/events``), besides the configured
/// sink. It keeps the most recent `historyLimit` events (memory stays bounded in long runs;
/// the SQLite outbox keeps them all).
package final class ObjectEventRecorder: ObjectEventSink, Sendable {
    private struct State {
        var events: [ObjectCreatedEvent] = []
        var dropped = 0
        var subscribers: [Int: AsyncStream<ObjectCreatedEvent>.Continuation] = [:]
        var nextSubscriber = 0
    }

    private let state = Mutex(State())
    /// How many events are kept for ``events`` and for replay to new streams.
    package let historyLimit: Int

    package init(historyLimit: Int = 100_000) {
        self.historyLimit = max(1, historyLimit)
    }

    package func deliver(_ event: ObjectCreatedEvent) async throws {
        self.record(event)
    }

    package func record(_ event: ObjectCreatedEvent) {
        let limit = self.historyLimit
        let subscribers = self.state.withLock { state in
            state.events.append(event)
            if state.events.count > limit + limit / 4 {
                let excess = state.events.count - limit
                state.events.removeFirst(excess)
                state.dropped += excess
            }
            return Array(state.subscribers.values)
        }
        for subscriber in subscribers { subscriber.yield(event) }
    }

    /// The events delivered so far (the most recent ``historyLimit`` or a few more), in delivery order.
    package var events: [ObjectCreatedEvent] { self.state.withLock { $0.events } }

    /// How many events were delivered in total.
    package var deliveredCount: Int { self.state.withLock { $0.dropped + $0.events.count } }

    /// Replays every event seen so far, then follows new ones until the recorder is finished.
    package func stream() -> AsyncStream<ObjectCreatedEvent> {
        let (stream, continuation) = AsyncStream<ObjectCreatedEvent>.makeStream()
        let id = self.state.withLock { state in
            for event in state.events { continuation.yield(event) }
            let id = state.nextSubscriber
            state.nextSubscriber += 1
            state.subscribers[id] = continuation
            return id
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.state.withLock { $0.subscribers.removeValue(forKey: id) }
        }
        return stream
    }

    /// Ends every stream (the emulator calls this on shutdown).
    package func finish() {
        let subscribers = self.state.withLock { state in
            defer { state.subscribers.removeAll() }
            return Array(state.subscribers.values)
        }
        for subscriber in subscribers { subscriber.finish() }
    }

    /// Waits until `predicate` holds for the events seen so far, at most `timeout`.
    /// Returns the events at that moment; throws ``Timeout`` otherwise.
    package func wait(
        timeout: Duration = .seconds(10),
        until predicate: @escaping @Sendable ([ObjectCreatedEvent]) -> Bool
    ) async throws -> [ObjectCreatedEvent] {
        try await withThrowingTaskGroup(of: [ObjectCreatedEvent]?.self) { group in
            group.addTask {
                var seen: [ObjectCreatedEvent] = []
                if predicate(seen) { return seen }
                for await event in self.stream() {
                    seen.append(event)
                    if predicate(seen) { return seen }
                }
                return nil
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            let first = try await group.next() ?? nil
            group.cancelAll()
            guard let first else { throw Timeout(timeout: timeout, seen: self.events.count) }
            return first
        }
    }

    package struct Timeout: Error, CustomStringConvertible {
        package var timeout: Duration
        package var seen: Int
        package var description: String { "no matching events within \(self.timeout) (\(self.seen) seen)" }
    }
}
