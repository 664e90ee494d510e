import Foundation
import Testing

@testable import Faults

@Suite struct FaultInjectorTests {
    static func plan(_ yaml: String) throws -> FaultPlan { try FaultPlan(yaml: yaml, file: "test.yaml") }

    let upload = FaultRequest(service: .s3, operation: "UploadPart", bucket: "raw", key: "in/a.csv")

    @Test func windowsOpenAndCloseAtTheirBoundaries() throws {
        let injector = FaultInjector(plan: try Self.plan("faults:\n  - {kind: endpoint-outage, window: {at: 5s, duration: 10s}, effect: status-503}\n"))
        #expect(injector.decide(upload, at: .milliseconds(4_999), for: .any) == nil)
        #expect(injector.decide(upload, at: .seconds(5), for: .any)?.action == .respond(.unavailable(for: .s3)))
        #expect(injector.decide(upload, at: .milliseconds(14_999), for: .any) != nil)
        #expect(injector.decide(upload, at: .seconds(15), for: .any) == nil)
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
        let fired = (0..<9).map { injector.decide(upload, at: .seconds($0), for: .any) != nil }
        #expect(fired == [false, false, true, false, false, true, false, false, true])
    }

    @Test func probabilityIsReproducibleForASeedAndNearItsRate() throws {
        let yaml = "seed: 42\nfaults:\n  - {kind: endpoint-outage, window: always, probability: 0.3, effect: status-500}\n"
        func run(seed: UInt64? = nil) throws -> [Bool] {
            let injector = FaultInjector(plan: try Self.plan(yaml), seed: seed)
            return (0..<10_000).map { injector.decide(upload, at: .milliseconds($0), for: .any) != nil }
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
            s3Alone.append(alone.decide(upload, at: .seconds(i), for: .any) != nil)
            _ = mixed.decide(FaultRequest(service: .sqs, operation: "SendMessage"), at: .seconds(i), for: .any)
            s3Mixed.append(mixed.decide(upload, at: .seconds(i), for: .any) != nil)
        }
        #expect(s3Alone == s3Mixed)
    }

