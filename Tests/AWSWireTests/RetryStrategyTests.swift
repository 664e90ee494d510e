import AWSWire
import NIOConcurrencyHelpers
import Testing

@Suite("Retry classification (standard mode)")
struct RetryClassificationTests {
    @Test("status and code table", arguments: [
        // Throttling codes, whatever the status.
        (400, "Throttling", RetryReason.throttling), (400, "ThrottlingException", .throttling),
        (400, "ThrottledException", .throttling), (400, "RequestThrottledException", .throttling),
        (400, "TooManyRequestsException", .throttling), (400, "ProvisionedThroughputExceededException", .throttling),
        (400, "TransactionInProgressException", .throttling), (400, "RequestLimitExceeded", .throttling),
        (509, "BandwidthLimitExceeded", .throttling), (400, "LimitExceededException", .throttling),
        (400, "RequestThrottled", .throttling), (503, "SlowDown", .throttling), (400, "EC2ThrottledException", .throttling),
        // Transient codes, whatever the status (S3's RequestTimeout is a 400).
        (400, "RequestTimeout", .transient), (408, "RequestTimeoutException", .transient),
        (400, "PriorRequestNotComplete", .transient), (500, "InternalError", .transient), (200, "InternalError", .transient),
        // 5xx statuses.
        (500, "Whatever", .serverError), (502, "HTTP502", .serverError), (503, "ServiceUnavailable", .serverError),
        (504, "GatewayTimeout", .serverError), (599, "X", .serverError),
        // 429 without a code.
        (429, "HTTP429", .throttling),
    ] as [(Int, String, RetryReason)])
    func retryable(status: Int, code: String, reason: RetryReason) {
        #expect(RetryClassifier.classify(statusCode: status, code: code) == reason)
        let error = AWSError(kind: .service, operation: "Op", statusCode: status, code: AWSError.Code(code))
        #expect(RetryClassifier.classify(error) == reason)
    }

    @Test("never retried", arguments: [
        (400, "BadRequest"), (403, "AccessDenied"), (403, "SignatureDoesNotMatch"), (403, "InvalidAccessKeyId"),
        (404, "NoSuchUpload"), (404, "NoSuchKey"), (409, "BucketAlreadyExists"), (400, "EntityTooSmall"),
        (400, "InvalidPart"), (412, "PreconditionFailed"), (416, "InvalidRange"), (501, "NotImplemented"),
        (200, "InvalidPart"), (301, "PermanentRedirect"), (400, "ExpiredToken"),
    ])
    func notRetryable(status: Int, code: String) {
        #expect(RetryClassifier.classify(statusCode: status, code: code) == nil)
    }

    @Test func transportKinds() {
        #expect(RetryClassifier.classify(AWSError(kind: .timeout, operation: "Op")) == .timeout)
        #expect(RetryClassifier.classify(AWSError(kind: .connection, operation: "Op")) == .connection)
        #expect(RetryClassifier.classify(AWSError(kind: .invalidResponse, operation: "Op", statusCode: 500)) == nil)
        #expect(RetryClassifier.classify(AWSError(kind: .invalidRequest, operation: "Op")) == nil)
        #expect(RetryClassifier.classify(CancellationError()) == nil)
        struct Other: Error {}
        #expect(RetryClassifier.classify(Other()) == nil)
        #expect(RetryReason.timeout.usesTimeoutCost && RetryReason.connection.usesTimeoutCost)
        #expect(!RetryReason.throttling.usesTimeoutCost && !RetryReason.serverError.usesTimeoutCost && !RetryReason.transient.usesTimeoutCost)
    }
}

@Suite("Retry backoff and token bucket (pure)")
struct RetryPolicyTests {
    @Test func backoffCeilingDoublesUpToTheCap() {
        let b = RetryBackoff(baseDelay: .milliseconds(100), maxBackoff: .seconds(20))
        #expect(b.ceiling(retryIndex: 0) == .milliseconds(100))
        #expect(b.ceiling(retryIndex: 1) == .milliseconds(200))
        #expect(b.ceiling(retryIndex: 2) == .milliseconds(400))
        #expect(b.ceiling(retryIndex: 7) == .milliseconds(12_800))
        #expect(b.ceiling(retryIndex: 8) == .seconds(20))  // 25.6 s capped
        #expect(b.ceiling(retryIndex: 1_000) == .seconds(20))  // no overflow
        #expect(RetryBackoff(baseDelay: .zero, maxBackoff: .seconds(20)).ceiling(retryIndex: 3) == .zero)
    }

