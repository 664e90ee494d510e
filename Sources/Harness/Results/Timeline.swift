import Foundation

/// timeline.csv: the run second by second. One row per second from the start to the last
/// second anything happened; memory is one small row per second (a day is 86,400 rows).
package struct Timeline: Sendable, Equatable {
    package struct Second: Sendable, Equatable {
        package var uploadsStarted = 0
        package var uploadsCompleted = 0
        package var uploadsFailed = 0
        package var bytesUploaded: Int64 = 0
        /// The highest in-flight count sampled in this second; nil when none was (the CSV
        /// carries the previous value forward).
        package var filesInFlight: Int?
        /// Ledger records that reached a terminal state.
        package var completions = 0
        /// Retries at any layer.
        package var retries = 0
    }

    /// A fault window, from its start to its end (nil: still open at the end of the run).
    package struct FaultWindow: Sendable, Equatable {
        package var name: String
        package var start: Duration
        package var end: Duration?
    }

    package private(set) var seconds: [Second] = []
    package private(set) var faultWindows: [FaultWindow] = []

    package init() {}

    private mutating func update(_ time: Duration, _ body: (inout Second) -> Void) {
        let index = max(0, Int(time.secondsValue.rounded(.down)))
        if index >= seconds.count { seconds.append(contentsOf: repeatElement(Second(), count: index - seconds.count + 1)) }
        body(&seconds[index])
    }

    package mutating func uploadStarted(at time: Duration) { update(time) { $0.uploadsStarted += 1 } }
    package mutating func uploadFinished(at time: Duration, ok: Bool) {
        update(time) { if ok { $0.uploadsCompleted += 1 } else { $0.uploadsFailed += 1 } }
    }
    package mutating func bytesUploaded(_ bytes: Int64, at time: Duration) { update(time) { $0.bytesUploaded += bytes } }
    package mutating func filesInFlight(_ count: Int, at time: Duration) { update(time) { $0.filesInFlight = max($0.filesInFlight ?? 0, count) } }
    package mutating func completion(at time: Duration) { update(time) { $0.completions += 1 } }
    package mutating func retry(at time: Duration, count: Int = 1) { update(time) { $0.retries += count } }

    package mutating func faultWindowOpened(_ name: String, at time: Duration) {
        faultWindows.append(FaultWindow(name: name, start: time, end: nil))
        update(time) { _ in }
    }

    package mutating func faultWindowClosed(_ name: String, at time: Duration) {
        if let index = faultWindows.lastIndex(where: { $0.name == name && $0.end == nil }) {
            faultWindows[index].end = time
        }
        update(time) { _ in }
    }

    /// The fault names active at any time during second `index`, in opening order.
    package func activeFaults(inSecond index: Int) -> [String] {
        let start = Duration.seconds(index)
        let end = Duration.seconds(index + 1)
        var names: [String] = []
        for window in faultWindows where window.start < end && (window.end ?? .seconds(Int64.max / 2)) > start && !names.contains(window.name) {
            names.append(window.name)
        }
        return names
    }

    package static let header = "second,uploads_started,uploads_completed,uploads_failed,mb_per_s,files_in_flight,completions,retries,active_faults"

    /// The CSV text (header + one row per second). `mb_per_s` is MB (10^6) uploaded in that
    /// second; `active_faults` is the names joined by `;`.
    package func csv() -> String {
        var text = Self.header + "\n"
        var inFlight = 0
        for (index, second) in seconds.enumerated() {
            inFlight = second.filesInFlight ?? inFlight
            let megabytes = Double(second.bytesUploaded) / 1e6
            let faults = activeFaults(inSecond: index).joined(separator: ";")
            let quoted = faults.contains(",") || faults.contains("\"") ? "\"" + faults.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : faults
            text += "\(index),\(second.uploadsStarted),\(second.uploadsCompleted),\(second.uploadsFailed),\(DurationText.trimmed((megabytes * 1000).rounded() / 1000)),\(inFlight),\(second.completions),\(second.retries),\(quoted)\n"
        }
        return text
    }
}
