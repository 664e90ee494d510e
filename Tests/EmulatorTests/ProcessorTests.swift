@testable import Emulator
import Foundation
import NIOCore
import SyntheticData
import Testing

/// The repository root, from this file's location (Tests/EmulatorTests/ProcessorTests.swift).
private let processorProjectRoot: String = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

private func loadProcessorSchema(_ name: String) throws -> Schema {
    try SchemaLoader.load(path: "\(processorProjectRoot)/generators/\(name).yaml")
}

/// Generates a dataset in memory and returns its bytes and the completed recipe.
private func generate(_ schema: Schema, seed: UInt64 = 42, rows: Int, options: GeneratorOptions = GeneratorOptions()) throws -> (bytes: [UInt8], recipe: DatasetRecipe) {
    var bytes: [UInt8] = []
    let recipe = try DatasetGenerator.write(schema: schema, recipe: DatasetRecipe(schema: schema, seed: seed, size: .rows(rows), options: options)) { slice in
        bytes.append(contentsOf: slice)
    }
    return (bytes, recipe)
}

/// A strict RFC 4180 reader for checking output: records of raw field bytes (unescaped).
private func parseCSV(_ bytes: [UInt8]) -> [[[UInt8]]]? {
    var records: [[[UInt8]]] = []
    var fields: [[UInt8]] = []
    var field: [UInt8] = []
    var i = 0
    var inQuotes = false
    var wasQuoted = false
    while i < bytes.count {
        let byte = bytes[i]
        if inQuotes {
            if byte == 0x22 {
                if i + 1 < bytes.count && bytes[i + 1] == 0x22 {
                    field.append(0x22)
                    i += 2
                    continue
                }
                inQuotes = false
                i += 1
                if i < bytes.count && ![0x2C, 0x0A, 0x0D].contains(bytes[i]) { return nil }
                continue
            }
            field.append(byte)
            i += 1
            continue
        }
        switch byte {
        case 0x22:
            if !field.isEmpty || wasQuoted { return nil }
            inQuotes = true
            wasQuoted = true
        case 0x2C:
            fields.append(field)
            field = []
            wasQuoted = false
        case 0x0D:
            guard i + 1 < bytes.count, bytes[i + 1] == 0x0A else { return nil }
        case 0x0A:
            fields.append(field)
            records.append(fields)
            fields = []
            field = []
            wasQuoted = false
        default:
            field.append(byte)
        }
        i += 1
    }
    if inQuotes { return nil }
    if !field.isEmpty || !fields.isEmpty || wasQuoted {
        fields.append(field)
        records.append(fields)
    }
    return records
}

private func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
    guard !needle.isEmpty, haystack.count >= needle.count else { return false }
    let first = needle[0]
    var i = 0
    let last = haystack.count - needle.count
    while i <= last {
        if haystack[i] == first && haystack[i..<(i + needle.count)].elementsEqual(needle) { return true }
        i += 1
    }
    return false
}

@Suite("Processor: validation and PII scrubbing")
struct ProcessorTests {
    static let schemas = ["customers", "transactions"]

    @Test("Valid files pass with the right row count, whatever the chunk size", arguments: schemas)
    func validFilesPass(schemaName: String) throws {
        let schema = try loadProcessorSchema(schemaName)
        let (input, recipe) = try generate(schema, rows: 400)
        let configuration = CSVProcessor.Configuration(schema: schema)
        let whole = CSVProcessor.run(input, chunkSize: input.count, configuration: configuration)
        let summary = try #require(whole.outcome.summary, "\(whole.outcome)")
        #expect(summary.rows == recipe.rows)
        #expect(summary.bytesIn == input.count)
        #expect(summary.bytesOut == whole.output.count)
        for chunkSize in [1, 7, 4096] {
            let split = CSVProcessor.run(input, chunkSize: chunkSize, configuration: configuration)
            #expect(split.outcome == whole.outcome, "chunk size \(chunkSize)")
            #expect(split.output == whole.output, "chunk size \(chunkSize)")
        }
        // Validation only: same verdict, no output.
        let validated = CSVProcessor.run(input, configuration: CSVProcessor.Configuration(expectedHeader: schema.columnNames))
        #expect(validated.outcome.summary?.rows == recipe.rows)
        #expect(validated.output.count == 0)
    }

