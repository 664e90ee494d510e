import AWSWire
import Foundation

/// A table of the emulated DynamoDB: name, key schema and the TTL attribute.
package struct DynamoDBTableDefinition: Sendable, Hashable {
    /// A key attribute and its scalar type (`S`, `N` or `B`).
    package struct KeyAttribute: Sendable, Hashable {
        package var name: String
        package var type: String

        package init(name: String, type: String = "S") {
            self.name = name
            self.type = type
        }
    }

    package var name: String
    package var partitionKey: KeyAttribute
    package var sortKey: KeyAttribute?
    /// The attribute holding the expiry (epoch seconds, type N); nil: no TTL.
    package var ttlAttribute: String?
    package var createdAt: Date

    package init(name: String, partitionKey: KeyAttribute, sortKey: KeyAttribute? = nil, ttlAttribute: String? = nil, createdAt: Date = Date(timeIntervalSince1970: 0)) {
        self.name = name
        self.partitionKey = partitionKey
        self.sortKey = sortKey
        self.ttlAttribute = ttlAttribute
        self.createdAt = createdAt
    }

    package var keyNames: [String] { [self.partitionKey.name] + (self.sortKey.map { [$0.name] } ?? []) }

    /// `arn:aws:dynamodb:<region>:000000000000:table/<name>`.
    package func arn(region: String = "us-east-1") -> String {
        "arn:aws:dynamodb:\(region):000000000000:table/\(self.name)"
    }

    /// Checks that `key` has exactly the key attributes with the right types.
    package func validateKey(_ key: DynamoDBItem) throws(DynamoDBServiceError) {
        guard key.count == self.keyNames.count else {
            throw .validation("The provided key element does not match the schema")
        }
        try self.validateKeyAttributes(of: key)
    }

    /// Checks that `item` has the key attributes with the right types.
    package func validateKeyAttributes(of item: DynamoDBItem) throws(DynamoDBServiceError) {
        for k in [self.partitionKey] + (self.sortKey.map { [$0] } ?? []) {
            guard let v = item[k.name] else {
                throw .validation("One or more parameter values were invalid: Missing the key \(k.name) in the item")
            }
            guard v.typeName == k.type else {
                throw .validation("One or more parameter values were invalid: Type mismatch for key \(k.name) expected: \(k.type) actual: \(v.typeName)")
            }
            if case .s(let s) = v, s.isEmpty {
                throw .validation("One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty string value. Key: \(k.name)")
            }
        }
    }

    /// The stored form of a key value, ordered as DynamoDB orders keys under SQLite's binary
    /// collation: strings as is (UTF-8 byte order), numbers in an order-preserving encoding
    /// (``sortableNumber(_:)``), binaries as lower-case hex (byte order).
    static func keyString(_ v: DynamoDBAttributeValue) -> String {
        switch v {
        case .s(let s): s
        case .n: v.decimalValue.map { Self.sortableNumber(DynamoDBUpdate.format($0)) } ?? ""
        case .b(let b): b.map { String(format: "%02x", $0) }.joined()
        default: ""
        }
    }

    /// An encoding of a (normalized, plain) decimal whose byte order is numeric order:
    /// `1` for zero; `2` + biased exponent (4 digits) + significant digits for positives;
    /// `0` + complemented biased exponent + complemented digits + `~` for negatives.
    static func sortableNumber(_ plain: String) -> String {
        var text = Substring(plain)
        let negative = text.hasPrefix("-")
        if negative { text = text.dropFirst() }
        let parts = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        let integer = parts.first.map(String.init) ?? "0"
        let fraction = parts.count > 1 ? String(parts[1]) : ""
        let digits = Array((integer + fraction).utf8)
        guard let firstNonZero = digits.firstIndex(where: { $0 != UInt8(ascii: "0") }) else { return "1" }
        // Value = 0.d1d2d3… × 10^exponent.
        let exponent = integer.utf8.count - firstNonZero
        var significant = Array(digits[firstNonZero...])
        while significant.last == UInt8(ascii: "0") { significant.removeLast() }
        let biased = exponent + 5000
        if !negative {
            return "2" + String(format: "%04d", biased) + String(decoding: significant, as: UTF8.self)
        }
        let complemented = significant.map { UInt8(ascii: "9") - ($0 - UInt8(ascii: "0")) + UInt8(ascii: "0") }
        return "0" + String(format: "%04d", 9999 - biased) + String(decoding: complemented, as: UTF8.self) + "~"
    }

    /// (partition, sort) strings of an item or key.
    func storedKey(of item: DynamoDBItem) -> (pk: String, sk: String) {
        (
            item[self.partitionKey.name].map(Self.keyString) ?? "",
            self.sortKey.flatMap { item[$0.name] }.map(Self.keyString) ?? ""
        )
    }

    /// Only the key attributes of `item`.
    package func key(of item: DynamoDBItem) -> DynamoDBItem {
        item.filter { self.keyNames.contains($0.key) }
    }

    /// The expiry of `item` (TTL attribute as N epoch seconds), or nil.
    func expiry(of item: DynamoDBItem) -> Double? {
        guard let a = self.ttlAttribute, let d = item[a]?.decimalValue else { return nil }
        return NSDecimalNumber(decimal: d).doubleValue
    }
}
