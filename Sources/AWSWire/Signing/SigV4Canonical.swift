import Crypto

/// Byte-level building blocks of the SigV4 canonical request, shared by the signer and the
/// verifier so that both sides canonicalize identically.
///
/// Everything works on UTF-8 bytes appended to one growing `[UInt8]`; no regular expressions and
/// no per-component `String`s.
enum SigV4Canonical {
    static let slash = UInt8(ascii: "/")
    static let percent = UInt8(ascii: "%")
    static let newline = UInt8(ascii: "\n")
    private static let hexUpper: [UInt8] = Array("0123456789ABCDEF".utf8)
    private static let hexLower: [UInt8] = Array("0123456789abcdef".utf8)

    // MARK: Percent-encoding

    /// RFC 3986 unreserved: `A-Z a-z 0-9 - . _ ~`.
    @inline(__always)
    static func isUnreserved(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."),
            UInt8(ascii: "_"), UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }

    @inline(__always)
    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        default: return nil
        }
    }

    @inline(__always)
    private static func appendEscape(_ byte: UInt8, to out: inout [UInt8]) {
        out.append(Self.percent)
        out.append(Self.hexUpper[Int(byte >> 4)])
        out.append(Self.hexUpper[Int(byte & 0x0F)])
    }

    /// Appends `bytes` with every byte outside the unreserved set percent-encoded (upper-case hex).
    /// `/` is kept as is when `keepSlash` (paths). A `%` is encoded like any other byte, which is
    /// what makes the "double encoding" of non-S3 paths.
    static func appendEncoded<Bytes: Collection<UInt8>>(_ bytes: Bytes, keepSlash: Bool, to out: inout [UInt8]) {
        for byte in bytes {
            if Self.isUnreserved(byte) || (keepSlash && byte == Self.slash) {
                out.append(byte)
            } else {
                Self.appendEscape(byte, to: &out)
            }
        }
    }

    /// Appends already-encoded wire text in the one canonical encoding: an existing `%XX` escape is
    /// decoded when it stands for an unreserved character and otherwise kept with upper-case hex;
    /// any other byte outside the unreserved set (and `/` when `keepSlash`) is encoded.
    ///
    /// The result equals `encode(decode(text))`, except that `%2F` in a path stays `%2F`. This is
    /// what S3 does (it decodes the request URI, then re-encodes it to build the canonical request),
    /// and for text that is already encoded the AWS way (as SDKs and awscli send it) it is the
    /// identity.
    static func appendNormalizingEscapes<Bytes: RandomAccessCollection<UInt8>>(
        _ bytes: Bytes,
        keepSlash: Bool,
        to out: inout [UInt8]
    ) {
        var index = bytes.startIndex
        while index != bytes.endIndex {
            let byte = bytes[index]
            if byte == Self.percent, bytes.distance(from: index, to: bytes.endIndex) >= 3,
                let high = Self.hexValue(bytes[bytes.index(index, offsetBy: 1)]),
                let low = Self.hexValue(bytes[bytes.index(index, offsetBy: 2)])
            {
                let decoded = high << 4 | low
                if Self.isUnreserved(decoded) {
                    out.append(decoded)
                } else {
                    Self.appendEscape(decoded, to: &out)
                }
                index = bytes.index(index, offsetBy: 3)
                continue
            }
            if Self.isUnreserved(byte) || (keepSlash && byte == Self.slash) {
                out.append(byte)
            } else {
                Self.appendEscape(byte, to: &out)
            }
            index = bytes.index(after: index)
        }
    }

    /// Percent-decodes `bytes` (a `%` not followed by two hex digits is kept literally; `+` is not
    /// a space). Used for the values of presigned query parameters.
    static func percentDecoded<Bytes: RandomAccessCollection<UInt8>>(_ bytes: Bytes) -> String {
        var out = [UInt8]()
        out.reserveCapacity(bytes.count)
        var index = bytes.startIndex
        while index != bytes.endIndex {
            let byte = bytes[index]
            if byte == Self.percent, bytes.distance(from: index, to: bytes.endIndex) >= 3,
                let high = Self.hexValue(bytes[bytes.index(index, offsetBy: 1)]),
                let low = Self.hexValue(bytes[bytes.index(index, offsetBy: 2)])
            {
                out.append(high << 4 | low)
                index = bytes.index(index, offsetBy: 3)
            } else {
                out.append(byte)
                index = bytes.index(after: index)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    // MARK: Path

    /// Appends the canonical URI for `path` (the path as sent on the wire, without the query).
    ///
    /// - S3: no normalization; escapes normalized once (see ``appendNormalizingEscapes(_:keepSlash:to:)``).
    /// - Standard: `.` and `..` segments removed and empty segments collapsed, then the wire path is
    ///   encoded again ("double encoding", so `%20` becomes `%2520`).
    static func appendCanonicalURI(path: String, mode: SigV4Signer.Mode, to out: inout [UInt8]) {
        var path = path
        path.withUTF8 { bytes in
            if bytes.isEmpty {
                out.append(Self.slash)
                return
            }
            switch mode {
            case .s3:
                if bytes.first != Self.slash { out.append(Self.slash) }
                Self.appendNormalizingEscapes(bytes, keepSlash: true, to: &out)
            case .standard:
                Self.appendNormalizedPath(bytes, to: &out)
            }
        }
    }

    /// `.`/`..` removal and `//` collapsing (like `posixpath.normpath`, keeping a trailing slash),
    /// each surviving segment encoded.
    private static func appendNormalizedPath(_ bytes: UnsafeBufferPointer<UInt8>, to out: inout [UInt8]) {
        var segments: [Slice<UnsafeBufferPointer<UInt8>>] = []
        for segment in bytes.split(separator: Self.slash, omittingEmptySubsequences: true) {
            if segment.count == 1 && segment.first == UInt8(ascii: ".") { continue }
            if segment.count == 2 && segment.allSatisfy({ $0 == UInt8(ascii: ".") }) {
                if !segments.isEmpty { segments.removeLast() }
                continue
            }
            segments.append(segment)
        }
        out.append(Self.slash)
        for (index, segment) in segments.enumerated() {
            if index > 0 { out.append(Self.slash) }
            Self.appendEncoded(segment, keepSlash: false, to: &out)
        }
        if !segments.isEmpty && bytes.last == Self.slash { out.append(Self.slash) }
    }

    // MARK: Query

    /// One query parameter, key and value in canonical (encoded) form.
    struct QueryParameter {
        var key: [UInt8]
        var value: [UInt8]

        static func areInCanonicalOrder(_ lhs: Self, _ rhs: Self) -> Bool {
            if lhs.key != rhs.key { return lhs.key.lexicographicallyPrecedes(rhs.key) }
            return lhs.value.lexicographicallyPrecedes(rhs.value)
        }
    }

    /// Splits a raw wire query (`a=1&b=%2F`) into canonical parameters. Empty components are
    /// skipped; a component without `=` has an empty value.
    static func canonicalParameters(rawQuery: String?) -> [QueryParameter] {
        guard var query = rawQuery, !query.isEmpty else { return [] }
        return query.withUTF8 { bytes in
            var parameters: [QueryParameter] = []
            for component in bytes.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
                var key = [UInt8]()
                var value = [UInt8]()
                if let equals = component.firstIndex(of: UInt8(ascii: "=")) {
                    Self.appendNormalizingEscapes(component[..<equals], keepSlash: false, to: &key)
                    Self.appendNormalizingEscapes(
                        component[component.index(after: equals)...],
                        keepSlash: false,
                        to: &value
                    )
                } else {
                    Self.appendNormalizingEscapes(component, keepSlash: false, to: &key)
                }
                parameters.append(QueryParameter(key: key, value: value))
            }
            return parameters
        }
    }

    /// Appends `key=value&…` sorted by key, then value (byte order).
    static func appendCanonicalQuery(_ parameters: inout [QueryParameter], to out: inout [UInt8]) {
        parameters.sort(by: QueryParameter.areInCanonicalOrder)
        for (index, parameter) in parameters.enumerated() {
            if index > 0 { out.append(UInt8(ascii: "&")) }
            out.append(contentsOf: parameter.key)
            out.append(UInt8(ascii: "="))
            out.append(contentsOf: parameter.value)
        }
    }

    // MARK: Headers

    /// One header in canonical form: lower-cased name, trimmed value with inner whitespace runs
    /// collapsed to one space.
    struct Header {
        var name: [UInt8]
        var value: [UInt8]
        /// Position in the request, so that values of a repeated header keep their order.
        var position: Int
    }

    @inline(__always)
    static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\n")
            || byte == UInt8(ascii: "\r")
    }

    static func lowercasedName(_ name: String) -> [UInt8] {
        var bytes = Array(name.utf8)
        for index in bytes.indices where bytes[index] >= UInt8(ascii: "A") && bytes[index] <= UInt8(ascii: "Z") {
            bytes[index] += 32
        }
        // Names are tokens and cannot contain whitespace, but be forgiving about padding.
        while let last = bytes.last, Self.isWhitespace(last) { bytes.removeLast() }
        while let first = bytes.first, Self.isWhitespace(first) { bytes.removeFirst() }
        return bytes
    }

    static func appendTrimmedCollapsed(_ value: String, to out: inout [UInt8]) {
        var pendingSpace = false
        var wroteAny = false
        for byte in value.utf8 {
            if Self.isWhitespace(byte) {
                pendingSpace = wroteAny
                continue
            }
            if pendingSpace {
                out.append(UInt8(ascii: " "))
                pendingSpace = false
            }
            out.append(byte)
            wroteAny = true
        }
    }

    static func canonicalHeader(name: String, value: String, position: Int) -> Header {
        var canonicalValue = [UInt8]()
        canonicalValue.reserveCapacity(value.utf8.count)
        Self.appendTrimmedCollapsed(value, to: &canonicalValue)
        return Header(name: Self.lowercasedName(name), value: canonicalValue, position: position)
    }

    /// Sorts `headers` by name (stable for repeated names) and appends the canonical headers block
    /// (`name:v1,v2\n` per distinct name) to `out`, and the signed-headers list (`a;b;c`) to
    /// `signedHeaders`.
    static func appendCanonicalHeaders(
        _ headers: inout [Header],
        to out: inout [UInt8],
        signedHeaders: inout [UInt8]
    ) {
        headers.sort { lhs, rhs in
            if lhs.name != rhs.name { return lhs.name.lexicographicallyPrecedes(rhs.name) }
            return lhs.position < rhs.position
        }
        var previous: [UInt8]? = nil
        for header in headers {
            if let previous, previous == header.name {
                out.append(UInt8(ascii: ","))
            } else {
                if previous != nil {
                    out.append(Self.newline)
                    signedHeaders.append(UInt8(ascii: ";"))
                }
                out.append(contentsOf: header.name)
                out.append(UInt8(ascii: ":"))
                signedHeaders.append(contentsOf: header.name)
                previous = header.name
            }
            out.append(contentsOf: header.value)
        }
        if previous != nil { out.append(Self.newline) }
    }

    // MARK: Hashing

    static func appendHex<Bytes: Sequence<UInt8>>(_ bytes: Bytes, to out: inout [UInt8]) {
        for byte in bytes {
            out.append(Self.hexLower[Int(byte >> 4)])
            out.append(Self.hexLower[Int(byte & 0x0F)])
        }
    }

    static func hex<Bytes: Sequence<UInt8>>(_ bytes: Bytes) -> String {
        var out = [UInt8]()
        out.reserveCapacity(64)
        Self.appendHex(bytes, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Whether `text` is 64 lower- or upper-case hex digits.
    static func isSHA256Hex(_ text: String) -> Bool {
        text.utf8.count == 64 && text.utf8.allSatisfy { Self.hexValue($0) != nil }
    }

    /// Appends the string to sign for `canonicalRequest`.
    static func stringToSign(timestamp: String, scope: String, canonicalRequest: [UInt8]) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(17 + 17 + scope.utf8.count + 1 + 64)
        out.append(contentsOf: SigV4Signer.algorithm.utf8)
        out.append(Self.newline)
        out.append(contentsOf: timestamp.utf8)
        out.append(Self.newline)
        out.append(contentsOf: scope.utf8)
        out.append(Self.newline)
        Self.appendHex(SHA256.hash(data: canonicalRequest), to: &out)
        return out
    }

    /// Constant-time comparison of two ASCII signatures.
    static func constantTimeEquals(_ lhs: String, _ rhs: String) -> Bool {
        let a = Array(lhs.utf8)
        let b = Array(rhs.utf8)
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }
}
