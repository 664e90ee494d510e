/// A fault plan that cannot run: names the file, line and column, says what is wrong and lists
/// the valid choices. `plans/x.yaml:4:11: error: faults[0].kind: unknown value 'task-fail' (valid: task-failure, …)`.
package struct FaultPlanError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What kind of mistake; compare with the static members.
    package struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case unreadable, syntax, unknownKind, unknownKey, missingKey, invalidValue, impossibleWindow, unmatchableSelector
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The file cannot be read.
        package static let unreadable = Code(.unreadable)
        /// Not YAML, or not the expected shape.
        package static let syntax = Code(.syntax)
        package static let unknownKind = Code(.unknownKind)
        package static let unknownKey = Code(.unknownKey)
        package static let missingKey = Code(.missingKey)
        /// A value of the wrong type or out of range.
        package static let invalidValue = Code(.invalidValue)
        /// Negative start, zero or negative duration, or beyond the plan's limits.
        package static let impossibleWindow = Code(.impossibleWindow)
        /// A selector that no request can satisfy (wrong service for the kind, an operation the
        /// service does not have, an empty or malformed glob).
        package static let unmatchableSelector = Code(.unmatchableSelector)

        package var description: String { base.rawValue }
    }

    package let code: Code
    package let file: String
    package let line: Int?
    package let column: Int?
    package let message: String
    package let validChoices: [String]

    package init(_ code: Code, file: String, line: Int? = nil, column: Int? = nil, message: String, validChoices: [String] = []) {
        self.code = code
        self.file = file
        self.line = line
        self.column = column
        self.message = message
        self.validChoices = validChoices
    }

    package var description: String {
        var text = file
        if let line {
            text += ":\(line)"
            if let column { text += ":\(column)" }
        }
        text += ": error: \(message)"
        if !validChoices.isEmpty { text += " (valid: \(validChoices.joined(separator: ", ")))" }
        return text
    }
}
