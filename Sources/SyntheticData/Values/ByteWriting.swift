/// Low-level writers into a raw output pointer. Every function returns the number of bytes
/// written; callers guarantee capacity (rows are bounded by `RowEncoder.maxRowBytes`).

/// The two ASCII digits of 0...99, back to back ("00" "01" … "99"). A string literal, so its
/// bytes are a constant in the binary: no global to initialise-check on the hot path.
@inline(__always)
var digitPairs: StaticString { "00010203040506070809101112131415161718192021222324252627282930313233343536373839404142434445464748495051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899" }

/// Stores the two digits of `pair` (0...99) at `out`.
@inline(__always)
package func writePair(_ pair: UInt64, to out: UnsafeMutablePointer<UInt8>) {
    UnsafeMutableRawPointer(out).storeBytes(
        of: UnsafeRawPointer(digitPairs.utf8Start + Int(truncatingIfNeeded: pair) &* 2).loadUnaligned(as: UInt16.self),
        as: UInt16.self
    )
}

/// Writes exactly 8 digits of `value` (< 10^8), zero-padded. The four pairs are independent,
/// so the divisions (multiplies) overlap instead of forming one chain.
@inline(__always)
package func writeEightDigits(_ value: UInt64, to out: UnsafeMutablePointer<UInt8>) {
    let high = value / 10_000
    let low = value &- high &* 10_000
    let p0 = high / 100
    let p2 = low / 100
    writePair(p0, to: out)
    writePair(high &- p0 &* 100, to: out + 2)
    writePair(p2, to: out + 4)
    writePair(low &- p2 &* 100, to: out + 6)
}

/// Writes exactly 16 digits of `value` (< 10^16), zero-padded.
@inline(__always)
package func writeSixteenDigits(_ value: UInt64, to out: UnsafeMutablePointer<UInt8>) {
    let high = value / 100_000_000
    writeEightDigits(high, to: out)
    writeEightDigits(value &- high &* 100_000_000, to: out + 8)
}

/// 10^exponent for exponent in 0...19. Meant for constant exponents (it folds away); a
/// run-time exponent costs an indirect branch.
@inline(__always)
package func powerOfTen(_ exponent: Int) -> UInt64 {
    switch exponent {
    case 0: return 1
    case 1: return 10
    case 2: return 100
    case 3: return 1_000
    case 4: return 10_000
    case 5: return 100_000
    case 6: return 1_000_000
    case 7: return 10_000_000
    case 8: return 100_000_000
    case 9: return 1_000_000_000
    case 10: return 10_000_000_000
    case 11: return 100_000_000_000
    case 12: return 1_000_000_000_000
    case 13: return 10_000_000_000_000
    case 14: return 100_000_000_000_000
    case 15: return 1_000_000_000_000_000
    case 16: return 10_000_000_000_000_000
    case 17: return 100_000_000_000_000_000
    case 18: return 1_000_000_000_000_000_000
    default: return 10_000_000_000_000_000_000
    }
}

/// The number of decimal digits of `value` (0 for 0). Below 10^8 (nearly every value written)
/// it is a sum of independent comparisons: no branch to mispredict, no table.
@inline(__always)
func decimalDigitCount(_ value: UInt64) -> Int {
    if value < 100_000_000 {
        var count = value >= 1 ? 1 : 0
        count &+= value >= 10 ? 1 : 0
        count &+= value >= 100 ? 1 : 0
        count &+= value >= 1_000 ? 1 : 0
        count &+= value >= 10_000 ? 1 : 0
        count &+= value >= 100_000 ? 1 : 0
        count &+= value >= 1_000_000 ? 1 : 0
        count &+= value >= 10_000_000 ? 1 : 0
        return count
    }
    var count = 9
    var power: UInt64 = 1_000_000_000
    while count < 20 && value >= power {
        count &+= 1
        power = power &* 10
    }
    return count
}

