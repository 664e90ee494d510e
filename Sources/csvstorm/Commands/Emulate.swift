import ArgumentParser
import Emulator
import Foundation
import Logging
import SyntheticData

struct Emulate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve an S3-compatible endpoint on loopback (the emulated pipeline's S3 face).",
        discussion: """
        Buckets raw, processed and failed exist from the start, versioned; processed and failed \
        have Object Lock in compliance mode. Every request must be SigV4-signed with the printed \
        credentials. State lives in --state-dir (default: a temporary directory removed on exit); \
        a restart on the same directory keeps every acknowledged object and in-progress upload.
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

    @Flag(name: .shortAndLong, help: "Log requests that fail (debug level).")
    var verbose = false

    func validate() throws {
        guard (0...65_535).contains(self.port) else { throw ValidationError("--port must be 0...65535, found \(self.port)") }
        guard ByteSize(parsing: self.minPartSize) != nil else {
            throw ValidationError("--min-part-size '\(self.minPartSize)' is not a size; use a number with a unit: \(ByteSize.unitNames)")
        }
        guard self.retentionSeconds > 0 else { throw ValidationError("--retention-seconds must be positive") }
        guard !self.accessKey.isEmpty, !self.secretKey.isEmpty else { throw ValidationError("--access-key and --secret-key must not be empty") }
    }

    func run() async throws {
        var logger = Logger(label: "csvstorm.emulator")
        logger.logLevel = self.verbose ? .debug : .info
        let configuration = EmulatorConfiguration(
            listener: .init(host: self.host, port: self.port),
            credentials: .init(accessKeyId: self.accessKey, secretAccessKey: self.secretKey),
            region: self.region,
            stateDirectory: self.stateDir.map { .path($0) } ?? .temporary,
            buckets: .init(raw: self.rawBucket, processed: self.processedBucket, failed: self.failedBucket, retention: .seconds(self.retentionSeconds)),
            multipart: .init(minimumPartSize: Int64(ByteSize(parsing: self.minPartSize)!.bytes)),
            durability: self.fsync ? .powerLoss : .processCrash,
            verifyPayloadSHA256: !self.skipPayloadSHA256,
            logger: logger
        )
        let temporary = self.stateDir == nil
        try await Emulator.runUntilSignalled(configuration: configuration) { endpoint in
            let c = endpoint.credentials
            let lines = [
                "csvstorm emulate: S3 endpoint \(endpoint.url) (region \(endpoint.region))",
                "  access key: \(c.accessKeyId)",
                "  secret key: \(c.secretAccessKey)",
                "  state dir:  \(endpoint.stateDirectory)\(temporary ? " (temporary, removed on exit)" : "")",
                "  buckets:    \(endpoint.buckets.raw) (versioned), \(endpoint.buckets.processed) and \(endpoint.buckets.failed) (versioned, Object Lock COMPLIANCE)",
                "Try:",
                "  AWS_ACCESS_KEY_ID=\(c.accessKeyId) AWS_SECRET_ACCESS_KEY=\(c.secretAccessKey) AWS_DEFAULT_REGION=\(endpoint.region) aws --endpoint-url \(endpoint.url) s3 ls",
                "Ctrl-C to stop.",
            ]
            // Unbuffered: scripts wait for these lines to find the port.
            FileHandle.standardOutput.write(Data((lines.joined(separator: "\n") + "\n").utf8))
        }
        FileHandle.standardOutput.write(Data("csvstorm emulate: stopped\n".utf8))
    }
}

/// `csvstorm emulate md5-speed`: the single-core MD5 throughput of the implementation the
/// emulator uses for ETags, the physical limit of one upload stream (see scripts/bench-emulate.sh).
struct EmulateBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "md5-speed",
        abstract: "Measure single-core MD5 throughput (the emulator's per-stream limit); prints MB/s."
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
    }
}
