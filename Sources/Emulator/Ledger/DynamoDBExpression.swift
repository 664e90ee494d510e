import AWSWire

/// A document path in an expression: `a`, `#n`, `a.b[2].c`, with names already substituted.
package struct DynamoDBPath: Sendable, Hashable, CustomStringConvertible {
    package enum Element: Sendable, Hashable {
        case name(String)
        case index(Int)
    }

    package var elements: [Element]

    package init(_ elements: [Element]) { self.elements = elements }
    package init(_ name: String) { self.elements = [.name(name)] }

    /// The top-level attribute name.
    package var head: String {
        if case .name(let n) = self.elements.first { return n }
        return ""
    }

    package var description: String {
        var s = ""
        for e in self.elements {
            switch e {
            case .name(let n): s += s.isEmpty ? n : ".\(n)"
            case .index(let i): s += "[\(i)]"
            }
        }
        return s
    }
}

/// An operand of a condition: a path, a value (`:v`, already substituted) or `size(path)`.
package indirect enum DynamoDBOperand: Sendable, Hashable {
    case path(DynamoDBPath)
    case value(DynamoDBAttributeValue)
    case size(DynamoDBPath)
}

/// A parsed ConditionExpression / KeyConditionExpression / FilterExpression.
package indirect enum DynamoDBCondition: Sendable, Hashable {
    package enum Comparator: String, Sendable, Hashable {
        case equal = "="
        case notEqual = "<>"
        case less = "<"
        case lessOrEqual = "<="
        case greater = ">"
        case greaterOrEqual = ">="
    }

    case compare(DynamoDBOperand, Comparator, DynamoDBOperand)
    case between(DynamoDBOperand, DynamoDBOperand, DynamoDBOperand)
    case `in`(DynamoDBOperand, [DynamoDBOperand])
    case attributeExists(DynamoDBPath)
    case attributeNotExists(DynamoDBPath)
    case attributeType(DynamoDBPath, DynamoDBOperand)
    case beginsWith(DynamoDBOperand, DynamoDBOperand)
    case contains(DynamoDBOperand, DynamoDBOperand)
    case and(DynamoDBCondition, DynamoDBCondition)
    case or(DynamoDBCondition, DynamoDBCondition)
    case not(DynamoDBCondition)

    /// The conjuncts of a chain of ANDs.
    package var conjuncts: [DynamoDBCondition] {
        if case .and(let a, let b) = self { return a.conjuncts + b.conjuncts }
        return [self]
    }
}

/// A parsed UpdateExpression.
package struct DynamoDBUpdate: Sendable, Hashable {
    package indirect enum Value: Sendable, Hashable {
        case operand(DynamoDBOperand)
        case plus(Value, Value)
        case minus(Value, Value)
        case ifNotExists(DynamoDBPath, Value)
        case listAppend(Value, Value)
    }

    package enum Action: Sendable, Hashable {
        case set(DynamoDBPath, Value)
        case remove(DynamoDBPath)
        case add(DynamoDBPath, DynamoDBAttributeValue)
        case delete(DynamoDBPath, DynamoDBAttributeValue)
    }

    package var actions: [Action]
}