    @Test func fullJitterStaysWithinBoundsAndIsSeeded() {
        let b = RetryBackoff(baseDelay: .milliseconds(100), maxBackoff: .seconds(20))
        var rng = SplitMix64(seed: 42)
        for retry in 0..<12 {
            let ceiling = b.ceiling(retryIndex: retry)
            var sum = Duration.zero
            let n = 2_000
            for _ in 0..<n {
                let d = b.delay(retryIndex: retry, using: &rng)
                #expect(d >= .zero && d <= ceiling)
                sum += d
            }
            // Uniform on [0, ceiling]: the mean is near ceiling / 2 (loose bound, 2000 samples).
            let mean = sum / n
            #expect(mean > ceiling * 0.4 && mean < ceiling * 0.6, "retry \(retry): mean \(mean) vs ceiling \(ceiling)")
        }
        var a = SplitMix64(seed: 7)
        var c = SplitMix64(seed: 7)
        let da = (0..<10).map { b.delay(retryIndex: $0 % 4, using: &a) }
        let dc = (0..<10).map { b.delay(retryIndex: $0 % 4, using: &c) }
        #expect(da == dc)
    }

    @Test func tokenBucketArithmetic() {
        var bucket = RetryTokenBucket()
        #expect(bucket.available == 500)
        #expect(bucket.acquire(for: .throttling) == 5)
        #expect(bucket.acquire(for: .serverError) == 5)
        #expect(bucket.acquire(for: .transient) == 5)
        #expect(bucket.available == 485)
        #expect(bucket.acquire(for: .timeout) == 10)
        #expect(bucket.acquire(for: .connection) == 10)
        #expect(bucket.available == 465)
        bucket.release(lastRetryCost: 10)  // success after a retry: refund what the last retry cost
        #expect(bucket.available == 475)
        bucket.release(lastRetryCost: nil)  // success at the first attempt: +1
        #expect(bucket.available == 476)
        for _ in 0..<100 { bucket.release(lastRetryCost: nil) }
        #expect(bucket.available == 500)  // capped
        bucket.release(lastRetryCost: 5)
        #expect(bucket.available == 500)
    }

    @Test func emptyBucketRefusesWithoutTakingTokens() {
        var bucket = RetryTokenBucket(configuration: .init(capacity: 12))
        #expect(bucket.acquire(for: .timeout) == 10)
        #expect(bucket.available == 2)
        #expect(bucket.acquire(for: .throttling) == nil)
        #expect(bucket.acquire(for: .timeout) == nil)
        #expect(bucket.available == 2)
        bucket.release(lastRetryCost: nil)
        bucket.release(lastRetryCost: nil)
        bucket.release(lastRetryCost: nil)
        #expect(bucket.acquire(for: .throttling) == 5)
        #expect(bucket.available == 0)
    }

    @Test func attemptStateMachine() {
        let config = RetryConfiguration(maxAttempts: 3, baseDelay: .milliseconds(100))
        var bucket = RetryTokenBucket()
        var rng = SplitMix64(seed: 1)
        var state = RetryAttemptState(configuration: config)
        #expect(state.attempt == 1)

        guard case .retry(let d1, .throttling, 2) = state.failed(reason: .throttling, bucket: &bucket, random: &rng) else {
            Issue.record("expected a retry")
            return
        }
        #expect(d1 <= .milliseconds(100))
        guard case .retry(let d2, .timeout, 3) = state.failed(reason: .timeout, bucket: &bucket, random: &rng) else {
            Issue.record("expected a retry")
            return
        }
        #expect(d2 <= .milliseconds(200))
        #expect(bucket.available == 485)
        #expect(state.lastRetryCost == 10)
        #expect(state.failed(reason: .serverError, bucket: &bucket, random: &rng) == .giveUp(.attemptsExhausted(.serverError)))
        #expect(bucket.available == 485)  // exhausted attempts take no tokens
        state.succeeded(bucket: &bucket)
        #expect(bucket.available == 495)

        var fresh = RetryAttemptState(configuration: config)
        #expect(fresh.failed(reason: nil, bucket: &bucket, random: &rng) == .giveUp(.notRetryable))

        var empty = RetryTokenBucket(configuration: .init(capacity: 4))
        var s = RetryAttemptState(configuration: config)
        #expect(s.failed(reason: .throttling, bucket: &empty, random: &rng) == .giveUp(.tokenBucketEmpty(.throttling)))
        #expect(s.attempt == 1)

        var single = RetryAttemptState(configuration: .disabled)
        #expect(single.failed(reason: .throttling, bucket: &bucket, random: &rng) == .giveUp(.attemptsExhausted(.throttling)))
    }
}

