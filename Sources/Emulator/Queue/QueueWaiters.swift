import Synchronization

/// Long-poll waiters per queue: ``wait(queue:after:timeout:)`` returns when a message is sent to
/// the queue (``signal(queue:)``), when `timeout` passes, or when the task is cancelled —
/// whichever comes first.
///
/// No lost wake-ups: a poller reads ``generation(queue:)`` *before* looking for messages and
/// passes it to `wait`, which returns at once when a signal came in between.
final class QueueWaiters: Sendable {
    private struct State {
        var waiters: [String: [Int: CheckedContinuation<Void, Never>]] = [:]
        var cancelledBeforeRegistering: Set<Int> = []
        var nextId = 0
        var generations: [String: UInt64] = [:]
    }

    private let state = Mutex(State())

    /// Increases with every signal of `queue`.
    func generation(queue: String) -> UInt64 {
        self.state.withLock { $0.generations[queue] ?? 0 }
    }

    func signal(queue: String) {
        let continuations = self.state.withLock { s in
            s.generations[queue, default: 0] &+= 1
            return s.waiters.removeValue(forKey: queue).map { Array($0.values) } ?? []
        }
        for c in continuations { c.resume() }
    }

    func wait(queue: String, after generation: UInt64, timeout: Duration) async {
        guard timeout > .zero else { return }
        let id = self.state.withLock { s in
            defer { s.nextId &+= 1 }
            return s.nextId
        }
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await withTaskCancellationHandler {
                    await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                        let resumeNow = self.state.withLock { s in
                            if s.cancelledBeforeRegistering.remove(id) != nil { return true }
                            if (s.generations[queue] ?? 0) != generation { return true }
                            s.waiters[queue, default: [:]][id] = c
                            return false
                        }
                        if resumeNow { c.resume() }
                    }
                } onCancel: {
                    let c = self.state.withLock { s in
                        if let c = s.waiters[queue]?.removeValue(forKey: id) { return Optional(c) }
                        s.cancelledBeforeRegistering.insert(id)
                        return nil
                    }
                    c?.resume()
                }
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
            }
            await group.next()
            group.cancelAll()
        }
        // A signal that raced with the cancellation may have left the id behind.
        self.state.withLock { s in _ = s.cancelledBeforeRegistering.remove(id) }
    }
}