/// Like `writeDecimal`, branch-free below 10^8: the 8 zero-padded digits are assembled in a
/// register, shifted past the leading zeros and stored as one word. Writes up to 8 bytes of
/// scratch past the digits, which the next field overwrites (rows carry slack for it).
@inline(__always)
func writeDecimalWithSlack(_ value: UInt64, width: Int = 1, to out: UnsafeMutablePointer<UInt8>) -> Int {
    guard value < 100_000_000 && width <= 8 else { return writeDecimal(value, width: width, to: out) }
    let count = max(decimalDigitCount(value), width)
    let high = value / 10_000
    let low = value &- high &* 10_000
    let p0 = high / 100
    let p2 = low / 100
    let table = UnsafeRawPointer(digitPairs.utf8Start)
    @inline(__always) func pair(_ value: UInt64) -> UInt64 {
        UInt64(table.loadUnaligned(fromByteOffset: Int(truncatingIfNeeded: value) &* 2, as: UInt16.self))
    }
    // Little-endian: the first digit is the lowest byte.
    let word = pair(p0) | pair(high &- p0 &* 100) &<< 16 | pair(p2) &<< 32 | pair(low &- p2 &* 100) &<< 48
    UnsafeMutableRawPointer(out).storeBytes(of: (word &>> UInt64(truncatingIfNeeded: (8 &- count) &* 8)).littleEndian, as: UInt64.self)
    return count
}

/// Writes `count` (1...16) decimal digits of `value` (< 10^count), zero-padded, as 16 digit
/// stores: the bytes after the `count` digits are scratch (up to 16 − count of them), which the
/// next field overwrites; rows carry slack for it.
@inline(__always)
package func writeDigitsPadded(_ value: UInt64, count: Int, to out: UnsafeMutablePointer<UInt8>) {
    writeSixteenDigits(value &* powerOfTen(16 &- count), to: out)
}

/// Writes `value` in decimal, left-padded with zeros to at least `width` digits.
/// Two digits per step from a constant pair table.
@inline(__always)
package func writeDecimal(_ value: UInt64, width: Int = 1, to out: UnsafeMutablePointer<UInt8>) -> Int {
    let count = max(decimalDigitCount(value), width)
    var v = value
    var position = count
    while position >= 2 {
        position &-= 2
        let quotient = v / 100
        writePair(v &- quotient &* 100, to: out + position)
        v = quotient
    }
    if position == 1 {
        out[0] = UInt8(truncatingIfNeeded: 48 &+ v % 10)
    }
    return count
}

/// Writes exactly two digits (00-99).
@inline(__always)
package func writeTwoDigits(_ value: Int, to out: UnsafeMutablePointer<UInt8>) {
    writePair(UInt64(truncatingIfNeeded: value), to: out)
}

/// Writes `value` in decimal; like `writeDecimalWithSlack`, may write up to 8 bytes of
/// scratch past the digits.
@inline(__always)
package func writeSigned(_ value: Int64, to out: UnsafeMutablePointer<UInt8>) -> Int {
    if value < 0 {
        out[0] = UInt8(ascii: "-")
        return 1 + writeDecimalWithSlack(value.magnitude, to: out + 1)
    }
    return writeDecimalWithSlack(UInt64(value), to: out)
}

/// Writes `count` lowercase hex digits of `value`.
@inline(__always)
package func writeHex(_ value: UInt64, count: Int, to out: UnsafeMutablePointer<UInt8>) {
    var v = value
    var i = count
    while i > 0 {
        i &-= 1
        let nibble = UInt8(truncatingIfNeeded: v & 0xF)
        out[i] = nibble < 10 ? 48 &+ nibble : 87 &+ nibble
        v &>>= 4
    }
}

/// Writes a 16-bit group in hex without leading zeros (as RFC 5952 wants).
@inline(__always)
package func writeHexGroup(_ value: UInt16, to out: UnsafeMutablePointer<UInt8>) -> Int {
    var digits = 1
    if value >= 0x1000 { digits = 4 } else if value >= 0x100 { digits = 3 } else if value >= 0x10 { digits = 2 }
    writeHex(UInt64(value), count: digits, to: out)
    return digits
}

