/// Sizes as people write them: `5GiB`, `64MiB`, `512KiB`, `1.5GB`, `100MB`, `4096`, `10B`.
/// Binary (KiB, MiB, GiB, TiB) and decimal (KB, MB, GB, TB) units; no unit means bytes.
public struct ByteSize: Sendable, Equatable, Hashable, Comparable, CustomStringConvertible {
    public var bytes: Int

    public init(bytes: Int) { self.bytes = bytes }

    public static let units: [(String, Double)] = [
        ("TiB", 1_099_511_627_776), ("GiB", 1_073_741_824), ("MiB", 1_048_576), ("KiB", 1024),
        ("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("KB", 1e3), ("kB", 1e3), ("B", 1),
    ]

    /// Parses a size; nil when the text is not one (the caller builds the message, which
    /// should list `ByteSize.unitNames`).
    public init?(parsing text: String) {
        let trimmed = text.trimmingSpaces()
        var number = trimmed
        var factor = 1.0
        for (unit, value) in Self.units where trimmed.hasSuffix(unit) {
            number = String(trimmed.dropLast(unit.count)).trimmingSpaces()
            factor = value
            break
        }
        guard !number.isEmpty, let value = Double(number.replacingUnderscores()), value.isFinite, value >= 0 else { return nil }
        let bytes = value * factor
        guard bytes < 9.0e18 else { return nil }
        self.bytes = Int(bytes.rounded())
    }

    public static var unitNames: String { "B, KiB, MiB, GiB, TiB, KB, MB, GB, TB (e.g. 64MiB, 5GiB)" }

    public static func < (lhs: ByteSize, rhs: ByteSize) -> Bool { lhs.bytes < rhs.bytes }

    /// Human form with a binary unit, e.g. `1.50 GiB`.
    public var description: String { Self.format(bytes) }

    public static func format(_ bytes: Int) -> String {
        let value = Double(bytes)
        for (unit, factor) in [("TiB", 1_099_511_627_776.0), ("GiB", 1_073_741_824.0), ("MiB", 1_048_576.0), ("KiB", 1024.0)] where value >= factor {
            return formatted(value / factor) + " " + unit
        }
        return "\(bytes) B"
    }

    static func formatted(_ value: Double) -> String {
        let hundredths = Int((value * 100).rounded())
        let fraction = hundredths % 100
        return "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)"
    }
}

extension String {
    func trimmingSpaces() -> String {
        var view = Substring(self)
        while view.first == " " { view = view.dropFirst() }
        while view.last == " " { view = view.dropLast() }
        return String(view)
    }

    func replacingUnderscores() -> String { String(filter { $0 != "_" }) }
}
