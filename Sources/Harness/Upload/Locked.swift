import Foundation

/// A value behind a lock. Keep the critical sections short and never `await` inside them.
package final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    package init(_ value: Value) {
        self.value = value
    }

    package func withLock<T>(_ body: (inout Value) throws -> T) rethrows -> T {
        self.lock.lock()
        defer { self.lock.unlock() }
        return try body(&self.value)
    }

    package var current: Value {
        self.withLock { $0 }
    }
}
