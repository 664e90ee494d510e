import AWSWire
import Emulator
import Foundation
import Synchronization
import Testing

/// A settable clock for TTL and visibility tests.
final class LedgerTestClock: Sendable {
    private let current: Mutex<Date>
    init(_ start: Date = Date(timeIntervalSince1970: 1_800_000_000)) { self.current = Mutex(start) }
    var now: @Sendable () -> Date { { self.current.withLock { $0 } } }
    func advance(_ seconds: TimeInterval) { self.current.withLock { $0 += seconds } }
}

/// A fresh directory, removed afterwards.
func withLedgerTemporaryDirectory<T>(_ body: (String) async throws -> T) async throws -> T {
    let dir = NSTemporaryDirectory() + "csvstorm-ledger-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    return try await body(dir)
}

@Suite("Ledger store")
struct LedgerStoreTests {
    let job = JobLedger.JobKey(bucket: "raw", key: "in/a.csv", sequencer: "0062E99A88DC407460")

    @Test func jobIdFormat() {
        #expect(self.job.jobId == "raw/in/a.csv#0062E99A88DC407460")
    }

    @Test func duplicateEventNeverCompletesTwice() async throws {
        try await withLedgerTemporaryDirectory { dir in
            let clock = LedgerTestClock()
            let store = try DynamoDBItemStore(path: dir + "/ledger.sqlite", now: clock.now)
            let ledger = JobLedger(store: store, now: clock.now)
            try await ledger.createTableIfNeeded()

            guard case .started = try await ledger.start(self.job, executionId: "exec-1") else { Issue.record("first start"); return }
            guard case .duplicate(let r) = try await ledger.start(self.job, executionId: "exec-2") else { Issue.record("duplicate"); return }
            #expect(r.executionId == "exec-1")
            guard case .resumed = try await ledger.start(self.job, executionId: "exec-1") else { Issue.record("resume"); return }

            #expect(try await ledger.recordAttempt(self.job, executionId: "exec-1") == 1)
            #expect(try await ledger.recordAttempt(self.job, executionId: "exec-2") == nil)
            #expect(try await ledger.recordAttempt(self.job, executionId: "exec-1") == 2)

            clock.advance(5)
            guard case .finished(let done) = try await ledger.finish(self.job, executionId: "exec-1", outcome: .succeeded(outputLocation: "s3://processed/x")) else {
                Issue.record("finish"); return
            }
            #expect(done.status == .succeeded)
            #expect(done.attempts == 2)
            #expect(done.finishedAt == clock.now())
            #expect(done.outputLocation == "s3://processed/x")
            // Neither the owner again nor a duplicate can complete it a second time.
            guard case .rejected = try await ledger.finish(self.job, executionId: "exec-1", outcome: .failed(error: "E", cause: "c", outputLocation: nil)) else {
                Issue.record("second finish"); return
            }
            guard case .rejected = try await ledger.finish(self.job, executionId: "exec-2", outcome: .succeeded(outputLocation: "s3://processed/y")) else {
                Issue.record("duplicate finish"); return
            }
            #expect(try await ledger.record(self.job)?.outputLocation == "s3://processed/x")
        }
    }

