import ArgumentParser
import Foundation
import SyntheticData

struct Generate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Generate a seeded synthetic CSV with fake-but-valid PII.",
        discussion: """
        Every row is a pure function of (seed, schema, row index), so the output is byte-identical \
        for any --threads and any row can be regenerated later from <output>.recipe.json.
        Examples:
          csvstorm generate --schema generators/customers.yaml --size 2GiB --seed 42 --output data/customers.csv
          csvstorm generate --schema generators/transactions.yaml --rows 1000 --seed 7 > tx.csv
          csvstorm generate --schema generators/customers.yaml --rows 500 --malformed invalid-utf8 --output bad.csv
        """
    )

    @Option(help: "The schema YAML file (see generators/).")
    var schema: String

    @Option(help: "Stop at the first row boundary at or past this size (\(ByteSize.unitNames)).")
    var size: String?

    @Option(help: "Exactly this many data rows.")
    var rows: Int?

    @Option(help: "The seed (an unsigned 64-bit integer).")
    var seed: String = "1"

    @Option(help: "Output file, or - for stdout. The recipe goes to <output>.recipe.json.")
    var output: String = "-"

    @Option(help: "Where to write the recipe (default: <output>.recipe.json; none for stdout unless given).")
    var recipe: String?

    @Option(help: "Generating threads (default: the number of cores).")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    @Flag(help: "Leave out the header line.")
    var noHeader = false

    @Flag(help: "End lines with CRLF instead of LF.")
    var crlf = false

    @Option(help: "Make the file invalid on purpose: \(MalformedMode.allCases.map(\.rawValue).joined(separator: ", ")).")
    var malformed: String?

    @Flag(name: .shortAndLong, help: "No progress output.")
    var quiet = false

    func validate() throws {
        if (size == nil) == (rows == nil) {
            throw ValidationError("give exactly one of --size or --rows")
        }
        if let size, ByteSize(parsing: size) == nil {
            throw ValidationError("--size '\(size)' is not a size; use a number with a unit: \(ByteSize.unitNames)")
        }
        if let rows, rows < 0 {
            throw ValidationError("--rows must be 0 or more, found \(rows)")
        }
        if UInt64(seed) == nil {
            throw ValidationError("--seed '\(seed)' is not an unsigned 64-bit integer (0…18446744073709551615)")
        }
        if !(1...256).contains(threads) {
            throw ValidationError("--threads must be between 1 and 256, found \(threads)")
        }
        if let malformed, MalformedMode(rawValue: malformed) == nil {
            throw ValidationError("--malformed '\(malformed)' is not a mode; valid: \(MalformedMode.allCases.map(\.rawValue).joined(separator: ", "))")
        }
    }

    func run() async throws {
        let loaded = try SchemaLoader.load(path: schema)
        let datasetSize: DatasetSize = rows.map { .rows($0) } ?? .bytes(ByteSize(parsing: size!)!.bytes)
        let options = GeneratorOptions(header: !noHeader, lineEnding: crlf ? .crlf : .lf, malformed: malformed.flatMap(MalformedMode.init(rawValue:)))
        let plan = DatasetRecipe(schema: loaded, seed: UInt64(seed)!, size: datasetSize, options: options)

        let toStdout = output == "-"
        // A device or pipe (/dev/null, a FIFO) is written in place; a regular file goes to
        // <output>.partial first and is renamed when complete, so nothing half-written is
        // ever visible under the final name.
        let special = isSpecialFile(output)
        let recipePath = recipe ?? (toStdout || special ? nil : output + ".recipe.json")
        let interrupt = InterruptFlag.install()
        let descriptor: Int32
        let partialPath = output + ".partial"
        if toStdout {
            descriptor = STDOUT_FILENO
        } else if special {
            descriptor = open(output, O_WRONLY)
            guard descriptor >= 0 else {
                throw CommandFailure(message: "cannot open '\(output)': \(String(cString: strerror(errno)))", exitCode: ExitCodes.invalidInput)
            }
        } else {
            let directory = URL(fileURLWithPath: output).deletingLastPathComponent().path
            try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            descriptor = open(partialPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            guard descriptor >= 0 else {
                throw CommandFailure(message: "cannot create '\(partialPath)': \(String(cString: strerror(errno)))", exitCode: ExitCodes.invalidInput)
            }
        }
        let expected: Int? = { if case let .bytes(bytes) = datasetSize { return bytes } else { return nil } }()
        let progress = ProgressLine(enabled: !quiet && isatty(STDERR_FILENO) == 1, total: expected)
        let finished: DatasetRecipe
        do {
            finished = try DatasetGenerator.write(
                schema: loaded, recipe: plan, threads: threads, to: descriptor,
                progress: { progress.update(bytes: $0) }, isCancelled: { interrupt.isSet }
            )
        } catch is GenerationCancelled {
            progress.finish()
            if special {
                close(descriptor)
            } else if !toStdout {
                close(descriptor)
                unlink(partialPath)
            }
            throw CommandFailure(message: "interrupted; removed the partial output", exitCode: ExitCodes.aborted)
        } catch {
            if special {
                close(descriptor)
            } else if !toStdout {
                close(descriptor)
                unlink(partialPath)
            }
            throw error
        }
        progress.finish()
        if special {
            close(descriptor)
        } else if !toStdout {
            guard fsync(descriptor) == 0 || errno == EINVAL, close(descriptor) == 0, rename(partialPath, output) == 0 else {
                throw CommandFailure(message: "cannot finish '\(output)': \(String(cString: strerror(errno)))", exitCode: ExitCodes.internalError)
            }
        }
        if let recipePath { try finished.write(to: recipePath) }
        if !quiet {
            var line = "generated \(finished.rows) rows, \(ByteSize.format(finished.bytes)) (\(finished.bytes) bytes), schema \(finished.schema.name), seed \(finished.seed)"
            if let defect = finished.expectation.defect {
                line += ", malformed: \(defect.rawValue)" + (finished.expectation.row.map { " at row \($0)" } ?? "")
            }
            if !toStdout { line += " → \(output)" }
            if let recipePath { line += "; recipe \(recipePath)" }
            printError(line)
        }
    }
}

/// True for an existing path that is not a regular file (a device, FIFO or socket).
func isSpecialFile(_ path: String) -> Bool {
    var info = stat()
    guard stat(path, &info) == 0 else { return false }
    return (info.st_mode & S_IFMT) != S_IFREG && (info.st_mode & S_IFMT) != S_IFDIR
}
