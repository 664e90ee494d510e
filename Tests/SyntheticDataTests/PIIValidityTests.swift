import Testing
import Foundation
@testable import SyntheticData

@Suite("Every PII value is pattern-valid and never real")
struct PIIValidityTests {
    static let rows = 20_000
    /// The last word of each phrase that introduces an embedded value.
    static let leadIns: Set<String> = ["contact", "at", "call", "on", "SSN", "file", "card", "number", "IBAN", "to", "from", "IP"]

    func values(_ schemaName: String) throws -> (RowRegenerator, [(row: Int, value: PIIValue)]) {
        let schema = try loadSchema(schemaName)
        let regenerator = try DatasetRecipe(schema: schema, seed: 2024, size: .rows(Self.rows)).regenerator(schema: schema)
        var all: [(Int, PIIValue)] = []
        for row in 0..<Self.rows {
            for value in regenerator.piiValues(row: row) { all.append((row, value)) }
        }
        return (regenerator, all)
    }

    @Test("Customers: SSN, phone, e-mail, card, IBAN, IP and embedded values")
    func customers() throws {
        let (regenerator, all) = try values("customers")
        var seenKinds: [PIIKind: Int] = [:]
        var embedded = 0
        for (row, pii) in all {
            seenKinds[pii.kind, default: 0] += 1
            check(pii)
            if pii.column == "notes" {
                embedded += 1
                // The embedded value is really in the row's text.
                let line = String(decoding: regenerator.row(row), as: UTF8.self)
                #expect(line.contains(pii.value), "row \(row): \(pii.value) not in its notes")
                // …as a phrase of its own: its lead-in ("call ", "card number ", …) starts the
                // field or follows a space, never glued to the previous word.
                // (The last occurrence: notes is the last column, and an earlier column may hold the same value.)
                if let range = line.range(of: pii.value, options: .backwards) {
                    let before = line[..<range.lowerBound].dropLast()  // the lead-in's space
                    let leadIn = before.reversed().prefix { $0 != " " && $0 != "," && $0 != "\"" }
                    let glued = before.dropLast(leadIn.count).last.map { $0 != " " && $0 != "," && $0 != "\"" } ?? false
                    #expect(!glued && Self.leadIns.contains(String(leadIn.reversed())), "row \(row): \(line[before.startIndex..<range.upperBound].suffix(40))")
                }
            }
        }
        for kind in [PIIKind.name, .email, .phone, .ssn, .dateOfBirth, .address, .creditCard, .iban, .ipv4] {
            #expect(seenKinds[kind, default: 0] > 1000, "\(kind) seen \(seenKinds[kind, default: 0]) times")
        }
        // piiRate 0.35 of the 95% non-null notes: about 6,650 of 20,000.
        #expect((5_800...7_500).contains(embedded), "embedded PII in notes: \(embedded)")
    }

    @Test("Transactions: card numbers")
    func transactions() throws {
        let (_, all) = try values("transactions")
        #expect(all.count == Self.rows)
        for (_, pii) in all {
            #expect(pii.kind == .creditCard)
            check(pii)
        }
    }

    @Test("Null rates are honoured")
    func nullRates() throws {
        let schema = try loadSchema("customers")
        let bytes = try DatasetGenerator.bytes(schema: schema, seed: 3, rows: Self.rows)
        guard case let .success(records) = StrictCSV.parse(bytes) else { Issue.record("output is not valid CSV"); return }
        let ibanColumn = try #require(schema.columnNames.firstIndex(of: "iban"))
        let empty = records.dropFirst().filter { $0[ibanColumn].isEmpty }.count
        // nullRate 0.1 → 2,000 expected; 5 sigma is about ±210.
        #expect((1_790...2_210).contains(empty), "empty IBANs: \(empty)")
    }

