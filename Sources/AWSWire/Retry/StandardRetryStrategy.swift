import NIOConcurrencyHelpers

/// One failed attempt and what the strategy decided, for event logs.
package struct RetryEvent: Sendable, Hashable {
    package var operation: String
    /// The attempt that failed (1-based).
    package var attempt: Int
    /// Classification of the failure (`nil`: not retryable).
    package var reason: RetryReason?
    package var decision: RetryDecision
    /// Retry tokens left after the decision.
    package var tokensAvailable: Int
}

/// AWS SDK *standard* retry mode, shared by all requests of one client: one token bucket,
/// one jitter source, one set of ``RetryStatistics``.
///
/// The decisions are made by the pure ``RetryAttemptState`` / ``RetryTokenBucket``; this type
/// only adds the lock, the sleep and the counting.
package final class StandardRetryStrategy: Sendable {
    package let configuration: RetryConfiguration
    /// Counters of every attempt, retry and give-up made through this strategy.
    package let statistics: RetryStatistics

    private struct Shared: Sendable {
        var bucket: RetryTokenBucket
        var random: JitterSource
    }

    private let shared: NIOLockedValueBox<Shared>
    private let sleep: @Sendable (Duration) async throws -> Void
    private let observer: (@Sendable (RetryEvent) -> Void)?

    /// - Parameters:
    ///   - sleep: waits between attempts; defaults to `Task.sleep(for:)`. Tests inject a recorder.
    ///   - observer: called (synchronously, keep it cheap) after every failed attempt.
    package init(
        configuration: RetryConfiguration = .standard,
        statistics: RetryStatistics = RetryStatistics(),
        sleep: @escaping @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) },
        observer: (@Sendable (RetryEvent) -> Void)? = nil
    ) {
        self.configuration = configuration
        self.statistics = statistics
        self.sleep = sleep
        self.observer = observer
        self.shared = NIOLockedValueBox(
            Shared(
                bucket: RetryTokenBucket(configuration: configuration.tokenBucket),
                random: JitterSource(seed: configuration.jitterSeed)
            )
        )
    }

    /// Tokens currently in the retry bucket.
    package var availableRetryTokens: Int {
        self.shared.withLockedValue { $0.bucket.available }
    }

    /// Runs `body` (one attempt; it receives the 1-based attempt number) until it succeeds, fails
    /// with an error ``RetryClassifier`` does not retry, attempts run out, or the token bucket is
    /// empty. The last error is rethrown unchanged.
    package func execute<Result>(
        operation: String,
        isolation: isolated (any Actor)? = #isolation,
        _ body: (_ attempt: Int) async throws -> Result
    ) async throws -> Result {
        self.statistics.recordOperationStarted(operation)
        var state = RetryAttemptState(configuration: self.configuration)
        while true {
            self.statistics.recordAttempt(operation)
            let error: any Error
            do {
                let result = try await body(state.attempt)
                self.shared.withLockedValue { state.succeeded(bucket: &$0.bucket) }
                self.statistics.recordSuccess(operation, retried: state.attempt > 1)
                return result
            } catch let e {
                error = e
            }
            if error is CancellationError || Task.isCancelled {
                self.statistics.recordCancelled(operation)
                throw error
            }
            let reason = RetryClassifier.classify(error)
            let (decision, tokens) = self.shared.withLockedValue { shared in
                let d = state.failed(reason: reason, bucket: &shared.bucket, random: &shared.random)
                return (d, shared.bucket.available)
            }
            self.statistics.recordFailedAttempt(operation, reason: reason, decision: decision)
            self.observer?(
                RetryEvent(operation: operation, attempt: state.attempt - (decision.isRetry ? 1 : 0),
                           reason: reason, decision: decision, tokensAvailable: tokens)
            )
            guard case .retry(let delay, _, _) = decision else { throw error }
            do {
                try await self.sleep(delay)
            } catch {
                self.statistics.recordCancelled(operation)
                throw error
            }
        }
    }
}

extension RetryDecision {
    package var isRetry: Bool {
        if case .retry = self { return true }
        return false
    }
}

/// The jitter random source: the system generator, or a seeded SplitMix64.
private struct JitterSource: RandomNumberGenerator, Sendable {
    private var seeded: SplitMix64?
    private var system = SystemRandomNumberGenerator()

    init(seed: UInt64?) {
        self.seeded = seed.map(SplitMix64.init(seed:))
    }

    mutating func next() -> UInt64 {
        if self.seeded != nil { return self.seeded!.next() }
        return self.system.next()
    }
}
