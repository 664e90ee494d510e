/// Low-level writers into a raw output pointer. Every function returns the number of bytes
/// written; callers guarantee capacity (rows are bounded by `RowEncoder.maxRowBytes`).

/// Writes `value` in decimal, left-padded with zeros to at least `width` digits.
/// Arithmetic only (divisions by constants compile to multiplies): no lookup table, so no
/// global to initialise-check on the hot path.
@inline(__always)
package func writeDecimal(_ value: UInt64, width: Int = 1, to out: UnsafeMutablePointer<UInt8>) -> Int {
    var digits = 1
    var power: UInt64 = 10
    while digits < 20 && value >= power {
        digits &+= 1
        power = power &* 10
    }
    let count = max(digits, width)
    var v = value
    var position = count
    while position > 0 {
        position &-= 1
        let quotient = v / 10
        out[position] = UInt8(truncatingIfNeeded: 48 &+ (v &- quotient &* 10))
        v = quotient
    }
    return count
}

/// Writes exactly two digits (00-99).
@inline(__always)
package func writeTwoDigits(_ value: Int, to out: UnsafeMutablePointer<UInt8>) {
    let tens = value / 10
    out[0] = UInt8(truncatingIfNeeded: 48 &+ tens)
    out[1] = UInt8(truncatingIfNeeded: 48 &+ value &- tens &* 10)
}

@inline(__always)
package func writeSigned(_ value: Int64, to out: UnsafeMutablePointer<UInt8>) -> Int {
    if value < 0 {
        out[0] = UInt8(ascii: "-")
        return 1 + writeDecimal(value.magnitude, to: out + 1)
    }
    return writeDecimal(UInt64(value), to: out)
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

/// Civil date from days since 1970-01-01 (Howard Hinnant's `civil_from_days`).
@inline(__always)
package func civilFromDays(_ days: Int) -> (year: Int, month: Int, day: Int) {
    let z = days + 719_468
    let era = (z >= 0 ? z : z - 146_096) / 146_097
    let doe = z - era * 146_097
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
    let y = yoe + era * 400
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
    let mp = (5 * doy + 2) / 153
    let d = doy - (153 * mp + 2) / 5 + 1
    let m = mp < 10 ? mp + 3 : mp - 9
    return (m <= 2 ? y + 1 : y, m, d)
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
    _ = writeDecimal(UInt64(year), width: 4, to: out)
    out[4] = UInt8(ascii: "-")
    writeTwoDigits(month, to: out + 5)
    out[7] = UInt8(ascii: "-")
    writeTwoDigits(day, to: out + 8)
    return 10
}

/// Writes YYYY-MM-DDTHH:MM:SSZ for seconds since the Unix epoch.
@inline(__always)
package func writeTimestamp(seconds: Int64, to out: UnsafeMutablePointer<UInt8>) -> Int {
    let days = Int(seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400)
    let secondOfDay = Int(seconds - Int64(days) * 86_400)
    _ = writeDate(days: days, to: out)
    out[10] = UInt8(ascii: "T")
    writeTwoDigits(secondOfDay / 3600, to: out + 11)
    out[13] = UInt8(ascii: ":")
    writeTwoDigits((secondOfDay / 60) % 60, to: out + 14)
    out[16] = UInt8(ascii: ":")
    writeTwoDigits(secondOfDay % 60, to: out + 17)
    out[19] = UInt8(ascii: "Z")
    return 20
}
