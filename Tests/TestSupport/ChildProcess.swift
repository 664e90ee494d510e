import Foundation

/// What a child process printed and how it ended.
package struct ChildProcessResult: Sendable {
    package var status: Int32
    /// Standard output; with ``ChildOutput/merged``, standard error too, interleaved as written.
    package var stdout: Data
    package var stderr: Data
    /// Whether the child was stopped after the timeout (only returned with `throwOnTimeout: false`).
    package var timedOut = false
}

/// Where a child's standard error goes.
package enum ChildOutput: Sendable {
    /// Its own file (``ChildProcessResult/stderr``).
    case separate
    /// The same file as standard output, so the two read in the order they were written.
    case merged
}

/// Runs `executable` with `arguments` and waits for it without blocking a thread: Swift Testing
/// runs the suites in parallel on the cooperative pool (two threads on two cores), and a test
/// blocked in a wait there starves every other test in the process. Output goes to files (a pipe
/// could fill up and block the child while nobody reads it). After `timeout` the child is
/// terminated (then killed) and the call throws, or with `throwOnTimeout: false` returns what
/// it printed, marked ``ChildProcessResult/timedOut``.
package func runChildProcess(
    _ executable: String, _ arguments: [String], environment: [String: String]? = nil, currentDirectory: String? = nil,
    output: ChildOutput = .separate, timeout: Duration, throwOnTimeout: Bool = true
) async throws -> ChildProcessResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if let environment { process.environment = environment }
    if let currentDirectory { process.currentDirectoryURL = URL(fileURLWithPath: currentDirectory) }
    let base = NSTemporaryDirectory() + "csvstorm-child-\(UUID().uuidString.prefix(8))"
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
    process.standardError = output == .merged ? out : err
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
            try? await Task.sleep(for: timeout)
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
        if throwOnTimeout { throw FixtureError("\(executable) \(arguments) did not finish within \(timeout)") }
    }
    return ChildProcessResult(
        status: process.terminationStatus,
        stdout: (try? Data(contentsOf: URL(fileURLWithPath: base + ".out"))) ?? Data(),
        stderr: (try? Data(contentsOf: URL(fileURLWithPath: base + ".err"))) ?? Data(),
        timedOut: !finished
    )
}
