import AWSWire
import AsyncHTTPClient
import Faults
import Logging
import Synchronization

/// Where a deployed pipeline's processor tasks run, for `task-failure` and `task-crash` against
/// an endpoint target (scenario `target.endpoint.ecs`).
package struct ECSTaskTarget: Sendable, Equatable {
    /// Cluster name or ARN.
    package var cluster: String
    /// The processor's task definition family (ListTasks `family`).
    package var family: String
    /// The environment variable of the container override that carries the input object's key
    /// (a Step Functions `runTask.sync` state passes it so); nil: tasks are not told apart by
    /// key, and a fault selecting keys cannot act on this target.
    package var keyVariable: String?
    /// ECS endpoint URL; nil: AWS's regional endpoint.
    package var endpoint: String?
    /// How often the running tasks are listed while a task fault's window is open. Default 1 s.
    package var pollInterval: Duration

    package init(cluster: String, family: String, keyVariable: String? = nil, endpoint: String? = nil, pollInterval: Duration = .seconds(1)) {
        self.cluster = cluster
        self.family = family
        self.keyVariable = keyVariable
        self.endpoint = endpoint
        self.pollInterval = pollInterval
    }
}

/// `task-failure` and `task-crash` on a deployed pipeline, through ECS StopTask.
///
/// While a task fault's window is open it lists the processor family's RUNNING tasks every
/// ``ECSTaskTarget/pollInterval``. Each task is decided once, when first seen, by the run's
/// ``FaultInjector`` (the same seeded `probability` / `every` / `rate` and selector as inside the
/// emulator; the request is the task's launch: service `ecs`, operation `RunTask`, the raw bucket
/// and, with ``ECSTaskTarget/keyVariable``, the input key). A task the plan picks is stopped with
/// a reason naming the fault.
///
/// What differs from the emulator, and what a user sees: StopTask cannot choose the exit code
/// (ECS sends SIGTERM, then SIGKILL; the container exits 143 or 137 and the task stops with
/// `stopCode` `UserInitiated`), and a task is stopped when the poll finds it, at some point of its
/// run — so `task-crash`'s `output-fraction` is not honoured. The workflow's Retry and Catch see a
/// failed task either way; tasks shorter than the poll interval may finish before they are seen.
package final class ECSTaskFaults: Sendable {
    /// A task the plan stopped.
    package struct Stopped: Sendable, Hashable {
        package var taskArn: String
        package var key: String?
        package var faultIndex: Int
        package var kind: FaultKind
    }

    private struct State {
        var seen: Set<String> = []
        var stopped: [Stopped] = []
        var errors = 0
    }

    package let target: ECSTaskTarget
    package let rawBucket: String
    private let client: ECSClient
    private let injector: FaultInjector
    private let elapsed: @Sendable () -> Duration
    private let logger: Logger
    private let state = Mutex(State())

    package init(client: ECSClient, target: ECSTaskTarget, rawBucket: String, injector: FaultInjector, logger: Logger, elapsed: @escaping @Sendable () -> Duration) {
        self.client = client
        self.target = target
        self.rawBucket = rawBucket
        self.injector = injector
        self.logger = logger
        self.elapsed = elapsed
    }

    /// The kinds this acts on.
    package static let kinds: Set<FaultKind> = [.taskFailure, .taskCrash]

    /// Tasks stopped so far.
    package var stopped: [Stopped] { self.state.withLock { $0.stopped } }
    /// ECS calls that failed (each is logged; the next poll tries again).
    package var errorCount: Int { self.state.withLock { $0.errors } }

    /// Whether a task fault's window is open at `elapsed`.
    package func isActive(at elapsed: Duration) -> Bool {
        self.injector.activeFaults(at: elapsed).contains { Self.kinds.contains($0.kind) }
    }

    /// One poll: lists the RUNNING tasks, decides each task not seen before, stops the ones the
    /// plan picks. Returns the tasks it stopped.
    @discardableResult
    package func sweep() async throws -> [Stopped] {
        let arns = try await self.client.allTaskArns(cluster: self.target.cluster, family: self.target.family)
        let fresh = self.state.withLock { state in
            let fresh = arns.filter { !state.seen.contains($0) }
            state.seen.formUnion(fresh)
            return fresh
        }
        guard !fresh.isEmpty else { return [] }
        var keys: [String: String] = [:]
        if let variable = self.target.keyVariable {
            var start = 0
            while start < fresh.count {
                let batch = Array(fresh[start..<min(fresh.count, start + 100)])
                for task in try await self.client.describeTasks(cluster: self.target.cluster, tasks: batch).tasks {
                    if let key = task.environmentValue(variable) { keys[task.taskArn] = key }
                }
                start += 100
            }
        }
        var stopped: [Stopped] = []
        for arn in fresh {
            let request = FaultRequest(service: .ecs, operation: "RunTask", bucket: self.rawBucket, key: keys[arn])
            guard let decision = self.injector.decide(request, at: self.elapsed(), for: .taskLaunch) else { continue }
            let what: String
            switch decision.action {
            case .failTask(let code): what = "task-failure (exit code \(code) asked; StopTask ends the task)"
            case .crashTask: what = "task-crash (stopped mid-run)"
            default: continue
            }
            try await self.client.stopTask(cluster: self.target.cluster, task: arn, reason: "csvstorm fault plan, fault \(decision.faultIndex): \(what)")
            let record = Stopped(taskArn: arn, key: keys[arn], faultIndex: decision.faultIndex, kind: decision.kind)
            stopped.append(record)
            self.logger.info("stopped a processor task", metadata: ["task": "\(arn)", "key": "\(keys[arn] ?? "?")", "fault": "\(decision.faultIndex)"])
        }
        let done = stopped
        self.state.withLock { $0.stopped += done }
        return stopped
    }

    /// Polls while a task fault's window is open, until cancelled. An ECS error is logged and
    /// counted, never fatal: the run goes on and the next poll tries again.
    package func run() async {
        while !Task.isCancelled {
            if self.isActive(at: self.elapsed()) {
                do {
                    try await self.sweep()
                } catch is CancellationError {
                    return
                } catch {
                    self.state.withLock { $0.errors += 1 }
                    self.logger.warning("listing or stopping processor tasks failed", metadata: ["error": "\(error)"])
                }
            }
            do { try await Task.sleep(for: self.target.pollInterval) } catch { return }
        }
    }

    /// Why `plan` cannot run against `target` (nil: it can), naming the fault's location and
    /// what acts where: on an endpoint target only task faults act (through ECS, when `ecs:` is
    /// configured) — the other kinds change the emulated pipeline and have nothing to act on.
    package static func unsupported(_ plan: FaultPlan, ecs: ECSTaskTarget?, file: String) -> FaultPlanError? {
        for fault in plan.faults {
            let line = fault.source?.line
            let column = fault.source?.column
            let location = fault.source?.file ?? file
            guard Self.kinds.contains(fault.kind) else {
                return FaultPlanError(
                    .invalidValue, file: location, line: line, column: column,
                    message: "fault kind '\(fault.kind.rawValue)' acts only on the emulated pipeline; against an endpoint target csvstorm can stop processor tasks (task-failure, task-crash through ECS). For network faults, put `csvstorm proxy` in front of the endpoint",
                    validChoices: Self.kinds.map(\.rawValue).sorted()
                )
            }
            guard let ecs else {
                return FaultPlanError(
                    .missingKey, file: location, line: line, column: column,
                    message: "'\(fault.kind.rawValue)' against an endpoint target stops processor tasks through ECS: give target.endpoint.ecs (cluster, family)"
                )
            }
            if fault.selector.keys != nil && ecs.keyVariable == nil {
                return FaultPlanError(
                    .unmatchableSelector, file: location, line: line, column: column,
                    message: "this fault selects keys, but a task's key is unknown: give target.endpoint.ecs.key-variable (the container override variable that carries the object key)"
                )
            }
        }
        return nil
    }
}

