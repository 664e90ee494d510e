import AWSWire
import Foundation

/// The ledger and the RetryQueue of one state directory, with their wire faces: opens
/// `<stateDirectory>/ledger.sqlite` (DynamoDB items) and `<stateDirectory>/queue.sqlite` (SQS),
/// creates the job table and the RetryQueue if missing, and builds the handlers and the
/// ``JSONProtocolRouter`` the endpoint mounts on `POST /` with `X-Amz-Target`.
///
/// ```swift
/// let data = try await PipelineDataServices(stateDirectory: dir, now: { Date() },
///                                           secretAccessKey: { $0 == id ? secret : nil })
/// // in the endpoint: if let t = headers["x-amz-target"], data.router.accepts(target: t) { … }
/// ```
package struct PipelineDataServices: Sendable {
    /// Default `csvstorm-retry`.
    package static let defaultRetryQueueName = "csvstorm-retry"

    package let itemStore: DynamoDBItemStore
    package let queueStore: QueueStore
    package let ledger: JobLedger
    package let dynamoDB: DynamoDBHandler
    package let sqs: SQSHandler
    package let router: JSONProtocolRouter
    package let retryQueueName: String

    /// - Parameters:
    ///   - now: the clock for TTL, timestamps and message visibility.
    ///   - secretAccessKey: secret of an access key id (nil: unknown); nil disables SigV4 checks.
    ///   - signatureClock: the wall clock SigV4 dates are checked against (real clients sign with
    ///     real time even when `now` is virtual). Default `Date()`.
    ///   - host: host:port for queue URLs when a request carries no Host header.
    ///   - ledgerFault: answered instead of a DynamoDB operation when non-nil (ledger throttling).
    package init(
        stateDirectory: String,
        now: @escaping @Sendable () -> Date,
        secretAccessKey: SigV4Verifier.SecretLookup?,
        signatureClock: @escaping @Sendable () -> Date = { Date() },
        host: String = "127.0.0.1:4566",
        jobTableName: String = JobLedger.defaultTableName,
        retryQueueName: String = PipelineDataServices.defaultRetryQueueName,
        recordTTL: Duration = .seconds(30 * 86_400),
        ledgerFault: (@Sendable (_ operation: String) -> DynamoDBServiceError?)? = nil
    ) async throws {
        try FileManager.default.createDirectory(atPath: stateDirectory, withIntermediateDirectories: true)
        self.itemStore = try DynamoDBItemStore(path: stateDirectory + "/ledger.sqlite", now: now)
        self.queueStore = try QueueStore(path: stateDirectory + "/queue.sqlite", now: now)
        self.ledger = JobLedger(store: self.itemStore, tableName: jobTableName, recordTTL: recordTTL, now: now)
        try await self.ledger.createTableIfNeeded()
        try await self.queueStore.createQueue(retryQueueName)
        self.retryQueueName = retryQueueName
        self.dynamoDB = DynamoDBHandler(store: self.itemStore, faultHook: ledgerFault)
        self.sqs = SQSHandler(store: self.queueStore, defaultHost: host)
        self.router = JSONProtocolRouter(dynamoDB: self.dynamoDB, sqs: self.sqs, secretAccessKey: secretAccessKey, now: signatureClock)
    }

    /// Puts an exhausted event on the RetryQueue (waking long polls).
    @discardableResult
    package func deadLetter(_ message: DeadLetterMessage) async throws -> String {
        try await self.sqs.sendDeadLetter(message, queue: self.retryQueueName)
    }
}
