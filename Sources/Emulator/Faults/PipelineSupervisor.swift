import Faults
import Logging
import ServiceLifecycle

/// Runs the pipeline and carries out the active plan's `pipeline-restart` faults: at `at` the
/// pipeline stops (events are refused, so they stay pending in the S3 side's outbox; executions
/// are cancelled and stay RUNNING in the store), and after `downtime` it starts again on the
/// same state, resuming every RUNNING execution (``Pipeline/run()``). In process: the stores,
/// counters and the endpoint stay up.
///
/// Every restart of a plan is carried out exactly once, for its whole `downtime`, even when the
/// supervisor gets to it late (a machine too busy to run it within the window): the stop then
/// starts late, and the lateness is logged. The plan's records keep its planned times. Applying
/// or clearing a plan ends a downtime at once.
struct PipelineSupervisor: Sendable {
    let pipeline: Pipeline
    let faults: EmulatorFaults
    /// Called when the pipeline is back (wakes the outbox so pending events flow at once).
    let onRestart: @Sendable () -> Void

    /// A restart that is due: which plan, which fault, and how late the supervisor sees it.
    struct Due: Sendable, Equatable {
        var generation: Int
        var restart: FaultInjector.PipelineRestart
        var late: Duration
    }

    /// The restarts already carried out, of one plan.
    struct Done: Sendable {
        var generation = -1
        var faults: Set<Int> = []

        func contains(_ generation: Int, _ fault: Int) -> Bool { self.generation == generation && self.faults.contains(fault) }

        mutating func insert(_ due: Due) {
            if self.generation != due.generation { self = Done(generation: due.generation) }
            self.faults.insert(due.restart.fault)
        }
    }

    /// Lateness below this is scheduling noise and not logged.
    static let reportedLateness: Duration = .milliseconds(250)

    private enum Ended: Sendable {
        case pipeline, restartDue(Due), watcher
    }

    func run() async throws {
        var done = Done()
        while true {
            guard let due = try await self.runUntilRestart(done: done) else { return }
            done.insert(due)
            if due.late >= Self.reportedLateness {
                self.pipeline.logger.warning(
                    "pipeline-restart (fault \(due.restart.fault)) carried out \(FaultDuration.text(due.late)) after its planned time: the machine was too busy to run it on time"
                )
            }
            await self.waitOut(due)
            self.pipeline.setDown(false)
            self.onRestart()
            if Task.isShuttingDownGracefully || Task.isCancelled { return }
        }
    }

    /// Runs the pipeline until graceful shutdown (nil) or until a restart takes it down (the restart).
    private func runUntilRestart(done: Done) async throws -> Due? {
        try await withThrowingTaskGroup(of: Ended.self) { group in
            group.addTask {
                try await self.pipeline.run()
                return .pipeline
            }
            group.addTask { await self.waitUntilDue(done: done).map { .restartDue($0) } ?? .watcher }
            var restarting: Due?
            while true {
                let ended: Ended?
                do {
                    ended = try await group.next()
                } catch {
                    if restarting != nil { continue }  // the cancelled run
                    throw error
                }
                switch ended {
                case nil:
                    return restarting
                case .restartDue(let due)?:
                    restarting = due
                    self.pipeline.setDown(true)
                    group.cancelAll()
                case .pipeline?:
                    group.cancelAll()
                case .watcher?:
                    continue
                }
            }
        }
    }

    /// The first restart of the plan in force whose time has come and that `done` does not hold;
    /// nil on shutdown or cancellation.
    private func waitUntilDue(done: Done) async -> Due? {
        while true {
            var wait: Duration = .seconds(3600)
            if let schedule = self.faults.restartSchedule() {
                let pending = schedule.restarts.filter { !done.contains(schedule.generation, $0.fault) }
                if let restart = pending.first(where: { $0.at <= schedule.elapsed }) {
                    return Due(generation: schedule.generation, restart: restart, late: schedule.elapsed - restart.at)
                }
                if let next = pending.map({ $0.at - schedule.elapsed }).min() { wait = min(wait, next + .milliseconds(1)) }
            }
            guard await self.faults.changes.wait(atMost: wait) else { return nil }
        }
    }

    /// Returns once `due`'s downtime has passed since now, the plan changed (applied or
    /// cleared), or on shutdown.
    private func waitOut(_ due: Due) async {
        let clock = ContinuousClock()
        let end = clock.now + due.restart.downtime
        while self.faults.generation == due.generation {
            let left = end - clock.now
            if left <= .zero { return }
            guard await self.faults.changes.wait(atMost: left) else { return }
        }
    }
}
