import ArgumentParser
import Emulator
import Foundation
import SyntheticData

/// `csvstorm bench process`: the emulated pipeline's processor (validate + scrub) on one core.
struct BenchProcess: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "process",
        abstract: "Processor throughput (validate + PII scrub) on one core, over generated CSV in memory.",
        discussion: """
        Generates --size of CSV in memory, then feeds it to the processor in --chunk pieces, --repeats \
        times, on one thread, and reports MB/s (10^6 bytes) by wall clock and by the thread's CPU time. \
        The target is 300 MB/s per core for the customers schema. With --task, a whole pipeline \
        task instead: the input is a raw object in a temporary emulator store, read from its file, \
        processed, and written as a processed object (MD5 and commit included). \
        Build with -c release first:
          swift build -c release --product csvstorm --scratch-path .build-release
          .build-release/release/csvstorm bench process --size 256MiB
        """
    )

    @Option(help: "Schema of the generated CSV.")
    var schema = "generators/customers.yaml"

    @Option(help: "Bytes of CSV (\(ByteSize.unitNames)).")
    var size = "256MiB"

    @Option(help: "Chunk size fed to the processor (\(ByteSize.unitNames)).")
    var chunk = "1MiB"

    @Option(help: "Runs; the best is reported.")
    var repeats = 3

    @Flag(help: "Validate only (no masking or redaction, no output).")
    var validateOnly = false

    @Option(help: "Write the report as JSON here.")
    var json: String?

    @Flag(help: "Measure a whole pipeline task (object read, processing, output write and commit).")
    var task = false

    func run() async throws {
        guard let bytes = ByteSize(parsing: size)?.bytes, bytes > 0 else { throw ValidationError("--size '\(size)' is not a size (\(ByteSize.unitNames))") }
        guard let chunkBytes = ByteSize(parsing: chunk)?.bytes, chunkBytes > 0 else { throw ValidationError("--chunk '\(chunk)' is not a size (\(ByteSize.unitNames))") }
        if self.task {
            let runs = try await ProcessorTaskBenchmark.run(schemaPath: schema, bytes: bytes, repeats: max(1, repeats), chunkBytes: chunkBytes) { print($0) }
            if let best = runs.max(by: { $0.megabytesPerCPUSecond < $1.megabytesPerCPUSecond }) {
                print(String(format: "best: %.0f MB/s per CPU-second (%.0f MB/s wall), one task, %@ of %@", best.megabytesPerCPUSecond, best.megabytesPerSecond, size, schema))
            }
            if let json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                try encoder.encode(runs).write(to: URL(fileURLWithPath: json))
            }
            return
        }
        var configuration = ProcessorBenchmark.Configuration(schemaPath: schema)
        configuration.bytes = bytes
        configuration.chunkBytes = chunkBytes
        configuration.repeats = max(1, repeats)
        configuration.scrub = !validateOnly
        let report = try ProcessorBenchmark(configuration: configuration).run { print($0) }
        if let best = report.best {
            let mode = report.scrub ? "validate + scrub" : "validate only"
            let rates = String(format: "%.0f MB/s per core (%.0f MB/s wall)", best.megabytesPerCPUSecond, best.megabytesPerSecond)
            print("best: \(rates), \(mode), \(report.schema) schema, \(report.rows) rows, \(report.bytes >> 20) MiB in chunks of \(report.chunkBytes >> 10) KiB")
            let r = report.redactions
            print("redacted: email \(r.email), phone \(r.phone), ssn \(r.ssn), card \(r.card), iban \(r.iban), ipv4 \(r.ipv4), ipv6 \(r.ipv6); masked fields \(r.maskedFields)")
        }
        if let json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(report).write(to: URL(fileURLWithPath: json))
        }
    }
}
