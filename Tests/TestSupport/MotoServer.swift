// Shared by the test targets: a moto_server (an independent S3/DynamoDB/SQS implementation)
// on a free loopback port, and a scoped HTTPClient.
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOPosix
import Testing

/// A `moto_server` child process on 127.0.0.1 and a free port, for tests against a real S3
/// implementation. Start it with ``withMotoServer(environment:_:)``, which always stops it.
///
/// moto is found through `python3 -c "import moto.server"`; when that fails, ``isAvailable``
/// is false and the suites using it are skipped with ``unavailableReason``.
package final class MotoServer: @unchecked Sendable {
    package let port: Int
    package let endpoint: String
    private let process: Process
    package let logPath: String

    /// The Python interpreter that can import `moto.server`, or nil.
    package static let python: String? = {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", "import sys, moto, moto.server; print(sys.executable)"]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        do { try p.run() } catch { return nil }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { return nil }
        let path = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return path.isEmpty ? nil : path
    }()

    package static var isAvailable: Bool { python != nil }
    package static let unavailableReason: Comment = "moto is not installed: `python3 -c 'import moto.server'` failed (pip install 'moto[server]')"

    private init(port: Int, process: Process, logPath: String) {
        self.port = port
        self.endpoint = "http://127.0.0.1:\(port)"
        self.process = process
        self.logPath = logPath
    }

    /// A port that was free a moment ago: bind port 0 on 127.0.0.1, read the port, close.
    package static func freePort() async throws -> Int {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: "127.0.0.1", port: 0)
            .get()
        let port = channel.localAddress?.port
        try await channel.close()
        guard let port else { throw FixtureError("could not read the bound port") }
        return port
    }

    /// Starts moto and waits (at most `startupTimeout`) until it answers HTTP.
    package static func start(environment: [String: String] = [:], startupTimeout: Duration = .seconds(60)) async throws -> MotoServer {
        guard let python else { throw FixtureError("moto is not installed") }
        let port = try await freePort()
        let logPath = NSTemporaryDirectory() + "csvstorm-moto-\(port)-\(UUID().uuidString.prefix(8)).log"
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))

        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = ["-m", "moto.server", "-H", "127.0.0.1", "-p", String(port)]
        var env = ProcessInfo.processInfo.environment
        // Keep moto from reaching for real AWS configuration.
        env["AWS_ACCESS_KEY_ID"] = "test"
        env["AWS_SECRET_ACCESS_KEY"] = "test"
        env["AWS_DEFAULT_REGION"] = "us-east-1"
        for (k, v) in environment { env[k] = v }
        process.environment = env
        process.standardOutput = log
        process.standardError = log
        try process.run()
        let server = MotoServer(port: port, process: process, logPath: logPath)

        do {
            try await server.waitUntilReady(timeout: startupTimeout)
        } catch {
            await server.stop()
            throw error
        }
        return server
    }

    private func waitUntilReady(timeout: Duration) async throws {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        try await withTestHTTPClient { http in
            while clock.now < deadline {
                guard self.process.isRunning else {
                    throw FixtureError("moto exited with status \(self.process.terminationStatus) before answering; log: \(self.logTail())")
                }
                do {
                    let response = try await http.execute(HTTPClientRequest(url: self.endpoint + "/moto-api/config"), timeout: .seconds(2))
                    _ = try await response.body.collect(upTo: 1 << 20)
                    return
                } catch {
                    // Not listening yet: poll again shortly (bounded by the deadline).
                    try await Task.sleep(for: .milliseconds(100))
                }
            }
            throw FixtureError("moto did not answer on \(self.endpoint) within \(timeout); log: \(self.logTail())")
        }
    }

    /// SIGTERM, then SIGKILL if it has not exited within 5 seconds. Waits without blocking a
    /// thread (the cooperative pool runs every suite's emulators).
    package func stop() async {
        guard self.process.isRunning else { return }
        self.process.terminate()
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(5)
        while self.process.isRunning && clock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        if self.process.isRunning {
            kill(self.process.processIdentifier, SIGKILL)
        }
    }

    package func logTail(_ bytes: Int = 2_000) -> String {
        guard let data = FileManager.default.contents(atPath: self.logPath) else { return "" }
        return String(decoding: data.suffix(bytes), as: UTF8.self)
    }
}

/// Runs `body` with a fresh moto server that is stopped on return, throw or cancel.
package func withMotoServer<T>(
    environment: [String: String] = [:],
    _ body: (MotoServer) async throws -> T
) async throws -> T {
    let server = try await MotoServer.start(environment: environment)
    do {
        let result = try await body(server)
        await server.stop()
        return result
    } catch {
        await server.stop()
        throw error
    }
}

/// Runs `body` with an `HTTPClient` that is shut down afterwards.
package func withTestHTTPClient<T>(_ body: (HTTPClient) async throws -> T) async throws -> T {
    let http = HTTPClient(eventLoopGroupProvider: .singleton)
    do {
        let result = try await body(http)
        try await http.shutdown()
        return result
    } catch {
        try? await http.shutdown()
        throw error
    }
}

package struct FixtureError: Error, CustomStringConvertible {
    package var description: String
    package init(_ description: String) { self.description = description }
}
