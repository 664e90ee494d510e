/// Fargate as `ecs:RunTask` sees it: a launch token bucket (burst 100, refill 20/s by default)
/// answering `ThrottlingException: Rate exceeded`, and a cap on running tasks answering a
/// capacity error. Both reach the workflow as errors its `Retry` rules name.
actor TaskLauncher {
    /// Why RunTask failed, with its Step Functions error name.
    struct LaunchError: Error, Sendable, Equatable {
        var error: String
        var message: String

        static let throttled = LaunchError(error: "ECS.ThrottlingException", message: "Rate exceeded")
        static let capacity = LaunchError(
            error: "ECS.AmazonECSException",
            message: "You've reached the limit on the number of tasks you can run concurrently"
        )
    }

    private let configured: PipelineConfiguration.Launcher
    private let limits: (@Sendable () -> LauncherLimits?)?
    private let now: @Sendable () -> Duration
    private var bucket: TokenBucket
    private var activeLimits: LauncherLimits?
    private(set) var running = 0
    private(set) var peakRunning = 0
    private var nextTask = 0
    let counters: PipelineCounters

    init(configuration: PipelineConfiguration.Launcher, limits: (@Sendable () -> LauncherLimits?)?, counters: PipelineCounters, now: @escaping @Sendable () -> Duration) {
        self.configured = configuration
        self.limits = limits
        self.now = now
        self.counters = counters
        self.bucket = TokenBucket(burst: configuration.burst, refillPerSecond: configuration.refillPerSecond, at: now())
    }

    /// RunTask: a task id, or the error RunTask answers.
    func runTask() -> Result<String, LaunchError> {
        let now = self.now()
        let limits = self.limits?()
        if limits != self.activeLimits {
            self.activeLimits = limits
            self.bucket.reconfigure(
                burst: limits?.burst ?? self.configured.burst, refillPerSecond: limits?.refillPerSecond ?? self.configured.refillPerSecond, at: now
            )
        }
        self.counters.add(.runTaskCalls)
        guard self.bucket.tryTake(at: now) else {
            self.counters.add(.runTaskThrottled)
            return .failure(.throttled)
        }
        let cap = limits?.maxRunningTasks ?? self.configured.maxRunningTasks
        guard self.running < cap else {
            self.counters.add(.runTaskCapacityErrors)
            return .failure(.capacity)
        }
        self.running += 1
        self.peakRunning = max(self.peakRunning, self.running)
        self.nextTask += 1
        self.counters.set(.tasksRunning, self.running)
        return .success("task-\(String(self.nextTask, radix: 16))-\(String(UInt32.random(in: 0...UInt32.max), radix: 16))")
    }

    /// A task stopped (whatever its exit).
    func taskStopped() {
        self.running = max(0, self.running - 1)
        self.counters.set(.tasksRunning, self.running)
    }
}