    @Test func rateLimitsInjectionsPerSecondFromTheWindowStart() throws {
        let injector = FaultInjector(plan: try Self.plan("faults:\n  - {kind: endpoint-outage, window: {at: 10s, duration: 10s}, rate: 2/s, effect: hang}\n"))
        // 10 requests per second for 3 seconds: 2 per second get the fault (the first at once).
        var perSecond = [0, 0, 0]
        for i in 0..<30 {
            if injector.decide(upload, at: .seconds(10) + .milliseconds(i * 100), for: .any) != nil { perSecond[i / 10] += 1 }
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
        func hit(_ r: FaultRequest) -> Bool { injector.decide(r, at: .zero, for: .any) != nil }
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
        #expect(injector.decide(.taskLaunch(bucket: "raw", key: "in/a.csv"), at: .zero, for: .any)?.action == .failTask(exitCode: 2))
        #expect(injector.decide(.taskLaunch(bucket: "raw", key: "other/a.csv"), at: .zero, for: .any) == nil)
        #expect(injector.decide(FaultRequest(service: .dynamodb, operation: "PutItem"), at: .zero, for: .any)?.action == .respond(.provisionedThroughputExceeded))
        #expect(injector.decide(.eventDelivery(bucket: "raw", key: "x"), at: .zero, for: .any)?.action == .duplicate(copies: 2))
        #expect(injector.decide(upload, at: .zero, for: .any) == nil)
    }

    @Test func latencyJitterStaysInItsRangeAndIsSeeded() throws {
        let yaml = "seed: 1\nfaults:\n  - {kind: endpoint-outage, window: always, effect: latency, latency: 100ms, jitter: 50ms}\n"
        let a = FaultInjector(plan: try Self.plan(yaml))
        let b = FaultInjector(plan: try Self.plan(yaml))
        var delays: Set<Duration> = []
        for i in 0..<100 {
            guard case .delay(let d) = a.decide(upload, at: .seconds(i), for: .any)?.action else { Issue.record("no delay"); return }
            #expect(d >= .milliseconds(100) && d < .milliseconds(150))
            #expect(b.decide(upload, at: .seconds(i), for: .any)?.action == .delay(d))
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
        #expect(injector.decide(upload, at: .seconds(1), for: .any)?.action == .reset)
        #expect(injector.decide(upload, at: .seconds(6), for: .any)?.action == .respond(.internalError(for: .s3)))
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
        // Per-request decisions never come from state-change faults.
        #expect(injector.decide(.taskLaunch(bucket: "raw", key: "k"), at: .seconds(15), for: .any) == nil)
        injector.advance(to: .seconds(70))
        #expect(injector.records.filter { $0.fault == 2 }.map(\.action) == ["pipeline stops for 5.000s", "pipeline starts again"])
    }

    // MARK: Filters: a hook point counts only the faults it can act on

    /// The event bus asks about one event at two points: its delivery (delay, duplicate) once,
    /// its target invocation (failure) once per attempt. `every: 3` must follow the deliveries.
    @Test func everyNthFiresOnTheNthDecisionOfItsOwnHookWhenAnotherHookAsksInBetween() throws {
        let injector = FaultInjector(plan: try Self.plan("faults:\n  - {kind: duplicate-delivery, window: always, every: 3}\n"))
        var duplicated: [Int] = []
        for event in 1...9 {
            let request = FaultRequest.eventDelivery(bucket: "raw", key: "in/\(event).csv")
            // The target is invoked before and after (a retry) each delivery question.
            #expect(injector.decide(request, at: .seconds(event), for: .targetInvocation) == nil)
            if injector.decide(request, at: .seconds(event), for: .eventDelivery)?.action == .duplicate(copies: 1) { duplicated.append(event) }
            #expect(injector.decide(request, at: .seconds(event), for: .targetInvocation) == nil)
        }
        #expect(duplicated == [3, 6, 9])
        #expect(injector.statistics.map(\.matched) == [9])
        #expect(injector.records.filter { $0.event == .injected }.map(\.key) == ["in/3.csv", "in/6.csv", "in/9.csv"])
    }

    /// Without a filter the same sequence fires on the wrong events: the bug the filters fix.
    @Test func withoutAFilterEveryQuestionCounts() throws {
        let injector = FaultInjector(plan: try Self.plan("faults:\n  - {kind: duplicate-delivery, window: always, every: 3}\n"))
        var duplicated: [Int] = []
        for event in 1...9 {
            let request = FaultRequest.eventDelivery(bucket: "raw", key: "in/\(event).csv")
            _ = injector.decide(request, at: .seconds(event), for: .any)
            if injector.decide(request, at: .seconds(event), for: .any) != nil { duplicated.append(event) }
            _ = injector.decide(request, at: .seconds(event), for: .any)
        }
        // Every 3rd question falls on a target invocation, which cannot duplicate: never applied.
        #expect(duplicated == [])
        #expect(injector.statistics.map(\.injected) == [9])
    }

    /// Two faults on one object at two hooks each keep their own cadence: the delivery fault
    /// fires on the 3rd, 6th… event, the target fault on the 2nd, 4th… attempt.
    @Test func twoHooksTwoFaultsEachKeepsItsCadence() throws {
        let injector = FaultInjector(plan: try Self.plan("""
            faults:
              - {kind: event-delivery-failure, window: always, every: 2}
              - {kind: duplicate-delivery, window: always, every: 3}
            """))
        var failedAttempts: [Int] = []
        var duplicated: [Int] = []
        var attempt = 0
        for event in 1...6 {
            let request = FaultRequest.eventDelivery(bucket: "raw", key: "in/\(event).csv")
            if injector.decide(request, at: .zero, for: .eventDelivery) != nil { duplicated.append(event) }
            for _ in 0..<2 {
                attempt += 1
                guard case .failDelivery? = injector.decide(request, at: .zero, for: .targetInvocation)?.action else { continue }
                failedAttempts.append(attempt)
            }
        }
        #expect(duplicated == [3, 6])
        #expect(failedAttempts == [2, 4, 6, 8, 10, 12])
        #expect(injector.statistics.map(\.matched) == [12, 6])
    }

    /// Probability draws belong to the hook that acts: asking another hook in between draws
    /// nothing, so the task hook's sequence of failures is the same with or without it.
    @Test func probabilityDrawsAreNotConsumedByOtherHooks() throws {
        let yaml = """
            seed: 11
            faults:
              - {kind: task-failure, window: always, probability: 0.4}
              - {kind: endpoint-outage, window: always, probability: 0.4, effect: status-503}
            """
        let alone = FaultInjector(plan: try Self.plan(yaml))
        let asked = FaultInjector(plan: try Self.plan(yaml))
        var a: [Bool] = []
        var b: [Bool] = []
        for i in 0..<300 {
            let launch = FaultRequest.taskLaunch(bucket: "raw", key: "in/\(i).csv")
            a.append(alone.decide(launch, at: .zero, for: .taskLaunch) != nil)
            // Hooks that cannot act on a task failure ask about the same object.
            _ = asked.decide(.eventDelivery(bucket: "raw", key: "in/\(i).csv"), at: .zero, for: .eventDelivery)
            _ = asked.decide(.eventDelivery(bucket: "raw", key: "in/\(i).csv"), at: .zero, for: .targetInvocation)
            b.append(asked.decide(launch, at: .zero, for: .taskLaunch) != nil)
        }
        #expect(a == b)
        #expect(asked.statistics.map(\.matched) == [300, 0])
    }

    /// The workflow's ledger writes can only fail: an endpoint-outage that delays DynamoDB
    /// requests is not asked there, so its `every: 2` counts wire requests only; its 503 is.
    @Test func theLedgerWriteHookAdmitsOnlyErrorAnswers() throws {
        let injector = FaultInjector(plan: try Self.plan("""
            faults:
              - {kind: endpoint-outage, window: always, every: 2, effect: latency, latency: 1s, select: {service: dynamodb}}
              - {kind: endpoint-outage, window: always, effect: status-503, select: {service: dynamodb, operation: UpdateItem}}
            """))
        let put = FaultRequest(service: .dynamodb, operation: "PutItem")
        var delayed: [Int] = []
        for i in 1...6 {
            #expect(injector.decide(put, at: .zero, for: .ledgerWrite) == nil)
            if case .delay? = injector.decide(put, at: .zero, for: .wire)?.action { delayed.append(i) }
        }
        #expect(delayed == [2, 4, 6])
        let update = FaultRequest(service: .dynamodb, operation: "UpdateItem")
        #expect(injector.decide(update, at: .zero, for: .ledgerWrite)?.action == .respond(.unavailable(for: .dynamodb)))
        #expect(injector.statistics.map(\.matched) == [6, 1])
    }

    @Test func filtersAdmitByKindAndOutageEffect() throws {
        let plan = try Self.plan("""
            faults:
              - {kind: task-crash, window: always}
              - {kind: endpoint-outage, window: always, effect: hang}
              - {kind: endpoint-outage, window: always, effect: status-500}
              - {kind: ledger-throttling, window: always}
              - {kind: reordered-delivery, window: always, max-delay: 1s}
            """)
        func admitted(_ filter: FaultFilter) -> [Int] { plan.faults.indices.filter { filter.admits(plan.faults[$0]) } }
        #expect(admitted(.any) == [0, 1, 2, 3, 4])
        #expect(admitted(.taskLaunch) == [0])
        #expect(admitted(.wire) == [1, 2, 3])
        #expect(admitted(.ledgerWrite) == [2, 3])
        #expect(admitted(.eventDelivery) == [4])
        #expect(admitted(.targetInvocation) == [])
        #expect(admitted(.kinds(.taskCrash, .ledgerThrottling)) == [0, 3])
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
        for i in 0..<5 { _ = injector.decide(upload, at: .seconds(i), for: .any) }
        #expect(injector.records.count == 3)
        #expect(injector.droppedRecords == 3)
    }
}
