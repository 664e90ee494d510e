import Testing

@testable import Harness

/// The memory bound: part buffers come from a pool that never creates more than its limit.
@Suite("Resource pool (the part-buffer bound)")
struct ResourcePoolTests {
    @Test func theStateMachineNeverCreatesMoreThanItsLimit() {
        var pool = ResourcePoolState<Int, String>(limit: 3)
        var held: [Int] = []
        var nextResource = 0
        // Acquire 5: three creations, then two waiters.
        for i in 0..<5 {
            switch pool.acquire(id: UInt64(i), waiter: "w\(i)") {
            case .create:
                nextResource += 1
                held.append(nextResource)
            case .reuse(let r): held.append(r)
            case .wait: break
            }
        }
        #expect(held.count == 3)
        #expect(pool.created == 3)
        #expect(pool.waiting == 2)
        // A release goes to the oldest waiter, FIFO.
        guard case .resume(let first, let r1) = pool.release(held.removeFirst()) else {
            Issue.record("expected a waiter to be resumed")
            return
        }
        #expect(first == "w3")
        held.append(r1)
        // Cancelling the other waiter removes it; the next release is stored.
        #expect(pool.cancel(id: 4) == "w4")
        #expect(pool.cancel(id: 4) == nil)
        guard case .stored = pool.release(held.removeFirst()) else {
            Issue.record("expected the resource to be stored")
            return
        }
        // Reuse before create.
        guard case .reuse = pool.acquire(id: 9, waiter: "w9") else {
            Issue.record("expected reuse")
            return
        }
        #expect(pool.created == 3)
        #expect(pool.peakInUse == 3)
    }

    @Test("a random schedule of acquires, releases and cancels keeps every invariant", arguments: [1, 2, 7, 16])
    func randomScheduleKeepsInvariants(limit: Int) {
        var pool = ResourcePoolState<Int, UInt64>(limit: limit)
        var rng = UInt64(limit) &* 0x9E37_79B9_7F4A_7C15
        func next() -> UInt64 {
            rng = rng &* 6364136223846793005 &+ 1442695040888963407
            return rng >> 33
        }
        var held: [Int] = []
        var waiting: [UInt64] = []
        var created = 0
        for step in 0..<20_000 {
            let id = UInt64(step)
            switch next() % 3 {
            case 0:
                switch pool.acquire(id: id, waiter: id) {
                case .create:
                    created += 1
                    held.append(created)
                case .reuse(let r): held.append(r)
                case .wait: waiting.append(id)
                }
            case 1 where !held.isEmpty:
                let r = held.remove(at: Int(next() % UInt64(held.count)))
                if case .resume(let w, let given) = pool.release(r) {
                    #expect(w == waiting.first)
                    waiting.removeFirst()
                    held.append(given)
                }
            default:
                if !waiting.isEmpty {
                    let w = waiting.remove(at: Int(next() % UInt64(waiting.count)))
                    #expect(pool.cancel(id: w) == w)
                }
            }
            #expect(pool.created <= limit)
            #expect(held.count <= limit)
            #expect(pool.inUse == held.count)
            #expect(pool.waiting == waiting.count)
            #expect(Set(held).count == held.count, "a resource was handed out twice")
        }
        #expect(pool.peakInUse <= limit)
    }

    @Test(.timeLimit(.minutes(1)))
    func concurrentTasksNeverHoldMoreThanTheLimit() async throws {
        final class Buffer: Sendable {}
        let pool = ResourcePool(limit: 4) { Buffer() }
        let holding = Locked((now: 0, peak: 0))
        await withDiscardingTaskGroup { group in
            for _ in 0..<64 {
                group.addTask {
                    for _ in 0..<20 {
                        guard let buffer = try? await pool.acquire() else { return }
                        holding.withLock { $0.now += 1; $0.peak = max($0.peak, $0.now) }
                        await Task.yield()
                        holding.withLock { $0.now -= 1 }
                        pool.release(buffer)
                    }
                }
            }
        }
        let stats = pool.statistics
        #expect(stats.created <= 4)
        #expect(stats.peakInUse <= 4)
        #expect(holding.current.peak <= 4)
        #expect(stats.inUse == 0)
        #expect(stats.waiting == 0)
    }

    @Test(.timeLimit(.minutes(1)))
    func aCancelledWaiterHoldsNothing() async throws {
        let pool = ResourcePool(limit: 1) { Permit() }
        let held = try await pool.acquire()
        let waiter = Task { try await pool.acquire() }
        // Wait (bounded) until the task is parked, then cancel it.
        for _ in 0..<10_000 where pool.statistics.waiting == 0 { await Task.yield() }
        waiter.cancel()
        await #expect(throws: CancellationError.self) { _ = try await waiter.value }
        #expect(pool.statistics.waiting == 0)
        pool.release(held)
        #expect(pool.statistics.inUse == 0)
        _ = try await pool.acquire()
        #expect(pool.statistics.created == 1)
    }
}
