import Foundation

/// One line of the fault log: a window opening or closing, or a fault injected into a request.
/// Encodes as one JSON object (the runner writes them to `events.jsonl`), e.g.
/// `{"type":"fault-injected","t":12.5,"fault":0,"kind":"endpoint-outage","service":"s3","operation":"UploadPart","bucket":"raw","key":"in/a.csv","action":"respond 503 SlowDown"}`.
package struct FaultRecord: Sendable, Codable, Equatable {
    package enum Event: String, Sendable, Codable {
        case windowOpened = "fault-window-opened"
        case windowClosed = "fault-window-closed"
        case injected = "fault-injected"
    }

    package var event: Event
    /// Seconds since the start of the run (the injector's clock). Window records carry the
    /// window's exact boundary, not the time the injector noticed it.
    package var elapsedSeconds: Double
    /// Index of the fault in the plan.
    package var fault: Int
    package var kind: FaultKind
    package var service: FaultService?
    package var operation: String?
    package var bucket: String?
    package var key: String?
    /// What was done, in words (`respond 503 SlowDown`, `delay 0.250s`, `reset`).
    package var action: String?
    /// Where the fault is written (`plan.yaml:7:5`).
    package var source: String?

    enum CodingKeys: String, CodingKey {
        case event = "type", elapsedSeconds = "t", fault, kind, service, operation, bucket, key, action, source
    }

    package init(
        event: Event, elapsedSeconds: Double, fault: Int, kind: FaultKind, service: FaultService? = nil, operation: String? = nil,
        bucket: String? = nil, key: String? = nil, action: String? = nil, source: String? = nil
    ) {
        self.event = event
        self.elapsedSeconds = elapsedSeconds
        self.fault = fault
        self.kind = kind
        self.service = service
        self.operation = operation
        self.bucket = bucket
        self.key = key
        self.action = action
        self.source = source
    }
}

extension FaultDecision.Action: CustomStringConvertible {
    package var description: String {
        switch self {
        case .respond(let response): return "respond \(response.status) \(response.code)"
        case .reset: return "reset"
        case .hang: return "hang"
        case .delay(let delay): return "delay \(FaultDuration.text(delay))"
        case .limitBandwidth(let rate): return "bandwidth \(rate) B/s"
        case .slice(let bytes, let delay): return "slice \(bytes) B every \(FaultDuration.text(delay))"
        case .failTask(let code): return "task exits \(code)"
        case .crashTask(let fraction): return "task crashes after \(Int((fraction * 100).rounded()))% of its output"
        case .failDelivery(let code, _, let retryable): return "delivery fails \(code)\(retryable ? "" : " (not retryable)")"
        case .duplicate(let copies): return "deliver \(copies) extra time\(copies == 1 ? "" : "s")"
        }
    }
}

package enum FaultDuration {
    package static func seconds(_ duration: Duration) -> Double {
        let (s, atto) = duration.components
        return Double(s) + Double(atto) / 1e18
    }

    /// `1.250s`.
    package static func text(_ duration: Duration) -> String {
        String(format: "%.3fs", seconds(duration))
    }

    static func from(seconds: Double) -> Duration {
        .nanoseconds(Int64((seconds * 1e9).rounded()))
    }
}
