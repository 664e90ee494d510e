import AWSWire
import Foundation
import HTTPTypes
import HummingbirdCore

/// One request, addressed: bucket and key (path style, or virtual-hosted `bucket.localhost`),
/// decoded query parameters, headers.
struct S3Request: Sendable {
    let method: HTTPRequest.Method
    /// The path as received (percent-encoded), without the query.
    let rawPath: String
    /// The query as received, without `?`.
    let rawQuery: String?
    /// Decoded query parameters (a parameter without `=` has an empty value).
    let query: [String: String]
    let headers: HTTPFields
    /// `Host`, as received.
    let authority: String?
    let bucket: String?
    let key: String?
    let requestId: String
    let sourceIPAddress: String

    init(head: HTTPRequest, requestId: String, sourceIPAddress: String) {
        self.method = head.method
        let full = head.path ?? "/"
        if let mark = full.firstIndex(of: "?") {
            self.rawPath = String(full[..<mark])
            self.rawQuery = String(full[full.index(after: mark)...])
        } else {
            self.rawPath = full
            self.rawQuery = nil
        }
        var query: [String: String] = [:]
        if let rawQuery = self.rawQuery {
            for component in rawQuery.split(separator: "&", omittingEmptySubsequences: true) {
                if let equals = component.firstIndex(of: "=") {
                    query[Self.percentDecode(component[..<equals], plusIsSpace: true)] =
                        Self.percentDecode(component[component.index(after: equals)...], plusIsSpace: true)
                } else {
                    query[Self.percentDecode(component, plusIsSpace: true)] = ""
                }
            }
        }
        self.query = query
        self.headers = head.headerFields
        self.authority = head.authority
        self.requestId = requestId
        self.sourceIPAddress = sourceIPAddress

        // Virtual-hosted style: `bucket.localhost[:port]` (path style otherwise, as clients use for IPs).
        let host = (self.authority ?? "").split(separator: ":").first.map(String.init) ?? ""
        var pathBucket: String?
        var pathKey: String?
        let trimmed = self.rawPath.drop { $0 == "/" }
        if host.hasSuffix(".localhost"), host.count > ".localhost".count {
            pathBucket = String(host.dropLast(".localhost".count))
            pathKey = trimmed.isEmpty ? nil : Self.percentDecode(trimmed, plusIsSpace: false)
        } else if !trimmed.isEmpty {
            if let slash = trimmed.firstIndex(of: "/") {
                pathBucket = Self.percentDecode(trimmed[..<slash], plusIsSpace: false)
                let key = trimmed[trimmed.index(after: slash)...]
                pathKey = key.isEmpty ? nil : Self.percentDecode(key, plusIsSpace: false)
            } else {
                pathBucket = Self.percentDecode(trimmed, plusIsSpace: false)
            }
        }
        self.bucket = pathBucket
        self.key = pathKey
    }

    func header(_ name: String) -> String? {
        guard let fieldName = HTTPField.Name(name) else { return nil }
        return self.headers[fieldName]
    }

    func has(_ parameter: String) -> Bool { self.query[parameter] != nil }

    /// Headers in the form ``SigV4Verifier`` takes, with `host` restored from the authority.
    var signingHeaders: [(name: String, value: String)] {
        var list: [(name: String, value: String)] = []
        list.reserveCapacity(self.headers.count + 1)
        var sawHost = false
        for field in self.headers {
            if field.name.canonicalName == "host" { sawHost = true }
            list.append((field.name.rawName, field.value))
        }
        if !sawHost, let authority = self.authority { list.append(("host", authority)) }
        return list
    }

    /// `x-amz-meta-*` headers, names lower-cased without the prefix.
    var userMetadata: [String: String] {
        var metadata: [String: String] = [:]
        for field in self.headers where field.name.canonicalName.hasPrefix("x-amz-meta-") {
            metadata[String(field.name.canonicalName.dropFirst("x-amz-meta-".count))] = field.value
        }
        return metadata
    }

    static func percentDecode(_ text: Substring, plusIsSpace: Bool) -> String {
        guard text.utf8.contains(where: { $0 == UInt8(ascii: "%") || (plusIsSpace && $0 == UInt8(ascii: "+")) }) else {
            return String(text)
        }
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        let bytes = Array(text.utf8)
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "%"), index + 2 < bytes.count,
               let high = Self.hex(bytes[index + 1]), let low = Self.hex(bytes[index + 2])
            {
                out.append(high << 4 | low)
                index += 3
            } else if plusIsSpace && byte == UInt8(ascii: "+") {
                out.append(UInt8(ascii: " "))
                index += 1
            } else {
                out.append(byte)
                index += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func hex(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 48...57: byte - 48
        case 65...70: byte - 55
        case 97...102: byte - 87
        default: nil
        }
    }
}
