import ArgumentParser
import Emulator
import Foundation
import Logging
import SyntheticData

struct Emulate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve the emulated pipeline on loopback: S3, the job ledger (DynamoDB), the RetryQueue (SQS), Step Functions.",
        discussion: """
        Buckets raw, processed and failed exist from the start, versioned; processed and failed \
        have Object Lock in compliance mode. An object created in raw starts a workflow \
        execution: ledger record, a Fargate-like task running the processor (validate, scrub PII, \
        write to processed or failed), ledger SUCCEEDED or FAILED. The ledger and the RetryQueue \
        answer the DynamoDB and SQS JSON APIs on the same port. Every request must be \
        SigV4-signed with the printed credentials. State lives in --state-dir (default: a \
        temporary directory removed on exit); a restart on the same directory keeps every \
        acknowledged object, upload, ledger record and queued event, and resumes executions.
        Examples:
          csvstorm emulate
          csvstorm emulate --port 9000 --state-dir /var/tmp/csvstorm-s3
          csvstorm emulate md5-speed
        """,
        subcommands: [EmulateServe.self, EmulateBench.self],
        defaultSubcommand: EmulateServe.self
    )
}

struct EmulateServe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve until Ctrl-C (the default subcommand)."
    )

    @Option(help: "Address to listen on. The endpoint speaks plain HTTP: keep it on loopback.")
    var host: String = "127.0.0.1"

    @Option(help: "Port to listen on (0: any free port; the real one is printed).")
    var port: Int = 4566

    @Option(help: "Keep state in this directory (created if missing) instead of a temporary one.")
    var stateDir: String?

    @Option(help: "The access key id clients must sign with.")
    var accessKey: String = EmulatorConfiguration.Credentials().accessKeyId

    @Option(help: "The secret access key clients must sign with.")
    var secretKey: String = EmulatorConfiguration.Credentials().secretAccessKey

    @Option(help: "The region the endpoint reports.")
    var region: String = "us-east-1"

    @Option(help: "Name of the raw (upload) bucket.")
    var rawBucket: String = "raw"

    @Option(help: "Name of the processed bucket.")
    var processedBucket: String = "processed"

    @Option(help: "Name of the failed bucket.")
    var failedBucket: String = "failed"

    @Option(help: "Object Lock retention of new versions in processed/failed, in seconds.")
    var retentionSeconds: Int64 = 86_400

    @Option(help: "Smallest multipart part except the last (\(ByteSize.unitNames)); S3's is 5MiB.")
    var minPartSize: String = "5MiB"

    @Flag(help: "fsync object files and commit metadata with synchronous=FULL (survives power loss; slower).")
    var fsync = false

    @Flag(help: "Do not check bodies against a signed x-amz-content-sha256 (saves a SHA-256 pass per byte; for measurements).")
    var skipPayloadSHA256 = false

    @Option(help: "A request body (1 MiB and more) is read from its socket in up to 256 KiB reads while at most this many are in flight, else in NIO's 64 KiB reads (0: never). Larger reads cost less CPU per GiB but more memory with many concurrent uploads.")
    var largeReadBodies: Int = 16

    @Flag(help: "Hash each body's MD5 on its own request task instead of on the shared MD5 thread that batches concurrent bodies into SIMD lanes (for measurements).")
    var noBatchedMd5 = false

    @Flag(help: "Write large request bodies through the page cache instead of with O_DIRECT (for measurements).")
    var noDirectWrites = false

    @Flag(help: "Wait for each direct write of a request body instead of keeping several in flight (for measurements).")
    var synchronousDirectWrites = false

    @Flag(name: .shortAndLong, help: "Log requests that fail (debug level).")
    var verbose = false

    @Flag(help: "Serve the S3 face only: no events, workflow, ledger or queue.")
    var noPipeline = false

    @Option(help: "Multiplies task launch latency (20–60 s) and processing time (5–10 min); API-level limits and retries keep real time. 0.01: a task takes 3–6 s.")
    var timeScale: Double = 0.01

    @Option(name: .customLong("schema"), help: "A schema the processor knows (validate against it, mask its PII columns); repeatable. Default: generators/*.yaml when present.")
    var schemas: [String] = []

    @Option(help: "Fargate: at most this many tasks run at once.")
    var maxRunningTasks: Int = 100

    @Option(help: "Fargate RunTask token bucket: burst.")
    var runTaskBurst: Int = 100

    @Option(help: "Fargate RunTask token bucket: refill per second.")
    var runTaskRefill: Double = 20

    @Option(help: "Fraction of events delivered twice (EventBridge is at-least-once).")
    var duplicateRate: Double = 0

    @Option(help: "Only keys with this prefix start an execution.")
    var rulePrefix: String = ""

    @Option(help: "Only keys with this suffix start an execution.")
    var ruleSuffix: String = ""

    @Option(help: "The rule target's MaximumRetryAttempts (0…185).")
    var maxEventRetries: Int = 185

    @Option(help: "The rule target's MaximumEventAgeInSeconds (60…86400).")
    var maxEventAge: Int = 86_400

    @Option(help: "Seeds jitter, latency and duration draws.")
    var seed: UInt64 = 1

    func validate() throws {
        guard (0...65_535).contains(self.port) else { throw ValidationError("--port must be 0...65535, found \(self.port)") }
        guard self.largeReadBodies >= 0 else { throw ValidationError("--large-read-bodies must be 0 or more, found \(self.largeReadBodies)") }
        guard ByteSize(parsing: self.minPartSize) != nil else {
            throw ValidationError("--min-part-size '\(self.minPartSize)' is not a size; use a number with a unit: \(ByteSize.unitNames)")
        }
        guard self.retentionSeconds > 0 else { throw ValidationError("--retention-seconds must be positive") }
        guard !self.accessKey.isEmpty, !self.secretKey.isEmpty else { throw ValidationError("--access-key and --secret-key must not be empty") }
        let problems = self.pipelineConfiguration(schemas: []).problems
        guard problems.isEmpty else { throw ValidationError(problems.joined(separator: "\n")) }
    }

    func pipelineConfiguration(schemas: [Schema]) -> PipelineConfiguration {
        PipelineConfiguration(
            rule: .init(prefix: self.rulePrefix, suffix: self.ruleSuffix),
            eventRetryPolicy: .init(maximumRetryAttempts: self.maxEventRetries, maximumEventAgeSeconds: self.maxEventAge),
            duplicateRate: self.duplicateRate,
            launcher: .init(burst: self.runTaskBurst, refillPerSecond: self.runTaskRefill, maxRunningTasks: self.maxRunningTasks),
            processor: .init(schemas: schemas),
            timeScale: self.timeScale,
            seed: self.seed
        )
    }

    /// --schema files, or generators/*.yaml in the working directory.
    func loadSchemas() throws -> [Schema] {
        var paths = self.schemas
        if paths.isEmpty {
            let directory = "generators"
            let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
            paths = names.filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }.sorted().map { "\(directory)/\($0)" }
        }
        return try paths.map { path in
            do {
                return try SchemaLoader.load(path: path)
            } catch {
                throw CommandFailure(message: "\(error)", exitCode: 104)
            }
        }
    }

    func run() async throws {
        var logger = Logger(label: "csvstorm.emulator")
        logger.logLevel = self.verbose ? .debug : .info
        var configuration = EmulatorConfiguration(
            listener: .init(host: self.host, port: self.port),
            credentials: .init(accessKeyId: self.accessKey, secretAccessKey: self.secretKey),
            region: self.region,
            stateDirectory: self.stateDir.map { .path($0) } ?? .temporary,
            buckets: .init(raw: self.rawBucket, processed: self.processedBucket, failed: self.failedBucket, retention: .seconds(self.retentionSeconds)),
            multipart: .init(minimumPartSize: Int64(ByteSize(parsing: self.minPartSize)!.bytes)),
            durability: self.fsync ? .powerLoss : .processCrash,
            verifyPayloadSHA256: !self.skipPayloadSHA256,
            batchedMD5: !self.noBatchedMd5,
            logger: logger,
            pipeline: self.noPipeline ? nil : self.pipelineConfiguration(schemas: try self.loadSchemas())
        )
        configuration.largeReadBodies = self.largeReadBodies
        configuration.directWrites = !self.noDirectWrites
        configuration.asynchronousDirectWrites = !self.synchronousDirectWrites
        let temporary = self.stateDir == nil
        let schemaNames = configuration.pipeline.map { $0.processor.schemas.map(\.name) } ?? []
        try await Emulator.runUntilSignalled(configuration: configuration) { endpoint in
            let c = endpoint.credentials
            let lines = [
                "csvstorm emulate: S3 endpoint \(endpoint.url) (region \(endpoint.region))",
                "  access key: \(c.accessKeyId)",
                "  secret key: \(c.secretAccessKey)",
                "  state dir:  \(endpoint.stateDirectory)\(temporary ? " (temporary, removed on exit)" : "")",
                "  buckets:    \(endpoint.buckets.raw) (versioned), \(endpoint.buckets.processed) and \(endpoint.buckets.failed) (versioned, Object Lock COMPLIANCE)",
            ]
            var more: [String] = []
            if let pipeline = endpoint.pipeline {
                more = [
                    "  pipeline:   time scale \(pipeline.configuration.timeScale); schemas: \(schemaNames.isEmpty ? "none (any header, detectors only)" : schemaNames.joined(separator: ", "))",
                    "  job table:  \(pipeline.configuration.jobTableName) (DynamoDB API on the same endpoint)",
                    "  queue:      \(pipeline.configuration.retryQueueName) (SQS API on the same endpoint)",
                    "  health:     \(endpoint.url)/_csvstorm/health, executions: \(endpoint.url)/_csvstorm/executions",
                ]
            }
            let env = "AWS_ACCESS_KEY_ID=\(c.accessKeyId) AWS_SECRET_ACCESS_KEY=\(c.secretAccessKey) AWS_DEFAULT_REGION=\(endpoint.region)"
            more += ["Try:", "  \(env) aws --endpoint-url \(endpoint.url) s3 ls"]
            if let pipeline = endpoint.pipeline {
                more.append("  \(env) aws --endpoint-url \(endpoint.url) dynamodb scan --table-name \(pipeline.configuration.jobTableName)")
            }
            more.append("Ctrl-C to stop.")
            // Unbuffered: scripts wait for these lines to find the port.
            FileHandle.standardOutput.write(Data(((lines + more).joined(separator: "\n") + "\n").utf8))
        }
        FileHandle.standardOutput.write(Data("csvstorm emulate: stopped (body digests: \(BodyDigestEngine.shared.currentStatistics.summary))\n".utf8))
    }
}

