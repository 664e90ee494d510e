import Foundation

/// What processing one file came to.
package enum ProcessorOutcome: Sendable, Equatable {
    /// The file is valid; the scrubbed output is complete.
    case succeeded(ProcessorSummary)
    /// The file is invalid. Output already written is partial and must be discarded: the
    /// caller writes the input and `ProcessorErrorReport` to the failed bucket instead.
    case failed(CSVValidationError)

    package var isSuccess: Bool {
        if case .succeeded = self { return true }
        return false
    }

    package var summary: ProcessorSummary? {
        if case let .succeeded(summary) = self { return summary }
        return nil
    }

    package var error: CSVValidationError? {
        if case let .failed(error) = self { return error }
        return nil
    }
}

/// A successful run's counts.
package struct ProcessorSummary: Sendable, Equatable, Codable {
    /// Data rows (header excluded).
    package var rows: Int
    package var bytesIn: Int
    package var bytesOut: Int
    package var redactions: RedactionCounts

    package init(rows: Int, bytesIn: Int, bytesOut: Int, redactions: RedactionCounts) {
        self.rows = rows
        self.bytesIn = bytesIn
        self.bytesOut = bytesOut
        self.redactions = redactions
    }
}

/// The diagnostics written next to a rejected input in the failed bucket (JSON).
package struct ProcessorErrorReport: Sendable, Equatable, Codable {
    package static let currentVersion = 1

    package var reportVersion: Int
    package var status: String
    /// Where the input came from, as the caller knows it (e.g. `s3://raw/key?versionId=…`).
    package var input: String?
    /// `CSVValidationError.Kind.rawValue` (the generator's `MalformedMode` names where they apply).
    package var defect: String
    package var row: Int?
    package var byteOffset: Int
    package var message: String

    package init(error: CSVValidationError, input: String? = nil) {
        self.reportVersion = Self.currentVersion
        self.status = "FAILED"
        self.input = input
        self.defect = error.kind.rawValue
        self.row = error.row
        self.byteOffset = error.byteOffset
        self.message = error.message
    }

    /// Pretty-printed JSON with sorted keys; `row` is written as null for header defects.
    package func jsonBytes() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        // Encoding plain strings and integers cannot fail.
        return Array((try? encoder.encode(self)) ?? Data())
    }

    private enum CodingKeys: String, CodingKey {
        case reportVersion, status, input, defect, row, byteOffset, message
    }

    package func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(reportVersion, forKey: .reportVersion)
        try container.encode(status, forKey: .status)
        try container.encodeIfPresent(input, forKey: .input)
        try container.encode(defect, forKey: .defect)
        try container.encode(row, forKey: .row)
        try container.encode(byteOffset, forKey: .byteOffset)
        try container.encode(message, forKey: .message)
    }
}
