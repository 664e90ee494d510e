import AWSWire
import Foundation
import Logging

/// Runs one Step Functions execution of ``JobWorkflow``: performs each action the state machine
/// answers (ledger writes, RunTask, the task itself, retry waits) and feeds the outcomes back,
/// saving the execution's history as it goes.
struct ExecutionRunner {
    let pipeline: Pipeline
    let event: ObjectCreatedEvent
    var execution: PipelineStore.Execution
    let resumed: Bool
    var workflow: JobWorkflow
    let job: JobLedgerKey
    /// What the last task wrote.
    var outputLocation: String?
    /// The history of the run before a restart (a resumed execution keeps it).
    let priorHistory: [JobWorkflow.HistoryEvent]

    init(pipeline: Pipeline, event: ObjectCreatedEvent, execution: PipelineStore.Execution, resumed: Bool) {
        self.pipeline = pipeline
        self.event = event
        self.execution = execution
        self.resumed = resumed
        var hasher = Hasher()
        hasher.combine(execution.executionId)
        self.workflow = JobWorkflow(
            definition: pipeline.configuration.workflow, seed: pipeline.configuration.seed ^ UInt64(bitPattern: Int64(hasher.finalize()))
        )
        self.job = JobLedgerKey(bucket: event.bucket, key: event.key, sequencer: event.sequencer)
        self.priorHistory = execution.history
    }

    var fullHistory: [JobWorkflow.HistoryEvent] { self.priorHistory + self.workflow.history }

    /// The most actions one execution takes (every retry rule is bounded; this bounds the loop
    /// against a definition that is not).
    static let maxSteps = 10_000

    mutating func run() async {
        var action: JobWorkflow.Action
        if self.resumed {
            // Keep the history of the previous run; note the restart.
            self.workflow.note("ExecutionResumed", detail: "the pipeline restarted; the execution carries on from its ledger record", at: Pipeline.now())
        }
        action = self.workflow.start(at: Pipeline.now())
        do {
            for _ in 0..<Self.maxSteps {
                switch action {
                case .writeJobStarted:
                    action = try await self.writeJobStarted()
                case .launchTask:
                    action = await self.launchTask()
                case .awaitTaskExit(let taskId):
                    action = try await self.runTask(taskId)
                case .wait(let delay):
                    self.pipeline.counters.add(.workflowRetries)
                    try await Task.sleep(for: delay)
                    action = self.workflow.retryDue(at: Pipeline.now())
                case .writeJobSucceeded:
                    action = try await self.writeJobEnd(.succeeded(outputLocation: self.outputLocation ?? ""))
                case .writeJobFailed(let error, let cause, _):
                    action = try await self.writeJobEnd(.failed(error: error, cause: cause, outputLocation: self.outputLocation))
                case .finish(let outcome):
                    await self.finish(outcome)
                    return
                }
            }
            action = self.workflow.abort(cause: "the execution exceeded \(Self.maxSteps) steps", at: Pipeline.now())
            if case .finish(let outcome) = action { await self.finish(outcome) }
        } catch {
            // Cancelled by shutdown: the execution stays RUNNING in the store and resumes on the
            // next start. Save the history so far.
            self.execution.history = self.fullHistory
            try? await self.pipeline.store.update(self.execution)
        }
    }

    // MARK: States

    private mutating func writeJobStarted() async throws -> JobWorkflow.Action {
        let result: JobWorkflow.LedgerResult
        do {
            try self.ledgerFault("PutItem")
            switch try await self.pipeline.data.ledger.start(self.job, executionId: self.execution.executionId) {
            case .started:
                result = .ok
            case .duplicate:
                result = .conditionFailed
            case .resumed(let record):
                switch record.status {
                case .running:
                    result = .ok
                case .succeeded:
                    // The previous run finished the job but not the execution.
                    self.outputLocation = record.outputLocation
                    self.workflow.note("LedgerAlreadyFinal", detail: "SUCCEEDED", at: Pipeline.now())
                    return .finish(.succeeded)
                case .failed:
                    self.workflow.note("LedgerAlreadyFinal", detail: "FAILED", at: Pipeline.now())
                    return .finish(.failed(error: record.error ?? "States.TaskFailed", cause: record.cause ?? ""))
                }
            }
        } catch let error as DynamoDBServiceError {
            self.pipeline.counters.add(.ledgerErrors)
            result = .error("DynamoDB.\(error.code.name)", message: error.message)
        }
        return self.workflow.jobStartRecorded(result, at: Pipeline.now())
    }

