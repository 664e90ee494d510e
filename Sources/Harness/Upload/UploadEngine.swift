import AWSWire
import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOPosix

/// S3 multipart uploads with bounded concurrency and bounded memory, verified end to end and
/// never left behind; a source that fits in one part goes up as one PutObject.
///
/// - Each part is read (pread, or pulled from the generator) into a pooled buffer on the
///   engine's I/O thread pool — never on the cooperative pool — checksummed there, and sent
///   with `x-amz-checksum-crc32c` (default) or `Content-MD5`; the server's echo (or ETag) is
///   checked.
/// - Parts in flight are limited per upload (`partsInFlightPerUpload` permits) and across all
///   uploads of the engine: the global limit is the number of send buffers (``buffers``,
///   `partsInFlightTotal`), each held by one part while it is sent (and while it is read, when
///   no read-ahead buffer was free) or by one PutObject.
/// - Read-ahead: the engine also has `readAheadBuffers` extra buffers (default 1, engine-wide).
///   A producer that gets one reads and checksums its upload's next part while that upload's
///   sends are in flight, and only then waits for a permit and a send buffer; the filled buffer
///   and the empty send buffer then trade places, so the part is sent without waiting for its
///   read. At most `partsInFlightPerUpload` sends per upload and `partsInFlightTotal` in all,
///   as without read-ahead. Memory is at most `(partsInFlightTotal + readAheadBuffers) × part
///   size` whatever the object size. Buffers are reused.
/// - On failure or cancellation the upload is aborted (retried) and the abort confirmed with
///   ListParts (NoSuchUpload).
/// - Every request goes through the engine's ``StandardRetryStrategy`` one attempt at a time,
///   so each attempt's latency and error lands in the ``UploadRecord``.
///
/// ```swift
/// try await UploadEngine.withEngine(s3Configuration: s3, credentials: { creds }) { engine in
///     let record = await engine.upload(.init(source: .file(path: "a.csv"), bucket: "raw", key: "a.csv"))
/// }
/// ```
package final class UploadEngine: Sendable {
    package let configuration: Configuration
    /// The strategy every request of this engine goes through (token bucket and counters).
    package let retryStrategy: StandardRetryStrategy
    /// Counters of every attempt and retry of this engine, all uploads together.
    package var retryStatistics: RetryStatistics { self.retryStrategy.statistics }
    /// The send buffers: the global in-flight limit (`partsInFlightTotal`).
    package let buffers: ResourcePool<PartBuffer>
    /// The read-ahead buffers (`readAheadBuffers`, engine-wide); nil when that is 0. Taken only
    /// with ``ResourcePool/tryAcquire()``: nobody ever waits for one.
    package let readAheadBuffers: ResourcePool<PartBuffer>?

    /// A client whose own strategy makes exactly one attempt; the engine retries around it.
    let s3: S3Client
    /// The same endpoint and credentials with the shared strategy (paginated listings).
    package let client: S3Client
    let threadPool: NIOThreadPool

    /// - Parameters:
    ///   - httpClient: must allow at least `partsInFlightTotal` connections per host (see
    ///     ``withEngine(s3Configuration:configuration:ioThreads:logger:credentials:_:)``).
    ///   - threadPool: started pool for the blocking reads (file and generator).
    package init(
        httpClient: HTTPClient,
        s3Configuration: S3Client.Configuration,
        configuration: Configuration = Configuration(),
        threadPool: NIOThreadPool,
        retryStrategy: StandardRetryStrategy? = nil,
        logger: Logger? = nil,
        credentials: @escaping @Sendable () async throws -> AWSCredentials
    ) throws(UploadError) {
        try configuration.validate()
        self.configuration = configuration
        let s3Configuration = configuration.s3Configuration(s3Configuration)
        let strategy = retryStrategy ?? StandardRetryStrategy(configuration: s3Configuration.retry)
        self.retryStrategy = strategy
        self.s3 = S3Client(
            httpClient: httpClient, configuration: s3Configuration,
            retryStrategy: StandardRetryStrategy(configuration: .disabled), logger: logger, credentialsProvider: credentials
        )
        self.client = S3Client(
            httpClient: httpClient, configuration: s3Configuration, retryStrategy: strategy, logger: logger, credentialsProvider: credentials
        )
        self.threadPool = threadPool
        self.buffers = ResourcePool(limit: configuration.partsInFlightTotal) { PartBuffer() }
        self.readAheadBuffers = configuration.readAheadBuffers > 0 ? ResourcePool(limit: configuration.readAheadBuffers) { PartBuffer() } : nil
    }

    /// Runs `body` with an engine on its own HTTP client (enough connections for the in-flight
    /// limit, no decompression) and I/O thread pool; both are shut down on return, throw or
    /// cancellation.
    ///
    /// - Parameter ioThreads: threads for the blocking reads. Each upload's producer holds one
    ///   while it fills a part (a generated source may wait there for its generator threads), so
    ///   give about as many as uploads that read at the same time. Default 2.
    package static func withEngine<T>(
        s3Configuration: S3Client.Configuration,
        configuration: Configuration = Configuration(),
        ioThreads: Int = 2,
        logger: Logger? = nil,
        credentials: @escaping @Sendable () async throws -> AWSCredentials,
        _ body: (UploadEngine) async throws -> T
    ) async throws -> T {
        try configuration.validate()
        var http = HTTPClient.Configuration()
        http.connectionPool = .init(
            idleTimeout: .seconds(60),
            concurrentHTTP1ConnectionsPerHostSoftLimit: max(8, configuration.partsInFlightTotal + 4)
        )
        http.decompression = .disabled
        http.timeout = .init(connect: .seconds(10))
        let pool = NIOThreadPool(numberOfThreads: max(1, ioThreads))
        pool.start()
        do {
            let result = try await HTTPClient.withHTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton, configuration: http) { client in
                let engine = try UploadEngine(
                    httpClient: client, s3Configuration: s3Configuration, configuration: configuration,
                    threadPool: pool, logger: logger, credentials: credentials
                )
                return try await body(engine)
            }
            try await pool.shutdownGracefully()
            return result
        } catch {
            try? await pool.shutdownGracefully()
            throw error
        }
    }
}

