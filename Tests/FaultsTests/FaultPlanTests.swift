import Foundation
import Testing
import Yams

@testable import Faults

@Suite struct FaultPlanTests {
    static let example = """
        seed: 7
        faults:
          - kind: task-failure
            window: {at: 10s, duration: 30s}
            select: {key: "in/*.csv"}
            probability: 0.3
            exit-code: 3
          - kind: endpoint-outage
            select: {service: s3, operation: [UploadPart, CompleteMultipartUpload]}
            window: {at: 5s, duration: 10s}
            effect: status-503
          - kind: endpoint-outage
            select: {service: dynamodb}
            window: always
            every: 5
            effect: latency
            latency: 200ms
            jitter: 50ms
          - kind: throttled-starts
            window: {at: 20s, duration: 40s}
            burst: 10
            refill-per-second: 2
          - kind: event-delivery-failure
            window: {at: 1m, duration: 30s}
            rate: 2/s
            error-code: AccessDeniedException
            retryable: false
          - kind: duplicate-delivery
            window: always
            probability: 0.1
          - kind: delayed-delivery
            window: always
            delay: 2s
            jitter: 1s
          - kind: reordered-delivery
            window: always
            max-delay: 500ms
          - kind: ledger-throttling
            window: {at: 0s, duration: 15s}
            select: {operation: [PutItem, UpdateItem]}
          - kind: pipeline-restart
            at: 90s
            downtime: 10s
          - kind: task-crash
            window: always
            every: 10
            output-fraction: 0.25
          - kind: endpoint-outage
            window: always
            select: {service: s3, bucket: raw}
            effect: bandwidth
            bytes-per-second: 1MiB
          - kind: endpoint-outage
            window: always
            effect: slicing
            slice-bytes: 512
            slice-delay: 10ms
        """

    @Test func theExamplePlanLoads() throws {
        let plan = try FaultPlan(yaml: Self.example, file: "plan.yaml")
        #expect(plan.seed == 7)
        #expect(plan.faults.count == 13)
        let first = plan.faults[0]
        #expect(first.kind == .taskFailure)
        #expect(first.window == .span(at: .seconds(10), duration: .seconds(30)))
        #expect(first.intensity == .probability(0.3))
        #expect(first.effect == .taskFailure(exitCode: 3))
        #expect(first.selector.keys == [try Glob("in/*.csv")])
        #expect(first.source == SourceLocation(file: "plan.yaml", line: 3, column: 5))
        #expect(plan.faults[1].selector.operations == ["UploadPart", "CompleteMultipartUpload"])
        #expect(plan.faults[1].effect == .endpointOutage(.status503))
        #expect(plan.faults[2].effect == .endpointOutage(.latency(.milliseconds(200), jitter: .milliseconds(50))))
        #expect(plan.faults[2].intensity == .everyNth(5))
        #expect(plan.faults[3].effect == .throttledStarts(burst: 10, refillPerSecond: 2, maxRunning: nil))
        #expect(plan.faults[4].intensity == .rate(perSecond: 2))
        #expect(plan.faults[4].effect == .eventDeliveryFailure(errorCode: "AccessDeniedException", retryable: false))
        #expect(plan.faults[4].window == .span(at: .seconds(60), duration: .seconds(30)))
        #expect(plan.faults[5].effect == .duplicateDelivery(copies: 1))
        #expect(plan.faults[6].effect == .delayedDelivery(delay: .seconds(2), jitter: .seconds(1)))
        #expect(plan.faults[7].effect == .reorderedDelivery(maxDelay: .milliseconds(500)))
        #expect(plan.faults[8].effect == .ledgerThrottling)
        #expect(plan.faults[9].window == .span(at: .seconds(90), duration: .seconds(10)))
        #expect(plan.faults[9].effect == .pipelineRestart(downtime: .seconds(10)))
        #expect(plan.faults[10].effect == .taskCrash(outputFraction: 0.25))
        #expect(plan.faults[11].effect == .endpointOutage(.bandwidth(bytesPerSecond: 1 << 20)))
        #expect(plan.faults[12].effect == .endpointOutage(.slicing(bytes: 512, delay: .milliseconds(10))))
    }

