import AWSWire
import CSystemExtras
import Foundation
import HummingbirdCore
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization
import UnixSignals

/// Where a running emulator answers, and how to talk to it.
package struct EmulatorEndpoint: Sendable {
    /// `http://127.0.0.1:PORT`.
    package var url: String
    package var host: String
    /// The bound port (the real one when configured with port 0).
    package var port: Int
    package var credentials: EmulatorConfiguration.Credentials
    package var region: String
    /// The state directory in use.
    package var stateDirectory: String
    package var buckets: EmulatorConfiguration.Buckets
    /// Every Object Created event delivered so far, and streams of them.
    package var events: ObjectEventRecorder
    /// The pipeline, when configured.
    package var pipeline: Pipeline?
    /// The fault plan in force (apply, clear, decisions), also reachable over `/_csvstorm/faults`.
    package var faults: EmulatorFaults? = nil
}

/// The emulated pipeline's S3 face (this issue): an S3-compatible endpoint on loopback with a
/// disk-backed, restart-safe object store, emitting Object Created events.
///
/// A `Service`: run it in a `ServiceGroup` (graceful shutdown stops the listener, lets
/// in-flight requests finish, then returns), or use ``withEmulator(_:eventSink:_:)``.
package final class Emulator: Service {
    package let configuration: EmulatorConfiguration
    /// Delivered events, the most recent ``EmulatorConfiguration/eventHistoryLimit`` (also when an
    /// ``ObjectEventSink`` is configured).
    package let events: ObjectEventRecorder
    package let stateDirectory: String
    private let isTemporary: Bool
    let store: MetadataStore
    let blobs: BlobStore
    private let outbox: EventOutbox
    private let server: S3Server
    private let listening = ListeningState()
    /// The pipeline behind the endpoint, when ``EmulatorConfiguration/pipeline`` is set.
    package let pipeline: Pipeline?
    /// The fault plan in force: the endpoint, the pipeline's hooks and restarts follow it.
    package let faults: EmulatorFaults

    /// Once per process: freed buffers up to 4 MiB stay in malloc's heaps (up to 4 MiB free at
    /// the top of a heap before it is returned to the kernel). glibc's defaults map each 256 KiB
    /// socket read buffer afresh and unmap it when freed: for one upload stream 82,700 page
    /// faults per GiB received (each page zeroed) against 1,250 so, 0.1–0.2 CPU-s per GiB.
    private static let mallocTuned: Bool = csvstorm_malloc_keep_buffers(4 << 20, 4 << 20) == 0

    /// Opens (or creates) the state directory, collects what a crash left half-written, and
    /// creates the pipeline's buckets. Does not listen yet: ``run()`` does.
    package init(configuration: EmulatorConfiguration, eventSink: (any ObjectEventSink)? = nil) async throws {
        _ = Self.mallocTuned
        self.configuration = configuration
        self.events = ObjectEventRecorder(historyLimit: configuration.eventHistoryLimit)
        let faults = EmulatorFaults(initial: configuration.faults)
        self.faults = faults
        let fm = FileManager.default
        switch configuration.stateDirectory {
        case .temporary:
            let path = NSTemporaryDirectory() + "csvstorm-emulator-" + UUID().uuidString.prefix(8).lowercased()
            self.stateDirectory = path
            self.isTemporary = true
        case .path(let path):
            self.stateDirectory = path
            self.isTemporary = false
        }
        do {
            try fm.createDirectory(atPath: self.stateDirectory, withIntermediateDirectories: true)
        } catch {
            throw EmulatorError.stateDirectory(self.stateDirectory, "\(error)")
        }
        let durable = configuration.durability == .powerLoss
        do {
            self.store = try MetadataStore(path: self.stateDirectory + "/metadata.sqlite", synchronousFull: durable)
            self.blobs = try BlobStore(
                root: self.stateDirectory, fsync: durable, directWrites: configuration.directWrites,
                asynchronousDirectWrites: configuration.asynchronousDirectWrites
            )
        } catch {
            throw EmulatorError.stateDirectory(self.stateDirectory, "\(error)")
        }
        let referenced = try await self.store.referencedBlobs()
        let removed = self.blobs.collectGarbage { referenced.contains($0) }
        if removed > 0 {
            configuration.logger.info("removed \(removed) unreferenced object files left by an interrupted run")
        }
        let now = Date()
        let buckets = configuration.buckets
        let retention = Int64(buckets.retention.components.seconds)
        try await self.store.createBucket(
            BucketRecord(name: buckets.raw, createdAt: now, versioningEnabled: true, objectLockEnabled: false, retentionSeconds: nil)
        )
        for name in [buckets.processed, buckets.failed] {
            try await self.store.createBucket(
                BucketRecord(name: name, createdAt: now, versioningEnabled: true, objectLockEnabled: true, retentionSeconds: retention)
            )
        }
        let wakeOutbox = LateBound<EventOutbox>()
        var sink = eventSink
        var router: JSONProtocolRouter?
        var control: PipelineControl?
        if var pipelineConfiguration = configuration.pipeline {
            let problems = pipelineConfiguration.problems
            guard problems.isEmpty else { throw EmulatorError.pipeline(problems.joined(separator: "; ")) }
            let io = ObjectIO(
                store: self.store, blobs: self.blobs, region: configuration.region, accountId: configuration.accountId,
                onObjectCreated: { wakeOutbox.value?.notify() }
            )
            let pipeline: Pipeline
            do {
                // The configured hooks first, then the fault plan in force; the DynamoDB API gets
                // the configured hook only (the plan acts on it at the endpoint).
                let wireLedgerFault = pipelineConfiguration.faults.ledgerWrite
                pipelineConfiguration.faults = pipelineConfiguration.faults.then(faults.pipelineHooks)
                pipeline = try await Pipeline(
                    configuration: pipelineConfiguration, emulator: configuration, stateDirectory: self.stateDirectory, io: io, durable: durable,
                    wireLedgerFault: .some(wireLedgerFault)
                )
            } catch {
                throw EmulatorError.stateDirectory(self.stateDirectory, "\(error)")
            }
            self.pipeline = pipeline
            sink = eventSink.map { FanOutSink(first: pipeline, second: $0) } ?? pipeline
            router = pipeline.data.router.adding(stepFunctions: StepFunctionsHandler(pipeline: pipeline))
            control = PipelineControl(pipeline: pipeline)
        } else {
            self.pipeline = nil
        }
        let outbox = EventOutbox(store: self.store, sink: sink, recorder: self.events, logger: configuration.logger)
        wakeOutbox.value = outbox
        self.outbox = outbox
        self.server = S3Server(
            configuration: configuration, store: self.store, blobs: self.blobs, jsonRouter: router, control: control,
            faults: faults
        ) { outbox.notify() }
    }

    /// Serves until graceful shutdown (or cancellation), then removes a temporary state directory.
    package func run() async throws {
        defer {
            self.events.finish()
            if self.isTemporary { try? FileManager.default.removeItem(atPath: self.stateDirectory) }
        }
        let server = self.server
        let listening = self.listening
        let httpServer = try HTTPServerBuilder.http1(configuration: .init(idleTimeout: .seconds(300))).buildServer(
            configuration: ServerConfiguration(
                address: .hostname(self.configuration.listener.host, port: self.configuration.listener.port),
                serverName: nil,
                reuseAddress: true
            ),
            eventLoopGroup: MultiThreadedEventLoopGroup.singleton,
            logger: self.configuration.logger,
            responder: { request, writer, channel in
                try await server.handle(request, writer: writer, channel: channel)
            },
            onServerRunning: { channel in
                listening.bound(port: channel.localAddress?.port ?? 0)
            }
        )
        let faults = self.faults
        let outbox = self.outbox
        do {
            // A graceful shutdown lets go of requests a hang fault holds, so they cannot keep it waiting.
            try await withGracefulShutdownHandler {
                try await withThrowingDiscardingTaskGroup { group in
                    group.addTask { try await httpServer.run() }
                    group.addTask { try await outbox.run() }
                    if let pipeline = self.pipeline {
                        group.addTask {
                            try await PipelineSupervisor(pipeline: pipeline, faults: faults, onRestart: { outbox.notify() }).run()
                        }
                    }
                }
            } onGracefulShutdown: {
                faults.shutdown()
            }
            listening.failed(EmulatorError.stopped())
        } catch {
            listening.failed(error)
            throw error
        }
    }

    /// Waits until the listener is bound (or the emulator failed to start) and returns where it answers.
    package func endpoint() async throws -> EmulatorEndpoint {
        let port = try await self.listening.wait()
        let host = self.configuration.listener.host
        return EmulatorEndpoint(
            url: "http://\(host.contains(":") ? "[\(host)]" : host):\(port)", host: host, port: port,
            credentials: self.configuration.credentials, region: self.configuration.region,
            stateDirectory: self.stateDirectory, buckets: self.configuration.buckets, events: self.events,
            pipeline: self.pipeline, faults: self.faults
        )
    }
}

