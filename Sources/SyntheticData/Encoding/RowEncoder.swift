/// The hot path: turns (seed, row) into the CSV bytes of that row, writing straight into a
/// caller's buffer. Pure: the same (schema, seed, row) always gives the same bytes.
package struct RowEncoder: Sendable {
    package let schema: Schema
    package let seed: UInt64
    package let lineEnding: LineEnding
    /// An upper bound on the bytes of one row, line ending included.
    package let maxRowBytes: Int
    private let columns: [CompiledColumn]
    private let dictionaries: Dictionaries
    /// The column the `unbalancedQuote` defect opens a quote in: one that is never quoted.
    private let quoteDefectColumn: Int

    struct CompiledColumn: Sendable {
        var kind: ColumnKind
        var nullThreshold: UInt64
    }

    package init(schema: Schema, seed: UInt64, lineEnding: LineEnding = .lf) {
        self.schema = schema
        // Mix the schema into the seed so two schemas with one seed do not share streams.
        var schemaKey: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in schema.name.utf8 { schemaKey = (schemaKey ^ UInt64(byte)) &* 0x100_0000_01B3 }
        self.seed = mix64(seed ^ schemaKey)
        self.lineEnding = lineEnding
        self.dictionaries = schema.dictionaries
        self.columns = schema.columns.map { CompiledColumn(kind: $0.kind, nullThreshold: fixedPointProbability($0.nullRate)) }
        var bound = 64 + lineEnding.bytes.count
        for column in schema.columns {
            bound += 1 + RowEncoder.maxFieldBytes(column.kind, schema.dictionaries)
        }
        self.maxRowBytes = bound
        self.quoteDefectColumn = schema.columns.firstIndex { column in
            switch column.kind {
            case .notes, .choice, .merchant: return false
            default: return true
            }
        } ?? 0
    }

    /// Writes row `row` (no header) and returns the byte count; `out` must have room for
    /// `maxRowBytes`.
    @inline(__always)
    package func encode(row: Int, defect: RowDefect? = nil, to out: UnsafeMutablePointer<UInt8>) -> Int {
        let rowKey = CellRandom.rowKey(seed: seed, row: row)
        var n = 0
        var fieldCount = columns.count
        if defect == .truncated { fieldCount = max(1, columns.count / 2) }
        for index in 0..<fieldCount {
            if index > 0 {
                out[n] = UInt8(ascii: ",")
                n += 1
            }
            if defect == .unbalancedQuote && index == quoteDefectColumn {
                out[n] = UInt8(ascii: "\"")
                n += 1
            }
            var random = CellRandom(rowKey: rowKey, column: index)
            let column = columns[index]
            if column.nullThreshold != 0 && random.chance(column.nullThreshold) { continue }
            n += writeField(column.kind, row: row, random: &random, to: out + n, embedded: nil)
            if defect == .invalidUTF8 && index == 0 {
                out[n] = 0xFF
                out[n + 1] = 0xFE
                n += 2
            }
        }
        if defect == .truncated { return n }
        if defect == .extraColumn { n += writeBytes(",UNEXPECTED_EXTRA_FIELD", to: out + n) }
        if lineEnding == .crlf {
            out[n] = 0x0D
            n += 1
        }
        out[n] = 0x0A
        return n + 1
    }

    /// The header line.
    package func header(defect: Bool = false) -> [UInt8] {
        var names = schema.columnNames
        if defect {
            if names.count >= 2 { names.swapAt(0, 1) } else { names[0] += "_mismatch" }
        }
        return Array(names.joined(separator: ",").utf8) + lineEnding.bytes
    }

    /// The seeded PII values of one row: each PII column's value, and every PII value
    /// embedded in free text. This is what the audit searches processed output for.
    package func piiValues(row: Int) -> [PIIValue] {
        let rowKey = CellRandom.rowKey(seed: seed, row: row)
        var values: [PIIValue] = []
        let scratch = UnsafeMutablePointer<UInt8>.allocate(capacity: maxRowBytes)
        defer { scratch.deallocate() }
        for (index, column) in columns.enumerated() {
            var random = CellRandom(rowKey: rowKey, column: index)
            if column.nullThreshold != 0 && random.chance(column.nullThreshold) { continue }
            let described = schema.columns[index]
            if case .notes = column.kind {
                var span = EmbeddedSpan()
                _ = withUnsafeMutablePointer(to: &span) { pointer in
                    writeField(column.kind, row: row, random: &random, to: scratch, embedded: pointer)
                }
                if let kind = span.kind {
                    values.append(PIIValue(column: described.name, kind: kind, value: String(decoding: UnsafeBufferPointer(start: scratch + span.start, count: span.end - span.start), as: UTF8.self)))
                }
            } else if described.isPII, let kind = column.kind.defaultPIIKind {
                let count = writeField(column.kind, row: row, random: &random, to: scratch, embedded: nil)
                values.append(PIIValue(column: described.name, kind: kind, value: String(decoding: UnsafeBufferPointer(start: scratch, count: count), as: UTF8.self)))
            }
        }
        return values
    }

    /// One row as bytes (for tests and the audit).
    package func rowBytes(_ row: Int, defect: RowDefect? = nil) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: maxRowBytes) { buffer, count in
            count = encode(row: row, defect: defect, to: buffer.baseAddress!)
        }
    }

    // MARK: Fields

    // swiftlint:disable:next cyclomatic_complexity function_body_length
    @inline(__always)
    private func writeField(_ kind: ColumnKind, row: Int, random: inout CellRandom, to out: UnsafeMutablePointer<UInt8>, embedded: UnsafeMutablePointer<EmbeddedSpan>?) -> Int {
        switch kind {
        case let .sequence(start):
            return writeSigned(start &+ Int64(row), to: out)
        case let .integer(low, high):
            return writeSigned(low &+ Int64(bitPattern: random.next().multipliedFullWidth(by: UInt64(high &- low) &+ 1).high), to: out)
        case let .decimal(low, high, scale):
            let value = low &+ Int64(bitPattern: random.next().multipliedFullWidth(by: UInt64(high &- low) &+ 1).high)
            return writeFixedPoint(value, scale: scale, to: out)
        case let .choice(choice):
            return writeBytes(choice.encoded[choice.pick(&random)], to: out)
        case .uuid:
            return writeUUID(random: &random, to: out)
        case .firstName:
            return dictionaries.firstNames.copy(random.below(dictionaries.firstNames.count), to: out)
        case .lastName:
            return dictionaries.lastNames.copy(random.below(dictionaries.lastNames.count), to: out)
        case .fullName:
            var n = dictionaries.firstNames.copy(random.below(dictionaries.firstNames.count), to: out)
            out[n] = UInt8(ascii: " ")
            n += 1
            return n + dictionaries.lastNames.copy(random.below(dictionaries.lastNames.count), to: out + n)
        case let .email(domains):
            return writeEmail(domains: domains, random: &random, to: out)
        case let .phone(format):
            return writePhone(format, areaCodes: dictionaries.areaCodes, random: &random, to: out)
        case .ssn:
            return writeSSN(random: &random, to: out)
        case let .date(from, to):
            return writeDate(days: random.inRange(from, to), to: out)
        case let .timestamp(from, to):
            let offset = random.next().multipliedFullWidth(by: UInt64(to &- from) &+ 1).high
            return writeTimestamp(seconds: from &+ Int64(bitPattern: offset), to: out)
        case .streetAddress:
            let bits = random.next()
            var n = writeDecimal(1 + bits % 9999, to: out)
            out[n] = UInt8(ascii: " ")
            n += 1
            n += dictionaries.streets.copy(random.below(dictionaries.streets.count), to: out + n)
            out[n] = UInt8(ascii: " ")
            n += 1
            n += dictionaries.streetSuffixes.copy(Int((bits >> 16) % UInt64(dictionaries.streetSuffixes.count)), to: out + n)
            if (bits >> 32) & 7 == 0 {
                n += writeBytes(" Apt ", to: out + n)
                n += writeDecimal(1 + (bits >> 40) % 999, to: out + n)
            }
            return n
        case .city:
            return dictionaries.cities.copy(random.below(dictionaries.cities.count), to: out)
        case .postalCode:
            return writeDecimal(UInt64(random.inRange(1001, 99950)), width: 5, to: out)
        case let .creditCard(brands, grouped):
            return writeCardNumber(brands[random.below(brands.count)], grouped: grouped, random: &random, to: out)
        case let .iban(countries):
            return writeIBAN(countries[random.below(countries.count)], random: &random, to: out)
        case .ipv4:
            return writeIPv4(random: &random, to: out)
        case .ipv6:
            return writeIPv6(random: &random, to: out)
        case .url:
            var n = writeBytes("https://", to: out)
            n += dictionaries.words.copy(random.below(dictionaries.words.count), to: out + n)
            n += writeBytes(urlDomains[random.below(urlDomains.count)], to: out + n)
            n += dictionaries.words.copy(random.below(dictionaries.words.count), to: out + n)
            out[n] = UInt8(ascii: "/")
            n += 1
            return n + writeDecimal(random.next() % 100_000, to: out + n)
        case .merchant:
            return dictionaries.merchants.copy(random.below(dictionaries.merchants.count), to: out)
        case let .notes(options):
            return writeNotes(options, random: &random, to: out, embedded: embedded)
        }
    }

    @inline(__always)
    private func writeEmail(domains: WeightedChoice, random: inout CellRandom, to out: UnsafeMutablePointer<UInt8>) -> Int {
        let bits = random.next()
        let first = random.below(dictionaries.firstNames.count)
        let last = random.below(dictionaries.lastNames.count)
        var n: Int
        switch bits & 3 {
        case 0:
            n = dictionaries.firstNames.copy(first, to: out, lowercase: true)
            out[n] = UInt8(ascii: ".")
            n += 1
        case 1:
            n = dictionaries.firstNames.copy(first, to: out, lowercase: true)
        case 2:
            _ = dictionaries.firstNames.copy(first, to: out, lowercase: true)
            out[1] = UInt8(ascii: ".")
            n = 2
        default:
            n = dictionaries.firstNames.copy(first, to: out, lowercase: true)
            out[n] = UInt8(ascii: "_")
            n += 1
        }
        n += dictionaries.lastNames.copy(last, to: out + n, lowercase: true)
        if (bits >> 2) & 1 == 0 {
            n += writeDecimal(1 + (bits >> 8) % 999, to: out + n)
        }
        out[n] = UInt8(ascii: "@")
        n += 1
        return n + writeBytes(domains.encoded[domains.pick(&random)], to: out + n)
    }

    /// Free text: words, occasional commas and quoted words, and with probability
    /// `piiThreshold` one PII value in a short phrase. Written as a quoted field when it
    /// holds a comma or quote.
    @inline(__always)
    private func writeNotes(_ options: NotesOptions, random: inout CellRandom, to out: UnsafeMutablePointer<UInt8>, embedded: UnsafeMutablePointer<EmbeddedSpan>?) -> Int {
        let words = dictionaries.words
        let count = random.inRange(options.minWords, options.maxWords)
        let piiAt = random.chance(options.piiThreshold) ? random.below(count + 1) : -1
        out[0] = UInt8(ascii: "\"")
        var n = 1
        var quoted = false
        var spanStart = 0
        var spanEnd = 0
        var spanKind: PIIKind?
        for i in 0...count {
            if i == piiAt {
                let kind = options.embedded[random.below(options.embedded.count)]
                n += writeBytes(phrasePrefix(kind, random.next()), to: out + n)
                spanStart = n
                n += writeEmbedded(kind, random: &random, to: out + n)
                spanEnd = n
                spanKind = kind
                if i < count {
                    out[n] = UInt8(ascii: " ")
                    n += 1
                }
            }
            if i == count { break }
            let bits = random.next()
            let word = Int(truncatingIfNeeded: bits.multipliedFullWidth(by: UInt64(words.count)).high)
            let wrap = bits & 0x3F == 0
            if wrap {
                n += writeBytes("\"\"", to: out + n)
                quoted = true
            }
            let start = n
            n += words.copy(word, to: out + n)
            if i == 0 && out[start] >= 0x61 && out[start] <= 0x7A { out[start] -= 0x20 }
            if wrap { n += writeBytes("\"\"", to: out + n) }
            if i < count - 1 {
                if (bits >> 6) & 7 == 0 {
                    out[n] = UInt8(ascii: ",")
                    n += 1
                    quoted = true
                }
                out[n] = UInt8(ascii: " ")
                n += 1
            }
        }
        out[n] = UInt8(ascii: ".")
        n += 1
        if let embedded, let spanKind {
            embedded.pointee = EmbeddedSpan(kind: spanKind, start: spanStart - (quoted ? 0 : 1), end: spanEnd - (quoted ? 0 : 1))
        }
        if quoted {
            out[n] = UInt8(ascii: "\"")
            return n + 1
        }
        (out).update(from: out + 1, count: n - 1)
        return n - 1
    }

    @inline(__always)
    private func writeEmbedded(_ kind: PIIKind, random: inout CellRandom, to out: UnsafeMutablePointer<UInt8>) -> Int {
        switch kind {
        case .email:
            return writeEmail(domains: defaultEmailDomains, random: &random, to: out)
        case .phone:
            let format: PhoneFormat = random.below(2) == 0 ? .national : .dashed
            return writePhone(format, areaCodes: dictionaries.areaCodes, random: &random, to: out)
        case .ssn:
            return writeSSN(random: &random, to: out)
        case .creditCard:
            let bits = random.next()
            let brand = CardBrand.allCases[Int(bits % 4)]
            return writeCardNumber(brand, grouped: (bits >> 8) & 1 == 0, random: &random, to: out)
        case .iban:
            return writeIBAN(IBANCountry.allCases[random.below(IBANCountry.allCases.count)], random: &random, to: out)
        default:
            return writeIPv4(random: &random, to: out)
        }
    }

    private func phrasePrefix(_ kind: PIIKind, _ bits: UInt64) -> StaticString {
        let alternate = bits & 1 == 0
        switch kind {
        case .email: return alternate ? "contact " : "reach at "
        case .phone: return alternate ? "call " : "callback on "
        case .ssn: return alternate ? "SSN " : "ssn on file "
        case .creditCard: return alternate ? "card " : "card number "
        case .iban: return alternate ? "IBAN " : "wire to "
        default: return alternate ? "login from " : "IP "
        }
    }

    // MARK: Bounds

    static func maxFieldBytes(_ kind: ColumnKind, _ d: Dictionaries) -> Int {
        let emailBound = d.firstNames.maxLength + d.lastNames.maxLength + 8
        switch kind {
        case .sequence, .integer, .decimal: return 24
        case let .choice(choice): return choice.maxLength
        case .uuid: return 36
        case .firstName: return d.firstNames.maxLength
        case .lastName: return d.lastNames.maxLength
        case .fullName: return d.firstNames.maxLength + d.lastNames.maxLength + 1
        case let .email(domains): return emailBound + domains.maxLength
        case .phone: return 20
        case .ssn: return 11
        case .date: return 10
        case .timestamp: return 20
        case .streetAddress: return 4 + d.streets.maxLength + d.streetSuffixes.maxLength + 12
        case .city: return d.cities.maxLength
        case .postalCode: return 5
        // The card writer stages digits 24 bytes in; give it the room.
        case .creditCard: return 48
        case .iban: return 34
        case .ipv4: return 15
        case .ipv6: return 39
        case .url: return 40 + 2 * d.words.maxLength
        case .merchant: return d.merchants.maxLength
        case let .notes(options):
            let perWord = d.words.maxLength + 6
            let pii = 16 + max(emailBound + 16, 48)
            return 4 + options.maxWords * perWord + pii
        }
    }
}

