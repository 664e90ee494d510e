/// A dataset schema: named, typed columns with per-type options and a null rate.
/// Loaded from YAML by `SchemaLoader`; see generators/README.md for the file format.
public struct Schema: Sendable {
    public var name: String
    public var description: String?
    public var columns: [Column]
    /// Where it was loaded from (for messages and recipes).
    public var sourcePath: String
    /// SHA-256 (hex) over the schema file and every dictionary it uses: a recipe names it,
    /// so regenerating from changed inputs is detected instead of silently differing.
    public var fingerprint: String
    package var dictionaries: Dictionaries

    public var columnNames: [String] { columns.map(\.name) }
}

public struct Column: Sendable {
    public var name: String
    package var kind: ColumnKind
    /// Probability that a value is empty (CSV null).
    public var nullRate: Double
    /// Whether values of this column are personal data that processed output must not keep.
    public var isPII: Bool
    /// The type name as written in the schema.
    public var typeName: String
}

/// The PII kinds the generator embeds and the audit looks for.
public enum PIIKind: String, Sendable, CaseIterable, Codable {
    case name, email, phone, ssn, dateOfBirth = "date_of_birth", address, creditCard = "credit_card", iban, ipv4, ipv6, url
}

/// A weighted set of literal values, pre-encoded as CSV fields.
package final class WeightedChoice: @unchecked Sendable {
    package let values: WordList
    private let thresholdStorage: UnsafeMutablePointer<UInt64>
    /// The trivial view the hot path uses.
    package let table: ChoiceTable

    /// `thresholds` are cumulative weights scaled to 2^32, the last one 2^32.
    package init(encoded: [[UInt8]], thresholds: [UInt64]) {
        precondition(encoded.count == thresholds.count && !encoded.isEmpty)
        values = WordList(name: "choice", words: encoded)
        thresholdStorage = .allocate(capacity: thresholds.count)
        thresholdStorage.initialize(from: thresholds, count: thresholds.count)
        table = ChoiceTable(values: values.table, thresholds: UnsafePointer(thresholdStorage))
    }

    deinit { thresholdStorage.deallocate() }

    package var maxLength: Int { values.maxLength }
}

/// A trivial view of a `WeightedChoice`.
package struct ChoiceTable: @unchecked Sendable {
    package let values: WordTable
    let thresholds: UnsafePointer<UInt64>

    @inline(__always)
    package func pick(_ random: inout CellRandom) -> Int {
        let draw = random.next() &>> 32
        // The thresholds are cumulative (non-decreasing), so the first one above the draw is
        // at the count of those at or below it: counted without a data-dependent branch.
        var index = 0
        for i in 0..<(values.count &- 1) { index &+= draw >= thresholds[i] ? 1 : 0 }
        return index
    }

    @inline(__always)
    package func write(_ random: inout CellRandom, to out: UnsafeMutablePointer<UInt8>) -> Int {
        values.copy(pick(&random), to: out)
    }
}

package struct NotesOptions: Sendable {
    package var minWords: Int
    package var maxWords: Int
    /// Fixed-point probability that a row's note embeds one PII value.
    package var piiThreshold: UInt64
    package var embedded: [PIIKind]
}

package enum ColumnKind: Sendable {
    case sequence(start: Int64)
    case integer(min: Int64, max: Int64)
    /// Bounds already multiplied by 10^scale.
    case decimal(min: Int64, max: Int64, scale: Int)
    case choice(WeightedChoice)
    case uuid
    case firstName
    case lastName
    case fullName
    case email(domains: WeightedChoice)
    case phone(PhoneFormat)
    case ssn
    case date(fromDay: Int, toDay: Int)
    case timestamp(from: Int64, to: Int64)
    case streetAddress
    case city
    case postalCode
    case creditCard(brands: [CardBrand], grouped: Bool)
    case iban(countries: [IBANCountry])
    case ipv4
    case ipv6
    case url
    case merchant
    case notes(NotesOptions)

    /// The schema type names, for documentation and error messages.
    package static let typeNames: [String] = [
        "sequence", "integer", "decimal", "choice", "uuid", "first_name", "last_name", "full_name", "email",
        "phone", "ssn", "date", "timestamp", "street_address", "city", "postal_code", "credit_card", "iban",
        "ipv4", "ipv6", "url", "merchant", "notes",
    ]

    /// The PII kind of the column's values, if they are PII by default.
    package var defaultPIIKind: PIIKind? {
        switch self {
        case .firstName, .lastName, .fullName: return .name
        case .email: return .email
        case .phone: return .phone
        case .ssn: return .ssn
        case .streetAddress: return .address
        case .creditCard: return .creditCard
        case .iban: return .iban
        case .ipv4: return .ipv4
        case .ipv6: return .ipv6
        case .date: return .dateOfBirth
        case .url: return .url
        default: return nil
        }
    }

    /// Whether PII is this type by default (dates and URLs only when the schema says `pii: true`).
    package var isPIIByDefault: Bool {
        switch self {
        case .date, .url: return false
        default: return defaultPIIKind != nil
        }
    }
}

/// The word lists a schema draws from (loaded from its `dictionaries` folder).
package struct Dictionaries: Sendable {
    package var firstNames: WordList
    package var lastNames: WordList
    package var streets: WordList
    package var cities: WordList
    package var areaCodes: WordList
    package var words: WordList
    package var merchants: WordList
    package var streetSuffixes: WordList
    package var firstNamesLower: WordList
    package var lastNamesLower: WordList

    /// File names in the dictionaries folder, in fingerprint order.
    package static let files = [
        "first_names.txt", "last_names.txt", "streets.txt", "cities.txt", "area_codes.txt", "words.txt", "merchants.txt",
    ]
}
