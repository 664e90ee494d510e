import SyntheticData

/// Why the processor rejected a file: the defect kind, where it is and a message. The
/// kinds that the generator can produce on purpose carry `MalformedMode`'s raw values.
package struct CSVValidationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The kind of defect. A struct over a private code so that kinds can be added.
    package struct Kind: Sendable, Hashable, CustomStringConvertible {
        private enum Code: String, Sendable {
            case wrongColumnCount = "wrong-column-count"
            case unbalancedQuotes = "unbalanced-quotes"
            case invalidUTF8 = "invalid-utf8"
            case headerMismatch = "header-mismatch"
            case emptyFile = "empty-file"
            case truncatedLastRow = "truncated-last-row"
            case fieldTooLong = "field-too-long"
            case bareCarriageReturn = "bare-carriage-return"
        }

        private let code: Code

        /// A record has more or fewer fields than the header.
        package static let wrongColumnCount = Kind(code: .wrongColumnCount)
        /// A quote inside an unquoted field, a character after a closing quote, or the end
        /// of the file (or the field size limit) inside a quoted field.
        package static let unbalancedQuotes = Kind(code: .unbalancedQuotes)
        /// Bytes that are not UTF-8.
        package static let invalidUTF8 = Kind(code: .invalidUTF8)
        /// The header is not the expected one.
        package static let headerMismatch = Kind(code: .headerMismatch)
        /// Zero bytes.
        package static let emptyFile = Kind(code: .emptyFile)
        /// The last record has no line ending and too few fields.
        package static let truncatedLastRow = Kind(code: .truncatedLastRow)
        /// An unquoted field longer than `CSVProcessor.Configuration.maxFieldBytes`.
        package static let fieldTooLong = Kind(code: .fieldTooLong)
        /// A carriage return that is not followed by a line feed, outside quotes.
        package static let bareCarriageReturn = Kind(code: .bareCarriageReturn)

        private init(code: Code) { self.code = code }

        package init?(rawValue: String) {
            guard let code = Code(rawValue: rawValue) else { return nil }
            self.code = code
        }

        /// The generator's name for this defect.
        package init(_ mode: MalformedMode) {
            self.code = Code(rawValue: mode.rawValue)!
        }

        package var rawValue: String { code.rawValue }
        package var description: String { code.rawValue }

        /// The generator's mode for this kind, when it has one.
        package var malformedMode: MalformedMode? { MalformedMode(rawValue: code.rawValue) }
    }

    package let kind: Kind
    /// The 0-based data row (header excluded) of the record that holds the defect; nil
    /// for header defects and an empty file.
    package let row: Int?
    /// The offset in the input of the byte where the defect was found.
    package let byteOffset: Int
    package let message: String

    package init(kind: Kind, row: Int?, byteOffset: Int, message: String) {
        self.kind = kind
        self.row = row
        self.byteOffset = byteOffset
        self.message = message
    }

    package var description: String {
        let place = row.map { "data row \($0), " } ?? ""
        return "\(kind): \(message) (\(place)byte \(byteOffset))"
    }
}
