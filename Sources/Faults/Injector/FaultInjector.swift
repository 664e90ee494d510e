import Synchronization

/// Decides which request gets which fault, from a plan and a seed, and records every window
/// opening and closing and every injected fault.
///
/// Time is passed in (`elapsed`, since the start of the run), so the injector runs in real or
/// virtual time alike and is tested without clocks. Decisions are a pure function of the plan,
/// the seed and the sequence of requests each fault has matched: the Nth request a fault
/// matches in its window gets the same answer in every run (``FaultRandom``).
///
/// When several faults match one request, every one of them counts it and the first in plan
/// order that fires decides; a caller's ``FaultFilter`` limits "several" to the faults it can
/// act on. Thread-safe; calls from many tasks are serialized by a mutex held
/// for a few hundred nanoseconds.
package final class FaultInjector: Sendable {
    package let plan: FaultPlan
    package let seed: UInt64

    /// What each fault has seen so far.
    package struct Statistics: Sendable, Equatable, Codable {
        package var fault: Int
        package var kind: FaultKind
        /// Requests the fault's selector matched while its window was open.
        package var matched: Int
        /// Requests it was injected into.
        package var injected: Int
    }

    /// The lowered launch limits while throttled-starts windows are open (the most restrictive
    /// of the open ones, limit by limit); nil limits stay as configured.
    package struct ThrottledStarts: Sendable, Equatable {
        package var burst: Int?
        package var refillPerSecond: Double?
        package var maxRunning: Int?
    }

    /// A pipeline restart: stop at `at`, start again at `at + downtime`.
    package struct PipelineRestart: Sendable, Equatable {
        package var fault: Int
        package var at: Duration
        package var downtime: Duration
    }

    /// A fault whose window is open.
    package struct ActiveFault: Sendable, Equatable {
        package var fault: Int
        package var kind: FaultKind
        package var window: FaultWindow
        package var effect: FaultEffect
    }

    private struct State {
        var matched: [UInt64]
        var injected: [UInt64]
        /// Per fault: whether its opening / closing has been recorded.
        var opened: [Bool]
        var closed: [Bool]
        var records: [FaultRecord] = []
        var droppedRecords = 0
    }

    private let state: Mutex<State>
    /// Records kept until ``takeRecords()`` drains them; later ones are dropped and counted in
    /// ``droppedRecords``.
    package let recordLimit: Int

    /// - Parameter seed: overrides the plan's seed (e.g. `--seed` on the command line).
    package init(plan: FaultPlan, seed: UInt64? = nil, recordLimit: Int = 1_000_000) {
        self.plan = plan
        self.seed = seed ?? plan.seed
        self.recordLimit = max(1, recordLimit)
        let n = plan.faults.count
        self.state = Mutex(State(matched: Array(repeating: 0, count: n), injected: Array(repeating: 0, count: n), opened: Array(repeating: false, count: n), closed: Array(repeating: false, count: n)))
    }

    /// Whether the plan has any fault that acts per request (not only state changes).
    package var hasRequestFaults: Bool { plan.faults.contains { !$0.kind.isStateChange } }

    /// The fault to apply to `request` at `elapsed`, if any; recorded when there is one.
    ///
    /// `filter` names the faults the caller can act on (``FaultFilter``): only those count the
    /// request and draw for it, so a hook point never consumes another hook's `every: N` turns
    /// or probability draws. Callers that ask about one object at several points (the event
    /// bus: delivery, then each target attempt) pass each point's filter; `.any` only where
    /// every action can be applied.
    package func decide(_ request: FaultRequest, at elapsed: Duration, for filter: FaultFilter) -> FaultDecision? {
        let faults = plan.faults
        return state.withLock { state -> FaultDecision? in
            Self.advance(&state, faults: faults, to: elapsed, limit: recordLimit)
            var decision: FaultDecision?
            for (index, fault) in faults.enumerated() where !fault.kind.isStateChange && filter.admits(fault) {
                guard fault.window.contains(elapsed), fault.selector.matches(request, kind: fault.kind) else { continue }
                let counter = state.matched[index]
                state.matched[index] += 1
                guard decision == nil else { continue }
                let fires: Bool
                switch fault.intensity {
                case .always:
                    fires = true
                case .probability(let p):
                    fires = FaultRandom.unit(seed: seed, fault: index, counter: counter, salt: 0) < p
                case .everyNth(let n):
                    fires = (counter + 1) % UInt64(n) == 0
                case .rate(let perSecond):
                    let since = FaultDuration.seconds(elapsed - fault.window.start)
                    let allowed = UInt64(max(0, (since * perSecond).rounded(.down))) + 1
                    fires = state.injected[index] < allowed
                }
                guard fires else { continue }
                guard let action = Self.action(for: fault, request: request, seed: seed, index: index, counter: counter) else { continue }
                state.injected[index] += 1
                decision = FaultDecision(faultIndex: index, kind: fault.kind, action: action)
                Self.append(
                    FaultRecord(
                        event: .injected, elapsedSeconds: FaultDuration.seconds(elapsed), fault: index, kind: fault.kind, service: request.service,
                        operation: request.operation, bucket: request.bucket, key: request.key, action: action.description, source: fault.source?.description
                    ), to: &state, limit: recordLimit
                )
            }
            return decision
        }
    }

    private static func action(for fault: Fault, request: FaultRequest, seed: UInt64, index: Int, counter: UInt64) -> FaultDecision.Action? {
        func unit() -> Double { FaultRandom.unit(seed: seed, fault: index, counter: counter, salt: 1) }
        switch fault.effect {
        case .taskFailure(let code): return .failTask(exitCode: code)
        case .taskCrash(let fraction): return .crashTask(outputFraction: fraction)
        case .endpointOutage(let outage):
            switch outage {
            case .status503: return .respond(.unavailable(for: request.service))
            case .status500: return .respond(.internalError(for: request.service))
            case .reset: return .reset
            case .hang: return .hang
            case .latency(let base, let jitter): return .delay(base + jitter * unit())
            case .bandwidth(let rate): return .limitBandwidth(bytesPerSecond: rate)
            case .slicing(let bytes, let delay): return .slice(bytes: bytes, delay: delay)
            }
        case .eventDeliveryFailure(let code, let retryable):
            return .failDelivery(errorCode: code, message: "injected by csvstorm fault plan (fault \(index))", retryable: retryable)
        case .duplicateDelivery(let copies): return .duplicate(copies: copies)
        case .delayedDelivery(let delay, let jitter): return .delay(delay + jitter * unit())
        case .reorderedDelivery(let maxDelay): return .delay(maxDelay * unit())
        case .ledgerThrottling: return .respond(.provisionedThroughputExceeded)
        case .throttledStarts, .pipelineRestart: return nil
        }
    }

    /// Records the window openings and closings up to `elapsed` (``decide(_:at:)`` and the
    /// queries below do this too); returns nothing, read them with ``records`` or ``takeRecords()``.
    package func advance(to elapsed: Duration) {
        let faults = plan.faults
        state.withLock { Self.advance(&$0, faults: faults, to: elapsed, limit: recordLimit) }
    }

    private static func advance(_ state: inout State, faults: [Fault], to elapsed: Duration, limit: Int) {
        var due: [(at: Duration, index: Int, opening: Bool)] = []
        for (index, fault) in faults.enumerated() {
            if !state.opened[index], fault.window.start <= elapsed {
                state.opened[index] = true
                due.append((fault.window.start, index, true))
            }
            if !state.closed[index], let end = fault.window.end, end <= elapsed {
                state.closed[index] = true
                due.append((end, index, false))
            }
        }
        guard !due.isEmpty else { return }
        due.sort { ($0.at, $0.opening ? 1 : 0, $0.index) < ($1.at, $1.opening ? 1 : 0, $1.index) }
        for item in due {
            let fault = faults[item.index]
            var action: String?
            switch fault.effect {
            case .throttledStarts(let burst, let refill, let maxRunning) where item.opening:
                action = "launch limits: " + [burst.map { "burst \($0)" }, refill.map { "refill \($0)/s" }, maxRunning.map { "max running \($0)" }].compactMap { $0 }.joined(separator: ", ")
            case .pipelineRestart(let downtime) where item.opening:
                action = "pipeline stops for \(FaultDuration.text(downtime))"
            case .pipelineRestart where !item.opening:
                action = "pipeline starts again"
            default:
                action = nil
            }
            append(
                FaultRecord(
                    event: item.opening ? .windowOpened : .windowClosed, elapsedSeconds: FaultDuration.seconds(item.at), fault: item.index,
                    kind: fault.kind, action: action, source: fault.source?.description
                ), to: &state, limit: limit
            )
        }
    }

    private static func append(_ record: FaultRecord, to state: inout State, limit: Int) {
        guard state.records.count < limit else {
            state.droppedRecords += 1
            return
        }
        state.records.append(record)
    }

    // MARK: State changes

    /// The faults whose windows are open at `elapsed`.
    package func activeFaults(at elapsed: Duration) -> [ActiveFault] {
        advance(to: elapsed)
        return plan.faults.enumerated().compactMap { index, fault in
            fault.window.contains(elapsed) ? ActiveFault(fault: index, kind: fault.kind, window: fault.window, effect: fault.effect) : nil
        }
    }

    /// The launch limits in force at `elapsed` from throttled-starts windows, or nil when none
    /// is open (the configured limits apply).
    package func throttledStarts(at elapsed: Duration) -> ThrottledStarts? {
        var result: ThrottledStarts?
        for active in activeFaults(at: elapsed) {
            guard case .throttledStarts(let burst, let refill, let maxRunning) = active.effect else { continue }
            var current = result ?? ThrottledStarts()
            if let burst { current.burst = min(current.burst ?? burst, burst) }
            if let refill { current.refillPerSecond = min(current.refillPerSecond ?? refill, refill) }
            if let maxRunning { current.maxRunning = min(current.maxRunning ?? maxRunning, maxRunning) }
            result = current
        }
        return result
    }

    /// Every pipeline restart of the plan, by time.
    package var pipelineRestarts: [PipelineRestart] {
        plan.faults.enumerated().compactMap { index, fault -> PipelineRestart? in
            guard case .pipelineRestart(let downtime) = fault.effect else { return nil }
            return PipelineRestart(fault: index, at: fault.window.start, downtime: downtime)
        }.sorted { ($0.at, $0.fault) < ($1.at, $1.fault) }
    }

    // MARK: Records

    /// Every record so far (up to ``recordLimit``), in order.
    package var records: [FaultRecord] { state.withLock { $0.records } }

    /// The records so far, removed from the injector (for writing them out as a run goes).
    package func takeRecords() -> [FaultRecord] {
        state.withLock { state in
            defer { state.records.removeAll(keepingCapacity: true) }
            return state.records
        }
    }

    /// Records dropped because ``recordLimit`` was reached without ``takeRecords()``.
    package var droppedRecords: Int { state.withLock { $0.droppedRecords } }

    package var statistics: [Statistics] {
        state.withLock { state in
            plan.faults.enumerated().map { index, fault in
                Statistics(fault: index, kind: fault.kind, matched: Int(state.matched[index]), injected: Int(state.injected[index]))
            }
        }
    }
}