/// Expression text plus `ExpressionAttributeNames` / `ExpressionAttributeValues`, parsed.
/// Every name and value placeholder is substituted at parse time; an undefined placeholder
/// is a ValidationException, as in DynamoDB.
package struct DynamoDBExpressionParser {
    package var names: [String: String]
    package var values: DynamoDBItem
    /// Placeholders used so far (DynamoDB rejects unused ones; see ``checkAllUsed()``).
    private(set) var usedNames: Set<String> = []
    private(set) var usedValues: Set<String> = []

    package init(names: [String: String] = [:], values: DynamoDBItem = [:]) {
        self.names = names
        self.values = values
    }

    package mutating func condition(_ text: String) throws(DynamoDBServiceError) -> DynamoDBCondition {
        var p = try Parser(text: text, kind: "condition")
        let c = try p.parseOr(&self)
        try p.expectEnd()
        return c
    }

    package mutating func update(_ text: String) throws(DynamoDBServiceError) -> DynamoDBUpdate {
        var p = try Parser(text: text, kind: "update")
        let u = try p.parseUpdate(&self)
        try p.expectEnd()
        return u
    }

    /// A ProjectionExpression: comma-separated document paths.
    package mutating func projection(_ text: String) throws(DynamoDBServiceError) -> [DynamoDBPath] {
        var p = try Parser(text: text, kind: "projection")
        var paths = [try p.parsePath(&self)]
        while p.accept(",") { paths.append(try p.parsePath(&self)) }
        try p.expectEnd()
        return paths
    }

    /// ValidationException when a name or value placeholder was given but never used.
    package func checkAllUsed() throws(DynamoDBServiceError) {
        let unusedNames = Set(self.names.keys).subtracting(self.usedNames)
        if !unusedNames.isEmpty {
            throw .validation("Value provided in ExpressionAttributeNames unused in expressions: keys: {\(unusedNames.sorted().joined(separator: ", "))}")
        }
        let unusedValues = Set(self.values.keys).subtracting(self.usedValues)
        if !unusedValues.isEmpty {
            throw .validation("Value provided in ExpressionAttributeValues unused in expressions: keys: {\(unusedValues.sorted().joined(separator: ", "))}")
        }
    }

    fileprivate mutating func name(_ placeholder: String) throws(DynamoDBServiceError) -> String {
        guard let n = self.names[placeholder] else {
            throw .validation("Invalid expression: An expression attribute name used in the document path is not defined; attribute name: \(placeholder)")
        }
        self.usedNames.insert(placeholder)
        return n
    }

    fileprivate mutating func value(_ placeholder: String) throws(DynamoDBServiceError) -> DynamoDBAttributeValue {
        guard let v = self.values[placeholder] else {
            throw .validation("Invalid expression: An expression attribute value used in expression is not defined; attribute value: \(placeholder)")
        }
        self.usedValues.insert(placeholder)
        return v
    }
}

// MARK: - Tokens and parser

private enum Token: Equatable {
    case identifier(String)
    case name(String)  // #n
    case value(String)  // :v
    case number(Int)
    case symbol(String)
}

private struct Parser {
    var tokens: [Token]
    var position = 0
    let text: String
    let kind: String

    init(text: String, kind: String) throws(DynamoDBServiceError) {
        self.text = text
        self.kind = kind
        self.tokens = try Self.tokenize(text)
        if self.tokens.isEmpty { throw .validation("Invalid \(kind)Expression: The expression can not be empty;") }
    }

    static func tokenize(_ text: String) throws(DynamoDBServiceError) -> [Token] {
        let u = Array(text.utf8)
        var tokens: [Token] = []
        var i = 0
        func isWord(_ c: UInt8) -> Bool {
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x5F || c >= 0x80
        }
        while i < u.count {
            let c = u[i]
            if c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D {
                i += 1
                continue
            }
            if c == UInt8(ascii: "#") || c == UInt8(ascii: ":") {
                var j = i + 1
                while j < u.count, isWord(u[j]) || u[j] == UInt8(ascii: "-") { j += 1 }
                guard j > i + 1 else { throw .validation("Invalid expression: Syntax error; token: \"\(Character(UnicodeScalar(c)))\"") }
                let word = String(decoding: u[i..<j], as: UTF8.self)
                tokens.append(c == UInt8(ascii: "#") ? .name(word) : .value(word))
                i = j
            } else if c >= 0x30 && c <= 0x39 {
                var j = i
                while j < u.count, u[j] >= 0x30 && u[j] <= 0x39 { j += 1 }
                guard let n = Int(String(decoding: u[i..<j], as: UTF8.self)) else { throw .validation("Invalid expression: bad number") }
                tokens.append(.number(n))
                i = j
            } else if isWord(c) {
                var j = i
                while j < u.count, isWord(u[j]) { j += 1 }
                tokens.append(.identifier(String(decoding: u[i..<j], as: UTF8.self)))
                i = j
            } else {
                let two = i + 1 < u.count ? String(decoding: u[i...(i + 1)], as: UTF8.self) : ""
                if two == "<>" || two == "<=" || two == ">=" {
                    tokens.append(.symbol(two))
                    i += 2
                } else if "()[],.=<>+-".utf8.contains(c) {
                    tokens.append(.symbol(String(UnicodeScalar(c))))
                    i += 1
                } else {
                    throw .validation("Invalid expression: Syntax error; token: \"\(Character(UnicodeScalar(c)))\"")
                }
            }
        }
        return tokens
    }

    var peek: Token? { self.position < self.tokens.count ? self.tokens[self.position] : nil }

