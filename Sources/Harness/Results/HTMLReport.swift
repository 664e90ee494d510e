import Foundation

/// report.html: one self-contained static page per run — no scripts, no external stylesheets or
/// fonts, charts as inline SVG — for a person reading a CI artifact. It shows the outcome, the
/// thresholds, the baseline comparison, the latency percentiles, the per-second timeline
/// (uploads started, completions, files in flight, with the fault windows shaded), the retry
/// reasons and the audit classes with example keys.
///
/// Every piece of text from the scenario or the run is escaped. The page is also well-formed
/// XML (void elements closed, no named entities but XML's), so tools can parse it.
package enum HTMLReport {
    /// The chart's longest x axis, in points: a longer run is drawn in buckets of several
    /// seconds (per-second averages; in-flight is the bucket's highest).
    static let maximumChartPoints = 1200

    package static func html(summary: RunSummary, timeline: Timeline, directory: String? = nil) -> String {
        var page = Page()
        let scenario = summary.scenario
        let passed = summary.exitCode == 0
        page.line("<!DOCTYPE html>")
        page.line("<html lang=\"en\">")
        page.line("<head>")
        page.line("<meta charset=\"utf-8\" />")
        page.line("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\" />")
        page.line("<title>\(escape("csvstorm: \(scenario.name) — \(summary.outcome)"))</title>")
        page.line("<style>\(style)</style>")
        page.line("</head>")
        page.line("<body>")

        // Outcome.
        page.line("<header>")
        page.line("<h1>\(escape(scenario.name)) <span class=\"badge \(passed ? "pass" : "fail")\">\(escape(summary.outcome)) (exit \(summary.exitCode))</span></h1>")
        if !scenario.description.isEmpty { page.line("<p class=\"description\">\(escape(scenario.description))</p>") }
        page.line("<dl class=\"facts\">")
        page.fact("scenario file", scenario.file)
        page.fact("target", "\(scenario.target), \(scenario.loadModel) load model")
        page.fact("start", summary.start)
        page.fact("end", summary.end)
        page.fact("duration", String(format: "%.1f s", summary.durationSeconds))
        if summary.aborted { page.fact("aborted", "yes: the results describe the part that ran") }
        page.fact("uploads", "\(summary.counters["uploads_started"] ?? 0) started, \(summary.counters["uploads_completed"] ?? 0) ok, \(summary.counters["uploads_failed"] ?? 0) failed, \(summary.counters["uploads_unknown"] ?? 0) unknown")
        page.fact("throughput", String(format: "%.3f files/s, %.3f MB/s, %.1f rows/s", summary.throughput.filesPerSecond, summary.throughput.megabytesPerSecond, summary.throughput.rowsPerSecond))
        page.fact("audit", summary.audit.verdict ?? "not run")
        if let saturation = summary.saturation { page.fact("saturation", saturation) }
        if let directory { page.fact("results", directory) }
        page.line("</dl>")
        page.line("</header>")

        thresholds(summary, into: &page)
        baseline(summary, into: &page)
        latencies(summary, into: &page)
        chart(timeline, into: &page)
        retries(summary, into: &page)
        audit(summary, into: &page)
        stages(summary, into: &page)
        counters(summary, into: &page)

        page.line("<footer>csvstorm results, summary.json schema version \(summary.schemaVersion); harness \(String(format: "%.2f", summary.harness.cpuSeconds)) CPU s, peak RSS \(summary.harness.peakRSSBytes >> 20) MiB</footer>")
        page.line("</body>")
        page.line("</html>")
        return page.text
    }

    // MARK: Sections

    static func thresholds(_ summary: RunSummary, into page: inout Page) {
        page.line("<section id=\"thresholds\">")
        page.line("<h2>Thresholds</h2>")
        guard !summary.thresholds.isEmpty else {
            page.line("<p>No thresholds.</p></section>")
            return
        }
        let failed = summary.thresholds.filter { !$0.passed }.count
        page.line("<p>\(summary.thresholds.count - failed) of \(summary.thresholds.count) passed.</p>")
        page.line("<table>")
        page.row(header: ["", "metric", "expression", "observed", "where"])
        for outcome in summary.thresholds {
            page.row([mark(outcome.passed), outcome.metric, outcome.expression, outcome.message, outcome.location], classes: outcome.passed ? nil : "failed")
        }
        page.line("</table>")
        page.line("</section>")
    }

    static func baseline(_ summary: RunSummary, into page: inout Page) {
        page.line("<section id=\"baseline\">")
        page.line("<h2>Baseline comparison</h2>")
        if let written = summary.baselineWritten {
            page.line("<p>This run was recorded as the baseline <code>\(escape(written))</code> (not compared).</p>")
        }
        guard let comparison = summary.baseline else {
            if summary.baselineWritten == nil { page.line("<p>Not compared with a baseline.</p>") }
            page.line("</section>")
            return
        }
        var source = "<code>\(escape(comparison.file))</code> (scenario \(escape(comparison.baselineScenario))"
        if let recorded = comparison.baselineRecorded { source += ", recorded \(escape(recorded))" }
        if let commit = comparison.baselineGitCommit { source += ", commit \(escape(String(commit.prefix(12))))" }
        if let build = comparison.baselineBuild { source += ", \(escape(build)) build" }
        source += ")"
        page.line("<p>Against \(source): \(comparison.passed ? "no regression" : "<strong>\(comparison.regressions) regression(s)</strong>").</p>")
        page.line("<table>")
        page.row(header: ["", "metric", "current", "baseline", "ratio", "tolerance", "limit", "where"])
        for verdict in comparison.comparisons {
            let metric = try? BaselineMetric.parse(verdict.metric).get()
            func value(_ number: Double?) -> String {
                guard let number else { return "—" }
                return metric?.format(number) ?? DurationText.trimmed(number)
            }
            let status: String
            switch verdict.status {
            case BaselineComparison.Status.passed: status = "✓"
            case BaselineComparison.Status.skipped: status = "–"
            default: status = "✗"
            }
            page.row(
                [status, verdict.metric, value(verdict.current), value(verdict.baseline), verdict.ratio.map { DurationText.trimmed($0) + "x" } ?? "—", verdict.tolerance, value(verdict.limit), verdict.location],
                classes: verdict.regressed ? "failed" : nil, title: verdict.message
            )
        }
        page.line("</table>")
        page.line("</section>")
    }

    static func latencies(_ summary: RunSummary, into page: inout Page) {
        page.line("<section id=\"latencies\">")
        page.line("<h2>Latency percentiles</h2>")
        page.line("<p>Seconds, from HdrHistograms (3 significant digits); e2e latency counts from the intended start.</p>")
        page.line("<table class=\"numbers\">")
        page.row(header: ["metric", "count", "min", "avg", "p50", "p90", "p95", "p99", "p99.9", "max"])
        for metric in LatencyMetric.allCases {
            guard let stats = summary.latencies[metric.rawValue] else { continue }
            func s(_ value: Double?) -> String { value.map { String(format: "%.3f", $0) } ?? "—" }
            page.row([metric.rawValue, String(stats.count), s(stats.min), s(stats.avg), s(stats.p50), s(stats.p90), s(stats.p95), s(stats.p99), s(stats.p999), s(stats.max)], classes: stats.count == 0 ? "empty" : nil)
        }
        page.line("</table>")
        page.line("</section>")
    }

    static func retries(_ summary: RunSummary, into page: inout Page) {
        page.line("<section id=\"retries\">")
        page.line("<h2>Retries</h2>")
        let rates = RateMetric.allCases.compactMap { metric in summary.rates[metric.rawValue].map { (metric.rawValue, $0) } }
        page.line("<table class=\"numbers\">")
        page.row(header: ["rate", "count", "of", "rate"])
        for (name, stats) in rates { page.row([name, String(stats.count), String(stats.total), String(format: "%.4f", stats.rate)]) }
        page.line("</table>")
        if summary.retryReasons.isEmpty {
            page.line("<p>No retries at any layer.</p>")
        } else {
            page.line("<table class=\"numbers\">")
            page.row(header: ["reason (layer.reason)", "retries"])
            for (reason, count) in summary.retryReasons.sorted(by: { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }) {
                page.row([reason, String(count)])
            }
            page.line("</table>")
        }
        page.line("</section>")
    }

    static func audit(_ summary: RunSummary, into page: inout Page) {
        page.line("<section id=\"audit\">")
        page.line("<h2>Audit</h2>")
        guard let verdict = summary.audit.verdict else {
            page.line("<p>The audit did not run.</p></section>")
            return
        }
        page.line("<p>Verdict: <strong>\(escape(verdict))</strong>.</p>")
        page.line("<table>")
        page.row(header: ["class", "count", "example keys"])
        for auditClass in AuditClass.allCases {
            let count = summary.audit.counts[auditClass.rawValue] ?? 0
            let examples = summary.audit.examples[auditClass.rawValue] ?? []
            let bad = count > 0 && (AuditClass.invalid.contains(auditClass) || auditClass == .stuck)
            page.row([auditClass.rawValue, String(count), examples.joined(separator: ", ")], classes: bad ? "failed" : (count == 0 ? "empty" : nil))
        }
        page.line("</table>")
        page.line("</section>")
    }

    static func stages(_ summary: RunSummary, into page: inout Page) {
        guard let stages = summary.stages, !stages.isEmpty else { return }
        page.line("<section id=\"stages\">")
        page.line("<h2>Stages</h2>")
        page.line("<table class=\"numbers\">")
        page.row(header: ["stage", "rates", "from (s)", "to (s)", "uploads", "e2e p95 (s)", "max backlog"])
        for row in stages {
            page.row([String(row.stage), row.rates, String(format: "%.0f", row.startSeconds), String(format: "%.0f", row.endSeconds), String(row.count), row.p95.map { String(format: "%.3f", $0) } ?? "—", row.maxBacklog.map(String.init) ?? "—"])
        }
        page.line("</table>")
        page.line("</section>")
    }

    static func counters(_ summary: RunSummary, into page: inout Page) {
        page.line("<section id=\"counters\">")
        page.line("<h2>Counters and gauges</h2>")
        page.line("<table class=\"numbers\">")
        page.row(header: ["counter", "count"])
        for metric in CounterMetric.allCases { page.row([metric.rawValue, String(summary.counters[metric.rawValue] ?? 0)]) }
        page.line("</table>")
        if !summary.gauges.isEmpty {
            page.line("<table class=\"numbers\">")
            page.row(header: ["gauge", "last", "min", "max"])
            for metric in GaugeMetric.allCases {
                guard let gauge = summary.gauges[metric.rawValue] else { continue }
                page.row([metric.rawValue, DurationText.trimmed(gauge.value), DurationText.trimmed(gauge.min), DurationText.trimmed(gauge.max)])
            }
            page.line("</table>")
        }
        page.line("</section>")
    }

    // MARK: The timeline chart

    static func chart(_ timeline: Timeline, into page: inout Page) {
        page.line("<section id=\"timeline\">")
        page.line("<h2>Timeline</h2>")
        let seconds = timeline.seconds
        guard !seconds.isEmpty else {
            page.line("<p>Nothing happened.</p></section>")
            return
        }
        let bucket = max(1, (seconds.count + maximumChartPoints - 1) / maximumChartPoints)
        let buckets = (seconds.count + bucket - 1) / bucket
        // Per-second averages of uploads started and completions; the highest in-flight sample
        // (carried forward when a second has none, as in timeline.csv).
        var started = [Double](repeating: 0, count: buckets)
        var completions = [Double](repeating: 0, count: buckets)
        var inFlight = [Double](repeating: 0, count: buckets)
        var carried = 0
        for (index, second) in seconds.enumerated() {
            let b = index / bucket
            let width = Double(min(bucket, seconds.count - b * bucket))
            started[b] += Double(second.uploadsStarted) / width
            completions[b] += Double(second.completions) / width
            carried = second.filesInFlight ?? carried
            inFlight[b] = max(inFlight[b], Double(carried))
        }
        let top = niceCeiling(max(1, started.max() ?? 0, completions.max() ?? 0, inFlight.max() ?? 0))
        let width = 960.0, height = 300.0, left = 56.0, right = 16.0, topMargin = 16.0, bottom = 40.0
        let plotWidth = width - left - right, plotHeight = height - topMargin - bottom
        let total = Double(seconds.count)
        func x(_ second: Double) -> Double { left + plotWidth * min(max(second, 0), total) / total }
        func y(_ value: Double) -> Double { topMargin + plotHeight * (1 - value / top) }
        func f(_ value: Double) -> String { String(format: "%.1f", value) }

        page.line("<p>Per second\(bucket > 1 ? " (in buckets of \(bucket) s: averages; files in flight is the highest)" : ""): uploads started, ledger records reaching a terminal state (completions), files in flight. Shaded: fault windows.</p>")
        page.line("<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" width=\"100%\" role=\"img\" aria-label=\"timeline\">")
        // Fault windows first, under the lines.
        for window in timeline.faultWindows {
            let start = window.start.secondsValue
            let end = window.end?.secondsValue ?? total
            let x0 = x(start), x1 = max(x(end), x0 + 1)
            page.line("<rect class=\"fault\" x=\"\(f(x0))\" y=\"\(f(topMargin))\" width=\"\(f(x1 - x0))\" height=\"\(f(plotHeight))\"><title>\(escape("\(window.name): \(String(format: "%.1f", start)) s – \(window.end.map { String(format: "%.1f s", $0.secondsValue) } ?? "end of run")"))</title></rect>")
        }
        // Axes and grid.
        for step in 0...4 {
            let value = top * Double(step) / 4
            page.line("<line class=\"grid\" x1=\"\(f(left))\" y1=\"\(f(y(value)))\" x2=\"\(f(width - right))\" y2=\"\(f(y(value)))\" />")
            page.line("<text class=\"axis\" x=\"\(f(left - 6))\" y=\"\(f(y(value) + 4))\" text-anchor=\"end\">\(DurationText.trimmed(value))</text>")
        }
        let tickStep = niceCeiling(total / 8)
        var tick = 0.0
        while tick <= total, tickStep > 0 {
            page.line("<text class=\"axis\" x=\"\(f(x(tick)))\" y=\"\(f(height - bottom + 16))\" text-anchor=\"middle\">\(DurationText.trimmed(tick))</text>")
            tick += tickStep
        }
        page.line("<text class=\"axis\" x=\"\(f(left + plotWidth / 2))\" y=\"\(f(height - 6))\" text-anchor=\"middle\">seconds since the start</text>")
        // Series: a point at the middle of each bucket.
        for (values, name) in [(started, "started"), (completions, "completions"), (inFlight, "inflight")] {
            let points = values.enumerated().map { index, value in "\(f(x((Double(index) + 0.5) * Double(bucket)))),\(f(y(value)))" }.joined(separator: " ")
            page.line("<polyline class=\"series \(name)\" points=\"\(points)\" />")
        }
        page.line("</svg>")
        page.line("<p class=\"legend\"><span class=\"swatch started\"></span> uploads started/s <span class=\"swatch completions\"></span> completions/s <span class=\"swatch inflight\"></span> files in flight <span class=\"swatch fault\"></span> fault window</p>")
        if !timeline.faultWindows.isEmpty {
            page.line("<table class=\"numbers\">")
            page.row(header: ["fault window", "from (s)", "to (s)"])
            for window in timeline.faultWindows {
                page.row([window.name, String(format: "%.1f", window.start.secondsValue), window.end.map { String(format: "%.1f", $0.secondsValue) } ?? "end of run"])
            }
            page.line("</table>")
        }
        page.line("</section>")
    }

    /// 1, 2, 5 × 10^n at or above `value`.
    static func niceCeiling(_ value: Double) -> Double {
        guard value > 0, value.isFinite else { return 1 }
        let magnitude = pow(10, floor(log10(value)))
        for factor in [1.0, 2, 5, 10] where factor * magnitude >= value { return factor * magnitude }
        return 10 * magnitude
    }

    // MARK: Text

    static func mark(_ passed: Bool) -> String { passed ? "✓" : "✗" }

    /// Text and attribute escaping for HTML (``JUnitReport/escape(_:for:)``).
    package static func escape(_ text: String) -> String {
        JUnitReport.escape(text, for: .html)
    }

    struct Page {
        var text = ""

        mutating func line(_ line: String) {
            text += line
            text += "\n"
        }

        mutating func fact(_ name: String, _ value: String) {
            line("<dt>\(escape(name))</dt><dd>\(escape(value))</dd>")
        }

        mutating func row(header cells: [String]) {
            line("<tr>" + cells.map { "<th>\(escape($0))</th>" }.joined() + "</tr>")
        }

        mutating func row(_ cells: [String], classes: String? = nil, title: String? = nil) {
            var open = "<tr"
            if let classes { open += " class=\"\(escape(classes))\"" }
            if let title { open += " title=\"\(escape(title))\"" }
            line(open + ">" + cells.map { "<td>\(escape($0))</td>" }.joined() + "</tr>")
        }
    }

    static let style = """
        body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1000px; color: #222; padding: 0 1em; }
        h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { font-size: 1.2em; margin-top: 1.8em; border-bottom: 1px solid #ddd; }
        .badge { font-size: 0.6em; padding: 0.2em 0.6em; border-radius: 0.8em; vertical-align: middle; color: #fff; }
        .pass { background: #2a7d2e; } .fail { background: #b3261e; }
        .description { color: #555; margin-top: 0; }
        dl.facts { display: grid; grid-template-columns: max-content auto; gap: 0.1em 1em; } dt { color: #666; } dd { margin: 0; }
        table { border-collapse: collapse; margin: 0.5em 0; } th, td { border: 1px solid #ddd; padding: 0.2em 0.6em; text-align: left; vertical-align: top; }
        th { background: #f4f4f4; } table.numbers td { font-variant-numeric: tabular-nums; }
        tr.failed td { background: #fde7e6; } tr.empty td { color: #999; }
        code { background: #f4f4f4; padding: 0 0.2em; }
        svg { border: 1px solid #eee; } .grid { stroke: #eee; } .axis { font-size: 11px; fill: #666; }
        .series { fill: none; stroke-width: 1.6; } .started { stroke: #1f77b4; } .completions { stroke: #2ca02c; } .inflight { stroke: #ff7f0e; }
        rect.fault { fill: #d62728; fill-opacity: 0.12; }
        .swatch { display: inline-block; width: 1.2em; height: 0.6em; margin-left: 1em; }
        .swatch.started { background: #1f77b4; } .swatch.completions { background: #2ca02c; } .swatch.inflight { background: #ff7f0e; } .swatch.fault { background: #f6d4d4; }
        footer { margin-top: 2em; color: #888; font-size: 0.9em; }
        """
}
