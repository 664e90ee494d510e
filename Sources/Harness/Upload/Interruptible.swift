import Logging
import ServiceLifecycle
import UnixSignals

/// Runs one operation as the only service of a `ServiceGroup` that shuts down gracefully on
/// SIGINT / SIGTERM: a signal cancels the operation's task (so an upload aborts) and the group
/// waits for it to return. What a one-shot command (upload, uploads clean, bench) needs.
package enum Interruptible {
    package struct Outcome<T: Sendable>: Sendable {
        /// The operation's value (it always returns one; cancellation is its to report).
        package var value: T
        /// A signal arrived while it ran.
        package var interrupted: Bool
    }

    package static func run<T: Sendable>(
        logger: Logger = Logger(label: "csvstorm", factory: { _ in SwiftLogNoOpLogHandler() }),
        _ operation: @escaping @Sendable () async -> T
    ) async throws -> Outcome<T> {
        let result = Locked<T?>(nil)
        let interrupted = Locked(false)
        let service = OperationService(operation: operation, result: result, interrupted: interrupted)
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: service, successTerminationBehavior: .gracefullyShutdownGroup, failureTerminationBehavior: .gracefullyShutdownGroup)],
                gracefulShutdownSignals: [.sigint, .sigterm],
                logger: logger
            )
        )
        try await group.run()
        guard let value = result.current else {
            // The service always stores a value before returning; the group ran it to the end.
            preconditionFailure("the operation did not run")
        }
        return Outcome(value: value, interrupted: interrupted.current)
    }
}

private struct OperationService<T: Sendable>: Service {
    let operation: @Sendable () async -> T
    let result: Locked<T?>
    let interrupted: Locked<Bool>

    func run() async throws {
        let interrupted = self.interrupted
        let operation = self.operation
        let value = await withGracefulShutdownHandler {
            await cancelWhenGracefulShutdown { await operation() }
        } onGracefulShutdown: {
            interrupted.withLock { $0 = true }
        }
        self.result.withLock { $0 = value }
    }
}