// MARK: - One upload

extension UploadEngine {
    /// Uploads one object and returns what happened. Never throws: failures, cancellation and
    /// unknown outcomes are in the record (``UploadRecord/outcome``, ``UploadRecord/failure``,
    /// ``UploadRecord/cancelled``), so one failing upload never tears down its neighbours.
    ///
    /// Cancel the calling task to interrupt: the upload is then aborted (in a task that is not
    /// cancelled, so the abort's requests can run) before this returns.
    package func upload(_ request: Request, progress: UploadProgress? = nil) async -> UploadRecord {
        let origin = ContinuousClock.now
        let wallStart = Date()
        let delay = request.intendedStart.map { max(.zero, origin - $0) } ?? .zero
        var record = UploadRecord(
            id: request.id ?? UUID().uuidString,
            bucket: request.bucket, key: request.key, uploadId: nil,
            source: request.source.label,
            checksumAlgorithm: self.configuration.checksum.rawValue,
            partSize: request.partSize ?? self.configuration.partSize,
            intendedStart: wallStart.addingTimeInterval(-delay.seconds), actualStart: wallStart,
            startDelay: delay.seconds, completedAt: nil, duration: 0, completeAnswered: nil,
            bytesRead: 0, bytesUploaded: 0, parts: [], bufferAllocations: 0, operations: [], abort: nil,
            outcome: .fail, cancelled: false, failure: nil, verification: nil,
            versionId: nil, eTag: nil, objectChecksum: nil, retries: .init(), recipe: nil
        )
        await self.run(request, progress: progress, origin: origin, into: &record)
        record.parts.sort { $0.number < $1.number }
        record.tallyRetries()
        record.completedAt = Date()
        record.duration = (ContinuousClock.now - origin).seconds
        return record
    }