/// Records the requested sleeps instead of sleeping.
final class SleepRecorder: Sendable {
    private let box = NIOLockedValueBox<[Duration]>([])
    var sleeps: [Duration] { self.box.withLockedValue { $0 } }
    var sleep: @Sendable (Duration) async throws -> Void {
        { d in self.box.withLockedValue { $0.append(d) } }
    }
}

/// Fails with the scripted errors in order, then succeeds.
final class ScriptedAttempts: Sendable {
    private let box: NIOLockedValueBox<[AWSError]>
    init(_ errors: [AWSError]) { self.box = NIOLockedValueBox(errors) }
    func attempt() throws -> String {
        let next: AWSError? = self.box.withLockedValue { $0.isEmpty ? nil : $0.removeFirst() }
        if let next { throw next }
        return "ok"
    }
}

private func service(_ status: Int, _ code: String) -> AWSError {
    AWSError(kind: .service, operation: "UploadPart", statusCode: status, code: AWSError.Code(code))
}

@Suite("StandardRetryStrategy (no I/O)")
struct RetryStrategyExecutionTests {
    @Test func retriesThenSucceedsAndCountsEverything() async throws {
        let sleeps = SleepRecorder()
        let strategy = StandardRetryStrategy(configuration: .init(jitterSeed: 99), sleep: sleeps.sleep)
        let script = ScriptedAttempts([service(503, "SlowDown"), AWSError(kind: .timeout, operation: "UploadPart")])
        let attemptsSeen = NIOLockedValueBox<[Int]>([])
        let result = try await strategy.execute(operation: "UploadPart") { attempt in
            attemptsSeen.withLockedValue { $0.append(attempt) }
            return try script.attempt()
        }
        #expect(result == "ok")
        #expect(attemptsSeen.withLockedValue { $0 } == [1, 2, 3])
        #expect(sleeps.sleeps.count == 2)
        #expect(sleeps.sleeps[0] <= .milliseconds(100))
        #expect(sleeps.sleeps[1] <= .milliseconds(200))
        // 500 - 5 - 10 + 10 (refund of the last retry's cost)
        #expect(strategy.availableRetryTokens == 495)

        let s = strategy.statistics.snapshot()
        #expect(s.operations == 1 && s.succeeded == 1 && s.succeededAfterRetry == 1 && s.failed == 0)
        #expect(s.attempts == 3)
        #expect(s.retries == 2)
        #expect(s.retries(for: .throttling) == 1)
        #expect(s.retries(for: .timeout) == 1)
        #expect(s.throttled == 1)
        #expect(s.byOperation["UploadPart"]?.attempts == 3)
        #expect(s.byOperation["UploadPart"]?.retries == 2)
        #expect(abs(s.retryRate - 2.0 / 3.0) < 1e-9)
    }

    @Test func sameSeedSameDelays() async throws {
        func run() async throws -> [Duration] {
            let sleeps = SleepRecorder()
            let strategy = StandardRetryStrategy(configuration: .init(maxAttempts: 5, jitterSeed: 1234), sleep: sleeps.sleep)
            let script = ScriptedAttempts([service(500, "InternalError"), service(500, "InternalError"), service(500, "InternalError")])
            _ = try await strategy.execute(operation: "Op") { _ in try script.attempt() }
            return sleeps.sleeps
        }
        let a = try await run()
        let b = try await run()
        #expect(a.count == 3)
        #expect(a == b)
    }

