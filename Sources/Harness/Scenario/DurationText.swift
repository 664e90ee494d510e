/// Durations as scenario files write them: `250ms`, `30s`, `1.5s`, `2m`, `1h`, `1h30m`, `1d`.
/// A number needs a unit; components add up (`1m30s`). Formatting gives the shortest exact form.
package enum DurationText {
    /// The forms an error message shows.
    package static let acceptedForms = "a number with a unit: ms, s, m, h, d (e.g. 250ms, 30s, 1.5s, 2m, 1h30m)"

    private static let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86_400)]

    /// Parses a duration; nil when the text is not one.
    package static func parse(_ text: String) -> Duration? {
        var rest = Substring(text.filter { $0 != " " && $0 != "_" })
        guard !rest.isEmpty else { return nil }
        var totalMilliseconds = 0.0
        while !rest.isEmpty {
            let number = rest.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
            guard !number.isEmpty, let value = Double(number), value.isFinite else { return nil }
            rest = rest.dropFirst(number.count)
            let unitText = rest.prefix { $0.isASCII && $0.isLetter }
            guard let unit = units.first(where: { $0.0 == unitText }) else { return nil }
            rest = rest.dropFirst(unitText.count)
            totalMilliseconds += value * unit.1 * 1000
        }
        guard totalMilliseconds < 9.0e15 else { return nil }
        return .microseconds(Int64((totalMilliseconds * 1000).rounded()))
    }

    /// The shortest exact form: `0s`, `250ms`, `1.5s`, `90s` → `1m30s`, `2h`.
    package static func format(_ duration: Duration) -> String {
        let microseconds = duration.microseconds
        if microseconds == 0 { return "0s" }
        if microseconds < 0 { return "-" + format(.microseconds(-microseconds)) }
        if microseconds % 1_000_000 != 0 {
            if microseconds < 1_000_000, microseconds % 1000 == 0 { return "\(microseconds / 1000)ms" }
            return trimmed(Double(microseconds) / 1e6) + "s"
        }
        var seconds = microseconds / 1_000_000
        var text = ""
        for (unit, size) in [("d", Int64(86_400)), ("h", 3600), ("m", 60)] where seconds >= size {
            text += "\(seconds / size)\(unit)"
            seconds %= size
        }
        if seconds > 0 || text.isEmpty { text += "\(seconds)s" }
        return text
    }

    static func trimmed(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        var text = String(value)
        if text.contains("e") { return text }
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
        return text
    }
}

extension Duration {
    /// Whole microseconds (truncated).
    package var microseconds: Int64 {
        let (seconds, attoseconds) = self.components
        return seconds * 1_000_000 + attoseconds / 1_000_000_000_000
    }

    /// Seconds as a `Double`.
    package var secondsValue: Double {
        let (seconds, attoseconds) = self.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }

    /// A duration from seconds (rounded to microseconds).
    package static func secondsValue(_ seconds: Double) -> Duration {
        .microseconds(Int64((seconds * 1e6).rounded()))
    }
}

/// An arrival rate: `5/s`, `300/m`, `2/h`, `0.5/s`, `10/1s`, `30/10s`.
package struct ArrivalRate: Sendable, Hashable, CustomStringConvertible {
    package var perSecond: Double

    package init(perSecond: Double) { self.perSecond = perSecond }

    package static let acceptedForms = "a count per time unit: N/s, N/m, N/h or N/<duration> (e.g. 5/s, 300/m, 30/10s)"

    package init?(parsing text: String) {
        let parts = text.filter { $0 != " " && $0 != "_" }.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let count = Double(parts[0]), count.isFinite, count >= 0 else { return nil }
        let per = String(parts[1])
        let seconds: Double
        switch per {
        case "s": seconds = 1
        case "m", "min": seconds = 60
        case "h": seconds = 3600
        default:
            guard let duration = DurationText.parse(per), duration > .zero else { return nil }
            seconds = duration.secondsValue
        }
        self.perSecond = count / seconds
    }

    /// `5/s`, or `300/m` style when the per-second value is not a round number but the per-minute one is.
    package var description: String {
        if perSecond == perSecond.rounded() || perSecond >= 1 { return DurationText.trimmed(perSecond) + "/s" }
        let perMinute = perSecond * 60
        if abs(perMinute - perMinute.rounded()) < 1e-9 { return DurationText.trimmed(perMinute.rounded()) + "/m" }
        let perHour = perSecond * 3600
        if abs(perHour - perHour.rounded()) < 1e-9 { return DurationText.trimmed(perHour.rounded()) + "/h" }
        return DurationText.trimmed(perSecond) + "/s"
    }
}