/// A deliberate defect in one row (see `MalformedMode`).
package enum RowDefect: Sendable, Equatable {
    case extraColumn
    case unbalancedQuote
    case invalidUTF8
    case truncated
}

/// Where a PII value sits inside a free-text field.
package struct EmbeddedSpan {
    var kind: PIIKind?
    var start = 0
    var end = 0
}

/// One seeded PII value of a row.
public struct PIIValue: Sendable, Equatable, Hashable, Codable {
    public var column: String
    public var kind: PIIKind
    public var value: String
}

private let urlDomains: [StaticString] = [".example.com/", ".example.org/", ".example.net/", ".shop.test/"]

private let defaultEmailDomains = WeightedChoice(
    encoded: ["example.com", "example.net", "example.org", "mail.test"].map { Array($0.utf8) },
    thresholds: [1 << 30, 2 << 30, 3 << 30, 1 << 32],
    maxLength: 11
)

@inline(__always)
private func writeFixedPoint(_ value: Int64, scale: Int, to out: UnsafeMutablePointer<UInt8>) -> Int {
    var n = 0
    var magnitude = value.magnitude
    if value < 0 {
        out[0] = UInt8(ascii: "-")
        n = 1
    }
    if scale == 0 { return n + writeDecimal(magnitude, to: out + n) }
    var divisor: UInt64 = 1
    for _ in 0..<scale { divisor *= 10 }
    let whole = magnitude / divisor
    magnitude %= divisor
    n += writeDecimal(whole, to: out + n)
    out[n] = UInt8(ascii: ".")
    n += 1
    return n + writeDecimal(magnitude, width: scale, to: out + n)
}

@inline(__always)
private func writeUUID(random: inout CellRandom, to out: UnsafeMutablePointer<UInt8>) -> Int {
    let high = random.next()
    let low = random.next()
    // Version 4, variant 10xx.
    let timeHigh = (high & 0x0FFF) | 0x4000
    let clock = ((low >> 48) & 0x3FFF) | 0x8000
    writeHex(high >> 32, count: 8, to: out)
    out[8] = UInt8(ascii: "-")
    writeHex((high >> 16) & 0xFFFF, count: 4, to: out + 9)
    out[13] = UInt8(ascii: "-")
    writeHex(timeHigh, count: 4, to: out + 14)
    out[18] = UInt8(ascii: "-")
    writeHex(clock, count: 4, to: out + 19)
    out[23] = UInt8(ascii: "-")
    writeHex(low & 0xFFFF_FFFF_FFFF, count: 12, to: out + 24)
    return 36
}
