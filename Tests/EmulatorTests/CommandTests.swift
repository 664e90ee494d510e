import Emulator
import Foundation
import Testing

/// `csvstorm emulate` as a user runs it: the printed endpoint, kill -9, restart, Ctrl-C.
@Suite(
    "csvstorm emulate (the binary)",
    .enabled(if: Tools.realClientsAvailable, "needs `aws` (pip install awscli) and python3 with boto3"),
    .timeLimit(.minutes(3))
)
struct CommandTests {
    static var binary: String? {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        let candidates = [
            URL(fileURLWithPath: CommandLine.arguments.first ?? "").deletingLastPathComponent().appendingPathComponent("csvstorm").path,
            "\(root)/.build/debug/csvstorm",
        ]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// A running `csvstorm emulate` child and its output file.
    final class Server {
        let process = Process()
        let log: String
        var url = ""
        let exited: AsyncStream<Void>

        init(binary: String, stateDirectory: String, extraArguments: [String] = []) throws {
            self.log = stateDirectory + ".log"
            _ = FileManager.default.createFile(atPath: self.log, contents: nil)
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: self.log))
            self.process.executableURL = URL(fileURLWithPath: binary)
            self.process.arguments = ["emulate", "--port", "0", "--state-dir", stateDirectory, "--min-part-size", "64KiB"] + extraArguments
            self.process.currentDirectoryURL = URL(fileURLWithPath: pipelineProjectRoot)
            self.process.standardOutput = handle
            self.process.standardError = handle
            let (stream, continuation) = AsyncStream<Void>.makeStream()
            self.exited = stream
            self.process.terminationHandler = { _ in continuation.finish() }
            try self.process.run()
        }

        var output: String { (try? String(contentsOfFile: self.log, encoding: .utf8)) ?? "" }

