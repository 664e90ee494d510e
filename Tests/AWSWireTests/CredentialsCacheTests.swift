import Foundation
import Testing

@testable import AWSWire

/// A value behind a lock (`Synchronization.Mutex` needs macOS 15; the package supports 14).
final class Locked<Value>: @unchecked Sendable {
    // @unchecked: `value` is only touched under `lock`.
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) { self.value = value }

    func withLock<T, E: Error>(_ body: (inout Value) throws(E) -> T) throws(E) -> T {
        self.lock.lock()
        defer { self.lock.unlock() }
        return try body(&self.value)
    }
}

@Suite("Credentials cache")
struct CredentialsCacheTests {
    /// A resolver that counts calls and answers from a script.
    final class ScriptedResolver: Sendable {
        private let state: Locked<(calls: Int, answers: [Result<ResolvedCredentials, CredentialsError>])>

        init(_ answers: [Result<ResolvedCredentials, CredentialsError>]) {
            self.state = Locked((0, answers))
        }

        var calls: Int { self.state.withLock { $0.calls } }

        func resolve() throws(CredentialsError) -> ResolvedCredentials {
            try self.state.withLock { state throws(CredentialsError) in
                state.calls += 1
                let answer = state.answers.count > 1 ? state.answers.removeFirst() : state.answers[0]
                return try answer.get()
            }
        }
    }

    /// A settable clock.
    final class Clock: Sendable {
        private let current: Locked<Date>
        init(_ date: Date) { self.current = Locked(date) }
        var now: Date { self.current.withLock { $0 } }
        func advance(_ seconds: TimeInterval) { self.current.withLock { $0 = $0.addingTimeInterval(seconds) } }
    }

    static let start = Date(timeIntervalSince1970: 1_700_000_000)

    static func temporary(_ id: String, expiresIn seconds: TimeInterval) -> ResolvedCredentials {
        ResolvedCredentials(
            credentials: AWSCredentials(
                accessKeyId: id,
                secretAccessKey: "s",
                sessionToken: "t",
                expiration: start.addingTimeInterval(seconds)
            ),
            source: .containerEndpoint(url: "http://127.0.0.1:1/c")
        )
    }

    @Test func staticCredentialsAreResolvedOnce() async throws {
        let resolver = ScriptedResolver([
            .success(ResolvedCredentials(credentials: .init(accessKeyId: "A", secretAccessKey: "s"), source: .environment))
        ])
        let provider = CachedCredentialsProvider { try resolver.resolve() }
        for _ in 0..<5 { #expect(try await provider.credentials().accessKeyId == "A") }
        #expect(resolver.calls == 1)
        await provider.invalidate()
        _ = try await provider.credentials()
        #expect(resolver.calls == 2)
    }

    @Test func temporaryCredentialsAreRefreshedBeforeExpiry() async throws {
        let clock = Clock(Self.start)
        let resolver = ScriptedResolver([
            .success(Self.temporary("FIRST", expiresIn: 3600)),
            .success(Self.temporary("SECOND", expiresIn: 7200)),
        ])
        let provider = CachedCredentialsProvider(refreshMargin: .seconds(300), now: { clock.now }) {
            try resolver.resolve()
        }
        #expect(try await provider.credentials().accessKeyId == "FIRST")
        clock.advance(3600 - 301)
        #expect(try await provider.credentials().accessKeyId == "FIRST")
        clock.advance(2)  // now within 5 minutes of expiry
        #expect(try await provider.credentials().accessKeyId == "SECOND")
        #expect(resolver.calls == 2)
    }

    @Test func failedRefreshFallsBackUntilExpiry() async throws {
        let clock = Clock(Self.start)
        let resolver = ScriptedResolver([
            .success(Self.temporary("FIRST", expiresIn: 600)),
            .failure(CredentialsError.noCredentials(tried: ["test"])),
        ])
        let provider = CachedCredentialsProvider(refreshMargin: .seconds(300), now: { clock.now }) {
            try resolver.resolve()
        }
        _ = try await provider.credentials()
        clock.advance(400)  // in the refresh window, not expired
        #expect(try await provider.credentials().accessKeyId == "FIRST")
        clock.advance(201)  // expired
        await #expect(throws: CredentialsError.self) { try await provider.credentials() }
    }

    @Test func concurrentCallersShareOneResolution() async throws {
        let resolver = ScriptedResolver([.success(Self.temporary("ONE", expiresIn: 3600))])
        let provider = CachedCredentialsProvider(now: { Self.start }) { try resolver.resolve() }
        try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<20 { group.addTask { try await provider.credentials().accessKeyId } }
            for try await id in group { #expect(id == "ONE") }
        }
        #expect(resolver.calls == 1)
    }
}
