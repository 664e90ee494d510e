import Faults

extension PipelineFaultHooks {
    /// The emulated pipeline's fault hooks driven by a fault plan's injector. `elapsed` is the
    /// plan's clock (fault windows count from the run's start, or from when the plan was applied).
    package static func from(_ injector: FaultInjector, elapsed: @escaping @Sendable () -> Duration) -> PipelineFaultHooks {
        .from(decide: { injector.decide($0, at: elapsed(), for: $1) }, throttledStarts: { injector.throttledStarts(at: elapsed()) })
    }

    /// The hooks asking `decide` for each request and `throttledStarts` for the launch limits in force.
    ///
    /// Each hook asks only about the faults it can act on (its ``FaultFilter``): the event bus
    /// asks about one event at two points (``eventDelivery`` once per event, the target
    /// invocation once per attempt), and a fault must count only the questions of the point
    /// that applies it, or its `every: N` and probability draws shift.
    static func from(
        decide: @escaping @Sendable (FaultRequest, FaultFilter) -> FaultDecision?,
        throttledStarts: @escaping @Sendable () -> FaultInjector.ThrottledStarts?
    ) -> PipelineFaultHooks {
        PipelineFaultHooks(
            eventTarget: { event in
                guard let decision = decide(.eventDelivery(bucket: event.bucket, key: event.key), .targetInvocation) else { return nil }
                if case let .failDelivery(code, message, retryable) = decision.action {
                    return TargetFailure(code: code, message: message, retryable: retryable)
                }
                return nil
            },
            task: { bucket, key in
                guard let decision = decide(.taskLaunch(bucket: bucket, key: key), .taskLaunch) else { return nil }
                switch decision.action {
                case .failTask(let code): return .exit(code: Int(code), reason: "injected task failure (fault \(decision.faultIndex))")
                case .crashTask(let fraction): return .crash(afterFraction: fraction)
                default: return nil
                }
            },
            launcherLimits: {
                guard let throttled = throttledStarts() else { return nil }
                return LauncherLimits(burst: throttled.burst, refillPerSecond: throttled.refillPerSecond, maxRunningTasks: throttled.maxRunning)
            },
            delivery: { event in
                guard let decision = decide(.eventDelivery(bucket: event.bucket, key: event.key), .eventDelivery) else { return nil }
                switch decision.action {
                case .delay(let delay): return DeliveryFault(delay: delay)
                case .duplicate: return DeliveryFault(duplicate: true)
                default: return nil
                }
            },
            ledgerWrite: { operation in
                guard let decision = decide(FaultRequest(service: .dynamodb, operation: operation), .ledgerWrite),
                      case .respond(let error) = decision.action
                else { return nil }
                // Ledger throttling; a DynamoDB outage's 5xx answers fail the workflow's ledger writes too.
                if error.code == FaultErrorResponse.provisionedThroughputExceeded.code {
                    return DynamoDBServiceError(.throughputExceeded, error.message)
                }
                return DynamoDBServiceError(.internalFailure, error.message)
            }
        )
    }

    /// These hooks first; where one answers nil (or is absent), `other`'s.
    func then(_ other: PipelineFaultHooks) -> PipelineFaultHooks {
        func chain<A, R>(_ first: (@Sendable (A) -> R?)?, _ second: (@Sendable (A) -> R?)?) -> (@Sendable (A) -> R?)? {
            guard let first else { return second }
            guard let second else { return first }
            return { first($0) ?? second($0) }
        }
        let firstLimits = self.launcherLimits
        let secondLimits = other.launcherLimits
        return PipelineFaultHooks(
            eventTarget: chain(self.eventTarget, other.eventTarget),
            task: self.task.map { first in
                other.task.map { second in { @Sendable bucket, key in first(bucket, key) ?? second(bucket, key) } } ?? first
            } ?? other.task,
            launcherLimits: firstLimits.map { first in secondLimits.map { second in { @Sendable in first() ?? second() } } ?? first } ?? secondLimits,
            delivery: chain(self.delivery, other.delivery),
            ledgerWrite: chain(self.ledgerWrite, other.ledgerWrite)
        )
    }
}

extension EmulatorFaults {
    /// The pipeline's hooks following whatever plan is in force (none: every hook answers nil).
    var pipelineHooks: PipelineFaultHooks {
        .from(
            decide: { self.decide($0, for: $1) },
            throttledStarts: {
                guard let active = self.active else { return nil }
                return active.injector.throttledStarts(at: active.elapsed())
            }
        )
    }
}
