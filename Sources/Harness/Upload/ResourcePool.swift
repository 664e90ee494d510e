/// The decisions of a bounded pool of reusable resources (part buffers, permits), as a pure
/// state machine returning actions; ``ResourcePool`` adds the lock and the continuations.
///
/// Invariants (checked by the tests): at most `limit` resources are ever created, so at most
/// `limit` are handed out at once; waiters are served first-in, first-out; a released resource
/// goes straight to the oldest waiter.
package struct ResourcePoolState<Resource, Waiter> {
    package enum AcquireAction {
        /// Use this pooled resource.
        case reuse(Resource)
        /// Create a new resource (the pool has counted it).
        case create
        /// Park the waiter until ``release(_:)`` hands it a resource.
        case wait
    }

    package enum ReleaseAction {
        /// Give the resource to this waiter.
        case resume(Waiter, Resource)
        /// Kept in the pool.
        case stored
    }

    package let limit: Int
    /// Resources created so far (never more than ``limit``).
    package private(set) var created = 0
    /// Most resources handed out at the same time.
    package private(set) var peakInUse = 0
    private var free: [Resource] = []
    private var waiters: [(id: UInt64, waiter: Waiter)] = []
    private var waitersHead = 0

    package init(limit: Int) {
        precondition(limit >= 1, "a pool needs a limit of at least 1")
        self.limit = limit
    }

    /// Resources currently handed out.
    package var inUse: Int { self.created - self.free.count }
    /// Waiters parked.
    package var waiting: Int { self.waiters.count - self.waitersHead }

    package mutating func acquire(id: UInt64, waiter: Waiter) -> AcquireAction {
        if self.waiting == 0, let resource = self.free.popLast() {
            self.noteInUse()
            return .reuse(resource)
        }
        if self.waiting == 0, self.created < self.limit {
            self.created += 1
            self.noteInUse()
            return .create
        }
        self.waiters.append((id, waiter))
        return .wait
    }

    /// Takes a resource without waiting: nil when none is free and no more may be created, or
    /// when waiters are parked (they are served first).
    package mutating func tryAcquire() -> AcquireAction? {
        guard self.waiting == 0 else { return nil }
        if let resource = self.free.popLast() {
            self.noteInUse()
            return .reuse(resource)
        }
        if self.created < self.limit {
            self.created += 1
            self.noteInUse()
            return .create
        }
        return nil
    }

    package mutating func release(_ resource: Resource) -> ReleaseAction {
        if self.waitersHead < self.waiters.count {
            let next = self.waiters[self.waitersHead].waiter
            self.waitersHead += 1
            self.compactWaiters()
            return .resume(next, resource)
        }
        self.free.append(resource)
        return .stored
    }

    /// Removes a parked waiter (its task was cancelled); nil if it was already served.
    package mutating func cancel(id: UInt64) -> Waiter? {
        guard let index = self.waiters[self.waitersHead...].firstIndex(where: { $0.id == id }) else { return nil }
        let waiter = self.waiters.remove(at: index).waiter
        self.compactWaiters()
        return waiter
    }

    private mutating func noteInUse() {
        self.peakInUse = max(self.peakInUse, self.inUse)
    }

    private mutating func compactWaiters() {
        if self.waitersHead == self.waiters.count {
            self.waiters.removeAll(keepingCapacity: true)
            self.waitersHead = 0
        } else if self.waitersHead > 64 && self.waitersHead * 2 > self.waiters.count {
            self.waiters.removeFirst(self.waitersHead)
            self.waitersHead = 0
        }
    }
}

/// A bounded async pool: ``acquire()`` suspends while `limit` resources are out, and is
/// cancellable. Used for part buffers (the send buffers, whose limit is the global in-flight
/// limit, and the read-ahead buffers: memory is bounded by the sum of their limits × part size)
/// and for the per-upload part permits.
package final class ResourcePool<Resource: Sendable>: Sendable {
    package struct Statistics: Sendable, Hashable {
        package var limit: Int
        package var created: Int
        package var inUse: Int
        package var peakInUse: Int
        package var waiting: Int
    }

    private typealias Waiter = CheckedContinuation<Resource, any Error>
    private enum AcquireNext {
        case resume(Resource)
        case create
        case wait
        case cancelled
    }
    private struct State {
        var pool: ResourcePoolState<Resource, Waiter>
        var nextID: UInt64 = 0
    }

    private let state: Locked<State>
    private let make: @Sendable () -> Resource

    package init(limit: Int, make: @escaping @Sendable () -> Resource) {
        self.state = Locked(State(pool: ResourcePoolState(limit: limit)))
        self.make = make
    }

    package var statistics: Statistics {
        self.state.withLock {
            Statistics(limit: $0.pool.limit, created: $0.pool.created, inUse: $0.pool.inUse, peakInUse: $0.pool.peakInUse, waiting: $0.pool.waiting)
        }
    }

    /// A resource; suspends while all are out. Throws `CancellationError` if the task is
    /// cancelled while waiting (nothing is held then).
    package func acquire() async throws -> Resource {
        try Task.checkCancellation()
        let id = self.state.withLock { state -> UInt64 in
            state.nextID += 1
            return state.nextID
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: Waiter) in
                let next: AcquireNext = self.state.withLock { state in
                    // Checked under the lock: a cancellation that ran its handler before the
                    // waiter was parked has already set the flag.
                    if Task.isCancelled { return .cancelled }
                    switch state.pool.acquire(id: id, waiter: continuation) {
                    case .reuse(let resource): return .resume(resource)
                    case .create: return .create
                    case .wait: return .wait
                    }
                }
                switch next {
                case .resume(let resource): continuation.resume(returning: resource)
                case .create: continuation.resume(returning: self.make())
                case .wait: break
                case .cancelled: continuation.resume(throwing: CancellationError())
                }
            }
        } onCancel: {
            if let waiter = self.state.withLock({ $0.pool.cancel(id: id) }) {
                waiter.resume(throwing: CancellationError())
            }
        }
    }

    /// A resource if one is free (or may be created) and nobody waits; never suspends.
    package func tryAcquire() -> Resource? {
        let next = self.state.withLock { $0.pool.tryAcquire() }
        switch next {
        case .reuse(let resource): return resource
        case .create: return self.make()
        case .wait, nil: return nil
        }
    }

    /// Returns a resource (to the oldest waiter, or to the pool).
    package func release(_ resource: Resource) {
        let action = self.state.withLock { $0.pool.release(resource) }
        if case .resume(let waiter, let resource) = action {
            waiter.resume(returning: resource)
        }
    }
}

/// A permit of a ``ResourcePool`` used as a counting semaphore.
package struct Permit: Sendable {
    package init() {}
}
