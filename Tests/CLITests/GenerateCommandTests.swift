import Foundation
import Testing

/// Runs the real `csvstorm` binary, as a user would.
@Suite("csvstorm generate, end to end")
struct GenerateCommandTests {
    @Test("Writes the file and its recipe; Python's csv module reads every row with the right column count", arguments: [("customers", 15), ("transactions", 8)])
    func pythonReadsOutput(schema: String, columns: Int) async throws {
        let directory = try temporaryDirectory()
        let output = "\(directory)/\(schema).csv"
        let result = try await runCSVStorm(["generate", "--schema", "generators/\(schema).yaml", "--size", "3MiB", "--seed", "42", "--output", output, "--threads", "2"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(FileManager.default.fileExists(atPath: output + ".recipe.json"))
        #expect(!FileManager.default.fileExists(atPath: output + ".partial"))
        let size = try #require(try FileManager.default.attributesOfItem(atPath: output)[.size] as? Int)
        #expect(size >= 3 << 20)
        let check = try await run("/usr/bin/env", ["python3", "\(projectRoot)/Tests/python/csv_check.py", output, "\(columns)"])
        #expect(check.status == 0, "python csv: \(check.stderr)")
        #expect(check.stdout.hasPrefix("rows="))
        let recipe = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: output + ".recipe.json"))) as? [String: Any]
        #expect(recipe?["bytes"] as? Int == size)
        #expect((recipe?["rows"] as? Int).map { $0 + 1 } == Int(check.stdout.dropFirst(5).prefix(while: \.isNumber)))
    }

    @Test("Python's strict csv parser rejects the malformed modes that break CSV structure", arguments: ["wrong-column-count", "unbalanced-quotes", "invalid-utf8", "truncated-last-row"])
    func pythonRejectsMalformed(mode: String) async throws {
        let directory = try temporaryDirectory()
        let output = "\(directory)/bad.csv"
        let result = try await runCSVStorm(["generate", "--schema", "generators/customers.yaml", "--rows", "2000", "--seed", "5", "--malformed", mode, "--output", output])
        #expect(result.status == 0, "\(result.stderr)")
        let check = try await run("/usr/bin/env", ["python3", "\(projectRoot)/Tests/python/csv_check.py", output, "15"])
        #expect(check.status != 0, "python accepted a \(mode) file")
    }

    @Test("stdout and file output are identical, at any thread count")
    func stdoutMatchesFile() async throws {
        let directory = try temporaryDirectory()
        let one = try await runCSVStorm(["generate", "--schema", "generators/transactions.yaml", "--rows", "30000", "--seed", "8", "--threads", "1", "--quiet"])
        let output = "\(directory)/tx.csv"
        let two = try await runCSVStorm(["generate", "--schema", "generators/transactions.yaml", "--rows", "30000", "--seed", "8", "--threads", "2", "--output", output, "--quiet"])
        #expect(one.status == 0 && two.status == 0)
        let file = try Data(contentsOf: URL(fileURLWithPath: output))
        #expect(one.stdoutData == file)
        #expect(one.stderr.isEmpty, "quiet means quiet: \(one.stderr)")
    }

    @Test("Invalid input exits 104 with a message that says what is wrong", arguments: [
        (["--schema", "generators/customers.yaml", "--size", "lots"], "--size 'lots' is not a size"),
        (["--schema", "generators/customers.yaml", "--rows", "10", "--seed", "-3"], "--seed"),
        (["--schema", "generators/customers.yaml"], "exactly one of --size or --rows"),
        (["--schema", "generators/customers.yaml", "--rows", "10", "--malformed", "broken"], "valid: wrong-column-count"),
        (["--schema", "generators/nope.yaml", "--rows", "10"], "generators/nope.yaml"),
    ])
    func invalidInput(arguments: [String], fragment: String) async throws {
        let result = try await runCSVStorm(["generate"] + arguments)
        #expect(result.status == 104, "\(result.stderr)")
        #expect(result.stderr.contains(fragment), "\(result.stderr)")
    }

    @Test("A schema error names file:line:column and the valid types")
    func schemaErrorLocation() async throws {
        let directory = try temporaryDirectory()
        let schema = "\(directory)/bad.yaml"
        try "name: bad\ndictionaries: \(projectRoot)/generators/data\ncolumns:\n  - name: id\n    type: sequense\n".write(toFile: schema, atomically: true, encoding: .utf8)
        let result = try await runCSVStorm(["generate", "--schema", schema, "--rows", "5"])
        #expect(result.status == 104)
        #expect(result.stderr.contains("\(schema):5:11: error:"), "\(result.stderr)")
        #expect(result.stderr.contains("valid: sequence, integer"), "\(result.stderr)")
    }
}

@Suite("csvstorm help and argument errors")
struct HelpTests {
    @Test("--help prints usage and exits 0, for the root and for subcommands", arguments: [["--help"], ["generate", "--help"], ["help", "generate"], ["bench", "--help"]])
    func help(arguments: [String]) async throws {
        let result = try await runCSVStorm(arguments)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("USAGE:"), "\(result.stdout)")
        #expect(!result.stderr.contains("internal error"))
    }

    @Test("An unknown option exits 104")
    func unknownOption() async throws {
        let result = try await runCSVStorm(["generate", "--schema", "generators/customers.yaml", "--rows", "1", "--frobnicate"])
        #expect(result.status == 104)
        #expect(result.stderr.contains("frobnicate"))
    }

    @Test("--output /dev/null leaves /dev/null a character device")
    func devNull() async throws {
        let result = try await runCSVStorm(["generate", "--schema", "generators/transactions.yaml", "--rows", "100", "--output", "/dev/null", "--quiet"])
        #expect(result.status == 0)
        var info = stat()
        #expect(stat("/dev/null", &info) == 0 && (info.st_mode & S_IFMT) == S_IFCHR)
        #expect(!FileManager.default.fileExists(atPath: "/dev/null.partial"))
    }
}
