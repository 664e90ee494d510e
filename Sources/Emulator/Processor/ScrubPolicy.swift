import SyntheticData

/// What the processor does to personal data.
package struct ScrubPolicy: Sendable, Equatable {
    /// Header names of the columns whose values are replaced by `mask` whole. Empty values
    /// stay empty (a null has nothing to hide, and keeps its meaning).
    package var maskedColumns: Set<String>
    /// The replacement of a masked value. Default `***`. Quoted in the output when it holds
    /// a comma, quote or line break.
    package var mask: String
    /// The embedded-PII detectors run over every other field. Default: all of them.
    package var detectors: Set<RedactionKind>

    package init(maskedColumns: Set<String>, mask: String = "***", detectors: Set<RedactionKind> = Set(RedactionKind.allCases)) {
        self.maskedColumns = maskedColumns
        self.mask = mask
        self.detectors = detectors
    }

    /// Masks the columns the schema marks as PII (`pii: true`, or a PII type by default).
    package init(schema: Schema, mask: String = "***") {
        self.init(maskedColumns: Set(schema.columns.filter(\.isPII).map(\.name)), mask: mask)
    }

    /// The mask as a CSV field.
    var encodedMask: [UInt8] {
        let bytes = Array(mask.utf8)
        guard bytes.contains(where: { $0 == 0x2C || $0 == 0x22 || $0 == 0x0A || $0 == 0x0D }) else { return bytes }
        var quoted: [UInt8] = [0x22]
        for byte in bytes {
            quoted.append(byte)
            if byte == 0x22 { quoted.append(0x22) }
        }
        quoted.append(0x22)
        return quoted
    }
}

/// The kinds of PII found inside free text, each replaced by `[REDACTED:<TOKEN>]`.
package enum RedactionKind: String, Sendable, CaseIterable, Codable, Hashable {
    case email, phone, ssn, card, iban, ipv4, ipv6

    /// The replacement text.
    package var token: String { "[REDACTED:\(rawValue.uppercased())]" }

    var index: Int {
        switch self {
        case .email: return 0
        case .phone: return 1
        case .ssn: return 2
        case .card: return 3
        case .iban: return 4
        case .ipv4: return 5
        case .ipv6: return 6
        }
    }
}

/// How many values of each kind were redacted from free text, and how many fields were masked.
package struct RedactionCounts: Sendable, Equatable, Codable {
    package var email = 0
    package var phone = 0
    package var ssn = 0
    package var card = 0
    package var iban = 0
    package var ipv4 = 0
    package var ipv6 = 0
    /// Non-empty values of masked columns.
    package var maskedFields = 0

    package init() {}

    package subscript(kind: RedactionKind) -> Int {
        get {
            switch kind {
            case .email: return email
            case .phone: return phone
            case .ssn: return ssn
            case .card: return card
            case .iban: return iban
            case .ipv4: return ipv4
            case .ipv6: return ipv6
            }
        }
        set {
            switch kind {
            case .email: email = newValue
            case .phone: phone = newValue
            case .ssn: ssn = newValue
            case .card: card = newValue
            case .iban: iban = newValue
            case .ipv4: ipv4 = newValue
            case .ipv6: ipv6 = newValue
            }
        }
    }

    /// Redactions in free text, all kinds.
    package var totalRedactions: Int { email + phone + ssn + card + iban + ipv4 + ipv6 }
}