    @Test("CRLF line endings and a header-only file are valid")
    func crlfAndHeaderOnly() throws {
        let schema = try loadProcessorSchema("customers")
        let (input, recipe) = try generate(schema, rows: 200, options: GeneratorOptions(lineEnding: .crlf))
        for chunkSize in [7, 4096, input.count] {
            let run = CSVProcessor.run(input, chunkSize: chunkSize, configuration: CSVProcessor.Configuration(schema: schema))
            #expect(run.outcome.summary?.rows == recipe.rows, "chunk size \(chunkSize): \(run.outcome)")
            #expect(parseCSV(run.output)?.count == recipe.rows + 1)
        }
        let (headerOnly, _) = try generate(schema, rows: 0)
        #expect(CSVProcessor.run(headerOnly, configuration: CSVProcessor.Configuration(schema: schema)).outcome.summary?.rows == 0)
    }

    @Test("Every malformed mode is detected with the right kind and row", arguments: schemas, MalformedMode.allCases)
    func malformedModes(schemaName: String, mode: MalformedMode) throws {
        let schema = try loadProcessorSchema(schemaName)
        let (input, recipe) = try generate(schema, seed: 7, rows: 600, options: GeneratorOptions(malformed: mode))
        for chunkSize in [7, 4096, max(1, input.count)] {
            let run = CSVProcessor.run(input, chunkSize: chunkSize, configuration: CSVProcessor.Configuration(schema: schema))
            let error = try #require(run.outcome.error, "\(mode) not detected (chunk size \(chunkSize))")
            #expect(error.kind == CSVValidationError.Kind(mode), "chunk size \(chunkSize): \(error)")
            #expect(error.kind.malformedMode == mode)
            #expect(error.row == recipe.expectation.row, "chunk size \(chunkSize): \(error)")
            #expect(error.byteOffset >= 0 && error.byteOffset <= input.count)
            if let row = recipe.expectation.row {
                // The defect's offset lies in (or, for an unclosed quote, after) the defect row.
                let start = try rowStart(schema: schema, recipe: recipe, row: row)
                #expect(error.byteOffset >= start, "\(error) before the row's start \(start)")
            }
        }
    }

    /// Where data row `row` starts in the generated bytes (rows before it carry no defect).
    private func rowStart(schema: Schema, recipe: DatasetRecipe, row: Int) throws -> Int {
        let regenerator = try recipe.regenerator(schema: schema)
        var total = regenerator.header.count
        for index in 0..<row { total += regenerator.row(index).count }
        return total
    }

