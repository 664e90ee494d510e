/// A service spoken over the AWS JSON protocol: its regional endpoint's host name prefix.
package protocol JSONService {
    /// `dynamodb`, `sqs`, `states`, `ecs`: the regional endpoint is `https://<prefix>.<region>.amazonaws.com`.
    static var hostPrefix: String { get }
}

/// Where and how a JSON-protocol client (``DynamoDBClient``, ``SQSClient``,
/// ``StepFunctionsClient``, ``ECSClient``) talks to its service; each client's `Configuration`.
package struct JSONServiceConfiguration<Service: JSONService>: Sendable {
    /// Signing region. Default `us-east-1`.
    package var region: String
    /// Endpoint (scheme, host, port); default (nil) is `https://<service>.<region>.amazonaws.com`.
    package var endpoint: S3Endpoint?
    /// Per-attempt limit until the whole response is read. Default 30 s. (An SQS ReceiveMessage
    /// attempt gets its `WaitTimeSeconds` more.)
    package var requestTimeout: Duration
    /// Retry settings (ignored when a strategy is passed to the client). Default standard mode.
    package var retry: RetryConfiguration
    /// Largest response accepted. Default 16 MiB (a DynamoDB Query/Scan page is at most 1 MB).
    package var maxResponseBytes: Int

    package init(
        region: String = "us-east-1",
        endpoint: S3Endpoint? = nil,
        requestTimeout: Duration = .seconds(30),
        retry: RetryConfiguration = .standard,
        maxResponseBytes: Int = 16 << 20
    ) {
        self.region = region
        self.endpoint = endpoint
        self.requestTimeout = requestTimeout
        self.retry = retry
        self.maxResponseBytes = maxResponseBytes
    }

    package var resolvedEndpoint: S3Endpoint {
        self.endpoint ?? S3Endpoint(scheme: "https", host: "\(Service.hostPrefix).\(self.region).amazonaws.com")
    }
}
