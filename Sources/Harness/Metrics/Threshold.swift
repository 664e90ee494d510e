import Foundation
import Histogram
import SyntheticData
import Yams

/// A k6-style pass/fail criterion on one metric: `e2e_latency: p(95) < 30s`,
/// `upload_retry_rate: rate < 0.01`, `audit: lost == 0`.
///
/// Aggregations by metric kind: latency `p(N)`, `avg`, `min`, `max`, `med`, `count`; counter
/// `count`, `rate` (per second over the run); rate `rate` (the ratio), `count` (its numerator);
/// gauge `value` (last), `min`, `max`; audit: a class name (its count). Latency values take a
/// unit `us`, `ms`, `s`, `m`, `h` (a bare number is milliseconds, as in k6); a rate may be
/// written as a percentage (`rate < 1%`); byte metrics (`bytes_uploaded`, `harness_rss_bytes`)
/// take a size (`max < 1GiB`). Operators `<`, `<=`, `>`, `>=`, `==`, `!=`.
package struct Threshold: Sendable, Equatable {
    package var metric: String
    package var kind: MetricKind
    package var aggregation: Aggregation
    package var comparison: Comparison
    /// Seconds for latency metrics; the plain number otherwise (a ratio for rates).
    package var value: Double
    /// The expression as written.
    package var expression: String
    package var file: String
    package var line: Int?
    package var column: Int?

    package enum Aggregation: Sendable, Hashable, CustomStringConvertible {
        case percentile(Double)
        case avg, min, max, med, count, rate, value
        case audit(AuditClass)

        package var description: String {
            switch self {
            case let .percentile(p): return "p(\(DurationText.trimmed(p)))"
            case .avg: return "avg"
            case .min: return "min"
            case .max: return "max"
            case .med: return "med"
            case .count: return "count"
            case .rate: return "rate"
            case .value: return "value"
            case let .audit(auditClass): return auditClass.rawValue
            }
        }
    }

    package enum Comparison: String, Sendable, CaseIterable {
        case less = "<", lessOrEqual = "<=", greater = ">", greaterOrEqual = ">=", equal = "==", notEqual = "!="

        package func holds(_ lhs: Double, _ rhs: Double) -> Bool {
            switch self {
            case .less: return lhs < rhs
            case .lessOrEqual: return lhs <= rhs
            case .greater: return lhs > rhs
            case .greaterOrEqual: return lhs >= rhs
            case .equal: return lhs == rhs
            case .notEqual: return lhs != rhs
            }
        }
    }

    /// `file:line:column: metric: expression` for reports.
    package var location: String {
        var text = file
        if let line { text += ":\(line)" }
        if let column { text += ":\(column)" }
        return text
    }

    /// `e2e_latency p(95) < 30s`: a stable name for reports and JUnit test cases.
    package var name: String { "\(metric): \(expression)" }
}

// MARK: - Parsing

extension Threshold {
    static let latencyUnits: [(String, Double)] = [("us", 1e-6), ("µs", 1e-6), ("ms", 1e-3), ("s", 1), ("m", 60), ("h", 3600)]
    static let acceptedValueForms = "a number; latencies take a unit us, ms, s, m, h (bare = ms); rates may use %; byte metrics a size (e.g. 30s, 250ms, 0.01, 1%, 1GiB)"

