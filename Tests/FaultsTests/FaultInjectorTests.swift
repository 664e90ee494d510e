import Foundation
import Testing

@testable import Faults

@Suite struct FaultInjectorTests {
    static func plan(_ yaml: String) throws -> FaultPlan { try FaultPlan(yaml: yaml, file: "test.yaml") }

    let upload = FaultRequest(service: .s3, operation: "UploadPart", bucket: "raw", key: "in/a.csv")

    @Test func windowsOpenAndCloseAtTheirBoundaries() throws {
        let injector = FaultInjector(plan: try Self.plan("faults:\n  - {kind: endpoint-outage, window: {at: 5s, duration: 10s}, effect: status-503}\n"))
        #expect(injector.decide(upload, at: .milliseconds(4_999)) == nil)
        #expect(injector.decide(upload, at: .seconds(5))?.action == .respond(.unavailable(for: .s3)))
        #expect(injector.decide(upload, at: .milliseconds(14_999)) != nil)
        #expect(injector.decide(upload, at: .seconds(15)) == nil)
        let records = injector.records
        #expect(records.map(\.event) == [.windowOpened, .injected, .injected, .windowClosed])
        #expect(records.first?.elapsedSeconds == 5)
        #expect(records.last?.elapsedSeconds == 15)
        #expect(records[1].operation == "UploadPart")
        #expect(records[1].action == "respond 503 SlowDown")
        #expect(records[1].source == "test.yaml:2:5")
        #expect(injector.statistics.first?.matched == 2)
    }