        /// Waits (at most 20 s) for the endpoint line.
        func waitForEndpoint() async throws -> String {
            for _ in 0..<400 {
                if let range = self.output.range(of: #"http://127\.0\.0\.1:[0-9]+"#, options: .regularExpression) {
                    self.url = String(self.output[range])
                    return self.url
                }
                guard self.process.isRunning else { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            throw CommandTestError(message: "no endpoint printed: \(self.output)")
        }

        /// Waits (at most 20 s) for the process to exit; kills it otherwise.
        func waitForExit() async -> Bool {
            let stream = self.exited
            let exited = await withTaskGroup(of: Bool.self) { group in
                group.addTask {
                    for await _ in stream {}
                    return true
                }
                group.addTask {
                    try? await Task.sleep(for: .seconds(20))
                    return false
                }
                let first = await group.next() ?? false
                group.cancelAll()
                return first
            }
            if !exited { kill(self.process.processIdentifier, SIGKILL) }
            self.process.waitUntilExit()
            return exited
        }
    }

    struct CommandTestError: Error { var message: String }

    func environment(url: String, state: String, work: String, pid: Int32) -> [String: String] {
        [
            "AWS_ACCESS_KEY_ID": "csvstorm", "AWS_SECRET_ACCESS_KEY": "csvstorm-secret", "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null", "AWS_EC2_METADATA_DISABLED": "true",
            "EMULATOR_ENDPOINT": url, "EMULATOR_MIN_PART_SIZE": String(64 * 1024), "EMULATOR_WORKDIR": work,
            "EMULATOR_STATE_DIR": state, "EMULATOR_PID": String(pid),
        ]
    }

    @Test func killDashNineThenRestartThenCtrlC() async throws {
        let binary = try #require(Self.binary, "csvstorm binary not built")
        let python = try #require(Tools.find("python3"))
        let work = try TestEmulator.scratchDirectory("crash")
        defer { try? FileManager.default.removeItem(atPath: work) }
        let state = work + "/state"

        let first = try Server(binary: binary, stateDirectory: state)
        let url = try await first.waitForEndpoint()
        #expect(first.output.contains("access key: csvstorm"))
        #expect(first.output.contains("aws --endpoint-url \(url) s3 ls"))
        let prepared = try await Tools.run(
            python, [RealClientTests.script, "crash-prepare"],
            environment: self.environment(url: url, state: state, work: work, pid: first.process.processIdentifier), timeout: .seconds(60)
        )
        #expect(prepared.status == 0, "\(prepared.output)")
        #expect(await first.waitForExit())
        #expect(first.process.terminationReason == .uncaughtSignal)

        let second = try Server(binary: binary, stateDirectory: state)
        let url2 = try await second.waitForEndpoint()
        let verified = try await Tools.run(
            python, [RealClientTests.script, "crash-verify"],
            environment: self.environment(url: url2, state: state, work: work, pid: second.process.processIdentifier), timeout: .seconds(60)
        )
        #expect(verified.status == 0, "\(verified.output)")

        kill(second.process.processIdentifier, SIGINT)
        #expect(await second.waitForExit())
        #expect(second.process.terminationStatus == 0, "\(second.output)")
        #expect(second.output.contains("csvstorm emulate: stopped"))
    }

    /// `csvstorm upload` says how an object went up: one PutObject for a source that fits in a
    /// part, parts for the rest; the emulator reports its body digests when stopped.
    @Test func uploadSummaryNamesPutObjectOrParts() async throws {
        let binary = try #require(Self.binary, "csvstorm binary not built")
        let work = try TestEmulator.scratchDirectory("upload-cli")
        defer { try? FileManager.default.removeItem(atPath: work) }
        let server = try Server(binary: binary, stateDirectory: work + "/state", extraArguments: ["--no-pipeline"])
        let url = try await server.waitForEndpoint()
        let small = work + "/small.bin"
        let large = work + "/large.bin"
        _ = FileManager.default.createFile(atPath: small, contents: Data(repeating: 7, count: 100_000))
        _ = FileManager.default.createFile(atPath: large, contents: Data((0..<(11 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) }))
        let env = self.environment(url: url, state: work + "/state", work: work, pid: server.process.processIdentifier)
        let one = try await Tools.run(binary, ["upload", small, "s3://raw/small.bin", "--endpoint-url", url], environment: env, timeout: .seconds(60))
        #expect(one.status == 0, "\(one.output)")
        #expect(one.output.contains("as one PutObject"), "\(one.output)")
        #expect(!one.output.contains("parts of"))
        let three = try await Tools.run(
            binary, ["upload", large, "s3://raw/large.bin", "--endpoint-url", url, "--part-size", "5MiB"], environment: env, timeout: .seconds(60)
        )
        #expect(three.status == 0, "\(three.output)")
        #expect(three.output.contains("in 3 parts of 5.00 MiB"), "\(three.output)")
        #expect(three.output.contains("-3\""), "a multipart ETag ends in -3: \(three.output)")
        kill(server.process.processIdentifier, SIGINT)
        #expect(await server.waitForExit())
        #expect(server.output.contains("csvstorm emulate: stopped (body digests: MD5"), "\(server.output)")
    }

    /// The pipeline survives kill -9: executions in flight resume on restart and end
    /// SUCCEEDED; none vanishes (Tests/python/pipeline_clients.py restart-*).
    @Test func pipelineExecutionsResumeAfterKillDashNine() async throws {
        let binary = try #require(Self.binary, "csvstorm binary not built")
        let python = try #require(Tools.find("python3"))
        let work = try TestEmulator.scratchDirectory("pipeline-crash")
        defer { try? FileManager.default.removeItem(atPath: work) }
        let state = work + "/state"
        _ = try PipelineRealClientTests.prepareInputs(work)
        // Tasks take 15–30 s (production 5–10 min × 0.05): all three are still running when
        // the kill comes, however slowly a loaded machine lets awscli upload them.
        let arguments = ["--time-scale", "0.05"]

        let first = try Server(binary: binary, stateDirectory: state, extraArguments: arguments)
        let url = try await first.waitForEndpoint()
        #expect(first.output.contains("job table:  csvstorm-jobs"), "\(first.output)")
        let prepared = try await Tools.run(
            python, [PipelineRealClientTests.script, "restart-prepare"],
            environment: self.environment(url: url, state: state, work: work, pid: first.process.processIdentifier), timeout: .seconds(90)
        )
        #expect(prepared.status == 0, "\(prepared.output)")
        #expect(await first.waitForExit())
        #expect(first.process.terminationReason == .uncaughtSignal)

        let second = try Server(binary: binary, stateDirectory: state, extraArguments: arguments)
        let url2 = try await second.waitForEndpoint()
        let verified = try await Tools.run(
            python, [PipelineRealClientTests.script, "restart-verify"],
            environment: self.environment(url: url2, state: state, work: work, pid: second.process.processIdentifier), timeout: .seconds(120)
        )
        #expect(verified.status == 0, "\(verified.output)\n\(second.output)")
        kill(second.process.processIdentifier, SIGINT)
        #expect(await second.waitForExit())
        #expect(second.process.terminationStatus == 0, "\(second.output)")
    }
}
