import SyntheticData
import Yams

/// A scenario file, validated and with every default filled in: what `csvstorm run` executes.
/// Load one with ``Scenario/load(file:)`` or ``Scenario/parse(yaml:file:)``; write the resolved
/// form back with ``Scenario/resolvedYAML()``. The format is documented in scenarios/README.md.
package struct Scenario: Sendable {
    /// Names the results folder (`results/<UTC time>-<name>/`): letters, digits, `-`, `_`, `.`.
    package var name: String
    /// What the scenario is for and what result to expect. Default "".
    package var description: String
    /// The pipeline under test. Default: the embedded emulated pipeline with its defaults.
    package var target: Target
    package var dataset: Dataset
    package var load: Load
    /// The fault plan, kept as YAML for the Faults module to parse. Default: none.
    package var faults: FaultsSection?
    /// k6-style pass/fail criteria. Default: none.
    package var thresholds: [Threshold]
    /// When the pipeline counts as quiet, before the audit.
    package var quiescence: Quiescence
    /// A stored baseline to compare the run with (CI regression benchmarks). Default: none.
    package var baseline: BaselineSection?
    /// The file the scenario came from (for messages).
    package var file: String

    package init(
        name: String, description: String = "", target: Target = .emulated(.init()), dataset: Dataset, load: Load,
        faults: FaultsSection? = nil, thresholds: [Threshold] = [], quiescence: Quiescence = .init(), baseline: BaselineSection? = nil, file: String = "<memory>"
    ) {
        self.name = name
        self.description = description
        self.target = target
        self.dataset = dataset
        self.load = load
        self.faults = faults
        self.thresholds = thresholds
        self.quiescence = quiescence
        self.baseline = baseline
        self.file = file
    }
}

// MARK: - Target

extension Scenario {
    package enum Target: Sendable, Equatable {
        /// The embedded emulated pipeline (`csvstorm run` starts it).
        case emulated(Emulated)
        /// A deployed pipeline (or any endpoint speaking the AWS APIs).
        case endpoint(Endpoint)

        package static let kinds = ["emulated", "endpoint"]
    }

    /// A retry rule of the workflow (Step Functions `Retry`): wait `interval × backoffRate^(n−1)`
    /// before retry n, at most `maxAttempts` retries.
    package struct RetryRule: Sendable, Equatable {
        package var interval: Duration
        package var backoffRate: Double
        package var maxAttempts: Int

        package init(interval: Duration, backoffRate: Double, maxAttempts: Int) {
            self.interval = interval
            self.backoffRate = backoffRate
            self.maxAttempts = maxAttempts
        }
    }

    /// A distribution of durations (production time, before the time scale).
    package enum DurationDistribution: Sendable, Equatable {
        case fixed(Duration)
        case uniform(min: Duration, max: Duration)
        /// Log-normal by its median and 99th percentile.
        case logNormal(median: Duration, p99: Duration)

        package static let kinds = ["fixed", "uniform", "log-normal"]
    }