    @Test func exhaustedAttemptsRethrowTheLastError() async {
        let sleeps = SleepRecorder()
        let strategy = StandardRetryStrategy(configuration: .init(jitterSeed: 1), sleep: sleeps.sleep)
        let script = ScriptedAttempts([service(503, "SlowDown"), service(503, "SlowDown"), service(500, "InternalError"), service(500, "X")])
        await #expect {
            _ = try await strategy.execute(operation: "CompleteMultipartUpload") { _ in try script.attempt() }
        } throws: { ($0 as? AWSError)?.code == .internalError }
        let s = strategy.statistics.snapshot()
        #expect(s.attempts == 3 && s.retries == 2 && s.exhausted == 1 && s.failed == 1)
        #expect(s.throttled == 2)
        #expect(s.failedAttemptsByReason[.throttling] == 2 && s.failedAttemptsByReason[.transient] == 1)
        #expect(strategy.availableRetryTokens == 490)  // no refund without success
    }

    @Test func nonRetryableFailsAtOnce() async {
        let sleeps = SleepRecorder()
        let strategy = StandardRetryStrategy(sleep: sleeps.sleep)
        let script = ScriptedAttempts([service(403, "SignatureDoesNotMatch")])
        await #expect(throws: AWSError.self) {
            _ = try await strategy.execute(operation: "PutObject") { _ in try script.attempt() }
        }
        let s = strategy.statistics.snapshot()
        #expect(s.attempts == 1 && s.retries == 0 && s.nonRetryableFailures == 1 && s.failed == 1)
        #expect(sleeps.sleeps.isEmpty)
        #expect(strategy.availableRetryTokens == 500)
    }

    @Test func emptyBucketStopsRetriesAndSuccessRefills() async throws {
        let sleeps = SleepRecorder()
        let config = RetryConfiguration(maxAttempts: 10, tokenBucket: .init(capacity: 20), jitterSeed: 3)
        let strategy = StandardRetryStrategy(configuration: config, sleep: sleeps.sleep)
        let script = ScriptedAttempts(Array(repeating: AWSError(kind: .connection, operation: "UploadPart"), count: 10))
        await #expect(throws: AWSError.self) {
            _ = try await strategy.execute(operation: "UploadPart") { _ in try script.attempt() }
        }
        var s = strategy.statistics.snapshot()
        #expect(s.retries == 2)  // 20 tokens = two connection-error retries
        #expect(s.tokenBucketEmpty == 1)
        #expect(s.attempts == 3)
        #expect(strategy.availableRetryTokens == 0)
        // A success without retries adds one token.
        _ = try await strategy.execute(operation: "UploadPart") { _ in "fine" }
        #expect(strategy.availableRetryTokens == 1)
        s = strategy.statistics.snapshot()
        #expect(s.succeeded == 1 && s.succeededAfterRetry == 0)
    }

    @Test func observerSeesEveryFailedAttempt() async throws {
        let events = NIOLockedValueBox<[RetryEvent]>([])
        let strategy = StandardRetryStrategy(
            configuration: .init(jitterSeed: 5), sleep: SleepRecorder().sleep,
            observer: { e in events.withLockedValue { $0.append(e) } }
        )
        let script = ScriptedAttempts([service(503, "SlowDown")])
        _ = try await strategy.execute(operation: "UploadPart") { _ in try script.attempt() }
        let seen = events.withLockedValue { $0 }
        #expect(seen.count == 1)
        #expect(seen.first?.attempt == 1)
        #expect(seen.first?.reason == .throttling)
        #expect(seen.first?.decision.isRetry == true)
        #expect(seen.first?.tokensAvailable == 495)
    }

    @Test func cancellationDuringBackoffIsCountedAsCancelled() async {
        let strategy = StandardRetryStrategy(configuration: .init(jitterSeed: 5), sleep: { _ in throw CancellationError() })
        let script = ScriptedAttempts([service(503, "SlowDown")])
        await #expect(throws: CancellationError.self) {
            _ = try await strategy.execute(operation: "UploadPart") { _ in try script.attempt() }
        }
        let s = strategy.statistics.snapshot()
        #expect(s.cancelled == 1 && s.retries == 1 && s.failed == 0)
    }

    @Test(.timeLimit(.minutes(1)))
    func concurrentCountersAreConsistent() async throws {
        let strategy = StandardRetryStrategy(configuration: .init(jitterSeed: 11), sleep: { _ in })
        let before = strategy.statistics.snapshot()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<200 {
                group.addTask {
                    let script = ScriptedAttempts(i % 2 == 0 ? [service(500, "InternalError")] : [])
                    _ = try await strategy.execute(operation: i % 3 == 0 ? "A" : "B") { _ in try script.attempt() }
                }
            }
            try await group.waitForAll()
        }
        let s = strategy.statistics.snapshot().subtracting(before)
        #expect(s.operations == 200 && s.succeeded == 200)
        #expect(s.attempts == 300 && s.retries == 100)
        #expect((s.byOperation["A"]?.attempts ?? 0) + (s.byOperation["B"]?.attempts ?? 0) == 300)
        #expect(strategy.availableRetryTokens == 500)
    }
}
