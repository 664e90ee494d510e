import Foundation
import Testing
@testable import SyntheticData

@Suite("Schema errors name the file, line, column and the valid choices")
struct SchemaErrorTests {
    let dictionaries = "\(projectRoot)/generators"

    func load(_ yaml: String) -> ConfigError? {
        do {
            _ = try SchemaLoader.parse(yaml: yaml, file: "bad.yaml", baseDirectory: dictionaries)
            return nil
        } catch {
            return error
        }
    }

    @Test("An unknown type lists the valid types")
    func unknownType() throws {
        let error = try #require(load("""
        name: t
        columns:
          - name: a
            type: sequence
          - name: b
            type: creditcard
        """))
        #expect(error.file == "bad.yaml")
        #expect(error.line == 6 && error.column == 11)
        #expect(error.validChoices.contains("credit_card") && error.validChoices.contains("iban"))
        #expect(error.description.hasPrefix("bad.yaml:6:11: error:"))
    }

    @Test("An unknown key lists the keys the type takes")
    func unknownKey() throws {
        let error = try #require(load("""
        name: t
        columns:
          - name: amount
            type: decimal
            precision: 2
        """))
        #expect(error.line == 5 && error.column == 5)
        #expect(error.validChoices.contains("scale"))
    }

    @Test("Out-of-range and ill-typed values", arguments: [
        ("name: t\ncolumns:\n  - name: a\n    type: ssn\n    nullRate: 1.5\n", 5, "nullRate"),
        ("name: t\ncolumns:\n  - name: a\n    type: email\n    domains: [gmail.com]\n", 5, "reserved domain"),
        ("name: t\ncolumns:\n  - name: a\n    type: integer\n    min: 10\n    max: 1\n", 5, "greater than max"),
        ("name: t\ncolumns:\n  - name: a\n    type: date\n    from: 1990-13-01\n", 5, "YYYY-MM-DD"),
        ("name: t\ncolumns:\n  - name: a\n    type: phone\n    format: e164\n", 5, "unknown value"),
        ("name: t\ncolumns:\n  - name: a\n    type: ssn\n  - name: a\n    type: ssn\n", 5, "duplicate column"),
        ("name: t\ncolums: []\n", 2, "unknown key"),
        ("name: t\ncolumns:\n  - name: a\n    type: [1\n", 5, "invalid YAML"),
    ])
    func invalidValues(yaml: String, line: Int, fragment: String) throws {
        let error = try #require(load(yaml))
        #expect(error.line == line, "\(error)")
        #expect(error.column != nil)
        #expect(error.description.contains(fragment), "\(error)")
    }

    @Test("A missing file is a clear error")
    func missingFile() {
        #expect(throws: ConfigError.self) { try SchemaLoader.load(path: "/nonexistent/schema.yaml") }
    }

    @Test("The shipped schemas load")
    func shipped() throws {
        #expect(try loadSchema("customers").columns.count == 15)
        #expect(try loadSchema("transactions").columns.count == 8)
    }

    @Test("Sizes parse with binary and decimal units, and reject junk")
    func sizes() {
        #expect(ByteSize(parsing: "5GiB")?.bytes == 5 << 30)
        #expect(ByteSize(parsing: "64MiB")?.bytes == 64 << 20)
        #expect(ByteSize(parsing: "1.5GB")?.bytes == 1_500_000_000)
        #expect(ByteSize(parsing: "4096")?.bytes == 4096)
        #expect(ByteSize(parsing: "12 KiB")?.bytes == 12_288)
        #expect(ByteSize(parsing: "lots") == nil)
        #expect(ByteSize(parsing: "-1MiB") == nil)
        #expect(ByteSize(parsing: "5XB") == nil)
    }
}
