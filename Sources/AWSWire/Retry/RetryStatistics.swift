import NIOConcurrencyHelpers

/// Thread-safe counters of every attempt, retry and give-up of one retry strategy (one client).
///
/// Read with ``snapshot()``; the harness derives retry rates from it. All counters only grow
/// (use ``Snapshot/subtracting(_:)`` for an interval).
package final class RetryStatistics: Sendable {
    /// Counters of one operation name (e.g. `UploadPart`).
    package struct OperationCounts: Sendable, Hashable {
        /// Operations started.
        package var operations = 0
        /// HTTP attempts made (first attempts and retries).
        package var attempts = 0
        /// Retries made (attempts after the first).
        package var retries = 0
        /// Operations that ended in an error (after any retries).
        package var failed = 0

        package init() {}
    }

    /// A consistent copy of all counters.
    package struct Snapshot: Sendable, Hashable {
        /// Operations started.
        package var operations = 0
        /// Operations that ended successfully.
        package var succeeded = 0
        /// Operations that succeeded only after at least one retry.
        package var succeededAfterRetry = 0
        /// Operations that ended in an error.
        package var failed = 0
        /// HTTP attempts (every request sent).
        package var attempts = 0
        /// Retries made, all reasons.
        package var retries = 0
        /// Retries made, by reason.
        package var retriesByReason: [RetryReason: Int] = [:]
        /// Failed attempts by classification (retried or not); non-retryable ones are in ``nonRetryableFailures``.
        package var failedAttemptsByReason: [RetryReason: Int] = [:]
        /// Attempts that failed with a throttling error (retried or not).
        package var throttled = 0
        /// Operations that gave up on a retryable error because `maxAttempts` was reached.
        package var exhausted = 0
        /// Operations that gave up on a retryable error because the token bucket was empty.
        package var tokenBucketEmpty = 0
        /// Operations that failed on a non-retryable error.
        package var nonRetryableFailures = 0
        /// Operations ended by task cancellation (not counted in ``failed``).
        package var cancelled = 0
        /// Counters per operation name.
        package var byOperation: [String: OperationCounts] = [:]

        package init() {}

        /// Retries per attempt (0 when nothing was attempted).
        package var retryRate: Double {
            self.attempts == 0 ? 0 : Double(self.retries) / Double(self.attempts)
        }

        package func retries(for reason: RetryReason) -> Int { self.retriesByReason[reason] ?? 0 }

        /// Counters accumulated since `earlier`.
        package func subtracting(_ earlier: Snapshot) -> Snapshot {
            var d = Snapshot()
            d.operations = self.operations - earlier.operations
            d.succeeded = self.succeeded - earlier.succeeded
            d.succeededAfterRetry = self.succeededAfterRetry - earlier.succeededAfterRetry
            d.failed = self.failed - earlier.failed
            d.attempts = self.attempts - earlier.attempts
            d.retries = self.retries - earlier.retries
            d.throttled = self.throttled - earlier.throttled
            d.exhausted = self.exhausted - earlier.exhausted
            d.tokenBucketEmpty = self.tokenBucketEmpty - earlier.tokenBucketEmpty
            d.nonRetryableFailures = self.nonRetryableFailures - earlier.nonRetryableFailures
            d.cancelled = self.cancelled - earlier.cancelled
            for (k, v) in self.retriesByReason { d.retriesByReason[k] = v - (earlier.retriesByReason[k] ?? 0) }
            for (k, v) in self.failedAttemptsByReason {
                d.failedAttemptsByReason[k] = v - (earlier.failedAttemptsByReason[k] ?? 0)
            }
            for (k, v) in self.byOperation {
                let e = earlier.byOperation[k] ?? OperationCounts()
                var o = OperationCounts()
                o.operations = v.operations - e.operations
                o.attempts = v.attempts - e.attempts
                o.retries = v.retries - e.retries
                o.failed = v.failed - e.failed
                d.byOperation[k] = o
            }
            return d
        }
    }

    private let state = NIOLockedValueBox(Snapshot())

    package init() {}

    package func snapshot() -> Snapshot {
        self.state.withLockedValue { $0 }
    }

    // MARK: recording (called by the strategy)

    func recordOperationStarted(_ operation: String) {
        self.state.withLockedValue {
            $0.operations += 1
            $0.byOperation[operation, default: OperationCounts()].operations += 1
        }
    }

    func recordAttempt(_ operation: String) {
        self.state.withLockedValue {
            $0.attempts += 1
            $0.byOperation[operation, default: OperationCounts()].attempts += 1
        }
    }

    func recordSuccess(_ operation: String, retried: Bool) {
        self.state.withLockedValue {
            $0.succeeded += 1
            if retried { $0.succeededAfterRetry += 1 }
        }
    }

    func recordCancelled(_ operation: String) {
        self.state.withLockedValue { $0.cancelled += 1 }
    }

    func recordFailedAttempt(_ operation: String, reason: RetryReason?, decision: RetryDecision) {
        self.state.withLockedValue {
            if let reason {
                $0.failedAttemptsByReason[reason, default: 0] += 1
                if reason == .throttling { $0.throttled += 1 }
            }
            switch decision {
            case .retry(_, let reason, _):
                $0.retries += 1
                $0.retriesByReason[reason, default: 0] += 1
                $0.byOperation[operation, default: OperationCounts()].retries += 1
            case .giveUp(let why):
                $0.failed += 1
                $0.byOperation[operation, default: OperationCounts()].failed += 1
                switch why {
                case .notRetryable: $0.nonRetryableFailures += 1
                case .attemptsExhausted: $0.exhausted += 1
                case .tokenBucketEmpty: $0.tokenBucketEmpty += 1
                }
            }
        }
    }
}
