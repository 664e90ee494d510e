import TestSupport
import AWSWire
import AsyncHTTPClient
import Emulator
import Faults
import Foundation
import Testing

@testable import Harness

/// Read-ahead: with a read-ahead buffer the producer reads and checksums the next part while
/// the upload's parts are being sent, and only then waits for a send permit. Proven by the
/// order of the record's timestamps (UploadPart is slowed down by the emulator's `latency`
/// fault so the order does not depend on the machine's speed), never by durations.
@Suite("Upload engine: read-ahead of the next part", .timeLimit(.minutes(3)))
struct UploadReadAheadTests {
    /// An emulator with the fault plan `yaml` in force from the start, and an engine on it.
    static func withEmulatorEngine<T: Sendable>(
        faults yaml: String,
        configuration engineConfiguration: UploadEngine.Configuration,
        _ body: @escaping @Sendable (EmulatorEndpoint, UploadEngine, S3Client.Configuration, AWSCredentials) async throws -> T
    ) async throws -> T {
        var configuration = EmulatorConfiguration(listener: .init(port: 0))
        configuration.multipart.minimumPartSize = Int64(Fixtures.partSize)
        configuration.faults = .startingNow(FaultInjector(plan: try FaultPlan(yaml: yaml, file: "test.yaml")), source: "test.yaml")
        return try await withEmulator(configuration) { endpoint in
            let credentials = AWSCredentials(accessKeyId: endpoint.credentials.accessKeyId, secretAccessKey: endpoint.credentials.secretAccessKey)
            var s3Configuration = try Fixtures.s3Configuration(endpoint: endpoint.url)
            s3Configuration.region = endpoint.region
            return try await UploadEngine.withEngine(
                s3Configuration: s3Configuration, configuration: engineConfiguration, credentials: { credentials }
            ) { engine in
                try await body(endpoint, engine, s3Configuration, credentials)
            }
        }
    }

    static let slowUploadPart = """
        faults:
          - kind: endpoint-outage
            window: always
            select: {service: s3, operation: UploadPart}
            effect: latency
            latency: 150ms
        """

    /// One part at a time per upload and in all.
    static func oneInFlight(readAhead: Int) -> UploadEngine.Configuration {
        var configuration = Fixtures.engineConfiguration(partsInFlight: 1, total: 1)
        configuration.readAheadBuffers = readAhead
        return configuration
    }

    /// When the part's last attempt answered (seconds after the upload's start).
    static func sendEnd(_ part: Harness.UploadRecord.Part) -> Double? {
        part.attempts.last.map { $0.start + $0.duration }
    }

    static func sendStart(_ part: Harness.UploadRecord.Part) -> Double? {
        part.attempts.first?.start
    }

    /// Downloads `key` and checks its bytes against `object`.
    static func expectObject(_ key: String, equals object: [UInt8], endpoint: EmulatorEndpoint, s3Configuration: S3Client.Configuration, credentials: AWSCredentials) async throws {
        try await withTestHTTPClient { http in
            let s3 = S3Client(httpClient: http, credentials: credentials, configuration: s3Configuration)
            let (digest, count) = try await Fixtures.digest(s3, bucket: endpoint.buckets.raw, key: key)
            #expect(count == object.count)
            #expect(digest == Fixtures.sha256(object))
            #expect(try await s3.listAllMultipartUploads(bucket: endpoint.buckets.raw).isEmpty)
        }
    }

