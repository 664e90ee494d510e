import AWSWire
import Foundation

extension DynamoDBPath {
    /// The value at this path in `item`, or nil.
    package func resolve(in item: DynamoDBItem) -> DynamoDBAttributeValue? {
        guard case .name(let first) = self.elements.first, var current = item[first] else { return nil }
        for e in self.elements.dropFirst() {
            switch (e, current) {
            case (.name(let n), .m(let m)):
                guard let v = m[n] else { return nil }
                current = v
            case (.index(let i), .l(let l)):
                guard i >= 0, i < l.count else { return nil }
                current = l[i]
            default:
                return nil
            }
        }
        return current
    }

    /// Sets (or, with nil, removes) the value at this path. Intermediate maps and lists must exist.
    package func assign(_ value: DynamoDBAttributeValue?, in item: inout DynamoDBItem) throws(DynamoDBServiceError) {
        guard case .name(let first) = self.elements.first else { throw .validation("Invalid document path") }
        if self.elements.count == 1 {
            item[first] = value
            return
        }
        guard var root = item[first] else {
            if value == nil { return }
            throw .validation("The document path provided in the update expression is invalid for update")
        }
        try Self.assign(value, at: self.elements.dropFirst(), in: &root)
        item[first] = root
    }

    private static func assign(_ value: DynamoDBAttributeValue?, at path: ArraySlice<Element>, in container: inout DynamoDBAttributeValue) throws(DynamoDBServiceError) {
        let invalid = DynamoDBServiceError.validation("The document path provided in the update expression is invalid for update")
        guard let e = path.first else { return }
        let rest = path.dropFirst()
        switch (e, container) {
        case (.name(let n), .m(var m)):
            if rest.isEmpty {
                m[n] = value
            } else {
                guard var child = m[n] else {
                    if value == nil { return }
                    throw invalid
                }
                try Self.assign(value, at: rest, in: &child)
                m[n] = child
            }
            container = .m(m)
        case (.index(let i), .l(var l)):
            if rest.isEmpty {
                if let value {
                    if i < l.count { l[i] = value } else { l.append(value) }
                } else if i < l.count {
                    l.remove(at: i)
                }
            } else {
                guard i < l.count else {
                    if value == nil { return }
                    throw invalid
                }
                var child = l[i]
                try Self.assign(value, at: rest, in: &child)
                l[i] = child
            }
            container = .l(l)
        default:
            if value == nil { return }
            throw invalid
        }
    }
}

extension DynamoDBPath {
    /// Only the attributes at `paths` (ProjectionExpression). Nested map paths keep their
    /// enclosing maps; list elements are kept in path order.
    package static func project(_ item: DynamoDBItem, _ paths: [DynamoDBPath]) -> DynamoDBItem {
        var out: DynamoDBItem = [:]
        for path in paths {
            guard let value = path.resolve(in: item), case .name(let head) = path.elements.first else { continue }
            out[head] = Self.insert(value, at: path.elements.dropFirst(), into: out[head])
        }
        return out
    }

    private static func insert(_ value: DynamoDBAttributeValue, at rest: ArraySlice<Element>, into container: DynamoDBAttributeValue?) -> DynamoDBAttributeValue {
        guard let e = rest.first else { return value }
        switch e {
        case .name(let n):
            var m: DynamoDBItem = [:]
            if case .m(let existing)? = container { m = existing }
            m[n] = Self.insert(value, at: rest.dropFirst(), into: m[n])
            return .m(m)
        case .index:
            var l: [DynamoDBAttributeValue] = []
            if case .l(let existing)? = container { l = existing }
            l.append(Self.insert(value, at: rest.dropFirst(), into: nil))
            return .l(l)
        }
    }
}

extension DynamoDBAttributeValue {
    /// DynamoDB's ordering: numbers numerically, strings and binaries by bytes; other types
    /// (and mixed types) are not ordered (nil).
    package func compare(to other: DynamoDBAttributeValue) -> ComparisonResult? {
        switch (self, other) {
        case (.n, .n):
            guard let a = self.decimalValue, let b = other.decimalValue else { return nil }
            return a == b ? .orderedSame : (a < b ? .orderedAscending : .orderedDescending)
        case (.s(let a), .s(let b)):
            return Self.compareBytes(Array(a.utf8), Array(b.utf8))
        case (.b(let a), .b(let b)):
            return Self.compareBytes(a, b)
        default:
            return nil
        }
    }

