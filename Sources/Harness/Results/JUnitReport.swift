/// junit.xml for CI: one `<testsuite>` per run with a test case per threshold
/// (`thresholds.<metric>` / the expression) and per audit check (`audit` / `no <class>` for each
/// class that makes the verdict invalid, and `no stuck`). A failed check has a `<failure>` with
/// the observed value and, for audit checks, example keys. When the audit did not run, audit
/// checks are `<skipped>`. A run compared with a baseline adds a test case per compared metric
/// (`baseline` / `e2e_latency.p95 within 1.5x + 2s`): a regression is a `<failure>` with the
/// current and baseline values, a metric the baseline has no value for is `<skipped>`.
package enum JUnitReport {
    /// The audit classes checked as test cases.
    package static let auditChecks: [AuditClass] = [.lost, .duplicated, .unexpected, .stuck, .leakedPII, .mismatched]

    package static func xml(scenario: String, thresholds: [ThresholdResult], registry: MetricsRegistry, duration: Duration, baseline: BaselineComparison? = nil) -> String {
        var cases: [String] = []
        var failures = 0
        var skipped = 0
        for result in thresholds {
            var text = "    <testcase classname=\"\(escape("thresholds.\(result.threshold.metric)"))\" name=\"\(escape(result.threshold.expression))\""
            if result.passed {
                text += "/>"
            } else {
                failures += 1
                text += ">\n      <failure message=\"\(escape(result.message))\" type=\"threshold\">\(escape("\(result.threshold.location): \(result.threshold.metric): \(result.message)"))</failure>\n    </testcase>"
            }
            cases.append(text)
        }
        let auditRan = registry.verdict != nil
        for auditClass in auditChecks {
            var text = "    <testcase classname=\"audit\" name=\"no \(auditClass.rawValue)\""
            let count = registry.count(auditClass)
            if !auditRan {
                skipped += 1
                text += ">\n      <skipped message=\"the audit did not run\"/>\n    </testcase>"
            } else if count == 0 {
                text += "/>"
            } else {
                failures += 1
                let examples = registry.auditExamples[auditClass] ?? []
                let message = "\(count) object(s) \(auditClass.rawValue)" + (examples.isEmpty ? "" : ", e.g. " + examples.prefix(3).joined(separator: ", "))
                text += ">\n      <failure message=\"\(escape(message))\" type=\"audit\">\(escape(([message] + examples).joined(separator: "\n")))</failure>\n    </testcase>"
            }
            cases.append(text)
        }
        for verdict in baseline?.comparisons ?? [] {
            var text = "    <testcase classname=\"baseline\" name=\"\(escape("\(verdict.metric) within \(verdict.tolerance)"))\""
            switch verdict.status {
            case BaselineComparison.Status.passed:
                text += "/>"
            case BaselineComparison.Status.skipped:
                skipped += 1
                text += ">\n      <skipped message=\"\(escape(verdict.message))\"/>\n    </testcase>"
            default:
                failures += 1
                text += ">\n      <failure message=\"\(escape(verdict.message))\" type=\"baseline\">\(escape("\(verdict.location): \(verdict.message) (baseline \(baseline?.file ?? ""))"))</failure>\n    </testcase>"
            }
            cases.append(text)
        }
        let seconds = DurationText.trimmed((duration.secondsValue * 1000).rounded() / 1000)
        var xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        xml += "<testsuites name=\"csvstorm\" tests=\"\(cases.count)\" failures=\"\(failures)\" skipped=\"\(skipped)\" time=\"\(seconds)\">\n"
        xml += "  <testsuite name=\"\(escape(scenario))\" tests=\"\(cases.count)\" failures=\"\(failures)\" errors=\"0\" skipped=\"\(skipped)\" time=\"\(seconds)\">\n"
        xml += cases.joined(separator: "\n") + (cases.isEmpty ? "" : "\n")
        xml += "  </testsuite>\n</testsuites>\n"
        return xml
    }

    /// Where escaped text goes: JUnit XML, where text often lands in attributes (a newline becomes
    /// `&#10;`, which attribute normalisation would otherwise turn into a space), or the HTML
    /// report (newlines kept, `'` as `&#39;`, which every HTML version knows).
    package enum Markup: Sendable {
        case xml, html
    }

    /// Text and attribute escaping (`&`, `<`, `>`, quotes); control characters other than tab and
    /// newline, which XML does not allow, are dropped.
    package static func escape(_ text: String, for markup: Markup = .xml) -> String {
        var result = ""
        result.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case "\"": result += "&quot;"
            case "'": result += markup == .xml ? "&apos;" : "&#39;"
            case "\n" where markup == .xml: result += "&#10;"
            case "\n", "\t": result.unicodeScalars.append(scalar)
            default:
                if scalar.value < 0x20 || scalar.value == 0xFFFE || scalar.value == 0xFFFF { continue }
                result.unicodeScalars.append(scalar)
            }
        }
        return result
    }
}
