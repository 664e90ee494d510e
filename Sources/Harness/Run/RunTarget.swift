import AWSWire
import AsyncHTTPClient
import Emulator
import Foundation
import SyntheticData

/// Where a run sends its uploads and reads the pipeline's state: the same four clients
/// (S3, DynamoDB, SQS, and for the emulator its `/_csvstorm` face) whether the pipeline is the
/// embedded emulator or a deployed one.
package struct RunTarget: Sendable {
    package var s3Configuration: S3Client.Configuration
    package var dynamoDBConfiguration: DynamoDBClient.Configuration
    package var sqsConfiguration: SQSClient.Configuration
    package var credentials: @Sendable () async throws -> AWSCredentials
    package var buckets: Scenario.Buckets
    package var jobTable: String
    /// A queue name or URL.
    package var retryQueue: String
    /// `http://127.0.0.1:PORT` of an embedded emulator (its `/_csvstorm` API); nil otherwise.
    package var controlURL: String?
    /// The smallest multipart part the endpoint accepts.
    package var minimumPartSize: Int

    /// The clients for the emulator started by the run.
    package static func emulated(_ endpoint: EmulatorEndpoint, minimumPartSize: Int) throws -> RunTarget {
        let url = try S3Endpoint(url: endpoint.url)
        let credentials = AWSCredentials(accessKeyId: endpoint.credentials.accessKeyId, secretAccessKey: endpoint.credentials.secretAccessKey)
        let pipeline = endpoint.pipeline?.configuration
        return RunTarget(
            s3Configuration: .init(region: endpoint.region, endpoint: url, addressingStyle: .path),
            dynamoDBConfiguration: .init(region: endpoint.region, endpoint: url),
            sqsConfiguration: .init(region: endpoint.region, endpoint: url),
            credentials: { credentials },
            buckets: .init(raw: endpoint.buckets.raw, processed: endpoint.buckets.processed, failed: endpoint.buckets.failed),
            jobTable: pipeline?.jobTableName ?? JobLedger.defaultTableName,
            retryQueue: pipeline?.retryQueueName ?? PipelineDataServices.defaultRetryQueueName,
            controlURL: endpoint.url, minimumPartSize: minimumPartSize
        )
    }

    /// The clients for a deployed pipeline (credentials from the chain and the profile).
    package static func deployed(_ target: Scenario.Endpoint) throws -> RunTarget {
        var environment = ProcessInfo.processInfo.environment
        if let profile = target.profile { environment["AWS_PROFILE"] = profile }
        let provider = CachedCredentialsProvider(chain: CredentialsChain(environment: environment))
        var s3 = S3Client.Configuration(region: target.region)
        if let url = target.s3 {
            s3.endpoint = try S3Endpoint(url: url)
            s3.addressingStyle = .path
        }
        return RunTarget(
            s3Configuration: s3,
            dynamoDBConfiguration: .init(region: target.region, endpoint: try target.dynamodb.map { try S3Endpoint(url: $0) }),
            sqsConfiguration: .init(region: target.region, endpoint: try target.sqs.map { try S3Endpoint(url: $0) }),
            credentials: { try await provider.credentials() },
            buckets: target.buckets, jobTable: target.jobTable, retryQueue: target.retryQueue, controlURL: nil,
            minimumPartSize: S3MultipartLimits.minimumPartSize
        )
    }
}

extension Scenario.Emulated {
    /// The emulator's pipeline configuration for these knobs.
    package func pipelineConfiguration(schema: Schema, defaultSeed: UInt64, faults: PipelineFaultHooks) -> PipelineConfiguration {
        func distribution(_ d: Scenario.DurationDistribution) -> PipelineConfiguration.DurationDistribution {
            switch d {
            case .fixed(let value): return .fixed(value.secondsValue)
            case .uniform(let low, let high): return .uniform(low.secondsValue, high.secondsValue)
            case .logNormal(let median, let p99): return .logNormal(median: median.secondsValue, p99: p99.secondsValue)
            }
        }
        func retrier(_ errors: [String], _ rule: Scenario.RetryRule) -> StatesRetrier {
            StatesRetrier(errorEquals: errors, intervalSeconds: rule.interval.secondsValue, backoffRate: rule.backoffRate, maxAttempts: rule.maxAttempts)
        }
        var definition = JobWorkflow.Definition.standard
        definition.taskRetriers = [
            retrier(["ECS.AmazonECSException", "ECS.ThrottlingException"], self.workflow.launchRetry),
            retrier(["States.TaskFailed"], self.workflow.taskRetry),
        ]
        var faults = faults
        if self.processor.dropOutput > 0 {
            let fraction = self.processor.dropOutput
            let seed = self.seed ?? defaultSeed
            let injected = faults.task
            faults.task = { bucket, key in
                if let fault = injected?(bucket, key) { return fault }
                // A seeded choice by key: the same files lose their output on every run.
                var hasher = FNV1a(seed: seed)
                hasher.add(key)
                return Double(hasher.value >> 11) * 0x1.0p-53 < fraction ? .dropOutput : nil
            }
        }
        return PipelineConfiguration(
            eventRetryPolicy: EventRetryPolicy(maximumRetryAttempts: self.events.maxRetryAttempts, maximumEventAgeSeconds: Int(self.events.maxEventAge.secondsValue)),
            duplicateRate: self.events.duplicateRate,
            workflow: definition,
            launcher: .init(
                burst: self.tasks.launchBurst, refillPerSecond: self.tasks.launchRefillPerSecond, maxRunningTasks: self.tasks.maxRunning,
                launchLatency: distribution(self.tasks.launchLatency)
            ),
            processor: .init(schemas: [schema], duration: distribution(self.processor.duration)),
            timeScale: self.timeScale,
            seed: self.seed ?? defaultSeed,
            faults: faults
        )
    }
}


/// FNV-1a over UTF-8, seeded: a stable hash for seeded per-key choices.
struct FNV1a {
    private(set) var value: UInt64

    init(seed: UInt64) { self.value = 0xcbf2_9ce4_8422_2325 ^ seed }

    mutating func add(_ text: String) {
        for byte in text.utf8 {
            self.value ^= UInt64(byte)
            self.value &*= 0x0000_0100_0000_01B3
        }
    }
}
