import Foundation

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

func runCSVStorm(_ arguments: [String], timeout: TimeInterval = 300) throws -> ProcessResult {
    try run(try csvstormBinary(), arguments, timeout: timeout)
}

/// Runs a program in the project root; bounded by `timeout`.
func run(_ executable: String, _ arguments: [String], timeout: TimeInterval = 300) throws -> ProcessResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.currentDirectoryURL = URL(fileURLWithPath: projectRoot)
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    // Drain both pipes concurrently so a chatty child cannot block on a full pipe.
    nonisolated(unsafe) var stdoutData = Data()
    nonisolated(unsafe) var stderrData = Data()
    let group = DispatchGroup()
    group.enter()
    DispatchQueue.global().async {
        stdoutData = out.fileHandleForReading.readDataToEndOfFile()
        group.leave()
    }
    group.enter()
    DispatchQueue.global().async {
        stderrData = err.fileHandleForReading.readDataToEndOfFile()
        group.leave()
    }
    if group.wait(timeout: .now() + timeout) == .timedOut {
        process.terminate()
        throw CLITestError(message: "\(executable) \(arguments) did not finish within \(timeout) s")
    }
    process.waitUntilExit()
    return ProcessResult(status: process.terminationStatus, stdoutData: stdoutData, stderr: String(decoding: stderrData, as: UTF8.self))
}

func temporaryDirectory() throws -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("csvstorm-cli-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}
