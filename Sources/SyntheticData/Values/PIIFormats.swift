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

    /// Draws the issuer prefix. Returns it scaled to its place in the number without the
    /// check digit (`length − 1` digits), and 10^(digits after it): constants per case, so
    /// nothing is looked up at run time.
    @inline(__always)
    func drawPrefix(_ random: inout CellRandom) -> (scaled: UInt64, bodyPower: UInt64) {
        switch self {
        case .visa:
            return (4 &* 100_000_000_000_000, 100_000_000_000_000)
        case .mastercard:
            // 51–55 or 2221–2720.
            if random.below(4) == 0 {
                return (UInt64(truncatingIfNeeded: random.inRange(2221, 2720)) &* 100_000_000_000, 100_000_000_000)
            }
            return (UInt64(truncatingIfNeeded: random.inRange(51, 55)) &* 10_000_000_000_000, 10_000_000_000_000)
        case .amex:
            return ((random.below(2) == 0 ? 34 : 37) &* 1_000_000_000_000, 1_000_000_000_000)
        case .discover:
            switch random.below(3) {
            case 0: return (6011 &* 100_000_000_000, 100_000_000_000)
            case 1: return (UInt64(truncatingIfNeeded: random.inRange(644, 649)) &* 1_000_000_000_000, 1_000_000_000_000)
            default: return (65 &* 10_000_000_000_000, 10_000_000_000_000)
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
    let prefix = brand.drawPrefix(&random)
    // The body: the first n digits of the decimal expansion of draw / 2^64, which is
    // floor(draw × 10^n / 2^64) (the same digits as drawing one digit per multiply by 10,
    // without the serial chain). At most 14 digits, so one draw.
    let body = random.next().multipliedFullWidth(by: prefix.bodyPower).high
    // Prefix and body, length − 1 digits, in 16 digit slots (the rest are zeros: scratch).
    writeSixteenDigits((prefix.scaled &+ body) &* (length == 16 ? 10 : 100), to: digits)
    // Luhn: counting from the check digit's left neighbour, every second digit is doubled,
    // i.e. the even slots of a 16-digit number and the odd slots of a 15-digit one.
    // Doubling d adds d − 9·[d ≥ 5] to the plain digit sum; the zero slots add nothing.
    var plain = 0
    var extraEven = 0
    var extraOdd = 0
    var j = 0
    while j < 16 {
        let a = Int(truncatingIfNeeded: digits[j]) &- 48
        let b = Int(truncatingIfNeeded: digits[j &+ 1]) &- 48
        plain &+= a &+ b
        extraEven &+= a &- (a >= 5 ? 9 : 0)
        extraOdd &+= b &- (b >= 5 ? 9 : 0)
        j &+= 2
    }
    let sum = plain &+ (length & 1 == 0 ? extraEven : extraOdd)
    digits[length &- 1] = UInt8(truncatingIfNeeded: 48 &+ (10 &- sum % 10) % 10)
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

/// Writes an IBAN (no spaces). The BBAN is random in the country's format, with national
/// check digits where the format has them; the two IBAN check digits make the whole
/// number ≡ 1 (mod 97).
///
/// A run of n random digits is the first n digits of the decimal expansion of a draw / 2^64,
/// i.e. floor(draw × 10^n / 2^64), 16 digits per draw. Working on those numbers rather than
/// digit by digit gives mod 97 and the national checks in a few multiplies.
@inline(__always)
package func writeIBAN(_ country: IBANCountry, random: inout CellRandom, to out: UnsafeMutablePointer<UInt8>) -> Int {
    let bban = out + 4
    /// The next `count` (1...16) random digits as a number.
    @inline(__always) func draw(_ count: Int) -> UInt64 {
        random.next().multipliedFullWidth(by: powerOfTen(count)).high
    }
    /// r · 10^count + value, mod 97.
    @inline(__always) func append(_ r: UInt64, _ value: UInt64, _ count: Int) -> UInt64 {
        (r &* (powerOfTen(count) % 97) &+ value % 97) % 97
    }
    /// Four bank-code letters A–Z, drawn one at a time; returns their value as 8 IBAN digits
    /// (A = 10 … Z = 35).
    @inline(__always) func letters() -> UInt64 {
        var value: UInt64 = 0
        for i in 0..<4 {
            let letter = UInt64(truncatingIfNeeded: random.below(26))
            bban[i] = UInt8(truncatingIfNeeded: 65 &+ letter)
            value = value &* 100 &+ 10 &+ letter
        }
        return value
    }
    // The BBAN as a number mod 97, and the country letters' digits (A = 10 … Z = 35).
    var r: UInt64
    let countryDigits: UInt64
    switch country {
    case .DE:
        // 18 digits.
        let first = draw(16)
        writeSixteenDigits(first, to: bban)
        let second = draw(2)
        writePair(second, to: bban + 16)
        r = append(first % 97, second, 2)
        countryDigits = 1314
    case .GB:
        // 4 letters, 14 digits.
        let bank = letters()
        let account = draw(14)
        writeDigitsPadded(account, count: 14, to: bban + 4)
        r = append(bank % 97, account, 14)
        countryDigits = 1611
    case .NL:
        // 4 letters, 10 digits.
        let bank = letters()
        let account = draw(10)
        writeDigitsPadded(account, count: 10, to: bban + 4)
        r = append(bank % 97, account, 10)
        countryDigits = 2321
    case .CH:
        // 17 digits.
        let first = draw(16)
        writeSixteenDigits(first, to: bban)
        let second = draw(1)
        bban[16] = UInt8(truncatingIfNeeded: 48 &+ second)
        r = append(first % 97, second, 1)
        countryDigits = 1217
    case .BE:
        // 3-digit bank, 7-digit account, 2-digit national check = first 10 mod 97 (0 → 97).
        let account = draw(10)
        writeDigitsPadded(account, count: 10, to: bban)
        var check = account % 97
        if check == 0 { check = 97 }
        writePair(check, to: bban + 10)
        r = append(account % 97, check, 2)
        countryDigits = 1114
    case .FR:
        // 5-digit bank, 5-digit branch, 11-digit account, 2-digit RIB key:
        // key = 97 − ((89·bank + 15·branch + 3·account) mod 97).
        let first = draw(16)
        writeSixteenDigits(first, to: bban)
        let second = draw(5)
        writeDigitsPadded(second, count: 5, to: bban + 16)
        let bank = first / 100_000_000_000
        let branch = (first / 1_000_000) % 100_000
        let account = (first % 1_000_000) &* 100_000 &+ second
        let key = 97 &- ((89 &* (bank % 97) &+ 15 &* (branch % 97) &+ 3 &* (account % 97)) % 97)
        writePair(key, to: bban + 21)
        r = append(append(first % 97, second, 5), key, 2)
        countryDigits = 1527
    }
    let code = country.codeBytes
    out[0] = code.0
    out[1] = code.1
    // BBAN ++ country digits ++ "00".
    r = append(append(r, countryDigits, 4), 0, 2)
    writePair(98 &- r, to: out + 2)
    return country.length
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
    _ = writeDecimalWithSlack(1 + (bits >> 20) % 9999, width: 4, to: out + 7)
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
    return n + writeDecimalWithSlack(1 + (bits >> 8) % 254, to: out + n)
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