    func syntaxError() -> DynamoDBServiceError {
        let near: String
        switch self.peek {
        case .identifier(let s), .name(let s), .value(let s), .symbol(let s): near = s
        case .number(let n): near = String(n)
        case nil: near = "<EOF>"
        }
        return .validation("Invalid \(self.kind)Expression: Syntax error; token: \"\(near)\", near: \"\(self.text)\"")
    }

    mutating func next() -> Token? {
        defer { self.position += 1 }
        return self.peek
    }

    mutating func accept(_ symbol: String) -> Bool {
        if self.peek == .symbol(symbol) {
            self.position += 1
            return true
        }
        return false
    }

    mutating func acceptKeyword(_ keyword: String) -> Bool {
        if case .identifier(let w) = self.peek, w.uppercased() == keyword {
            self.position += 1
            return true
        }
        return false
    }

    mutating func expect(_ symbol: String) throws(DynamoDBServiceError) {
        guard self.accept(symbol) else { throw self.syntaxError() }
    }

    func expectEnd() throws(DynamoDBServiceError) {
        guard self.peek == nil else { throw self.syntaxError() }
    }

    static let reserved: Set<String> = ["AND", "OR", "NOT", "BETWEEN", "IN", "SET", "REMOVE", "ADD", "DELETE"]

    // MARK: Conditions

    mutating func parseOr(_ ctx: inout DynamoDBExpressionParser) throws(DynamoDBServiceError) -> DynamoDBCondition {
        var left = try self.parseAnd(&ctx)
        while self.acceptKeyword("OR") { left = .or(left, try self.parseAnd(&ctx)) }
        return left
    }

    mutating func parseAnd(_ ctx: inout DynamoDBExpressionParser) throws(DynamoDBServiceError) -> DynamoDBCondition {
        var left = try self.parseNot(&ctx)
        while self.acceptKeyword("AND") { left = .and(left, try self.parseNot(&ctx)) }
        return left
    }

    mutating func parseNot(_ ctx: inout DynamoDBExpressionParser) throws(DynamoDBServiceError) -> DynamoDBCondition {
        if self.acceptKeyword("NOT") { return .not(try self.parseNot(&ctx)) }
        return try self.parsePrimary(&ctx)
    }

    mutating func parsePrimary(_ ctx: inout DynamoDBExpressionParser) throws(DynamoDBServiceError) -> DynamoDBCondition {
        if self.accept("(") {
            let c = try self.parseOr(&ctx)
            try self.expect(")")
            return c
        }
        // Boolean functions.
        if case .identifier(let f) = self.peek, self.position + 1 < self.tokens.count, self.tokens[self.position + 1] == .symbol("(") {
            switch f {
            case "attribute_exists", "attribute_not_exists":
                self.position += 2
                let p = try self.parsePath(&ctx)
                try self.expect(")")
                return f == "attribute_exists" ? .attributeExists(p) : .attributeNotExists(p)
            case "attribute_type":
                self.position += 2
                let p = try self.parsePath(&ctx)
                try self.expect(",")
                let t = try self.parseOperand(&ctx)
                try self.expect(")")
                return .attributeType(p, t)
            case "begins_with", "contains":
                self.position += 2
                let a = try self.parseOperand(&ctx)
                try self.expect(",")
                let b = try self.parseOperand(&ctx)
                try self.expect(")")
                return f == "begins_with" ? .beginsWith(a, b) : .contains(a, b)
            case "size":
                break
            default:
                throw .validation("Invalid \(self.kind)Expression: Invalid function name; function: \(f)")
            }
        }
        let left = try self.parseOperand(&ctx)
        if self.acceptKeyword("BETWEEN") {
            let low = try self.parseOperand(&ctx)
            guard self.acceptKeyword("AND") else { throw self.syntaxError() }
            return .between(left, low, try self.parseOperand(&ctx))
        }
        if self.acceptKeyword("IN") {
            try self.expect("(")
            var list = [try self.parseOperand(&ctx)]
            while self.accept(",") { list.append(try self.parseOperand(&ctx)) }
            try self.expect(")")
            return .in(left, list)
        }
        guard case .symbol(let s) = self.peek, let op = DynamoDBCondition.Comparator(rawValue: s) else { throw self.syntaxError() }
        self.position += 1
        return .compare(left, op, try self.parseOperand(&ctx))
    }

