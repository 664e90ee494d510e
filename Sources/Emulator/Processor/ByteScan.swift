/// Word-at-a-time (SWAR) byte searches and incremental UTF-8 validation for the processor's
/// hot loop. All positions are offsets from `base`; `end` is exclusive. Little-endian.
enum ByteScan {
    @usableFromInline static let ones: UInt64 = 0x0101_0101_0101_0101
    @usableFromInline static let high: UInt64 = 0x8080_8080_8080_8080

    /// Flags (0x80 per byte) where `x` has a zero byte. Only the lowest flag is exact (a
    /// borrow can flag bytes above a true zero), which is all the searches use.
    @inline(__always)
    static func zeroFlags(_ x: UInt64) -> UInt64 { (x &- ones) & ~x & high }

    @inline(__always)
    static func load(_ base: UnsafePointer<UInt8>, _ at: Int) -> UInt64 {
        UInt64(littleEndian: UnsafeRawPointer(base + at).loadUnaligned(as: UInt64.self))
    }

    /// The first `,` `"` LF CR or non-ASCII byte at or after `from`, or `end`.
    @inline(__always)
    static func unquotedSpecial(_ base: UnsafePointer<UInt8>, from: Int, end: Int) -> Int {
        var i = from
        while i &+ 8 <= end {
            let w = load(base, i)
            let flags = zeroFlags(w ^ (ones &* 0x2C)) | zeroFlags(w ^ (ones &* 0x22)) | zeroFlags(w ^ (ones &* 0x0A))
                | zeroFlags(w ^ (ones &* 0x0D)) | (w & high)
            if flags != 0 { return i &+ (flags.trailingZeroBitCount &>> 3) }
            i &+= 8
        }
        while i < end {
            let b = base[i]
            if b == 0x2C || b == 0x22 || b == 0x0A || b == 0x0D || b >= 0x80 { return i }
            i &+= 1
        }
        return end
    }

    /// The first `"` or non-ASCII byte at or after `from`, or `end`.
    @inline(__always)
    static func quoteOrHigh(_ base: UnsafePointer<UInt8>, from: Int, end: Int) -> Int {
        var i = from
        while i &+ 8 <= end {
            let w = load(base, i)
            let flags = zeroFlags(w ^ (ones &* 0x22)) | (w & high)
            if flags != 0 { return i &+ (flags.trailingZeroBitCount &>> 3) }
            i &+= 8
        }
        while i < end {
            let b = base[i]
            if b == 0x22 || b >= 0x80 { return i }
            i &+= 1
        }
        return end
    }

    /// The first `,` `"` LF or CR at or after `from`, or `end`: where a field can end.
    static func structural(_ base: UnsafePointer<UInt8>, from: Int, end: Int) -> Int {
        var i = from
        while i &+ 8 <= end {
            let w = load(base, i)
            let flags = zeroFlags(w ^ (ones &* 0x2C)) | zeroFlags(w ^ (ones &* 0x22)) | zeroFlags(w ^ (ones &* 0x0A))
                | zeroFlags(w ^ (ones &* 0x0D))
            if flags != 0 { return i &+ (flags.trailingZeroBitCount &>> 3) }
            i &+= 8
        }
        while i < end {
            let b = base[i]
            if b == 0x2C || b == 0x22 || b == 0x0A || b == 0x0D { return i }
            i &+= 1
        }
        return end
    }

    /// The first byte in 0x30...0x40 (digits, `:;<=>?@`) at or after `from`, or `end`: where
    /// a PII detector could start (digits for numbers, `@` for e-mail, `:` for IPv6).
    @inline(__always)
    static func trigger(_ base: UnsafePointer<UInt8>, from: Int, end: Int) -> Int {
        var i = from
        while i &+ 8 <= end {
            let w = load(base, i)
            let t = w & ~high
            // High bit set iff t >= 0x30, and iff t >= 0x41; no carries cross bytes.
            let flags = (t &+ (ones &* 0x50)) & ~(t &+ (ones &* 0x3F)) & ~w & high
            if flags != 0 { return i &+ (flags.trailingZeroBitCount &>> 3) }
            i &+= 8
        }
        while i < end {
            let b = base[i]
            if b >= 0x30 && b <= 0x40 { return i }
            i &+= 1
        }
        return end
    }

    /// The length of the UTF-8 sequence starting with the non-ASCII byte at `at`: 2...4 when
    /// valid, 0 when invalid, -1 when it runs past `end` (more input needed, unless `final`).
    @inline(__always)
    static func utf8Sequence(_ base: UnsafePointer<UInt8>, at: Int, end: Int, final: Bool) -> Int {
        let lead = base[at]
        let length: Int
        var low: UInt8 = 0x80
        var top: UInt8 = 0xBF
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; low = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: length = 3; top = 0x9F
        case 0xF0: length = 4; low = 0x90
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; top = 0x8F
        default: return 0
        }
        var k = 1
        while k < length {
            if at &+ k >= end { return final ? 0 : -1 }
            let b = base[at &+ k]
            if k == 1 {
                if b < low || b > top { return 0 }
            } else if b & 0xC0 != 0x80 {
                return 0
            }
            k &+= 1
        }
        return length
    }
}
