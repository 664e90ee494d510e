import Faults
import Foundation
import NIOCore
import Synchronization

/// A fault plan in force in an emulator, with the clock its windows count on.
package struct FaultInjection: Sendable {
    package var injector: FaultInjector
    /// Time since the plan's start: the run's clock in `csvstorm run`, the time since it was
    /// applied for a plan applied over HTTP.
    package var elapsed: @Sendable () -> Duration
    /// Where the plan came from (a file name, `POST /_csvstorm/faults`), for status answers.
    package var source: String

    package init(injector: FaultInjector, source: String = "configuration", elapsed: @escaping @Sendable () -> Duration) {
        self.injector = injector
        self.elapsed = elapsed
        self.source = source
    }

    /// A plan whose clock starts now.
    package static func startingNow(_ injector: FaultInjector, source: String) -> FaultInjection {
        let clock = ContinuousClock()
        let start = clock.now
        return FaultInjection(injector: injector, source: source) { clock.now - start }
    }
}

/// The emulator's optional active fault plan: the one injector that the endpoint hook (S3,
/// DynamoDB, SQS, Step Functions requests), the pipeline hooks (``PipelineFaultHooks``) and the
/// pipeline-restart supervisor all consult. Set at start (``EmulatorConfiguration/faults``),
/// replaced by `POST /_csvstorm/faults`, removed by `DELETE`.
///
/// Also owns the requests a `hang` fault holds: they are let go (their connection closed
/// without an answer) when the emulator shuts down, so a hang never blocks a graceful stop.
package final class EmulatorFaults: Sendable {
    private struct State {
        var active: FaultInjection?
        var appliedAt: Date?
        /// Increases with every apply or clear.
        var generation = 0
        var shuttingDown = false
        var hangs: [Int: @Sendable () -> Void] = [:]
        var nextHang = 0
    }

    private let state = Mutex(State())
    /// Signalled on every apply, clear and shutdown (the restart supervisor waits on it).
    let changes = WakeSignal()
    /// The longest a `hang` holds a request when neither the client nor a shutdown ends it first.
    let maximumHang: Duration

    package init(initial: FaultInjection? = nil, maximumHang: Duration = .seconds(900)) {
        self.maximumHang = maximumHang
        self.state.withLock {
            $0.active = initial
            $0.appliedAt = initial == nil ? nil : Date()
        }
    }

    /// The plan in force, if any.
    package var active: FaultInjection? { self.state.withLock { $0.active } }

    /// When the plan in force was applied.
    package var appliedAt: Date? { self.state.withLock { $0.appliedAt } }

    /// Puts `injection` in force (replacing any plan).
    package func apply(_ injection: FaultInjection) {
        self.state.withLock {
            $0.active = injection
            $0.appliedAt = Date()
            $0.generation += 1
        }
        self.changes.signal()
    }

    /// Removes the plan in force and answers it (nil when there was none).
    @discardableResult
    package func clear() -> FaultInjection? {
        let previous = self.state.withLock { state -> FaultInjection? in
            defer {
                state.active = nil
                state.appliedAt = nil
                state.generation += 1
            }
            return state.active
        }
        self.changes.signal()
        return previous
    }

    /// The active plan's decision for `request` now among the faults `filter` admits (recorded
    /// by the injector), or nil.
    package func decide(_ request: FaultRequest, for filter: FaultFilter) -> FaultDecision? {
        guard let active = self.active else { return nil }
        return active.injector.decide(request, at: active.elapsed(), for: filter)
    }

    /// The pipeline restarts of the plan in force, for the restart supervisor: which plan
    /// (``generation`` changes with every apply and clear), its restarts by time, and the plan's
    /// clock now. nil when no plan is in force.
    func restartSchedule() -> RestartSchedule? {
        let (active, generation) = self.state.withLock { ($0.active, $0.generation) }
        guard let active else { return nil }
        let now = active.elapsed()
        active.injector.advance(to: now)
        return RestartSchedule(generation: generation, restarts: active.injector.pipelineRestarts, elapsed: now)
    }

    /// Increases with every apply and clear.
    var generation: Int { self.state.withLock { $0.generation } }

    // MARK: Hangs and shutdown

    /// Lets every held request go and makes later hangs end at once.
    func shutdown() {
        let releases = self.state.withLock { state -> [@Sendable () -> Void] in
            state.shuttingDown = true
            defer { state.hangs.removeAll() }
            return Array(state.hangs.values)
        }
        for release in releases { release() }
        self.changes.finish()
    }

    /// Holds the caller until the connection closes (the client gave up), the emulator shuts
    /// down, the task is cancelled or ``maximumHang`` passes.
    func hang(on channel: any Channel) async {
        let once = ResumeOnce()
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                once.set(continuation)
                let id = self.state.withLock { state -> Int? in
                    guard !state.shuttingDown else { return nil }
                    let id = state.nextHang
                    state.nextHang += 1
                    state.hangs[id] = { once.resume() }
                    return id
                }
                guard let id else {
                    once.resume()
                    return
                }
                channel.closeFuture.whenComplete { _ in once.resume() }
                let nanoseconds = Int64(self.maximumHang.components.seconds) * 1_000_000_000
                let timer = channel.eventLoop.scheduleTask(in: .nanoseconds(nanoseconds)) { once.resume() }
                once.onResume {
                    timer.cancel()
                    _ = self.state.withLock { $0.hangs.removeValue(forKey: id) }
                }
            }
        } onCancel: {
            once.resume()
        }
    }
}

/// A continuation resumed exactly once, whoever comes first.
private final class ResumeOnce: Sendable {
    private struct State {
        var continuation: CheckedContinuation<Void, Never>?
        var resumed = false
        var cleanup: (@Sendable () -> Void)?
    }

    private let state = Mutex(State())

    func set(_ continuation: CheckedContinuation<Void, Never>) {
        let resumeNow = self.state.withLock { state -> Bool in
            if state.resumed { return true }
            state.continuation = continuation
            return false
        }
        if resumeNow { continuation.resume() }
    }

    func onResume(_ cleanup: @escaping @Sendable () -> Void) {
        let runNow = self.state.withLock { state -> Bool in
            if state.resumed { return true }
            state.cleanup = cleanup
            return false
        }
        if runNow { cleanup() }
    }

    func resume() {
        let (continuation, cleanup) = self.state.withLock { state -> (CheckedContinuation<Void, Never>?, (@Sendable () -> Void)?) in
            guard !state.resumed else { return (nil, nil) }
            state.resumed = true
            defer {
                state.continuation = nil
                state.cleanup = nil
            }
            return (state.continuation, state.cleanup)
        }
        cleanup?()
        continuation?.resume()
    }
}

/// See ``EmulatorFaults/restartSchedule()``.
struct RestartSchedule: Sendable {
    var generation: Int
    var restarts: [FaultInjector.PipelineRestart]
    var elapsed: Duration
}