    private mutating func launchTask() async -> JobWorkflow.Action {
        switch await self.pipeline.launcher.runTask() {
        case .success(let taskId):
            self.execution.attempts += 1
            _ = try? await self.pipeline.data.ledger.recordAttempt(self.job, executionId: self.execution.executionId)
            return self.workflow.taskStarted(taskId: taskId, at: Pipeline.now())
        case .failure(let error):
            return self.workflow.launchFailed(error: error.error, message: error.message, at: Pipeline.now())
        }
    }

    /// PROVISIONING (launch latency) → RUNNING (the container) → STOPPED.
    private mutating func runTask(_ taskId: String) async throws -> JobWorkflow.Action {
        let configuration = self.pipeline.configuration
        let launcher = self.pipeline.launcher
        let (latency, minimum) = self.pipeline.drawTaskTimes()
        let exit: ProcessorTask.Exit
        do {
            try await Task.sleep(for: configuration.scaled(latency))
            self.workflow.note("TaskRunning", detail: taskId, at: Pipeline.now())
            self.execution.history = self.fullHistory
            try? await self.pipeline.store.update(self.execution)
            let clock = ContinuousClock()
            let started = clock.now
            let fault = configuration.faults.task?(self.event.bucket, self.event.key)
            exit = await self.pipeline.processor.run(self.event, fault: fault)
            // The task takes at least its drawn duration.
            let remaining = configuration.scaled(minimum) - (clock.now - started)
            if remaining > .zero { try await Task.sleep(for: remaining) }
        } catch {
            await launcher.taskStopped()
            throw error
        }
        await launcher.taskStopped()
        if exit.outputLocation != nil { self.outputLocation = exit.outputLocation }
        self.pipeline.counters.add(exit.code == 0 ? .tasksSucceeded : .tasksFailed)
        return self.workflow.taskStopped(exitCode: exit.code, stoppedReason: exit.reason, at: Pipeline.now())
    }

    private mutating func writeJobEnd(_ outcome: JobLedger.Outcome) async throws -> JobWorkflow.Action {
        let result: JobWorkflow.LedgerResult
        do {
            try self.ledgerFault("UpdateItem")
            switch try await self.pipeline.data.ledger.finish(self.job, executionId: self.execution.executionId, outcome: outcome) {
            case .finished: result = .ok
            case .rejected: result = .conditionFailed
            }
        } catch let error as DynamoDBServiceError {
            self.pipeline.counters.add(.ledgerErrors)
            result = .error("DynamoDB.\(error.code.name)", message: error.message)
        }
        return self.workflow.jobEndRecorded(result, at: Pipeline.now())
    }

    private func ledgerFault(_ operation: String) throws {
        if let error = self.pipeline.configuration.faults.ledgerWrite?(operation) { throw error }
    }

    private mutating func finish(_ outcome: JobWorkflow.Outcome) async {
        let counters = self.pipeline.counters
        switch outcome {
        case .succeeded:
            self.execution.status = .succeeded
            self.execution.result = "SUCCEEDED"
            counters.add(.executionsSucceeded)
        case .duplicate:
            self.execution.status = .succeeded
            self.execution.result = "DUPLICATE"
            counters.add(.executionsDuplicate)
        case .failed(let error, let cause):
            // The workflow caught the error and recorded FAILED, then ends in a Fail state.
            self.execution.status = .failed
            self.execution.result = "JOB_FAILED"
            self.execution.error = error
            self.execution.cause = cause
            counters.add(.executionsFailed)
        case .executionFailed(let error, let cause):
            self.execution.status = .failed
            self.execution.result = "EXECUTION_FAILED"
            self.execution.error = error
            self.execution.cause = cause
            counters.add(.executionsFailed)
        }
        self.execution.stoppedAt = Date()
        self.execution.history = self.fullHistory
        do {
            try await self.pipeline.store.update(self.execution)
        } catch {
            self.pipeline.logger.error("cannot save execution \(self.execution.executionId): \(error)")
        }
    }
}

extension Pipeline {
    /// A task's launch latency and minimum run time, production seconds.
    func drawTaskTimes() -> (latency: Double, minimum: Double) {
        let launcher = self.configuration.launcher.launchLatency
        let duration = self.configuration.processor.duration
        return self.randomDraw { random in (launcher.sample(using: &random), duration.sample(using: &random)) }
    }
}
