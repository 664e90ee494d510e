/// RFC 4180 field encoding.
package enum CSVField {
    /// Returns the field as it must appear in a CSV file: quoted (with inner quotes
    /// doubled) when it holds a comma, a quote, CR or LF; unchanged otherwise.
    package static func encode(_ bytes: [UInt8]) -> [UInt8] {
        guard bytes.contains(where: { $0 == 0x2C || $0 == 0x22 || $0 == 0x0A || $0 == 0x0D }) else { return bytes }
        var out: [UInt8] = [0x22]
        for byte in bytes {
            if byte == 0x22 { out.append(0x22) }
            out.append(byte)
        }
        out.append(0x22)
        return out
    }
}

public enum LineEnding: String, Codable, Sendable, CaseIterable {
    case lf
    case crlf

    var bytes: [UInt8] { self == .lf ? [0x0A] : [0x0D, 0x0A] }
}