/// Runs an emulator for the duration of `body` and always shuts it down (on return, throw or
/// cancellation), waiting for in-flight requests to finish.
///
/// ```swift
/// try await withEmulator(EmulatorConfiguration(listener: .init(port: 0))) { endpoint in
///     // endpoint.url, endpoint.credentials, endpoint.events
/// }
/// ```
package func withEmulator<Result>(
    _ configuration: EmulatorConfiguration = EmulatorConfiguration(),
    eventSink: (any ObjectEventSink)? = nil,
    _ body: (EmulatorEndpoint) async throws -> Result
) async throws -> Result {
    let emulator = try await Emulator(configuration: configuration, eventSink: eventSink)
    let group = ServiceGroup(configuration: .init(services: [emulator], logger: configuration.logger))
    return try await withThrowingTaskGroup(of: Void.self) { tasks in
        tasks.addTask { try await group.run() }
        let result: Result
        do {
            result = try await body(try await emulator.endpoint())
        } catch {
            await group.triggerGracefulShutdown()
            try? await tasks.waitForAll()
            throw error
        }
        await group.triggerGracefulShutdown()
        try await tasks.waitForAll()
        return result
    }
}

extension Emulator {
    /// `csvstorm emulate`: serves until SIGINT or SIGTERM, then shuts down gracefully.
    /// `onListening` runs once the port is bound (to print the endpoint).
    package static func runUntilSignalled(
        configuration: EmulatorConfiguration,
        eventSink: (any ObjectEventSink)? = nil,
        onListening: @escaping @Sendable (EmulatorEndpoint) -> Void
    ) async throws {
        let emulator = try await Emulator(configuration: configuration, eventSink: eventSink)
        let group = ServiceGroup(
            configuration: .init(services: [emulator], gracefulShutdownSignals: [.sigint, .sigterm], logger: configuration.logger)
        )
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            tasks.addTask {
                if let endpoint = try? await emulator.endpoint() { onListening(endpoint) }
            }
            try await tasks.waitForAll()
        }
    }
}

