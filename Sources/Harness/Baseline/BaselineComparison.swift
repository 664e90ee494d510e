import Foundation
import SyntheticData

/// A run compared with a baseline, metric by metric: summary.json's `baseline`, junit.xml's
/// `baseline` test cases, report.html's comparison table, `csvstorm compare`'s output. Pure:
/// two snapshots and the tolerances in, verdicts out.
package struct BaselineComparison: Sendable, Codable, Equatable {
    /// The baseline file as given.
    package var file: String
    /// The baseline's scenario name (a warning is shown when it differs from the run's).
    package var baselineScenario: String
    /// When the baseline run started, its git commit and build (baseline files only).
    package var baselineRecorded: String?
    package var baselineGitCommit: String?
    package var baselineBuild: String?
    /// No metric regressed (skipped ones do not count).
    package var passed: Bool
    /// How many metrics regressed.
    package var regressions: Int
    /// One per compared metric, in tolerance order.
    package var comparisons: [Verdict]

    package struct Verdict: Sendable, Codable, Equatable {
        /// `e2e_latency.p95`, `upload_retry_rate`, `throughput.filesPerSecond`.
        package var metric: String
        /// `lower` (latencies, rates) or `higher` (throughput).
        package var better: String
        /// Seconds for latencies; null when the file has no value.
        package var baseline: Double?
        package var current: Double?
        /// current ÷ baseline; null when either is missing or the baseline is 0.
        package var ratio: Double?
        /// As the scenario writes it, e.g. `1.5x + 2s`.
        package var tolerance: String
        /// The worst value that passes: baseline × factor + slack (lower is better) or
        /// baseline ÷ factor − slack (higher is better).
        package var limit: Double?
        /// `passed`, `regressed` or `skipped` (no baseline value: nothing to compare with).
        package var status: String
        package var message: String
        /// Where the tolerance was set: `file:line:column`, `--tolerance` or `default`.
        package var location: String

        package var regressed: Bool { status == Status.regressed }

        // Null values are written as `null`, so every key is always present.
        package func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(metric, forKey: .metric)
            try container.encode(better, forKey: .better)
            try container.encode(baseline, forKey: .baseline)
            try container.encode(current, forKey: .current)
            try container.encode(ratio, forKey: .ratio)
            try container.encode(tolerance, forKey: .tolerance)
            try container.encode(limit, forKey: .limit)
            try container.encode(status, forKey: .status)
            try container.encode(message, forKey: .message)
            try container.encode(location, forKey: .location)
        }
    }

    package enum Status {
        package static let passed = "passed"
        package static let regressed = "regressed"
        package static let skipped = "skipped"
    }

    package func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(file, forKey: .file)
        try container.encode(baselineScenario, forKey: .baselineScenario)
        try container.encode(baselineRecorded, forKey: .baselineRecorded)
        try container.encode(baselineGitCommit, forKey: .baselineGitCommit)
        try container.encode(baselineBuild, forKey: .baselineBuild)
        try container.encode(passed, forKey: .passed)
        try container.encode(regressions, forKey: .regressions)
        try container.encode(comparisons, forKey: .comparisons)
    }

    /// Compares `current` with `baseline` for each tolerance.
    ///
    /// A value missing from the baseline (no samples when it was recorded) is skipped: there is
    /// nothing to regress from. A value the baseline has but this run lacks (no samples now)
    /// regresses: a comparison never passes silently. A ratio is reported where the baseline
    /// is not 0; the verdict always uses the limit, so a 0 baseline works through the slack.
    package static func compare(current: BaselineSnapshot, baseline: BaselineSnapshot, tolerances: [BaselineTolerance], file: String) -> BaselineComparison {
        let verdicts = tolerances.map { verdict(for: $0, current: current, baseline: baseline) }
        let regressions = verdicts.filter(\.regressed).count
        return BaselineComparison(
            file: file, baselineScenario: baseline.scenario.name, baselineRecorded: baseline.recorded?.at,
            baselineGitCommit: baseline.recorded?.csvstorm.gitCommit, baselineBuild: baseline.recorded?.csvstorm.build,
            passed: regressions == 0, regressions: regressions, comparisons: verdicts
        )
    }

    static func verdict(for entry: BaselineTolerance, current: BaselineSnapshot, baseline: BaselineSnapshot) -> Verdict {
        let metric = entry.metric
        let toleranceText = entry.tolerance.text(for: metric)
        let baselineValue = metric.value(in: baseline)
        let currentValue = metric.value(in: current)
        var verdict = Verdict(
            metric: metric.description, better: metric.higherIsBetter ? "higher" : "lower", baseline: baselineValue, current: currentValue,
            ratio: nil, tolerance: toleranceText, limit: nil, status: Status.skipped, message: "", location: entry.location
        )
        guard let baselineValue else {
            verdict.message = "\(metric): the baseline has no value (no samples when it was recorded); not compared"
            return verdict
        }
        let limit = entry.tolerance.limit(baseline: baselineValue, higherIsBetter: metric.higherIsBetter)
        verdict.limit = limit
        guard let currentValue else {
            verdict.status = Status.regressed
            verdict.message = "\(metric): no value in this run (no samples), baseline \(metric.format(baselineValue))"
            return verdict
        }
        let ratio = baselineValue != 0 ? currentValue / baselineValue : nil
        verdict.ratio = ratio.map { ($0 * 1000).rounded() / 1000 }
        let passed = metric.higherIsBetter ? currentValue >= limit : currentValue <= limit
        verdict.status = passed ? Status.passed : Status.regressed
        let ratioText = ratio.map { " (\(DurationText.trimmed(($0 * 100).rounded() / 100))x)" } ?? ""
        let bound = metric.higherIsBetter ? "at least" : "at most"
        verdict.message = "\(metric) \(metric.format(currentValue)) vs baseline \(metric.format(baselineValue))\(ratioText); \(toleranceText) allows \(bound) \(metric.format(limit))"
        return verdict
    }
}

