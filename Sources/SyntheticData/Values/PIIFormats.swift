/// Generators for pattern-valid, never-real PII. The policy (README, "Synthetic PII"):
///
/// - SSN: area 900–999 (never issued by the SSA), group 01–49, serial 0001–9999. Areas 9xx
///   with groups 50–65, 70–88, 90–92 and 94–99 are ITINs; keeping groups at 01–49 avoids
///   them (a stricter subset of "01–69"). Never area 000 or 666.
/// - Phone: a real area code, exchange 555, line 0100–0199 (NANPA reserves 555-0100..0199
///   for fiction).
/// - E-mail and URLs: reserved domains only (RFC 2606 / RFC 6761: example.com/.net/.org,
///   *.test, *.example).
/// - IPv4: the RFC 5737 documentation ranges; IPv6: 2001:db8::/32 (RFC 3849).
/// - Cards: Luhn-valid with the issuer prefixes scanners look for (IIN ranges).
/// - IBAN: mod-97-valid (ISO 13616) in the national formats of DE, GB, NL, BE, CH, FR,
///   with national check digits where the country has them (BE, FR).

/// Card brands with the IIN prefixes detectors match and the number length.
package enum CardBrand: String, CaseIterable, Sendable {
    case visa, mastercard, amex, discover

    /// The brand at `index` of `allCases`, without building the array.
    @inline(__always)
    static func at(_ index: Int) -> CardBrand {
        switch index {
        case 0: return .visa
        case 1: return .mastercard
        case 2: return .amex
        default: return .discover
        }
    }

    /// The number of digits.
    var length: Int {
        switch self {
        case .amex: return 15
        default: return 16
        }
    }

    /// Writes the issuer prefix; returns how many digits it wrote.
    @inline(__always)
    func writePrefix(_ random: inout CellRandom, to out: UnsafeMutablePointer<UInt8>) -> Int {
        switch self {
        case .visa:
            out[0] = UInt8(ascii: "4")
            return 1
        case .mastercard:
            // 51–55 or 2221–2720.
            if random.below(4) == 0 {
                return writeDecimal(UInt64(random.inRange(2221, 2720)), to: out)
            }
            return writeDecimal(UInt64(random.inRange(51, 55)), to: out)
        case .amex:
            return writeDecimal(random.below(2) == 0 ? 34 : 37, to: out)
        case .discover:
            switch random.below(3) {
            case 0: return writeDecimal(6011, to: out)
            case 1: return writeDecimal(UInt64(random.inRange(644, 649)), to: out)
            default: return writeDecimal(65, to: out)
            }
        }
    }
}

/// Writes a Luhn-valid card number of the given brand. `grouped` puts a space after every
/// four digits (4-6-5 for Amex), as people type them in free text.
@inline(__always)
package func writeCardNumber(_ brand: CardBrand, grouped: Bool, random: inout CellRandom, to out: UnsafeMutablePointer<UInt8>) -> Int {
    let length = brand.length
    // Grouped numbers are built in a scratch area past the field, then laid out in groups.
    let digits = grouped ? out + 24 : out
    var count = brand.writePrefix(&random, to: digits)
    // Luhn while the digits are drawn: counting from the check digit's left neighbour,
    // every second digit is doubled (minus 9 when the double exceeds 9). For a fixed length
    // that is every index with the parity of length − 2.
    let doubledParity = (length &- 2) & 1
    var sum = 0
    for i in 0..<count {
        let d = Int(digits[i]) &- 48
        sum &+= (i & 1) == doubledParity ? (d &* 2 &- (d >= 5 ? 9 : 0)) : d
    }
    var chunk = random.next()
    var k = 0
    while count < length - 1 {
        // One decimal digit per multiply: the high word of chunk × 10 is uniform in 0...9.
        let (high, low) = chunk.multipliedFullWidth(by: 10)
        let d = Int(truncatingIfNeeded: high)
        digits[count] = UInt8(truncatingIfNeeded: 48 &+ d)
        sum &+= (count & 1) == doubledParity ? (d &* 2 &- (d >= 5 ? 9 : 0)) : d
        chunk = low
        count += 1
        k += 1
        if k == 16 {
            chunk = random.next()
            k = 0
        }
    }
    digits[length - 1] = UInt8(48 + (10 - sum % 10) % 10)
    if !grouped { return length }
    // 4-4-4-4, or 4-6-5 for Amex.
    var written = 0
    var read = 0
    var group = 0
    while read < length {
        let size = brand == .amex ? (group == 0 ? 4 : (group == 1 ? 6 : 5)) : 4
        if group > 0 {
            out[written] = UInt8(ascii: " ")
            written += 1
        }
        for i in 0..<size { out[written + i] = digits[read + i] }
        written += size
        read += size
        group += 1
    }
    return written
}

