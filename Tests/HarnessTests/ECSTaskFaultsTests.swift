import TestSupport
import AWSWire
import AsyncHTTPClient
import Faults
import Foundation
import Logging
import Testing

@testable import Harness

/// `task-failure` against a deployed pipeline: csvstorm's ECS client (JSON 1.1, SigV4) lists and
/// stops processor tasks on moto_server's ECS API; the tasks are started, and their state read
/// back, by boto3 (Tests/python/ecs_fixture.py), a client no one here wrote.
@Suite(
    "Task faults through ECS, against moto",
    .enabled(if: MotoServer.isAvailable, MotoServer.unavailableReason),
    .serialized,
    .timeLimit(.minutes(3))
)
struct ECSTaskFaultsMotoTests {
    static let cluster = "csv-pipeline"
    static let family = "csv-processor"

    static func client(_ http: HTTPClient, _ moto: MotoServer) throws -> ECSClient {
        ECSClient(
            httpClient: http, credentials: AWSCredentials(accessKeyId: "test", secretAccessKey: "test"),
            configuration: .init(endpoint: try S3Endpoint(url: moto.endpoint), retry: RetryConfiguration(baseDelay: .milliseconds(5), jitterSeed: 1))
        )
    }

    /// Runs Tests/python/ecs_fixture.py and decodes its JSON answer.
    static func fixture<T: Decodable>(_ moto: MotoServer, _ arguments: [String], as: T.Type) async throws -> T {
        let python = try #require(MotoServer.python)
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("python/ecs_fixture.py").path
        let result = try await runChildProcess(
            python, [script, arguments[0], moto.endpoint, Self.cluster] + arguments.dropFirst(), timeout: .seconds(120)
        )
        guard result.status == 0 else {
            throw FixtureError("ecs_fixture.py \(arguments) exited \(result.status): \(String(decoding: result.stderr.suffix(2_000), as: UTF8.self))")
        }
        return try JSONDecoder().decode(T.self, from: result.stdout)
    }

    struct Described: Decodable, Equatable {
        var lastStatus: String?
        var desiredStatus: String?
        var stopCode: String?
        var stoppedReason: String?
    }

    @Test("ListTasks, DescribeTasks (with the key override) and StopTask, as boto3 then sees them")
    func client() async throws {
        try await withMotoServer { moto in
            try await withTestHTTPClient { http in
                let arns = try await Self.fixture(moto, ["run", Self.family, "in/a.csv", "in/b.csv", "in/c.csv"], as: [String].self)
                #expect(arns.count == 3)
                let ecs = try Self.client(http, moto)
                #expect(Set(try await ecs.allTaskArns(cluster: Self.cluster, family: Self.family)) == Set(arns))
                #expect(try await ecs.allTaskArns(cluster: Self.cluster, family: "another-family").isEmpty)

                let described = try await ecs.describeTasks(cluster: Self.cluster, tasks: arns)
                #expect(Set(described.tasks.compactMap { $0.environmentValue("S3_KEY") }) == ["in/a.csv", "in/b.csv", "in/c.csv"])
                // (moto moves lastStatus along on each describe; desiredStatus is what a RUNNING
                // list filters on.)
                #expect(described.tasks.allSatisfy { $0.desiredStatus == "RUNNING" })

                let stopped = try await ecs.stopTask(cluster: Self.cluster, task: arns[1], reason: "csvstorm test")
                #expect(stopped.taskArn == arns[1])
                #expect(stopped.desiredStatus == "STOPPED")
                let seen = try await Self.fixture(moto, ["describe"] + arns, as: [String: Described].self)
                #expect(seen[arns[1]]?.lastStatus == "STOPPED")
                #expect(seen[arns[1]]?.stoppedReason == "csvstorm test")
                #expect(seen[arns[0]]?.desiredStatus == "RUNNING" && seen[arns[2]]?.desiredStatus == "RUNNING")
                #expect(Set(try await ecs.allTaskArns(cluster: Self.cluster, family: Self.family)) == [arns[0], arns[2]])

                // An unknown cluster is an error with ECS's code, not an empty answer.
                await #expect(throws: AWSError.self) { _ = try await ecs.stopTask(cluster: "no-such-cluster", task: arns[0], reason: "x") }
            }
        }
    }

