import AWSWire

/// JSON text written by hand, byte for byte what Foundation's `JSONEncoder` writes with
/// `[.sortedKeys, .withoutEscapingSlashes]` for the same strings, integers and key order
/// (checked by the tests): the emulator writes an event, an item or a metadata map per
/// request, and Foundation's encoder (boxing every value, generic containers) cost more than
/// the SQLite write that stores the result.
struct JSONText {
    private(set) var bytes: [UInt8] = []

    init(capacity: Int = 256) {
        self.bytes.reserveCapacity(capacity)
    }

    private static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    mutating func raw(_ text: StaticString) {
        text.withUTF8Buffer { self.bytes.append(contentsOf: $0) }
    }

    /// A JSON string: `"` and `\` escaped, control characters as `\b \t \n \f \r` or
    /// `\u00xx`; everything else (slashes, non-ASCII) as is.
    mutating func string(_ value: String) {
        self.bytes.append(UInt8(ascii: "\""))
        var value = value
        value.withUTF8 { utf8 in
            var start = 0
            for i in 0..<utf8.count {
                let byte = utf8[i]
                guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
                self.bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start..<i]))
                start = i + 1
                switch byte {
                case UInt8(ascii: "\""): self.raw("\\\"")
                case UInt8(ascii: "\\"): self.raw("\\\\")
                case 0x08: self.raw("\\b")
                case 0x09: self.raw("\\t")
                case 0x0A: self.raw("\\n")
                case 0x0C: self.raw("\\f")
                case 0x0D: self.raw("\\r")
                default:
                    self.raw("\\u00")
                    self.bytes.append(Self.hex[Int(byte >> 4)])
                    self.bytes.append(Self.hex[Int(byte & 0x0F)])
                }
            }
            self.bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start...]))
        }
        self.bytes.append(UInt8(ascii: "\""))
    }

    mutating func int(_ value: Int64) {
        self.bytes.append(contentsOf: String(value).utf8)
    }

    /// An object whose keys are written sorted (String order, as `.sortedKeys`).
    mutating func object<Value>(_ members: [String: Value], _ write: (inout JSONText, Value) -> Void) {
        self.bytes.append(UInt8(ascii: "{"))
        var first = true
        for key in members.keys.sorted() {
            if !first { self.bytes.append(UInt8(ascii: ",")) }
            first = false
            self.string(key)
            self.bytes.append(UInt8(ascii: ":"))
            write(&self, members[key]!)
        }
        self.bytes.append(UInt8(ascii: "}"))
    }

    /// Any JSON value, keys sorted. Integral numbers below 9e15 as integers (as
    /// `JSONValue.serialized()` does), others in Swift's shortest round-trip form.
    mutating func value(_ value: JSONValue) {
        switch value {
        case .null: self.raw("null")
        case .bool(let b): b ? self.raw("true") : self.raw("false")
        case .number(let d):
            if d.rounded() == d, abs(d) < 9e15 { self.int(Int64(d)) } else { self.bytes.append(contentsOf: d.description.utf8) }
        case .string(let s): self.string(s)
        case .array(let items):
            self.bytes.append(UInt8(ascii: "["))
            for (i, item) in items.enumerated() {
                if i > 0 { self.bytes.append(UInt8(ascii: ",")) }
                self.value(item)
            }
            self.bytes.append(UInt8(ascii: "]"))
        case .object(let members):
            self.object(members) { $0.value($1) }
        }
    }

    /// The text of `value` (keys sorted).
    static func serialize(_ value: JSONValue) -> [UInt8] {
        var text = JSONText()
        text.value(value)
        return text.bytes
    }
}