    @Test func aWindowSkippedOverIsStillRecordedInOrder() throws {
        let injector = FaultInjector(plan: try Self.plan("""
            faults:
              - {kind: ledger-throttling, window: {at: 1s, duration: 1s}}
              - {kind: ledger-throttling, window: {at: 0.5s, duration: 0.5s}}
            """))
        injector.advance(to: .seconds(10))
        let records = injector.takeRecords()
        #expect(records.map { "\($0.event.rawValue)@\($0.elapsedSeconds)#\($0.fault)" } == [
            "fault-window-opened@0.5#1", "fault-window-closed@1.0#1", "fault-window-opened@1.0#0", "fault-window-closed@2.0#0",
        ])
        #expect(injector.records.isEmpty)
    }

    @Test func everyNthFiresOnTheNthMatchingRequest() throws {
        let injector = FaultInjector(plan: try Self.plan("faults:\n  - {kind: endpoint-outage, window: always, every: 3, effect: reset}\n"))
        let fired = (0..<9).map { injector.decide(upload, at: .seconds($0)) != nil }
        #expect(fired == [false, false, true, false, false, true, false, false, true])
    }

    @Test func probabilityIsReproducibleForASeedAndNearItsRate() throws {
        let yaml = "seed: 42\nfaults:\n  - {kind: endpoint-outage, window: always, probability: 0.3, effect: status-500}\n"
        func run(seed: UInt64? = nil) throws -> [Bool] {
            let injector = FaultInjector(plan: try Self.plan(yaml), seed: seed)
            return (0..<10_000).map { injector.decide(upload, at: .milliseconds($0)) != nil }
        }
        let a = try run()
        let b = try run()
        #expect(a == b)
        let share = Double(a.filter { $0 }.count) / Double(a.count)
        #expect(abs(share - 0.3) < 0.02, "\(share)")
        #expect(try run(seed: 43) != a)
    }

    /// Decisions depend on each fault's own request count, not on other faults' traffic.
    @Test func decisionsOfOneFaultIgnoreRequestsOfOthers() throws {
        let yaml = """
            seed: 9
            faults:
              - {kind: endpoint-outage, window: always, probability: 0.5, effect: status-503, select: {service: s3}}
              - {kind: endpoint-outage, window: always, probability: 0.5, effect: status-503, select: {service: sqs}}
            """
        let alone = FaultInjector(plan: try Self.plan(yaml))
        let mixed = FaultInjector(plan: try Self.plan(yaml))
        var s3Alone: [Bool] = []
        var s3Mixed: [Bool] = []
        for i in 0..<200 {
            s3Alone.append(alone.decide(upload, at: .seconds(i)) != nil)
            _ = mixed.decide(FaultRequest(service: .sqs, operation: "SendMessage"), at: .seconds(i))
            s3Mixed.append(mixed.decide(upload, at: .seconds(i)) != nil)
        }
        #expect(s3Alone == s3Mixed)
    }

    @Test func rateLimitsInjectionsPerSecondFromTheWindowStart() throws {
        let injector = FaultInjector(plan: try Self.plan("faults:\n  - {kind: endpoint-outage, window: {at: 10s, duration: 10s}, rate: 2/s, effect: hang}\n"))
        // 10 requests per second for 3 seconds: 2 per second get the fault (the first at once).
        var perSecond = [0, 0, 0]
        for i in 0..<30 {
            if injector.decide(upload, at: .seconds(10) + .milliseconds(i * 100)) != nil { perSecond[i / 10] += 1 }
        }
        #expect(perSecond == [2, 2, 2])
    }

    @Test func selectorsMatchServiceOperationBucketAndKeyGlobs() throws {
        let injector = FaultInjector(plan: try Self.plan("""
            faults:
              - kind: endpoint-outage
                window: always
                effect: status-503
                select: {service: s3, operation: [UploadPart, CompleteMultipartUpload], bucket: "ra?", key: ["in/*.csv", "big/**"]}
            """))
        func hit(_ r: FaultRequest) -> Bool { injector.decide(r, at: .zero) != nil }
        #expect(hit(upload))
        #expect(hit(FaultRequest(service: .s3, operation: "CompleteMultipartUpload", bucket: "raw", key: "big/x/y.bin")))
        #expect(!hit(FaultRequest(service: .s3, operation: "PutObject", bucket: "raw", key: "in/a.csv")))
        #expect(!hit(FaultRequest(service: .s3, operation: "UploadPart", bucket: "processed", key: "in/a.csv")))
        #expect(!hit(FaultRequest(service: .s3, operation: "UploadPart", bucket: "raw", key: "in/sub/a.csv")))
        #expect(!hit(FaultRequest(service: .s3, operation: "UploadPart", bucket: "raw", key: nil)))
        #expect(!hit(FaultRequest(service: .dynamodb, operation: "UploadPart")))
    }

    @Test func kindsOnlyAffectTheirServices() throws {
        let injector = FaultInjector(plan: try Self.plan("""
            faults:
              - {kind: task-failure, window: always, exit-code: 2, select: {key: "in/*"}}
              - {kind: ledger-throttling, window: always}
              - {kind: duplicate-delivery, window: always, copies: 2}
            """))
        #expect(injector.decide(.taskLaunch(bucket: "raw", key: "in/a.csv"), at: .zero)?.action == .failTask(exitCode: 2))
        #expect(injector.decide(.taskLaunch(bucket: "raw", key: "other/a.csv"), at: .zero) == nil)
        #expect(injector.decide(FaultRequest(service: .dynamodb, operation: "PutItem"), at: .zero)?.action == .respond(.provisionedThroughputExceeded))
        #expect(injector.decide(.eventDelivery(bucket: "raw", key: "x"), at: .zero)?.action == .duplicate(copies: 2))
        #expect(injector.decide(upload, at: .zero) == nil)
    }

    @Test func latencyJitterStaysInItsRangeAndIsSeeded() throws {
        let yaml = "seed: 1\nfaults:\n  - {kind: endpoint-outage, window: always, effect: latency, latency: 100ms, jitter: 50ms}\n"
        let a = FaultInjector(plan: try Self.plan(yaml))
        let b = FaultInjector(plan: try Self.plan(yaml))
        var delays: Set<Duration> = []
        for i in 0..<100 {
            guard case .delay(let d) = a.decide(upload, at: .seconds(i))?.action else { Issue.record("no delay"); return }
            #expect(d >= .milliseconds(100) && d < .milliseconds(150))
            #expect(b.decide(upload, at: .seconds(i))?.action == .delay(d))
            delays.insert(d)
        }
        #expect(delays.count > 50)
    }

    @Test func theFirstFaultInPlanOrderWins() throws {
        let injector = FaultInjector(plan: try Self.plan("""
            faults:
              - {kind: endpoint-outage, window: {at: 0s, duration: 5s}, effect: reset}
              - {kind: endpoint-outage, window: always, effect: status-500}
            """))
        #expect(injector.decide(upload, at: .seconds(1))?.action == .reset)
        #expect(injector.decide(upload, at: .seconds(6))?.action == .respond(.internalError(for: .s3)))
        #expect(injector.statistics.map(\.matched) == [1, 2])
        #expect(injector.statistics.map(\.injected) == [1, 1])
    }

    @Test func throttledStartsAndPipelineRestartAreStateQueries() throws {
        let injector = FaultInjector(plan: try Self.plan("""
            faults:
              - {kind: throttled-starts, window: {at: 10s, duration: 20s}, burst: 10, refill-per-second: 2}
              - {kind: throttled-starts, window: {at: 20s, duration: 20s}, burst: 5, max-running: 8}
              - {kind: pipeline-restart, at: 60s, downtime: 5s}
            """))
        #expect(injector.throttledStarts(at: .seconds(5)) == nil)
        #expect(injector.throttledStarts(at: .seconds(15)) == .init(burst: 10, refillPerSecond: 2, maxRunning: nil))
        #expect(injector.throttledStarts(at: .seconds(25)) == .init(burst: 5, refillPerSecond: 2, maxRunning: 8))
        #expect(injector.throttledStarts(at: .seconds(35)) == .init(burst: 5, refillPerSecond: nil, maxRunning: 8))
        #expect(injector.pipelineRestarts == [.init(fault: 2, at: .seconds(60), downtime: .seconds(5))])
        #expect(!injector.isPipelineDown(at: .seconds(59)))
        #expect(injector.isPipelineDown(at: .seconds(60)))
        #expect(!injector.isPipelineDown(at: .seconds(65)))
        #expect(injector.nextBoundary(after: .seconds(25)) == .seconds(30))
        #expect(injector.nextBoundary(after: .seconds(65)) == nil)
        // Per-request decisions never come from state-change faults.
        #expect(injector.decide(.taskLaunch(bucket: "raw", key: "k"), at: .seconds(15)) == nil)
        injector.advance(to: .seconds(70))
        #expect(injector.records.filter { $0.fault == 2 }.map(\.action) == ["pipeline stops for 5.000s", "pipeline starts again"])
    }

    @Test func recordsEncodeAsOneJSONObjectEach() throws {
        let record = FaultRecord(event: .injected, elapsedSeconds: 1.5, fault: 0, kind: .endpointOutage, service: .s3, operation: "UploadPart", bucket: "raw", key: "k", action: "reset")
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let text = String(decoding: try encoder.encode(record), as: UTF8.self)
        #expect(text == #"{"action":"reset","bucket":"raw","fault":0,"key":"k","kind":"endpoint-outage","operation":"UploadPart","service":"s3","t":1.5,"type":"fault-injected"}"#)
        #expect(try JSONDecoder().decode(FaultRecord.self, from: Data(text.utf8)) == record)
    }

    @Test func recordsBeyondTheLimitAreCountedNotKept() throws {
        let injector = FaultInjector(plan: try Self.plan("faults:\n  - {kind: endpoint-outage, window: always, effect: reset}\n"), recordLimit: 3)
        for i in 0..<5 { _ = injector.decide(upload, at: .seconds(i)) }
        #expect(injector.records.count == 3)
        #expect(injector.droppedRecords == 3)
    }
}