    @Test("A task-failure selecting keys stops exactly the selected running tasks, once, and records it")
    func faultsStopSelectedTasks() async throws {
        let plan = try FaultPlan(yaml: """
            seed: 1
            faults:
              - kind: task-failure
                window: always
                select: {key: "in/b*"}
            """, file: "plan.yaml")
        try await withMotoServer { moto in
            try await withTestHTTPClient { http in
                let arns = try await Self.fixture(moto, ["run", Self.family, "in/a.csv", "in/b1.csv", "in/b2.csv", "out/b.csv"], as: [String].self)
                let injector = FaultInjector(plan: plan)
                let faults = ECSTaskFaults(
                    client: try Self.client(http, moto), target: ECSTaskTarget(cluster: Self.cluster, family: Self.family, keyVariable: "S3_KEY"),
                    rawBucket: "raw", injector: injector, logger: Logger(label: "test")
                ) { .seconds(1) }
                #expect(faults.isActive(at: .seconds(1)))
                let stopped = try await faults.sweep()
                #expect(Set(stopped.compactMap(\.key)) == ["in/b1.csv", "in/b2.csv"])
                #expect(stopped.allSatisfy { $0.kind == .taskFailure && $0.faultIndex == 0 })
                // A second poll decides no task twice.
                #expect(try await faults.sweep().isEmpty)

                let seen = try await Self.fixture(moto, ["describe"] + arns, as: [String: Described].self)
                let stoppedArns = Set(stopped.map(\.taskArn))
                for arn in arns {
                    if stoppedArns.contains(arn) {
                        #expect(seen[arn]?.lastStatus == "STOPPED")
                        #expect(seen[arn]?.stoppedReason?.contains("csvstorm fault plan, fault 0: task-failure") == true, "\(String(describing: seen[arn]))")
                    } else {
                        #expect(seen[arn]?.desiredStatus == "RUNNING", "\(arn): \(String(describing: seen[arn]))")
                    }
                }
                let injected = injector.records.filter { $0.event == .injected }
                #expect(injected.count == 2)
                #expect(Set(injected.compactMap(\.key)) == ["in/b1.csv", "in/b2.csv"])
            }
        }
    }
}

/// Which fault plans can run against an endpoint target (pure).
@Suite("Fault plans against an endpoint target")
struct EndpointFaultPlanTests {
    static let ecs = ECSTaskTarget(cluster: "c", family: "f")

    static func plan(_ faults: String) throws -> FaultPlan {
        try FaultPlan(yaml: "faults:\n" + faults, file: "scenario.yaml")
    }

    @Test("Task faults with ECS configured are accepted")
    func accepted() throws {
        let plan = try Self.plan("  - {kind: task-failure, window: always, probability: 0.5}\n  - {kind: task-crash, window: always, every: 3}\n")
        #expect(ECSTaskFaults.unsupported(plan, ecs: Self.ecs, file: "scenario.yaml") == nil)
        var withKeys = Self.ecs
        withKeys.keyVariable = "S3_KEY"
        let selecting = try Self.plan("  - {kind: task-failure, window: always, select: {key: 'in/*'}}\n")
        #expect(ECSTaskFaults.unsupported(selecting, ecs: withKeys, file: "scenario.yaml") == nil)
    }

    @Test("Kinds that change the emulated pipeline are refused at their line, naming what acts")
    func emulatorOnlyKinds() throws {
        let plan = try Self.plan("  - {kind: task-failure, window: always}\n  - {kind: duplicate-delivery, window: always}\n")
        let error = try #require(ECSTaskFaults.unsupported(plan, ecs: Self.ecs, file: "scenario.yaml"))
        #expect(error.line == 3)
        #expect(error.description.contains("duplicate-delivery"))
        #expect(error.validChoices == ["task-crash", "task-failure"])
    }

    @Test("A task fault without target.endpoint.ecs, or selecting keys without key-variable, is refused")
    func missingConfiguration() throws {
        let plan = try Self.plan("  - {kind: task-failure, window: always}\n")
        #expect(ECSTaskFaults.unsupported(plan, ecs: nil, file: "scenario.yaml")?.code == .missingKey)
        let selecting = try Self.plan("  - {kind: task-failure, window: always, select: {key: 'in/*'}}\n")
        #expect(ECSTaskFaults.unsupported(selecting, ecs: Self.ecs, file: "scenario.yaml")?.code == .unmatchableSelector)
    }
}