    @Test("concurrency 1: part N+1 is read before part N's send ends, and sends never overlap")
    func nextPartIsReadWhileThePreviousIsSent() async throws {
        let object = Fixtures.bytes(count: 5 * Fixtures.partSize + 777, seed: 61)
        let path = try Fixtures.temporaryFile(object)
        defer { unlink(path) }
        try await Self.withEmulatorEngine(faults: Self.slowUploadPart, configuration: Self.oneInFlight(readAhead: 1)) { endpoint, engine, s3Configuration, credentials in
            let record = await engine.upload(.init(source: .file(path: path), bucket: endpoint.buckets.raw, key: "in/ahead.csv"))
            #expect(record.outcome == .ok, "\(record.failure?.message ?? "")")
            #expect(record.method == .multipart)
            #expect(record.parts.map(\.number) == Array(1...6))
            #expect(record.parts.map(\.size) == Array(repeating: Fixtures.partSize, count: 5) + [777])
            #expect(record.parts.allSatisfy { $0.succeeded && $0.attempts.count == 1 })
            for (previous, next) in zip(record.parts, record.parts.dropFirst()) {
                let previousEnd = try #require(Self.sendEnd(previous))
                let nextStart = try #require(Self.sendStart(next))
                // Read ahead: ready while the previous part was still being sent.
                #expect(next.ready < previousEnd, "part \(next.number) ready at \(next.ready), part \(previous.number) sent until \(previousEnd)")
                #expect(next.ready > previous.ready)
                // One send at a time: the next one starts after the previous one answered.
                #expect(nextStart >= previousEnd, "part \(next.number) sent from \(nextStart), part \(previous.number) until \(previousEnd)")
            }
            #expect(record.bytesUploaded == object.count)
            #expect(record.bytesRead == object.count)
            #expect(record.eTag?.hasSuffix("-6\"") == true)
            #expect(record.verification == .compositeCRC32C)
            // One send buffer and one read-ahead buffer, both back in their pools.
            #expect(engine.buffers.statistics.peakInUse == 1)
            #expect(engine.buffers.statistics.inUse == 0)
            let readAhead = try #require(engine.readAheadBuffers?.statistics)
            #expect(readAhead.created == 1)
            #expect(readAhead.inUse == 0)
            try await Self.expectObject("in/ahead.csv", equals: object, endpoint: endpoint, s3Configuration: s3Configuration, credentials: credentials)
        }
    }

    /// The control: the same upload without read-ahead buffers reads each part only after the
    /// previous one was sent (so the test above tells the two orders apart).
    @Test("without read-ahead buffers, part N+1 is read only after part N's send ended")
    func withoutReadAheadThePartsAreReadAfterEachSend() async throws {
        let object = Fixtures.bytes(count: 3 * Fixtures.partSize + 5, seed: 62)
        let path = try Fixtures.temporaryFile(object)
        defer { unlink(path) }
        try await Self.withEmulatorEngine(faults: Self.slowUploadPart, configuration: Self.oneInFlight(readAhead: 0)) { endpoint, engine, s3Configuration, credentials in
            let record = await engine.upload(.init(source: .file(path: path), bucket: endpoint.buckets.raw, key: "in/behind.csv"))
            #expect(record.outcome == .ok, "\(record.failure?.message ?? "")")
            #expect(record.parts.map(\.number) == Array(1...4))
            for (previous, next) in zip(record.parts, record.parts.dropFirst()) {
                let previousEnd = try #require(Self.sendEnd(previous))
                #expect(next.ready >= previousEnd)
            }
            #expect(engine.readAheadBuffers == nil)
            #expect(engine.buffers.statistics.created == 1)
            try await Self.expectObject("in/behind.csv", equals: object, endpoint: endpoint, s3Configuration: s3Configuration, credentials: credentials)
        }
    }

    /// Two uploads in one engine with one part in flight in all and one read-ahead buffer:
    /// sends of both uploads never overlap (the global limit holds with the extra buffer), and
    /// both arrive intact (no deadlock between a producer holding the read-ahead buffer and the
    /// other upload's sends).
    @Test("two uploads share one send place and one read-ahead buffer: sends never overlap")
    func theGlobalSendLimitHoldsAcrossUploads() async throws {
        let objects = (0..<2).map { Fixtures.bytes(count: 3 * Fixtures.partSize + 100 + $0, seed: UInt64(70 + $0)) }
        let paths = try objects.map { try Fixtures.temporaryFile($0) }
        defer { paths.forEach { unlink($0) } }
        var configuration = Fixtures.engineConfiguration(partsInFlight: 1, total: 1)
        configuration.readAheadBuffers = 1
        try await Self.withEmulatorEngine(faults: Self.slowUploadPart, configuration: configuration) { endpoint, engine, s3Configuration, credentials in
            let records = await withTaskGroup(of: (Int, Harness.UploadRecord).self) { group in
                for (i, path) in paths.enumerated() {
                    group.addTask { (i, await engine.upload(.init(source: .file(path: path), bucket: endpoint.buckets.raw, key: "in/both-\(i).csv"))) }
                }
                return await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
            }
            #expect(records.count == 2)
            // Send intervals of both uploads on one timeline (each record's times are relative
            // to its own start; the actual starts put them on the wall clock).
            var sends: [(start: Double, end: Double, label: String)] = []
            for (i, record) in records {
                #expect(record.outcome == .ok, "\(record.failure?.message ?? "")")
                #expect(record.parts.count == 4)
                let base = record.actualStart.timeIntervalSinceReferenceDate
                for part in record.parts {
                    for attempt in part.attempts {
                        sends.append((base + attempt.start, base + attempt.start + attempt.duration, "upload \(i) part \(part.number)"))
                    }
                }
            }
            sends.sort { $0.start < $1.start }
            #expect(sends.count == 8)
            // Wall-clock bases differ from the monotonic clock by a little: allow 5 ms of
            // overlap, far below the 150 ms each send takes.
            for (a, b) in zip(sends, sends.dropFirst()) {
                #expect(b.start >= a.end - 0.005, "\(b.label) started at \(b.start) while \(a.label) ran until \(a.end)")
            }
            #expect(engine.buffers.statistics.peakInUse == 1)
            #expect(engine.buffers.statistics.inUse == 0)
            #expect(engine.readAheadBuffers?.statistics.inUse == 0)
            for (i, object) in objects.enumerated() {
                try await Self.expectObject("in/both-\(i).csv", equals: object, endpoint: endpoint, s3Configuration: s3Configuration, credentials: credentials)
            }
        }
    }

