/// A seeded, declarative fault plan: which faults, when, for which requests, how often.
/// Pure value; load one with ``FaultPlan/load(path:)`` or ``FaultPlan/init(node:file:)``.
package struct FaultPlan: Sendable, Equatable {
    /// Seeds every decision (with the fault's index and its request counter).
    package var seed: UInt64
    package var faults: [Fault]

    package init(seed: UInt64 = 0, faults: [Fault] = []) {
        self.seed = seed
        self.faults = faults
    }

    /// Limits a plan is checked against.
    package struct Limits: Sendable, Equatable {
        /// Latest `at` (and end of a window). Default 7 days: a run longer than that is a mistake.
        package var maxOffset: Duration = .seconds(7 * 86_400)
        package init() {}
    }
}

/// One entry of a plan.
package struct Fault: Sendable, Equatable {
    package var kind: FaultKind
    package var window: FaultWindow
    package var selector: FaultSelector
    package var intensity: FaultIntensity
    package var effect: FaultEffect
    /// Where the fault was written (for messages and records), if it came from a file.
    package var source: SourceLocation?

    package init(kind: FaultKind, window: FaultWindow, selector: FaultSelector = FaultSelector(), intensity: FaultIntensity = .always, effect: FaultEffect, source: SourceLocation? = nil) {
        self.kind = kind
        self.window = window
        self.selector = selector
        self.intensity = intensity
        self.effect = effect
        self.source = source
    }
}

package struct SourceLocation: Sendable, Equatable, Codable, CustomStringConvertible {
    package var file: String
    package var line: Int
    package var column: Int
    package init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }
    package var description: String { "\(file):\(line):\(column)" }
}

/// When a fault is active, as offsets from the start of the run.
package enum FaultWindow: Sendable, Equatable {
    case always
    /// Active for `at ..< at + duration`.
    case span(at: Duration, duration: Duration)

    package func contains(_ elapsed: Duration) -> Bool {
        switch self {
        case .always: return true
        case .span(let at, let duration): return elapsed >= at && elapsed < at + duration
        }
    }

    package var start: Duration {
        switch self {
        case .always: return .zero
        case .span(let at, _): return at
        }
    }

    /// Nil for `always`.
    package var end: Duration? {
        switch self {
        case .always: return nil
        case .span(let at, let duration): return at + duration
        }
    }
}

/// Which requests a fault applies to. Every given part must match; an absent part matches all.
package struct FaultSelector: Sendable, Equatable {
    /// Nil: every service the kind applies to.
    package var services: [FaultService]?
    /// Nil: every operation.
    package var operations: [String]?
    /// Nil: every bucket. A request without a bucket does not match a bucket selector.
    package var buckets: [Glob]?
    /// Nil: every key. A request without a key does not match a key selector.
    package var keys: [Glob]?

    package init(services: [FaultService]? = nil, operations: [String]? = nil, buckets: [Glob]? = nil, keys: [Glob]? = nil) {
        self.services = services
        self.operations = operations
        self.buckets = buckets
        self.keys = keys
    }

    package func matches(_ request: FaultRequest, kind: FaultKind) -> Bool {
        if let services { guard services.contains(request.service) else { return false } } else if !kind.services.contains(request.service) {
            return false
        }
        if let operations {
            guard let operation = request.operation, operations.contains(operation) else { return false }
        }
        if let buckets {
            guard let bucket = request.bucket, buckets.contains(where: { $0.matches(bucket) }) else { return false }
        }
        if let keys {
            guard let key = request.key, keys.contains(where: { $0.matches(key) }) else { return false }
        }
        return true
    }
}

/// How often a matching request in an active window gets the fault.
package enum FaultIntensity: Sendable, Equatable {
    /// Every matching request.
    case always
    /// Each matching request independently, with this probability (seeded).
    case probability(Double)
    /// The Nth, 2Nth, … matching request in the window.
    case everyNth(Int)
    /// At most this many per second from the window's start (the first matching request gets it).
    case rate(perSecond: Double)
}

/// What happens to a request the fault applies to (or, for state changes, what changes).
package enum FaultEffect: Sendable, Equatable {
    case taskFailure(exitCode: Int32)
    /// The task writes this fraction of its output, then dies.
    case taskCrash(outputFraction: Double)
    /// Nil leaves that limit as configured.
    case throttledStarts(burst: Int?, refillPerSecond: Double?, maxRunning: Int?)
    case endpointOutage(OutageEffect)
    case eventDeliveryFailure(errorCode: String, retryable: Bool)
    /// Delivered this many extra times.
    case duplicateDelivery(copies: Int)
    case delayedDelivery(delay: Duration, jitter: Duration)
    case reorderedDelivery(maxDelay: Duration)
    case ledgerThrottling
    case pipelineRestart(downtime: Duration)
}

/// The effects of an `endpoint-outage`.
package enum OutageEffect: Sendable, Equatable {
    /// 503 SlowDown (S3) / 503 ServiceUnavailable (JSON services).
    case status503
    /// 500 InternalError (S3) / 500 InternalServerError (JSON services).
    case status500
    /// The connection is reset (TCP RST).
    case reset
    /// The request is accepted and never answered.
    case hang
    /// The request is delayed by `latency` plus a seeded uniform `0 ..< jitter`.
    case latency(Duration, jitter: Duration)
    /// The request and its answer move at most this many bytes per second.
    case bandwidth(bytesPerSecond: Int)
    /// The bytes are forwarded in slices of `bytes` with `delay` between slices.
    case slicing(bytes: Int, delay: Duration)

    package static let names = ["status-503", "status-500", "reset", "hang", "latency", "bandwidth", "slicing"]

    package var name: String {
        switch self {
        case .status503: return "status-503"
        case .status500: return "status-500"
        case .reset: return "reset"
        case .hang: return "hang"
        case .latency: return "latency"
        case .bandwidth: return "bandwidth"
        case .slicing: return "slicing"
        }
    }
}
