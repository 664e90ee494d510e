import ArgumentParser
import Faults
import Foundation
import Harness
import NIOPosix
import SyntheticData

/// `csvstorm bench proxy`: upload throughput directly vs through the fault proxy (no fault active).
struct BenchProxy: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "proxy",
        abstract: "Fault proxy overhead: the same upload directly and through `csvstorm proxy` (no fault active), alternating, one run.",
        discussion: """
        Starts the in-process S3 sink of `bench upload` (discards bytes, verifies CRC32C) and a fault proxy \
        in front of it, then uploads one file with `csvstorm upload` (a child process, same part size and \
        parts in flight) to the sink directly and through the proxy, alternating, and reports MB/s of each \
        and the ratio of the medians. Build with -c release first.

        Example:
          .build-release/release/csvstorm bench proxy --size 2GiB --part-size 8MiB --concurrency 16 --rounds 3
        """
    )

    @Option(help: "Upload this file instead of a generated one.")
    var file: String?

    @Option(help: "Size of the generated file (\(ByteSize.unitNames)); reuses bench upload's file when it exists.")
    var size = "2GiB"

    @Option(help: "Part size.")
    var partSize = "8MiB"

    @Option(help: "Parts in flight.")
    var concurrency = 16

    @Option(help: "Rounds (each: one direct and one proxied upload).")
    var rounds = 3

    @Option(help: "SO_RCVBUF/SO_SNDBUF of the proxy's sockets (\(ByteSize.unitNames)); default: the kernel's autotuning.")
    var socketBuffer: String?

    @Flag(inversion: .prefixedNo, help: "Forward large request bodies with splice(2) (Linux).")
    var zeroCopy = true

    @Option(help: "Schema of the generated data.")
    var schema = "generators/customers.yaml"

    @Option(help: "Write the report as JSON here.")
    var json: String?

    func validate() throws {
        guard let size = ByteSize(parsing: size), size.bytes > 0 else { throw ValidationError("--size '\(size)' is not a size (\(ByteSize.unitNames))") }
        guard let part = ByteSize(parsing: partSize), part.bytes >= 5 << 20 else { throw ValidationError("--part-size '\(partSize)' must be at least 5MiB") }
        guard (1...256).contains(concurrency) else { throw ValidationError("--concurrency must be between 1 and 256, found \(concurrency)") }
        guard (1...20).contains(rounds) else { throw ValidationError("--rounds must be between 1 and 20, found \(rounds)") }
    }

    func run() async throws {
        let file = try await prepareFile()
        let bytes = Int((try FileManager.default.attributesOfItem(atPath: file)[.size] as? NSNumber)?.int64Value ?? 0)
        let partBytes = ByteSize(parsing: partSize)!.bytes
        let work = NSTemporaryDirectory() + "csvstorm-bench-proxy"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        var environment = ProcessInfo.processInfo.environment
        environment["AWS_ACCESS_KEY_ID"] = "bench"
        environment["AWS_SECRET_ACCESS_KEY"] = "bench"
        environment["AWS_REGION"] = "us-east-1"
        environment.removeValue(forKey: "AWS_SESSION_TOKEN")
        environment.removeValue(forKey: "AWS_PROFILE")
        let childEnvironment = environment
        let concurrency = self.concurrency
        print("file: \(file) (\(ByteSize.format(bytes))), \(ByteSize.format(partBytes)) parts, \(concurrency) in flight, \(rounds) round(s)")
        let loadBefore = Self.loadAverage()

        let report = try await S3Sink.withSink(verifyContentMD5: false) { sink in
            var configuration = ProxyBenchmark.Configuration(upstreamPort: sink.port)
            configuration.rounds = rounds
            configuration.socketBufferBytes = socketBuffer.flatMap { ByteSize(parsing: $0)?.bytes }
            configuration.zeroCopy = zeroCopy
            return try await ProxyBenchmark(configuration: configuration).run(log: { print($0) }) { endpoint in
                let before = sink.statistics.bodyBytes
                let command = [
                    MeasuredProcess.currentExecutable, "upload", file, "s3://bench/proxy-bench.csv", "--endpoint-url", endpoint,
                    "--part-size", "\(partBytes)B", "--concurrency", "\(concurrency)", "--quiet",
                ]
                let stderrPath = work + "/upload.stderr"
                let cpuBefore = ProxyBenchmark.ownCPUSeconds()
                let cost = try await NIOThreadPool.singleton.runIfActive {
                    try MeasuredProcess.run(command[0], Array(command.dropFirst()), environment: childEnvironment, stderrPath: stderrPath)
                }
                let ownCPU = ProxyBenchmark.ownCPUSeconds() - cpuBefore
                guard cost.exitStatus == 0 else {
                    let message = (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? ""
                    throw CommandFailure(message: "csvstorm upload exited with status \(cost.exitStatus): \(message.suffix(2000))", exitCode: ExitCodes.internalError)
                }
                let received = sink.statistics.bodyBytes - before
                guard received >= bytes else {
                    throw CommandFailure(message: "the sink received \(received) of \(bytes) bytes", exitCode: ExitCodes.internalError)
                }
                return ProxyBenchmark.Measurement(bytes: bytes, wallSeconds: cost.wallSeconds, clientCPUSeconds: cost.cpuSeconds, serverCPUSeconds: ownCPU)
            }
        }
        print("")
        print("summary (\(ByteSize.format(bytes)) per upload; median of \(rounds)):")
        print(String(format: "  direct: %.0f MB/s (best %.0f)", report.median("direct"), report.best("direct")))
        print(String(format: "  proxy:  %.0f MB/s (best %.0f)", report.median("proxy"), report.best("proxy")))
        print(String(format: "  proxy/direct = %.2f (%.0f%%); proxy CPU ≈ %.2f s/GiB; proxy carried %@ up (%@ zero-copy), %@ down",
                     report.ratio, report.ratio * 100, report.proxyCPUSecondsPerGiB,
                     ByteSize.format(report.proxyBytesFromClients), ByteSize.format(report.proxySplicedBytes), ByteSize.format(report.proxyBytesFromUpstream)))
        if let loadBefore, let loadAfter = Self.loadAverage() {
            print("  load average (1 min) \(loadBefore) before, \(loadAfter) after, on \(ProcessInfo.processInfo.activeProcessorCount) cores: other work on the machine moves both figures")
        }
        if let json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(report).write(to: URL(fileURLWithPath: json))
        }
    }

    /// The 1-minute load average (Linux /proc/loadavg), for reading the figures in context.
    static func loadAverage() -> String? {
        guard let text = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8) else { return nil }
        return text.split(separator: " ").first.map(String.init)
    }

    /// The given file, bench upload's generated file of this size, or a new one made with
    /// `csvstorm generate`.
    private func prepareFile() async throws -> String {
        if let file { return file }
        let bytes = ByteSize(parsing: size)!.bytes
        for directory in ["csvstorm-bench-upload", "csvstorm-bench-proxy"] {
            let path = NSTemporaryDirectory() + "\(directory)/upload-\(bytes).csv"
            if let existing = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue, existing >= bytes {
                return path
            }
        }
        let directory = NSTemporaryDirectory() + "csvstorm-bench-proxy"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = directory + "/upload-\(bytes).csv"
        print("generating \(ByteSize.format(bytes)) into \(path)")
        let cost = try await NIOThreadPool.singleton.runIfActive {
            try MeasuredProcess.run(MeasuredProcess.currentExecutable, ["generate", "--schema", schema, "--size", "\(bytes)B", "--seed", "42", "--output", path, "--quiet"])
        }
        guard cost.exitStatus == 0 else { throw CommandFailure(message: "csvstorm generate exited with status \(cost.exitStatus)", exitCode: ExitCodes.internalError) }
        return path
    }
}