    /// Parses one expression for `metric`. `line`/`column` point at the expression's first
    /// character; errors point into it.
    package static func parse(expression: String, metric: String, file: String, line: Int?, column: Int?) throws(ConfigError) -> Threshold {
        func fail(_ message: String, at offset: Int = 0, choices: [String] = []) -> ConfigError {
            ConfigError(file: file, line: line, column: column.map { $0 + offset }, message: "thresholds.\(metric): \(message)", validChoices: choices)
        }
        guard let kind = MetricCatalog.kind(of: metric) else {
            throw fail("unknown metric '\(metric)'", choices: MetricCatalog.allNames)
        }
        let characters = Array(expression)
        var index = 0
        func skipSpaces() { while index < characters.count, characters[index] == " " { index += 1 } }

        // Aggregation: a word, optionally with a parenthesised argument.
        skipSpaces()
        let aggregationStart = index
        while index < characters.count, characters[index].isLetter || characters[index] == "_" || characters[index].isNumber { index += 1 }
        var word = String(characters[aggregationStart..<index])
        var argument: String?
        if index < characters.count, characters[index] == "(" {
            let open = index
            guard let close = characters[open...].firstIndex(of: ")") else {
                throw fail("'(' without ')' in '\(expression)'", at: open)
            }
            argument = String(characters[(open + 1)..<close]).filter { $0 != " " }
            index = close + 1
            word += "(…)"
        }
        guard !word.isEmpty else {
            throw fail("expected '<aggregation> <operator> <value>', found '\(expression)'", at: aggregationStart, choices: kind.aggregationNames)
        }
        let aggregation: Aggregation
        switch (kind, word) {
        case (.latency, "p(…)"):
            guard let argument, let p = Double(argument), p > 0, p <= 100 else {
                throw fail("p(N) needs a percentile 0 < N ≤ 100, found 'p(\(argument ?? ""))'", at: aggregationStart)
            }
            aggregation = .percentile(p)
        case (.latency, "avg"): aggregation = .avg
        case (.latency, "min"), (.gauge, "min"): aggregation = .min
        case (.latency, "max"), (.gauge, "max"): aggregation = .max
        case (.latency, "med"): aggregation = .med
        case (.latency, "count"), (.counter, "count"), (.rate, "count"): aggregation = .count
        case (.counter, "rate"), (.rate, "rate"): aggregation = .rate
        case (.gauge, "value"): aggregation = .value
        case (.audit, _):
            guard let auditClass = AuditClass(rawValue: word) else {
                throw fail("unknown audit class '\(word)'", at: aggregationStart, choices: kind.aggregationNames)
            }
            aggregation = .audit(auditClass)
        default:
            let written = word.replacingOccurrences(of: "(…)", with: "(\(argument ?? ""))")
            throw fail("'\(written)' is not an aggregation of \(metric) (a \(kind.rawValue) metric)", at: aggregationStart, choices: kind.aggregationNames)
        }

        // Operator.
        skipSpaces()
        let operatorStart = index
        while index < characters.count, "<>=!".contains(characters[index]) { index += 1 }
        let operatorText = String(characters[operatorStart..<index])
        guard let comparison = Comparison(rawValue: operatorText) else {
            throw fail(operatorText.isEmpty ? "missing operator after '\(aggregation)'" : "unknown operator '\(operatorText)'", at: operatorStart, choices: Comparison.allCases.map(\.rawValue))
        }

        // Value.
        skipSpaces()
        let valueStart = index
        let valueText = String(characters[valueStart...]).trimmingCharacters(in: .whitespaces)
        guard let value = parseValue(valueText, metric: metric, kind: kind, aggregation: aggregation) else {
            throw fail(valueText.isEmpty ? "missing value after '\(operatorText)'" : "invalid value '\(valueText)'; expected \(acceptedValueForms)", at: valueStart)
        }
        return Threshold(metric: metric, kind: kind, aggregation: aggregation, comparison: comparison, value: value, expression: expression.trimmingCharacters(in: .whitespaces), file: file, line: line, column: column)
    }

    /// Metrics counted in bytes: their values may carry a size unit (`max < 1GiB`).
    static let byteMetrics: Set<String> = [CounterMetric.bytesUploaded.rawValue, GaugeMetric.harnessRSSBytes.rawValue]

    static func parseValue(_ text: String, metric: String, kind: MetricKind, aggregation: Aggregation) -> Double? {
        let text = text.replacingOccurrences(of: "_", with: "")
        guard !text.isEmpty else { return nil }
        let takesTime: Bool
        switch aggregation {
        case .percentile, .avg, .med: takesTime = true
        case .min, .max: takesTime = kind == .latency
        default: takesTime = false
        }
        if takesTime {
            if let number = Double(text), number.isFinite { return number / 1000 }
            for (unit, factor) in latencyUnits where text.hasSuffix(unit) {
                let number = text.dropLast(unit.count)
                // `ms` ends in `s` too: the number must parse on its own.
                if let value = Double(number), value.isFinite { return value * factor }
            }
            return nil
        }
        if byteMetrics.contains(metric), aggregation != .rate, Double(text) == nil, let size = ByteSize(parsing: text) {
            return Double(size.bytes)
        }
        if kind == .rate, aggregation == .rate, text.hasSuffix("%"), let value = Double(text.dropLast()), value.isFinite {
            return value / 100
        }
        guard let value = Double(text), value.isFinite else { return nil }
        return value
    }