@inline(__always)
package func writeBytes(_ bytes: StaticString, to out: UnsafeMutablePointer<UInt8>) -> Int {
    let count = bytes.utf8CodeUnitCount
    let source = bytes.utf8Start
    for i in 0..<count { out[i] = source[i] }
    return count
}

@inline(__always)
package func writeBytes(_ bytes: [UInt8], to out: UnsafeMutablePointer<UInt8>) -> Int {
    bytes.withUnsafeBufferPointer { buffer in
        out.update(from: buffer.baseAddress!, count: buffer.count)
        return buffer.count
    }
}

// MARK: Calendar arithmetic (proleptic Gregorian, UTC; no time zones, no locale)

/// Civil date from days since 1970-01-01 (Howard Hinnant's `civil_from_days`). Wrapping
/// arithmetic, and unsigned divisions once the value is known non-negative (day of era):
/// no overflow checks or sign fix-ups on the hot path.
@inline(__always)
package func civilFromDays(_ days: Int) -> (year: Int, month: Int, day: Int) {
    let z = days &+ 719_468
    let era = (z >= 0 ? z : z &- 146_096) / 146_097
    let doe = UInt(bitPattern: z &- era &* 146_097)
    let yoe = (doe &- doe / 1460 &+ doe / 36524 &- doe / 146_096) / 365
    let doy = doe &- (365 &* yoe &+ yoe / 4 &- yoe / 100)
    let mp = (5 &* doy &+ 2) / 153
    let d = Int(bitPattern: doy &- (153 &* mp &+ 2) / 5 &+ 1)
    let m = Int(bitPattern: mp < 10 ? mp &+ 3 : mp &- 9)
    let y = Int(bitPattern: yoe) &+ era &* 400
    return (m <= 2 ? y &+ 1 : y, m, d)
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's `days_from_civil`).
package func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
    let y = month <= 2 ? year - 1 : year
    let era = (y >= 0 ? y : y - 399) / 400
    let yoe = y - era * 400
    let mp = month > 2 ? month - 3 : month + 9
    let doy = (153 * mp + 2) / 5 + day - 1
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
    return era * 146_097 + doe - 719_468
}

/// Writes YYYY-MM-DD.
@inline(__always)
package func writeDate(days: Int, to out: UnsafeMutablePointer<UInt8>) -> Int {
    let (year, month, day) = civilFromDays(days)
    if year >= 0 && year <= 9999 {
        let century = year / 100
        writeTwoDigits(century, to: out)
        writeTwoDigits(year &- century &* 100, to: out + 2)
    } else {
        _ = writeDecimalWithSlack(UInt64(truncatingIfNeeded: year), width: 4, to: out)
    }
    out[4] = UInt8(ascii: "-")
    writeTwoDigits(month, to: out + 5)
    out[7] = UInt8(ascii: "-")
    writeTwoDigits(day, to: out + 8)
    return 10
}

/// Writes YYYY-MM-DDTHH:MM:SSZ for seconds since the Unix epoch.
@inline(__always)
package func writeTimestamp(seconds: Int64, to out: UnsafeMutablePointer<UInt8>) -> Int {
    let days = Int(truncatingIfNeeded: seconds >= 0 ? seconds / 86_400 : (seconds &- 86_399) / 86_400)
    let secondOfDay = UInt(truncatingIfNeeded: seconds &- Int64(days) &* 86_400)
    _ = writeDate(days: days, to: out)
    out[10] = UInt8(ascii: "T")
    let minutes = secondOfDay / 60
    writeTwoDigits(Int(bitPattern: minutes / 60), to: out + 11)
    out[13] = UInt8(ascii: ":")
    writeTwoDigits(Int(bitPattern: minutes % 60), to: out + 14)
    out[16] = UInt8(ascii: ":")
    writeTwoDigits(Int(bitPattern: secondOfDay &- minutes &* 60), to: out + 17)
    out[19] = UInt8(ascii: "Z")
    return 20
}
