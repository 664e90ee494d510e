/// The exit codes of `csvstorm run` (DESIGN.md; k6's where k6 has one).
package enum RunExitCode: Int32, Sendable, Codable, CaseIterable {
    /// Every threshold passed and the audit found no lost or duplicated data.
    case passed = 0
    /// At least one threshold failed, or a metric regressed beyond its baseline tolerance.
    case thresholdsFailed = 99
    /// The scenario file or the arguments are invalid (nothing ran).
    case invalidScenario = 104
    /// Interrupted (Ctrl-C / SIGTERM): partial results are marked aborted.
    case aborted = 105
    /// The harness itself failed.
    case internalError = 107
    /// The audit found lost or duplicated data.
    case auditFailed = 108

    /// The code for a run that executed. An interrupt wins (the audit of a partial run proves
    /// nothing); then lost or duplicated data (the most serious finding); then thresholds and
    /// baseline regressions (a regression fails the run as a failed threshold does).
    package static func forRun(aborted: Bool, audit: [AuditClass: Int], thresholds: [ThresholdResult], baselineRegressed: Bool = false) -> RunExitCode {
        if aborted { return .aborted }
        if AuditClass.dataLoss.contains(where: { (audit[$0] ?? 0) > 0 }) { return .auditFailed }
        if thresholds.contains(where: { !$0.passed }) || baselineRegressed { return .thresholdsFailed }
        return .passed
    }

    /// summary.json's `outcome`: a word for the code.
    package var outcome: String {
        switch self {
        case .passed: return "passed"
        case .thresholdsFailed: return "thresholds-failed"
        case .invalidScenario: return "invalid-scenario"
        case .aborted: return "aborted"
        case .internalError: return "internal-error"
        case .auditFailed: return "audit-failed"
        }
    }
}
