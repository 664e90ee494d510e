import ArgumentParser
import Foundation
import Harness
import SyntheticData

/// `csvstorm bench …`: performance measurements side by side with a peer tool, in one run.
/// Build with `swift build -c release` first: debug builds are 10–50× slower.
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure csvstorm against peer tools, side by side in one run.",
        subcommands: [BenchGenerate.self, BenchUpload.self, BenchProcess.self, BenchProxy.self]
    )
}

struct BenchGenerate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Generator throughput vs tpchgen-cli (MB/s, MB/s per core) and memory vs output size.",
        discussion: "Needs tpchgen-cli (pip install tpchgen-cli). Example: csvstorm bench generate --size 2GiB --threads 1,2 --repeats 3 --memory"
    )

    @Option(help: "Schema for csvstorm.")
    var schema = "generators/customers.yaml"

    @Option(help: "Bytes per run (\(ByteSize.unitNames)).")
    var size = "2GiB"

    @Option(help: "Thread counts, comma-separated.")
    var threads = "1,2"

    @Option(help: "Runs per tool and thread count (alternating tools).")
    var repeats = 3

    @Flag(help: "Also compare csvstorm's peak RSS for 1 GiB and 10 GiB outputs.")
    var memory = false

    @Option(help: "Write the report as JSON here.")
    var json: String?

    func run() async throws {
        guard let bytes = ByteSize(parsing: size)?.bytes else { throw ValidationError("--size '\(size)' is not a size (\(ByteSize.unitNames))") }
        let counts = threads.split(separator: ",").compactMap { Int($0) }
        guard !counts.isEmpty, counts.allSatisfy({ $0 >= 1 }) else { throw ValidationError("--threads takes a list like 1,2") }
        var configuration = GenerateBenchmark.Configuration(schemaPath: schema, bytes: bytes)
        configuration.threadCounts = counts
        configuration.repeats = max(1, repeats)
        if memory { configuration.memoryCheck = (1 << 30, 10 << 30) }
        let report = try GenerateBenchmark(configuration: configuration).run { print($0) }
        print("")
        print("summary (best of \(configuration.repeats); tpchgen-cli lineitem at scale \(report.tpchScaleFactor)):")
        for count in counts {
            guard let ours = report.best("csvstorm", threads: count), let theirs = report.best("tpchgen-cli", threads: count) else { continue }
            let ratio = ours.megabytesPerCPUSecond / theirs.megabytesPerCPUSecond
            print("  threads=\(count): csvstorm \(Int(ours.megabytesPerSecond)) MB/s (\(Int(ours.megabytesPerCPUSecond)) MB/s per core), tpchgen-cli \(Int(theirs.megabytesPerSecond)) MB/s (\(Int(theirs.megabytesPerCPUSecond)) MB/s per core); per-core ratio \(String(format: "%.2f", ratio))x")
        }
        if let one = report.best("csvstorm", threads: 1), let two = report.best("csvstorm", threads: 2) {
            print("  csvstorm scaling 1→2 threads: \(String(format: "%.2f", two.megabytesPerSecond / one.megabytesPerSecond))x")
        }
        if report.memory.count == 2 {
            print("  csvstorm peak RSS: \(report.memory[0].cost.peakRSSBytes >> 20) MiB for 1 GiB, \(report.memory[1].cost.peakRSSBytes >> 20) MiB for 10 GiB")
        }
        if let json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(report).write(to: URL(fileURLWithPath: json))
        }
    }
}
