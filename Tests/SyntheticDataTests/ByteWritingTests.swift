import Testing
@testable import SyntheticData

@Suite("Digit writers agree with the standard library")
struct ByteWritingTests {
    /// Every power of ten and its neighbours, some random values, and the extremes.
    static let values: [UInt64] = {
        var values: [UInt64] = [0, 1, 9, 10, 11, 99, 100, 101, 12_345, 99_999_999, 100_000_000, UInt64.max, UInt64.max - 1]
        var power: UInt64 = 1
        for _ in 0..<19 {
            power *= 10
            values += [power - 1, power, power + 1]
        }
        var random = CellRandom(state: 7)
        for _ in 0..<2000 {
            let bits = random.next()
            values += [bits, bits >> (bits % 64), bits % 100_000_000]
        }
        return values
    }()

    func written(_ body: (UnsafeMutablePointer<UInt8>) -> Int) -> String {
        let out = UnsafeMutablePointer<UInt8>.allocate(capacity: 64)
        defer { out.deallocate() }
        out.initialize(repeating: 0x58, count: 64)
        return String(decoding: UnsafeBufferPointer(start: out, count: body(out)), as: UTF8.self)
    }

    func padded(_ value: UInt64, _ width: Int) -> String {
        let plain = String(value)
        return String(repeating: "0", count: max(0, width - plain.count)) + plain
    }

    @Test("writeDecimal and writeDecimalWithSlack, with and without width")
    func decimal() {
        for value in Self.values {
            for width in [1, 2, 4, 5, 8] {
                #expect(written { writeDecimal(value, width: width, to: $0) } == padded(value, width), "\(value) width \(width)")
                #expect(written { writeDecimalWithSlack(value, width: width, to: $0) } == padded(value, width), "\(value) width \(width)")
            }
            #expect(decimalDigitCount(value) == (value == 0 ? 0 : String(value).count))
        }
    }

    @Test("writeSigned")
    func signed() {
        for value: Int64 in [0, 1, -1, 42, -42, 99_999_999, -100_000_000, .max, .min] {
            #expect(written { writeSigned(value, to: $0) } == String(value))
        }
    }

    @Test("Fixed-width digits (16, 8 and padded counts)")
    func fixedWidth() {
        for value in Self.values {
            let sixteen = value % 10_000_000_000_000_000
            #expect(written { writeSixteenDigits(sixteen, to: $0); return 16 } == padded(sixteen, 16))
            for count in 1...16 {
                let v = value % powerOfTen(count)
                #expect(written { writeDigitsPadded(v, count: count, to: $0); return count } == padded(v, count))
            }
        }
        for exponent in 0...19 {
            #expect(String(powerOfTen(exponent)) == "1" + String(repeating: "0", count: exponent))
        }
    }

    /// The card and IBAN writers take n digits at once as floor(draw × 10^n / 2^64); the
    /// digits must be those of drawing one digit per multiply by 10 (the original scheme,
    /// which every dataset generated so far used).
    @Test("A draw's leading decimal digits, at once or one by one")
    func digitsOfADraw() {
        var random = CellRandom(state: 11)
        for _ in 0..<5000 {
            let draw = random.next()
            var chunk = draw
            var oneByOne = ""
            for _ in 0..<16 {
                let (high, low) = chunk.multipliedFullWidth(by: 10)
                oneByOne += String(high)
                chunk = low
            }
            for count in 1...16 {
                let atOnce = draw.multipliedFullWidth(by: powerOfTen(count)).high
                #expect(padded(atOnce, count) == String(oneByOne.prefix(count)))
            }
        }
    }
}

@Suite("Calendar arithmetic")
struct CalendarTests {
    @Test("civilFromDays inverts daysFromCivil, before and after 1970")
    func roundTrip() {
        var days = -800_000
        while days <= 800_000 {
            let (year, month, day) = civilFromDays(days)
            #expect((1...12).contains(month) && (1...31).contains(day))
            #expect(daysFromCivil(year: year, month: month, day: day) == days, "day \(days)")
            days += 97
        }
        #expect(civilFromDays(0) == (1970, 1, 1))
        #expect(civilFromDays(-1) == (1969, 12, 31))
        #expect(civilFromDays(11_016) == (2000, 2, 29))
    }

    @Test("Timestamps before and after the epoch")
    func timestamps() {
        let out = UnsafeMutablePointer<UInt8>.allocate(capacity: 64)
        defer { out.deallocate() }
        for (seconds, expected) in [(Int64(0), "1970-01-01T00:00:00Z"), (-1, "1969-12-31T23:59:59Z"),
                                    (951_782_400 + 3_661, "2000-02-29T01:01:01Z"), (-946_771_200, "1940-01-01T00:00:00Z")] {
            let count = writeTimestamp(seconds: seconds, to: out)
            #expect(String(decoding: UnsafeBufferPointer(start: out, count: count), as: UTF8.self) == expected)
        }
    }
}
