import AsyncHTTPClient
import Foundation

/// Resolves credentials once and hands out the cached value until they come close to expiring;
/// then resolves again. Meant as the `credentialsProvider` of clients that ask per request:
///
/// ```swift
/// let provider = CachedCredentialsProvider(chain: CredentialsChain(), httpClient: httpClient)
/// let s3 = S3Client(httpClient: httpClient, configuration: configuration) {
///     try await provider.credentials()
/// }
/// ```
///
/// - Credentials without an expiration (environment, files) are resolved once.
/// - Temporary credentials (container endpoint) are refreshed `refreshMargin` before they expire.
///   Concurrent callers share one refresh. When a refresh fails while the cached credentials
///   have not expired yet, the cached ones are returned (and the next call tries again); once
///   they have expired, the error is thrown.
package actor CachedCredentialsProvider {
    package typealias Resolve = @Sendable () async throws -> ResolvedCredentials

    private let resolve: Resolve
    private let refreshMargin: Duration
    private let now: @Sendable () -> Date
    private var cached: ResolvedCredentials?
    private var refreshing: Task<ResolvedCredentials, any Error>?

    /// - Parameters:
    ///   - chain: the chain to run (its environment is captured now).
    ///   - httpClient: used for the container endpoint.
    ///   - refreshMargin: how long before expiry to refresh. Default 5 minutes (as the SDKs).
    package init(chain: CredentialsChain, httpClient: HTTPClient = .shared, refreshMargin: Duration = .seconds(300)) {
        self.init(refreshMargin: refreshMargin) { try await chain.resolve(httpClient: httpClient) }
    }

    /// A provider over any resolver, with an injectable clock (for tests).
    package init(
        refreshMargin: Duration = .seconds(300),
        now: @escaping @Sendable () -> Date = { Date() },
        resolve: @escaping Resolve
    ) {
        self.resolve = resolve
        self.refreshMargin = refreshMargin
        self.now = now
    }

    /// Current credentials, resolving or refreshing them when needed.
    package func credentials() async throws -> AWSCredentials {
        try await self.resolved().credentials
    }

    /// Current credentials and their source.
    package func resolved() async throws -> ResolvedCredentials {
        let now = self.now()
        if let cached, !cached.credentials.expires(within: self.refreshMargin, of: now) {
            return cached
        }
        let task: Task<ResolvedCredentials, any Error>
        if let refreshing {
            task = refreshing
        } else {
            // One shared refresh for all concurrent callers, awaited by each of them below.
            task = Task { [resolve] in try await resolve() }
            self.refreshing = task
        }
        do {
            let fresh = try await task.value
            if self.refreshing == task { self.refreshing = nil }
            self.cached = fresh
            return fresh
        } catch {
            if self.refreshing == task { self.refreshing = nil }
            if let cached, let expiration = cached.credentials.expiration, expiration > self.now() {
                return cached
            }
            throw error
        }
    }

    /// Forgets the cached credentials, so the next call resolves again (e.g. after the service
    /// rejected them with `ExpiredToken`).
    package func invalidate() {
        self.cached = nil
    }
}