extension BaselineComparison {
    /// Terminal lines: a header, then one line per metric (✓ passed, ✗ regressed, – skipped).
    package func lines(indent: String = "  ") -> [String] {
        var lines = ["\(indent)baseline \(file) (\(baselineScenario)\(baselineRecorded.map { ", recorded \($0)" } ?? "")\(baselineBuild.map { ", \($0) build" } ?? "")): " + (passed ? "no regression" : "\(regressions) regression(s)")]
        for verdict in comparisons {
            let mark: String
            switch verdict.status {
            case Status.passed: mark = "✓"
            case Status.skipped: mark = "–"
            default: mark = "✗"
            }
            lines.append("\(indent)  \(mark) \(verdict.message)")
        }
        return lines
    }
}

/// What a run compares with: the baseline file, its values and the tolerances.
package struct BaselinePlan: Sendable {
    package var file: String
    package var snapshot: BaselineSnapshot
    package var tolerances: [BaselineTolerance]

    package init(file: String, snapshot: BaselineSnapshot, tolerances: [BaselineTolerance]) {
        self.file = file
        self.snapshot = snapshot
        self.tolerances = tolerances
    }

    package func compare(_ current: BaselineSnapshot) -> BaselineComparison {
        BaselineComparison.compare(current: current, baseline: snapshot, tolerances: tolerances, file: file)
    }
}

/// A `--tolerance METRIC=TOLERANCE` (nil tolerance: `METRIC=off`).
package struct ToleranceOverride: Sendable, Equatable {
    package var metric: BaselineMetric
    package var tolerance: Tolerance?

    package init(metric: BaselineMetric, tolerance: Tolerance?) {
        self.metric = metric
        self.tolerance = tolerance
    }

    /// Parses `METRIC=TOLERANCE`; errors exit 104 like a scenario error.
    package init(parsing text: String) throws(ConfigError) {
        let parsed = try BaselineTolerance.parseOverride(text)
        self.init(metric: parsed.metric, tolerance: parsed.tolerance)
    }

    /// `base` with the overrides applied in order.
    package static func apply(_ overrides: [ToleranceOverride], to base: [BaselineTolerance]) -> [BaselineTolerance] {
        BaselineTolerance.applying(overrides.map { ($0.metric, $0.tolerance) }, to: base)
    }
}

extension BaselineComparison {
    /// `csvstorm compare`: a stored run (summary.json or its folder) against a baseline (a
    /// baseline file or another summary.json), offline. Tolerances come from `scenario`'s
    /// `baseline:` section when given (else the defaults), then `overrides`. Answers the
    /// comparison and warnings (different scenarios, a current run that did not pass).
    package static func compareFiles(current currentPath: String, baseline baselinePath: String, scenario scenarioPath: String?, overrides: [ToleranceOverride]) throws(ConfigError) -> (BaselineComparison, warnings: [String]) {
        let current = try BaselineSnapshot.load(path: currentPath)
        let baseline = try BaselineSnapshot.load(path: baselinePath)
        var base = BaselineTolerance.defaults
        if let scenarioPath {
            let scenario = try Scenario.load(file: scenarioPath)
            base = scenario.baseline?.tolerances ?? base
        }
        let tolerances = ToleranceOverride.apply(overrides, to: base)
        guard !tolerances.isEmpty else { throw ConfigError(file: "--tolerance", message: "every compared metric is turned off") }
        var warnings: [String] = []
        if current.scenario.name != baseline.scenario.name {
            warnings.append("warning: comparing scenario '\(current.scenario.name)' with a baseline of '\(baseline.scenario.name)'")
        }
        if let outcome = current.outcome, outcome != RunExitCode.passed.outcome {
            warnings.append("note: the current run's outcome was \(outcome)")
        }
        return (compare(current: current, baseline: baseline, tolerances: tolerances, file: baselinePath), warnings)
    }

    /// Pretty-printed JSON (as in summary.json's `baseline`).
    package func json() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        var data = try encoder.encode(self)
        data.append(0x0A)
        return data
    }
}
