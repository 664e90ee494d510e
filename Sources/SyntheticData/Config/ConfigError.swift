/// An error in a user's file (schema, scenario, fault plan): names the file, the line and
/// column, what is wrong and, where there is a closed set, the valid choices.
public struct ConfigError: Error, CustomStringConvertible, Sendable, Equatable {
    public var file: String
    public var line: Int?
    public var column: Int?
    public var message: String
    public var validChoices: [String]

    public init(file: String, line: Int? = nil, column: Int? = nil, message: String, validChoices: [String] = []) {
        self.file = file
        self.line = line
        self.column = column
        self.message = message
        self.validChoices = validChoices
    }

    public var description: String {
        var text = file
        if let line {
            text += ":\(line)"
            if let column { text += ":\(column)" }
        }
        text += ": error: \(message)"
        if !validChoices.isEmpty {
            text += " (valid: \(validChoices.joined(separator: ", ")))"
        }
        return text
    }
}