    func check(_ pii: PIIValue) {
        let v = pii.value
        let bytes = Array(v.utf8)
        switch pii.kind {
        case .ssn:
            #expect(bytes.count == 11 && bytes[3] == 0x2D && bytes[6] == 0x2D, "\(v)")
            let area = Int(v.prefix(3))!, group = Int(v.dropFirst(4).prefix(2))!, serial = Int(v.suffix(4))!
            #expect((900...999).contains(area), "SSN area \(area) must be never-issued (9xx)")
            #expect((1...49).contains(group), "SSN group \(group) must avoid the ITIN groups")
            #expect((1...9999).contains(serial))
        case .phone:
            let digits = bytes.filter { $0 >= 48 && $0 <= 57 }
            let local = String(decoding: digits.suffix(7), as: UTF8.self)
            #expect(local.hasPrefix("55501"), "\(v) must be 555-0100..0199")
            #expect(digits.count == 10 || (digits.count == 11 && digits[0] == 0x31))
        case .email:
            let parts = v.split(separator: "@")
            #expect(parts.count == 2, "\(v)")
            let domain = String(parts.last!)
            #expect(SchemaLoader.isReservedDomain(domain), "\(v) is not on a reserved domain")
        case .creditCard:
            #expect(luhnValid(bytes), "\(v) fails Luhn")
            let digits = String(decoding: bytes.filter { $0 != 0x20 }, as: UTF8.self)
            let prefix2 = Int(digits.prefix(2))!, prefix4 = Int(digits.prefix(4))!, prefix3 = Int(digits.prefix(3))!
            let visa = digits.hasPrefix("4") && digits.count == 16
            let master = ((51...55).contains(prefix2) || (2221...2720).contains(prefix4)) && digits.count == 16
            let amex = (prefix2 == 34 || prefix2 == 37) && digits.count == 15
            let discover = (prefix4 == 6011 || (644...649).contains(prefix3) || prefix2 == 65) && digits.count == 16
            #expect(visa || master || amex || discover, "\(v) has no known issuer prefix")
        case .iban:
            #expect(ibanValid(v), "\(v) fails mod 97")
            let lengths = ["DE": 22, "GB": 22, "NL": 18, "BE": 16, "CH": 21, "FR": 27]
            #expect(lengths[String(v.prefix(2))] == bytes.count, "\(v) has the wrong length for its country")
            if v.hasPrefix("BE") {
                let national = Int(v.dropFirst(4).prefix(10))! % 97
                #expect((national == 0 ? 97 : national) == Int(v.suffix(2))!, "\(v) has a bad Belgian check")
            }
        case .ipv4:
            #expect(v.hasPrefix("192.0.2.") || v.hasPrefix("198.51.100.") || v.hasPrefix("203.0.113."), "\(v) is not RFC 5737")
            #expect((1...254).contains(Int(v.split(separator: ".").last!)!))
        case .ipv6:
            #expect(v.hasPrefix("2001:db8:"), "\(v)")
        case .dateOfBirth:
            #expect(v.count == 10 && v >= "1940-01-01" && v <= "2006-12-31", "\(v)")
        case .name, .address, .url:
            #expect(!v.isEmpty)
        }
    }

    @Test("IBAN generation covers every country format", arguments: IBANCountry.allCases)
    func ibanCountries(country: IBANCountry) {
        var random = CellRandom(state: 99)
        let out = UnsafeMutablePointer<UInt8>.allocate(capacity: 64)
        defer { out.deallocate() }
        for _ in 0..<2000 {
            let count = writeIBAN(country, random: &random, to: out)
            let iban = String(decoding: UnsafeBufferPointer(start: out, count: count), as: UTF8.self)
            #expect(ibanValid(iban), "\(iban)")
            #expect(count == country.length)
        }
    }

    @Test("The validity checkers reject invalid values (so the checks above can fail)")
    func checkersReject() {
        #expect(luhnValid(Array("4111111111111111".utf8)))
        #expect(!luhnValid(Array("4111111111111112".utf8)))
        #expect(ibanValid("GB82WEST12345698765432"))
        #expect(!ibanValid("GB82WEST12345698765433"))
        #expect(!SchemaLoader.isReservedDomain("gmail.com"))
        #expect(SchemaLoader.isReservedDomain("corp.example"))
    }
}
