import Foundation
import SyntheticData

/// A value of summary.json that a baseline comparison checks, by name:
///
/// - `<latency metric>.<stat>` — `e2e_latency.p95`, `upload_duration.max`; stats `p50`, `p90`,
///   `p95`, `p99`, `p99.9`, `avg`, `max` (seconds; lower is better);
/// - `<rate metric>` — `upload_retry_rate` (the ratio; lower is better);
/// - `throughput.<field>` — `throughput.filesPerSecond`, `throughput.megabytesPerSecond`,
///   `throughput.rowsPerSecond` (higher is better).
package struct BaselineMetric: Sendable, Hashable, CustomStringConvertible {
    package enum Source: Sendable, Hashable {
        case latency(LatencyMetric, LatencyStat)
        case rate(RateMetric)
        case throughput(ThroughputField)
    }

    package enum LatencyStat: String, Sendable, CaseIterable {
        case p50, p90, p95, p99, p999 = "p99.9", avg, max
    }

    package enum ThroughputField: String, Sendable, CaseIterable {
        case filesPerSecond, megabytesPerSecond, rowsPerSecond
    }

    package var source: Source

    package init(_ source: Source) { self.source = source }

    package var description: String {
        switch source {
        case let .latency(metric, stat): return "\(metric.rawValue).\(stat.rawValue)"
        case let .rate(metric): return metric.rawValue
        case let .throughput(field): return "throughput.\(field.rawValue)"
        }
    }

    /// Latencies and rates regress upwards; throughput downwards.
    package var higherIsBetter: Bool {
        if case .throughput = source { return true }
        return false
    }

    package var isLatency: Bool {
        if case .latency = source { return true }
        return false
    }

    package var isRate: Bool {
        if case .rate = source { return true }
        return false
    }

    /// The first component of a name: a latency metric, a rate metric or `throughput`.
    package static var baseNames: [String] {
        LatencyMetric.allCases.map(\.rawValue) + RateMetric.allCases.map(\.rawValue) + ["throughput"]
    }

    /// Why a name is not a comparable metric, with the valid choices.
    package struct NameError: Error, Sendable, Equatable {
        package var message: String
        package var validChoices: [String]
    }

    /// Parses `e2e_latency.p95`, `upload_retry_rate`, `throughput.filesPerSecond`.
    package static func parse(_ name: String) -> Result<BaselineMetric, NameError> {
        let base: Substring
        let rest: Substring?
        if let dot = name.firstIndex(of: ".") {
            base = name[..<dot]
            rest = name[name.index(after: dot)...]
        } else {
            base = name[...]
            rest = nil
        }
        if let latency = LatencyMetric(rawValue: String(base)) {
            let stats = LatencyStat.allCases.map(\.rawValue)
            guard let rest else {
                return .failure(NameError(message: "'\(name)' needs a statistic: \(name).p95, \(name).max, …", validChoices: stats))
            }
            guard let stat = LatencyStat(rawValue: String(rest)) else {
                return .failure(NameError(message: "unknown statistic '\(rest)' of \(base)", validChoices: stats))
            }
            return .success(BaselineMetric(.latency(latency, stat)))
        }
        if let rate = RateMetric(rawValue: String(base)) {
            guard rest == nil || rest == "rate" else {
                return .failure(NameError(message: "a rate is compared by its ratio: write '\(base)'", validChoices: [String(base)]))
            }
            return .success(BaselineMetric(.rate(rate)))
        }
        if base == "throughput" {
            let fields = ThroughputField.allCases.map(\.rawValue)
            guard let rest, let field = ThroughputField(rawValue: String(rest)) else {
                return .failure(NameError(message: rest.map { "unknown throughput field '\($0)'" } ?? "'throughput' needs a field: throughput.filesPerSecond, …", validChoices: fields))
            }
            return .success(BaselineMetric(.throughput(field)))
        }
        var message = "unknown metric '\(name)'"
        if MetricCatalog.kind(of: String(base)) != nil {
            message += " (counters, gauges and the audit are not compared with a baseline; use thresholds)"
        }
        return .failure(NameError(message: message, validChoices: baseNames))
    }

    /// The metric's value in a summary or baseline; nil when it has no samples (an empty
    /// histogram) or is absent from the file.
    package func value(in snapshot: BaselineSnapshot) -> Double? {
        switch source {
        case let .latency(metric, stat):
            guard let stats = snapshot.latencies[metric.rawValue], stats.count > 0 else { return nil }
            switch stat {
            case .p50: return stats.p50
            case .p90: return stats.p90
            case .p95: return stats.p95
            case .p99: return stats.p99
            case .p999: return stats.p999
            case .avg: return stats.avg
            case .max: return stats.max
            }
        case let .rate(metric):
            return snapshot.rates[metric.rawValue]?.rate
        case let .throughput(field):
            guard let throughput = snapshot.throughput else { return nil }
            switch field {
            case .filesPerSecond: return throughput.filesPerSecond
            case .megabytesPerSecond: return throughput.megabytesPerSecond
            case .rowsPerSecond: return throughput.rowsPerSecond
            }
        }
    }

    /// A value with its unit for messages: `1.234s`, `250ms`, `0.0125`, `4.2/s`.
    package func format(_ value: Double) -> String {
        switch source {
        case .latency:
            if value < 1 { return DurationText.trimmed((value * 1e6).rounded() / 1e3) + "ms" }
            return DurationText.trimmed((value * 1e3).rounded() / 1e3) + "s"
        case .rate:
            return DurationText.trimmed((value * 1e6).rounded() / 1e6)
        case let .throughput(field):
            let number = DurationText.trimmed((value * 1e3).rounded() / 1e3)
            switch field {
            case .filesPerSecond: return number + " files/s"
            case .megabytesPerSecond: return number + " MB/s"
            case .rowsPerSecond: return number + " rows/s"
            }
        }
    }
}

