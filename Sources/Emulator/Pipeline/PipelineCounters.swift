import Synchronization

/// Counters for every stage of the emulated pipeline (`GET /_csvstorm/health` shows them).
/// Counts since this process started; the durable totals are in the stores.
package final class PipelineCounters: Sendable {
    package enum Name: String, CaseIterable, Sendable {
        // Event bus.
        case eventsReceived = "events_received"
        case eventsFilteredOut = "events_filtered_out"
        case eventsDuplicated = "events_duplicated"
        case deliveryAttempts = "delivery_attempts"
        case deliveryFailures = "delivery_failures"
        case deliveryRetries = "delivery_retries"
        case eventsDeadLettered = "events_dead_lettered"
        // Workflow.
        case executionsStarted = "executions_started"
        case executionsResumed = "executions_resumed"
        case executionsSucceeded = "executions_succeeded"
        case executionsFailed = "executions_failed"
        case executionsDuplicate = "executions_duplicate"
        case executionsAborted = "executions_aborted"
        case workflowRetries = "workflow_retries"
        case ledgerErrors = "ledger_errors"
        // Tasks.
        case runTaskCalls = "run_task_calls"
        case runTaskThrottled = "run_task_throttled"
        case runTaskCapacityErrors = "run_task_capacity_errors"
        case tasksRunning = "tasks_running"
        case tasksSucceeded = "tasks_succeeded"
        case tasksFailed = "tasks_failed"
        case tasksCrashed = "tasks_crashed"
        // Processor.
        case filesProcessed = "files_processed"
        case filesRejected = "files_rejected"
        case rowsProcessed = "rows_processed"
        case bytesIn = "bytes_in"
        case bytesOut = "bytes_out"
        case valuesRedacted = "values_redacted"
    }

    private let values = Mutex([Int](repeating: 0, count: Name.allCases.count))
    private static let index: [Name: Int] = Dictionary(uniqueKeysWithValues: Name.allCases.enumerated().map { ($1, $0) })

    package init() {}

    package func add(_ name: Name, _ amount: Int = 1) {
        let i = Self.index[name]!
        self.values.withLock { $0[i] += amount }
    }

    package func set(_ name: Name, _ value: Int) {
        let i = Self.index[name]!
        self.values.withLock { $0[i] = value }
    }

    package subscript(_ name: Name) -> Int {
        let i = Self.index[name]!
        return self.values.withLock { $0[i] }
    }

    package var snapshot: [String: Int] {
        let values = self.values.withLock { $0 }
        return Dictionary(uniqueKeysWithValues: Name.allCases.enumerated().map { ($1.rawValue, values[$0]) })
    }
}
