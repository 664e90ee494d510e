import Foundation

/// Named, deliberate ways to make a dataset invalid, so that the pipeline's failure path
/// gets exercised. The recipe records which one and where.
public enum MalformedMode: String, Codable, Sendable, CaseIterable {
    /// One row has an extra field.
    case wrongColumnCount = "wrong-column-count"
    /// One row opens a quoted field that is never properly closed.
    case unbalancedQuotes = "unbalanced-quotes"
    /// One row holds bytes that are not UTF-8 (0xFF 0xFE).
    case invalidUTF8 = "invalid-utf8"
    /// The header's column names are not the schema's (the first two are swapped).
    case headerMismatch = "header-mismatch"
    /// Zero bytes.
    case emptyFile = "empty-file"
    /// The last row stops half-way, without a line ending.
    case truncatedLastRow = "truncated-last-row"

    /// Why a validating processor must reject the file.
    public var reason: String {
        switch self {
        case .wrongColumnCount: return "a row has more fields than the header"
        case .unbalancedQuotes: return "a row opens a quoted field that is never properly closed"
        case .invalidUTF8: return "a row holds bytes that are not valid UTF-8"
        case .headerMismatch: return "the header does not match the schema's column names"
        case .emptyFile: return "the file is empty"
        case .truncatedLastRow: return "the last row is cut short (fewer fields, no line ending)"
        }
    }

    /// Whether the defect sits in one data row.
    var isRowDefect: Bool {
        switch self {
        case .wrongColumnCount, .unbalancedQuotes, .invalidUTF8, .truncatedLastRow: return true
        case .headerMismatch, .emptyFile: return false
        }
    }

    var rowDefect: RowDefect? {
        switch self {
        case .wrongColumnCount: return .extraColumn
        case .unbalancedQuotes: return .unbalancedQuote
        case .invalidUTF8: return .invalidUTF8
        case .truncatedLastRow: return .truncated
        case .headerMismatch, .emptyFile: return nil
        }
    }
}

/// How much to generate.
public enum DatasetSize: Sendable, Equatable, Codable {
    /// Exactly this many data rows.
    case rows(Int)
    /// Stop at the first row boundary at or past this many bytes (header included).
    case bytes(Int)
}

/// Generation options that change the bytes.
public struct GeneratorOptions: Sendable, Equatable, Codable {
    /// Write the header line. Default true.
    public var header: Bool
    /// `\n` (default) or `\r\n`.
    public var lineEnding: LineEnding
    /// A deliberate defect, or nil for a valid file.
    public var malformed: MalformedMode?

    public init(header: Bool = true, lineEnding: LineEnding = .lf, malformed: MalformedMode? = nil) {
        self.header = header
        self.lineEnding = lineEnding
        self.malformed = malformed
    }
}

/// Everything that determines a dataset's bytes, and what it is expected to do in the
/// pipeline. Any row — and its PII values — can be regenerated from a recipe and its schema.
public struct DatasetRecipe: Sendable, Equatable, Codable {
    /// The generator's output version: the same recipe makes the same bytes only within one
    /// version. 2: an embedded PII phrase after a note's last word is separated by a space.
    public static let currentVersion = 2

    public struct SchemaReference: Sendable, Equatable, Codable {
        public var name: String
        public var path: String
        /// SHA-256 over the schema file and its dictionaries (`Schema.fingerprint`).
        public var fingerprint: String
    }

    public struct Expectation: Sendable, Equatable, Codable {
        /// True when a validating processor should accept the file.
        public var valid: Bool
        public var defect: MalformedMode?
        /// The 0-based data row that carries the defect, for row defects.
        public var row: Int?
        public var reason: String?
    }

    public var recipeVersion: Int
    public var schema: SchemaReference
    public var seed: UInt64
    public var requested: DatasetSize
    public var options: GeneratorOptions
    /// Data rows written (header excluded), set once generation ends.
    public var rows: Int
    /// Bytes written, set once generation ends.
    public var bytes: Int
    public var expectation: Expectation
    /// The columns holding PII values, in schema order.
    public var piiColumns: [String]

