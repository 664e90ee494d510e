import Testing
@testable import SyntheticData

@Suite("Determinism, seekability and golden hashes")
struct GeneratorDeterminismTests {
    @Test("Same seed, same bytes, at any thread count", arguments: ["customers", "transactions"])
    func identicalAcrossThreadCounts(schemaName: String) throws {
        let schema = try loadSchema(schemaName)
        // Enough rows to span several ~1 MiB blocks, so every thread count hands out many.
        let rows = schemaName == "customers" ? 12_000 : 40_000
        let single = try DatasetGenerator.bytes(schema: schema, seed: 42, rows: rows, threads: 1)
        for threads in [2, 3, 4] {
            let parallel = try DatasetGenerator.bytes(schema: schema, seed: 42, rows: rows, threads: threads)
            #expect(parallel.count == single.count)
            #expect(parallel == single, "threads=\(threads) differs from threads=1")
        }
        let again = try DatasetGenerator.bytes(schema: schema, seed: 42, rows: rows, threads: 1)
        #expect(again == single)
        let otherSeed = try DatasetGenerator.bytes(schema: schema, seed: 43, rows: rows, threads: 1)
        #expect(otherSeed != single)
    }

    @Test("Size mode is identical across thread counts and stops at the first row boundary at or past the size")
    func sizeModeStopsAtRowBoundary() throws {
        let schema = try loadSchema("customers")
        for target in [1, 300, 5_000, 3_456_789] {
            var outputs: [[UInt8]] = []
            for threads in [1, 2] {
                var out: [UInt8] = []
                let recipe = try DatasetGenerator.write(schema: schema, recipe: DatasetRecipe(schema: schema, seed: 9, size: .bytes(target)), threads: threads) { out.append(contentsOf: $0) }
                #expect(recipe.bytes == out.count)
                #expect(out.count >= target)
                #expect(out.last == 0x0A)
                // Dropping the last line must fall short of the target (else we went a row too far).
                let withoutLast = out.dropLast().lastIndex(of: 0x0A).map { $0 + 1 } ?? 0
                #expect(withoutLast < target, "target \(target): \(withoutLast) bytes were already enough")
                #expect(recipe.rows == out.lines.count - 2, "rows excludes the header and the empty tail")
                outputs.append(out)
            }
            #expect(outputs[0] == outputs[1])
        }
    }

    @Test("A recipe from another generator version is refused, naming both versions")
    func recipeVersionIsChecked() throws {
        let schema = try loadSchema("customers")
        var recipe = DatasetRecipe(schema: schema, seed: 1, size: .rows(10))
        #expect(throws: Never.self) { _ = try recipe.regenerator(schema: schema) }
        recipe.recipeVersion = DatasetRecipe.currentVersion - 1
        let error = #expect(throws: RecipeError.self) { _ = try recipe.regenerator(schema: schema) }
        #expect(error?.message.contains("version \(DatasetRecipe.currentVersion - 1)") == true)
    }

    @Test("Any row can be regenerated on its own")
    func seekable() throws {
        let schema = try loadSchema("customers")
        let rows = 5_000
        let recipe = DatasetRecipe(schema: schema, seed: 1234, size: .rows(rows))
        let all = try DatasetGenerator.bytes(schema: schema, seed: 1234, rows: rows, threads: 2)
        let lines = all.lines
        let regenerator = try recipe.regenerator(schema: schema)
        #expect(Array(regenerator.header) == Array(lines[0]) + [0x0A])
        for row in [0, 1, 2, 999, 1000, 3333, rows - 1] {
            #expect(regenerator.row(row) == Array(lines[row + 1]) + [0x0A], "row \(row)")
        }
    }

    /// Golden hashes: SHA-256 of the header and the first 1,000 rows. A change here is a
    /// change of every dataset anyone generated: make it deliberately, say so, and bump
    /// `DatasetRecipe.currentVersion` (customers changed with version 2: notes spacing).
    @Test("Golden hashes", arguments: [
        ("customers", UInt64(42), "aab7aa9371951352b5dc732d751260c8783a04cb0a71610df0445b54c9063ab6"),
        ("customers", UInt64(7), "6771b9d2dc4adf9523b87842ed07f4b6321749a85f7b7dcee50753e3807b3605"),
        ("transactions", UInt64(42), "0b91b65318c706efd880f7f78b08c383e9708384f69d5c4cbfec9021030f14d4"),
    ])
    func goldenHashes(schemaName: String, seed: UInt64, expected: String) throws {
        let schema = try loadSchema(schemaName)
        let bytes = try DatasetGenerator.bytes(schema: schema, seed: seed, rows: 1000)
        #expect(sha256Hex(bytes) == expected)
    }

    @Test("CRLF line endings and no header")
    func lineEndingsAndHeader() throws {
        let schema = try loadSchema("transactions")
        let lf = try DatasetGenerator.bytes(schema: schema, seed: 5, rows: 100)
        let crlf = try DatasetGenerator.bytes(schema: schema, seed: 5, rows: 100, options: GeneratorOptions(lineEnding: .crlf))
        let headerless = try DatasetGenerator.bytes(schema: schema, seed: 5, rows: 100, options: GeneratorOptions(header: false))
        #expect(crlf.count == lf.count + 101)
        #expect(crlf.filter { $0 != 0x0D } == lf)
        let header = Array("transaction_id,customer_id,created_at,amount,currency,merchant,card_number,status\n".utf8)
        #expect(Array(lf.prefix(header.count)) == header)
        #expect(Array(lf.dropFirst(header.count)) == headerless)
    }

    @Test("Recipes round-trip through JSON and refuse another schema")
    func recipeRoundTrip() throws {
        let schema = try loadSchema("customers")
        let other = try loadSchema("transactions")
        var recipe = DatasetRecipe(schema: schema, seed: 77, size: .bytes(1 << 20), options: GeneratorOptions(malformed: .invalidUTF8))
        recipe = try DatasetGenerator.write(schema: schema, recipe: recipe) { _ in }
        let path = FileManagerTemp.path("recipe.json")
        try recipe.write(to: path)
        let read = try DatasetRecipe.read(from: path)
        #expect(read == recipe)
        #expect(read.rows > 0 && read.bytes >= 1 << 20)
        #expect(throws: RecipeError.self) { try read.regenerator(schema: other) }
    }
}

import Foundation

enum FileManagerTemp {
    static func path(_ name: String) -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("csvstorm-tests-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory.appendingPathComponent(name).path
    }
}
