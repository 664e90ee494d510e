/// One PII value found in text: `[start, end)` relative to the scanned base.
package struct PIIFinding: Sendable, Equatable {
    package var start: Int
    package var end: Int
    package var kind: RedactionKind
}

/// Hand-written detectors for PII embedded in free text, with the rules real scanners use:
/// - cards: 13–19 digits, optionally in groups separated by single spaces or dashes, with a
///   known issuer prefix (IIN) and a valid Luhn check digit;
/// - IBANs: two letters, two digits, 11–30 letters or digits (optionally in print form,
///   groups of four), valid ISO 13616 mod 97;
/// - US SSNs `ddd-dd-dddd` (areas 000 and 666, group 00 and serial 0000 excluded; 9xx kept);
/// - e-mail addresses (`local@domain.tld`);
/// - North American phone numbers: `(212) 555-0147`, `212-555-0147`, `212.555.0147`,
///   `+1 212-555-0147` (area and exchange start with 2–9);
/// - IPv4 dotted quads (octets 0–255, no leading zeros) and full or `::`-compressed IPv6.
///
/// No regular expressions: a word-at-a-time search for trigger bytes (digits, `@`, `:`), then
/// a small parser at each trigger. Values must stand alone (no letter or digit glued to them),
/// so dates, timestamps, decimals and ids are left alone.
package struct PIIScanner: Sendable {
    private let email: Bool
    private let phone: Bool
    private let ssn: Bool
    private let card: Bool
    private let iban: Bool
    private let ipv4: Bool
    private let ipv6: Bool

    package init(detectors: Set<RedactionKind> = Set(RedactionKind.allCases)) {
        email = detectors.contains(.email)
        phone = detectors.contains(.phone)
        ssn = detectors.contains(.ssn)
        card = detectors.contains(.card)
        iban = detectors.contains(.iban)
        ipv4 = detectors.contains(.ipv4)
        ipv6 = detectors.contains(.ipv6)
    }

    /// The first finding in `[from, end)`. Detectors look back no further than `floor` (the
    /// start of the text, or the end of the previous finding).
    @inline(__always)
    package func next(in base: UnsafePointer<UInt8>, from: Int, floor: Int, end: Int) -> PIIFinding? {
        var i = from
        while true {
            i = ByteScan.trigger(base, from: i, end: end)
            if i >= end { return nil }
            let b = base[i]
            if b <= 0x39 {
                if i > floor && isDigit(base[i &- 1]) {
                    i &+= 1
                    continue
                }
                if let found = numeric(base, at: i, floor: floor, end: end) { return found }
                i &+= 1
                while i < end && isDigit(base[i]) { i &+= 1 }
                continue
            }
            if b == 0x40 && email, let found = emailAddress(base, at: i, floor: floor, end: end) { return found }
            if b == 0x3A && ipv6, let found = ipv6Address(base, at: i, floor: floor, end: end) { return found }
            i &+= 1
        }
    }

    /// All findings in `text` (for tests and tools).
    package func findings(in text: [UInt8]) -> [PIIFinding] {
        text.withUnsafeBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return [] }
            var result: [PIIFinding] = []
            var at = 0
            while let found = next(in: base, from: at, floor: at, end: buffer.count) {
                result.append(found)
                at = found.end
            }
            return result
        }
    }

    // MARK: Numbers

    /// At the first digit of a digit run.
    @inline(__always)
    private func numeric(_ base: UnsafePointer<UInt8>, at i: Int, floor: Int, end: Int) -> PIIFinding? {
        let prev: UInt8 = i > floor ? base[i &- 1] : 0x20
        if isAlpha(prev) {
            // Only an IBAN starts with letters.
            if iban && isUpper(prev) && i &- 2 >= floor && isUpper(base[i &- 2]) && (i &- 3 < floor || !isAlnum(base[i &- 3])) {
                return ibanNumber(base, at: i &- 2, end: end)
            }
            return nil
        }
        // The fraction of a decimal, the next part of a dotted or dashed number.
        if (prev == 0x2E || prev == 0x2D) && i &- 2 >= floor && isDigit(base[i &- 2]) { return nil }
        var n = 0
        while i &+ n < end && isDigit(base[i &+ n]) && n < 20 { n &+= 1 }
        let j = i &+ n
        let next: UInt8 = j < end ? base[j] : 0x20
        if n <= 3 && next == 0x2E && ipv4 && prev != 0x2E, let found = ipv4Address(base, at: i, end: end) { return found }
        if phone {
            if prev == 0x28 && n == 3 && next == 0x29 {
                if let found = phoneNumber(base, at: i &- 1, floor: floor, end: end) { return found }
            } else if prev == 0x2B && n == 1 && base[i] == 0x31 {
                if let found = phoneNumber(base, at: i &- 1, floor: floor, end: end) { return found }
            }
        }
        if n == 3 && (next == 0x2D || next == 0x2E || next == 0x20) {
            if ssn && next == 0x2D, let found = ssnNumber(base, at: i, end: end) { return found }
            if phone, let found = phoneNumber(base, at: i, floor: floor, end: end) { return found }
        }
        // Ungrouped, or grouped like scanners expect: a first group of four, then three or more
        // digits (4-4-4-4, 4-6-5, 4-6-4). Dates (2023-09-12) fail this at once.
        if card && (n >= 13 || (n == 4 && (next == 0x20 || next == 0x2D) && digits(base, j &+ 1, 3, end))) {
            return cardNumber(base, at: i, end: end)
        }
        return nil
    }

    /// Whether a value ending at `j` stands alone: no letter or digit next, and not the start
    /// of a further dotted or dashed number part.
    @inline(__always)
    private func endsCleanly(_ base: UnsafePointer<UInt8>, _ j: Int, _ end: Int) -> Bool {
        if j >= end { return true }
        let b = base[j]
        if isAlnum(b) { return false }
        if (b == 0x2E || b == 0x2D) && j &+ 1 < end && isDigit(base[j &+ 1]) { return false }
        return true
    }

    @inline(__always)
    private func digits(_ base: UnsafePointer<UInt8>, _ at: Int, _ count: Int, _ end: Int) -> Bool {
        guard at &+ count <= end else { return false }
        for k in 0..<count where !isDigit(base[at &+ k]) { return false }
        return true
    }

    @inline(__always)
    private func value(_ base: UnsafePointer<UInt8>, _ at: Int, _ count: Int) -> Int {
        var v = 0
        for k in 0..<count { v = v &* 10 &+ Int(base[at &+ k] &- 0x30) }
        return v
    }

    private func ssnNumber(_ base: UnsafePointer<UInt8>, at i: Int, end: Int) -> PIIFinding? {
        guard i &+ 11 <= end, base[i &+ 3] == 0x2D, digits(base, i &+ 4, 2, end), base[i &+ 6] == 0x2D,
              digits(base, i &+ 7, 4, end), endsCleanly(base, i &+ 11, end) else { return nil }
        let area = value(base, i, 3)
        guard area != 0, area != 666, value(base, i &+ 4, 2) != 0, value(base, i &+ 7, 4) != 0 else { return nil }
        return PIIFinding(start: i, end: i &+ 11, kind: .ssn)
    }

    /// `s` is at `(`, `+` or the first digit of the area code.
    private func phoneNumber(_ base: UnsafePointer<UInt8>, at s: Int, floor: Int, end: Int) -> PIIFinding? {
        if s > floor && isAlnum(base[s &- 1]) { return nil }
        var k = s
        if base[k] == 0x2B {
            guard k &+ 2 < end, base[k &+ 1] == 0x31, base[k &+ 2] == 0x20 || base[k &+ 2] == 0x2D else { return nil }
            k &+= 3
        }
        guard k < end else { return nil }
        let area: Int
        var separator: UInt8
        let parenthesized = base[k] == 0x28
        if parenthesized {
            guard digits(base, k &+ 1, 3, end), k &+ 4 < end, base[k &+ 4] == 0x29 else { return nil }
            area = k &+ 1
            k &+= 5
            if k < end && base[k] == 0x20 { k &+= 1 }
            separator = 0x2D
        } else {
            guard digits(base, k, 3, end), k &+ 3 < end else { return nil }
            area = k
            separator = base[k &+ 3]
            guard separator == 0x2D || separator == 0x2E || separator == 0x20 else { return nil }
            k &+= 4
        }
        guard digits(base, k, 3, end), k &+ 3 < end else { return nil }
        let exchange = k
        let between = base[k &+ 3]
        if parenthesized {
            guard between == 0x2D || between == 0x2E || between == 0x20 else { return nil }
        } else {
            guard between == separator else { return nil }
        }
        k &+= 4
        guard digits(base, k, 4, end), endsCleanly(base, k &+ 4, end) else { return nil }
        // NANP: area code and exchange start with 2–9.
        guard base[area] >= 0x32, base[exchange] >= 0x32 else { return nil }
        return PIIFinding(start: s, end: k &+ 4, kind: .phone)
    }

    private func ipv4Address(_ base: UnsafePointer<UInt8>, at i: Int, end: Int) -> PIIFinding? {
        var k = i
        for octet in 0..<4 {
            if octet > 0 {
                guard k < end, base[k] == 0x2E else { return nil }
                k &+= 1
            }
            var n = 0
            var v = 0
            while k &+ n < end && isDigit(base[k &+ n]) && n < 4 {
                v = v &* 10 &+ Int(base[k &+ n] &- 0x30)
                n &+= 1
            }
            guard n >= 1, n <= 3, v <= 255, n == 1 || base[k] != 0x30 else { return nil }
            k &+= n
        }
        guard endsCleanly(base, k, end) else { return nil }
        return PIIFinding(start: i, end: k, kind: .ipv4)
    }

    /// Digits in groups separated by single spaces or dashes; the longest prefix that ends at
    /// a group boundary, has 13–19 digits, a known IIN and a valid Luhn digit.
    private func cardNumber(_ base: UnsafePointer<UInt8>, at i: Int, end: Int) -> PIIFinding? {
        // Up to 19 digits, 4 bits each.
        var low: UInt64 = 0
        var highDigits: UInt64 = 0
        var count = 0
        var groupEnds: UInt32 = 0 // bit d: a group ends after d digits, at a clean boundary
        var k = i
        while true {
            var run = 0
            while k < end && isDigit(base[k]) {
                if count < 16 {
                    low |= UInt64(base[k] &- 0x30) << (4 &* UInt64(count))
                } else if count < 32 {
                    highDigits |= UInt64(base[k] &- 0x30) << (4 &* UInt64(count &- 16))
                }
                count &+= 1
                run &+= 1
                k &+= 1
            }
            if count > 19 { break }
            let continues = k &+ 1 < end && (base[k] == 0x20 || base[k] == 0x2D) && isDigit(base[k &+ 1])
            if count >= 13 && (continues || endsCleanly(base, k, end)) { groupEnds |= 1 << UInt32(count) }
            if !continues { break }
            k &+= 1
        }
        guard groupEnds != 0 else { return nil }
        @inline(__always) func digit(_ d: Int) -> Int {
            Int(truncatingIfNeeded: (d < 16 ? low >> (4 &* UInt64(d)) : highDigits >> (4 &* UInt64(d &- 16))) & 0xF)
        }
        var length = 19
        while length >= 13 {
            defer { length &-= 1 }
            guard groupEnds & (1 << UInt32(length)) != 0 else { continue }
            guard knownIIN(digit(0), digit(1), digit(2), digit(3), length: length) else { continue }
            var sum = 0
            var double = false
            var d = length &- 1
            while d >= 0 {
                var v = digit(d)
                if double {
                    v &*= 2
                    if v > 9 { v &-= 9 }
                }
                sum &+= v
                double.toggle()
                d &-= 1
            }
            guard sum % 10 == 0 else { continue }
            // Where the `length`-th digit ends.
            var seen = 0
            var e = i
            while seen < length {
                if isDigit(base[e]) { seen &+= 1 }
                e &+= 1
            }
            return PIIFinding(start: i, end: e, kind: .card)
        }
        return nil
    }

    /// Issuer prefixes of the major networks, with their lengths.
    @inline(__always)
    private func knownIIN(_ d0: Int, _ d1: Int, _ d2: Int, _ d3: Int, length: Int) -> Bool {
        let two = d0 &* 10 &+ d1
        let three = two &* 10 &+ d2
        let four = three &* 10 &+ d3
        switch d0 {
        case 4: return length == 13 || length == 16 || length == 19 // Visa
        case 5:
            if two >= 51 && two <= 55 { return length == 16 } // Mastercard
            return length >= 13 // Maestro 50, 56–58
        case 2: return four >= 2221 && four <= 2720 && length == 16 // Mastercard 2-series
        case 3:
            if two == 34 || two == 37 { return length == 15 } // Amex
            if four >= 3528 && four <= 3589 { return length >= 16 } // JCB
            if two == 36 || two == 38 || two == 39 || (three >= 300 && three <= 305) { return length >= 14 } // Diners
            return false
        case 6:
            if four == 6011 || two == 65 || (three >= 644 && three <= 649) { return length >= 16 } // Discover
            if two == 62 { return length >= 16 } // UnionPay
            return length >= 13 // Maestro 6x
        default: return false
        }
    }

    /// `s` is at the two country letters.
    private func ibanNumber(_ base: UnsafePointer<UInt8>, at s: Int, end: Int) -> PIIFinding? {
        guard digits(base, s &+ 2, 2, end) else { return nil }
        // Compact form: letters and digits up to 34; print form: groups of four, single spaces,
        // tried from the longest (a word after the number can look like one more group).
        var k = s &+ 4
        var chars = 4
        if k &+ 1 < end && base[k] == 0x20 && isUpperOrDigit(base[k &+ 1]) {
            while k &+ 1 < end && base[k] == 0x20 && isUpperOrDigit(base[k &+ 1]) && chars < 34 {
                var group = 0
                var g = k &+ 1
                while g < end && isUpperOrDigit(base[g]) && group < 5 {
                    group &+= 1
                    g &+= 1
                }
                guard group <= 4 else { break }
                chars &+= group
                k = g
                if group < 4 { break }
            }
            var e = k
            while e > s &+ 4 {
                if endsCleanly(base, e, end) || base[e] == 0x20, ibanChecksumValid(base, s, e) {
                    return PIIFinding(start: s, end: e, kind: .iban)
                }
                // Drop the last group.
                repeat { e &-= 1 } while e > s &+ 4 && base[e] != 0x20
            }
            return nil
        }
        while k < end && isUpperOrDigit(base[k]) && chars < 35 {
            chars &+= 1
            k &+= 1
        }
        guard chars <= 34, endsCleanly(base, k, end), ibanChecksumValid(base, s, k) else { return nil }
        return PIIFinding(start: s, end: k, kind: .iban)
    }

    private func ibanChecksumValid(_ base: UnsafePointer<UInt8>, _ s: Int, _ e: Int) -> Bool {
        var remainder = 0
        var chars = 0
        @inline(__always) func feed(_ b: UInt8) {
            if b >= 0x41 {
                remainder = (remainder &* 100 &+ Int(b &- 55)) % 97
            } else {
                remainder = (remainder &* 10 &+ Int(b &- 0x30)) % 97
            }
        }
        var k = s &+ 4
        while k < e {
            let b = base[k]
            if b != 0x20 {
                feed(b)
                chars &+= 1
            }
            k &+= 1
        }
        guard chars >= 11, chars <= 30 else { return false }
        for k in s..<(s &+ 4) { feed(base[k]) }
        return remainder == 1
    }

    // MARK: E-mail, IPv6

    /// `a` is at `@`.
    private func emailAddress(_ base: UnsafePointer<UInt8>, at a: Int, floor: Int, end: Int) -> PIIFinding? {
        var l = a
        while l > floor && isLocal(base[l &- 1]) { l &-= 1 }
        while l < a && base[l] == 0x2E { l &+= 1 }
        guard l < a else { return nil }
        var r = a &+ 1
        while r < end && (isAlnum(base[r]) || base[r] == 0x2E || base[r] == 0x2D) { r &+= 1 }
        while r > a &+ 1 && (base[r &- 1] == 0x2E || base[r &- 1] == 0x2D) { r &-= 1 }
        guard r > a &+ 1, isAlnum(base[a &+ 1]) else { return nil }
        // The top-level domain: two or more letters after the last dot.
        var dot = r &- 1
        while dot > a && base[dot] != 0x2E { dot &-= 1 }
        guard dot > a &+ 1, r &- dot > 2 else { return nil }
        for k in (dot &+ 1)..<r where !isAlpha(base[k]) { return nil }
        return PIIFinding(start: l, end: r, kind: .email)
    }

    /// `c` is at a colon: the hex-and-colon run around it, if it is an IPv6 address with
    /// eight groups, or fewer and one `::`.
    private func ipv6Address(_ base: UnsafePointer<UInt8>, at c: Int, floor: Int, end: Int) -> PIIFinding? {
        var s = c
        while s > floor && (isHex(base[s &- 1]) || base[s &- 1] == 0x3A) { s &-= 1 }
        if s > floor && (isAlnum(base[s &- 1]) || base[s &- 1] == 0x2E) { return nil }
        var e = c &+ 1
        while e < end && (isHex(base[e]) || base[e] == 0x3A) { e &+= 1 }
        if e < end && (isAlnum(base[e]) || base[e] == 0x2E) { return nil }
        guard e &- s <= 39 else { return nil }
        var groups = 0
        var groupLength = 0
        var longest = 0
        var compressed = false
        var k = s
        while k < e {
            if base[k] == 0x3A {
                if k &+ 1 < e && base[k &+ 1] == 0x3A {
                    if compressed { return nil }
                    compressed = true
                    if groupLength > 0 { groups &+= 1 }
                    groupLength = 0
                    k &+= 2
                    continue
                }
                // A single colon ends a group, which must not be empty.
                guard groupLength > 0 else { return nil }
                groups &+= 1
                groupLength = 0
                k &+= 1
                guard k < e, base[k] != 0x3A || (k &+ 1 < e && base[k &+ 1] == 0x3A) else { return nil }
                continue
            }
            groupLength &+= 1
            guard groupLength <= 4 else { return nil }
            longest = max(longest, groupLength)
            k &+= 1
        }
        if groupLength > 0 { groups &+= 1 }
        // Compressed: at least two groups, one of them 3–4 digits long (`fe80::1`, not `1::2`).
        guard compressed ? (groups >= 2 && groups <= 7 && longest >= 3) : groups == 8 else { return nil }
        return PIIFinding(start: s, end: e, kind: .ipv6)
    }
}

@inline(__always) func isDigit(_ b: UInt8) -> Bool { b &- 0x30 < 10 }
@inline(__always) func isUpper(_ b: UInt8) -> Bool { b &- 0x41 < 26 }
@inline(__always) func isAlpha(_ b: UInt8) -> Bool { (b | 0x20) &- 0x61 < 26 }
@inline(__always) func isAlnum(_ b: UInt8) -> Bool { isDigit(b) || isAlpha(b) }
@inline(__always) func isUpperOrDigit(_ b: UInt8) -> Bool { isDigit(b) || isUpper(b) }
@inline(__always) func isHex(_ b: UInt8) -> Bool { isDigit(b) || (b | 0x20) &- 0x61 < 6 }
/// Characters of an e-mail local part (the common, unquoted subset).
@inline(__always) func isLocal(_ b: UInt8) -> Bool {
    isAlnum(b) || b == 0x2E || b == 0x5F || b == 0x25 || b == 0x2B || b == 0x2D
}