/// How much worse than the baseline a metric may get: a factor, an absolute slack, or both —
/// `1.5x`, `1.5x + 2s`, `+ 0.01`. For a lower-is-better metric (latencies, rates) the current
/// value may be at most `baseline × factor + slack`; for throughput at least
/// `baseline ÷ factor − slack`. The slack is in the metric's unit: a duration for latencies
/// (`us`, `ms`, `s`, `m`, `h`; a bare number is milliseconds, as in thresholds), a number or a
/// percentage for rates, a number per second for throughput. It absorbs noise on values too
/// small for a ratio to mean anything (a 0 retry rate, a 20 ms upload).
package struct Tolerance: Sendable, Equatable {
    /// ≥ 1.
    package var factor: Double
    /// ≥ 0, in the metric's unit (seconds for latencies).
    package var slack: Double

    package init(factor: Double = 1, slack: Double = 0) {
        self.factor = factor
        self.slack = slack
    }

    /// The forms an error message shows.
    package static let acceptedForms = "a factor, a slack or both: '1.5x', '2x + 500ms', '+ 0.01' (factor ≥ 1; slack ≥ 0 in the metric's unit: a duration for latencies, a number or % for rates)"

    /// Why a text is not a tolerance; `offset` is the character where the problem is.
    package struct ParseError: Error, Sendable, Equatable {
        package var message: String
        package var offset: Int
    }

    /// Parses a tolerance for `metric`.
    package static func parse(_ text: String, for metric: BaselineMetric) -> Result<Tolerance, ParseError> {
        let characters = Array(text)
        var index = 0
        func skipSpaces() { while index < characters.count, characters[index] == " " { index += 1 } }
        skipSpaces()
        guard index < characters.count else { return .failure(ParseError(message: "empty tolerance; expected \(acceptedForms)", offset: 0)) }
        var tolerance = Tolerance()
        var sawFactor = false
        if characters[index] != "+" {
            let start = index
            while index < characters.count, characters[index] != "+", characters[index] != " " { index += 1 }
            let word = String(characters[start..<index])
            guard word.hasSuffix("x") || word.hasSuffix("X"), let factor = Double(word.dropLast()), factor.isFinite else {
                return .failure(ParseError(message: "invalid factor '\(word)'; expected \(acceptedForms)", offset: start))
            }
            guard factor >= 1 else {
                return .failure(ParseError(message: "a factor is ≥ 1 (how many times worse than the baseline a value may get), found \(word)", offset: start))
            }
            tolerance.factor = factor
            sawFactor = true
            skipSpaces()
        }
        if index < characters.count {
            guard characters[index] == "+" else {
                return .failure(ParseError(message: "expected '+ <slack>' after the factor, found '\(String(characters[index...]))'", offset: index))
            }
            index += 1
            skipSpaces()
            let start = index
            let slackText = String(characters[start...]).trimmingCharacters(in: .whitespaces)
            guard !slackText.isEmpty else { return .failure(ParseError(message: "missing slack after '+'", offset: start)) }
            guard let slack = parseSlack(slackText, for: metric) else {
                let unit: String
                if metric.isLatency {
                    unit = "a duration such as 500ms or 2s (a bare number is milliseconds)"
                } else if metric.isRate {
                    unit = "a ratio such as 0.01 or a percentage such as 1%"
                } else {
                    unit = "a number per second such as 0.5"
                }
                return .failure(ParseError(message: "invalid slack '\(slackText)' for \(metric); expected \(unit), ≥ 0", offset: start))
            }
            tolerance.slack = slack
        } else if !sawFactor {
            return .failure(ParseError(message: "empty tolerance; expected \(acceptedForms)", offset: 0))
        }
        return .success(tolerance)
    }

    static let latencyUnits: [(String, Double)] = [("us", 1e-6), ("µs", 1e-6), ("ms", 1e-3), ("s", 1), ("m", 60), ("h", 3600)]

    static func parseSlack(_ text: String, for metric: BaselineMetric) -> Double? {
        let text = text.replacingOccurrences(of: "_", with: "")
        var value: Double?
        if metric.isLatency {
            if let number = Double(text) {
                value = number / 1000
            } else {
                for (unit, factor) in latencyUnits where text.hasSuffix(unit) {
                    // `ms` ends in `s` too: the number must parse on its own.
                    if let number = Double(text.dropLast(unit.count)) { value = number * factor; break }
                }
            }
        } else if metric.isRate, text.hasSuffix("%"), let number = Double(text.dropLast()) {
            value = number / 100
        } else {
            value = Double(text)
        }
        guard let value, value.isFinite, value >= 0 else { return nil }
        return value
    }

    /// `1.5x + 2s`, `2x`, `+ 0.01` for `metric` (the canonical form, as the resolved scenario writes it).
    package func text(for metric: BaselineMetric) -> String {
        var parts: [String] = []
        if factor != 1 || slack == 0 { parts.append(DurationText.trimmed(factor) + "x") }
        if slack > 0 {
            let slackText: String
            if metric.isLatency {
                slackText = DurationText.format(.secondsValue(slack))
            } else {
                slackText = DurationText.trimmed((slack * 1e9).rounded() / 1e9)
            }
            parts.append("+ " + slackText)
        }
        return parts.joined(separator: " ")
    }

    /// The worst value that still passes against `baseline`.
    package func limit(baseline: Double, higherIsBetter: Bool) -> Double {
        higherIsBetter ? max(0, baseline / factor - slack) : baseline * factor + slack
    }
}

