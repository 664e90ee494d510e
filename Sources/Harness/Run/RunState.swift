import AWSWire
import Foundation
import Synchronization
import SyntheticData

/// What a run has seen so far, shared by the uploaders, the ledger observer, the progress line
/// and the audit: one lock around plain values.
package final class RunState: Sendable {
    /// One planned upload and what became of it.
    package struct Upload: Sendable {
        package var index: Int
        package var key: String
        package var malformed: String?
        package var intendedStart: Date
        package var started: Date?
        /// When CompleteMultipartUpload answered (the acknowledgement).
        package var acknowledged: Date?
        /// `ok`, `fail`, `info`; nil while in flight.
        package var outcome: String?
        package var versionId: String?
        /// Data rows of the file (from its completed recipe).
        package var rows: Int?
        package var bytes: Int = 0
        /// The completed recipe (rows known), to regenerate the file's PII for the audit.
        package var recipe: DatasetRecipe?
        /// When the ledger record was first seen terminal.
        package var terminalSeen: Bool = false
    }

    private struct Inner {
        var uploads: [String: Upload] = [:]
        var order: [String] = []
        var ledger: [String: [JobLedgerRecord]] = [:]
        var metrics = MetricsRegistry()
        var timeline = Timeline()
        var inFlight = 0
        var bytesUploaded: Int64 = 0
        var lastChange = ContinuousClock.now
        var stages: StageMetrics?
    }

    private let inner = Mutex(Inner())
    package let origin = ContinuousClock.now
    package let startDate = Date()

    /// - Parameter stages: per-stage e2e and backlog of a ramping run (where it saturated).
    package init(stages: StageMetrics? = nil) {
        self.inner.withLock { $0.stages = stages }
    }

    package var stages: StageMetrics? { self.inner.withLock { $0.stages } }

    /// The run's elapsed time now.
    package var elapsed: Duration { ContinuousClock.now - self.origin }

    package func withMetrics<T>(_ body: (inout MetricsRegistry) -> T) -> T {
        self.inner.withLock { body(&$0.metrics) }
    }

    package func withTimeline(_ body: (inout Timeline) -> Void) {
        self.inner.withLock { body(&$0.timeline) }
    }

    package var metrics: MetricsRegistry { self.inner.withLock { $0.metrics } }
    package var timeline: Timeline { self.inner.withLock { $0.timeline } }
    package var uploads: [Upload] { self.inner.withLock { inner in inner.order.compactMap { inner.uploads[$0] } } }
    package var ledger: [String: [JobLedgerRecord]] { self.inner.withLock { $0.ledger } }
    package var inFlight: Int { self.inner.withLock { $0.inFlight } }
    package var bytesUploaded: Int64 { self.inner.withLock { $0.bytesUploaded } }
    /// When an upload or the ledger last changed.
    package var lastChange: ContinuousClock.Instant { self.inner.withLock { $0.lastChange } }

    package func planned(_ upload: Upload) {
        self.inner.withLock { inner in
            if inner.uploads[upload.key] == nil { inner.order.append(upload.key) }
            inner.uploads[upload.key] = upload
        }
    }

    package func started(_ key: String, at date: Date) {
        let time = self.elapsed
        self.inner.withLock { inner in
            inner.uploads[key]?.started = date
            inner.inFlight += 1
            inner.metrics.increment(.uploadsStarted)
            inner.metrics.set(.filesInFlight, Double(inner.inFlight))
            inner.timeline.uploadStarted(at: time)
            inner.timeline.filesInFlight(inner.inFlight, at: time)
            inner.lastChange = ContinuousClock.now
        }
    }

    package func finished(_ key: String, update: (inout Upload, inout MetricsRegistry) -> Void) {
        let time = self.elapsed
        self.inner.withLock { inner in
            guard var upload = inner.uploads[key] else { return }
            update(&upload, &inner.metrics)
            inner.uploads[key] = upload
            inner.inFlight -= 1
            inner.bytesUploaded += Int64(upload.bytes)
            inner.metrics.set(.filesInFlight, Double(inner.inFlight))
            inner.timeline.uploadFinished(at: time, ok: upload.outcome == "ok")
            inner.timeline.bytesUploaded(Int64(upload.bytes), at: time)
            inner.timeline.filesInFlight(inner.inFlight, at: time)
            inner.lastChange = ContinuousClock.now
        }
    }

    /// Replaces the ledger view with a fresh scan; records pipeline and e2e latencies the first
    /// time each upload's record is seen terminal. Returns how many became terminal.
    @discardableResult
    package func observeLedger(_ records: [JobLedgerRecord], rawBucket: String) -> Int {
        let time = self.elapsed
        var grouped: [String: [JobLedgerRecord]] = [:]
        for record in records where record.bucket == rawBucket { grouped[record.key, default: []].append(record) }
        return self.inner.withLock { inner in
            var newlyTerminal = 0
            for (key, records) in grouped {
                if inner.ledger[key] != records { inner.lastChange = ContinuousClock.now }
                guard var upload = inner.uploads[key], !upload.terminalSeen,
                      let terminal = records.first(where: { $0.status != .running }), let finished = terminal.finishedAt
                else { continue }
                upload.terminalSeen = true
                inner.uploads[key] = upload
                newlyTerminal += 1
                if let acknowledged = upload.acknowledged {
                    inner.metrics.record(.pipelineLatency, .secondsValue(max(0, finished.timeIntervalSince(acknowledged))))
                }
                let e2e = Duration.secondsValue(max(0, finished.timeIntervalSince(upload.intendedStart)))
                inner.metrics.record(.e2eLatency, e2e)
                inner.stages?.record(e2e: e2e, intendedStart: .secondsValue(upload.intendedStart.timeIntervalSince(self.startDate)))
                inner.metrics.increment(terminal.status == .succeeded ? .jobsSucceeded : .jobsFailed)
                inner.timeline.completion(at: time)
            }
            inner.ledger = grouped
            let backlog = inner.uploads.values.filter { $0.outcome == "ok" && !$0.terminalSeen }.count
            inner.metrics.set(.pipelineBacklog, Double(backlog))
            inner.stages?.sampleBacklog(backlog, at: time)
            return newlyTerminal
        }
    }
}
