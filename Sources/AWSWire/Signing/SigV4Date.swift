import Foundation

/// The two date forms SigV4 uses, computed without `DateFormatter` (which is slow and
/// locale-sensitive): the ISO 8601 basic timestamp `yyyyMMdd'T'HHmmss'Z'` (16 ASCII bytes,
/// `X-Amz-Date`) and its first 8 bytes, the date stamp of the credential scope.
///
/// Always UTC; sub-second precision is truncated.
struct SigV4Date: Sendable, Hashable {
    /// `yyyyMMddTHHmmssZ`, 16 ASCII bytes.
    let timestamp: String
    /// Seconds since 1970-01-01T00:00:00Z (whole seconds).
    let secondsSince1970: Int64

    /// `yyyyMMdd`, the credential-scope date.
    var dateStamp: Substring { self.timestamp.prefix(8) }

    var date: Date { Date(timeIntervalSince1970: TimeInterval(self.secondsSince1970)) }

    init(_ date: Date) {
        let seconds = Int64(date.timeIntervalSince1970.rounded(.down))
        self.secondsSince1970 = seconds
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = seconds - days * 86_400
        let (year, month, day) = Self.civil(fromDays: days)
        var bytes = [UInt8]()
        bytes.reserveCapacity(16)
        Self.appendDigits(year, count: 4, to: &bytes)
        Self.appendDigits(month, count: 2, to: &bytes)
        Self.appendDigits(day, count: 2, to: &bytes)
        bytes.append(UInt8(ascii: "T"))
        Self.appendDigits(secondOfDay / 3600, count: 2, to: &bytes)
        Self.appendDigits(secondOfDay / 60 % 60, count: 2, to: &bytes)
        Self.appendDigits(secondOfDay % 60, count: 2, to: &bytes)
        bytes.append(UInt8(ascii: "Z"))
        self.timestamp = String(decoding: bytes, as: UTF8.self)
    }

    /// Parses `yyyyMMddTHHmmssZ`; nil when the text is not exactly that form or not a real date.
    init?(parsing text: some StringProtocol) {
        let bytes = Array(text.utf8)
        guard bytes.count == 16, bytes[8] == UInt8(ascii: "T"), bytes[15] == UInt8(ascii: "Z") else { return nil }
        func number(_ range: Range<Int>) -> Int64? {
            var value: Int64 = 0
            for index in range {
                let byte = bytes[index]
                guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
                value = value * 10 + Int64(byte - UInt8(ascii: "0"))
            }
            return value
        }
        guard let year = number(0..<4), let month = number(4..<6), let day = number(6..<8),
            let hour = number(9..<11), let minute = number(11..<13), let second = number(13..<15),
            (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61
        else { return nil }
        let days = Self.days(fromCivil: year, month, day)
        // Reject dates such as February 30th, which `days(fromCivil:)` would roll over.
        let roundTrip = Self.civil(fromDays: days)
        guard roundTrip.year == year, roundTrip.month == month, roundTrip.day == day else { return nil }
        self.secondsSince1970 = days * 86_400 + hour * 3600 + minute * 60 + second
        self.timestamp = String(text)
    }

    private static func appendDigits(_ value: Int64, count: Int, to bytes: inout [UInt8]) {
        var divisor: Int64 = 1
        for _ in 1..<count { divisor *= 10 }
        var remaining = value
        while divisor > 0 {
            bytes.append(UInt8(ascii: "0") + UInt8(remaining / divisor % 10))
            remaining %= divisor
            divisor /= 10
        }
    }

    // Howard Hinnant's civil-from-days / days-from-civil (proleptic Gregorian calendar).
    static func civil(fromDays days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    static func days(fromCivil year: Int64, _ month: Int64, _ day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }
}
