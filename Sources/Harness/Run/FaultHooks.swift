import Emulator
import Faults
import Foundation

extension PipelineFaultHooks {
    /// The emulated pipeline's fault hooks driven by a fault plan's injector. `elapsed` is the
    /// run's clock (fault windows count from the run's start).
    package static func from(_ injector: FaultInjector, elapsed: @escaping @Sendable () -> Duration) -> PipelineFaultHooks {
        PipelineFaultHooks(
            eventTarget: { event in
                let request = FaultRequest(service: .events, operation: "InvokeTarget", bucket: event.bucket, key: event.key)
                guard let decision = injector.decide(request, at: elapsed()) else { return nil }
                if case let .failDelivery(code, message, retryable) = decision.action {
                    return TargetFailure(code: code, message: message, retryable: retryable)
                }
                return nil
            },
            task: { bucket, key in
                let request = FaultRequest(service: .ecs, operation: "RunTask", bucket: bucket, key: key)
                guard let decision = injector.decide(request, at: elapsed()) else { return nil }
                switch decision.action {
                case .failTask(let code): return .exit(code: Int(code), reason: "injected task failure (fault \(decision.faultIndex))")
                case .crashTask(let fraction): return .crash(afterFraction: fraction)
                default: return nil
                }
            },
            launcherLimits: {
                guard let throttled = injector.throttledStarts(at: elapsed()) else { return nil }
                return LauncherLimits(burst: throttled.burst, refillPerSecond: throttled.refillPerSecond, maxRunningTasks: throttled.maxRunning)
            },
            delivery: { event in
                let request = FaultRequest(service: .events, operation: "InvokeTarget", bucket: event.bucket, key: event.key)
                guard let decision = injector.decide(request, at: elapsed()) else { return nil }
                switch decision.action {
                case .delay(let delay): return DeliveryFault(delay: delay)
                case .duplicate: return DeliveryFault(duplicate: true)
                default: return nil
                }
            },
            ledgerWrite: { operation in
                let request = FaultRequest(service: .dynamodb, operation: operation)
                guard let decision = injector.decide(request, at: elapsed()) else { return nil }
                if case .respond = decision.action {
                    return DynamoDBServiceError(.throughputExceeded, "The level of configured provisioned throughput for the table was exceeded.")
                }
                return nil
            }
        )
    }
}
