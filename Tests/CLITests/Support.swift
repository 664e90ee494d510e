import Foundation
import TestSupport

let projectRoot: String = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

struct ProcessResult {
    var status: Int32
    var stdoutData: Data
    var stderr: String
    var stdout: String { String(decoding: stdoutData, as: UTF8.self) }
}

/// The csvstorm binary SwiftPM built next to this test bundle.
func csvstormBinary() throws -> String {
    let candidates = [
        ProcessInfo.processInfo.environment["CSVSTORM_BINARY"],
        URL(fileURLWithPath: CommandLine.arguments.first ?? "").deletingLastPathComponent().appendingPathComponent("csvstorm").path,
        "\(projectRoot)/.build/debug/csvstorm",
    ].compactMap { $0 }
    for candidate in candidates where FileManager.default.isExecutableFile(atPath: candidate) {
        return candidate
    }
    throw CLITestError(message: "csvstorm binary not found (tried \(candidates)); run `swift build --build-tests` first")
}

struct CLITestError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

func runCSVStorm(_ arguments: [String], timeout: TimeInterval = 300) async throws -> ProcessResult {
    try await run(try csvstormBinary(), arguments, timeout: timeout)
}

/// Runs a program in the project root; bounded by `timeout` (without blocking a thread of the
/// cooperative pool, see ``runChildProcess(_:_:environment:currentDirectory:timeout:)``).
func run(_ executable: String, _ arguments: [String], timeout: TimeInterval = 300) async throws -> ProcessResult {
    let result = try await runChildProcess(executable, arguments, currentDirectory: projectRoot, timeout: .seconds(timeout))
    return ProcessResult(status: result.status, stdoutData: result.stdout, stderr: String(decoding: result.stderr, as: UTF8.self))
}

func temporaryDirectory() throws -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("csvstorm-cli-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}
