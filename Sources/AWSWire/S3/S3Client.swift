import AsyncHTTPClient
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1

/// An S3 client on AsyncHTTPClient: multipart uploads, objects and listings, every request
/// signed with SigV4, every attempt made through one shared ``StandardRetryStrategy`` and
/// counted in its ``RetryStatistics``.
///
/// The caller owns the `HTTPClient` (and shuts it down); the client never creates one.
/// A cheap `Sendable` value: copies share the retry strategy (token bucket and counters).
///
/// ```swift
/// let s3 = try S3Client(
///     httpClient: http,
///     credentials: AWSCredentials(accessKeyId: "test", secretAccessKey: "test"),
///     configuration: .init(endpoint: S3Endpoint(url: "http://127.0.0.1:9000"), addressingStyle: .path)
/// )
/// let upload = try await s3.createMultipartUpload(bucket: "raw", key: "a.csv")
/// ```
package struct S3Client: Sendable {
    package let configuration: Configuration
    /// The retry strategy every request goes through (shared by copies of this client).
    package let retryStrategy: StandardRetryStrategy
    /// Counters of every attempt and retry of this client.
    package var retryStatistics: RetryStatistics { self.retryStrategy.statistics }

    let httpClient: HTTPClient
    let endpoint: S3Endpoint
    let signing: SigningSource
    let logger: Logger?

    /// - Parameters:
    ///   - httpClient: the caller's client; not shut down by this one.
    ///   - credentials: static credentials.
    ///   - retryStrategy: pass one to share a token bucket and counters between clients;
    ///     default: a new one from `configuration.retry`.
    ///   - logger: passed to AsyncHTTPClient for request-level logging; nil (default) logs nothing.
    package init(
        httpClient: HTTPClient,
        credentials: AWSCredentials,
        configuration: Configuration = Configuration(),
        retryStrategy: StandardRetryStrategy? = nil,
        logger: Logger? = nil
    ) {
        self.init(
            httpClient: httpClient,
            signing: .fixed(SigV4Signer(credentials: credentials, region: configuration.region, service: "s3", mode: .s3)),
            configuration: configuration,
            retryStrategy: retryStrategy,
            logger: logger
        )
    }

    /// Credentials fetched per attempt from `credentialsProvider` (e.g. a refreshing chain);
    /// the signer is rebuilt only when the credentials change.
    package init(
        httpClient: HTTPClient,
        configuration: Configuration = Configuration(),
        retryStrategy: StandardRetryStrategy? = nil,
        logger: Logger? = nil,
        credentialsProvider: @escaping @Sendable () async throws -> AWSCredentials
    ) {
        self.init(
            httpClient: httpClient,
            signing: .provider(credentialsProvider, NIOLockedValueBox(nil)),
            configuration: configuration,
            retryStrategy: retryStrategy,
            logger: logger
        )
    }

    /// Credentials from a ``CachedCredentialsProvider`` (the credentials chain, refreshed
    /// before expiry).
    package init(
        httpClient: HTTPClient,
        credentialsProvider: CachedCredentialsProvider,
        configuration: Configuration = Configuration(),
        retryStrategy: StandardRetryStrategy? = nil,
        logger: Logger? = nil
    ) {
        self.init(
            httpClient: httpClient,
            configuration: configuration,
            retryStrategy: retryStrategy,
            logger: logger,
            credentialsProvider: { try await credentialsProvider.credentials() }
        )
    }

    private init(
        httpClient: HTTPClient,
        signing: SigningSource,
        configuration: Configuration,
        retryStrategy: StandardRetryStrategy?,
        logger: Logger?
    ) {
        self.httpClient = httpClient
        self.configuration = configuration
        self.endpoint = configuration.resolvedEndpoint
        self.signing = signing
        self.retryStrategy = retryStrategy ?? StandardRetryStrategy(configuration: configuration.retry)
        self.logger = logger
    }
}

// MARK: - Signing

enum SigningSource: Sendable {
    case fixed(SigV4Signer)
    case provider(@Sendable () async throws -> AWSCredentials, NIOLockedValueBox<SigV4Signer?>)