/// True when `digits` (ASCII, spaces and dashes ignored) pass the Luhn check.
package func luhnValid<S: Sequence>(_ digits: S) -> Bool where S.Element == UInt8 {
    var values: [Int] = []
    for byte in digits {
        if byte >= 48 && byte <= 57 { values.append(Int(byte) - 48) } else if byte != 32 && byte != 45 { return false }
    }
    guard values.count >= 12 else { return false }
    var sum = 0
    for (offset, value) in values.reversed().enumerated() {
        var d = value
        if offset % 2 == 1 {
            d *= 2
            if d > 9 { d -= 9 }
        }
        sum += d
    }
    return sum % 10 == 0
}

// MARK: IBAN

package enum IBANCountry: String, CaseIterable, Sendable {
    case DE, GB, NL, BE, CH, FR

    /// The country at `index` of `allCases`, without building the array.
    @inline(__always)
    static func at(_ index: Int) -> IBANCountry {
        switch index {
        case 0: return .DE
        case 1: return .GB
        case 2: return .NL
        case 3: return .BE
        case 4: return .CH
        default: return .FR
        }
    }

    /// The two letters, without allocating.
    var codeBytes: (UInt8, UInt8) {
        switch self {
        case .DE: return (0x44, 0x45)
        case .GB: return (0x47, 0x42)
        case .NL: return (0x4E, 0x4C)
        case .BE: return (0x42, 0x45)
        case .CH: return (0x43, 0x48)
        case .FR: return (0x46, 0x52)
        }
    }

    var length: Int {
        switch self {
        case .DE: return 22
        case .GB: return 22
        case .NL: return 18
        case .BE: return 16
        case .CH: return 21
        case .FR: return 27
        }
    }
}

@usableFromInline
let bankLetters: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ".utf8)

/// Writes an IBAN (no spaces). The BBAN is random in the country's format, with national
/// check digits where the format has them; the two IBAN check digits make the whole
/// number ≡ 1 (mod 97).
@inline(__always)
package func writeIBAN(_ country: IBANCountry, random: inout CellRandom, to out: UnsafeMutablePointer<UInt8>) -> Int {
    let length = country.length
    let bban = out + 4
    let bbanLength = length - 4
    @inline(__always) func digits(_ from: Int, _ count: Int) {
        var chunk = random.next()
        for i in 0..<count {
            if i == 16 { chunk = random.next() }
            let (high, low) = chunk.multipliedFullWidth(by: 10)
            bban[from + i] = UInt8(truncatingIfNeeded: 48 &+ high)
            chunk = low
        }
    }
    switch country {
    case .DE:
        digits(0, 18)
    case .GB, .NL:
        for i in 0..<4 { bban[i] = bankLetters[random.below(26)] }
        digits(4, bbanLength - 4)
    case .CH:
        digits(0, 17)
    case .BE:
        // 3-digit bank, 7-digit account, 2-digit national check = first 10 mod 97 (0 → 97).
        digits(0, 10)
        var value = 0
        for i in 0..<10 { value = value * 10 + Int(bban[i]) - 48 }
        var check = value % 97
        if check == 0 { check = 97 }
        writeTwoDigits(check, to: bban + 10)
    case .FR:
        // 5-digit bank, 5-digit branch, 11-digit account, 2-digit RIB key:
        // key = 97 − ((89·bank + 15·branch + 3·account) mod 97).
        digits(0, 21)
        func number(_ from: Int, _ count: Int) -> Int {
            var value = 0
            for i in from..<(from + count) { value = (value * 10 + Int(bban[i]) - 48) % 97 }
            return value
        }
        let key = 97 - ((89 * number(0, 5) + 15 * number(5, 5) + 3 * number(10, 11)) % 97)
        writeTwoDigits(key, to: bban + 21)
    }
    let code = country.codeBytes
    out[0] = code.0
    out[1] = code.1
    // mod 97 of BBAN ++ country letters ++ "00", reducing every 8 characters (the
    // accumulator stays below 97·10^16 < 2^63).
    var remainder: UInt64 = 0
    var pending = 0
    @inline(__always) func feed(_ byte: UInt8) {
        // Branch-free: a letter is two digits (A = 10 … Z = 35), a digit one.
        let isLetter = byte >= 65
        remainder = remainder &* (isLetter ? 100 : 10) &+ UInt64(byte &- (isLetter ? 55 : 48))
        pending &+= 1
        if pending == 8 {
            remainder %= 97
            pending = 0
        }
    }
    for i in 0..<bbanLength { feed(bban[i]) }
    feed(code.0)
    feed(code.1)
    remainder = (remainder % 97) * 100 % 97
    writeTwoDigits(98 - Int(remainder), to: out + 2)
    return length
}

