import ArgumentParser
import Foundation
import Harness

struct Uploads: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage in-progress multipart uploads.",
        subcommands: [Clean.self]
    )

    struct Clean: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Abort orphaned multipart uploads of a bucket.",
            discussion: """
            Lists the bucket's in-progress multipart uploads (ListMultipartUploads, all pages) and aborts \
            those initiated at least --older-than ago (all of them without it), confirming each abort with \
            ListParts. Prints one line per upload. Uploads without a readable date are kept when \
            --older-than is given.

            Exit codes: 0 every selected upload aborted, 104 invalid arguments, 105 interrupted, 107 an \
            abort failed or the listing failed.

            Example:
              csvstorm uploads clean --bucket raw --older-than 1h --endpoint-url http://127.0.0.1:9000
            """
        )

        @Option(help: "The bucket.")
        var bucket: String

        @Option(name: .customLong("older-than"), help: "Only uploads initiated at least this long ago, e.g. 30m, 1h, 2d.")
        var olderThan: String?

        @Option(help: "Only keys with this prefix.")
        var prefix: String?

        @Flag(help: "List what would be aborted; abort nothing.")
        var dryRun = false

        @Option(name: .customLong("endpoint-url"), help: "S3 endpoint, e.g. http://127.0.0.1:9000 (path-style addressing).")
        var endpointURL: String?

        @Option(help: "Signing region (default: AWS_REGION, the profile's region, or us-east-1).")
        var region: String?

        @Option(help: "Profile of the shared credentials/config files.")
        var profile: String?

        func validate() throws {
            if let olderThan, DurationParser.parse(olderThan) == nil {
                throw ValidationError("--older-than '\(olderThan)' is not a duration; use e.g. 90s, 30m, 1h, 2d, 1h30m")
            }
            if bucket.isEmpty { throw ValidationError("--bucket must not be empty") }
        }

        func run() async throws {
            let connection: S3Connection
            do {
                connection = try S3Connection.resolve(endpointURL: endpointURL, region: region, profile: profile)
            } catch {
                throw CommandFailure(message: "\(error)", exitCode: ExitCodes.invalidInput)
            }
            let bucket = self.bucket
            let prefix = self.prefix
            let dryRun = self.dryRun
            let cutoff = olderThan.flatMap(DurationParser.parse)
            let outcome = try await Interruptible.run { () -> Swift.Result<OrphanedUploadsCleaner.Report, CommandFailure> in
                do {
                    return .success(try await OrphanedUploadsCleaner.withClient(connection: connection) { cleaner in
                        try await cleaner.clean(bucket: bucket, prefix: prefix, olderThan: cutoff, dryRun: dryRun) { action in
                            var line = "\(action.result.rawValue)\t\(action.key)\t\(action.uploadId)\t\(action.initiated ?? "-")"
                            if let error = action.error { line += "\t\(error)" }
                            print(line)
                        }
                    })
                } catch {
                    return .failure(CommandFailure(message: "uploads clean failed: \(error)", exitCode: ExitCodes.internalError))
                }
            }
            if outcome.interrupted {
                throw CommandFailure(message: "interrupted", exitCode: ExitCodes.aborted)
            }
            let report = try outcome.value.get()
            let verb = dryRun ? "would abort" : "aborted"
            printError("\(verb) \(dryRun ? report.actions.filter { $0.result == .wouldAbort }.count : report.aborted), kept \(report.kept), failed \(report.failed) of \(report.actions.count) in-progress uploads in \(bucket)")
            if report.failed > 0 {
                throw CommandFailure(message: "\(report.failed) abort(s) failed", exitCode: ExitCodes.internalError)
            }
        }
    }
}
