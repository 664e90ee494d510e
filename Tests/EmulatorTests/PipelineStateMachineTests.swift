import Testing
@testable import Emulator

@Suite("Pipeline state machines (pure)")
struct PipelineStateMachineTests {
    @Test("Token bucket: burst, refill, throttling and reconfiguration")
    func tokenBucket() {
        var bucket = TokenBucket(burst: 100, refillPerSecond: 20)
        var granted = 0
        for _ in 0..<150 where bucket.tryTake(at: .zero) { granted += 1 }
        #expect(granted == 100, "the burst")
        let at10 = bucket.tryTake(at: .milliseconds(10))
        let at50 = bucket.tryTake(at: .milliseconds(50))
        let at60 = bucket.tryTake(at: .milliseconds(60))
        #expect(!at10)
        #expect(at50, "20/s refills one token per 50 ms")
        #expect(!at60)
        let wait = bucket.waitForToken(at: .milliseconds(60))
        #expect(wait > .milliseconds(35) && wait <= .milliseconds(41))
        // One second refills 20, never beyond the burst.
        var full = TokenBucket(burst: 5, refillPerSecond: 20)
        _ = full.tryTake(at: .zero)
        var count = 0
        for _ in 0..<10 where full.tryTake(at: .seconds(10)) { count += 1 }
        #expect(count == 5)
        // A throttled-starts window shrinks the bucket.
        var throttled = TokenBucket(burst: 100, refillPerSecond: 20)
        throttled.reconfigure(burst: 10, refillPerSecond: 2, at: .zero)
        var inWindow = 0
        for _ in 0..<100 where throttled.tryTake(at: .zero) { inWindow += 1 }
        #expect(inWindow == 10)
    }

    @Test("States Retry: interval × backoff^(n−1), capped, MaxAttempts, FULL jitter within bounds")
    func statesRetrier() {
        var random = SeededRandom(seed: 1)
        let rule = StatesRetrier(errorEquals: ["ECS.AmazonECSException"], intervalSeconds: 1, backoffRate: 2, maxAttempts: 3, maxDelaySeconds: 3)
        let step1 = rule.delay(beforeRetry: 1, random: &random)
        #expect(step1 == .seconds(1))
        let step2 = rule.delay(beforeRetry: 2, random: &random)
        #expect(step2 == .seconds(2))
        let step3 = rule.delay(beforeRetry: 3, random: &random)
        #expect(step3 == .seconds(3), "4 s capped at MaxDelaySeconds 3")
        let step4 = rule.delay(beforeRetry: 4, random: &random)
        #expect(step4 == nil)
        let step5 = StatesRetrier(errorEquals: ["X"], maxAttempts: 0).delay(beforeRetry: 1, random: &random)
        #expect(step5 == nil)
        let jittered = StatesRetrier(errorEquals: ["X"], intervalSeconds: 4, backoffRate: 1, maxAttempts: 100, jitterStrategy: .full)
        var distinct = Set<Duration>()
        for n in 1...100 {
            let delay = jittered.delay(beforeRetry: n, random: &random)!
            #expect(delay >= .zero && delay <= .seconds(4))
            distinct.insert(delay)
        }
        #expect(distinct.count > 50, "full jitter spreads the delays")
        #expect(StatesRetrier(errorEquals: ["States.ALL"]).matches("Anything"))
        #expect(!StatesRetrier(errorEquals: ["States.ALL"]).matches("States.Runtime"))
        #expect(StatesRetrier(errorEquals: ["States.TaskFailed"]).matches("ECS.AmazonECSException"))
        #expect(!StatesRetrier(errorEquals: ["ECS.AmazonECSException"]).matches("States.TaskFailed"))
    }

    @Test("Event delivery: retryable failures back off, then dead-letter on attempts or age; others go straight to the DLQ")
    func eventDelivery() {
        var random = SeededRandom(seed: 7)
        let throttled = TargetFailure(code: "ThrottlingException", message: "Rate exceeded", retryable: true)
        var delivery = EventDelivery(policy: EventRetryPolicy(maximumRetryAttempts: 3, maximumEventAgeSeconds: 3600), createdAt: .zero)
        var now = Duration.zero
        for retry in 0..<3 {
            guard case let .retry(after) = delivery.failed(throttled, at: now, random: &random) else {
                Issue.record("retry \(retry) should be scheduled")
                return
            }
            #expect(after >= .zero && after <= .seconds(1 << retry))
            now += after
        }
        let step6 = delivery.failed(throttled, at: now, random: &random)
        #expect(step6 == .deadLetter(.init(errorCode: "ThrottlingException", errorMessage: "Rate exceeded", exhaustedRetryCondition: "MaximumRetryAttempts", retryAttempts: 3)))

        var aged = EventDelivery(policy: EventRetryPolicy(maximumRetryAttempts: 185, maximumEventAgeSeconds: 60), createdAt: .zero)
        guard case let .deadLetter(letter) = aged.failed(throttled, at: .seconds(61), random: &random) else {
            Issue.record("an event older than MaximumEventAgeInSeconds must be dead-lettered")
            return
        }
        #expect(letter.exhaustedRetryCondition == "MaximumEventAgeInSeconds")

        var fatal = EventDelivery(policy: EventRetryPolicy(), createdAt: .zero)
        guard case let .deadLetter(notRetried) = fatal.failed(TargetFailure(code: "AccessDeniedException", message: "no", retryable: false), at: .zero, random: &random) else {
            Issue.record("a non-retryable failure goes straight to the DLQ")
            return
        }
        #expect(notRetried.exhaustedRetryCondition == "NonRetryable" && notRetried.retryAttempts == 0)
        #expect(EventRetryPolicy(maximumRetryAttempts: 186, maximumEventAgeSeconds: 59).problems.count == 2)
    }

