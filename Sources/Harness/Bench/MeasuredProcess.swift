import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// What one child process cost: wall time, CPU time (user + system, from `wait4`) and
/// peak resident memory.
package struct ProcessCost: Sendable, Codable, Equatable {
    package var wallSeconds: Double
    package var userSeconds: Double
    package var systemSeconds: Double
    package var peakRSSBytes: Int
    package var exitStatus: Int32

    package var cpuSeconds: Double { userSeconds + systemSeconds }
}

package struct ProcessLaunchError: Error, CustomStringConvertible {
    package var executable: String
    package var code: Int32
    package var description: String { "cannot start \(executable): \(String(cString: strerror(code)))" }
}

/// Runs a program to completion with stdout (and optionally stderr) sent to a file such as
/// /dev/null, and measures it. The child's own CPU time comes from `wait4`, so the
/// parent's work never counts against it.
package enum MeasuredProcess {
    package static func run(
        _ executable: String,
        _ arguments: [String],
        environment: [String: String]? = nil,
        stdoutPath: String = "/dev/null",
        stderrPath: String? = nil
    ) throws -> ProcessCost {
        let resolved = try resolve(executable)
        var fileActions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&fileActions)
        defer { posix_spawn_file_actions_destroy(&fileActions) }
        posix_spawn_file_actions_addopen(&fileActions, STDOUT_FILENO, stdoutPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        if let stderrPath {
            posix_spawn_file_actions_addopen(&fileActions, STDERR_FILENO, stderrPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        }
        let argv = ([resolved] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let env = (environment ?? ProcessInfo.processInfo.environment).map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { env.forEach { free($0) } }
        var pid: pid_t = 0
        let start = DispatchTime.now().uptimeNanoseconds
        let spawned = posix_spawn(&pid, resolved, &fileActions, nil, argv, env)
        guard spawned == 0 else { throw ProcessLaunchError(executable: resolved, code: spawned) }
        var status: Int32 = 0
        var usage = rusage()
        while wait4(pid, &status, 0, &usage) < 0 && errno == EINTR {}
        let wall = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let exitStatus: Int32 = (status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
        return ProcessCost(
            wallSeconds: wall,
            userSeconds: Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6,
            systemSeconds: Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6,
            peakRSSBytes: usage.ru_maxrss * 1024,
            exitStatus: exitStatus
        )
    }

    /// Finds a program on PATH (or returns the path when it has a slash).
    package static func resolve(_ executable: String) throws -> String {
        if executable.contains("/") { return executable }
        for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let candidate = "\(directory)/\(executable)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw ProcessLaunchError(executable: executable, code: ENOENT)
    }

    /// The path of the running executable (for benchmarks that run csvstorm itself).
    package static var currentExecutable: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }
}