    /// The emulated pipeline's knobs. Every default is AWS's (or production's) behaviour.
    package struct Emulated: Sendable, Equatable {
        /// Multiplies every emulated wait (task launch, processing, retry intervals, event
        /// backoff). Default 0.01: 5–10 minute tasks take 3–6 s. Measured times stay real.
        package var timeScale: Double = 0.01
        package var tasks: Tasks = .init()
        package var processor: Processor = .init()
        package var workflow: Workflow = .init()
        package var events: Events = .init()
        /// Seeds the emulator's jitter, latency draws and duplicate choices. Default: the dataset seed
        /// (filled in by the parser; nil only in a hand-built value).
        package var seed: UInt64?

        package init(timeScale: Double = 0.01, tasks: Tasks = .init(), processor: Processor = .init(), workflow: Workflow = .init(), events: Events = .init(), seed: UInt64? = nil) {
            self.timeScale = timeScale
            self.tasks = tasks
            self.processor = processor
            self.workflow = workflow
            self.events = events
            self.seed = seed
        }

        /// Fargate as RunTask sees it.
        package struct Tasks: Sendable, Equatable {
            /// Tasks running at once; RunTask beyond fails with a capacity error. Default 100.
            package var maxRunning: Int = 100
            /// RunTask token bucket. AWS default: burst 100, refill 20/s.
            package var launchBurst: Int = 100
            package var launchRefillPerSecond: Double = 20
            /// PROVISIONING → RUNNING, production time. Default uniform 20–60 s.
            package var launchLatency: DurationDistribution = .uniform(min: .seconds(20), max: .seconds(60))

            package init(maxRunning: Int = 100, launchBurst: Int = 100, launchRefillPerSecond: Double = 20, launchLatency: DurationDistribution = .uniform(min: .seconds(20), max: .seconds(60))) {
                self.maxRunning = maxRunning
                self.launchBurst = launchBurst
                self.launchRefillPerSecond = launchRefillPerSecond
                self.launchLatency = launchLatency
            }
        }

        /// The processor container.
        package struct Processor: Sendable, Equatable {
            /// Production time a task runs at least. Default uniform 5–10 min.
            package var duration: DurationDistribution = .uniform(min: .seconds(300), max: .seconds(600))
            /// A processor bug on purpose: this fraction of files (a seeded choice by key) is
            /// reported processed but its output is never written — data the audit must
            /// report `lost` (exit 108). Default 0.
            package var dropOutput: Double = 0

            package init(duration: DurationDistribution = .uniform(min: .seconds(300), max: .seconds(600)), dropOutput: Double = 0) {
                self.duration = duration
                self.dropOutput = dropOutput
            }
        }

        /// The Step Functions workflow's Retry rules.
        package struct Workflow: Sendable, Equatable {
            /// RunTask errors (throttling, capacity). Default 1 s × 2.0, 3 attempts.
            package var launchRetry = RetryRule(interval: .seconds(1), backoffRate: 2, maxAttempts: 3)
            /// A task that exits non-zero. Default 2 s × 2.0, 1 attempt.
            package var taskRetry = RetryRule(interval: .seconds(2), backoffRate: 2, maxAttempts: 1)

            package init(launchRetry: RetryRule = RetryRule(interval: .seconds(1), backoffRate: 2, maxAttempts: 3), taskRetry: RetryRule = RetryRule(interval: .seconds(2), backoffRate: 2, maxAttempts: 1)) {
                self.launchRetry = launchRetry
                self.taskRetry = taskRetry
            }
        }

        /// EventBridge delivery to the rule's target.
        package struct Events: Sendable, Equatable {
            /// MaximumRetryAttempts, 0…185. Default 185.
            package var maxRetryAttempts: Int = 185
            /// MaximumEventAgeInSeconds, 60 s…24 h. Default 24 h.
            package var maxEventAge: Duration = .seconds(86_400)
            /// The fraction of events delivered twice (at-least-once delivery). Default 0.
            package var duplicateRate: Double = 0

            package init(maxRetryAttempts: Int = 185, maxEventAge: Duration = .seconds(86_400), duplicateRate: Double = 0) {
                self.maxRetryAttempts = maxRetryAttempts
                self.maxEventAge = maxEventAge
                self.duplicateRate = duplicateRate
            }
        }
    }

    /// A deployed pipeline.
    package struct Endpoint: Sendable, Equatable {
        /// S3 endpoint URL; nil: AWS's regional endpoint.
        package var s3: String?
        /// DynamoDB endpoint URL; nil: AWS's regional endpoint.
        package var dynamodb: String?
        /// SQS endpoint URL; nil: AWS's regional endpoint.
        package var sqs: String?
        package var buckets: Buckets
        /// The DynamoDB job ledger table.
        package var jobTable: String
        /// The RetryQueue (dead-letter queue): a name or a queue URL.
        package var retryQueue: String
        /// A profile of ~/.aws/config; nil: the default credentials chain.
        package var profile: String?
        /// Default us-east-1.
        package var region: String
        /// Where the processor tasks run, for task faults through ECS StopTask; nil: task faults
        /// cannot act on this target.
        package var ecs: ECSTaskTarget?

        package init(s3: String? = nil, dynamodb: String? = nil, sqs: String? = nil, buckets: Buckets = .init(), jobTable: String, retryQueue: String, profile: String? = nil, region: String = "us-east-1", ecs: ECSTaskTarget? = nil) {
            self.ecs = ecs
            self.s3 = s3
            self.dynamodb = dynamodb
            self.sqs = sqs
            self.buckets = buckets
            self.jobTable = jobTable
            self.retryQueue = retryQueue
            self.profile = profile
            self.region = region
        }
    }

    package struct Buckets: Sendable, Equatable {
        /// Default `raw`, `processed`, `failed` (the emulator's names).
        package var raw: String
        package var processed: String
        package var failed: String

        package init(raw: String = "raw", processed: String = "processed", failed: String = "failed") {
            self.raw = raw
            self.processed = processed
            self.failed = failed
        }
    }
}

// MARK: - Dataset

extension Scenario {
    /// What gets uploaded.
    package struct Dataset: Sendable, Equatable {
        /// Path of the generator schema (relative paths are relative to the working directory).
        package var schema: String
        /// Seeds every file (file i uses a seed derived from this and i) and the size draws.
        package var seed: UInt64
        /// How many files; nil: as many as the load model starts within its duration.
        package var files: Int?
        package var size: SizeDistribution
        /// The fraction of files made malformed on purpose, 0…1. Default 0.
        package var malformedFraction: Double
        /// Which defects malformed files get (drawn uniformly, seeded). Default: every mode.
        package var malformedModes: [MalformedMode]
        /// Object keys are `<keyPrefix><index>.csv`. Default `in/`.
        package var keyPrefix: String

        package init(schema: String, seed: UInt64, files: Int? = nil, size: SizeDistribution, malformedFraction: Double = 0, malformedModes: [MalformedMode] = MalformedMode.allCases, keyPrefix: String = "in/") {
            self.schema = schema
            self.seed = seed
            self.files = files
            self.size = size
            self.malformedFraction = malformedFraction
            self.malformedModes = malformedModes
            self.keyPrefix = keyPrefix
        }
    }

