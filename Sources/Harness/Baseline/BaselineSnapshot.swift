import Foundation
import SyntheticData

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The values a baseline comparison reads, from either file it accepts: a run's summary.json or
/// a baseline file (`csvstorm run --write-baseline`), which is summary.json trimmed to what can be
/// compared — `latencies` (metrics with samples), `rates`, `throughput` — plus the scenario and
/// `recorded` (when, from which run, which csvstorm build, on which machine). Both have
/// `schemaVersion` 1 and the same field names, so either can be the baseline of the other.
package struct BaselineSnapshot: Sendable, Codable, Equatable {
    package static let kindName = "csvstorm-baseline"

    package var schemaVersion: Int
    /// `csvstorm-baseline` in a baseline file; absent in summary.json.
    package var kind: String?
    package var scenario: RunSummary.ScenarioInfo
    package var durationSeconds: Double?
    /// summary.json's outcome (absent in a baseline file, which is only written from a passing run).
    package var outcome: String?
    package var latencies: [String: RunSummary.LatencyStats]
    package var rates: [String: RunSummary.RateStats]
    package var throughput: RunSummary.Throughput?
    /// Where a baseline file came from; absent in summary.json.
    package var recorded: Recorded?

    package struct Recorded: Sendable, Codable, Equatable {
        /// When the run started (ISO 8601 UTC).
        package var at: String
        /// The results folder of the run it was taken from.
        package var run: String?
        package var csvstorm: Build
        package var machine: Machine
        /// Free text (`--machine-note`): what else ran, which CI runner, …
        package var note: String?
    }

    package struct Build: Sendable, Codable, Equatable {
        /// `git rev-parse HEAD` in the working directory, when it is a git checkout.
        package var gitCommit: String?
        /// Whether tracked files differed from that commit (`git status --porcelain`).
        package var gitDirty: Bool?
        /// `debug` or `release`: how this csvstorm binary was compiled.
        package var build: String
    }

    package struct Machine: Sendable, Codable, Equatable {
        package var os: String
        package var arch: String
        package var cpus: Int
        package var memoryBytes: UInt64
        /// 1, 5 and 15 minute load averages when the baseline was written (a busy machine
        /// records slower numbers).
        package var loadAverage: [Double]?
    }

    package init(schemaVersion: Int = RunSummary.currentSchemaVersion, kind: String? = nil, scenario: RunSummary.ScenarioInfo, durationSeconds: Double? = nil, outcome: String? = nil,
                 latencies: [String: RunSummary.LatencyStats], rates: [String: RunSummary.RateStats], throughput: RunSummary.Throughput?, recorded: Recorded? = nil) {
        self.schemaVersion = schemaVersion
        self.kind = kind
        self.scenario = scenario
        self.durationSeconds = durationSeconds
        self.outcome = outcome
        self.latencies = latencies
        self.rates = rates
        self.throughput = throughput
        self.recorded = recorded
    }

    /// The comparable part of a run's summary.
    package init(summary: RunSummary) {
        self.init(
            scenario: summary.scenario, durationSeconds: summary.durationSeconds, outcome: summary.outcome,
            latencies: summary.latencies, rates: summary.rates, throughput: summary.throughput
        )
    }

    /// A baseline file from a run: latencies without samples are left out, `recorded` filled in.
    package static func baseline(from summary: RunSummary, run: String?, note: String?) -> BaselineSnapshot {
        BaselineSnapshot(
            kind: kindName, scenario: summary.scenario, durationSeconds: summary.durationSeconds,
            latencies: summary.latencies.filter { $0.value.count > 0 }, rates: summary.rates, throughput: summary.throughput,
            recorded: Recorded(at: summary.start, run: run, csvstorm: .current(), machine: .current(), note: note)
        )
    }

    // MARK: Files

    /// Reads a baseline file or a summary.json (a results folder means its summary.json).
    /// Errors name the file and say what is wrong; a missing file says how to record one.
    package static func load(path: String) throws(ConfigError) -> BaselineSnapshot {
        var file = path
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            file = URL(fileURLWithPath: path).appendingPathComponent("summary.json").path
        }
        guard FileManager.default.fileExists(atPath: file) else {
            throw ConfigError(file: file, message: "no such file (a run's summary.json, or a baseline recorded with `csvstorm run SCENARIO --write-baseline \(file)`)")
        }
        guard let data = FileManager.default.contents(atPath: file) else {
            throw ConfigError(file: file, message: "cannot read the file")
        }
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: data)
        } catch {
            throw ConfigError(file: file, message: "not JSON: \(error.localizedDescription)")
        }
        guard let dictionary = object as? [String: Any] else {
            throw ConfigError(file: file, message: "expected a JSON object (a summary.json or a baseline file)")
        }
        guard let version = dictionary["schemaVersion"] as? Int else {
            throw ConfigError(file: file, message: "no schemaVersion: not a csvstorm summary.json or baseline file")
        }
        guard version == RunSummary.currentSchemaVersion else {
            throw ConfigError(file: file, message: "schemaVersion \(version) is not supported (this csvstorm reads version \(RunSummary.currentSchemaVersion))")
        }
        do {
            return try JSONDecoder().decode(BaselineSnapshot.self, from: data)
        } catch let DecodingError.keyNotFound(key, context) {
            throw ConfigError(file: file, message: "missing field '\((context.codingPath.map(\.stringValue) + [key.stringValue]).joined(separator: "."))'")
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context) {
            throw ConfigError(file: file, message: "field '\(context.codingPath.map(\.stringValue).joined(separator: "."))': \(context.debugDescription)")
        } catch {
            throw ConfigError(file: file, message: "not a csvstorm summary.json or baseline file: \(error)")
        }
    }

    /// Pretty-printed, keys sorted, one trailing newline (a small diff when it is re-recorded).
    package func json() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        var data = try encoder.encode(self)
        data.append(0x0A)
        return data
    }

    /// Writes the file via `<path>.partial` + rename (creating its folder), as the results files are.
    package func write(to path: String) throws {
        let final = URL(fileURLWithPath: path)
        try FileManager.default.createDirectory(at: final.deletingLastPathComponent(), withIntermediateDirectories: true)
        let partial = URL(fileURLWithPath: path + ".partial")
        try json().write(to: partial)
        if FileManager.default.fileExists(atPath: final.path) { try FileManager.default.removeItem(at: final) }
        try FileManager.default.moveItem(at: partial, to: final)
    }
}