    /// Parses the `thresholds:` section: a mapping from metric name to one expression or a list.
    package static func parseSection(_ node: YAMLNode) throws(ConfigError) -> [Threshold] {
        var result: [Threshold] = []
        for entry in try node.mappingEntries() {
            guard MetricCatalog.kind(of: entry.key) != nil else {
                throw entry.keyNode.error("unknown metric '\(entry.key)'", validChoices: MetricCatalog.allNames)
            }
            let items: [YAMLNode]
            if case .scalar = entry.value.node { items = [entry.value] } else { items = try entry.value.sequence() }
            if items.isEmpty { throw entry.value.error("expected at least one expression, e.g. \(example(for: entry.key))") }
            for item in items {
                let text = try item.string()
                var column = item.column
                if case let .scalar(scalar) = item.node, scalar.style == Node.Scalar.Style.singleQuoted || scalar.style == Node.Scalar.Style.doubleQuoted {
                    column = column.map { $0 + 1 }
                }
                result.append(try parse(expression: text, metric: entry.key, file: node.file, line: item.line, column: column))
            }
        }
        return result
    }

    static func example(for metric: String) -> String {
        switch MetricCatalog.kind(of: metric) {
        case .latency: return "[\"p(95) < 30s\"]"
        case .rate: return "[\"rate < 0.01\"]"
        case .counter: return "[\"count < 10\"]"
        case .gauge: return "[\"max < 100\"]"
        case .audit: return "[\"lost == 0\"]"
        case nil: return "[\"p(95) < 30s\"]"
        }
    }
}

// MARK: - Evaluation

/// One threshold checked against a run.
package struct ThresholdResult: Sendable, Equatable {
    package var threshold: Threshold
    /// The aggregated value (seconds for latencies); nil when there was nothing to aggregate.
    package var observed: Double?
    package var passed: Bool
    /// `p(95)=1.234s < 30s` or why it could not be checked.
    package var message: String
}

extension Threshold {
    /// Checks the threshold. No data (an empty histogram, an unset gauge, an audit that did
    /// not run) fails: a threshold never passes silently.
    package func evaluate(_ registry: MetricsRegistry) -> ThresholdResult {
        let observed: Double?
        var missing = "no samples recorded"
        switch (kind, aggregation) {
        case (.latency, _):
            let metric = LatencyMetric(rawValue: self.metric)!
            let histogram = registry.histogram(metric)
            if aggregation == .count {
                observed = Double(histogram.totalCount)
            } else if histogram.totalCount == 0 {
                observed = nil
            } else {
                let microseconds: Double
                switch aggregation {
                case let .percentile(p): microseconds = Double(histogram.valueAtPercentile(p))
                case .avg: microseconds = histogram.mean
                case .min: microseconds = Double(histogram.min)
                case .max: microseconds = Double(histogram.max)
                default: microseconds = Double(histogram.valueAtPercentile(50))
                }
                observed = microseconds / 1e6
            }
        case (.counter, .rate):
            let counter = CounterMetric(rawValue: metric)!
            if registry.elapsed > .zero { observed = registry.perSecond(counter) } else { observed = nil; missing = "the run's duration is unknown" }
        case (.counter, _):
            observed = Double(registry.count(CounterMetric(rawValue: metric)!))
        case (.rate, .count):
            observed = Double(registry.hits(RateMetric(rawValue: metric)!))
        case (.rate, _):
            observed = registry.rate(RateMetric(rawValue: metric)!)
        case (.gauge, _):
            let gauge = registry.gauges[GaugeMetric(rawValue: metric)!]
            switch aggregation {
            case .min: observed = gauge?.min
            case .max: observed = gauge?.max
            default: observed = gauge?.value
            }
        case let (.audit, .audit(auditClass)):
            if registry.verdict == nil {
                observed = nil
                missing = "the audit did not run"
            } else {
                observed = Double(registry.count(auditClass))
            }
        case (.audit, _):
            observed = nil
        }
        guard let observed else {
            return ThresholdResult(threshold: self, observed: nil, passed: false, message: "\(aggregation) \(comparison.rawValue) \(formatted(value)): \(missing)")
        }
        let passed = comparison.holds(observed, value)
        return ThresholdResult(threshold: self, observed: observed, passed: passed, message: "\(aggregation)=\(formatted(observed)) \(comparison.rawValue) \(formatted(value))")
    }

    /// Seconds with a unit for time aggregations, the plain number otherwise.
    package func formatted(_ number: Double) -> String {
        let isTime: Bool
        switch aggregation {
        case .percentile, .avg, .med: isTime = true
        case .min, .max: isTime = kind == .latency
        default: isTime = false
        }
        switch isTime {
        case true:
            if number < 1 { return DurationText.trimmed((number * 1e6).rounded() / 1e3) + "ms" }
            return DurationText.trimmed((number * 1e3).rounded() / 1e3) + "s"
        case false:
            return DurationText.trimmed((number * 1e6).rounded() / 1e6)
        }
    }
}

extension Array where Element == Threshold {
    package func evaluate(_ registry: MetricsRegistry) -> [ThresholdResult] { map { $0.evaluate(registry) } }
}