    @Test func concurrentStartsClaimOnce() async throws {
        try await withLedgerTemporaryDirectory { dir in
            let clock = LedgerTestClock()
            let store = try DynamoDBItemStore(path: dir + "/ledger.sqlite", now: clock.now)
            let ledger = JobLedger(store: store, now: clock.now)
            try await ledger.createTableIfNeeded()
            let started = try await withThrowingTaskGroup(of: Bool.self) { group in
                for i in 0..<16 {
                    group.addTask {
                        if case .started = try await ledger.start(self.job, executionId: "exec-\(i)") { return true }
                        return false
                    }
                }
                return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            #expect(started == 1)
        }
    }

    @Test func survivesReopening() async throws {
        try await withLedgerTemporaryDirectory { dir in
            let clock = LedgerTestClock()
            do {
                let store = try DynamoDBItemStore(path: dir + "/ledger.sqlite", now: clock.now)
                let ledger = JobLedger(store: store, now: clock.now)
                try await ledger.createTableIfNeeded()
                _ = try await ledger.start(self.job, executionId: "exec-1")
                _ = try await ledger.finish(self.job, executionId: "exec-1", outcome: .failed(error: "MalformedCSV", cause: "line 3", outputLocation: "s3://failed/x"))
            }
            let reopened = JobLedger(store: try DynamoDBItemStore(path: dir + "/ledger.sqlite", now: clock.now), now: clock.now)
            try await reopened.createTableIfNeeded()
            let r = try #require(try await reopened.record(self.job))
            #expect(r.status == .failed)
            #expect(r.error == "MalformedCSV")
            #expect(r.cause == "line 3")
            #expect(try await reopened.allRecords().count == 1)
        }
    }

    @Test func ttlExpiryHidesAndPurges() async throws {
        try await withLedgerTemporaryDirectory { dir in
            let clock = LedgerTestClock()
            let store = try DynamoDBItemStore(path: dir + "/ledger.sqlite", now: clock.now)
            let ledger = JobLedger(store: store, recordTTL: .seconds(3600), now: clock.now)
            try await ledger.createTableIfNeeded()
            _ = try await ledger.start(self.job, executionId: "exec-1")
            clock.advance(3599)
            #expect(try await ledger.record(self.job) != nil)
            clock.advance(1)
            #expect(try await ledger.record(self.job) == nil)
            #expect(try await ledger.allRecords().isEmpty)
            #expect(try await store.itemCount(table: ledger.tableName) == 0)
            #expect(try await store.purgeExpired() == 1)
            // An expired record does not block a new claim of the version.
            guard case .started = try await ledger.start(self.job, executionId: "exec-2") else { Issue.record("restart after TTL"); return }
        }
    }

    @Test func scanPaginationVisitsEveryItemOnce() async throws {
        try await withLedgerTemporaryDirectory { dir in
            let store = try DynamoDBItemStore(path: dir + "/db.sqlite", now: LedgerTestClock().now)
            try await store.createTable(DynamoDBTableDefinition(name: "t1", partitionKey: .init(name: "pk"), sortKey: .init(name: "sk")))
            for p in 0..<5 {
                for s in 0..<7 {
                    try await store.putItem(table: "t1", item: ["pk": .s("p\(p)"), "sk": .s("s\(s)"), "v": .number(p * 10 + s)])
                }
            }
            var seen: [String] = []
            var start: DynamoDBItem?
            for _ in 0..<100 {
                let page = try await store.page(table: "t1", limit: 4, exclusiveStartKey: start)
                seen += page.items.map { "\($0["pk"]!.stringValue!)/\($0["sk"]!.stringValue!)" }
                guard let next = page.lastEvaluatedKey else { break }
                #expect(Set(next.keys) == ["pk", "sk"])
                start = next
            }
            #expect(seen.count == 35)
            #expect(Set(seen).count == 35)
        }
    }

    @Test func numericSortKeysQueryInNumericOrder() async throws {
        try await withLedgerTemporaryDirectory { dir in
            let store = try DynamoDBItemStore(path: dir + "/db.sqlite", now: LedgerTestClock().now)
            try await store.createTable(DynamoDBTableDefinition(name: "t1", partitionKey: .init(name: "pk"), sortKey: .init(name: "n", type: "N")))
            let numbers = ["100", "-1.5", "2", "0", "-10", "10", "-1.55", "0.5", "1e3", "-0.001", "99.99"]
            for n in numbers { try await store.putItem(table: "t1", item: ["pk": .s("p"), "n": .n(n)]) }
            let page = try await store.page(table: "t1", partition: .s("p"))
            let got = page.items.compactMap { $0["n"]?.decimalValue }
            #expect(got == numbers.compactMap { Decimal(string: $0) }.sorted())
            // "2" and "2.0" are the same key.
            try await store.putItem(table: "t1", item: ["pk": .s("p"), "n": .n("2.0"), "v": .bool(true)])
            #expect(try await store.getItem(table: "t1", key: ["pk": .s("p"), "n": .n("2")])?["v"] == .bool(true))
        }
    }
}
