import Foundation
import Testing
@testable import SyntheticData

@Suite("Each malformed mode produces exactly the defect it promises")
struct MalformedModeTests {
    let rows = 3_000

    func generate(_ mode: MalformedMode?, size: DatasetSize? = nil, threads: Int = 2) throws -> ([UInt8], DatasetRecipe, Schema) {
        let schema = try loadSchema("customers")
        var out: [UInt8] = []
        let recipe = try DatasetGenerator.write(schema: schema, recipe: DatasetRecipe(schema: schema, seed: 11, size: size ?? .rows(rows), options: GeneratorOptions(malformed: mode)), threads: threads) { out.append(contentsOf: $0) }
        return (out, recipe, schema)
    }

    @Test("A valid file: strict parse, constant column count, UTF-8")
    func valid() throws {
        let (bytes, recipe, schema) = try generate(nil)
        #expect(recipe.expectation.valid && recipe.expectation.defect == nil)
        let records = try StrictCSV.parse(bytes).get()
        #expect(records.count == rows + 1)
        #expect(records.allSatisfy { $0.count == schema.columns.count })
        #expect(String(validating: bytes, as: UTF8.self) != nil)
    }

    @Test("wrong-column-count: one row, and only it, has an extra field")
    func wrongColumnCount() throws {
        let (bytes, recipe, schema) = try generate(.wrongColumnCount)
        let row = try #require(recipe.expectation.row)
        #expect(!recipe.expectation.valid)
        let records = try StrictCSV.parse(bytes).get()
        let bad = records.enumerated().filter { $0.element.count != schema.columns.count }.map(\.offset)
        #expect(bad == [row + 1])
        #expect(records[row + 1].count == schema.columns.count + 1)
    }

    @Test("unbalanced-quotes: a strict parser fails at the defect row, and not before")
    func unbalancedQuotes() throws {
        let (bytes, recipe, _) = try generate(.unbalancedQuotes)
        let row = try #require(recipe.expectation.row)
        switch StrictCSV.parse(bytes) {
        case .success: Issue.record("a strict parser accepted a file with unbalanced quotes")
        case let .failure(violation): #expect(violation.record == row + 1, "\(violation)")
        }
        // Everything before the defect row parses.
        let lines = bytes.lines
        let prefix = Array(lines[0...row].joined(separator: [0x0A])) + [0x0A]
        #expect((try? StrictCSV.parse(prefix).get()) != nil)
    }

    @Test("invalid-utf8: exactly the defect row is not UTF-8")
    func invalidUTF8() throws {
        let (bytes, recipe, _) = try generate(.invalidUTF8)
        let row = try #require(recipe.expectation.row)
        #expect(String(validating: bytes, as: UTF8.self) == nil)
        let invalidLines = bytes.lines.enumerated().filter { String(validating: Array($0.element), as: UTF8.self) == nil }.map(\.offset)
        #expect(invalidLines == [row + 1])
    }

    @Test("header-mismatch: the header is not the schema's, the data rows are fine")
    func headerMismatch() throws {
        let (bytes, _, schema) = try generate(.headerMismatch)
        let records = try StrictCSV.parse(bytes).get()
        let header = records[0].map { String(decoding: $0, as: UTF8.self) }
        #expect(header != schema.columnNames)
        #expect(Set(header) == Set(schema.columnNames))
        #expect(records.allSatisfy { $0.count == schema.columns.count })
    }

    @Test("empty-file: zero bytes")
    func emptyFile() throws {
        let (bytes, recipe, _) = try generate(.emptyFile)
        #expect(bytes.isEmpty)
        #expect(recipe.bytes == 0 && recipe.rows == 0)
    }

    @Test("truncated-last-row: the last row has fewer fields and no line ending", arguments: [DatasetSize.rows(3_000), .bytes(2_500_000)])
    func truncatedLastRow(size: DatasetSize) throws {
        let (bytes, recipe, schema) = try generate(.truncatedLastRow, size: size)
        #expect(bytes.last != 0x0A)
        let records = try StrictCSV.parse(bytes).get()
        #expect(records.last!.count < schema.columns.count)
        #expect(records.dropLast().allSatisfy { $0.count == schema.columns.count })
        #expect(recipe.expectation.row == recipe.rows - 1)
        #expect(recipe.bytes == bytes.count)
    }

    @Test("Row defects land in the same row at any thread count", arguments: [MalformedMode.wrongColumnCount, .unbalancedQuotes, .invalidUTF8])
    func defectRowIsDeterministic(mode: MalformedMode) throws {
        let (one, recipeOne, _) = try generate(mode, size: .bytes(900_000), threads: 1)
        let (two, recipeTwo, _) = try generate(mode, size: .bytes(900_000), threads: 2)
        #expect(one == two)
        #expect(recipeOne == recipeTwo)
    }
}
