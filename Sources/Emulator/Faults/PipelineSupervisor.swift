import ServiceLifecycle

/// Runs the pipeline and carries out the active plan's `pipeline-restart` faults: at `at` the
/// pipeline stops (events are refused, so they stay pending in the S3 side's outbox; executions
/// are cancelled and stay RUNNING in the store), and after `downtime` it starts again on the
/// same state, resuming every RUNNING execution (``Pipeline/run()``). In process: the stores,
/// counters and the endpoint stay up.
struct PipelineSupervisor: Sendable {
    let pipeline: Pipeline
    let faults: EmulatorFaults
    /// Called when the pipeline is back (wakes the outbox so pending events flow at once).
    let onRestart: @Sendable () -> Void

    private enum Ended: Sendable {
        case pipeline, restartDue, watcher
    }

    func run() async throws {
        while true {
            guard try await self.runUntilRestart() else { return }
            await self.waitWhileDown()
            self.pipeline.setDown(false)
            self.onRestart()
            if Task.isShuttingDownGracefully || Task.isCancelled { return }
        }
    }

    /// Runs the pipeline until graceful shutdown (false) or until a restart takes it down (true).
    private func runUntilRestart() async throws -> Bool {
        try await withThrowingTaskGroup(of: Ended.self) { group in
            group.addTask {
                try await self.pipeline.run()
                return .pipeline
            }
            group.addTask { await self.waitUntilDown() ? .restartDue : .watcher }
            var restarting = false
            while true {
                let ended: Ended?
                do {
                    ended = try await group.next()
                } catch {
                    if restarting { continue }  // the cancelled run
                    throw error
                }
                switch ended {
                case nil:
                    return restarting
                case .restartDue?:
                    restarting = true
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

    /// True when the plan says the pipeline is down; false on shutdown or cancellation.
    private func waitUntilDown() async -> Bool {
        while true {
            let (down, next) = self.faults.pipelineDown()
            if down { return true }
            let wait = next.map { $0 + .milliseconds(1) } ?? .seconds(3600)
            guard await self.faults.changes.wait(atMost: min(wait, .seconds(3600))) else { return false }
        }
    }

    /// Returns when the plan no longer holds the pipeline down (or on shutdown, or when the plan is cleared).
    private func waitWhileDown() async {
        while true {
            let (down, next) = self.faults.pipelineDown()
            if !down { return }
            let wait = next.map { $0 + .milliseconds(1) } ?? .seconds(3600)
            guard await self.faults.changes.wait(atMost: min(wait, .seconds(3600))) else { return }
        }
    }
}
