import AWSWire
import AsyncHTTPClient
import Emulator
import Foundation
import NIOCore
import TestSupport
import Testing

/// Emulator configurations for tests: port 0, a fresh state directory, small parts.
enum TestEmulator {
    /// Parts below S3's 5 MiB keep tests fast (as moto's S3_UPLOAD_PART_MIN_SIZE).
    static let minimumPartSize: Int64 = 64 * 1024

    static func configuration(
        stateDirectory: EmulatorConfiguration.StateDirectory = .temporary,
        minimumPartSize: Int64 = TestEmulator.minimumPartSize,
        retention: Duration = .seconds(3600)
    ) -> EmulatorConfiguration {
        EmulatorConfiguration(
            listener: .init(host: "127.0.0.1", port: 0),
            stateDirectory: stateDirectory,
            buckets: .init(retention: retention),
            multipart: .init(minimumPartSize: minimumPartSize)
        )
    }

    static func scratchDirectory(_ name: String) throws -> String {
        let path = NSTemporaryDirectory() + "csvstorm-emulator-test-\(name)-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func client(_ http: HTTPClient, _ endpoint: EmulatorEndpoint, credentials: AWSCredentials? = nil) throws -> S3Client {
        S3Client(
            httpClient: http,
            credentials: credentials ?? AWSCredentials(accessKeyId: endpoint.credentials.accessKeyId, secretAccessKey: endpoint.credentials.secretAccessKey),
            configuration: .init(
                region: "us-east-1",
                endpoint: try S3Endpoint(url: endpoint.url),
                addressingStyle: .path,
                retry: RetryConfiguration(baseDelay: .milliseconds(5), jitterSeed: 1)
            )
        )
    }

    /// An emulator and a csvstorm S3 client for `body`; both always shut down.
    static func withS3<T>(
        _ configuration: EmulatorConfiguration = TestEmulator.configuration(),
        _ body: (S3Client, EmulatorEndpoint) async throws -> T
    ) async throws -> T {
        try await withEmulator(configuration) { endpoint in
            try await withHTTPClient { http in
                try await body(try Self.client(http, endpoint), endpoint)
            }
        }
    }

    static func withHTTPClient<T>(_ body: (HTTPClient) async throws -> T) async throws -> T {
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

    /// Deterministic pseudo-random bytes.
    static func bytes(count: Int, seed: UInt64) -> [UInt8] {
        var state = seed &+ 0x9E37_79B9_7F4A_7C15
        var out = [UInt8]()
        out.reserveCapacity(count + 8)
        while out.count < count {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            z ^= z >> 31
            withUnsafeBytes(of: z) { out.append(contentsOf: $0) }
        }
        return Array(out.prefix(count))
    }

    static func buffer(_ bytes: [UInt8]) -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: bytes.count)
        buffer.writeBytes(bytes)
        return buffer
    }
}

/// A child process with a bounded wait.
struct ToolResult {
    var status: Int32
    var output: String
}

enum Tools {
    /// The absolute path of `name` on PATH, or nil.
    static func find(_ name: String) -> String? {
        for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let path = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }

    /// Whether `python3` can import boto3 and `aws` is installed.
    static let realClientsAvailable: Bool = {
        guard let python = find("python3"), find("aws") != nil else { return false }
        let check = Process()
        check.executableURL = URL(fileURLWithPath: python)
        check.arguments = ["-c", "import boto3, botocore"]
        check.standardOutput = FileHandle.nullDevice
        check.standardError = FileHandle.nullDevice
        guard (try? check.run()) != nil else { return false }
        check.waitUntilExit()
        return check.terminationStatus == 0
    }()

    /// Runs `executable` with `arguments`, stdout and stderr interleaved into one output; stops
    /// it after `timeout` (the output then says so). Waits without blocking a thread (the
    /// emulator under test shares the pool).
    static func run(_ executable: String, _ arguments: [String], environment: [String: String], timeout: Duration) async throws -> ToolResult {
        var env = ProcessInfo.processInfo.environment
        for (key, value) in environment { env[key] = value }
        let result = try await runChildProcess(executable, arguments, environment: env, output: .merged, timeout: timeout, throwOnTimeout: false)
        var output = String(decoding: result.stdout, as: UTF8.self)
        if result.timedOut { output += "\n(killed after \(timeout))" }
        return ToolResult(status: result.status, output: output)
    }

    /// An environment for AWS tools that sees only the emulator's credentials (no user config files).
    static func awsEnvironment(_ endpoint: EmulatorEndpoint, workdir: String) -> [String: String] {
        [
            "AWS_ACCESS_KEY_ID": endpoint.credentials.accessKeyId,
            "AWS_SECRET_ACCESS_KEY": endpoint.credentials.secretAccessKey,
            "AWS_DEFAULT_REGION": endpoint.region,
            "AWS_REGION": endpoint.region,
            "AWS_CONFIG_FILE": "/dev/null",
            "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_PAGER": "",
            "EMULATOR_ENDPOINT": endpoint.url,
            "EMULATOR_MIN_PART_SIZE": String(TestEmulator.minimumPartSize),
            "EMULATOR_WORKDIR": workdir,
        ]
    }
}
