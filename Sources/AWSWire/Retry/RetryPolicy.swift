/// The retry-token bucket ("retry quota") of standard mode, as a plain value.
///
/// Starts full. A retry takes ``RetryConfiguration/TokenBucket/retryCost`` tokens (or
/// ``RetryConfiguration/TokenBucket/timeoutRetryCost`` after a timeout/connection error); when
/// the bucket holds fewer, the retry is not made. A request that succeeds after retries gives
/// back what its last retry cost; a request that succeeds at the first attempt adds
/// ``RetryConfiguration/TokenBucket/noRetryIncrement``. The level never exceeds the capacity.
package struct RetryTokenBucket: Sendable, Hashable {
    package let configuration: RetryConfiguration.TokenBucket
    package private(set) var available: Int

    package init(configuration: RetryConfiguration.TokenBucket = .init()) {
        self.configuration = configuration
        self.available = configuration.capacity
    }

    package func cost(for reason: RetryReason) -> Int {
        reason.usesTimeoutCost ? self.configuration.timeoutRetryCost : self.configuration.retryCost
    }

    /// Takes the cost of a retry for `reason`; returns the amount taken, or `nil` (and takes
    /// nothing) when the bucket holds too few tokens.
    package mutating func acquire(for reason: RetryReason) -> Int? {
        let cost = self.cost(for: reason)
        guard self.available >= cost else { return nil }
        self.available -= cost
        return cost
    }

    /// Success of a request: refund `lastRetryCost` if it was retried, else add the no-retry increment.
    package mutating func release(lastRetryCost: Int?) {
        let amount = lastRetryCost ?? self.configuration.noRetryIncrement
        self.available = min(self.configuration.capacity, self.available + amount)
    }
}

/// What to do after a failed attempt.
package enum RetryDecision: Sendable, Hashable {
    /// Wait `delay`, then make attempt number `nextAttempt` (1-based).
    case retry(after: Duration, reason: RetryReason, nextAttempt: Int)
    /// Stop and report the error.
    case giveUp(GiveUpReason)
}

/// Why a failed attempt was not retried.
package enum GiveUpReason: Sendable, Hashable {
    /// The error is not retryable (4xx, cancellation, bad response).
    case notRetryable
    /// Retryable, but ``RetryConfiguration/maxAttempts`` attempts were made.
    case attemptsExhausted(RetryReason)
    /// Retryable, but the retry-token bucket could not pay for it.
    case tokenBucketEmpty(RetryReason)
}

/// Backoff arithmetic (pure).
package struct RetryBackoff: Sendable, Hashable {
    package var baseDelay: Duration
    package var maxBackoff: Duration

    package init(baseDelay: Duration, maxBackoff: Duration) {
        self.baseDelay = baseDelay
        self.maxBackoff = maxBackoff
    }

    /// The upper bound for the delay before retry number `retryIndex` (0 for the first retry):
    /// `min(maxBackoff, baseDelay * 2^retryIndex)`.
    package func ceiling(retryIndex: Int) -> Duration {
        let base = Self.nanoseconds(self.baseDelay)
        let cap = Self.nanoseconds(self.maxBackoff)
        guard base > 0, cap > 0 else { return .zero }
        // base * 2^i without overflow: stop doubling once past the cap.
        var ceiling = base
        var i = 0
        while i < retryIndex, ceiling < cap {
            ceiling = ceiling > Int64.max / 2 ? Int64.max : ceiling * 2
            i += 1
        }
        return .nanoseconds(min(ceiling, cap))
    }

    /// Full jitter: uniform in `[0, ceiling(retryIndex)]`.
    package func delay(retryIndex: Int, using random: inout some RandomNumberGenerator) -> Duration {
        let ceiling = Self.nanoseconds(self.ceiling(retryIndex: retryIndex))
        guard ceiling > 0 else { return .zero }
        return .nanoseconds(Int64.random(in: 0...ceiling, using: &random))
    }

    private static func nanoseconds(_ d: Duration) -> Int64 {
        let (seconds, attoseconds) = d.components
        if seconds >= Int64.max / 1_000_000_000 { return Int64.max }
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}

/// The per-request state machine of standard mode: fed the outcome of each attempt, it says
/// whether and when to try again. Pure: the caller owns the token bucket and random source.
package struct RetryAttemptState: Sendable, Hashable {
    package let maxAttempts: Int
    package let backoff: RetryBackoff
    /// Attempts started so far (1 while the first attempt runs).
    package private(set) var attempt: Int = 1
    /// Tokens taken by the most recent retry (refunded on success).
    package private(set) var lastRetryCost: Int?

    package init(configuration: RetryConfiguration) {
        self.maxAttempts = configuration.maxAttempts
        self.backoff = RetryBackoff(baseDelay: configuration.baseDelay, maxBackoff: configuration.maxBackoff)
    }

    /// The attempt failed; `reason` is its classification (`nil`: not retryable).
    package mutating func failed(
        reason: RetryReason?,
        bucket: inout RetryTokenBucket,
        random: inout some RandomNumberGenerator
    ) -> RetryDecision {
        guard let reason else { return .giveUp(.notRetryable) }
        guard self.attempt < self.maxAttempts else { return .giveUp(.attemptsExhausted(reason)) }
        guard let cost = bucket.acquire(for: reason) else { return .giveUp(.tokenBucketEmpty(reason)) }
        self.lastRetryCost = cost
        let delay = self.backoff.delay(retryIndex: self.attempt - 1, using: &random)
        self.attempt += 1
        return .retry(after: delay, reason: reason, nextAttempt: self.attempt)
    }

    /// The attempt succeeded: pay back into the bucket.
    package func succeeded(bucket: inout RetryTokenBucket) {
        bucket.release(lastRetryCost: self.lastRetryCost)
    }
}

/// SplitMix64: a small, fast, seedable generator for reproducible jitter.
package struct SplitMix64: RandomNumberGenerator, Sendable, Hashable {
    private var state: UInt64

    package init(seed: UInt64) { self.state = seed }

    package mutating func next() -> UInt64 {
        self.state &+= 0x9E37_79B9_7F4A_7C15
        var z = self.state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
