import Logging
import ServiceLifecycle

/// Delivers stored Object Created events to the sink, in creation order, at least once.
///
/// Woken after every commit (``notify()``); also delivers what a previous run left pending.
/// A failing sink is retried with capped backoff; the event stays pending (and is delivered
/// after a restart) until the sink accepts it.
final class EventOutbox: Service {
    private let store: MetadataStore
    private let sink: (any ObjectEventSink)?
    private let recorder: ObjectEventRecorder
    private let logger: Logger
    private let wake: AsyncStream<Void>
    private let wakeContinuation: AsyncStream<Void>.Continuation

    init(store: MetadataStore, sink: (any ObjectEventSink)?, recorder: ObjectEventRecorder, logger: Logger) {
        self.store = store
        self.sink = sink
        self.recorder = recorder
        self.logger = logger
        (self.wake, self.wakeContinuation) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    /// Something was committed: deliver it soon.
    func notify() {
        self.wakeContinuation.yield()
    }

    func run() async throws {
        self.notify()
        var backoff: Duration = .milliseconds(50)
        for await _ in self.wake.cancelOnGracefulShutdown() {
            do {
                try await self.deliverPending()
                backoff = .milliseconds(50)
            } catch is CancellationError {
                return
            } catch {
                self.logger.warning("event delivery failed; retrying", metadata: ["error": "\(error)", "backoff": "\(backoff)"])
                do {
                    try await Task.sleep(for: backoff)
                } catch {
                    return
                }
                backoff = min(backoff * 2, .seconds(5))
                self.notify()
            }
        }
    }

    private func deliverPending() async throws {
        while true {
            let batch = try await self.store.pendingEvents(limit: 256)
            if batch.isEmpty { return }
            if let sink = self.sink as? any ObjectEventBatchSink {
                // All or nothing: one transaction on each side, however many events piled up.
                try Task.checkCancellation()
                try await sink.deliver(batch: batch.map(\.event))
                for (_, event) in batch { self.recorder.record(event) }
                try await self.store.markDelivered(batch.map(\.seq))
                continue
            }
            for (seq, event) in batch {
                try Task.checkCancellation()
                if let sink = self.sink { try await sink.deliver(event) }
                self.recorder.record(event)
                try await self.store.markDelivered(seq)
            }
        }
    }
}
