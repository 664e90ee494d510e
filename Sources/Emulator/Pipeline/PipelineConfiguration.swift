import SyntheticData

/// The emulated pipeline behind the S3 endpoint: the EventBridge rule and its target's retry
/// policy, the Step Functions workflow, the Fargate task launcher and the processor.
///
/// ``timeScale`` compresses the long, slow parts only — a task's launch latency and its
/// production run time (5–10 minutes) — so that a file takes seconds here. Everything at the
/// API level keeps real time, as in production: RunTask's token bucket refills per real second,
/// workflow retry intervals and event delivery backoff are real seconds. So throttling and
/// retries behave (and add latency) as they would in AWS, and arrival rates mean what they say.
/// Measured times are real, never rescaled.
package struct PipelineConfiguration: Sendable {
    /// The EventBridge rule: which Object Created events start an execution.
    package struct Rule: Sendable, Hashable {
        /// Default: the raw bucket (nil means the configured raw bucket).
        package var bucket: String?
        /// Key prefix filter. Default "" (every key).
        package var prefix: String
        /// Key suffix filter. Default "" (every key).
        package var suffix: String
        /// The ARNs the dead-letter attributes name.
        package var ruleARN: String
        package var targetARN: String

        package init(
            bucket: String? = nil, prefix: String = "", suffix: String = "",
            ruleARN: String = "arn:aws:events:us-east-1:000000000000:rule/csvstorm-object-created",
            targetARN: String = "arn:aws:states:us-east-1:000000000000:stateMachine:csvstorm-ingest"
        ) {
            self.bucket = bucket
            self.prefix = prefix
            self.suffix = suffix
            self.ruleARN = ruleARN
            self.targetARN = targetARN
        }

        package func matches(bucket: String, key: String, rawBucket: String) -> Bool {
            bucket == (self.bucket ?? rawBucket) && key.hasPrefix(self.prefix) && key.hasSuffix(self.suffix)
        }
    }

    /// A distribution of production durations in seconds (before ``timeScale``).
    package enum DurationDistribution: Sendable, Hashable {
        case fixed(Double)
        /// Uniform between the bounds.
        case uniform(Double, Double)
        /// Log-normal with this median and 99th percentile.
        case logNormal(median: Double, p99: Double)

        package func sample(using random: inout some RandomNumberGenerator) -> Double {
            switch self {
            case .fixed(let value):
                return max(0, value)
            case .uniform(let low, let high):
                return low >= high ? max(0, low) : Double.random(in: low...high, using: &random)
            case .logNormal(let median, let p99):
                guard median > 0, p99 > median else { return max(0, median) }
                let sigma = log(p99 / median) / 2.326_347_874
                // Box–Muller.
                let u1 = Double.random(in: Double.leastNonzeroMagnitude..<1, using: &random)
                let u2 = Double.random(in: 0..<1, using: &random)
                let z = (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
                return median * exp(sigma * z)
            }
        }
    }

    /// Fargate, as RunTask sees it.
    package struct Launcher: Sendable, Hashable {
        /// RunTask token bucket: burst. AWS default 100.
        package var burst: Int
        /// RunTask token bucket: refill per second. AWS default 20.
        package var refillPerSecond: Double
        /// At most this many tasks run at once; RunTask beyond it fails with a capacity error
        /// (`ECS.AmazonECSException`), which the workflow retries. Default 100.
        package var maxRunningTasks: Int
        /// PROVISIONING → RUNNING, production seconds. Default uniform 20–60 s.
        package var launchLatency: DurationDistribution

        package init(burst: Int = 100, refillPerSecond: Double = 20, maxRunningTasks: Int = 100, launchLatency: DurationDistribution = .uniform(20, 60)) {
            self.burst = burst
            self.refillPerSecond = refillPerSecond
            self.maxRunningTasks = maxRunningTasks
            self.launchLatency = launchLatency
        }
    }

    /// What the processor container does and how long it takes.
    package struct Processor: Sendable {
        /// The schemas the processor knows: a file whose header is a schema's header is
        /// validated against it and its PII columns masked. A header that matches none fails
        /// the file (the header-mismatch defect). Empty: any header is accepted and only the
        /// free-text detectors run on every field.
        package var schemas: [Schema]
        /// The replacement of a masked value. Default `***`.
        package var mask: String
        /// Production seconds a task runs at least (container start-up, the job's own work).
        /// Default uniform 300–600 s. The real processing happens inside this time; when it
        /// takes longer, the task takes longer.
        package var duration: DurationDistribution
        /// Reads of the input and writes of the output, in bytes. Default 1 MiB.
        package var chunkBytes: Int

        package init(schemas: [Schema] = [], mask: String = "***", duration: DurationDistribution = .uniform(300, 600), chunkBytes: Int = 1 << 20) {
            self.schemas = schemas
            self.mask = mask
            self.duration = duration
            self.chunkBytes = max(4096, chunkBytes)
        }
    }

    package var rule: Rule
    /// The rule target's retry policy (EventBridge defaults: 185 attempts, 24 h).
    package var eventRetryPolicy: EventRetryPolicy
    /// The fraction of events delivered twice (EventBridge is at-least-once). Default 0.
    package var duplicateRate: Double
    package var workflow: JobWorkflow.Definition
    package var launcher: Launcher
    package var processor: Processor
    /// Multiplies task launch latency and the processor's run time. Default 0.01: a 5–10
    /// minute task takes 3–6 s.
    package var timeScale: Double
    /// Seeds jitter, latency and duration draws and the duplicate choice. Default 1.
    package var seed: UInt64
    /// Default `csvstorm-jobs`.
    package var jobTableName: String
    /// Default `csvstorm-retry`.
    package var retryQueueName: String
    /// How long ledger records live (their TTL). Default 30 days.
    package var recordTTL: Duration
    /// How many executions the pipeline keeps in its history table. Default 1,000,000.
    package var executionHistoryLimit: Int
    /// Hooks where faults act (the fault plan plugs in here). Default: none.
    package var faults: PipelineFaultHooks

    package init(
        rule: Rule = .init(),
        eventRetryPolicy: EventRetryPolicy = .init(),
        duplicateRate: Double = 0,
        workflow: JobWorkflow.Definition = .standard,
        launcher: Launcher = .init(),
        processor: Processor = .init(),
        timeScale: Double = 0.01,
        seed: UInt64 = 1,
        jobTableName: String = JobLedger.defaultTableName,
        retryQueueName: String = PipelineDataServices.defaultRetryQueueName,
        recordTTL: Duration = .seconds(30 * 86_400),
        executionHistoryLimit: Int = 1_000_000,
        faults: PipelineFaultHooks = .init()
    ) {
        self.rule = rule
        self.eventRetryPolicy = eventRetryPolicy
        self.duplicateRate = duplicateRate
        self.workflow = workflow
        self.launcher = launcher
        self.processor = processor
        self.timeScale = timeScale
        self.seed = seed
        self.jobTableName = jobTableName
        self.retryQueueName = retryQueueName
        self.recordTTL = recordTTL
        self.executionHistoryLimit = executionHistoryLimit
        self.faults = faults
    }

    /// Problems with the values (AWS's limits, ranges); empty when valid.
    package var problems: [String] {
        var problems = self.eventRetryPolicy.problems
        if !(0...1).contains(self.duplicateRate) { problems.append("duplicate rate must be 0…1, found \(self.duplicateRate)") }
        if !(self.timeScale >= 0) { problems.append("time scale must be ≥ 0, found \(self.timeScale)") }
        if self.launcher.burst < 0 || !(self.launcher.refillPerSecond >= 0) {
            problems.append("the RunTask token bucket needs burst ≥ 0 and refill ≥ 0")
        }
        if self.launcher.maxRunningTasks < 1 { problems.append("the running-task cap must be ≥ 1, found \(self.launcher.maxRunningTasks)") }
        return problems
    }

    /// A production duration in seconds as an emulated wait.
    func scaled(_ seconds: Double) -> Duration {
        .milliseconds(Int64((max(0, seconds) * self.timeScale * 1000).rounded()))
    }

}

/// Where faults act on the emulated pipeline. Each hook is asked at its point and answers
/// nil (no fault) or what to do instead. The fault plan (``PipelineConfiguration/faults``)
/// sets them; tests set them directly.
package struct PipelineFaultHooks: Sendable {
    /// Asked before each delivery attempt of an event to the rule's target: a failure makes
    /// the attempt fail (retried per the retry policy when retryable).
    package var eventTarget: (@Sendable (ObjectCreatedEvent) -> TargetFailure?)?
    /// Asked when a task starts for an object: a forced exit (code, stopped reason), or a
    /// crash after writing part of the output (``TaskFault/crash(afterFraction:)``).
    package var task: (@Sendable (_ bucket: String, _ key: String) -> TaskFault?)?
    /// Asked at each RunTask: overrides of the launcher limits in force now (a throttled
    /// starts window), or nil for the configured ones.
    package var launcherLimits: (@Sendable () -> LauncherLimits?)?
    /// Asked before each delivery of an event: extra delay (delayed or reordered delivery) and
    /// whether to deliver it twice.
    package var delivery: (@Sendable (ObjectCreatedEvent) -> DeliveryFault?)?
    /// Asked before each ledger operation (the workflow's writes and the DynamoDB API's
    /// operations, by operation name): an error to answer instead (ledger throttling).
    package var ledgerWrite: (@Sendable (_ operation: String) -> DynamoDBServiceError?)?

    package init(
        eventTarget: (@Sendable (ObjectCreatedEvent) -> TargetFailure?)? = nil,
        task: (@Sendable (_ bucket: String, _ key: String) -> TaskFault?)? = nil,
        launcherLimits: (@Sendable () -> LauncherLimits?)? = nil,
        delivery: (@Sendable (ObjectCreatedEvent) -> DeliveryFault?)? = nil,
        ledgerWrite: (@Sendable (_ operation: String) -> DynamoDBServiceError?)? = nil
    ) {
        self.eventTarget = eventTarget
        self.task = task
        self.launcherLimits = launcherLimits
        self.delivery = delivery
        self.ledgerWrite = ledgerWrite
    }
}

/// What a task fault does.
package enum TaskFault: Sendable, Hashable {
    /// The container exits with this code and stopped reason (after its normal duration).
    case exit(code: Int, reason: String)
    /// The container dies after writing this fraction of its output (which is never
    /// published); exit code 137, "OutOfMemoryError: Container killed due to memory usage".
    case crash(afterFraction: Double)
    /// The container completes but its output is lost (a processor bug): the task exits 0
    /// without writing anything. For proving the audit catches lost data.
    case dropOutput
}

/// Launcher limits in force during a throttled-starts window; nil keeps the configured value.
package struct LauncherLimits: Sendable, Hashable {
    package var burst: Int?
    package var refillPerSecond: Double?
    package var maxRunningTasks: Int?

    package init(burst: Int? = nil, refillPerSecond: Double? = nil, maxRunningTasks: Int? = nil) {
        self.burst = burst
        self.refillPerSecond = refillPerSecond
        self.maxRunningTasks = maxRunningTasks
    }
}

/// Delivery faults for one event.
package struct DeliveryFault: Sendable, Hashable {
    /// Wait this long (real time) before the delivery.
    package var delay: Duration
    /// Deliver the event twice.
    package var duplicate: Bool

    package init(delay: Duration = .zero, duplicate: Bool = false) {
        self.delay = delay
        self.duplicate = duplicate
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
