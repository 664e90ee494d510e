import TestSupport
import AWSWire
import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore

@testable import Harness

enum Fixtures {
    /// Part size for tests against moto: below S3's 5 MiB (moto's minimum is lowered to match).
    static let partSize = 64 * 1024
    static let motoEnvironment = ["S3_UPLOAD_PART_MIN_SIZE": String(partSize)]
    static let credentials = AWSCredentials(accessKeyId: "test", secretAccessKey: "test")

    /// The repository root (for generators/).
    static let repositoryRoot: String = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    static func s3Configuration(endpoint: String, maxAttempts: Int = 3) throws -> S3Client.Configuration {
        var configuration = S3Client.Configuration(
            region: "us-east-1",
            endpoint: try S3Endpoint(url: endpoint),
            addressingStyle: .path,
            retry: RetryConfiguration(maxAttempts: maxAttempts, baseDelay: .milliseconds(5), jitterSeed: 1)
        )
        configuration.timeouts = .init(request: .seconds(20), transfer: .seconds(30), completeMultipartUpload: .seconds(30))
        return configuration
    }

    static func engineConfiguration(
        partsInFlight: Int = 4,
        total: Int = 4,
        checksum: UploadEngine.Checksum = .crc32c
    ) -> UploadEngine.Configuration {
        UploadEngine.Configuration(
            partSize: partSize, minimumPartSize: partSize, partsInFlightPerUpload: partsInFlight, partsInFlightTotal: total,
            checksum: checksum, abort: .init(rounds: 3, pause: .milliseconds(10))
        )
    }

    /// Runs `body` with an engine talking to `endpoint`.
    static func withEngine<T>(
        endpoint: String,
        configuration: UploadEngine.Configuration = engineConfiguration(),
        _ body: (UploadEngine) async throws -> T
    ) async throws -> T {
        try await UploadEngine.withEngine(
            s3Configuration: try s3Configuration(endpoint: endpoint), configuration: configuration,
            credentials: { Fixtures.credentials }, body
        )
    }

    /// A client straight to the server (no proxy), for set-up and checks.
    static func client(_ http: HTTPClient, endpoint: String) throws -> S3Client {
        S3Client(httpClient: http, credentials: credentials, configuration: try s3Configuration(endpoint: endpoint))
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

    /// Writes `bytes` to a new temporary file and returns its path.
    static func temporaryFile(_ bytes: [UInt8], name: String = "upload") throws -> String {
        let path = NSTemporaryDirectory() + "csvstorm-\(name)-\(UUID().uuidString.prefix(8)).bin"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// SHA-256 and length of an object, streamed.
    static func digest(_ s3: S3Client, bucket: String, key: String) async throws -> (sha256: [UInt8], count: Int) {
        let object = try await s3.getObject(bucket: bucket, key: key)
        var hasher = SHA256()
        var count = 0
        for try await chunk in object.body {
            chunk.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) }
            count += chunk.readableBytes
        }
        return (Array(hasher.finalize()), count)
    }

    static func sha256(_ bytes: [UInt8]) -> [UInt8] {
        Array(SHA256.hash(data: bytes))
    }
}