/// One metric to compare and its tolerance, with where it was written.
package struct BaselineTolerance: Sendable, Equatable {
    package var metric: BaselineMetric
    package var tolerance: Tolerance
    /// `file:line:column` of the tolerance, `--tolerance` for the command line, or
    /// `default` for the default set.
    package var location: String

    package init(metric: BaselineMetric, tolerance: Tolerance, location: String = "default") {
        self.metric = metric
        self.tolerance = tolerance
        self.location = location
    }

    /// The set compared when a scenario names a baseline without `tolerances` (and by
    /// `csvstorm compare` without a scenario). Wide on purpose: CI machines are shared and
    /// noisy, and an unchanged build must pass. Latencies get a ratio plus an absolute slack
    /// (small values are mostly noise); rates get a slack (a 0 baseline has no ratio);
    /// throughput a ratio. How they were chosen (ci-regression measurements): results/README.md.
    package static let defaults: [BaselineTolerance] = [
        ("e2e_latency.p50", "1.5x + 1s"),
        ("e2e_latency.p95", "1.5x + 2s"),
        ("e2e_latency.p99", "2x + 2s"),
        ("e2e_latency.max", "2x + 5s"),
        ("upload_duration.p50", "3x + 250ms"),
        ("upload_duration.p95", "3x + 500ms"),
        ("upload_duration.p99", "4x + 1s"),
        ("upload_duration.max", "5x + 2s"),
        ("upload_retry_rate", "2x + 0.01"),
        ("upload_failure_rate", "+ 0.01"),
        ("task_retry_rate", "1.5x + 0.05"),
        ("dead_letter_rate", "+ 0.01"),
        ("throughput.filesPerSecond", "1.25x"),
        ("throughput.megabytesPerSecond", "1.5x"),
    ].map { name, text in
        // The table above is ours and parses; a typo would fail every comparison test.
        let metric = try! BaselineMetric.parse(name).get()
        return BaselineTolerance(metric: metric, tolerance: try! Tolerance.parse(text, for: metric).get())
    }

    /// A command-line override: `METRIC=TOLERANCE` (or `METRIC=off` to drop a metric, which
    /// answers a nil tolerance).
    package static func parseOverride(_ text: String) throws(ConfigError) -> (metric: BaselineMetric, tolerance: Tolerance?) {
        guard let equals = text.firstIndex(of: "=") else {
            throw ConfigError(file: "--tolerance", message: "expected METRIC=TOLERANCE (e.g. e2e_latency.p95=1.5x+2s or upload_retry_rate=off), found '\(text)'")
        }
        let name = String(text[..<equals]).trimmingCharacters(in: .whitespaces)
        let value = String(text[text.index(after: equals)...]).trimmingCharacters(in: .whitespaces)
        let metric: BaselineMetric
        switch BaselineMetric.parse(name) {
        case let .success(parsed): metric = parsed
        case let .failure(error): throw ConfigError(file: "--tolerance", message: "\(text): \(error.message)", validChoices: error.validChoices)
        }
        if value == "off" { return (metric, nil) }
        switch Tolerance.parse(value, for: metric) {
        case let .success(tolerance): return (metric, tolerance)
        case let .failure(error): throw ConfigError(file: "--tolerance", message: "\(text): \(error.message)")
        }
    }

    /// `base` with command-line overrides applied in order: a metric already in the list gets
    /// the new tolerance, a new one is appended, `off` removes it.
    package static func applying(_ overrides: [(metric: BaselineMetric, tolerance: Tolerance?)], to base: [BaselineTolerance]) -> [BaselineTolerance] {
        var result = base
        for override in overrides {
            if let tolerance = override.tolerance {
                let entry = BaselineTolerance(metric: override.metric, tolerance: tolerance, location: "--tolerance")
                if let index = result.firstIndex(where: { $0.metric == override.metric }) { result[index] = entry } else { result.append(entry) }
            } else {
                result.removeAll { $0.metric == override.metric }
            }
        }
        return result
    }
}
