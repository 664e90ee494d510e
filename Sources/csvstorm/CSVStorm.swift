import ArgumentParser
import Foundation
import SyntheticData

/// Exit codes, after k6 where it has one (DESIGN.md "Results and exit codes").
enum ExitCodes {
    static let thresholdsFailed: Int32 = 99
    static let invalidInput: Int32 = 104
    static let aborted: Int32 = 105
    static let internalError: Int32 = 107
    static let auditFailed: Int32 = 108
}

struct CSVStorm: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "csvstorm",
        abstract: "Load and chaos testing for an event-driven CSV ingestion pipeline on AWS.",
        discussion: "Exit codes: 0 pass, 99 thresholds failed, 104 invalid input, 105 aborted, 107 internal error, 108 audit found lost or duplicated data.",
        subcommands: [Generate.self, Bench.self, Upload.self, Uploads.self, Emulate.self, Redrive.self, Proxy.self, Run.self, Compare.self, FaultsCommand.self]
    )
}

/// An error that already explains itself and carries its exit code.
struct CommandFailure: Error, CustomStringConvertible {
    var message: String
    var exitCode: Int32
    var description: String { message }
}

@main
enum Main {
    static func main() async {
        var command: any ParsableCommand
        do {
            command = try CSVStorm.parseAsRoot()
        } catch {
            if CSVStorm.exitCode(for: error) == .validationFailure {
                // Bad arguments exit with k6's "invalid config" code rather than EX_USAGE.
                printError(CSVStorm.fullMessage(for: error))
                exit(ExitCodes.invalidInput)
            }
            CSVStorm.exit(withError: error)
        }
        do {
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let error as ConfigError {
            printError("csvstorm: \(error)")
            exit(ExitCodes.invalidInput)
        } catch let error as CommandFailure {
            printError("csvstorm: \(error.message)")
            exit(error.exitCode)
        } catch let error as ExitCode {
            exit(error.rawValue)
        } catch {
            switch CSVStorm.exitCode(for: error) {
            case .success:
                // --help, --version and `help`: ArgumentParser prints them.
                CSVStorm.exit(withError: error)
            case .validationFailure:
                printError(CSVStorm.fullMessage(for: error))
                exit(ExitCodes.invalidInput)
            default:
                break
            }
            printError("csvstorm: internal error: \(error)")
            exit(ExitCodes.internalError)
        }
    }
}

func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}
