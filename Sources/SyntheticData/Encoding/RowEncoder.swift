/// The hot path: turns (seed, row) into the CSV bytes of that row, writing straight into a
/// caller's buffer. Pure: the same (schema, seed, row) always gives the same bytes.
///
/// Columns are compiled into trivial structs (tags, numbers and pointers into word tables
/// the encoder keeps alive), so encoding touches no reference counts: threads sharing an
/// encoder never contend on a cache line.
package struct RowEncoder: @unchecked Sendable {
    package let schema: Schema
    package let seed: UInt64
    package let lineEnding: LineEnding
    /// An upper bound on the bytes of one row, line ending and copy slack included.
    package let maxRowBytes: Int
    private let storage: Storage
    private let columns: UnsafePointer<CompiledColumn>
    private let columnCount: Int
    private let d: CompiledDictionaries
    /// See `Storage.separatedWords`.
    private let separatedWords: WordTable
    /// The column the `unbalancedQuote` defect opens a quote in: one that is never quoted.
    private let quoteDefectColumn: Int

    package init(schema: Schema, seed: UInt64, lineEnding: LineEnding = .lf) {
        self.schema = schema
        // Mix the schema into the seed so two schemas with one seed do not share streams.
        var schemaKey: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in schema.name.utf8 { schemaKey = (schemaKey ^ UInt64(byte)) &* 0x100_0000_01B3 }
        self.seed = mix64(seed ^ schemaKey)
        self.lineEnding = lineEnding
        let storage = Storage(schema: schema)
        self.storage = storage
        self.columns = UnsafePointer(storage.columns)
        self.columnCount = schema.columns.count
        self.d = CompiledDictionaries(schema.dictionaries)
        self.separatedWords = storage.separatedWords.table
        var bound = 96 + lineEnding.bytes.count
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
    package func encode(row: Int, to out: UnsafeMutablePointer<UInt8>) -> Int {
        let rowKey = CellRandom.rowKey(seed: seed, row: row)
        var n = 0
        for index in 0..<columnCount {
            if index > 0 {
                out[n] = UInt8(ascii: ",")
                n &+= 1
            }
            var random = CellRandom(rowKey: rowKey, column: index)
            let column = columns + index
            let threshold = column.pointee.nullThreshold
            if threshold != 0 && random.chance(threshold) { continue }
            n &+= writeField(column, row: row, random: &random, to: out + n, embedded: nil)
        }
        if lineEnding == .crlf {
            out[n] = 0x0D
            n &+= 1
        }
        out[n] = 0x0A
        return n &+ 1
    }

    /// Writes row `row` with a deliberate defect (see `MalformedMode`).
    package func encode(row: Int, defect: RowDefect?, to out: UnsafeMutablePointer<UInt8>) -> Int {
        guard let defect else { return encode(row: row, to: out) }
        let rowKey = CellRandom.rowKey(seed: seed, row: row)
        var n = 0
        let fieldCount = defect == .truncated ? max(1, columnCount / 2) : columnCount
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
            let column = columns + index
            if column.pointee.nullThreshold != 0 && random.chance(column.pointee.nullThreshold) { continue }
            n += writeField(column, row: row, random: &random, to: out + n, embedded: nil)
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
        for index in 0..<columnCount {
            var random = CellRandom(rowKey: rowKey, column: index)
            let column = columns + index
            if column.pointee.nullThreshold != 0 && random.chance(column.pointee.nullThreshold) { continue }
            let described = schema.columns[index]
            if column.pointee.tag == .notes {
                var span = EmbeddedSpan()
                _ = withUnsafeMutablePointer(to: &span) { pointer in
                    writeField(column, row: row, random: &random, to: scratch, embedded: pointer)
                }
                if let kind = span.kind {
                    values.append(PIIValue(column: described.name, kind: kind, value: String(decoding: UnsafeBufferPointer(start: scratch + span.start, count: span.end - span.start), as: UTF8.self)))
                }
            } else if described.isPII, let kind = described.kind.defaultPIIKind {
                let count = writeField(column, row: row, random: &random, to: scratch, embedded: nil)
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
    private func writeField(_ column: UnsafePointer<CompiledColumn>, row: Int, random: inout CellRandom, to out: UnsafeMutablePointer<UInt8>, embedded: UnsafeMutablePointer<EmbeddedSpan>?) -> Int {
        switch column.pointee.tag {
        case .sequence:
            return writeSigned(column.pointee.low &+ Int64(row), to: out)
        case .integer:
            return writeSigned(column.pointee.low &+ Int64(bitPattern: random.next().multipliedFullWidth(by: UInt64(bitPattern: column.pointee.high &- column.pointee.low) &+ 1).high), to: out)
        case .decimal:
            let value = column.pointee.low &+ Int64(bitPattern: random.next().multipliedFullWidth(by: UInt64(bitPattern: column.pointee.high &- column.pointee.low) &+ 1).high)
            return writeFixedPoint(value, scale: column.pointee.scale, to: out)
        case .choice:
            return column.pointee.choice.write(&random, to: out)
        case .uuid:
            return writeUUID(random: &random, to: out)
        case .firstName:
            return d.firstNames.copy(d.firstNames.pick(&random), to: out)
        case .lastName:
            return d.lastNames.copy(d.lastNames.pick(&random), to: out)
        case .fullName:
            var n = d.firstNames.copy(d.firstNames.pick(&random), to: out)
            out[n] = UInt8(ascii: " ")
            n &+= 1
            return n &+ d.lastNames.copy(d.lastNames.pick(&random), to: out + n)
        case .email:
            return writeEmail(domains: column.pointee.choice, random: &random, to: out)
        case .phone:
            return writePhone(column.pointee.phoneFormat, areaCodes: d.areaCodes, random: &random, to: out)
        case .ssn:
            return writeSSN(random: &random, to: out)
        case .date:
            return writeDate(days: Int(column.pointee.low) &+ random.below(Int(column.pointee.high &- column.pointee.low) &+ 1), to: out)
        case .timestamp:
            let offset = random.next().multipliedFullWidth(by: UInt64(bitPattern: column.pointee.high &- column.pointee.low) &+ 1).high
            return writeTimestamp(seconds: column.pointee.low &+ Int64(bitPattern: offset), to: out)
        case .streetAddress:
            let bits = random.next()
            var n = writeDecimalWithSlack(1 &+ bits % 9999, to: out)
            out[n] = UInt8(ascii: " ")
            n &+= 1
            n &+= d.streets.copy(d.streets.pick(&random), to: out + n)
            out[n] = UInt8(ascii: " ")
            n &+= 1
            n &+= d.streetSuffixes.copy(Int((bits &>> 16) % UInt64(d.streetSuffixes.count)), to: out + n)
            if (bits &>> 32) & 7 == 0 {
                n &+= writeBytes(" Apt ", to: out + n)
                n &+= writeDecimalWithSlack(1 &+ (bits &>> 40) % 999, to: out + n)
            }
            return n
        case .city:
            return d.cities.copy(d.cities.pick(&random), to: out)
        case .postalCode:
            return writeDecimalWithSlack(UInt64(random.inRange(1001, 99950)), width: 5, to: out)
        case .creditCard:
            let brand = CardBrand.at(Int(column.pointee.smallSet.item(random.below(column.pointee.smallCount))))
            return writeCardNumber(brand, grouped: column.pointee.grouped, random: &random, to: out)
        case .iban:
            let country = IBANCountry.at(Int(column.pointee.smallSet.item(random.below(column.pointee.smallCount))))
            return writeIBAN(country, random: &random, to: out)
        case .ipv4:
            return writeIPv4(random: &random, to: out)
        case .ipv6:
            return writeIPv6(random: &random, to: out)
        case .url:
            var n = writeBytes("https://", to: out)
            n &+= d.words.copy(d.words.pick(&random), to: out + n)
            switch random.below(4) {
            case 0: n &+= writeBytes(".example.com/", to: out + n)
            case 1: n &+= writeBytes(".example.org/", to: out + n)
            case 2: n &+= writeBytes(".example.net/", to: out + n)
            default: n &+= writeBytes(".shop.test/", to: out + n)
            }
            n &+= d.words.copy(d.words.pick(&random), to: out + n)
            out[n] = UInt8(ascii: "/")
            n &+= 1
            return n &+ writeDecimalWithSlack(random.next() % 100_000, to: out + n)
        case .merchant:
            return d.merchants.copy(d.merchants.pick(&random), to: out)
        case .notes:
            return writeNotes(column, random: &random, to: out, embedded: embedded)
        }
    }

    @inline(__always)
    private func writeEmail(domains: ChoiceTable, random: inout CellRandom, to out: UnsafeMutablePointer<UInt8>) -> Int {
        let bits = random.next()
        let first = d.firstNamesLower.pick(&random)
        let last = d.lastNamesLower.pick(&random)
        var n: Int
        switch bits & 3 {
        case 0:
            n = d.firstNamesLower.copy(first, to: out)
            out[n] = UInt8(ascii: ".")
            n &+= 1
        case 1:
            n = d.firstNamesLower.copy(first, to: out)
        case 2:
            _ = d.firstNamesLower.copy(first, to: out)
            out[1] = UInt8(ascii: ".")
            n = 2
        default:
            n = d.firstNamesLower.copy(first, to: out)
            out[n] = UInt8(ascii: "_")
            n &+= 1
        }
        n &+= d.lastNamesLower.copy(last, to: out + n)
        if (bits &>> 2) & 1 == 0 {
            n &+= writeDecimalWithSlack(1 &+ (bits &>> 8) % 999, to: out + n)
        }
        out[n] = UInt8(ascii: "@")
        n &+= 1
        return n &+ domains.write(&random, to: out + n)
    }

    /// Free text: words, occasional commas and quoted words, and with the column's PII rate
    /// one PII value in a short phrase. The per-word draws come first, so whether the field
    /// needs quoting is known before it is written.
    @inline(__always)
    private func writeNotes(_ column: UnsafePointer<CompiledColumn>, random: inout CellRandom, to out: UnsafeMutablePointer<UInt8>, embedded: UnsafeMutablePointer<EmbeddedSpan>?) -> Int {
        let words = d.words
        let count = random.inRange(column.pointee.minWords, column.pointee.maxWords)
        let piiAt = random.chance(column.pointee.piiThreshold) ? random.below(count &+ 1) : -1
        let embeddedKinds = column.pointee.smallSet
        let embeddedCount = column.pointee.smallCount
        return withUnsafeTemporaryAllocation(of: UInt32.self, capacity: count &+ 1) { draws in
            // 32 random bits per word, two words per draw: 16 bits pick the word, 6 make it
            // a quoted word (1/64), 3 put a comma after it (1/8, not after the last word).
            var quoted = false
            var i = 0
            while i < count {
                let bits = random.next()
                draws[i] = UInt32(truncatingIfNeeded: bits)
                draws[i &+ 1] = UInt32(truncatingIfNeeded: bits &>> 32)
                i &+= 2
            }
            var wraps: UInt32 = 0
            var commas: UInt32 = 0
            for i in 0..<count {
                let bits = draws[i]
                wraps |= (bits &>> 16) & 0x3F == 0 ? 1 : 0
                commas |= (i < count &- 1) && (bits &>> 22) & 7 == 0 ? 1 : 0
            }
            quoted = (wraps | commas) != 0
            var n = 0
            if quoted {
                out[0] = UInt8(ascii: "\"")
                n = 1
            }
            for i in 0...count {
                if i == piiAt {
                    let kind = embeddedKinds.item(random.below(embeddedCount))
                    if i == count && count > 0 {
                        // After the last word, which has no trailing space.
                        out[n] = UInt8(ascii: " ")
                        n &+= 1
                    }
                    n &+= writePhrasePrefix(kind, random.next(), to: out + n)
                    let start = n
                    n &+= writeEmbedded(kind, random: &random, to: out + n)
                    if let embedded {
                        embedded.pointee = EmbeddedSpan(kind: CompiledColumn.embeddable[Int(kind)], start: start, end: n)
                    }
                    if i < count {
                        out[n] = UInt8(ascii: " ")
                        n &+= 1
                    }
                }
                if i == count { break }
                let bits = draws[i]
                let word = Int(truncatingIfNeeded: ((bits & 0xFFFF) &* UInt32(truncatingIfNeeded: words.count)) &>> 16)
                let start: Int
                if (bits &>> 16) & 0x3F == 0 {
                    // A quoted word (1 in 64).
                    out[n] = UInt8(ascii: "\"")
                    out[n &+ 1] = UInt8(ascii: "\"")
                    n &+= 2
                    start = n
                    n &+= words.copy(word, to: out + n)
                    out[n] = UInt8(ascii: "\"")
                    out[n &+ 1] = UInt8(ascii: "\"")
                    n &+= 2
                    if i < count &- 1 {
                        out[n] = UInt8(ascii: ",")
                        n &+= (bits &>> 22) & 7 == 0 ? 1 : 0
                        out[n] = UInt8(ascii: " ")
                        n &+= 1
                    }
                } else if i < count &- 1 {
                    // The word, a comma (1 in 8) and a space, in one copy.
                    start = n
                    n &+= separatedWords.copy(word &* 2 &+ ((bits &>> 22) & 7 == 0 ? 1 : 0), to: out + n)
                } else {
                    start = n
                    n &+= words.copy(word, to: out + n)
                }
                if i == 0 && out[start] >= 0x61 && out[start] <= 0x7A { out[start] &-= 0x20 }
            }
            out[n] = UInt8(ascii: ".")
            n &+= 1
            if quoted {
                out[n] = UInt8(ascii: "\"")
                n &+= 1
            }
            return n
        }
    }

    /// `kind` indexes `CompiledColumn.embeddable`.
    @inline(__always)
    private func writeEmbedded(_ kind: UInt8, random: inout CellRandom, to out: UnsafeMutablePointer<UInt8>) -> Int {
        switch kind {
        case 0:
            return writeEmail(domains: d.defaultEmailDomains, random: &random, to: out)
        case 1:
            let format: PhoneFormat = random.below(2) == 0 ? .national : .dashed
            return writePhone(format, areaCodes: d.areaCodes, random: &random, to: out)
        case 2:
            return writeSSN(random: &random, to: out)
        case 3:
            let bits = random.next()
            let brand = CardBrand.at(Int(bits % 4))
            return writeCardNumber(brand, grouped: (bits &>> 8) & 1 == 0, random: &random, to: out)
        case 4:
            return writeIBAN(IBANCountry.at(random.below(6)), random: &random, to: out)
        default:
            return writeIPv4(random: &random, to: out)
        }
    }

    @inline(__always)
    private func writePhrasePrefix(_ kind: UInt8, _ bits: UInt64, to out: UnsafeMutablePointer<UInt8>) -> Int {
        let alternate = bits & 1 == 0
        switch kind {
        case 0: return writeBytes(alternate ? "contact " : "reach at ", to: out)
        case 1: return writeBytes(alternate ? "call " : "callback on ", to: out)
        case 2: return writeBytes(alternate ? "SSN " : "ssn on file ", to: out)
        case 3: return writeBytes(alternate ? "card " : "card number ", to: out)
        case 4: return writeBytes(alternate ? "IBAN " : "wire to ", to: out)
        default: return writeBytes(alternate ? "login from " : "IP ", to: out)
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

// MARK: Compiled form

/// Keeps the compiled columns (and, through the schema, the word lists) alive.
private final class Storage: @unchecked Sendable {
    let columns: UnsafeMutablePointer<CompiledColumn>
    let count: Int
    let schema: Schema
    /// Entry 2·i is free-text word i followed by a space, entry 2·i + 1 by a comma and a
    /// space: a word and its separator in one copy.
    let separatedWords: WordList

    init(schema: Schema) {
        self.schema = schema
        let words = schema.dictionaries.words
        separatedWords = WordList(name: words.name + ".separated", words: (0..<words.count).flatMap { index in
            [words.word(index) + [0x20], words.word(index) + [0x2C, 0x20]]
        })
        count = schema.columns.count
        columns = .allocate(capacity: count)
        for (index, column) in schema.columns.enumerated() {
            (columns + index).initialize(to: CompiledColumn(column))
        }
    }

    deinit { columns.deallocate() }
}

/// A small set of up to 8 byte-sized items packed in a word.
struct SmallSet {
    var bits: UInt64 = 0

    init(_ items: [UInt8]) {
        precondition(items.count <= 8)
        for (index, item) in items.enumerated() { bits |= UInt64(item) << (8 * UInt64(index)) }
    }

    @inline(__always)
    func item(_ index: Int) -> UInt8 { UInt8(truncatingIfNeeded: bits &>> (8 &* UInt64(index))) }
}

/// A column in trivial form: no references, so reading it costs no reference counting.
struct CompiledColumn {
    enum Tag: UInt8 {
        case sequence, integer, decimal, choice, uuid, firstName, lastName, fullName, email, phone, ssn
        case date, timestamp, streetAddress, city, postalCode, creditCard, iban, ipv4, ipv6, url, merchant, notes
    }

    static let embeddable: [PIIKind] = [.email, .phone, .ssn, .creditCard, .iban, .ipv4]

    var tag: Tag
    var nullThreshold: UInt64
    var low: Int64 = 0
    var high: Int64 = 0
    var scale = 0
    var choice: ChoiceTable
    var phoneFormat: PhoneFormat = .national
    var grouped = false
    var smallSet = SmallSet([])
    var smallCount = 0
    var minWords = 0
    var maxWords = 0
    var piiThreshold: UInt64 = 0

    init(_ column: Column) {
        nullThreshold = fixedPointProbability(column.nullRate)
        choice = defaultEmailDomains.table
        switch column.kind {
        case let .sequence(start):
            tag = .sequence
            low = start
        case let .integer(min, max):
            tag = .integer
            low = min
            high = max
        case let .decimal(min, max, scale):
            tag = .decimal
            low = min
            high = max
            self.scale = scale
        case let .choice(weighted):
            tag = .choice
            choice = weighted.table
        case .uuid: tag = .uuid
        case .firstName: tag = .firstName
        case .lastName: tag = .lastName
        case .fullName: tag = .fullName
        case let .email(domains):
            tag = .email
            choice = domains.table
        case let .phone(format):
            tag = .phone
            phoneFormat = format
        case .ssn: tag = .ssn
        case let .date(from, to):
            tag = .date
            low = Int64(from)
            high = Int64(to)
        case let .timestamp(from, to):
            tag = .timestamp
            low = from
            high = to
        case .streetAddress: tag = .streetAddress
        case .city: tag = .city
        case .postalCode: tag = .postalCode
        case let .creditCard(brands, grouped):
            tag = .creditCard
            smallSet = SmallSet(brands.map { UInt8(CardBrand.allCases.firstIndex(of: $0)!) })
            smallCount = brands.count
            self.grouped = grouped
        case let .iban(countries):
            tag = .iban
            smallSet = SmallSet(countries.map { UInt8(IBANCountry.allCases.firstIndex(of: $0)!) })
            smallCount = countries.count
        case .ipv4: tag = .ipv4
        case .ipv6: tag = .ipv6
        case .url: tag = .url
        case .merchant: tag = .merchant
        case let .notes(options):
            tag = .notes
            minWords = options.minWords
            maxWords = options.maxWords
            piiThreshold = options.piiThreshold
            smallSet = SmallSet(options.embedded.map { UInt8(CompiledColumn.embeddable.firstIndex(of: $0)!) })
            smallCount = options.embedded.count
        }
    }
}

/// Pointer views of the dictionaries.
struct CompiledDictionaries {
    let firstNames: WordTable
    let lastNames: WordTable
    let firstNamesLower: WordTable
    let lastNamesLower: WordTable
    let streets: WordTable
    let streetSuffixes: WordTable
    let cities: WordTable
    let areaCodes: WordTable
    let words: WordTable
    let merchants: WordTable
    let defaultEmailDomains: ChoiceTable

    init(_ d: Dictionaries) {
        firstNames = d.firstNames.table
        lastNames = d.lastNames.table
        firstNamesLower = d.firstNamesLower.table
        lastNamesLower = d.lastNamesLower.table
        streets = d.streets.table
        streetSuffixes = d.streetSuffixes.table
        cities = d.cities.table
        areaCodes = d.areaCodes.table
        words = d.words.table
        merchants = d.merchants.table
        defaultEmailDomains = SyntheticData.defaultEmailDomains.table
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

/// The e-mail domains of addresses embedded in free text (a global that lives for the process).
let defaultEmailDomains = WeightedChoice(
    encoded: ["example.com", "example.net", "example.org", "mail.test"].map { Array($0.utf8) },
    thresholds: [1 << 30, 2 << 30, 3 << 30, 1 << 32]
)

@inline(__always)
private func writeFixedPoint(_ value: Int64, scale: Int, to out: UnsafeMutablePointer<UInt8>) -> Int {
    var n = 0
    var magnitude = value.magnitude
    if value < 0 {
        out[0] = UInt8(ascii: "-")
        n = 1
    }
    if scale == 0 { return n + writeDecimalWithSlack(magnitude, to: out + n) }
    let whole: UInt64
    if scale == 2 {
        // The common case (money): a division by a constant is a multiply.
        whole = magnitude / 100
        magnitude &-= whole &* 100
    } else {
        let divisor = powerOfTen(scale)
        whole = magnitude / divisor
        magnitude %= divisor
    }
    n &+= writeDecimalWithSlack(whole, to: out + n)
    out[n] = UInt8(ascii: ".")
    n &+= 1
    return n &+ writeDecimalWithSlack(magnitude, width: scale, to: out + n)
}

@inline(__always)
private func writeUUID(random: inout CellRandom, to out: UnsafeMutablePointer<UInt8>) -> Int {
    let high = random.next()
    let low = random.next()
    // Version 4, variant 10xx.
    let timeHigh = (high & 0x0FFF) | 0x4000
    let clock = ((low &>> 48) & 0x3FFF) | 0x8000
    writeHex(high &>> 32, count: 8, to: out)
    out[8] = UInt8(ascii: "-")
    writeHex((high &>> 16) & 0xFFFF, count: 4, to: out + 9)
    out[13] = UInt8(ascii: "-")
    writeHex(timeHigh, count: 4, to: out + 14)
    out[18] = UInt8(ascii: "-")
    writeHex(clock, count: 4, to: out + 19)
    out[23] = UInt8(ascii: "-")
    writeHex(low & 0xFFFF_FFFF_FFFF, count: 12, to: out + 24)
    return 36
}
