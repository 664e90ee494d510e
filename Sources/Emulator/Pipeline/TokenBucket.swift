/// A token bucket (the Fargate RunTask launch limit: burst 100, refill 20/s by default).
/// Pure value: time is passed in as the duration since the bucket's epoch, so it runs in
/// real or virtual time alike.
package struct TokenBucket: Sendable, Equatable {
    package var burst: Double
    package var refillPerSecond: Double
    private(set) package var tokens: Double
    private var updatedAt: Duration

    package init(burst: Int, refillPerSecond: Double, at now: Duration = .zero) {
        self.burst = Double(burst)
        self.refillPerSecond = refillPerSecond
        self.tokens = Double(burst)
        self.updatedAt = now
    }

    /// Takes one token if there is one.
    package mutating func tryTake(at now: Duration) -> Bool {
        refill(at: now)
        guard tokens >= 1 else { return false }
        tokens -= 1
        return true
    }

    /// How long until a token is available (zero when one is).
    package mutating func waitForToken(at now: Duration) -> Duration {
        refill(at: now)
        if tokens >= 1 { return .zero }
        guard refillPerSecond > 0 else { return .seconds(86_400) }
        return .seconds((1 - tokens) / refillPerSecond)
    }

    /// Changes the limits (a throttled-starts fault window); keeps at most the new burst.
    package mutating func reconfigure(burst: Int, refillPerSecond: Double, at now: Duration) {
        refill(at: now)
        self.burst = Double(burst)
        self.refillPerSecond = refillPerSecond
        tokens = min(tokens, self.burst)
    }

    private mutating func refill(at now: Duration) {
        guard now > updatedAt else { return }
        let elapsed = (now - updatedAt).seconds
        tokens = min(burst, tokens + elapsed * refillPerSecond)
        updatedAt = now
    }
}

extension Duration {
    /// The duration in seconds as a Double.
    package var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
