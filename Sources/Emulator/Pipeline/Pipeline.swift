import AWSWire
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// The emulated pipeline behind the S3 endpoint (DESIGN.md steps 2–5): the EventBridge rule and
/// its target retry policy, Step Functions executions of ``JobWorkflow``, Fargate tasks
/// (``TaskLauncher``) running the processor (``ProcessorTask``), the job ledger and the
/// RetryQueue (``PipelineDataServices``, also served on the wire).
///
/// It is the emulator's ``ObjectEventSink``: an accepted event is stored in the bus's inbox
/// (``PipelineStore``) before `deliver` returns, so the S3 side marks it delivered only once
/// the pipeline owns it. ``run()`` turns due deliveries into executions and runs them; on
/// graceful shutdown it stops, leaving in-flight executions RUNNING in the store, and a later
/// start on the same state directory resumes them (the ledger's conditional writes make the
/// resumed execution carry on from its own RUNNING record).
package final class Pipeline: Service, ObjectEventBatchSink {
    package let configuration: PipelineConfiguration
    package let data: PipelineDataServices
    package let store: PipelineStore
    package let counters = PipelineCounters()
    let buckets: EmulatorConfiguration.Buckets
    let io: ObjectIO
    let launcher: TaskLauncher
    let processor: ProcessorTask
    let logger: Logger
    let startedAt = Date()
    private let wake = WakeSignal()
    /// Where new executions go: the running ``run()``'s stream (nil while stopped: they stay
    /// RUNNING in the store and the next ``run()`` resumes them).
    private let spawnContinuation = Mutex<AsyncStream<PipelineStore.Execution>.Continuation?>(nil)
    /// Executions being driven now (a restart's resume scan never starts one twice).
    private let inFlight = Mutex<Set<String>>([])
    /// Held down by a pipeline-restart fault: events are refused (they stay in the S3 side's outbox).
    private let down = Atomic<Bool>(false)
    private let random: Mutex<SeededRandom>

    init(
        configuration: PipelineConfiguration,
        emulator: EmulatorConfiguration,
        stateDirectory: String,
        io: ObjectIO,
        durable: Bool,
        wireLedgerFault: (@Sendable (_ operation: String) -> DynamoDBServiceError?)?? = nil
    ) async throws {
        self.configuration = configuration
        self.buckets = emulator.buckets
        self.io = io
        self.logger = emulator.logger
        let credentials = emulator.credentials
        let host = "\(emulator.listener.host):\(emulator.listener.port)"
        self.data = try await PipelineDataServices(
            stateDirectory: stateDirectory, now: { Date() },
            secretAccessKey: { $0 == credentials.accessKeyId ? credentials.secretAccessKey : nil },
            host: host, jobTableName: configuration.jobTableName, retryQueueName: configuration.retryQueueName,
            recordTTL: configuration.recordTTL,
            // The DynamoDB API's own hook (the emulator's fault plan acts on the wire at the endpoint).
            ledgerFault: wireLedgerFault ?? configuration.faults.ledgerWrite
        )
        self.store = try PipelineStore(path: stateDirectory + "/pipeline.sqlite", synchronousFull: durable)
        let counters = self.counters
        self.launcher = TaskLauncher(
            configuration: configuration.launcher, limits: configuration.faults.launcherLimits, counters: counters,
            now: { Pipeline.now() }
        )
        self.processor = ProcessorTask(io: io, buckets: emulator.buckets, configuration: configuration.processor, counters: counters)
        self.random = Mutex(SeededRandom(seed: configuration.seed))
    }

    /// Workflow time: the duration since the Unix epoch, so that histories are absolute
    /// timestamps that survive a restart.
    static func now() -> Duration {
        .nanoseconds(Int64(Date().timeIntervalSince1970 * 1e9))
    }

    func randomDraw<T: Sendable>(_ body: (inout SeededRandom) -> T) -> T {
        self.random.withLock { body(&$0) }
    }

    // MARK: Event bus

    /// The rule: a matching event enters the inbox (twice for a duplicated delivery).
    package func deliver(_ event: ObjectCreatedEvent) async throws {
        try await self.deliver(batch: [event])
    }

    /// ``deliver(_:)`` for a batch, in order: the matching events enter the inbox in one
    /// transaction (all or none).
    package func deliver(batch events: [ObjectCreatedEvent]) async throws {
        guard !self.isDown else { throw PipelineStoppedError() }
        let now = Date()
        var arrivals: [PipelineStore.Arrival] = []
        for event in events {
            self.counters.add(.eventsReceived)
            guard self.configuration.rule.matches(bucket: event.bucket, key: event.key, rawBucket: self.buckets.raw) else {
                self.counters.add(.eventsFilteredOut)
                continue
            }
            let fault = self.configuration.faults.delivery?(event)
            let rate = self.configuration.duplicateRate
            let duplicate = fault?.duplicate == true || (rate > 0 && self.random.withLock { Double.random(in: 0..<1, using: &$0) } < rate)
            if duplicate { self.counters.add(.eventsDuplicated) }
            let delay = fault?.delay ?? .zero
            arrivals.append(.init(event: event, copies: duplicate ? 2 : 1, notBefore: now.addingTimeInterval(delay.seconds)))
        }
        guard !arrivals.isEmpty else { return }
        try await self.store.accept(arrivals, now: now)
        self.wake.signal()
    }

    package func run() async throws {
        let (spawn, continuation) = AsyncStream<PipelineStore.Execution>.makeStream()
        self.spawnContinuation.withLock { $0 = continuation }
        defer {
            self.spawnContinuation.withLock { $0 = nil }
            continuation.finish()
        }
        try await withThrowingDiscardingTaskGroup { group in
            var cursor: Int64 = 0
            var resumed = 0
            while true {
                let page = try await self.store.executions(status: .running, after: cursor, limit: 500)
                for execution in page {
                    resumed += 1
                    group.addTask { await self.runExecution(execution, resumed: true) }
                }
                guard let last = page.last else { break }
                cursor = last.seq
            }
            if resumed > 0 {
                self.counters.add(.executionsResumed, resumed)
                self.logger.info("resuming \(resumed) executions a previous run left in flight")
            }
            group.addTask {
                do {
                    try await self.busLoop()
                } catch where Task.isCancelled {
                    // Stopped (shutdown or a pipeline restart) while a store call was in flight:
                    // it threw because of the cancellation, which is not the pipeline failing.
                }
            }
            for await execution in spawn.cancelOnGracefulShutdown() {
                group.addTask { await self.runExecution(execution, resumed: false) }
            }
            group.cancelAll()
        }
    }

    /// Ends ``run()`` (the emulator calls this when it stops).
    func stop() {
        self.spawnContinuation.withLock { $0 }?.finish()
        self.wake.finish()
    }

    /// Whether a pipeline restart holds the pipeline down (``deliver(_:)`` refuses events).
    package var isDown: Bool { self.down.load(ordering: .acquiring) }

    /// Set by the restart supervisor around a stop.
    func setDown(_ down: Bool) {
        self.down.store(down, ordering: .releasing)
        if !down { self.wake.signal() }
    }

    private func busLoop() async throws {
        while !Task.isCancelled {
            let (due, nextDue) = try await self.store.dueDeliveries(at: Date(), limit: 256)
            // Deliveries the target accepts start their executions together, in one transaction.
            var starts: [(execution: PipelineStore.Execution, delivery: Int64?)] = []
            for delivery in due {
                try Task.checkCancellation()
                if let execution = try await self.attempt(delivery) { starts.append((execution, delivery.id)) }
            }
            if !starts.isEmpty {
                let started = try await self.store.startExecutions(starts)
                self.counters.add(.executionsStarted, started.count)
                let spawn = self.spawnContinuation.withLock { $0 }
                for execution in started { spawn?.yield(execution) }
            }
            // Attempts may have scheduled retries: look again before sleeping.
            if !due.isEmpty { continue }
            // Sleep until the next retry is due or something new arrives.
            let wait = nextDue.map { max(0.001, $0.timeIntervalSinceNow) } ?? 3600
            let woken = await self.wake.wait(atMost: .milliseconds(Int64(min(wait, 3600) * 1000)))
            if !woken { return }
        }
    }

    /// One delivery attempt to the rule's target (StartExecution). A failure (a fault) is handled
    /// here; on success, returns the execution for the caller to start.
    private func attempt(_ delivery: PipelineStore.Delivery) async throws -> PipelineStore.Execution? {
        self.counters.add(.deliveryAttempts)
        if let failure = self.configuration.faults.eventTarget?(delivery.event) {
            self.counters.add(.deliveryFailures)
            let age = Date().timeIntervalSince(delivery.receivedAt)
            var state = EventDelivery(policy: self.configuration.eventRetryPolicy, createdAt: .zero, retries: delivery.attempts)
            let next = self.random.withLock { state.failed(failure, at: .seconds(age), random: &$0) }
            switch next {
            case .retry(let after):
                self.counters.add(.deliveryRetries)
                try await self.store.scheduleRetry(delivery: delivery.id, attempts: state.retries, notBefore: Date().addingTimeInterval(after.seconds))
            case .deadLetter(let letter):
                let message = DeadLetterMessage(
                    eventJSON: String(decoding: try delivery.event.jsonData(), as: UTF8.self),
                    ruleARN: self.configuration.rule.ruleARN, targetARN: self.configuration.rule.targetARN,
                    errorCode: letter.errorCode, errorMessage: letter.errorMessage,
                    exhaustedRetryCondition: letter.exhaustedRetryCondition == "NonRetryable"
                        ? nil : DeadLetterMessage.ExhaustedRetryCondition(rawValue: letter.exhaustedRetryCondition),
                    retryAttempts: letter.retryAttempts
                )
                try await self.data.deadLetter(message)
                try await self.store.markDeadLettered(delivery: delivery.id)
                self.counters.add(.eventsDeadLettered)
            }
            return nil
        }
        return Self.newExecution(for: delivery.event, source: "event")
    }

    // MARK: Executions

    /// StartExecution (the wire API and `csvstorm redrive`): runs the workflow for `event`.
    package func startExecution(for event: ObjectCreatedEvent, name: String?, source: String) async throws -> PipelineStore.Execution {
        var execution = Self.newExecution(for: event, source: source)
        if let name { execution.executionId = name }
        let stored = try await self.store.startExecution(execution, delivery: nil)
        self.counters.add(.executionsStarted)
        self.spawnContinuation.withLock { $0 }?.yield(stored)
        return stored
    }

    static func newExecution(for event: ObjectCreatedEvent, source: String) -> PipelineStore.Execution {
        let job = JobLedgerKey(bucket: event.bucket, key: event.key, sequencer: event.sequencer)
        let json = (try? event.jsonData()).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        return PipelineStore.Execution(
            seq: 0, executionId: UUID().uuidString.lowercased(), jobId: job.jobId, bucket: event.bucket, key: event.key,
            sequencer: event.sequencer, status: .running, source: source, startedAt: Date(), stoppedAt: nil, result: nil,
            error: nil, cause: nil, attempts: 0, history: [], eventJSON: json
        )
    }

    /// Drives one execution to its end. Cancellation (shutdown) leaves it RUNNING in the store,
    /// to be resumed by the next start.
    func runExecution(_ stored: PipelineStore.Execution, resumed: Bool) async {
        guard self.inFlight.withLock({ $0.insert(stored.executionId).inserted }) else { return }
        defer { _ = self.inFlight.withLock { $0.remove(stored.executionId) } }
        var execution = stored
        guard let event = try? ObjectCreatedEvent.decode(json: Data(execution.eventJSON.utf8)) else {
            execution.status = .failed
            execution.result = "EXECUTION_FAILED"
            execution.error = "States.Runtime"
            execution.cause = "the execution input is not an Object Created event"
            execution.stoppedAt = Date()
            try? await self.store.update(execution)
            self.counters.add(.executionsFailed)
            return
        }
        var runner = ExecutionRunner(pipeline: self, event: event, execution: execution, resumed: resumed)
        await runner.run()
    }
}

/// The pipeline is stopped by a pipeline-restart fault: the event stays pending in the outbox.
struct PipelineStoppedError: Error, CustomStringConvertible {
    var description: String { "the pipeline is stopped (pipeline-restart fault); the event stays pending" }
}
