import AsyncHTTPClient
import Foundation
import Logging
import NIOConcurrencyHelpers

/// A Step Functions client on the JSON 1.0 protocol (`X-Amz-Target: AWSStepFunctions.<Op>`),
/// signed with SigV4 (service `states`) and retried in standard mode. The harness starts
/// executions with it (`csvstorm redrive`) and reads their status, against the emulator or AWS.
package struct StepFunctionsClient: Sendable {
    /// The service's name in endpoint host names.
    package enum Service: JSONService {
        package static let hostPrefix = "states"
    }

    package typealias Configuration = JSONServiceConfiguration<Service>

    /// What DescribeExecution answered.
    package struct Execution: Sendable, Hashable {
        package var executionArn: String
        package var name: String?
        /// RUNNING | SUCCEEDED | FAILED | TIMED_OUT | ABORTED | PENDING_REDRIVE
        package var status: String
        package var startDate: Date?
        package var stopDate: Date?
        package var error: String?
        package var cause: String?
        package var input: String?
        package var output: String?
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
            httpClient: httpClient, endpoint: configuration.resolvedEndpoint, region: configuration.region, service: "states",
            targetPrefix: "AWSStepFunctions", signing: signing, retryStrategy: StandardRetryStrategy(configuration: configuration.retry),
            requestTimeout: configuration.requestTimeout, maxResponseBytes: configuration.maxResponseBytes, logger: logger
        )
    }

    /// Starts an execution; returns its ARN. `name` makes the start idempotent (AWS answers
    /// `ExecutionAlreadyExists` for a second start with another input).
    package func startExecution(stateMachineArn: String, input: String, name: String? = nil) async throws -> String {
        var body: [String: JSONValue] = ["stateMachineArn": .string(stateMachineArn), "input": .string(input)]
        if let name { body["name"] = .string(name) }
        let answer = try await self.transport.call("StartExecution", .object(body))
        guard let arn = answer["executionArn"]?.stringValue else {
            throw AWSError(kind: .invalidResponse, operation: "StartExecution", statusCode: 200, message: "StartExecution answered without executionArn")
        }
        return arn
    }

    package func describeExecution(_ executionArn: String) async throws -> Execution {
        let answer = try await self.transport.call("DescribeExecution", .object(["executionArn": .string(executionArn)]))
        func date(_ key: String) -> Date? {
            if case .number(let seconds)? = answer[key] { return Date(timeIntervalSince1970: seconds) }
            return nil
        }
        return Execution(
            executionArn: answer["executionArn"]?.stringValue ?? executionArn, name: answer["name"]?.stringValue,
            status: answer["status"]?.stringValue ?? "", startDate: date("startDate"), stopDate: date("stopDate"),
            error: answer["error"]?.stringValue, cause: answer["cause"]?.stringValue, input: answer["input"]?.stringValue,
            output: answer["output"]?.stringValue
        )
    }
}