    func signer(region: String) async throws -> SigV4Signer {
        switch self {
        case .fixed(let signer):
            return signer
        case .provider(let provide, let cache):
            let credentials = try await provide()
            return cache.withLockedValue { cached in
                if let s = cached, s.credentials == credentials { return s }
                let s = SigV4Signer(credentials: credentials, region: region, service: "s3", mode: .s3)
                cached = s
                return s
            }
        }
    }
}

// MARK: - Requests

/// One S3 request, before addressing and signing (the same for every attempt).
struct S3RequestSpec: Sendable {
    var operation: String
    var method: HTTPMethod
    var bucket: String?
    var key: String?
    var query: [(name: String, value: String?)] = []
    var headers: [(name: String, value: String)] = []
    var body: ByteBuffer?
    /// Hex SHA-256 of the body, or `UNSIGNED-PAYLOAD`.
    var payloadHash: String = SigV4Signer.emptyPayloadHash
    var timeout: Duration
}

/// The head of a successful response.
struct S3ResponseHead: Sendable {
    var status: Int
    var headers: HTTPHeaders

    var requestId: String? { self.headers.first(name: "x-amz-request-id") }
    func header(_ name: String) -> String? { self.headers.first(name: name) }
}

extension S3Client {
    static func isDNSCompatibleWithoutDots(_ bucket: String) -> Bool {
        let u = Array(bucket.utf8)
        guard (3...63).contains(u.count) else { return false }
        for b in u {
            let ok = (b >= 0x61 && b <= 0x7A) || (b >= 0x30 && b <= 0x39) || b == 0x2D
            if !ok { return false }
        }
        return u.first != 0x2D && u.last != 0x2D
    }

    func usesVirtualHost(for bucket: String) -> Bool {
        switch self.configuration.addressingStyle {
        case .path: false
        case .virtualHosted: true
        case .automatic: !self.endpoint.hostIsIPAddress && Self.isDNSCompatibleWithoutDots(bucket) && self.endpoint.host != "localhost"
        }
    }

    /// Host header value, wire path (percent-encoded) and wire query.
    func address(_ spec: S3RequestSpec) -> (authority: String, path: String, query: String?) {
        var path: [UInt8] = [UInt8(ascii: "/")]
        var authority: String
        if let bucket = spec.bucket {
            if self.usesVirtualHost(for: bucket) {
                authority = self.endpoint.authority(bucketPrefix: bucket)
            } else {
                authority = self.endpoint.authority()
                AWSURIEncoding.append(bucket, keepSlash: false, to: &path)
                if spec.key != nil { path.append(UInt8(ascii: "/")) }
            }
        } else {
            authority = self.endpoint.authority()
        }
        if let key = spec.key {
            AWSURIEncoding.append(key, keepSlash: true, to: &path)
        }
        return (authority, String(decoding: path, as: UTF8.self), AWSURIEncoding.query(spec.query))
    }

    /// One signed attempt up to the response head. Error statuses are turned into ``AWSError``
    /// (reading the error body); transport failures into `.timeout` / `.connection` errors.
    func send(_ spec: S3RequestSpec, deadline: NIODeadline) async throws -> (S3ResponseHead, HTTPClientResponse.Body) {
        let (authority, path, query) = self.address(spec)
        var url = "\(self.endpoint.scheme)://\(authority)\(path)"
        if let query { url += "?" + query }

        var toSign: [(name: String, value: String)] = [(name: "host", value: authority)]
        toSign.append(contentsOf: spec.headers)
        let signer = try await self.signing.signer(region: self.configuration.region)
        let added = signer.signHeaders(
            method: spec.method.rawValue,
            path: path,
            query: query,
            headers: toSign,
            payloadHash: spec.payloadHash,
            date: Date(),
            addContentSHA256Header: true
        )

        var request = HTTPClientRequest(url: url)
        request.method = spec.method
        request.headers.reserveCapacity(spec.headers.count + 6)
        request.headers.add(name: "Host", value: authority)
        for h in spec.headers { request.headers.add(name: h.name, value: h.value) }
        for h in added { request.headers.add(name: h.name, value: h.value) }
        if let body = spec.body {
            request.body = .bytes(body)
        } else if spec.method == .PUT || spec.method == .POST {
            request.headers.add(name: "Content-Length", value: "0")
        }

        let response: HTTPClientResponse
        do {
            response = try await self.httpClient.execute(request, deadline: deadline, logger: self.logger)
        } catch {
            throw AWSError.transport(operation: spec.operation, error: error)
        }
        let head = S3ResponseHead(status: Int(response.status.code), headers: response.headers)
        if head.status >= 300 {
            var errorBody: ByteBuffer?
            if spec.method != .HEAD {
                do {
                    errorBody = try await response.body.collect(upTo: 1 << 20)
                } catch {
                    throw AWSError.transport(operation: spec.operation, error: error)
                }
            }
            throw AWSError.s3(
                operation: spec.operation,
                status: head.status,
                body: errorBody,
                requestIdHeader: head.requestId,
                hostIdHeader: head.header("x-amz-id-2")
            )
        }
        return (head, response.body)
    }