/// `csvstorm emulate md5-speed`: the single-core MD5 throughput of the implementation the
/// emulator uses for ETags, the physical limit of one upload stream (see scripts/bench-emulate.sh).
struct EmulateBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "md5-speed",
        abstract: "Measure single-core MD5 throughput (swift-crypto's, the per-stream limit) and the emulator's MD5 kernels; prints MB/s."
    )

    @Option(help: "Bytes to hash per repeat (\(ByteSize.unitNames)).")
    var size: String = "1GiB"

    @Option(help: "Repeats; the best is reported.")
    var repeats: Int = 3

    func validate() throws {
        guard ByteSize(parsing: self.size) != nil else {
            throw ValidationError("--size '\(self.size)' is not a size; use a number with a unit: \(ByteSize.unitNames)")
        }
        guard self.repeats >= 1 else { throw ValidationError("--repeats must be at least 1") }
    }

    func run() async throws {
        let bytes = ByteSize(parsing: self.size)!.bytes
        let best = EmulatorBenchmarks.md5Throughput(bytes: bytes, repeats: self.repeats)
        print(String(format: "md5 %.1f MB/s (single core, %@ x %d, best)", best / 1e6, self.size, self.repeats))
        // The emulator's own kernels on the same core: scalar, and the SIMD lanes the MD5
        // thread fills with concurrent bodies (aggregate over all lanes).
        for lanes in [1, 8, 16] {
            guard let rate = EmulatorBenchmarks.md5KernelThroughput(lanes: lanes, bytes: bytes, repeats: self.repeats) else { continue }
            print(String(format: "csvstorm-md5 lanes %d: %.1f MB/s aggregate (%.2fx swift-crypto)", lanes, rate / 1e6, rate / best))
        }
    }
}