    static func compareBytes(_ a: [UInt8], _ b: [UInt8]) -> ComparisonResult {
        if a == b { return .orderedSame }
        return a.lexicographicallyPrecedes(b) ? .orderedAscending : .orderedDescending
    }

    /// Equality as DynamoDB defines it (numbers by value, sets regardless of order).
    package func isEqual(to other: DynamoDBAttributeValue) -> Bool {
        switch (self, other) {
        case (.n, .n): return self.compare(to: other) == .orderedSame
        case (.ss(let a), .ss(let b)): return Set(a) == Set(b)
        case (.ns(let a), .ns(let b)):
            return Set(a.compactMap { Decimal(string: $0) }) == Set(b.compactMap { Decimal(string: $0) })
        case (.bs(let a), .bs(let b)): return Set(a) == Set(b)
        case (.m(let a), .m(let b)):
            return a.count == b.count && a.allSatisfy { k, v in b[k].map { v.isEqual(to: $0) } ?? false }
        case (.l(let a), .l(let b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.isEqual(to: $1) }
        default: return self == other
        }
    }

    /// `size()`: characters of S, bytes of B, elements of sets, lists and maps.
    package var size: Int? {
        switch self {
        case .s(let s): s.utf8.count
        case .b(let b): b.count
        case .ss(let a): a.count
        case .ns(let a): a.count
        case .bs(let a): a.count
        case .l(let a): a.count
        case .m(let m): m.count
        default: nil
        }
    }
}

extension DynamoDBCondition {
    /// Whether the condition holds for `item` (nil: the item does not exist; every path is absent).
    package func evaluate(_ item: DynamoDBItem?) -> Bool {
        let item = item ?? [:]
        func value(_ o: DynamoDBOperand) -> DynamoDBAttributeValue? {
            switch o {
            case .value(let v): return v
            case .path(let p): return p.resolve(in: item)
            case .size(let p): return p.resolve(in: item)?.size.map { .n(String($0)) }
            }
        }
        switch self {
        case .compare(let a, let op, let b):
            guard let x = value(a), let y = value(b) else { return false }
            switch op {
            case .equal: return x.isEqual(to: y)
            case .notEqual: return !x.isEqual(to: y)
            case .less: return x.compare(to: y) == .orderedAscending
            case .lessOrEqual: return x.compare(to: y).map { $0 != .orderedDescending } ?? false
            case .greater: return x.compare(to: y) == .orderedDescending
            case .greaterOrEqual: return x.compare(to: y).map { $0 != .orderedAscending } ?? false
            }
        case .between(let a, let low, let high):
            guard let x = value(a), let l = value(low), let h = value(high),
                let c1 = x.compare(to: l), let c2 = x.compare(to: h)
            else { return false }
            return c1 != .orderedAscending && c2 != .orderedDescending
        case .in(let a, let list):
            guard let x = value(a) else { return false }
            return list.contains { value($0).map { x.isEqual(to: $0) } ?? false }
        case .attributeExists(let p):
            return p.resolve(in: item) != nil
        case .attributeNotExists(let p):
            return p.resolve(in: item) == nil
        case .attributeType(let p, let t):
            guard let x = p.resolve(in: item), case .s(let type)? = value(t) else { return false }
            return x.typeName == type
        case .beginsWith(let a, let b):
            switch (value(a), value(b)) {
            case (.s(let x)?, .s(let y)?): return x.utf8.starts(with: y.utf8)
            case (.b(let x)?, .b(let y)?): return x.starts(with: y)
            default: return false
            }
        case .contains(let a, let b):
            guard let x = value(a), let y = value(b) else { return false }
            switch (x, y) {
            case (.s(let s), .s(let sub)): return sub.isEmpty || s.contains(sub)
            case (.ss(let set), .s(let e)): return set.contains(e)
            case (.ns(let set), .n): return set.contains { DynamoDBAttributeValue.n($0).isEqual(to: y) }
            case (.bs(let set), .b(let e)): return set.contains(e)
            case (.l(let l), _): return l.contains { $0.isEqual(to: y) }
            default: return false
            }
        case .and(let a, let b): return a.evaluate(item) && b.evaluate(item)
        case .or(let a, let b): return a.evaluate(item) || b.evaluate(item)
        case .not(let a): return !a.evaluate(item)
        }
    }
}

extension DynamoDBUpdate {
    /// Applies the actions to `item` (all operands read the item as it was before the update).
    /// - Returns: the top-level attribute names the update touched.
    @discardableResult
    package func apply(to item: inout DynamoDBItem) throws(DynamoDBServiceError) -> Set<String> {
        let before = item
        var touched: Set<String> = []
        func operandValue(_ o: DynamoDBOperand) throws(DynamoDBServiceError) -> DynamoDBAttributeValue {
            switch o {
            case .value(let v): return v
            case .path(let p):
                guard let v = p.resolve(in: before) else {
                    throw .validation("The provided expression refers to an attribute that does not exist in the item")
                }
                return v
            case .size: throw .validation("Invalid UpdateExpression: The function is not allowed in an update expression; function: size")
            }
        }
        func evaluate(_ v: Value) throws(DynamoDBServiceError) -> DynamoDBAttributeValue {
            switch v {
            case .operand(let o): return try operandValue(o)
            case .ifNotExists(let p, let fallback):
                if let existing = p.resolve(in: before) { return existing }
                return try evaluate(fallback)
            case .plus(let a, let b), .minus(let a, let b):
                guard let x = try evaluate(a).decimalValue, let y = try evaluate(b).decimalValue else {
                    throw .validation("An operand in the update expression has an incorrect data type")
                }
                var isPlus = false
                if case .plus = v { isPlus = true }
                return .n(Self.format(isPlus ? x + y : x - y))
            case .listAppend(let a, let b):
                guard case .l(let x) = try evaluate(a), case .l(let y) = try evaluate(b) else {
                    throw .validation("An operand in the update expression has an incorrect data type")
                }
                return .l(x + y)
            }
        }
        for action in self.actions {
            switch action {
            case .set(let path, let v):
                try path.assign(try evaluate(v), in: &item)
                touched.insert(path.head)
            case .remove(let path):
                try path.assign(nil, in: &item)
                touched.insert(path.head)
            case .add(let path, let v):
                let current = path.resolve(in: before)
                let result: DynamoDBAttributeValue
                switch (current, v) {
                case (nil, .n), (nil, .ss), (nil, .ns), (nil, .bs): result = v
                case (.n?, .n):
                    result = .n(Self.format((current!.decimalValue ?? 0) + (v.decimalValue ?? 0)))
                case (.ss(let a)?, .ss(let b)): result = .ss(a + b.filter { !a.contains($0) })
                case (.ns(let a)?, .ns(let b)): result = .ns(a + b.filter { !a.contains($0) })
                case (.bs(let a)?, .bs(let b)): result = .bs(a + b.filter { !a.contains($0) })
                default:
                    throw .validation("An operand in the update expression has an incorrect data type")
                }
                try path.assign(result, in: &item)
                touched.insert(path.head)
            case .delete(let path, let v):
                guard let current = path.resolve(in: before) else { continue }
                let result: DynamoDBAttributeValue?
                switch (current, v) {
                case (.ss(let a), .ss(let b)): let r = a.filter { !b.contains($0) }; result = r.isEmpty ? nil : .ss(r)
                case (.ns(let a), .ns(let b)): let r = a.filter { !b.contains($0) }; result = r.isEmpty ? nil : .ns(r)
                case (.bs(let a), .bs(let b)): let r = a.filter { !b.contains($0) }; result = r.isEmpty ? nil : .bs(r)
                default: throw .validation("An operand in the update expression has an incorrect data type")
                }
                try path.assign(result, in: &item)
                touched.insert(path.head)
            }
        }
        return touched
    }

    static func format(_ d: Decimal) -> String {
        var d = d
        var rounded = Decimal()
        NSDecimalRound(&rounded, &d, 38, .plain)
        return NSDecimalNumber(decimal: rounded).description(withLocale: Locale(identifier: "en_US_POSIX"))
    }
}
