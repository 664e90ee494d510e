/// A bucket or key pattern: `*` matches any run of characters except `/`, `**` any run
/// including `/`, `?` one character except `/`, `[abc]` / `[a-z]` / `[!a-z]` one character of
/// (or not of) a set; everything else matches itself. `in/*.csv` matches `in/a.csv`, not
/// `in/x/a.csv`; `in/**.csv` matches both.
package struct Glob: Sendable, Equatable, CustomStringConvertible {
    package let pattern: String
    private let tokens: [Token]

    private enum Token: Equatable {
        case literal(Character)
        case any  // ?
        case star  // *
        case globstar  // **
        case set([ClosedRange<Character>], negated: Bool)
    }

    package struct SyntaxError: Error, Equatable, CustomStringConvertible {
        package var description: String
    }

    package init(_ pattern: String) throws(SyntaxError) {
        guard !pattern.isEmpty else { throw SyntaxError(description: "an empty pattern matches nothing") }
        self.pattern = pattern
        var tokens: [Token] = []
        let characters = Array(pattern)
        var i = 0
        while i < characters.count {
            let c = characters[i]
            switch c {
            case "*":
                if i + 1 < characters.count, characters[i + 1] == "*" {
                    tokens.append(.globstar)
                    i += 2
                    while i < characters.count, characters[i] == "*" { i += 1 }
                    continue
                }
                tokens.append(.star)
            case "?":
                tokens.append(.any)
            case "[":
                var j = i + 1
                var negated = false
                if j < characters.count, characters[j] == "!" || characters[j] == "^" {
                    negated = true
                    j += 1
                }
                var ranges: [ClosedRange<Character>] = []
                var closed = false
                var first = true
                while j < characters.count {
                    let m = characters[j]
                    if m == "]" && !first {
                        closed = true
                        break
                    }
                    first = false
                    if j + 2 < characters.count, characters[j + 1] == "-", characters[j + 2] != "]" {
                        let upper = characters[j + 2]
                        guard m <= upper else { throw SyntaxError(description: "the range '\(m)-\(upper)' in '\(pattern)' is reversed") }
                        ranges.append(m...upper)
                        j += 3
                    } else {
                        ranges.append(m...m)
                        j += 1
                    }
                }
                guard closed else { throw SyntaxError(description: "'[' without a closing ']' in '\(pattern)'") }
                tokens.append(.set(ranges, negated: negated))
                i = j
            case "\\":
                guard i + 1 < characters.count else { throw SyntaxError(description: "'\\' at the end of '\(pattern)' escapes nothing") }
                tokens.append(.literal(characters[i + 1]))
                i += 1
            default:
                tokens.append(.literal(c))
            }
            i += 1
        }
        self.tokens = tokens
    }

    package var description: String { pattern }

    /// Whether the pattern matches all of `text`.
    package func matches(_ text: String) -> Bool {
        let chars = Array(text)
        return Self.match(tokens[...], chars[...])
    }

    /// Dynamic programming over (token, character): `row[j]` is whether the tokens from the
    /// current one on match `text[j...]`. O(tokens × characters), no backtracking blow-up.
    private static func match(_ pattern: ArraySlice<Token>, _ text: ArraySlice<Character>) -> Bool {
        let chars = Array(text)
        let n = chars.count
        var next = [Bool](repeating: false, count: n + 1)
        next[n] = true  // the empty pattern matches the empty rest
        var row = next
        for token in pattern.reversed() {
            row = [Bool](repeating: false, count: n + 1)
            switch token {
            case .star, .globstar:
                // row[j] = next[j] || (chars[j] may be eaten && row[j + 1])
                row[n] = next[n]
                var j = n - 1
                while j >= 0 {
                    row[j] = next[j] || ((token == .globstar || chars[j] != "/") && row[j + 1])
                    j -= 1
                }
            case .literal(let c):
                for j in 0..<n where chars[j] == c { row[j] = next[j + 1] }
            case .any:
                for j in 0..<n where chars[j] != "/" { row[j] = next[j + 1] }
            case .set(let ranges, let negated):
                for j in 0..<n where chars[j] != "/" && ranges.contains(where: { $0.contains(chars[j]) }) != negated {
                    row[j] = next[j + 1]
                }
            }
            next = row
        }
        return next[0]
    }
}