    @Test func theShippedExamplePlansLoad() throws {
        let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../scenarios/faults").standardized
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".yaml") }
        #expect(!files.isEmpty)
        for file in files {
            let plan = try FaultPlan.load(path: directory.appendingPathComponent(file).path)
            #expect(!plan.faults.isEmpty, "\(file)")
        }
    }

    /// A scenario embeds a plan under `faults:`; errors name the scenario file and its lines.
    @Test func aPlanEmbeddedInAScenarioReportsTheScenariosLines() throws {
        let scenario = """
            name: s
            faults:
              seed: 3
              faults:
                - kind: endpoint-outage
                  window: always
                  effect: status-504
            """
        let root = try #require(try Yams.compose(yaml: scenario))
        guard case .mapping(let mapping) = root, let section = mapping["faults"] else { Issue.record("no faults section"); return }
        let error = #expect(throws: FaultPlanError.self) { try FaultPlan(node: section, file: "scenarios/s.yaml") }
        #expect(error?.description == "scenarios/s.yaml:7:15: error: faults[0].effect: unknown effect 'status-504' (valid: status-503, status-500, reset, hang, latency, bandwidth, slicing)")
    }

    @Test func aBareListIsAPlanWithSeedZero() throws {
        let plan = try FaultPlan(yaml: "- {kind: ledger-throttling, window: always, probability: 0.5}\n", file: "p.yaml")
        #expect(plan.seed == 0)
        #expect(plan.faults.first?.intensity == .probability(0.5))
    }

    struct Bad: Sendable, CustomTestStringConvertible {
        var yaml: String
        var code: FaultPlanError.Code
        var message: String
        var testDescription: String { message }
    }

    static let bad: [Bad] = [
        Bad(
            yaml: "faults:\n  - kind: task-fail\n    window: always\n", code: .unknownKind,
            message: "p.yaml:2:11: error: faults[0].kind: unknown fault kind 'task-fail' (valid: task-failure, task-crash, throttled-starts, endpoint-outage, event-delivery-failure, duplicate-delivery, delayed-delivery, reordered-delivery, ledger-throttling, pipeline-restart)"
        ),
        Bad(
            yaml: "faults:\n  - kind: task-failure\n    window: always\n    probabilty: 0.5\n", code: .unknownKey,
            message: "p.yaml:4:5: error: faults[0]: unknown key 'probabilty' (valid: kind, window, select, probability, every, rate, exit-code)"
        ),
        Bad(
            yaml: "sed: 1\nfaults: []\n", code: .unknownKey,
            message: "p.yaml:1:1: error: unknown key 'sed' (valid: seed, faults)"
        ),
        Bad(
            yaml: "faults:\n  - kind: task-failure\n    window: {at: -5s, duration: 10s}\n", code: .impossibleWindow,
            message: "p.yaml:3:18: error: faults[0].window.at: the window starts before the run does (-5s)"
        ),
        Bad(
            yaml: "faults:\n  - kind: task-failure\n    window: {at: 5s, duration: 0s}\n", code: .impossibleWindow,
            message: "p.yaml:3:32: error: faults[0].window.duration: a window must last longer than zero, found 0s"
        ),
        Bad(
            yaml: "faults:\n  - kind: task-failure\n    window: {at: 30d, duration: 1s}\n", code: .invalidValue,
            message: "p.yaml:3:18: error: faults[0].window.at: expected a duration such as 10s, 500ms, 2m or 1h, found '30d' (valid: ms, s, m, h)"
        ),
        Bad(
            yaml: "faults:\n  - kind: task-failure\n    window: {at: 700000s, duration: 1s}\n", code: .impossibleWindow,
            message: "p.yaml:3:18: error: faults[0].window.at: the window starts at 700000s, beyond the longest run a plan may describe (604800s)"
        ),
        Bad(
            yaml: "faults:\n  - kind: task-failure\n    window: always\n    select: {service: s3}\n", code: .unmatchableSelector,
            message: "p.yaml:4:23: error: faults[0].select.service: task-failure affects ecs requests only: service 's3' can match nothing (valid: ecs)"
        ),
        Bad(
            yaml: "faults:\n  - kind: endpoint-outage\n    window: always\n    effect: reset\n    select: {service: s3, operation: PutItem}\n", code: .unmatchableSelector,
            message: "p.yaml:5:38: error: faults[0].select.operation: 'PutItem' is not a s3 operation endpoint-outage can affect: it can match nothing (valid: \(FaultService.s3.operations.joined(separator: ", ")))"
        ),
        Bad(
            yaml: "faults:\n  - kind: endpoint-outage\n    window: always\n    effect: reset\n    select: {service: s3, key: []}\n", code: .unmatchableSelector,
            message: "p.yaml:5:32: error: faults[0].select.key: an empty key list matches nothing"
        ),
        Bad(
            yaml: "faults:\n  - kind: endpoint-outage\n    window: always\n    effect: reset\n    select: {service: sqs, key: 'a*'}\n", code: .unmatchableSelector,
            message: "p.yaml:5:33: error: faults[0].select.key: sqs requests carry no bucket or key: a key selector can match nothing (valid: s3, dynamodb, ecs, events)"
        ),
        Bad(
            yaml: "faults:\n  - kind: endpoint-outage\n    window: always\n    effect: reset\n    select: {bucket: 'raw['}\n", code: .unmatchableSelector,
            message: "p.yaml:5:22: error: faults[0].select.bucket: bucket pattern: '[' without a closing ']' in 'raw['"
        ),
        Bad(
            yaml: "faults:\n  - kind: endpoint-outage\n    window: always\n    effect: status-503\n    latency: 1s\n", code: .unknownKey,
            message: "p.yaml:5:14: error: faults[0].latency: 'latency' applies to effect latency, not status-503"
        ),
        Bad(
            yaml: "faults:\n  - kind: task-failure\n    window: always\n    probability: 1.5\n", code: .invalidValue,
            message: "p.yaml:4:18: error: faults[0].probability: probability must be in (0, 1], found 1.5"
        ),
        Bad(
            yaml: "faults:\n  - kind: task-failure\n    window: always\n    probability: 0.5\n    every: 3\n", code: .invalidValue,
            message: "p.yaml:5:12: error: faults[0].every: give one of probability, every or rate, not both probability and every (valid: probability, every, rate)"
        ),
        Bad(
            yaml: "faults:\n  - kind: ledger-throttling\n", code: .missingKey,
            message: "p.yaml:2:5: error: faults[0]: missing required key 'window' (write `window: always` for the whole run, or `window: {at: 10s, duration: 30s}`)"
        ),
        Bad(
            yaml: "faults:\n  - kind: throttled-starts\n    window: always\n", code: .missingKey,
            message: "p.yaml:2:5: error: faults[0]: throttled-starts needs at least one of burst, refill-per-second, max-running (valid: burst, refill-per-second, max-running)"
        ),
        Bad(
            yaml: "faults:\n  - kind: pipeline-restart\n    at: 10s\n    downtime: 5s\n    window: always\n", code: .unknownKey,
            message: "p.yaml:5:5: error: faults[0]: unknown key 'window' (valid: kind, at, downtime)"
        ),
        Bad(
            yaml: "faults:\n  - kind: endpoint-outage\n    window: always\n    effect: reset\n    rate: fast\n", code: .invalidValue,
            message: "p.yaml:5:11: error: faults[0].rate: expected a rate such as 2/s, 30/m or 100/h, found 'fast' (valid: N/s, N/m, N/h)"
        ),
        Bad(
            yaml: "faults:\n  - kind: endpoint-outage\n    window: always\n   effect: reset\n", code: .syntax,
            message: ""
        ),
    ]

    @Test(arguments: Self.bad)
    func badPlansAreRejectedWithFileLineAndColumn(_ bad: Bad) {
        let error = #expect(throws: FaultPlanError.self) { try FaultPlan(yaml: bad.yaml, file: "p.yaml") }
        #expect(error?.code == bad.code)
        if bad.message.isEmpty {
            #expect(error?.description.hasPrefix("p.yaml:4:") == true, "\(error?.description ?? "")")
        } else {
            #expect(error?.description == bad.message)
        }
    }

    @Test func aMissingFileIsUnreadable() {
        let error = #expect(throws: FaultPlanError.self) { try FaultPlan.load(path: "/nonexistent/plan.yaml") }
        #expect(error?.code == .unreadable)
        #expect(error?.description.hasPrefix("/nonexistent/plan.yaml: error: cannot read the fault plan") == true)
    }
}