    @Test("Scrubbed output is CSV with the same shape, non-PII columns untouched, no seeded PII left", arguments: schemas, [99, 2024] as [UInt64])
    func scrubbedOutput(schemaName: String, seed: UInt64) throws {
        let schema = try loadProcessorSchema(schemaName)
        let rows = 1500
        let (input, _) = try generate(schema, seed: seed, rows: rows)
        let configuration = CSVProcessor.Configuration(schema: schema)
        let run = CSVProcessor.run(input, chunkSize: 4096, configuration: configuration)
        let summary = try #require(run.outcome.summary, "\(run.outcome)")
        let output = try #require(parseCSV(run.output), "the output is not strict CSV")
        let original = try #require(parseCSV(input))
        #expect(output.count == rows + 1)
        #expect(output.allSatisfy { $0.count == schema.columns.count })
        #expect(output[0] == original[0], "the header is kept")

        // Columns that are neither masked nor free text come through unchanged: dates,
        // timestamps, decimals, postal codes and ids are not mistaken for PII.
        let masked = ScrubPolicy(schema: schema).maskedColumns
        for (index, column) in schema.columns.enumerated() where !masked.contains(column.name) && column.typeName != "notes" {
            for row in 1...rows { #expect(output[row][index] == original[row][index], "row \(row - 1) column \(column.name)") }
        }
        for (index, column) in schema.columns.enumerated() where masked.contains(column.name) {
            for row in 1...rows { #expect(output[row][index] == (original[row][index].isEmpty ? [] : Array("***".utf8))) }
        }

        // The audit's property: none of the seeded PII values survives, in its row or anywhere.
        let recipe = DatasetRecipe(schema: schema, seed: seed, size: .rows(rows))
        let regenerator = try recipe.regenerator(schema: schema)
        let lines = run.output.split(separator: 0x0A, omittingEmptySubsequences: false)
        var embedded = 0
        for row in 0..<rows {
            let line = Array(lines[row + 1])
            for value in regenerator.piiValues(row: row) {
                #expect(!contains(line, Array(value.value.utf8)), "row \(row): \(value.kind) '\(value.value)' survived in \(String(decoding: line, as: UTF8.self))")
                if value.column == "notes" { embedded += 1 }
                if row % 20 == 0 && [.email, .ssn, .creditCard, .iban, .phone].contains(value.kind) {
                    #expect(!contains(run.output, Array(value.value.utf8)), "'\(value.value)' survives elsewhere")
                }
            }
        }
        if schemaName == "customers" {
            #expect(embedded > 100)
            let counts = summary.redactions
            #expect(counts.totalRedactions == embedded, "\(counts)")
            for kind: RedactionKind in [.email, .phone, .ssn, .card, .iban, .ipv4] { #expect(counts[kind] > 0, "\(kind)") }
            #expect(counts.maskedFields > rows * 8)
        }
    }

    @Test("Quoting, escapes, CRLF and PII in quoted fields, in any split")
    func handWrittenQuoting() throws {
        let input = Array((
            "id,name,notes\r\n"
                + "1,\"Doe, Jane\",\"said \"\"hi\"\" at jane.doe@example.com, then left\"\r\n"
                + "2,Bob,\"multi\nline 4111 1111 1111 1111 ok\"\r\n"
                + "3,,\"\"\r\n"
                + "4,Zoë,ssn 912-34-5678 and 2023-09-12"
        ).utf8)
        let configuration = CSVProcessor.Configuration(expectedHeader: ["id", "name", "notes"], scrub: ScrubPolicy(maskedColumns: ["name"], mask: "x,y"))
        let whole = CSVProcessor.run(input, chunkSize: input.count, configuration: configuration)
        let expected = "id,name,notes\r\n"
            + "1,\"x,y\",\"said \"\"hi\"\" at [REDACTED:EMAIL], then left\"\r\n"
            + "2,\"x,y\",\"multi\nline [REDACTED:CARD] ok\"\r\n"
            + "3,,\"\"\r\n"
            + "4,\"x,y\",ssn [REDACTED:SSN] and 2023-09-12"
        #expect(String(decoding: whole.output, as: UTF8.self) == expected)
        #expect(whole.outcome.summary?.rows == 4)
        for chunkSize in 1...9 {
            let split = CSVProcessor.run(input, chunkSize: chunkSize, configuration: configuration)
            #expect(split.output == whole.output, "chunk size \(chunkSize)")
            #expect(split.outcome == whole.outcome)
        }
    }

    @Test("Hand-made defects", arguments: [
        ("a,b\n1,2\n3,4,5\n", "wrong-column-count", 1),
        ("a,b\n1,2\n3\n", "wrong-column-count", 1),
        ("a,b\n1,2\n3", "truncated-last-row", 1),
        ("a,b\n1,2\n3,4,", "wrong-column-count", 1),
        ("a,b\n1,x\"y\n", "unbalanced-quotes", 0),
        ("a,b\n1,\"xy\"z\n", "unbalanced-quotes", 0),
        ("a,b\n1,2\n\"3,4\n", "unbalanced-quotes", 1),
        ("a,b\n1,2\r3,4\n", "bare-carriage-return", 0),
        ("a,b\n\n", "wrong-column-count", 0),
    ])
    func handMadeDefects(text: String, kind: String, row: Int) {
        let input = Array(text.utf8)
        for chunkSize in [1, 2, 3, input.count] {
            let run = CSVProcessor.run(input, chunkSize: chunkSize, configuration: CSVProcessor.Configuration(scrub: ScrubPolicy(maskedColumns: [])))
            #expect(run.outcome.error?.kind.rawValue == kind, "\(text.debugDescription) chunk \(chunkSize): \(run.outcome)")
            #expect(run.outcome.error?.row == row, "\(text.debugDescription) chunk \(chunkSize): \(run.outcome)")
        }
    }

    @Test("UTF-8: multi-byte characters across chunk boundaries pass; invalid sequences fail")
    func utf8() {
        let good = Array("a,b\nZoë,日本語 🙂\n\"ü\",x\n".utf8)
        for chunkSize in 1...5 {
            let run = CSVProcessor.run(good, chunkSize: chunkSize, configuration: CSVProcessor.Configuration())
            #expect(run.outcome.summary?.rows == 2, "chunk \(chunkSize): \(run.outcome)")
        }
        let bad: [[UInt8]] = [
            [0xC0, 0x80], // overlong
            [0xE0, 0x80, 0x80], // overlong
            [0xED, 0xA0, 0x80], // surrogate
            [0xF4, 0x90, 0x80, 0x80], // above U+10FFFF
            [0xC3], // cut short by the delimiter
            [0x80], // stray continuation
            [0xFF, 0xFE],
        ]
        for sequence in bad {
            let input = Array("a,b\n1,x".utf8) + sequence + Array(",\n".utf8)
            for chunkSize in [1, 3, input.count] {
                let run = CSVProcessor.run(input, chunkSize: chunkSize, configuration: CSVProcessor.Configuration())
                #expect(run.outcome.error?.kind == .invalidUTF8, "\(sequence) chunk \(chunkSize): \(run.outcome)")
                #expect(run.outcome.error?.byteOffset == 7, "\(sequence)")
            }
        }
        // A sequence cut by the end of the file.
        let cut = Array("a,b\n1,x".utf8) + [0xE2, 0x82]
        #expect(CSVProcessor.run(cut, chunkSize: 2, configuration: CSVProcessor.Configuration()).outcome.error?.kind == .invalidUTF8)
    }

    @Test("A quoted field longer than the limit is reported as an unclosed quote, memory stays bounded")
    func fieldLimit() {
        var input = Array("a,b\n1,\"".utf8)
        input += [UInt8](repeating: 0x61, count: 10_000)
        let configuration = CSVProcessor.Configuration(maxFieldBytes: 1000)
        for chunkSize in [100, input.count] {
            let run = CSVProcessor.run(input, chunkSize: chunkSize, configuration: configuration)
            #expect(run.outcome.error?.kind == .unbalancedQuotes, "\(run.outcome)")
            #expect(run.outcome.error?.row == 0)
        }
    }

    @Test("The error report is JSON with the defect, row, offset and message")
    func errorReport() throws {
        let error = CSVValidationError(kind: .wrongColumnCount, row: 12, byteOffset: 3456, message: "the record has 16 fields, the header 15")
        let report = ProcessorErrorReport(error: error, input: "s3://raw/a.csv")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(report.jsonBytes())) as? [String: Any])
        #expect(json["defect"] as? String == "wrong-column-count")
        #expect(json["row"] as? Int == 12)
        #expect(json["byteOffset"] as? Int == 3456)
        #expect(json["status"] as? String == "FAILED")
        #expect(json["input"] as? String == "s3://raw/a.csv")
        let decoded = try JSONDecoder().decode(ProcessorErrorReport.self, from: Data(report.jsonBytes()))
        #expect(decoded == report)
        let header = ProcessorErrorReport(error: CSVValidationError(kind: .headerMismatch, row: nil, byteOffset: 0, message: "m"))
        let headerJSON = String(decoding: header.jsonBytes(), as: UTF8.self)
        #expect(headerJSON.contains("\"row\" : null"))
    }
    @Test("The default policy masks the columns the schema marks as PII")
    func defaultPolicy() throws {
        let customers = ScrubPolicy(schema: try loadProcessorSchema("customers"))
        #expect(customers.maskedColumns == ["full_name", "email", "phone", "ssn", "date_of_birth", "street_address", "credit_card", "iban", "ipv4"])
        #expect(customers.mask == "***")
        let transactions = ScrubPolicy(schema: try loadProcessorSchema("transactions"))
        #expect(transactions.maskedColumns == ["card_number"])
    }

    @Test("ByteBuffer chunks give the same output as raw buffers")
    func byteBufferChunks() throws {
        let schema = try loadProcessorSchema("customers")
        let (input, _) = try generate(schema, rows: 300)
        let configuration = CSVProcessor.Configuration(schema: schema)
        let reference = CSVProcessor.run(input, chunkSize: 1000, configuration: configuration)
        var processor = CSVProcessor(configuration: configuration)
        var output: [UInt8] = []
        var at = 0
        while at < input.count {
            let end = min(input.count, at + 1000)
            let buffer = ByteBuffer(bytes: input[at..<end])
            processor.process(buffer) { output.append(contentsOf: $0) }
            at = end
        }
        let outcome = processor.finish { output.append(contentsOf: $0) }
        #expect(outcome == reference.outcome)
        #expect(output == reference.output)

        // ByteBuffer in, ByteBuffer out, drained after every chunk.
        var second = CSVProcessor(configuration: configuration)
        var collected = ByteBuffer()
        at = 0
        while at < input.count {
            let end = min(input.count, at + 777)
            var piece = ByteBuffer()
            second.process(ByteBuffer(bytes: input[at..<end]), into: &piece)
            second.flush(into: &piece)
            collected.writeBuffer(&piece)
            at = end
        }
        #expect(second.finish(into: &collected) == reference.outcome)
        #expect(Array(collected.readableBytesView) == reference.output)
    }

    @Test("A sink error propagates")
    func sinkErrors() throws {
        struct Refused: Error {}
        var processor = CSVProcessor(configuration: CSVProcessor.Configuration(scrub: ScrubPolicy(maskedColumns: []), outputBufferBytes: 64))
        let input = Array(String(repeating: "a,b\n", count: 100).utf8)
        #expect(throws: Refused.self) {
            try input.withUnsafeBytes { bytes in
                try processor.process(bytes) { _ in throw Refused() }
            }
        }
    }
}
