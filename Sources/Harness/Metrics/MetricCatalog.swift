/// Every metric a run records, by canonical name: the one list that thresholds, summary.json,
/// the `.hgrm` files and scenarios/README.md use. Names are snake_case, as in k6.

/// Latencies, recorded into HdrHistograms in microseconds.
package enum LatencyMetric: String, Sendable, CaseIterable, Codable {
    /// First byte of CreateMultipartUpload → CompleteMultipartUpload answered.
    case uploadDuration = "upload_duration"
    /// One UploadPart request, including its retries.
    case partLatency = "part_latency"
    /// Upload acknowledged → ledger terminal state (SUCCEEDED / FAILED).
    case pipelineLatency = "pipeline_latency"
    /// Intended start (open models: the schedule; closed: the actual start) → ledger terminal state.
    case e2eLatency = "e2e_latency"
    /// Object Created event → task RUNNING.
    case taskQueueing = "task_queueing"
    /// Task RUNNING → task stopped (execution history, where available).
    case processingTime = "processing_time"
    /// Scheduled start → actual start (coordinated omission made visible).
    case scheduleLag = "schedule_lag"
}

/// Monotonic counts.
package enum CounterMetric: String, Sendable, CaseIterable, Codable {
    case uploadsStarted = "uploads_started"
    /// CompleteMultipartUpload succeeded (`ok`).
    case uploadsCompleted = "uploads_completed"
    /// Definitely not stored (`fail`).
    case uploadsFailed = "uploads_failed"
    /// Outcome unknown (`info`: every completion attempt timed out).
    case uploadsUnknown = "uploads_unknown"
    /// S3 requests (every attempt counts once).
    case s3Requests = "s3_requests"
    /// S3 request attempts beyond the first.
    case uploadRetries = "upload_retries"
    case partsUploaded = "parts_uploaded"
    case bytesUploaded = "bytes_uploaded"
    /// Event deliveries to the rule's target (attempts).
    case eventDeliveries = "event_deliveries"
    case eventDeliveryRetries = "event_delivery_retries"
    /// Events delivered more than once.
    case duplicateDeliveries = "duplicate_deliveries"
    /// RunTask calls.
    case taskLaunches = "task_launches"
    /// Workflow retries of a launch or a failed task.
    case taskRetries = "task_retries"
    /// RunTask answered ThrottlingException.
    case taskThrottles = "task_throttles"
    /// Tasks that stopped with a non-zero exit code.
    case taskFailures = "task_failures"
    /// Events sent to the RetryQueue.
    case deadLettered = "dead_lettered"
    /// Ledger records that reached SUCCEEDED / FAILED.
    case jobsSucceeded = "jobs_succeeded"
    case jobsFailed = "jobs_failed"
    case rowsProcessed = "rows_processed"
}

/// Ratios of two counters: `rate` is numerator / denominator (0 when the denominator is 0).
package enum RateMetric: String, Sendable, CaseIterable, Codable {
    /// S3 retries per S3 request.
    case uploadRetryRate = "upload_retry_rate"
    /// Failed or unknown uploads per upload started.
    case uploadFailureRate = "upload_failure_rate"
    case eventDeliveryRetryRate = "event_delivery_retry_rate"
    /// Workflow retries per RunTask.
    case taskRetryRate = "task_retry_rate"
    /// Throttled RunTask calls per RunTask.
    case taskThrottleRate = "task_throttle_rate"
    /// Dead-lettered events per upload completed.
    case deadLetterRate = "dead_letter_rate"

    package var numerator: [CounterMetric] {
        switch self {
        case .uploadRetryRate: return [.uploadRetries]
        case .uploadFailureRate: return [.uploadsFailed, .uploadsUnknown]
        case .eventDeliveryRetryRate: return [.eventDeliveryRetries]
        case .taskRetryRate: return [.taskRetries]
        case .taskThrottleRate: return [.taskThrottles]
        case .deadLetterRate: return [.deadLettered]
        }
    }

    package var denominator: CounterMetric {
        switch self {
        case .uploadRetryRate: return .s3Requests
        case .uploadFailureRate: return .uploadsStarted
        case .eventDeliveryRetryRate: return .eventDeliveries
        case .taskRetryRate, .taskThrottleRate: return .taskLaunches
        case .deadLetterRate: return .uploadsCompleted
        }
    }
}

