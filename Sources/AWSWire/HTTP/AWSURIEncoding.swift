/// Percent-encoding the way AWS SDKs do it (RFC 3986 unreserved characters stay, every other
/// byte becomes upper-case `%XX`), and the reverse.
package enum AWSURIEncoding {
    @inline(__always)
    static func isUnreserved(_ b: UInt8) -> Bool {
        (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || (b >= 0x30 && b <= 0x39)
            || b == 0x2D || b == 0x2E || b == 0x5F || b == 0x7E
    }

    private static let hexDigits: [UInt8] = Array("0123456789ABCDEF".utf8)

    /// Encodes `string`; with `keepSlash` (S3 object keys in paths) `/` stays as is.
    package static func encode(_ string: String, keepSlash: Bool = false) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(string.utf8.count + 8)
        self.append(string, keepSlash: keepSlash, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    static func append(_ string: String, keepSlash: Bool, to out: inout [UInt8]) {
        for b in string.utf8 {
            if self.isUnreserved(b) || (keepSlash && b == 0x2F) {
                out.append(b)
            } else {
                out.append(0x25)
                out.append(self.hexDigits[Int(b >> 4)])
                out.append(self.hexDigits[Int(b & 0x0F)])
            }
        }
    }

    /// Decodes `%XX` escapes (and, with `plusAsSpace`, `+` as space, the form S3 uses for
    /// `encoding-type=url` listings). Malformed escapes are kept literally.
    package static func decode(_ string: String, plusAsSpace: Bool = false) -> String {
        let bytes = Array(string.utf8)
        guard bytes.contains(0x25) || (plusAsSpace && bytes.contains(0x2B)) else { return string }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            let b = bytes[i]
            if b == 0x25, i + 2 < bytes.count, let h = hex(bytes[i + 1]), let l = hex(bytes[i + 2]) {
                out.append(h << 4 | l)
                i += 3
            } else {
                out.append(plusAsSpace && b == 0x2B ? 0x20 : b)
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func hex(_ b: UInt8) -> UInt8? {
        switch b {
        case 0x30...0x39: b - 0x30
        case 0x41...0x46: b - 0x41 + 10
        case 0x61...0x66: b - 0x61 + 10
        default: nil
        }
    }

    /// Builds a wire query string (`a=b&c`) from raw names and values; a `nil` value gives a bare name.
    package static func query(_ items: [(name: String, value: String?)]) -> String? {
        guard !items.isEmpty else { return nil }
        var out: [UInt8] = []
        for (index, item) in items.enumerated() {
            if index > 0 { out.append(UInt8(ascii: "&")) }
            self.append(item.name, keepSlash: false, to: &out)
            if let value = item.value {
                out.append(UInt8(ascii: "="))
                self.append(value, keepSlash: false, to: &out)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
