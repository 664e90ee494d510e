import ArgumentParser
import Foundation
import Harness
import SyntheticData

/// `csvstorm bench upload`: upload cost and speed of csvstorm vs `aws s3 cp` vs `s5cmd cp`.
/// (Meant to live under `csvstorm bench` as `upload` once `Bench` lists it.)
struct BenchUpload: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "upload",
        abstract: "Upload CPU cost and throughput: csvstorm vs aws s3 cp vs s5cmd cp, one run, one local S3 sink.",
        discussion: """
        Starts a local S3 sink (in this process: accepts multipart uploads, discards the bytes, verifies CRC32C \
        and trusts Content-MD5), makes or reuses a generated CSV file, then uploads it with each client as a \
        child process with the same part size and parts in flight, measuring CPU seconds (user+sys, from \
        wait4) per GiB, wall MB/s and peak RSS; then csvstorm's peak RSS for a generate-and-upload of \
        --memory-size. With --endpoint-url the clients upload to that server instead (e.g. \
        `csvstorm emulate`, with its credentials in AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY and --bucket raw). \
        Build with -c release first.

        Example:
          .build-release/release/csvstorm bench upload --size 2GiB --part-size 8MiB --concurrency 16 --memory-size 10GiB
        """
    )

    @Option(help: "Upload this file instead of a generated one.")
    var file: String?

    @Option(help: "Size of the generated file (\(ByteSize.unitNames)).")
    var size = "2GiB"

    @Option(help: "Part size for every client (MiB granularity for awscli and s5cmd).")
    var partSize = "8MiB"

    @Option(help: "Parts in flight for every client.")
    var concurrency = 16

    @Option(help: "Runs per client, alternating clients.")
    var repeats = 1

    @Option(help: "Size of csvstorm's generate-and-upload memory check; 0 skips it.")
    var memorySize = "10GiB"

    @Option(help: "Schema of the generated data.")
    var schema = "generators/customers.yaml"

    @Option(name: .customLong("endpoint-url"), help: "Use this S3 endpoint (e.g. csvstorm emulate) instead of the in-process sink; credentials from the environment.")
    var endpointURL: String?

    @Option(help: "Bucket to upload into (must exist on an external endpoint).")
    var bucket = "bench"

    @Flag(help: "Leave out aws s3 cp.")
    var skipAwscli = false

    @Flag(help: "Leave out s5cmd.")
    var skipS5cmd = false

    @Option(help: "Write the report as JSON here.")
    var json: String?

    func validate() throws {
        guard let size = ByteSize(parsing: size), size.bytes > 0 else { throw ValidationError("--size '\(size)' is not a size (\(ByteSize.unitNames))") }
        guard let part = ByteSize(parsing: partSize), part.bytes >= 5 << 20, part.bytes % (1 << 20) == 0 else {
            throw ValidationError("--part-size '\(partSize)' must be a whole number of MiB, at least 5MiB")
        }
        guard ByteSize(parsing: memorySize) != nil || memorySize == "0" else { throw ValidationError("--memory-size '\(memorySize)' is not a size (\(ByteSize.unitNames))") }
        guard (1...256).contains(concurrency) else { throw ValidationError("--concurrency must be between 1 and 256, found \(concurrency)") }
        guard (1...20).contains(repeats) else { throw ValidationError("--repeats must be between 1 and 20, found \(repeats)") }
    }

    func run() async throws {
        var configuration = UploadBenchmark.Configuration()
        configuration.filePath = file
        configuration.fileSize = ByteSize(parsing: size)!.bytes
        configuration.partSize = ByteSize(parsing: partSize)!.bytes
        configuration.concurrency = concurrency
        configuration.repeats = repeats
        configuration.memoryCheckSize = memorySize == "0" ? nil : ByteSize(parsing: memorySize).flatMap { $0.bytes > 0 ? $0.bytes : nil }
        configuration.schemaPath = schema
        configuration.endpoint = endpointURL
        configuration.bucket = bucket
        configuration.includeAWSCLI = !skipAwscli
        configuration.includeS5cmd = !skipS5cmd
        let report = try await UploadBenchmark(configuration: configuration).run { print($0) }

        print("")
        print("summary (\(report.server); \(ByteSize.format(report.fileBytes)) file, \(ByteSize.format(report.partSize)) parts, \(report.concurrency) in flight; best of \(repeats)):")
        guard let ours = report.best("csvstorm"), let oursFast = report.fastest("csvstorm") else { return }
        print(String(format: "  csvstorm: %.3f CPU s/GiB, %.0f MB/s", ours.cpuSecondsPerGiB, oursFast.megabytesPerSecond))
        for peer in ["awscli", "s5cmd"] {
            guard let theirs = report.best(peer), let theirsFast = report.fastest(peer) else { continue }
            let figures = String(format: "%.3f CPU s/GiB, %.0f MB/s", theirs.cpuSecondsPerGiB, theirsFast.megabytesPerSecond)
            let cpuRatio = String(format: "%.3f", ours.cpuSecondsPerGiB / theirs.cpuSecondsPerGiB)
            let wallRatio = String(format: "%.2f", oursFast.megabytesPerSecond / theirsFast.megabytesPerSecond)
            print("  \(peer): \(figures); CPU per GiB csvstorm/\(peer) = \(cpuRatio), wall throughput csvstorm/\(peer) = \(wallRatio)x")
        }
        if let memory = report.memoryCheck {
            print("  csvstorm generate-and-upload of \(ByteSize.format(memory.bytes)): peak RSS \(memory.cost.peakRSSBytes >> 20) MiB, \(Int(memory.megabytesPerSecond)) MB/s")
        }
        if let json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(report).write(to: URL(fileURLWithPath: json))
        }
    }
}