extension ECSTaskFaults {
    /// Runs `body` (a run against a deployed pipeline) with the plan's task faults acting on
    /// `endpoint.ecs` alongside it; without an injector or an `ecs:` target, just `body`.
    package static func alongside<T: Sendable>(
        endpoint: Scenario.Endpoint, credentials: @escaping @Sendable () async throws -> AWSCredentials, injector: FaultInjector?,
        logger: Logger, elapsed: @escaping @Sendable () -> Duration, _ body: () async throws -> T
    ) async throws -> T {
        guard let injector, let target = endpoint.ecs, injector.plan.faults.contains(where: { Self.kinds.contains($0.kind) }) else {
            return try await body()
        }
        let http = HTTPClient(eventLoopGroupProvider: .singleton)
        let client = ECSClient(
            httpClient: http, configuration: .init(region: endpoint.region, endpoint: try target.endpoint.map { try S3Endpoint(url: $0) }),
            logger: logger, credentialsProvider: credentials
        )
        let faults = ECSTaskFaults(client: client, target: target, rawBucket: endpoint.buckets.raw, injector: injector, logger: logger, elapsed: elapsed)
        let poller = Task { await faults.run() }
        let result: Result<T, any Error>
        do { result = .success(try await body()) } catch { result = .failure(error) }
        poller.cancel()
        await poller.value
        try? await http.shutdown()
        logger.info("task faults through ECS", metadata: ["stopped": "\(faults.stopped.count)", "errors": "\(faults.errorCount)"])
        return try result.get()
    }
}
