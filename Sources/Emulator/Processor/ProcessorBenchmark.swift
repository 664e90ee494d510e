import Foundation
import SyntheticData

/// `csvstorm bench process`: the processor's throughput on one core, over a generated CSV
/// held in memory and fed in fixed-size chunks (as the pipeline streams an object).
package struct ProcessorBenchmark {
    package struct Configuration: Sendable {
        package var schemaPath: String
        /// Bytes of CSV to generate. Default 256 MiB.
        package var bytes: Int = 256 << 20
        /// Chunk size fed to the processor. Default 1 MiB.
        package var chunkBytes: Int = 1 << 20
        /// Runs; the best is reported. Default 3.
        package var repeats: Int = 3
        /// Scrub (validate + mask + redact) or validate only. Default true.
        package var scrub: Bool = true
        package var seed: UInt64 = 42

        package init(schemaPath: String) { self.schemaPath = schemaPath }
    }

    package struct Run: Sendable, Codable {
        package var seconds: Double
        package var cpuSeconds: Double
        package var megabytesPerSecond: Double
        package var megabytesPerCPUSecond: Double
    }

    package struct Report: Sendable, Codable {
        package var schema: String
        package var bytes: Int
        package var rows: Int
        package var bytesOut: Int
        package var scrub: Bool
        package var chunkBytes: Int
        package var runs: [Run]
        package var redactions: RedactionCounts

        package var best: Run? { runs.max { $0.megabytesPerCPUSecond < $1.megabytesPerCPUSecond } }
    }

    package let configuration: Configuration

    package init(configuration: Configuration) { self.configuration = configuration }

    /// Generates the input, then processes it `repeats` times; `log` gets a line per step.
    package func run(log: (String) -> Void) throws -> Report {
        let schema = try SchemaLoader.load(path: configuration.schemaPath)
        var input: [UInt8] = []
        input.reserveCapacity(configuration.bytes + (1 << 16))
        let recipe = try DatasetGenerator.write(schema: schema, recipe: DatasetRecipe(schema: schema, seed: configuration.seed, size: .bytes(configuration.bytes)), threads: 2) {
            input.append(contentsOf: $0)
        }
        log("generated \(input.count) bytes (\(recipe.rows) rows) of \(schema.name) in memory")
        let processorConfiguration = configuration.scrub
            ? CSVProcessor.Configuration(schema: schema)
            : CSVProcessor.Configuration(expectedHeader: schema.columnNames)
        var runs: [Run] = []
        var last: ProcessorSummary?
        for index in 0..<max(1, configuration.repeats) {
            var processor = CSVProcessor(configuration: processorConfiguration)
            var checksum = 0
            let sink: (UnsafeRawBufferPointer) -> Void = { checksum &+= $0.count }
            let clock = ContinuousClock()
            let cpuStart = Self.threadCPUSeconds()
            let start = clock.now
            input.withUnsafeBytes { bytes in
                var at = 0
                while at < bytes.count {
                    let end = min(bytes.count, at + configuration.chunkBytes)
                    processor.process(UnsafeRawBufferPointer(rebasing: bytes[at..<end]), to: sink)
                    at = end
                }
            }
            let outcome = processor.finish(to: sink)
            let elapsed = clock.now - start
            let cpu = Self.threadCPUSeconds() - cpuStart
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            guard let summary = outcome.summary else {
                throw BenchmarkError(message: "the processor rejected the generated file: \(outcome.error.map(\.description) ?? "?")")
            }
            last = summary
            let run = Run(
                seconds: seconds, cpuSeconds: cpu,
                megabytesPerSecond: Double(input.count) / 1e6 / seconds,
                megabytesPerCPUSecond: Double(input.count) / 1e6 / max(cpu, 1e-9)
            )
            runs.append(run)
            log(String(format: "run %d: %.3f s wall, %.3f s CPU: %.0f MB/s wall, %.0f MB/s per core (output %d bytes)", index + 1, seconds, cpu, run.megabytesPerSecond, run.megabytesPerCPUSecond, checksum))
        }
        return Report(
            schema: schema.name, bytes: input.count, rows: last?.rows ?? 0, bytesOut: last?.bytesOut ?? 0, scrub: configuration.scrub,
            chunkBytes: configuration.chunkBytes, runs: runs, redactions: last?.redactions ?? RedactionCounts()
        )
    }

    /// CPU time of the calling thread.
    static func threadCPUSeconds() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }
}

package struct BenchmarkError: Error, CustomStringConvertible {
    package var message: String
    package var description: String { message }
}
