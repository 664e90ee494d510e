import Emulator
import Foundation
import Testing

/// awscli and boto3 (clients no one here wrote) against the emulator: each case is a function
/// in Tests/python/emulator_clients.py that checks what the client reports.
@Suite(
    "awscli and boto3 against the emulator",
    .enabled(if: Tools.realClientsAvailable, "needs `aws` (pip install awscli) and python3 with boto3"),
    .serialized,
    .timeLimit(.minutes(5))
)
struct RealClientTests {
    static let script: String = {
        // Tests/EmulatorTests/RealClientTests.swift → Tests/python/emulator_clients.py
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("python/emulator_clients.py").path
    }()

    @Test(
        "real client case",
        arguments: ["buckets", "cp-large", "multipart-api", "errors", "object-lock", "listing", "presigned", "checksums", "aws-chunked"]
    )
    func realClientCase(_ name: String) async throws {
        let workdir = try TestEmulator.scratchDirectory(name)
        defer { try? FileManager.default.removeItem(atPath: workdir) }
        try await withEmulator(TestEmulator.configuration()) { endpoint in
            let python = try #require(Tools.find("python3"))
            let result = try await Tools.run(
                python, [Self.script, name], environment: Tools.awsEnvironment(endpoint, workdir: workdir), timeout: .seconds(240)
            )
            #expect(result.status == 0, "\(name): \(result.output)")
            if name == "cp-large" {
                // The 101 MiB `aws s3 cp` completed as one multipart object and emitted one event.
                let events = try await endpoint.events.wait { events in
                    events.contains { $0.reason == .completeMultipartUpload && $0.key.hasPrefix("incoming/large") }
                }
                let event = try #require(events.first { $0.key.hasPrefix("incoming/large") })
                #expect(event.size == 101 * 1024 * 1024 + 12345)
                #expect(event.etag.hasSuffix("-13"))
            }
        }
    }
}