    /// File sizes (bytes, before rounding to a row boundary).
    package enum SizeDistribution: Sendable, Equatable {
        case fixed(ByteSize)
        /// Uniform between the bounds (inclusive).
        case uniform(min: ByteSize, max: ByteSize)
        /// Log-normal: ln(size) ~ Normal(mu, sigma), clamped to [min, max] when given.
        /// Written as `median` + `p90` (mu = ln median, sigma = ln(p90/median) / 1.2816) or as
        /// `mu` + `sigma` directly (ln bytes).
        case logNormal(mu: Double, sigma: Double, min: ByteSize?, max: ByteSize?)

        package static let kinds = ["fixed", "uniform", "log-normal"]
    }
}

// MARK: - Load

extension Scenario {
    package struct Load: Sendable, Equatable {
        package var model: Model
        /// Uploads in flight at once, whatever the model. Default 64.
        package var maxFilesInFlight: Int
        /// Multipart part size. Default 8 MiB (S3 minimum 5 MiB, raised to stay within 10,000 parts).
        package var partSize: ByteSize
        /// Parts in flight across all uploads (memory ≈ part size × parts in flight). Default 16.
        package var partsInFlight: Int
        /// Stops starting uploads after this long; nil: when the model or the file count ends.
        package var duration: Duration?

        package init(model: Model, maxFilesInFlight: Int = 64, partSize: ByteSize = ByteSize(bytes: 8 << 20), partsInFlight: Int = 16, duration: Duration? = nil) {
            self.model = model
            self.maxFilesInFlight = maxFilesInFlight
            self.partSize = partSize
            self.partsInFlight = partsInFlight
            self.duration = duration
        }

        package enum Model: Sendable, Equatable {
            /// Uploads start on a schedule, whether or not earlier ones finished.
            case open(Arrival)
            /// A fixed number of uploaders, each starting its next upload when the last finishes.
            case closed(concurrency: Int)

            package static let kinds = ["open", "closed"]
        }

        /// Open-model arrival processes (k6 executor names).
        package enum Arrival: Sendable, Equatable {
            /// `rate` starts per second, evenly spaced, for `duration` (nil: until the file count or load duration).
            case constant(rate: ArrivalRate, duration: Duration?)
            /// The rate moves linearly from the previous stage's target (or `startRate`) to each stage's target over its duration.
            case ramping(startRate: ArrivalRate, stages: [Stage])
            /// Exponential (seeded) gaps with mean 1/rate.
            case poisson(rate: ArrivalRate, duration: Duration?)

            package static let executors = ["constant-arrival-rate", "ramping-arrival-rate", "poisson"]
        }

        package struct Stage: Sendable, Equatable {
            package var target: ArrivalRate
            package var duration: Duration

            package init(target: ArrivalRate, duration: Duration) {
                self.target = target
                self.duration = duration
            }
        }
    }
}

// MARK: - Faults, quiescence

extension Scenario {
    /// The `faults:` mapping as written, with its marks, for `FaultPlan(node:file:)`.
    /// `Yams.Node` is a value tree but holds `Tag`, a class that is never mutated after parsing;
    /// hence the unchecked conformance.
    package struct FaultsSection: @unchecked Sendable {
        package var node: Yams.Node
        package var file: String

        package init(node: Yams.Node, file: String) {
            self.node = node
            self.file = file
        }
    }

    /// After the last upload: the pipeline is quiet when no work has been in flight for
    /// `idle`; the audit starts then, or at `deadline` after the last upload at the latest
    /// (anything still running is then `stuck`).
    package struct Quiescence: Sendable, Equatable {
        /// Default 5 s.
        package var idle: Duration
        /// Default 10 min.
        package var deadline: Duration

        package init(idle: Duration = .seconds(5), deadline: Duration = .seconds(600)) {
            self.idle = idle
            self.deadline = deadline
        }
    }
}

// MARK: - Baseline

extension Scenario {
    /// `baseline:`: the run's summary is compared with a stored baseline, metric by metric, each
    /// within a tolerance (``BaselineTolerance``); a regression fails the run like a threshold.
    package struct BaselineSection: Sendable, Equatable {
        /// The baseline file (relative paths start at the working directory). Its existence is
        /// checked before a run, not when the scenario is parsed: `--write-baseline` creates it.
        package var file: String
        /// Where `file` is written, for the error when it is missing.
        package var fileLine: Int?
        package var fileColumn: Int?
        /// The metrics compared, with their tolerances; ``BaselineTolerance/defaults`` when the
        /// scenario does not list any.
        package var tolerances: [BaselineTolerance]

        package init(file: String, fileLine: Int? = nil, fileColumn: Int? = nil, tolerances: [BaselineTolerance] = BaselineTolerance.defaults) {
            self.file = file
            self.fileLine = fileLine
            self.fileColumn = fileColumn
            self.tolerances = tolerances
        }
    }
}