    /// Every UploadPart of one key fails (500, retried, then for good) while the next part sits
    /// read ahead waiting for its permit: the upload fails and is aborted, every buffer goes
    /// back, and the engine's next upload still runs.
    @Test("a failure while a part is held read ahead releases its buffer")
    func aFailureReleasesTheReadAheadBuffer() async throws {
        let object = Fixtures.bytes(count: 3 * Fixtures.partSize + 9, seed: 63)
        let path = try Fixtures.temporaryFile(object)
        defer { unlink(path) }
        let yaml = """
            faults:
              - kind: endpoint-outage
                window: always
                select: {service: s3, operation: UploadPart, key: "fail/*"}
                effect: status-500
            """
        try await Self.withEmulatorEngine(faults: yaml, configuration: Self.oneInFlight(readAhead: 1)) { endpoint, engine, s3Configuration, credentials in
            let failed = await engine.upload(.init(source: .file(path: path), bucket: endpoint.buckets.raw, key: "fail/a.csv"))
            #expect(failed.outcome == .fail)
            #expect(failed.cancelled == false)
            #expect(failed.failure?.message.contains("part 1") == true, "\(failed.failure?.message ?? "")")
            #expect(failed.abort?.confirmed == true)
            // Part 2 was read while part 1 was being tried, and never sent.
            let second = try #require(failed.parts.first { $0.number == 2 })
            #expect(second.attempts.isEmpty)
            #expect(!second.succeeded)
            #expect(failed.parts.count == 2, "the producer reads at most one part ahead")
            #expect(engine.buffers.statistics.inUse == 0)
            #expect(engine.readAheadBuffers?.statistics.inUse == 0)

            let ok = await engine.upload(.init(source: .file(path: path), bucket: endpoint.buckets.raw, key: "in/after.csv"))
            #expect(ok.outcome == .ok, "\(ok.failure?.message ?? "")")
            #expect(engine.buffers.statistics.inUse == 0)
            #expect(engine.readAheadBuffers?.statistics.inUse == 0)
            try await Self.expectObject("in/after.csv", equals: object, endpoint: endpoint, s3Configuration: s3Configuration, credentials: credentials)
        }
    }

    @Test("tryAcquire never waits and never jumps the queue")
    func tryAcquireNeverWaits() async throws {
        var state = ResourcePoolState<Int, String>(limit: 1)
        guard case .create = state.tryAcquire() else { Issue.record("the first tryAcquire creates"); return }
        #expect(state.tryAcquire() == nil, "none free, the limit reached")
        guard case .wait = state.acquire(id: 1, waiter: "w") else { Issue.record("acquire parks"); return }
        guard case .resume("w", 7) = state.release(7) else { Issue.record("the release goes to the waiter"); return }
        guard case .stored = state.release(7) else { Issue.record("no waiter left: stored"); return }
        guard case .reuse(7) = state.tryAcquire() else { Issue.record("a free resource is reused"); return }
        #expect(state.created == 1)

        let pool = ResourcePool(limit: 1) { Permit() }
        let held = try #require(pool.tryAcquire())
        #expect(pool.tryAcquire() == nil)
        pool.release(held)
        #expect(pool.tryAcquire() != nil)
        #expect(pool.statistics.created == 1)
    }
}
