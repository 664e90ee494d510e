/// A parsed AWS shared credentials or config file (INI).
///
/// Follows botocore's reading: `#` and `;` start comment lines (no inline comments), keys are
/// case-insensitive and split from the value at the first `=` or `:`, values are trimmed, a later
/// key wins. In the config file profiles are `[default]` and `[profile NAME]` (other sections
/// such as `[sso-session …]` are ignored); in the credentials file every `[NAME]` is a profile.
/// Indented lines after a key with an empty value (nested settings such as `s3 =`) are skipped.
/// LF and CRLF line endings are both accepted.
struct ProfileFile: Sendable {
    enum Kind: Sendable {
        case credentials
        case config
    }

    /// A key's value and the 1-based line it is on.
    struct Entry: Sendable, Equatable {
        var value: String
        var line: Int
    }

    /// Profile name → lower-cased key → entry.
    private(set) var profiles: [String: [String: Entry]] = [:]
    /// The 1-based line of each profile's (first) section header.
    private(set) var sectionLines: [String: Int] = [:]

    init(text: String, kind: Kind) {
        var current: String? = nil
        var inNestedBlock = false
        var lineNumber = 0
        for rawLine in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) {
            lineNumber += 1
            let isIndented = rawLine.first == " " || rawLine.first == "\t"
            let line = rawLine.trimmingASCIIWhitespace()
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("[") {
                inNestedBlock = false
                current = Self.profileName(section: line, kind: kind)
                if let current {
                    if self.profiles[current] == nil { self.profiles[current] = [:] }
                    if self.sectionLines[current] == nil { self.sectionLines[current] = lineNumber }
                }
                continue
            }
            if isIndented && inNestedBlock { continue }
            guard let profile = current,
                let separator = line.firstIndex(where: { $0 == "=" || $0 == ":" })
            else { continue }
            let key = line[..<separator].trimmingASCIIWhitespace().lowercased()
            let value = line[line.index(after: separator)...].trimmingASCIIWhitespace()
            inNestedBlock = value.isEmpty
            if key.isEmpty { continue }
            self.profiles[profile, default: [:]][key] = Entry(value: value, line: lineNumber)
        }
    }

    /// The profile a section header names, or nil for sections that are not profiles.
    private static func profileName(section line: String, kind: Kind) -> String? {
        guard let close = line.lastIndex(of: "]") else { return nil }
        let inner = line[line.index(after: line.startIndex)..<close].trimmingASCIIWhitespace()
        switch kind {
        case .credentials:
            return inner.isEmpty ? nil : inner
        case .config:
            if inner == "default" { return "default" }
            guard inner.hasPrefix("profile"), let afterPrefix = inner.dropFirst("profile".count).first,
                afterPrefix == " " || afterPrefix == "\t"
            else { return nil }
            let name = inner.dropFirst("profile".count).trimmingASCIIWhitespace()
            return name.isEmpty ? nil : name
        }
    }

    func value(_ key: String, profile: String) -> Entry? {
        guard let entry = self.profiles[profile]?[key], !entry.value.isEmpty else { return nil }
        return entry
    }
}
