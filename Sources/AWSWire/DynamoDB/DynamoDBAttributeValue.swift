import Foundation

/// A DynamoDB item: attribute name → value.
package typealias DynamoDBItem = [String: DynamoDBAttributeValue]

/// A DynamoDB `AttributeValue` in its wire form (`{"S": "x"}`, `{"N": "1"}`, `{"B": "<base64>"}`,
/// `{"BOOL": true}`, `{"NULL": true}`, `{"M": {…}}`, `{"L": […]}`, `{"SS": […]}`, `{"NS": […]}`,
/// `{"BS": […]}`). Numbers stay strings, as on the wire.
package enum DynamoDBAttributeValue: Sendable, Hashable {
    case s(String)
    case n(String)
    case b([UInt8])
    case bool(Bool)
    case null
    case m(DynamoDBItem)
    case l([DynamoDBAttributeValue])
    case ss([String])
    case ns([String])
    case bs([[UInt8]])

    /// `N` from an integer.
    package static func number(_ value: some BinaryInteger) -> Self { .n(String(value)) }

    /// The type descriptor: `S`, `N`, `B`, `BOOL`, `NULL`, `M`, `L`, `SS`, `NS`, `BS`.
    package var typeName: String {
        switch self {
        case .s: "S"
        case .n: "N"
        case .b: "B"
        case .bool: "BOOL"
        case .null: "NULL"
        case .m: "M"
        case .l: "L"
        case .ss: "SS"
        case .ns: "NS"
        case .bs: "BS"
        }
    }

    package var stringValue: String? {
        if case .s(let s) = self { return s }
        return nil
    }

    /// The number as a `Decimal` (for `N`), nil otherwise.
    package var decimalValue: Decimal? {
        if case .n(let n) = self { return Decimal(string: n, locale: Locale(identifier: "en_US_POSIX")) }
        return nil
    }

    package var intValue: Int? {
        if case .n(let n) = self { return Int(n) ?? self.decimalValue.map { NSDecimalNumber(decimal: $0).intValue } }
        return nil
    }

    // MARK: JSON

    /// The wire JSON of this value.
    package var json: JSONValue {
        switch self {
        case .s(let s): ["S": .string(s)]
        case .n(let n): ["N": .string(n)]
        case .b(let b): ["B": .string(Data(b).base64EncodedString())]
        case .bool(let b): ["BOOL": .bool(b)]
        case .null: ["NULL": true]
        case .m(let m): ["M": Self.json(m)]
        case .l(let l): ["L": .array(l.map(\.json))]
        case .ss(let ss): ["SS": .array(ss.map(JSONValue.string))]
        case .ns(let ns): ["NS": .array(ns.map(JSONValue.string))]
        case .bs(let bs): ["BS": .array(bs.map { .string(Data($0).base64EncodedString()) })]
        }
    }

    /// The wire JSON of an item (`{"name": {"S": "x"}, …}`).
    package static func json(_ item: DynamoDBItem) -> JSONValue {
        .object(item.mapValues(\.json))
    }

    /// Parses one wire `AttributeValue`.
    package init(json: JSONValue) throws(DynamoDBAttributeValueError) {
        guard case .object(let o) = json, o.count == 1, let (type, v) = o.first else {
            throw DynamoDBAttributeValueError("an AttributeValue must be an object with exactly one type key")
        }
        func strings() throws(DynamoDBAttributeValueError) -> [String] {
            guard case .array(let a) = v, !a.isEmpty else {
                throw DynamoDBAttributeValueError("\(type) must be a non-empty list of strings")
            }
            var out: [String] = []
            out.reserveCapacity(a.count)
            for e in a {
                guard case .string(let s) = e else { throw DynamoDBAttributeValueError("\(type) must contain strings") }
                out.append(s)
            }
            guard Set(out).count == out.count else {
                throw DynamoDBAttributeValueError("Input collection \(type) contains duplicates")
            }
            return out
        }
        func binary(_ s: String) throws(DynamoDBAttributeValueError) -> [UInt8] {
            guard let d = Data(base64Encoded: s) else { throw DynamoDBAttributeValueError("invalid base64 in \(type)") }
            return Array(d)
        }
        switch (type, v) {
        case ("S", .string(let s)): self = .s(s)
        case ("N", .string(let n)):
            guard Self.isValidNumber(n) else { throw DynamoDBAttributeValueError("A value provided cannot be converted into a number") }
            self = .n(n)
        case ("B", .string(let s)): self = .b(try binary(s))
        case ("BOOL", .bool(let b)): self = .bool(b)
        case ("NULL", .bool(true)): self = .null
        case ("M", .object):
            self = .m(try Self.item(json: v))
        case ("L", .array(let a)):
            var l: [DynamoDBAttributeValue] = []
            l.reserveCapacity(a.count)
            for e in a { l.append(try DynamoDBAttributeValue(json: e)) }
            self = .l(l)
        case ("SS", _): self = .ss(try strings())
        case ("NS", _):
            let ns = try strings()
            guard ns.allSatisfy(Self.isValidNumber) else { throw DynamoDBAttributeValueError("A value provided cannot be converted into a number") }
            self = .ns(ns)
        case ("BS", _):
            var bs: [[UInt8]] = []
            for s in try strings() { bs.append(try binary(s)) }
            self = .bs(bs)
        default:
            throw DynamoDBAttributeValueError("Supplied AttributeValue has an invalid or empty data type: \(type)")
        }
    }

    /// Parses a wire item (`{"name": {"S": "x"}, …}`).
    package static func item(json: JSONValue) throws(DynamoDBAttributeValueError) -> DynamoDBItem {
        guard case .object(let o) = json else { throw DynamoDBAttributeValueError("an item must be a JSON object") }
        var item: DynamoDBItem = [:]
        item.reserveCapacity(o.count)
        for (k, v) in o { item[k] = try DynamoDBAttributeValue(json: v) }
        return item
    }

    static func isValidNumber(_ s: String) -> Bool {
        guard !s.isEmpty, s.utf8.count <= 40 else { return false }
        var sawDigit = false
        var sawDot = false
        var sawE = false
        var previous: UInt8 = 0
        for (i, c) in s.utf8.enumerated() {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): sawDigit = true
            case UInt8(ascii: "-"), UInt8(ascii: "+"):
                guard i == 0 || previous == UInt8(ascii: "e") || previous == UInt8(ascii: "E") else { return false }
            case UInt8(ascii: "."):
                guard !sawDot, !sawE else { return false }
                sawDot = true
            case UInt8(ascii: "e"), UInt8(ascii: "E"):
                guard sawDigit, !sawE else { return false }
                sawE = true
            default: return false
            }
            previous = c
        }
        return sawDigit && previous != UInt8(ascii: "e") && previous != UInt8(ascii: "E")
    }
}

/// An `AttributeValue` that does not follow the wire format.
package struct DynamoDBAttributeValueError: Error, Sendable, CustomStringConvertible {
    package var message: String
    package init(_ message: String) { self.message = message }
    package var description: String { self.message }
}