    mutating func parseOperand(_ ctx: inout DynamoDBExpressionParser) throws(DynamoDBServiceError) -> DynamoDBOperand {
        switch self.peek {
        case .value(let v):
            self.position += 1
            return .value(try ctx.value(v))
        case .identifier("size") where self.position + 1 < self.tokens.count && self.tokens[self.position + 1] == .symbol("("):
            self.position += 2
            let p = try self.parsePath(&ctx)
            try self.expect(")")
            return .size(p)
        default:
            return .path(try self.parsePath(&ctx))
        }
    }

    mutating func parsePath(_ ctx: inout DynamoDBExpressionParser) throws(DynamoDBServiceError) -> DynamoDBPath {
        var elements: [DynamoDBPath.Element] = []
        func component(_ parser: inout Parser) throws(DynamoDBServiceError) {
            switch parser.peek {
            case .identifier(let w) where !Self.reserved.contains(w.uppercased()):
                parser.position += 1
                elements.append(.name(w))
            case .name(let n):
                parser.position += 1
                elements.append(.name(try ctx.name(n)))
            default:
                throw parser.syntaxError()
            }
            while parser.accept("[") {
                guard case .number(let i) = parser.next() else { throw parser.syntaxError() }
                try parser.expect("]")
                elements.append(.index(i))
            }
        }
        try component(&self)
        while self.accept(".") { try component(&self) }
        return DynamoDBPath(elements)
    }

    // MARK: Updates

    mutating func parseUpdate(_ ctx: inout DynamoDBExpressionParser) throws(DynamoDBServiceError) -> DynamoDBUpdate {
        var actions: [DynamoDBUpdate.Action] = []
        var seen: Set<String> = []
        while self.peek != nil {
            guard case .identifier(let w) = self.next() else { throw self.syntaxError() }
            let clause = w.uppercased()
            guard ["SET", "REMOVE", "ADD", "DELETE"].contains(clause) else {
                self.position -= 1
                throw self.syntaxError()
            }
            guard seen.insert(clause).inserted else {
                throw .validation("Invalid UpdateExpression: The \"\(clause)\" section can only be used once in an update expression;")
            }
            repeat {
                let path = try self.parsePath(&ctx)
                switch clause {
                case "SET":
                    try self.expect("=")
                    actions.append(.set(path, try self.parseSetValue(&ctx)))
                case "REMOVE":
                    actions.append(.remove(path))
                default:
                    guard case .value(let v) = self.next() else { throw self.syntaxError() }
                    let value = try ctx.value(v)
                    actions.append(clause == "ADD" ? .add(path, value) : .delete(path, value))
                }
            } while self.accept(",")
        }
        // Two actions on overlapping paths are rejected, as DynamoDB does.
        var paths: Set<DynamoDBPath> = []
        for a in actions {
            let p: DynamoDBPath
            switch a {
            case .set(let x, _), .remove(let x), .add(let x, _), .delete(let x, _): p = x
            }
            guard paths.insert(p).inserted else {
                throw .validation("Invalid UpdateExpression: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [\(p)], path two: [\(p)]")
            }
        }
        return DynamoDBUpdate(actions: actions)
    }

    mutating func parseSetValue(_ ctx: inout DynamoDBExpressionParser) throws(DynamoDBServiceError) -> DynamoDBUpdate.Value {
        let left = try self.parseSetTerm(&ctx)
        if self.accept("+") { return .plus(left, try self.parseSetTerm(&ctx)) }
        if self.accept("-") { return .minus(left, try self.parseSetTerm(&ctx)) }
        return left
    }

    mutating func parseSetTerm(_ ctx: inout DynamoDBExpressionParser) throws(DynamoDBServiceError) -> DynamoDBUpdate.Value {
        if case .identifier(let f) = self.peek, f == "if_not_exists" || f == "list_append",
            self.position + 1 < self.tokens.count, self.tokens[self.position + 1] == .symbol("(")
        {
            self.position += 2
            if f == "if_not_exists" {
                let p = try self.parsePath(&ctx)
                try self.expect(",")
                let v = try self.parseSetValue(&ctx)
                try self.expect(")")
                return .ifNotExists(p, v)
            }
            let a = try self.parseSetValue(&ctx)
            try self.expect(",")
            let b = try self.parseSetValue(&ctx)
            try self.expect(")")
            return .listAppend(a, b)
        }
        return .operand(try self.parseOperand(&ctx))
    }
}