/// True when `iban` (no spaces) has a valid ISO 13616 mod-97 checksum.
package func ibanValid(_ iban: String) -> Bool {
    let bytes = Array(iban.utf8)
    guard bytes.count >= 15, bytes.count <= 34 else { return false }
    let rearranged = bytes[4...] + bytes[..<4]
    var remainder = 0
    for byte in rearranged {
        switch byte {
        case 48...57: remainder = (remainder * 10 + Int(byte) - 48) % 97
        case 65...90: remainder = (remainder * 100 + Int(byte) - 55) % 97
        default: return false
        }
    }
    return remainder == 1
}

// MARK: Phone, SSN, IP

package enum PhoneFormat: String, CaseIterable, Sendable {
    /// (212) 555-0147
    case national
    /// 212-555-0147
    case dashed
    /// +1 212-555-0147
    case international
}

@inline(__always)
package func writePhone(_ format: PhoneFormat, areaCodes: WordTable, random: inout CellRandom, to out: UnsafeMutablePointer<UInt8>) -> Int {
    var n = 0
    let area = random.below(areaCodes.count)
    let line = random.below(100)
    switch format {
    case .national:
        out[0] = UInt8(ascii: "(")
        n = 1 + areaCodes.copy(area, to: out + 1)
        n += writeBytes(") 555-01", to: out + n)
    case .dashed:
        n = areaCodes.copy(area, to: out)
        n += writeBytes("-555-01", to: out + n)
    case .international:
        n = writeBytes("+1 ", to: out)
        n += areaCodes.copy(area, to: out + n)
        n += writeBytes("-555-01", to: out + n)
    }
    writeTwoDigits(line, to: out + n)
    return n + 2
}

@inline(__always)
package func writeSSN(random: inout CellRandom, to out: UnsafeMutablePointer<UInt8>) -> Int {
    let bits = random.next()
    out[0] = UInt8(ascii: "9")
    writeTwoDigits(Int(bits % 100), to: out + 1)
    out[3] = UInt8(ascii: "-")
    writeTwoDigits(1 + Int((bits >> 8) % 49), to: out + 4)
    out[6] = UInt8(ascii: "-")
    _ = writeDecimal(1 + (bits >> 20) % 9999, width: 4, to: out + 7)
    return 11
}

/// An address in one of the RFC 5737 documentation networks.
@inline(__always)
package func writeIPv4(random: inout CellRandom, to out: UnsafeMutablePointer<UInt8>) -> Int {
    let bits = random.next()
    let n: Int
    switch bits % 3 {
    case 0: n = writeBytes("192.0.2.", to: out)
    case 1: n = writeBytes("198.51.100.", to: out)
    default: n = writeBytes("203.0.113.", to: out)
    }
    return n + writeDecimal(1 + (bits >> 8) % 254, to: out + n)
}

@inline(__always)
package func writeIPv6(random: inout CellRandom, to out: UnsafeMutablePointer<UInt8>) -> Int {
    var n = writeBytes("2001:db8", to: out)
    var bits = random.next()
    for group in 0..<6 {
        if group == 4 { bits = random.next() }
        out[n] = UInt8(ascii: ":")
        n += 1
        // Non-zero groups keep the text canonical (no "::" compression needed).
        n += writeHexGroup(UInt16(truncatingIfNeeded: bits) | 1, to: out + n)
        bits >>= 16
    }
    return n
}