/// Why the emulator could not start or stopped.
package struct EmulatorError: Error, CustomStringConvertible {
    private enum Code { case stateDirectory, stopped, pipeline }
    private let code: Code
    package let message: String

    static func stateDirectory(_ path: String, _ reason: String) -> EmulatorError {
        EmulatorError(code: .stateDirectory, message: "cannot use the state directory \(path): \(reason)")
    }

    static func pipeline(_ problems: String) -> EmulatorError {
        EmulatorError(code: .pipeline, message: "invalid pipeline configuration: \(problems)")
    }

    static func stopped() -> EmulatorError {
        EmulatorError(code: .stopped, message: "the emulator stopped before it was listening")
    }

    package var description: String { self.message }
}

/// The bound port, once known, for any number of waiters.
final class ListeningState: Sendable {
    private enum State {
        case waiting([CheckedContinuation<Int, any Error>])
        case bound(Int)
        case failed(any Error)
    }

    private let state = Mutex(State.waiting([]))

    func bound(port: Int) {
        let waiters = self.state.withLock { state -> [CheckedContinuation<Int, any Error>] in
            guard case .waiting(let waiters) = state else { return [] }
            state = .bound(port)
            return waiters
        }
        for waiter in waiters { waiter.resume(returning: port) }
    }

    func failed(_ error: any Error) {
        let waiters = self.state.withLock { state -> [CheckedContinuation<Int, any Error>] in
            guard case .waiting(let waiters) = state else { return [] }
            state = .failed(error)
            return waiters
        }
        for waiter in waiters { waiter.resume(throwing: error) }
    }

    func wait() async throws -> Int {
        try await withCheckedThrowingContinuation { continuation in
            let immediate: Result<Int, any Error>? = self.state.withLock { state in
                switch state {
                case .waiting(var waiters):
                    waiters.append(continuation)
                    state = .waiting(waiters)
                    return nil
                case .bound(let port): return .success(port)
                case .failed(let error): return .failure(error)
                }
            }
            if let immediate { continuation.resume(with: immediate) }
        }
    }
}

/// A value set once after construction (breaks an init-order cycle).
final class LateBound<Value: Sendable>: Sendable {
    private let storage = Mutex<Value?>(nil)
    var value: Value? {
        get { self.storage.withLock { $0 } }
        set { self.storage.withLock { $0 = newValue } }
    }
}

/// Delivers to two sinks in order (the pipeline, then a test's or the harness's sink).
struct FanOutSink: ObjectEventSink {
    let first: any ObjectEventSink
    let second: any ObjectEventSink

    func deliver(_ event: ObjectCreatedEvent) async throws {
        try await self.first.deliver(event)
        try await self.second.deliver(event)
    }
}