/// Sampled levels; the registry keeps the last, min and max of each.
package enum GaugeMetric: String, Sendable, CaseIterable, Codable {
    case filesInFlight = "files_in_flight"
    case partsInFlight = "parts_in_flight"
    /// Uploads acknowledged whose ledger record is not terminal yet.
    case pipelineBacklog = "pipeline_backlog"
    case harnessRSSBytes = "harness_rss_bytes"
    case harnessCPUSeconds = "harness_cpu_seconds"
}

/// The audit vocabulary of DESIGN.md: each uploaded object version ends in one class.
package enum AuditClass: String, Sendable, CaseIterable, Codable, Comparable {
    /// Ledger SUCCEEDED and output present.
    case processed
    /// Malformed input, ledger FAILED, input in the failed bucket.
    case failedAsExpected = "failed_as_expected"
    /// In the RetryQueue, accounted for.
    case deadLettered = "dead_lettered"
    /// Acknowledged, but no ledger record and no output.
    case lost
    /// More than one completed processing of one version.
    case duplicated
    /// A ledger record for an upload that never happened.
    case unexpected
    /// Not terminal past the quiescence deadline.
    case stuck
    /// An `info` (unknown outcome) upload that was processed.
    case recovered
    /// A seeded PII value found in processed output.
    case leakedPII = "leaked_pii"
    /// Row counts or content differ from what the recipe implies.
    case mismatched
    /// A valid file the pipeline reported FAILED (e.g. task failures exhausted the retries):
    /// accounted for — the ledger tells the truth and the input is kept — but not processed.
    /// Not in DESIGN.md's list; added so that every upload lands in exactly one class.
    case failedUnexpectedly = "failed_unexpectedly"

    /// Classes that make the verdict invalid and the exit code 108 (lost or duplicated data).
    package static let dataLoss: Set<AuditClass> = [.lost, .duplicated]
    /// Classes that make the verdict invalid.
    package static let invalid: Set<AuditClass> = [.lost, .duplicated, .unexpected, .leakedPII, .mismatched]

    package static func < (lhs: AuditClass, rhs: AuditClass) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}

/// The audit's overall answer (Jepsen's).
package enum AuditVerdict: String, Sendable, Codable, CaseIterable {
    /// Every upload accounted for, no invalid class.
    case valid
    /// At least one upload in an invalid class.
    case invalid
    /// Nothing invalid, but something could not be decided (stuck work, an unreadable ledger).
    case unknown
}

/// What kind of value a metric is; decides the aggregations a threshold may use.
package enum MetricKind: String, Sendable, Codable {
    case latency, counter, rate, gauge, audit

    /// The aggregations valid for this kind, as written in thresholds.
    package var aggregationNames: [String] {
        switch self {
        case .latency: return ["p(N)", "avg", "min", "max", "med", "count"]
        case .counter: return ["count", "rate"]
        case .rate: return ["rate", "count"]
        case .gauge: return ["value", "min", "max"]
        case .audit: return AuditClass.allCases.map(\.rawValue)
        }
    }
}

/// The catalog: every metric name with its kind.
package enum MetricCatalog {
    /// The name thresholds use for the audit classes.
    package static let auditName = "audit"

    /// Every valid metric name, in a stable order (latencies, counters, rates, gauges, audit).
    package static var allNames: [String] {
        LatencyMetric.allCases.map(\.rawValue) + CounterMetric.allCases.map(\.rawValue) + RateMetric.allCases.map(\.rawValue)
            + GaugeMetric.allCases.map(\.rawValue) + [auditName]
    }

    package static func kind(of name: String) -> MetricKind? {
        if LatencyMetric(rawValue: name) != nil { return .latency }
        if CounterMetric(rawValue: name) != nil { return .counter }
        if RateMetric(rawValue: name) != nil { return .rate }
        if GaugeMetric(rawValue: name) != nil { return .gauge }
        if name == auditName { return .audit }
        return nil
    }
}
