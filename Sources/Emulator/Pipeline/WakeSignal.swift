import Synchronization

/// A wake-up flag for one waiting loop: ``signal()`` sets it (waking the waiter if there is
/// one); ``wait(atMost:)`` returns when it is set (clearing it) or after the timeout. Unlike an
/// `AsyncStream`, a wait that times out or is cancelled leaves the signal usable.
final class WakeSignal: Sendable {
    private struct State {
        var pending = false
        var finished = false
        var waiter: CheckedContinuation<Void, Never>?
        /// The current wait, and the last one whose timeout passed (or was cancelled).
        var wait = 0
        var expired = 0
    }

    private let state = Mutex(State())

    func signal() {
        let waiter = self.state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.pending = true
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    /// Wakes the waiter for good: every later wait returns false at once.
    func finish() {
        let waiter = self.state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.finished = true
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    /// Waits for a signal, at most `timeout`. Returns false once finished (or cancelled).
    func wait(atMost timeout: Duration) async -> Bool {
        let id = self.state.withLock { state -> Int in
            state.wait += 1
            return state.wait
        }
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                try? await Task.sleep(for: timeout)
                self.expire(id)
            }
            await withTaskCancellationHandler {
                await withCheckedContinuation { continuation in
                    let resumeNow = self.state.withLock { state -> Bool in
                        if state.pending || state.finished || state.expired >= id { return true }
                        state.waiter = continuation
                        return false
                    }
                    if resumeNow { continuation.resume() }
                }
            } onCancel: {
                self.expire(id)
            }
            group.cancelAll()
        }
        return self.state.withLock { state in
            state.pending = false
            return !state.finished && !Task.isCancelled
        }
    }

    private func expire(_ id: Int) {
        let waiter = self.state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.expired = max(state.expired, id)
            guard state.wait == id else { return nil }
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }
}
