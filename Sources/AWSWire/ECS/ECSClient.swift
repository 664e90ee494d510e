import AsyncHTTPClient
import Foundation
import Logging
import NIOConcurrencyHelpers

/// An ECS client on the JSON 1.1 protocol (`X-Amz-Target: AmazonEC2ContainerServiceV20141113.<Op>`),
/// signed with SigV4 (service `ecs`) and retried in standard mode.
///
/// The harness uses it to act on a deployed pipeline's processor tasks: list the running tasks
/// of the processor's family and stop some of them (`task-failure` against an endpoint target,
/// see docs/faults.md). Only what that needs is here: ListTasks, DescribeTasks, StopTask.
package struct ECSClient: Sendable {
    /// The service's name in endpoint host names.
    package enum Service: JSONService {
        package static let hostPrefix = "ecs"
    }

    package typealias Configuration = JSONServiceConfiguration<Service>

    /// The fields of an ECS `Task` the harness reads.
    package struct Task: Sendable, Hashable {
        package var taskArn: String
        /// PROVISIONING | PENDING | ACTIVATING | RUNNING | DEACTIVATING | STOPPING | DEPROVISIONING | STOPPED
        package var lastStatus: String?
        /// RUNNING | PENDING | STOPPED
        package var desiredStatus: String?
        package var stoppedReason: String?
        /// `UserInitiated` for a StopTask, `TaskFailedToStart`, `EssentialContainerExited`, …
        package var stopCode: String?
        package var taskDefinitionArn: String?
        /// `family:<name>` or `service:<name>`.
        package var group: String?
        package var startedBy: String?
        /// Environment variables of the task's container overrides, by container name then
        /// variable name (a Step Functions `runTask.sync` passes the object key this way).
        package var environmentOverrides: [String: [String: String]]
        /// Exit codes of the containers that have one, by container name.
        package var exitCodes: [String: Int]
        package var createdAt: Date?
        package var startedAt: Date?
        package var stoppedAt: Date?

        init(_ value: JSONValue) {
            func date(_ key: String) -> Date? {
                if case .number(let seconds)? = value[key] { return Date(timeIntervalSince1970: seconds) }
                return nil
            }
            self.taskArn = value["taskArn"]?.stringValue ?? ""
            self.lastStatus = value["lastStatus"]?.stringValue
            self.desiredStatus = value["desiredStatus"]?.stringValue
            self.stoppedReason = value["stoppedReason"]?.stringValue
            self.stopCode = value["stopCode"]?.stringValue
            self.taskDefinitionArn = value["taskDefinitionArn"]?.stringValue
            self.group = value["group"]?.stringValue
            self.startedBy = value["startedBy"]?.stringValue
            self.createdAt = date("createdAt")
            self.startedAt = date("startedAt")
            self.stoppedAt = date("stoppedAt")
            var environment: [String: [String: String]] = [:]
            if case .array(let overrides)? = value["overrides"]?["containerOverrides"] {
                for override in overrides {
                    guard let name = override["name"]?.stringValue, case .array(let variables)? = override["environment"] else { continue }
                    for variable in variables {
                        if let key = variable["name"]?.stringValue, let value = variable["value"]?.stringValue {
                            environment[name, default: [:]][key] = value
                        }
                    }
                }
            }
            self.environmentOverrides = environment
            var exitCodes: [String: Int] = [:]
            if case .array(let containers)? = value["containers"] {
                for container in containers {
                    if let name = container["name"]?.stringValue, case .number(let code)? = container["exitCode"] {
                        exitCodes[name] = Int(code)
                    }
                }
            }
            self.exitCodes = exitCodes
        }

        /// The value of environment variable `name` in any container's overrides.
        package func environmentValue(_ name: String) -> String? {
            for container in self.environmentOverrides.keys.sorted() {
                if let value = self.environmentOverrides[container]?[name] { return value }
            }
            return nil
        }
    }

    /// A task DescribeTasks could not describe.
    package struct Failure: Sendable, Hashable {
        package var arn: String?
        /// `MISSING`, …
        package var reason: String?
        package var detail: String?
    }

    package let configuration: Configuration
    package var retryStatistics: RetryStatistics { self.transport.retryStrategy.statistics }
    let transport: JSONProtocolTransport

    package init(httpClient: HTTPClient, credentials: AWSCredentials, configuration: Configuration = Configuration(), logger: Logger? = nil) {
        self.init(httpClient: httpClient, signing: .fixed(credentials), configuration: configuration, logger: logger)
    }

    package init(
        httpClient: HTTPClient, configuration: Configuration = Configuration(), logger: Logger? = nil,
        credentialsProvider: @escaping @Sendable () async throws -> AWSCredentials
    ) {
        self.init(httpClient: httpClient, signing: .provider(credentialsProvider, NIOLockedValueBox(nil)), configuration: configuration, logger: logger)
    }

    private init(httpClient: HTTPClient, signing: JSONSigningSource, configuration: Configuration, logger: Logger?) {
        self.configuration = configuration
        self.transport = JSONProtocolTransport(
            httpClient: httpClient, endpoint: configuration.resolvedEndpoint, region: configuration.region, service: "ecs",
            targetPrefix: "AmazonEC2ContainerServiceV20141113", signing: signing, retryStrategy: StandardRetryStrategy(configuration: configuration.retry),
            requestTimeout: configuration.requestTimeout, maxResponseBytes: configuration.maxResponseBytes, logger: logger,
            contentType: JSONProtocolTransport.contentType11
        )
    }

    /// One page of task ARNs (ListTasks); `nextToken` continues, nil when there is no more.
    package func listTasks(
        cluster: String, family: String? = nil, desiredStatus: String? = "RUNNING", maxResults: Int = 100, nextToken: String? = nil
    ) async throws -> (taskArns: [String], nextToken: String?) {
        var body: [String: JSONValue] = ["cluster": .string(cluster), "maxResults": .number(Double(min(100, max(1, maxResults))))]
        if let family { body["family"] = .string(family) }
        if let desiredStatus { body["desiredStatus"] = .string(desiredStatus) }
        if let nextToken { body["nextToken"] = .string(nextToken) }
        let answer = try await self.transport.call("ListTasks", .object(body))
        var arns: [String] = []
        if case .array(let values)? = answer["taskArns"] { arns = values.compactMap(\.stringValue) }
        let next = answer["nextToken"]?.stringValue
        return (arns, next?.isEmpty == false ? next : nil)
    }

    /// Every task ARN of `family` in `desiredStatus`, following `nextToken` for at most
    /// `maxPages` pages (a bound, so a misbehaving endpoint cannot loop it forever).
    package func allTaskArns(cluster: String, family: String?, desiredStatus: String? = "RUNNING", maxPages: Int = 100) async throws -> [String] {
        var arns: [String] = []
        var token: String?
        for _ in 0..<max(1, maxPages) {
            let page = try await self.listTasks(cluster: cluster, family: family, desiredStatus: desiredStatus, nextToken: token)
            arns += page.taskArns
            guard let next = page.nextToken else { break }
            token = next
        }
        return arns
    }

    /// DescribeTasks for at most 100 tasks (the API's limit).
    package func describeTasks(cluster: String, tasks: [String]) async throws -> (tasks: [Task], failures: [Failure]) {
        precondition(tasks.count <= 100, "DescribeTasks takes at most 100 tasks")
        let body: JSONValue = .object(["cluster": .string(cluster), "tasks": .array(tasks.map { .string($0) })])
        let answer = try await self.transport.call("DescribeTasks", body)
        var described: [Task] = []
        if case .array(let values)? = answer["tasks"] { described = values.map(Task.init) }
        var failures: [Failure] = []
        if case .array(let values)? = answer["failures"] {
            failures = values.map { Failure(arn: $0["arn"]?.stringValue, reason: $0["reason"]?.stringValue, detail: $0["detail"]?.stringValue) }
        }
        return (described, failures)
    }

    /// Stops a task (StopTask): ECS sends the containers SIGTERM, then SIGKILL after the
    /// container's stop timeout; the task ends `STOPPED` with `stopCode` `UserInitiated` and
    /// this `reason` (at most 255 characters, as ECS allows). A `runTask.sync` state sees the
    /// task fail.
    @discardableResult
    package func stopTask(cluster: String, task: String, reason: String) async throws -> Task {
        let body: JSONValue = .object(["cluster": .string(cluster), "task": .string(task), "reason": .string(String(reason.prefix(255)))])
        let answer = try await self.transport.call("StopTask", body)
        guard let task = answer["task"], task["taskArn"]?.stringValue != nil else {
            throw AWSError(kind: .invalidResponse, operation: "StopTask", statusCode: 200, message: "StopTask answered without a task")
        }
        return Task(task)
    }
}
