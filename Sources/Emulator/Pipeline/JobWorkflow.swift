/// The state machine of the system under test, one execution per delivered event:
///
///     RecordJobStarted (ledger put, attribute_not_exists)  ── exists ──▶ end: duplicate
///        │ ok
///     RunProcessorTask (ecs:runTask.sync: launch, wait for exit; Retry; Catch)
///        │ exit 0                      │ caught error
///     RecordJobSucceeded            RecordJobFailed
///
/// Pure: fed with outcomes, it answers with the next action, and records every transition
/// with its timestamp (the execution history). Time is a `Duration` since an epoch the
/// caller chooses, so it runs in real or virtual time alike.
package struct JobWorkflow: Sendable {
    package struct Definition: Sendable, Equatable {
        /// Retry rules of RunProcessorTask, checked in order (ASL semantics: each rule
        /// counts its own retries).
        package var taskRetriers: [StatesRetrier]
        /// Retry rules of the ledger states (RecordJob*).
        package var ledgerRetriers: [StatesRetrier]
        /// Catch rules of RunProcessorTask; unmatched errors fail the execution.
        package var taskCatchers: [StatesCatcher]

        /// The deployed stack's definition: launch errors retried (interval 1 s, backoff 2.0,
        /// 3 attempts), a failed task retried once, ledger throttling retried, everything
        /// else caught into RecordJobFailed.
        package static let standard = Definition(
            taskRetriers: [
                StatesRetrier(errorEquals: ["ECS.AmazonECSException", "ECS.ThrottlingException"], intervalSeconds: 1, backoffRate: 2, maxAttempts: 3),
                StatesRetrier(errorEquals: ["States.TaskFailed"], intervalSeconds: 2, backoffRate: 2, maxAttempts: 1),
            ],
            ledgerRetriers: [
                StatesRetrier(errorEquals: ["DynamoDB.ProvisionedThroughputExceededException", "DynamoDB.ThrottlingException", "DynamoDB.InternalServerErrorException", "DynamoDB.InternalServerError"], intervalSeconds: 0.5, backoffRate: 2, maxAttempts: 6, jitterStrategy: .full),
            ],
            taskCatchers: [StatesCatcher(errorEquals: ["States.ALL"], next: "RecordJobFailed")]
        )

        package init(taskRetriers: [StatesRetrier], ledgerRetriers: [StatesRetrier], taskCatchers: [StatesCatcher]) {
            self.taskRetriers = taskRetriers
            self.ledgerRetriers = ledgerRetriers
            self.taskCatchers = taskCatchers
        }
    }

    package enum StateName: String, Sendable, Codable {
        case recordJobStarted = "RecordJobStarted"
        case runProcessorTask = "RunProcessorTask"
        case recordJobSucceeded = "RecordJobSucceeded"
        case recordJobFailed = "RecordJobFailed"
    }

    package enum Outcome: Sendable, Equatable, Codable {
        /// Processed; the ledger says SUCCEEDED.
        case succeeded
        /// The job failed and the ledger says FAILED.
        case failed(error: String, cause: String)
        /// Another execution already owns this object version (at-least-once delivery).
        case duplicate
        /// The execution itself failed (e.g. a ledger write exhausted its retries); the
        /// ledger may be left RUNNING.
        case executionFailed(error: String, cause: String)

        package var isTerminalSuccess: Bool { self == .succeeded }
    }

    package enum Action: Sendable, Equatable {
        /// Conditional put of the RUNNING record (`attribute_not_exists(jobId)`).
        case writeJobStarted
        /// RunTask; `attempt` counts RunTask calls from 1.
        case launchTask(attempt: Int)
        /// Sleep, then call `retryDue(at:)`.
        case wait(Duration)
        /// The task runs; call `taskStopped` when it exits.
        case awaitTaskExit(taskId: String)
        /// Mark SUCCEEDED with the output location and attempt count.
        case writeJobSucceeded(attempts: Int)
        /// Mark FAILED with error, cause and attempt count.
        case writeJobFailed(error: String, cause: String, attempts: Int)
        case finish(Outcome)
    }

    /// The outcome of a ledger write.
    package enum LedgerResult: Sendable, Equatable {
        case ok
        /// The condition failed: the record exists (a duplicate delivery).
        case conditionFailed
        /// An error, with its Step Functions error name (e.g. DynamoDB.ProvisionedThroughputExceededException).
        case error(String, message: String)
    }

    package struct HistoryEvent: Sendable, Equatable, Codable {
        package var at: Duration
        package var type: String
        package var state: String?
        package var detail: String?
    }

    package let definition: Definition
    private(set) package var state: StateName = .recordJobStarted
    private(set) package var history: [HistoryEvent] = []
    private(set) package var outcome: Outcome?
    /// RunTask calls made (the ledger's attempt count).
    private(set) package var launchAttempts = 0
    /// Throttled or failed RunTask calls.
    private(set) package var launchFailures = 0
    /// Tasks that exited non-zero.
    private(set) package var taskFailures = 0
    private var retryCounts: [Int] = []
    private var pending: Action?
    private var failure: (error: String, cause: String)?
    private var random: SeededRandom

    package init(definition: Definition = .standard, seed: UInt64) {
        self.definition = definition
        self.random = SeededRandom(seed: seed)
    }

    package mutating func start(at now: Duration) -> Action {
        record(now, "ExecutionStarted")
        return enter(.recordJobStarted, at: now)
    }

    package mutating func jobStartRecorded(_ result: LedgerResult, at now: Duration) -> Action {
        switch result {
        case .ok:
            record(now, "TaskSucceeded", detail: "RUNNING record written")
            return enter(.runProcessorTask, at: now)
        case .conditionFailed:
            record(now, "TaskFailed", detail: "ConditionalCheckFailedException: job exists")
            return finish(.duplicate, at: now)
        case let .error(name, message):
            return ledgerFailed(name, message, at: now)
        }
    }

    package mutating func launchFailed(error: String, message: String, at now: Duration) -> Action {
        launchFailures += 1
        record(now, "TaskFailed", detail: "\(error): \(message)")
        return taskError(error, message, at: now)
    }

    package mutating func taskStarted(taskId: String, at now: Duration) -> Action {
        record(now, "TaskStarted", detail: taskId)
        return .awaitTaskExit(taskId: taskId)
    }

    /// The task exited. Exit code 0 succeeds; anything else is `States.TaskFailed`.
    package mutating func taskStopped(exitCode: Int, stoppedReason: String, at now: Duration) -> Action {
        guard exitCode == 0 else {
            taskFailures += 1
            record(now, "TaskFailed", detail: "exit \(exitCode): \(stoppedReason)")
            return taskError("States.TaskFailed", "Essential container in task exited (exit code \(exitCode)): \(stoppedReason)", at: now)
        }
        record(now, "TaskSucceeded", detail: stoppedReason)
        return enter(.recordJobSucceeded, at: now)
    }

    /// A scheduled retry is due: run the current state again.
    package mutating func retryDue(at now: Duration) -> Action {
        record(now, "RetryDue")
        return actionForCurrentState()
    }

    package mutating func jobEndRecorded(_ result: LedgerResult, at now: Duration) -> Action {
        switch result {
        case .ok, .conditionFailed:
            record(now, "TaskSucceeded")
            if state == .recordJobSucceeded { return finish(.succeeded, at: now) }
            let failure = self.failure ?? ("States.TaskFailed", "unknown")
            return finish(.failed(error: failure.error, cause: failure.cause), at: now)
        case let .error(name, message):
            return ledgerFailed(name, message, at: now)
        }
    }

    /// Records an event of the runtime around the state machine (a task reaching RUNNING, a
    /// resume after a restart) without changing state.
    package mutating func note(_ type: String, detail: String? = nil, at now: Duration) {
        record(now, type, detail: detail)
    }

    /// Ends the execution as failed from outside (a pipeline restart that cannot resume it).
    package mutating func abort(cause: String, at now: Duration) -> Action {
        finish(.executionFailed(error: "States.Runtime", cause: cause), at: now)
    }

    // MARK: Internals

    private mutating func enter(_ next: StateName, at now: Duration) -> Action {
        state = next
        retryCounts = []
        record(now, "TaskStateEntered", state: next.rawValue)
        return actionForCurrentState()
    }

    private mutating func actionForCurrentState() -> Action {
        switch state {
        case .recordJobStarted:
            return .writeJobStarted
        case .runProcessorTask:
            launchAttempts += 1
            return .launchTask(attempt: launchAttempts)
        case .recordJobSucceeded:
            return .writeJobSucceeded(attempts: launchAttempts)
        case .recordJobFailed:
            let failure = self.failure ?? ("States.TaskFailed", "unknown")
            return .writeJobFailed(error: failure.error, cause: failure.cause, attempts: launchAttempts)
        }
    }

    private mutating func taskError(_ error: String, _ message: String, at now: Duration) -> Action {
        if let delay = nextRetryDelay(error, retriers: definition.taskRetriers) {
            record(now, "TaskRetryScheduled", detail: "\(error) after \(delay)")
            return .wait(delay)
        }
        if definition.taskCatchers.contains(where: { $0.matches(error) }) {
            failure = (error, message)
            record(now, "CatchMatched", detail: error)
            return enter(.recordJobFailed, at: now)
        }
        return finish(.executionFailed(error: error, cause: message), at: now)
    }

    private mutating func ledgerFailed(_ error: String, _ message: String, at now: Duration) -> Action {
        record(now, "TaskFailed", detail: "\(error): \(message)")
        if let delay = nextRetryDelay(error, retriers: definition.ledgerRetriers) {
            record(now, "TaskRetryScheduled", detail: "\(error) after \(delay)")
            return .wait(delay)
        }
        return finish(.executionFailed(error: error, cause: message), at: now)
    }

    private mutating func nextRetryDelay(_ error: String, retriers: [StatesRetrier]) -> Duration? {
        if retryCounts.count < retriers.count { retryCounts += Array(repeating: 0, count: retriers.count - retryCounts.count) }
        guard let index = retriers.firstIndex(where: { $0.matches(error) }) else { return nil }
        retryCounts[index] += 1
        return retriers[index].delay(beforeRetry: retryCounts[index], random: &random)
    }

    private mutating func finish(_ outcome: Outcome, at now: Duration) -> Action {
        self.outcome = outcome
        switch outcome {
        case .succeeded, .duplicate: record(now, "ExecutionSucceeded", detail: "\(outcome)")
        case .failed, .executionFailed: record(now, "ExecutionFailed", detail: "\(outcome)")
        }
        return .finish(outcome)
    }

    private mutating func record(_ at: Duration, _ type: String, state: String? = nil, detail: String? = nil) {
        history.append(HistoryEvent(at: at, type: type, state: state, detail: detail))
    }
}

/// SplitMix64 as a `RandomNumberGenerator`, for seeded jitter.
package struct SeededRandom: RandomNumberGenerator, Sendable, Equatable {
    private var state: UInt64

    package init(seed: UInt64) { state = seed }

    package mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z &>> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z &>> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z &>> 31)
    }
}
