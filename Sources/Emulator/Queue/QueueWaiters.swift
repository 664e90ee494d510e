import Synchronization

/// Long-poll waiters per queue: ``wait(queue:timeout:)`` returns when a message is sent to the
/// queue (``signal(queue:)``), when `timeout` passes, or when the task is cancelled —
/// whichever comes first.
final class QueueWaiters: Sendable {
    private struct State {
        var waiters: [String: [Int: CheckedContinuation<Void, Never>]] = [:]
        var cancelledBeforeRegistering: Set<Int> = []
        var nextId = 0
    }

    private let state = Mutex(State())

    func signal(queue: String) {
        let continuations = self.state.withLock { s in s.waiters.removeValue(forKey: queue).map { Array($0.values) } ?? [] }
        for c in continuations { c.resume() }
    }

    func wait(queue: String, timeout: Duration) async {
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
