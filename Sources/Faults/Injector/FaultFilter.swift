/// The faults a caller of ``FaultInjector/decide(_:at:for:)`` can act on.
///
/// A hook asks only about the kinds (and, for `endpoint-outage`, the effects) it can apply.
/// Faults outside the filter neither count the request nor draw for it, so a fault's `every: N`
/// and its probability draws follow the requests at the hooks that act on it — never the
/// questions another hook asks about the same object. Example: the event bus asks about an
/// event's delivery (delay, duplicate) once per event and about its target invocation
/// (failure) once per attempt; without a filter a `duplicate-delivery` with `every: 3` would
/// count both questions and fire on the wrong events.
package struct FaultFilter: Sendable, Hashable {
    /// Kinds admitted; nil: every kind.
    package var kinds: Set<FaultKind>?
    /// `endpoint-outage` effects admitted (``OutageEffect/name``); nil: every effect.
    package var outageEffects: Set<String>?

    package init(kinds: Set<FaultKind>? = nil, outageEffects: Set<String>? = nil) {
        self.kinds = kinds
        self.outageEffects = outageEffects
    }

    /// Every fault (callers that can apply any action).
    package static let any = FaultFilter()

    /// Faults of these kinds only.
    package static func kinds(_ kinds: FaultKind...) -> FaultFilter { FaultFilter(kinds: Set(kinds)) }

    /// What the emulator's endpoint and the proxy can do to a request on the wire: every
    /// `endpoint-outage` effect and ledger throttling's error answer.
    package static let wire = FaultFilter(kinds: [.endpointOutage, .ledgerThrottling])

    /// A processor task launch: fail or crash the task.
    package static let taskLaunch = FaultFilter(kinds: [.taskFailure, .taskCrash])

    /// One attempt to invoke the rule's target for an event: fail it.
    package static let targetInvocation = FaultFilter(kinds: [.eventDeliveryFailure])

    /// An event entering the bus: delay (delayed or reordered) or duplicate it.
    package static let eventDelivery = FaultFilter(kinds: [.duplicateDelivery, .delayedDelivery, .reorderedDelivery])

    /// A ledger write inside the workflow (no wire): an error answer only — ledger throttling,
    /// and an `endpoint-outage`'s 503/500 (its other effects act on the wire only).
    package static let ledgerWrite = FaultFilter(kinds: [.ledgerThrottling, .endpointOutage], outageEffects: ["status-503", "status-500"])

    package func admits(_ fault: Fault) -> Bool {
        if let kinds, !kinds.contains(fault.kind) { return false }
        if let outageEffects, case .endpointOutage(let effect) = fault.effect, !outageEffects.contains(effect.name) { return false }
        return true
    }
}
