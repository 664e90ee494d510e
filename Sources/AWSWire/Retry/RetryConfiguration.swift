/// Settings of the AWS SDK *standard* retry mode. The defaults are the SDKs' defaults except
/// ``baseDelay`` (the SDKs use 1 s for most services; 100 ms is what the S3 transfer managers
/// effectively see and suits a load harness better).
package struct RetryConfiguration: Sendable, Hashable {
    /// Total attempts per operation, first attempt included. Default 3. `1` disables retries.
    package var maxAttempts: Int
    /// Backoff base: the ceiling for retry *i* (0-based) is `min(maxBackoff, baseDelay * 2^i)`. Default 100 ms.
    package var baseDelay: Duration
    /// Backoff cap. Default 20 s.
    package var maxBackoff: Duration
    /// The retry-token bucket shared by all requests of one client.
    package var tokenBucket: TokenBucket
    /// Seed for the jitter random source; `nil` (default) uses the system generator.
    /// Set it for reproducible runs and tests.
    package var jitterSeed: UInt64?

    package struct TokenBucket: Sendable, Hashable {
        /// Capacity, and the initial level. Default 500.
        package var capacity: Int
        /// Cost of a retry after a non-timeout error. Default 5.
        package var retryCost: Int
        /// Cost of a retry after a timeout or connection error. Default 10.
        package var timeoutRetryCost: Int
        /// Added when a request succeeds at the first attempt (up to the capacity). Default 1.
        package var noRetryIncrement: Int

        package init(capacity: Int = 500, retryCost: Int = 5, timeoutRetryCost: Int = 10, noRetryIncrement: Int = 1) {
            self.capacity = capacity
            self.retryCost = retryCost
            self.timeoutRetryCost = timeoutRetryCost
            self.noRetryIncrement = noRetryIncrement
        }
    }

    package init(
        maxAttempts: Int = 3,
        baseDelay: Duration = .milliseconds(100),
        maxBackoff: Duration = .seconds(20),
        tokenBucket: TokenBucket = .init(),
        jitterSeed: UInt64? = nil
    ) {
        precondition(maxAttempts >= 1, "maxAttempts must be at least 1")
        self.maxAttempts = maxAttempts
        self.baseDelay = baseDelay
        self.maxBackoff = maxBackoff
        self.tokenBucket = tokenBucket
        self.jitterSeed = jitterSeed
    }

    /// Standard mode with the defaults above.
    package static var standard: RetryConfiguration { RetryConfiguration() }

    /// No retries at all (one attempt); errors are still classified and counted.
    package static var disabled: RetryConfiguration { RetryConfiguration(maxAttempts: 1) }
}
