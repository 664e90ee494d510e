import Foundation

/// `csvstorm bench generate`: csvstorm's generator against tpchgen-cli (a fast native
/// TPC-H generator) at the same thread counts and about the same output size, in one run,
/// each tool run as a child process writing to /dev/null. Runs alternate between the tools
/// so that a noisy neighbour hurts both alike; the best of `repeats` is reported too.
package struct GenerateBenchmark: Sendable {
    package struct Configuration: Sendable {
        /// csvstorm's schema file.
        package var schemaPath: String
        /// Bytes per csvstorm run; tpchgen's scale factor is chosen to match.
        package var bytes: Int
        package var threadCounts: [Int] = [1, 2]
        package var repeats: Int = 3
        /// Also compare peak memory of a small and a large csvstorm run (sizes in bytes).
        package var memoryCheck: (small: Int, large: Int)?
        package var csvstormExecutable: String = MeasuredProcess.currentExecutable
        package var tpchgenExecutable: String = "tpchgen-cli"

        package init(schemaPath: String, bytes: Int) {
            self.schemaPath = schemaPath
            self.bytes = bytes
        }
    }

    package struct Run: Sendable, Codable {
        package var tool: String
        package var threads: Int
        package var bytes: Int
        package var cost: ProcessCost

        package var megabytesPerSecond: Double { Double(bytes) / 1e6 / cost.wallSeconds }
        package var megabytesPerCPUSecond: Double { Double(bytes) / 1e6 / cost.cpuSeconds }
    }

    package struct Report: Sendable, Codable {
        package var runs: [Run]
        package var memory: [Run]
        package var tpchScaleFactor: Double
    }

    package let configuration: Configuration

    package init(configuration: Configuration) {
        self.configuration = configuration
    }

    /// Runs everything; `log` gets one line per finished run.
    package func run(log: (String) -> Void) throws -> Report {
        // lineitem is ~766 MB of CSV per unit of scale factor.
        let scale = max(0.01, (Double(configuration.bytes) / 766_000_000 * 100).rounded() / 100)
        let tpchBytes = try measureTPCHBytes(scale: scale)
        var runs: [Run] = []
        for threads in configuration.threadCounts {
            for round in 0..<configuration.repeats {
                let ours = try csvstorm(bytes: configuration.bytes, threads: threads)
                runs.append(ours)
                log(describe(ours, round: round))
                let theirs = try tpchgen(scale: scale, threads: threads, bytes: tpchBytes)
                runs.append(theirs)
                log(describe(theirs, round: round))
            }
        }
        var memory: [Run] = []
        if let check = configuration.memoryCheck {
            for size in [check.small, check.large] {
                let run = try csvstorm(bytes: size, threads: configuration.threadCounts.max() ?? 2)
                memory.append(run)
                log("memory: csvstorm \(size >> 20) MiB → peak RSS \(run.cost.peakRSSBytes >> 20) MiB")
            }
        }
        return Report(runs: runs, memory: memory, tpchScaleFactor: scale)
    }

    func csvstorm(bytes: Int, threads: Int) throws -> Run {
        let cost = try MeasuredProcess.run(configuration.csvstormExecutable, [
            "generate", "--schema", configuration.schemaPath, "--size", "\(bytes)", "--seed", "42",
            "--threads", "\(threads)", "--output", "/dev/null", "--quiet",
        ])
        guard cost.exitStatus == 0 else { throw BenchmarkError(message: "csvstorm generate exited \(cost.exitStatus)") }
        return Run(tool: "csvstorm", threads: threads, bytes: bytes, cost: cost)
    }

    func tpchgen(scale: Double, threads: Int, bytes: Int) throws -> Run {
        let cost = try MeasuredProcess.run(configuration.tpchgenExecutable, [
            "csv", "-s", "\(scale)", "--tables", "lineitem", "--stdout", "-n", "\(threads)",
        ])
        guard cost.exitStatus == 0 else { throw BenchmarkError(message: "tpchgen-cli exited \(cost.exitStatus)") }
        return Run(tool: "tpchgen-cli", threads: threads, bytes: bytes, cost: cost)
    }

    /// tpchgen's output size at a scale factor, counted once through a temporary file.
    func measureTPCHBytes(scale: Double) throws -> Int {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("csvstorm-tpch-\(getpid()).csv").path
        defer { unlink(path) }
        let cost = try MeasuredProcess.run(configuration.tpchgenExecutable, ["csv", "-s", "\(scale)", "--tables", "lineitem", "--stdout"], stdoutPath: path)
        guard cost.exitStatus == 0 else { throw BenchmarkError(message: "tpchgen-cli exited \(cost.exitStatus); is it installed (pip install tpchgen-cli)?") }
        let size = (try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        return size
    }

    func describe(_ run: Run, round: Int) -> String {
        let mbps = Int(run.megabytesPerSecond.rounded())
        let percore = Int(run.megabytesPerCPUSecond.rounded())
        return "\(run.tool) threads=\(run.threads) round=\(round + 1): \(run.bytes / 1_000_000) MB in \(String(format: "%.2f", run.cost.wallSeconds)) s, cpu \(String(format: "%.2f", run.cost.cpuSeconds)) s → \(mbps) MB/s, \(percore) MB/s per core, peak RSS \(run.cost.peakRSSBytes >> 20) MiB"
    }
}

extension GenerateBenchmark.Report {
    /// The best (fastest wall) run of a tool at a thread count.
    package func best(_ tool: String, threads: Int) -> GenerateBenchmark.Run? {
        runs.filter { $0.tool == tool && $0.threads == threads }.min { $0.cost.wallSeconds < $1.cost.wallSeconds }
    }

    package func median(_ tool: String, threads: Int) -> GenerateBenchmark.Run? {
        let sorted = runs.filter { $0.tool == tool && $0.threads == threads }.sorted { $0.cost.wallSeconds < $1.cost.wallSeconds }
        return sorted.isEmpty ? nil : sorted[sorted.count / 2]
    }
}

package struct BenchmarkError: Error, CustomStringConvertible {
    package var message: String
    package var description: String { message }
}
