import Crypto
import Foundation

/// One SQS message attribute: a data type (`String`, `Number`, `Binary`, optionally with a
/// custom suffix such as `String.json`) and a string or binary value.
package struct SQSMessageAttribute: Sendable, Hashable {
    package var dataType: String
    package var stringValue: String?
    package var binaryValue: [UInt8]?

    package init(string: String) { self.init(dataType: "String", stringValue: string) }
    package init(number: some BinaryInteger) { self.init(dataType: "Number", stringValue: String(number)) }
    package init(binary: [UInt8]) { self.init(dataType: "Binary", binaryValue: binary) }
    package init(dataType: String, stringValue: String? = nil, binaryValue: [UInt8]? = nil) {
        self.dataType = dataType
        self.stringValue = stringValue
        self.binaryValue = binaryValue
    }

    /// `Binary…` data types travel as bytes, `String…`/`Number…` as strings.
    package var isBinary: Bool { self.dataType.hasPrefix("Binary") }

    /// Wire JSON: `{"DataType": "String", "StringValue": "x"}` / `{"DataType": "Binary", "BinaryValue": "<base64>"}`.
    package var json: JSONValue {
        var o: [String: JSONValue] = ["DataType": .string(self.dataType)]
        if let s = self.stringValue { o["StringValue"] = .string(s) }
        if let b = self.binaryValue { o["BinaryValue"] = .string(Data(b).base64EncodedString()) }
        return .object(o)
    }

    package init?(json: JSONValue) {
        guard let type = json["DataType"]?.stringValue else { return nil }
        var binary: [UInt8]?
        if let b = json["BinaryValue"]?.stringValue {
            guard let d = Data(base64Encoded: b) else { return nil }
            binary = Array(d)
        }
        self.init(dataType: type, stringValue: json["StringValue"]?.stringValue, binaryValue: binary)
    }
}

/// The MD5 digests SQS returns and the SDKs verify.
package enum SQSMessageDigest {
    /// Lower-case hex MD5 of the UTF-8 body (`MD5OfMessageBody` / `MD5OfBody`).
    package static func md5(ofBody body: String) -> String {
        hex(Insecure.MD5.hash(data: Array(body.utf8)))
    }

    /// `MD5OfMessageAttributes` as SQS computes it: attributes sorted by name; for each, the
    /// name, the data type and the value, each as a 4-byte big-endian length followed by the
    /// bytes, with a transport byte (1 = string, 2 = binary) before the value. Nil when there
    /// are no attributes (SQS then omits the field).
    package static func md5(ofAttributes attributes: [String: SQSMessageAttribute]) -> String? {
        guard !attributes.isEmpty else { return nil }
        var bytes: [UInt8] = []
        func appendLengthPrefixed(_ value: some Collection<UInt8>) {
            let n = UInt32(value.count)
            bytes.append(contentsOf: [UInt8(n >> 24), UInt8((n >> 16) & 0xFF), UInt8((n >> 8) & 0xFF), UInt8(n & 0xFF)])
            bytes.append(contentsOf: value)
        }
        for name in attributes.keys.sorted(by: { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }) {
            let a = attributes[name]!
            appendLengthPrefixed(Array(name.utf8))
            appendLengthPrefixed(Array(a.dataType.utf8))
            if a.isBinary {
                bytes.append(2)
                appendLengthPrefixed(a.binaryValue ?? [])
            } else {
                bytes.append(1)
                appendLengthPrefixed(Array((a.stringValue ?? "").utf8))
            }
        }
        return hex(Insecure.MD5.hash(data: bytes))
    }

    static func hex(_ digest: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for b in digest {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
