import Foundation
import NIOPosix
import SyntheticData

/// `csvstorm bench upload`: the same file uploaded by csvstorm, `aws s3 cp` and `s5cmd cp`
/// against one local ``S3Sink``, each client a child process measured with `wait4` (CPU
/// seconds user + system, wall time, peak RSS); then csvstorm's peak RSS for a large
/// generate-and-upload.
///
/// Comparable settings: the same part size and parts in flight for every client (awscli through
/// a temporary `AWS_CONFIG_FILE`: `multipart_chunksize`, `max_concurrent_requests`; s5cmd with
/// `-p` and `-c`). Each client checks what it checks by default (csvstorm: CRC32C of every
/// part, echoed and verified, plus the composite; awscli: its default CRC32 checksum header;
/// s5cmd: the SHA-256 payload hash of SigV4 over plain HTTP).
package struct UploadBenchmark: Sendable {
    package struct Configuration: Sendable {
        /// The file to upload; nil: generate one of ``fileSize`` bytes in ``workDirectory``.
        package var filePath: String?
        /// Default 2 GiB.
        package var fileSize: Int = 2 << 30
        /// Default 8 MiB.
        package var partSize: Int = 8 << 20
        /// Parts in flight. Default 16.
        package var concurrency: Int = 16
        /// Runs per client (alternating clients). Default 1.
        package var repeats: Int = 1
        /// Size of the generate-and-upload memory check; nil skips it. Default 10 GiB.
        package var memoryCheckSize: Int? = 10 << 30
        /// Schema for the generated file and the memory check.
        package var schemaPath: String = "generators/customers.yaml"
        /// The csvstorm binary to measure (default: this one).
        package var csvstorm: String = MeasuredProcess.currentExecutable
        /// Clients besides csvstorm.
        package var includeAWSCLI = true
        package var includeS5cmd = true
        /// An S3 endpoint to use instead of the in-process sink (e.g. `csvstorm emulate`); the
        /// clients then sign with the environment's AWS credentials.
        package var endpoint: String?
        /// Bucket to upload into. Default `bench` (any name works with the sink).
        package var bucket = "bench"
        /// Scratch space (the generated file, configs, logs).
        package var workDirectory: String = NSTemporaryDirectory() + "csvstorm-bench-upload"

        package init() {}
    }

    package struct Run: Sendable, Codable, Equatable {
        package var client: String
        package var command: [String]
        package var bytes: Int
        package var cost: ProcessCost
        /// CPU seconds (user + system) per GiB uploaded.
        package var cpuSecondsPerGiB: Double
        /// Wall throughput, MB/s (10^6 bytes).
        package var megabytesPerSecond: Double
        /// Bytes the sink received during the run (all request bodies).
        package var sinkBytes: Int
        /// CPU seconds (user + system) of this process — the in-process sink — per GiB during
        /// the run: how much the server side cost (nil with an external endpoint).
        package var sinkCPUSecondsPerGiB: Double?
        package var sinkRequests: [String: Int]
    }

    package struct Report: Sendable, Codable, Equatable {
        package var server: String
        package var fileBytes: Int
        package var partSize: Int
        package var concurrency: Int
        package var runs: [Run]
        package var memoryCheck: Run?

        /// The run with the least CPU per GiB for a client.
        package func best(_ client: String) -> Run? {
            self.runs.filter { $0.client == client }.min { $0.cpuSecondsPerGiB < $1.cpuSecondsPerGiB }
        }

        /// The fastest run (wall) for a client.
        package func fastest(_ client: String) -> Run? {
            self.runs.filter { $0.client == client }.max { $0.megabytesPerSecond < $1.megabytesPerSecond }
        }
    }

    package struct Failure: Error, CustomStringConvertible {
        package var description: String
    }

    package let configuration: Configuration

    package init(configuration: Configuration) {
        self.configuration = configuration
    }

    /// Runs everything against a sink started here; `log` gets one line per step.
    package func run(log: @escaping @Sendable (String) -> Void) async throws -> Report {
        let c = self.configuration
        try FileManager.default.createDirectory(atPath: c.workDirectory, withIntermediateDirectories: true)
        let file = try await self.prepareFile(log: log)
        let fileBytes = Int((try FileManager.default.attributesOfItem(atPath: file)[.size] as? NSNumber)?.int64Value ?? 0)

        if let endpoint = c.endpoint {
            return try await self.run(file: file, fileBytes: fileBytes, endpoint: endpoint, sink: nil, server: "\(endpoint) (external)", log: log)
        }
        // The sink trusts Content-MD5 (s5cmd sends it) rather than spend ~2 CPU s/GiB checking
        // it in this process; CRC32C (csvstorm) is still verified.
        return try await S3Sink.withSink(verifyContentMD5: false) { sink in
            try await self.run(
                file: file, fileBytes: fileBytes, endpoint: sink.endpoint, sink: sink,
                server: "csvstorm S3 sink (in-process NIO server on 127.0.0.1:\(sink.port); discards bytes, verifies CRC32C, trusts Content-MD5)", log: log
            )
        }
    }

    private func run(file: String, fileBytes: Int, endpoint: String, sink: S3Sink?, server: String, log: @escaping @Sendable (String) -> Void) async throws -> Report {
        let c = self.configuration
        let bucket = c.bucket
        let environment = try self.clientEnvironment(external: sink == nil)
        var runs: [Run] = []
        var clients: [(String, [String])] = [
            ("csvstorm", [c.csvstorm, "upload", file, "s3://\(bucket)/csvstorm.csv", "--endpoint-url", endpoint,
                          "--part-size", "\(c.partSize)B", "--concurrency", "\(c.concurrency)", "--quiet",
                          "--record", c.workDirectory + "/csvstorm-record.json"]),
        ]
        if c.includeAWSCLI {
            clients.append(("awscli", ["aws", "s3", "cp", file, "s3://\(bucket)/awscli.csv", "--endpoint-url", endpoint, "--only-show-errors"]))
        }
        if c.includeS5cmd {
            clients.append(("s5cmd", ["s5cmd", "--endpoint-url", endpoint, "cp", "-c", "\(c.concurrency)", "-p", "\(max(5, c.partSize >> 20))", file, "s3://\(bucket)/s5cmd.csv"]))
        }
        for round in 1...max(1, c.repeats) {
            for (client, command) in clients {
                let run = try await self.measure(client: client, command: command, bytes: fileBytes, environment: environment, sink: sink)
                log(Self.describe(run, round: round))
                runs.append(run)
            }
        }
        var memoryCheck: Run?
        if let size = c.memoryCheckSize {
            let command = [c.csvstorm, "upload", "--generate", c.schemaPath, "--size", "\(size)B", "--seed", "7", "s3://\(bucket)/generated.csv",
                           "--endpoint-url", endpoint, "--part-size", "\(c.partSize)B", "--concurrency", "\(c.concurrency)", "--quiet"]
            let run = try await self.measure(client: "csvstorm-generate", command: command, bytes: size, environment: environment, sink: sink)
            log(Self.describe(run, round: 1) + ", peak RSS \(run.cost.peakRSSBytes >> 20) MiB")
            memoryCheck = run
        }
        return Report(
            server: server, fileBytes: fileBytes, partSize: c.partSize, concurrency: c.concurrency, runs: runs, memoryCheck: memoryCheck
        )
    }

    private func measure(client: String, command: [String], bytes: Int, environment: [String: String], sink: S3Sink?) async throws -> Run {
        let before = sink?.statistics ?? S3Sink.Statistics()
        let stderrPath = self.configuration.workDirectory + "/\(client).stderr"
        let cpuBefore = Self.ownCPUSeconds()
        let cost = try await NIOThreadPool.singleton.runIfActive {
            try MeasuredProcess.run(command[0], Array(command.dropFirst()), environment: environment, stderrPath: stderrPath)
        }
        let ownCPU = Self.ownCPUSeconds() - cpuBefore
        let after = sink?.statistics ?? S3Sink.Statistics()
        guard cost.exitStatus == 0 else {
            let message = (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? ""
            throw Failure(description: "\(client) exited with status \(cost.exitStatus): \(message.suffix(2000))")
        }
        var requests: [String: Int] = [:]
        for (name, count) in after.requests where count != before.requests[name] { requests[name] = count - (before.requests[name] ?? 0) }
        let sinkBytes = after.bodyBytes - before.bodyBytes
        guard sink == nil || sinkBytes >= bytes else {
            throw Failure(description: "\(client) exited 0 but the sink received \(sinkBytes) of \(bytes) bytes")
        }
        return Run(
            client: client, command: command, bytes: bytes, cost: cost,
            cpuSecondsPerGiB: cost.cpuSeconds / (Double(bytes) / Double(1 << 30)),
            megabytesPerSecond: Double(bytes) / cost.wallSeconds / 1e6,
            sinkBytes: sinkBytes, sinkCPUSecondsPerGiB: sink == nil ? nil : ownCPU / (Double(bytes) / Double(1 << 30)),
            sinkRequests: requests
        )
    }

    /// Dummy credentials, and an awscli config with the same part size and concurrency.
    private func clientEnvironment(external: Bool) throws -> [String: String] {
        let c = self.configuration
        let config = c.workDirectory + "/aws-config"
        let partMiB = max(5, c.partSize >> 20)
        try """
        [default]
        region = us-east-1
        s3 =
          multipart_threshold = \(partMiB)MB
          multipart_chunksize = \(partMiB)MB
          max_concurrent_requests = \(c.concurrency)
          max_queue_size = 1000

        """.write(toFile: config, atomically: true, encoding: .utf8)
        var environment = ProcessInfo.processInfo.environment
        environment["AWS_CONFIG_FILE"] = config
        environment["AWS_SHARED_CREDENTIALS_FILE"] = "/dev/null"
        if !external || environment["AWS_ACCESS_KEY_ID"] == nil {
            environment["AWS_ACCESS_KEY_ID"] = "bench"
            environment["AWS_SECRET_ACCESS_KEY"] = "bench"
            environment.removeValue(forKey: "AWS_SESSION_TOKEN")
        }
        environment["AWS_REGION"] = "us-east-1"
        environment["AWS_DEFAULT_REGION"] = "us-east-1"
        environment.removeValue(forKey: "AWS_PROFILE")
        return environment
    }

    /// The given file, or a generated CSV of ``Configuration/fileSize`` bytes (kept between runs
    /// when its size matches).
    private func prepareFile(log: @escaping @Sendable (String) -> Void) async throws -> String {
        let c = self.configuration
        if let path = c.filePath { return path }
        let path = c.workDirectory + "/upload-\(c.fileSize).csv"
        if let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue, size >= c.fileSize {
            log("using \(path) (\(ByteSize.format(size)))")
            return path
        }
        log("generating \(ByteSize.format(c.fileSize)) into \(path)")
        let schema = try SchemaLoader.load(path: c.schemaPath)
        let recipe = DatasetRecipe(schema: schema, seed: 42, size: .bytes(c.fileSize))
        try await NIOThreadPool.singleton.runIfActive {
            let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            guard fd >= 0 else { throw Failure(description: "cannot create \(path): \(String(cString: strerror(errno)))") }
            defer { close(fd) }
            _ = try DatasetGenerator.write(schema: schema, recipe: recipe, threads: ProcessInfo.processInfo.activeProcessorCount, to: fd)
        }
        return path
    }

    /// User + system CPU seconds of this process so far.
    static func ownCPUSeconds() -> Double {
        var usage = rusage()
        #if os(Linux)
        getrusage(RUSAGE_SELF.rawValue, &usage)
        #else
        getrusage(RUSAGE_SELF, &usage)
        #endif
        return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6 + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
    }

    static func describe(_ run: Run, round: Int) -> String {
        let requests = run.sinkRequests.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        let figures = String(
            format: "%.1f MB/s wall, %.2f CPU s/GiB (user %.2f s, sys %.2f s, wall %.2f s), peak RSS %d MiB",
            run.megabytesPerSecond, run.cpuSecondsPerGiB, run.cost.userSeconds, run.cost.systemSeconds, run.cost.wallSeconds,
            run.cost.peakRSSBytes >> 20
        )
        let server = run.sinkCPUSecondsPerGiB.map { String(format: ", sink %.2f CPU s/GiB", $0) } ?? ""
        return "\(run.client) #\(round): \(figures); sink: \(requests)\(server)"
    }
}