    /// A request whose response body is an XML document (or empty, when `allowEmpty`); retried.
    /// A 200 answer carrying `<Error>` is thrown as an ``AWSError``.
    func xmlRequest(_ spec: S3RequestSpec, allowEmpty: Bool = false) async throws -> (S3ResponseHead, XML.Element?) {
        let maxBytes = self.configuration.maxXMLResponseBytes
        return try await self.retryStrategy.execute(operation: spec.operation) { _ in
            try await Self.withAttemptTimeout(spec.timeout, operation: spec.operation) {
                let (head, body) = try await self.send(spec, deadline: Self.deadline(after: spec.timeout))
                let bytes: ByteBuffer
                do {
                    bytes = try await body.collect(upTo: maxBytes)
                } catch {
                    throw AWSError.transport(operation: spec.operation, error: error)
                }
                if bytes.readableBytes == 0 || bytes.readableBytesView.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) {
                    if allowEmpty { return (head, nil) }
                    throw AWSError(kind: .invalidResponse, operation: spec.operation, statusCode: head.status,
                                   message: "empty response body", requestId: head.requestId)
                }
                let root: XML.Element
                do {
                    root = try XML.parse(bytes)
                } catch {
                    throw AWSError(kind: .invalidResponse, operation: spec.operation, statusCode: head.status,
                                   message: "malformed XML: \(error)", requestId: head.requestId)
                }
                if let error = AWSError.s3ErrorInSuccessResponse(
                    operation: spec.operation, root: root, requestIdHeader: head.requestId, hostIdHeader: head.header("x-amz-id-2")
                ) {
                    throw error
                }
                return (head, root)
            }
        }
    }

    /// A request whose response body is ignored (drained so the connection can be reused); retried.
    func headRequest(_ spec: S3RequestSpec) async throws -> S3ResponseHead {
        try await self.retryStrategy.execute(operation: spec.operation) { _ in
            try await Self.withAttemptTimeout(spec.timeout, operation: spec.operation) {
                let (head, body) = try await self.send(spec, deadline: Self.deadline(after: spec.timeout))
                do {
                    for try await _ in body {}
                } catch {
                    throw AWSError.transport(operation: spec.operation, error: error)
                }
                return head
            }
        }
    }
}

extension S3Client {
    /// `now + duration` as a NIO deadline.
    static func deadline(after duration: Duration) -> NIODeadline {
        let (s, a) = duration.components
        let nanos = s >= Int64.max / 1_000_000_000 ? Int64.max / 2 : s * 1_000_000_000 + a / 1_000_000_000
        return .now() + .nanoseconds(nanos)
    }

    /// Runs one attempt with a time limit covering everything it does (request and response
    /// body); running out of time is an ``AWSError`` of kind `.timeout`.
    static func withAttemptTimeout<T: Sendable>(
        _ timeout: Duration,
        operation: String,
        _ body: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await body() }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let value = first else {
                throw AWSError(kind: .timeout, operation: operation, underlying: ResponseBodyTimeout(timeout: timeout))
            }
            return value
        }
    }
}
