import AWSWire
import ArgumentParser
import AsyncHTTPClient
import Foundation
import Harness

struct Redrive: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Re-submit dead-lettered events from the RetryQueue to the workflow (StartExecution).",
        discussion: """
        Receives the RetryQueue's messages (SQS), starts one execution of the state machine per \
        message with the event as input (Step Functions StartExecution, named redrive-<messageId> so \
        that a message is never started twice), and deletes each submitted message. Prints one line \
        per message: result, object key, execution ARN. Works against the emulator and a deployed \
        pipeline alike.

        Exit codes: 0 all redriven, 104 invalid arguments, 107 a start failed.

        Examples:
          csvstorm redrive                                   # the local emulator on :4566
          csvstorm redrive --endpoint-url none --queue my-retry-queue \\
              --state-machine-arn arn:aws:states:eu-west-1:123456789012:stateMachine:ingest
        """
    )

    @Option(name: .customLong("endpoint-url"), help: "Endpoint serving SQS and Step Functions; 'none' for AWS.")
    var endpointURL = "http://127.0.0.1:4566"

    @Option(help: "The RetryQueue's name (or give --queue-url).")
    var queue = "csvstorm-retry"

    @Option(name: .customLong("queue-url"), help: "The RetryQueue's URL (skips GetQueueUrl).")
    var queueURL: String?

    @Option(name: .customLong("state-machine-arn"), help: "The state machine to start.")
    var stateMachineArn = "arn:aws:states:us-east-1:000000000000:stateMachine:csvstorm-ingest"

    @Option(help: "Redrive at most this many messages.")
    var limit = 10_000

    @Flag(help: "Receive and list the messages, start nothing, release them.")
    var dryRun = false

    @Option(help: "Signing region (default: AWS_REGION, the profile's region, or us-east-1).")
    var region: String?

    @Option(help: "Profile of the shared credentials/config files.")
    var profile: String?

    func validate() throws {
        guard self.limit >= 1 else { throw ValidationError("--limit must be at least 1") }
        guard self.stateMachineArn.hasPrefix("arn:") else { throw ValidationError("--state-machine-arn must be an ARN (arn:aws:states:…)") }
    }

    func run() async throws {
        var environment = ProcessInfo.processInfo.environment
        let local = self.endpointURL != "none"
        if local, environment["AWS_ACCESS_KEY_ID"] == nil, self.profile == nil {
            // The emulator's default credentials, so that `csvstorm redrive` just works locally.
            environment["AWS_ACCESS_KEY_ID"] = "csvstorm"
            environment["AWS_SECRET_ACCESS_KEY"] = "csvstorm-secret"
        }
        if let profile { environment["AWS_PROFILE"] = profile }
        let chain = CredentialsChain(environment: environment)
        let region: String
        let endpoint: S3Endpoint?
        do {
            region = try self.region ?? chain.resolveRegion() ?? "us-east-1"
            endpoint = local ? try S3Endpoint(url: self.endpointURL) : nil
        } catch {
            throw CommandFailure(message: "\(error)", exitCode: ExitCodes.invalidInput)
        }
        let provider = CachedCredentialsProvider(chain: chain)
        let http = HTTPClient(eventLoopGroupProvider: .singleton)
        let result: Swift.Result<[Redriver.Action], any Error>
        do {
            let sqs = SQSClient(httpClient: http, configuration: .init(region: region, endpoint: endpoint)) { try await provider.credentials() }
            let states = StepFunctionsClient(httpClient: http, configuration: .init(region: region, endpoint: endpoint)) { try await provider.credentials() }
            let queueURL: String
            if let given = self.queueURL { queueURL = given } else { queueURL = try await sqs.getQueueUrl(self.queue) }
            let redriver = Redriver(sqs: sqs, stepFunctions: states, queueURL: queueURL, stateMachineArn: self.stateMachineArn)
            result = .success(try await redriver.redrive(limit: self.limit, dryRun: self.dryRun) { action in
                print([action.result.rawValue, action.objectKey ?? "-", action.executionArn ?? "-", action.error ?? ""].joined(separator: "\t"))
            })
        } catch {
            result = .failure(error)
        }
        try await http.shutdown()
        switch result {
        case .failure(let error):
            throw CommandFailure(message: "redrive failed: \(error)", exitCode: ExitCodes.internalError)
        case .success(let actions):
            let failed = actions.filter { $0.result == .failed }.count
            print("redrive: \(actions.count) message(s): \(actions.filter { $0.result == .started }.count) started, \(actions.filter { $0.result == .alreadyStarted }.count) already started, \(failed) failed\(self.dryRun ? " (dry run)" : "")")
            if failed > 0 { throw CommandFailure(message: "\(failed) message(s) could not be redriven", exitCode: ExitCodes.internalError) }
        }
    }
}