    /// Plans a dataset. `rows` and `bytes` are filled in by the generator.
    public init(schema: Schema, seed: UInt64, size: DatasetSize, options: GeneratorOptions = GeneratorOptions()) {
        self.recipeVersion = Self.currentVersion
        self.schema = SchemaReference(name: schema.name, path: schema.sourcePath, fingerprint: schema.fingerprint)
        self.seed = seed
        self.requested = size
        self.options = options
        self.rows = 0
        self.bytes = 0
        self.piiColumns = schema.columns.filter { $0.isPII || $0.typeName == "notes" }.map(\.name)
        var expectation = Expectation(valid: options.malformed == nil, defect: options.malformed, row: nil, reason: options.malformed?.reason)
        if let mode = options.malformed, mode.isRowDefect, mode != .truncatedLastRow {
            expectation.row = Self.defectRow(seed: seed, size: size, schema: schema, options: options)
        }
        self.expectation = expectation
    }

    /// The row a row defect goes in: seeded, among the first 1,000 rows (or fewer when the
    /// dataset is smaller), so that it is found early and is the same at any thread count.
    static func defectRow(seed: UInt64, size: DatasetSize, schema: Schema, options: GeneratorOptions) -> Int {
        let span: Int
        switch size {
        case let .rows(rows):
            span = max(1, min(rows, 1000))
        case let .bytes(bytes):
            let encoder = RowEncoder(schema: schema, seed: seed, lineEnding: options.lineEnding)
            var sample = 0
            for row in 0..<64 { sample += encoder.rowBytes(row).count }
            span = max(1, min(1000, bytes / max(1, sample / 64)))
        }
        return Int(mix64(seed ^ 0xDEFEC7) % UInt64(span))
    }

    /// The row defect of `row`, if it carries one.
    func defect(forRow row: Int) -> RowDefect? {
        guard let mode = options.malformed, mode != .truncatedLastRow, let defectRow = expectation.row, defectRow == row else { return nil }
        return mode.rowDefect
    }

    /// A regenerator for this recipe's rows, after checking that `schema` is the one the
    /// recipe was made with.
    public func regenerator(schema: Schema) throws -> RowRegenerator {
        guard self.recipeVersion == Self.currentVersion else {
            throw RecipeError(message: "this recipe was made by generator version \(self.recipeVersion); this csvstorm generates version \(Self.currentVersion), whose rows differ: generate the dataset again")
        }
        guard schema.fingerprint == self.schema.fingerprint else {
            throw RecipeError(message: "schema '\(schema.sourcePath)' (fingerprint \(schema.fingerprint.prefix(12))…) is not the one this recipe was made with (\(self.schema.fingerprint.prefix(12))…)")
        }
        return RowRegenerator(recipe: self, encoder: RowEncoder(schema: schema, seed: seed, lineEnding: options.lineEnding))
    }

    public func write(to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try encoder.encode(self).write(to: URL(fileURLWithPath: path), options: .atomic)
    }

    public static func read(from path: String) throws -> DatasetRecipe {
        try JSONDecoder().decode(DatasetRecipe.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
    }
}

public struct RecipeError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

/// Regenerates rows and their PII values from a recipe: what the audit uses to prove that
/// processed output holds none of the seeded PII, without a stored manifest of values.
public struct RowRegenerator: Sendable {
    public let recipe: DatasetRecipe
    let encoder: RowEncoder

    /// The CSV bytes of data row `row` as they were written.
    public func row(_ row: Int) -> [UInt8] {
        encoder.rowBytes(row, defect: recipe.defect(forRow: row))
    }

    /// The PII values seeded into data row `row`.
    public func piiValues(row: Int) -> [PIIValue] {
        encoder.piiValues(row: row)
    }

    public var header: [UInt8] {
        encoder.header(defect: recipe.options.malformed == .headerMismatch)
    }
}
