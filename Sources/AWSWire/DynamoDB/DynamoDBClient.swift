import AsyncHTTPClient
import Foundation
import Logging
import NIOConcurrencyHelpers

/// A DynamoDB client (JSON 1.0 protocol, `X-Amz-Target: DynamoDB_20120810.<Op>`) on
/// AsyncHTTPClient: every attempt signed with SigV4 (service `dynamodb`, standard mode), retried
/// through one shared ``StandardRetryStrategy`` and counted in its ``RetryStatistics``.
/// Service errors are ``AWSError``s whose `code` is the part of `__type` after `#`
/// (e.g. ``AWSError/Code/conditionalCheckFailed``).
///
/// The caller owns the `HTTPClient`. Works unchanged against AWS (endpoint
/// `https://dynamodb.<region>.amazonaws.com`), moto and the emulator.
///
/// ```swift
/// let ddb = DynamoDBClient(httpClient: http, credentials: creds,
///                          configuration: .init(endpoint: try S3Endpoint(url: "http://127.0.0.1:4566")))
/// try await ddb.putItem(table: "jobs", item: item, condition: "attribute_not_exists(jobId)")
/// ```
package struct DynamoDBClient: Sendable {
    /// The service's name in endpoint host names.
    package enum Service: JSONService {
        package static let hostPrefix = "dynamodb"
    }

    package typealias Configuration = JSONServiceConfiguration<Service>

    package let configuration: Configuration
    package var retryStrategy: StandardRetryStrategy { self.transport.retryStrategy }
    package var retryStatistics: RetryStatistics { self.transport.retryStrategy.statistics }
    let transport: JSONProtocolTransport

    package init(
        httpClient: HTTPClient,
        credentials: AWSCredentials,
        configuration: Configuration = Configuration(),
        retryStrategy: StandardRetryStrategy? = nil,
        logger: Logger? = nil
    ) {
        self.init(httpClient: httpClient, signing: .fixed(credentials), configuration: configuration, retryStrategy: retryStrategy, logger: logger)
    }

    /// Credentials fetched per attempt from `credentialsProvider` (e.g. a ``CachedCredentialsProvider``).
    package init(
        httpClient: HTTPClient,
        configuration: Configuration = Configuration(),
        retryStrategy: StandardRetryStrategy? = nil,
        logger: Logger? = nil,
        credentialsProvider: @escaping @Sendable () async throws -> AWSCredentials
    ) {
        self.init(
            httpClient: httpClient, signing: .provider(credentialsProvider, NIOLockedValueBox(nil)),
            configuration: configuration, retryStrategy: retryStrategy, logger: logger
        )
    }

    private init(httpClient: HTTPClient, signing: JSONSigningSource, configuration: Configuration, retryStrategy: StandardRetryStrategy?, logger: Logger?) {
        self.configuration = configuration
        self.transport = JSONProtocolTransport(
            httpClient: httpClient,
            endpoint: configuration.resolvedEndpoint,
            region: configuration.region,
            service: "dynamodb",
            targetPrefix: "DynamoDB_20120810",
            signing: signing,
            retryStrategy: retryStrategy ?? StandardRetryStrategy(configuration: configuration.retry),
            requestTimeout: configuration.requestTimeout,
            maxResponseBytes: configuration.maxResponseBytes,
            logger: logger
        )
    }

    /// Any operation with a raw JSON body (for operations without a typed method).
    package func call(_ operation: String, _ body: JSONValue) async throws -> JSONValue {
        try await self.transport.call(operation, body)
    }
}

/// What `ReturnValues` asks for.
package struct DynamoDBReturnValues: RawRepresentable, Sendable, Hashable {
    package var rawValue: String
    package init(rawValue: String) { self.rawValue = rawValue }
    package static let none = Self(rawValue: "NONE")
    package static let allOld = Self(rawValue: "ALL_OLD")
    package static let updatedOld = Self(rawValue: "UPDATED_OLD")
    package static let allNew = Self(rawValue: "ALL_NEW")
    package static let updatedNew = Self(rawValue: "UPDATED_NEW")
}

/// One page of a Query or Scan.
package struct DynamoDBPage: Sendable, Hashable {
    package var items: [DynamoDBItem]
    /// Pass as `exclusiveStartKey` for the next page; nil on the last page.
    package var lastEvaluatedKey: DynamoDBItem?
    package var count: Int
    package var scannedCount: Int
}

/// The parts of `DescribeTable` the harness uses.
package struct DynamoDBTableDescription: Sendable, Hashable {
    package var tableName: String
    package var tableStatus: String
    package var tableArn: String?
    /// Attribute name and `HASH` / `RANGE`.
    package var keySchema: [(name: String, keyType: String)]
    package var itemCount: Int?

    package var partitionKey: String? { self.keySchema.first { $0.keyType == "HASH" }?.name }
    package var sortKey: String? { self.keySchema.first { $0.keyType == "RANGE" }?.name }

    package static func == (a: Self, b: Self) -> Bool {
        a.tableName == b.tableName && a.tableStatus == b.tableStatus && a.tableArn == b.tableArn && a.itemCount == b.itemCount
            && a.keySchema.map(\.name) == b.keySchema.map(\.name) && a.keySchema.map(\.keyType) == b.keySchema.map(\.keyType)
    }

    package func hash(into hasher: inout Hasher) { hasher.combine(self.tableName) }

    init(json: JSONValue, operation: String) throws {
        guard let t = json["Table"] ?? json["TableDescription"], let name = t["TableName"]?.stringValue else {
            throw AWSError(kind: .invalidResponse, operation: operation, message: "no Table in the response")
        }
        self.tableName = name
        self.tableStatus = t["TableStatus"]?.stringValue ?? "ACTIVE"
        self.tableArn = t["TableArn"]?.stringValue
        self.itemCount = t["ItemCount"]?.intValue
        self.keySchema = (t["KeySchema"]?.arrayValue ?? []).compactMap { e in
            guard let n = e["AttributeName"]?.stringValue, let k = e["KeyType"]?.stringValue else { return nil }
            return (name: n, keyType: k)
        }
    }
}