extension BaselineSnapshot.Build {
    /// This binary: its build configuration and the git commit of the working directory.
    package static func current() -> Self {
        #if DEBUG
        let build = "debug"
        #else
        let build = "release"
        #endif
        let commit = git(["rev-parse", "HEAD"])?.trimmingCharacters(in: .whitespacesAndNewlines)
        let status = git(["status", "--porcelain", "--untracked-files=no"])
        return Self(gitCommit: commit.flatMap { $0.isEmpty ? nil : $0 }, gitDirty: status.map { !$0.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty }, build: build)
    }

    /// Runs git in the working directory; nil when git is missing or fails.
    static func git(_ arguments: [String]) -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["git"] + arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return nil }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { return nil }
        return String(decoding: data, as: UTF8.self)
    }
}

extension BaselineSnapshot.Machine {
    package static func current() -> Self {
        #if arch(x86_64)
        let arch = "x86_64"
        #elseif arch(arm64)
        let arch = "arm64"
        #else
        let arch = "other"
        #endif
        #if os(Linux)
        let os = "Linux " + ProcessInfo.processInfo.operatingSystemVersionString
        #else
        let os = ProcessInfo.processInfo.operatingSystemVersionString
        #endif
        var loads = [Double](repeating: 0, count: 3)
        let got = getloadavg(&loads, 3)
        return Self(
            os: os, arch: arch, cpus: ProcessInfo.processInfo.activeProcessorCount, memoryBytes: ProcessInfo.processInfo.physicalMemory,
            loadAverage: got == 3 ? loads.map { ($0 * 100).rounded() / 100 } : nil
        )
    }
}
