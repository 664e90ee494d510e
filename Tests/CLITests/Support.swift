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

func runCSVStorm(_ arguments: [String], timeout: TimeInterval = 300) async throws -> ProcessResult {
    try await run(try csvstormBinary(), arguments, timeout: timeout)
}

/// Runs a program in the project root; bounded by `timeout`. Waits without blocking a thread:
/// Swift Testing runs the suites in parallel on the cooperative pool (two threads on two
/// cores), and a test blocked in a wait there starves every other test in the process.
func run(_ executable: String, _ arguments: [String], timeout: TimeInterval = 300) async throws -> ProcessResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.currentDirectoryURL = URL(fileURLWithPath: projectRoot)
    // Output goes to files (a pipe could fill up and block the child while nobody reads it).
    let base = NSTemporaryDirectory() + "csvstorm-cli-run-\(UUID().uuidString.prefix(8))"
    _ = FileManager.default.createFile(atPath: base + ".out", contents: nil)
    _ = FileManager.default.createFile(atPath: base + ".err", contents: nil)
    let out = try FileHandle(forWritingTo: URL(fileURLWithPath: base + ".out"))
    let err = try FileHandle(forWritingTo: URL(fileURLWithPath: base + ".err"))
    defer {
        try? out.close()
        try? err.close()
        try? FileManager.default.removeItem(atPath: base + ".out")
        try? FileManager.default.removeItem(atPath: base + ".err")
    }
    process.standardOutput = out
    process.standardError = err
    process.standardInput = FileHandle.nullDevice
    let (exited, continuation) = AsyncStream<Void>.makeStream()
    process.terminationHandler = { _ in continuation.finish() }
    try process.run()
    let finished = await withTaskGroup(of: Bool.self) { group in
        group.addTask {
            for await _ in exited {}
            return true
        }
        group.addTask {
            try? await Task.sleep(for: .seconds(timeout))
            return false
        }
        let first = await group.next() ?? false
        group.cancelAll()
        return first
    }
    if !finished {
        process.terminate()
        try? await Task.sleep(for: .milliseconds(500))
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        for await _ in exited {}
        throw CLITestError(message: "\(executable) \(arguments) did not finish within \(timeout) s")
    }
    let stdoutData = (try? Data(contentsOf: URL(fileURLWithPath: base + ".out"))) ?? Data()
    let stderrData = (try? Data(contentsOf: URL(fileURLWithPath: base + ".err"))) ?? Data()
    return ProcessResult(status: process.terminationStatus, stdoutData: stdoutData, stderr: String(decoding: stderrData, as: UTF8.self))
}

func temporaryDirectory() throws -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("csvstorm-cli-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}