    @Test("Workflow happy path: RUNNING, launch, exit 0, SUCCEEDED, with a timestamped history")
    func workflowHappyPath() {
        var workflow = JobWorkflow(seed: 1)
        let step7 = workflow.start(at: .zero)
        #expect(step7 == .writeJobStarted)
        let step8 = workflow.jobStartRecorded(.ok, at: .milliseconds(5))
        #expect(step8 == .launchTask(attempt: 1))
        let step9 = workflow.taskStarted(taskId: "t1", at: .milliseconds(900))
        #expect(step9 == .awaitTaskExit(taskId: "t1"))
        let step10 = workflow.taskStopped(exitCode: 0, stoppedReason: "Essential container exited", at: .seconds(5))
        #expect(step10 == .writeJobSucceeded(attempts: 1))
        let step11 = workflow.jobEndRecorded(.ok, at: .seconds(5) + .milliseconds(3))
        #expect(step11 == .finish(.succeeded))
        #expect(workflow.outcome == .succeeded)
        let states = workflow.history.compactMap(\.state)
        #expect(states == ["RecordJobStarted", "RunProcessorTask", "RecordJobSucceeded"])
        #expect(workflow.history.first?.type == "ExecutionStarted" && workflow.history.last?.type == "ExecutionSucceeded")
        #expect(zip(workflow.history, workflow.history.dropFirst()).allSatisfy { $0.at <= $1.at })
    }

    @Test("Throttled launches are retried with backoff, then caught into FAILED")
    func workflowThrottledLaunches() {
        var workflow = JobWorkflow(seed: 2)
        _ = workflow.start(at: .zero)
        var action = workflow.jobStartRecorded(.ok, at: .zero)
        var delays: [Duration] = []
        var now = Duration.zero
        for _ in 0..<10 {
            guard case .launchTask = action else { break }
            action = workflow.launchFailed(error: "ECS.AmazonECSException", message: "ThrottlingException: Rate exceeded", at: now)
            if case let .wait(delay) = action {
                delays.append(delay)
                now += delay
                action = workflow.retryDue(at: now)
            }
        }
        #expect(delays == [.seconds(1), .seconds(2), .seconds(4)])
        #expect(action == .writeJobFailed(error: "ECS.AmazonECSException", cause: "ThrottlingException: Rate exceeded", attempts: 4))
        let step12 = workflow.jobEndRecorded(.ok, at: now)
        #expect(step12 == .finish(.failed(error: "ECS.AmazonECSException", cause: "ThrottlingException: Rate exceeded")))
        #expect(workflow.launchFailures == 4 && workflow.launchAttempts == 4)
    }

    @Test("A failed task is retried once, then recorded FAILED; a duplicate event ends without a second job")
    func workflowTaskFailureAndDuplicate() {
        var workflow = JobWorkflow(seed: 3)
        _ = workflow.start(at: .zero)
        _ = workflow.jobStartRecorded(.ok, at: .zero)
        _ = workflow.taskStarted(taskId: "a", at: .seconds(1))
        let step13 = workflow.taskStopped(exitCode: 1, stoppedReason: "crash", at: .seconds(2))
        #expect(step13 == .wait(.seconds(2)))
        let step14 = workflow.retryDue(at: .seconds(4))
        #expect(step14 == .launchTask(attempt: 2))
        _ = workflow.taskStarted(taskId: "b", at: .seconds(5))
        guard case let .writeJobFailed(error, _, attempts) = workflow.taskStopped(exitCode: 2, stoppedReason: "crash again", at: .seconds(6)) else {
            Issue.record("the second task failure must be caught")
            return
        }
        #expect(error == "States.TaskFailed" && attempts == 2 && workflow.taskFailures == 2)

        var duplicate = JobWorkflow(seed: 4)
        _ = duplicate.start(at: .zero)
        let step15 = duplicate.jobStartRecorded(.conditionFailed, at: .zero)
        #expect(step15 == .finish(.duplicate))
    }

    @Test("Ledger throttling is retried; exhausted retries fail the execution and leave the ledger as it was")
    func workflowLedgerThrottling() {
        var workflow = JobWorkflow(seed: 5)
        _ = workflow.start(at: .zero)
        var now = Duration.zero
        var action = workflow.jobStartRecorded(.error("DynamoDB.ProvisionedThroughputExceededException", message: "throttled"), at: now)
        var retries = 0
        while case let .wait(delay) = action, retries < 20 {
            retries += 1
            now += delay
            let step16 = workflow.retryDue(at: now)
            #expect(step16 == .writeJobStarted)
            action = workflow.jobStartRecorded(.error("DynamoDB.ProvisionedThroughputExceededException", message: "throttled"), at: now)
        }
        #expect(retries == 6)
        #expect(action == .finish(.executionFailed(error: "DynamoDB.ProvisionedThroughputExceededException", cause: "throttled")))
    }
}