    private func run(_ request: Request, progress: UploadProgress?, origin: ContinuousClock.Instant, into record: inout UploadRecord) async {
        func fail(_ error: UploadError) {
            record.outcome = .fail
            record.failure = .init(code: error.codeName, message: error.message)
            if error.isCancellation { record.cancelled = true }
        }

        // Open the source and plan the part size.
        let reader: PartReader
        do {
            reader = try await self.threadPool.runIfActive { try PartReader.open(request.source) }
        } catch {
            return fail(Self.uploadError(error, context: "cannot open the source"))
        }
        defer {
            // Stops generator threads (they finish the block in hand, ~1 MiB); short enough to
            // run here rather than on the I/O pool, which a cancelled task could not use.
            reader.close()
        }
        let partSize: Int
        do {
            partSize = try PartSizing.partSize(
                requested: request.partSize ?? self.configuration.partSize, length: reader.length, minimum: self.configuration.minimumPartSize
            )
        } catch {
            return fail(error)
        }
        record.partSize = partSize
        progress?.planned(bytes: reader.length.bound)

        // A source that fits in one part: one PutObject.
        if self.configuration.singlePartAsPutObject, reader.length.bound <= partSize {
            record.method = .putObject
            return await self.putWhole(request, reader: reader, origin: origin, progress: progress, into: &record)
        }

        // CreateMultipartUpload.
        let (created, createAttempts) = await self.attempted("CreateMultipartUpload", origin: origin) {
            try await self.s3.createMultipartUpload(
                bucket: request.bucket, key: request.key, contentType: self.configuration.contentType, metadata: request.metadata
            )
        }
        record.operations.append(.init(name: "CreateMultipartUpload", attempts: createAttempts, succeeded: (try? created.get()) != nil))
        let uploadId: String
        switch created {
        case .success(let result):
            uploadId = result.uploadId
        case .failure(let error):
            // A cancelled or timed-out create may still have created an upload we cannot name;
            // `csvstorm uploads clean` finds such orphans.
            return fail(Self.uploadError(error, context: "CreateMultipartUpload failed"))
        }
        record.uploadId = uploadId
        let target = PartTarget(bucket: request.bucket, key: request.key, uploadId: uploadId)

        // The parts.
        let state = UploadState()
        await self.runParts(reader: reader, partSize: partSize, target: target, state: state, origin: origin, progress: progress)
        let parts = state.finished()
        record.parts = parts.records
        record.bytesRead = parts.bytesRead
        record.bytesUploaded = parts.bytesUploaded
        record.bufferAllocations = parts.bufferAllocations
        // Rows and bytes are filled in once the generator reached the end (0 otherwise).
        record.recipe = reader.finishedRecipe

        if Task.isCancelled || parts.failure != nil || !parts.allSucceeded {
            if Task.isCancelled {
                fail(.cancelled())
            } else {
                fail(parts.failure ?? .requestFailed("not every part was uploaded"))
            }
            record.abort = await self.abortShielded(target, origin: origin)
            if let abort = record.abort, !abort.confirmed {
                record.failure?.message += "; the abort was not confirmed (\(abort.error ?? "unknown")): run `csvstorm uploads clean`"
            }
            return
        }

        await self.complete(target, parts: parts, origin: origin, into: &record)
    }

    /// Runs `body` through the retry strategy one attempt at a time, recording each attempt.
    func attempted<T>(
        _ operation: String,
        origin: ContinuousClock.Instant,
        _ body: () async throws -> T
    ) async -> (Result<T, any Error>, [UploadRecord.Attempt]) {
        var attempts: [UploadRecord.Attempt] = []
        do {
            let value = try await self.retryStrategy.execute(operation: operation) { number in
                let start = ContinuousClock.now
                do {
                    let value = try await body()
                    attempts.append(
                        .init(number: number, start: (start - origin).seconds, duration: (ContinuousClock.now - start).seconds, error: nil, retryReason: nil)
                    )
                    return value
                } catch {
                    attempts.append(
                        .init(
                            number: number, start: (start - origin).seconds, duration: (ContinuousClock.now - start).seconds,
                            error: String(describing: error), retryReason: RetryClassifier.classify(error)?.description
                        )
                    )
                    throw error
                }
            }
            return (.success(value), attempts)
        } catch {
            return (.failure(error), attempts)
        }
    }

    /// An ``UploadError`` for any error: cancellation, our own errors, S3's.
    static func uploadError(_ error: any Error, context: String) -> UploadError {
        if let error = error as? UploadError { return error }
        if error is CancellationError || Task.isCancelled { return .cancelled() }
        // An AWSError names its operation already ("UploadPart failed: ...").
        if error is AWSError { return .requestFailed("\(error)") }
        return .requestFailed("\(context): \(error)")
    }

    static func isNoSuchUpload(_ error: any Error) -> Bool {
        (error as? AWSError)?.code == .noSuchUpload
    }

    /// Timeouts and dead connections: the request may or may not have taken effect.
    static func isIndeterminate(_ error: any Error) -> Bool {
        guard let error = error as? AWSError else { return false }
        return error.kind == .timeout || error.kind == .connection
    }
}

/// The upload a part belongs to.
struct PartTarget: Sendable {
    var bucket: String
    var key: String
    var uploadId: String
}

extension Duration {
    /// The duration in seconds, as a `Double`.
    package var seconds: Double {
        let (s, a) = self.components
        return Double(s) + Double(a) / 1e18
    }
}
