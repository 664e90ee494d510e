/// Retry policies of the pipeline's managed services, as pure functions of the attempt
/// number and a seeded random source.

/// A Step Functions `Retry` rule (Amazon States Language): after failure n (1-based) of
/// an error the rule matches, wait IntervalSeconds × BackoffRate^(n−1), capped at
/// MaxDelaySeconds, with JitterStrategy FULL drawing uniformly from [0, that]; no retry
/// once MaxAttempts retries were made (MaxAttempts 0 never retries).
package struct StatesRetrier: Sendable, Equatable, Codable {
    package var errorEquals: [String]
    package var intervalSeconds: Double = 1
    package var backoffRate: Double = 2
    package var maxAttempts: Int = 3
    package var maxDelaySeconds: Double?
    package var jitterStrategy: JitterStrategy = .none

    package enum JitterStrategy: String, Sendable, Codable { case full = "FULL", none = "NONE" }

    package init(errorEquals: [String], intervalSeconds: Double = 1, backoffRate: Double = 2, maxAttempts: Int = 3, maxDelaySeconds: Double? = nil, jitterStrategy: JitterStrategy = .none) {
        self.errorEquals = errorEquals
        self.intervalSeconds = intervalSeconds
        self.backoffRate = backoffRate
        self.maxAttempts = maxAttempts
        self.maxDelaySeconds = maxDelaySeconds
        self.jitterStrategy = jitterStrategy
    }

    /// Whether the rule applies to `error` (`States.ALL` matches everything but
    /// `States.Runtime`; `States.TaskFailed` matches any task error but `States.Timeout`).
    package func matches(_ error: String) -> Bool {
        for name in errorEquals {
            if name == error { return true }
            if name == "States.ALL" && error != "States.Runtime" { return true }
            if name == "States.TaskFailed" && error != "States.Timeout" && !error.hasPrefix("States.") { return true }
        }
        return false
    }

    /// The wait before retry `retry` (1-based), or nil when the rule allows no more.
    package func delay(beforeRetry retry: Int, random: inout some RandomNumberGenerator) -> Duration? {
        guard retry >= 1, retry <= maxAttempts else { return nil }
        var seconds = intervalSeconds * pow(backoffRate, Double(retry - 1))
        if let maxDelaySeconds { seconds = min(seconds, maxDelaySeconds) }
        if jitterStrategy == .full { seconds = Double.random(in: 0...max(0, seconds), using: &random) }
        return .milliseconds(Int64((seconds * 1000).rounded()))
    }
}

/// A Step Functions `Catch` rule: errors it matches go to `next`.
package struct StatesCatcher: Sendable, Equatable, Codable {
    package var errorEquals: [String]
    package var next: String

    package init(errorEquals: [String], next: String) {
        self.errorEquals = errorEquals
        self.next = next
    }

    package func matches(_ error: String) -> Bool {
        StatesRetrier(errorEquals: errorEquals).matches(error)
    }
}

/// An EventBridge target's retry policy: MaximumRetryAttempts 0…185 and
/// MaximumEventAgeInSeconds 60…86400. EventBridge retries throttling and 5xx-like failures
/// with exponential backoff and jitter; other failures, and an exhausted policy, send the
/// event to the dead-letter queue.
package struct EventRetryPolicy: Sendable, Equatable, Codable {
    package var maximumRetryAttempts: Int = 185
    package var maximumEventAgeSeconds: Int = 86_400
    /// First backoff ceiling; doubled per retry up to `maxBackoffSeconds` (full jitter).
    package var baseBackoffSeconds: Double = 1
    package var maxBackoffSeconds: Double = 60

    package init(maximumRetryAttempts: Int = 185, maximumEventAgeSeconds: Int = 86_400, baseBackoffSeconds: Double = 1, maxBackoffSeconds: Double = 60) {
        self.maximumRetryAttempts = maximumRetryAttempts
        self.maximumEventAgeSeconds = maximumEventAgeSeconds
        self.baseBackoffSeconds = baseBackoffSeconds
        self.maxBackoffSeconds = maxBackoffSeconds
    }

    /// Problems with the values, naming AWS's limits; empty when valid.
    package var problems: [String] {
        var problems: [String] = []
        if !(0...185).contains(maximumRetryAttempts) { problems.append("MaximumRetryAttempts must be 0…185, found \(maximumRetryAttempts)") }
        if !(60...86_400).contains(maximumEventAgeSeconds) { problems.append("MaximumEventAgeInSeconds must be 60…86400, found \(maximumEventAgeSeconds)") }
        return problems
    }
}

/// Why a delivery attempt to the rule's target failed.
package struct TargetFailure: Sendable, Equatable, Codable {
    package var code: String
    package var message: String
    /// Throttling and 5xx-like failures are retried; others go straight to the DLQ.
    package var retryable: Bool

    package init(code: String, message: String, retryable: Bool) {
        self.code = code
        self.message = message
        self.retryable = retryable
    }
}

/// The delivery of one event to the rule's target: a state machine fed with attempt
/// outcomes that answers what to do next.
package struct EventDelivery: Sendable, Equatable {
    package enum Next: Sendable, Equatable {
        case retry(after: Duration)
        case deadLetter(DeadLetter)
    }

    /// What goes to the RetryQueue, with the attributes EventBridge sets.
    package struct DeadLetter: Sendable, Equatable, Codable {
        package var errorCode: String
        package var errorMessage: String
        /// `MaximumRetryAttempts`, `MaximumEventAgeInSeconds`, or `NonRetryable` for errors not retried.
        package var exhaustedRetryCondition: String
        package var retryAttempts: Int
    }

    package let policy: EventRetryPolicy
    /// When the event was created (its age counts from here).
    package let createdAt: Duration
    private(set) package var retries = 0

    /// - Parameter retries: retries already made (a delivery resumed from the inbox).
    package init(policy: EventRetryPolicy, createdAt: Duration, retries: Int = 0) {
        self.policy = policy
        self.createdAt = createdAt
        self.retries = retries
    }

    package mutating func failed(_ failure: TargetFailure, at now: Duration, random: inout some RandomNumberGenerator) -> Next {
        guard failure.retryable else {
            return .deadLetter(DeadLetter(errorCode: failure.code, errorMessage: failure.message, exhaustedRetryCondition: "NonRetryable", retryAttempts: retries))
        }
        guard retries < policy.maximumRetryAttempts else {
            return .deadLetter(DeadLetter(errorCode: failure.code, errorMessage: failure.message, exhaustedRetryCondition: "MaximumRetryAttempts", retryAttempts: retries))
        }
        let ceiling = min(policy.maxBackoffSeconds, policy.baseBackoffSeconds * pow(2, Double(retries)))
        let delay = Double.random(in: 0...ceiling, using: &random)
        let age = (now - createdAt).seconds + delay
        guard age <= Double(policy.maximumEventAgeSeconds) else {
            return .deadLetter(DeadLetter(errorCode: failure.code, errorMessage: failure.message, exhaustedRetryCondition: "MaximumEventAgeInSeconds", retryAttempts: retries))
        }
        retries += 1
        return .retry(after: .milliseconds(Int64((delay * 1000).rounded())))
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
