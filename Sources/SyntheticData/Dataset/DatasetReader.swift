import Foundation

/// Produces a dataset's bytes in order, as slices pulled by one consumer, with rows
/// generated on `threads` worker threads. The bytes are identical for every thread count:
/// each row is a pure function of (seed, schema, row) and blocks are handed out in order.
///
/// Memory is bounded by `threads × depth × blockCapacity` (a few MiB) whatever the size of
/// the dataset. Use `DatasetGenerator.write` to stream to a file descriptor, or `read(into:)`
/// to cut the stream into upload parts without touching disk.
public final class DatasetReader {
    public private(set) var recipe: DatasetRecipe
    private let encoder: RowEncoder
    private let rowsPerBlock: Int
    private let blockCapacity: Int
    private let workers: [Worker]
    private let state: SharedState
    private var threads: [Thread] = []

    // Consumer position.
    private var nextBlock = 0
    private var pendingHeader: [UInt8]?
    private var finished = false
    private var currentBlock: Block?
    private var currentOwner: Worker?
    private var tail: [UInt8] = []
    private var slice: (base: UnsafeRawPointer, count: Int)?
    private var bytesOut = 0
    private var rowsOut = 0

    /// The byte target (bytes mode) or the number of rows (rows mode).
    private let rowLimit: Int?
    private let byteTarget: Int?

    public init(schema: Schema, recipe: DatasetRecipe, threads: Int = 1) throws {
        guard schema.fingerprint == recipe.schema.fingerprint else {
            throw RecipeError(message: "the recipe was made for another version of schema '\(recipe.schema.name)'")
        }
        self.recipe = recipe
        self.encoder = RowEncoder(schema: schema, seed: recipe.seed, lineEnding: recipe.options.lineEnding)
        var sample = 0
        for row in 0..<32 { sample += encoder.rowBytes(row).count }
        let average = max(1, sample / 32)
        var rowsPerBlock = max(16, (1 << 20) / average)
        if case let .bytes(bytes) = recipe.requested {
            // A small file gets a small block (output is cut at a row boundary either way, so
            // the block size never changes the bytes): 1 KiB files no longer generate 1 MiB.
            rowsPerBlock = min(rowsPerBlock, max(16, 2 * (bytes / average) + 16))
        }
        self.rowsPerBlock = rowsPerBlock
        self.blockCapacity = rowsPerBlock * encoder.maxRowBytes
        switch recipe.requested {
        case let .rows(rows):
            rowLimit = max(0, rows)
            byteTarget = nil
        case let .bytes(bytes):
            rowLimit = nil
            byteTarget = max(0, bytes)
        }
        let threadCount = max(1, threads)
        self.state = SharedState()
        var workers: [Worker] = []
        for index in 0..<threadCount {
            workers.append(Worker(index: index, stride: threadCount, depth: threadCount == 1 ? 1 : 3, capacity: blockCapacity, rowsPerBlock: rowsPerBlock))
        }
        self.workers = workers
        if recipe.options.malformed == .emptyFile {
            finished = true
        } else if recipe.options.header {
            pendingHeader = encoder.header(defect: recipe.options.malformed == .headerMismatch)
        }
        if rowLimit == 0 && recipe.options.malformed != .emptyFile {
            // A header-only file; nothing for the workers to do.
            workers.forEach { $0.stopAfterBlock = -1 }
        }
        if threadCount > 1 && !finished {
            startThreads()
        }
    }

    deinit {
        close()
        for worker in workers { worker.deallocate() }
    }

    /// Stops the workers. Safe to call more than once; `deinit` calls it.
    public func close() {
        state.cancel()
        for worker in workers { worker.wakeAll() }
        for worker in workers { worker.waitUntilStopped() }
        threads.removeAll()
    }

    /// The next piece of output, valid until the next call; nil at the end.
    public func nextSlice() -> UnsafeRawBufferPointer? {
        releaseCurrent()
        if let header = pendingHeader {
            pendingHeader = nil
            tail = header
            bytesOut += header.count
            if let target = byteTarget, bytesOut >= target, rowLimit == nil, recipe.expectation.row == nil,
               recipe.options.malformed != .truncatedLastRow {
                finish()
            }
            return tail.withUnsafeBytes { UnsafeRawBufferPointer(start: $0.baseAddress, count: $0.count) }
        }
        if finished { return nil }
        if let rowLimit, nextBlock * rowsPerBlock >= rowLimit {
            finish()
            return nil
        }
        let owner = workers[nextBlock % workers.count]
        let block: Block
        if threads.isEmpty {
            block = owner.takeFreeBlockInline()
            owner.fill(block, index: nextBlock, encoder: encoder, recipe: recipe, rowLimit: rowLimit)
        } else {
            block = owner.takeFilled(index: nextBlock)
        }
        nextBlock += 1
        currentBlock = block
        currentOwner = owner

        var end = block.length
        var rowsTaken = block.rowCount
        var last = false
        if let rowLimit, block.firstRow + block.rowCount >= rowLimit { last = true }
        if let target = byteTarget {
            // Stop at the first row boundary at or past the target, once the defect row (if any) is out.
            let mustReach = recipe.expectation.row ?? -1
            for i in 0..<block.rowCount where bytesOut + block.rowEnds[i] >= target && block.firstRow + i >= mustReach {
                end = block.rowEnds[i]
                rowsTaken = i + 1
                last = true
                break
            }
        }
        if last && recipe.options.malformed == .truncatedLastRow && rowsTaken > 0 {
            // Re-encode the final row cut short, after the rows before it.
            let lastRow = block.firstRow + rowsTaken - 1
            let lastStart = rowsTaken >= 2 ? block.rowEnds[rowsTaken - 2] : 0
            let truncated = encoder.rowBytes(lastRow, defect: .truncated)
            (block.bytes + lastStart).update(from: truncated, count: truncated.count)
            end = lastStart + truncated.count
            recipe.expectation.row = lastRow
        }
        bytesOut += end
        rowsOut += rowsTaken
        if last { finish() }
        return UnsafeRawBufferPointer(start: block.bytes, count: end)
    }

    /// Copies the next bytes into `buffer`; returns how many (0 at the end). Fills the whole
    /// buffer unless the dataset ends first.
    public func read(into buffer: UnsafeMutableRawBufferPointer) -> Int {
        var filled = 0
        while filled < buffer.count {
            if slice == nil || slice!.count == 0 {
                guard let next = nextSliceForRead() else { break }
                slice = (next.baseAddress!, next.count)
                if next.count == 0 { continue }
            }
            let take = min(slice!.count, buffer.count - filled)
            (buffer.baseAddress! + filled).copyMemory(from: slice!.base, byteCount: take)
            filled += take
            slice = (slice!.base + take, slice!.count - take)
        }
        return filled
    }

    private func nextSliceForRead() -> UnsafeRawBufferPointer? {
        guard let next = nextSlice() else { return nil }
        if next.baseAddress == nil { return UnsafeRawBufferPointer(start: UnsafeRawPointer(bitPattern: 1), count: 0) }
        return next
    }

    private func finish() {
        finished = true
        recipe.rows = rowsOut
        recipe.bytes = bytesOut
        state.cancel()
        for worker in workers { worker.wakeAll() }
    }

    private func releaseCurrent() {
        if let block = currentBlock, let owner = currentOwner {
            owner.giveBack(block)
        }
        currentBlock = nil
        currentOwner = nil
    }

    private func startThreads() {
        for worker in workers {
            let encoder = self.encoder
            let recipe = self.recipe
            let rowLimit = self.rowLimit
            let state = self.state
            let thread = Thread { worker.run(encoder: encoder, recipe: recipe, rowLimit: rowLimit, state: state) }
            thread.name = "csvstorm-generate-\(worker.index)"
            thread.stackSize = 1 << 20
            threads.append(thread)
            worker.markRunning()
            thread.start()
        }
    }
}

/// A block of consecutive rows, encoded.
final class Block: @unchecked Sendable {
    let bytes: UnsafeMutablePointer<UInt8>
    /// `rowEnds[i]` is the end offset of row `firstRow + i` within `bytes`.
    let rowEnds: UnsafeMutablePointer<Int>
    var index = -1
    var firstRow = 0
    var rowCount = 0
    var length = 0

    init(capacity: Int, rowsPerBlock: Int) {
        bytes = .allocate(capacity: capacity)
        rowEnds = .allocate(capacity: rowsPerBlock)
    }

    func deallocate() {
        bytes.deallocate()
        rowEnds.deallocate()
    }
}

final class SharedState: @unchecked Sendable {
    private let lock = NSLock()
    private var cancelled = false

    func cancel() {
        lock.lock()
        cancelled = true
        lock.unlock()
    }

    var isCancelled: Bool {
        lock.lock()
        defer { lock.unlock() }
        return cancelled
    }
}

/// One generating thread's blocks: it fills blocks `index, index + stride, …` into its own
/// small pool and the consumer takes them in order. A bounded pool is the back-pressure.
final class Worker: @unchecked Sendable {
    let index: Int
    let stride: Int
    private let rowsPerBlock: Int
    private let condition = NSCondition()
    private var free: [Block]
    private var filled: [Block] = []
    private var all: [Block]
    private var running = false
    private var cancelled = false
    /// Set to stop before producing any block.
    var stopAfterBlock = Int.max

    init(index: Int, stride: Int, depth: Int, capacity: Int, rowsPerBlock: Int) {
        self.index = index
        self.stride = stride
        self.rowsPerBlock = rowsPerBlock
        let blocks = (0..<depth).map { _ in Block(capacity: capacity, rowsPerBlock: rowsPerBlock) }
        self.free = blocks
        self.all = blocks
    }

    func deallocate() {
        for block in all { block.deallocate() }
        all.removeAll()
    }

    func markRunning() {
        condition.lock()
        running = true
        condition.unlock()
    }

    func run(encoder: RowEncoder, recipe: DatasetRecipe, rowLimit: Int?, state: SharedState) {
        var blockIndex = index
        while !state.isCancelled && blockIndex <= stopAfterBlock {
            if let rowLimit, blockIndex * rowsPerBlock >= rowLimit { break }
            condition.lock()
            while free.isEmpty && !cancelled { condition.wait() }
            if cancelled {
                condition.unlock()
                break
            }
            let block = free.removeLast()
            condition.unlock()
            fill(block, index: blockIndex, encoder: encoder, recipe: recipe, rowLimit: rowLimit)
            condition.lock()
            filled.append(block)
            condition.broadcast()
            condition.unlock()
            blockIndex += stride
        }
        condition.lock()
        running = false
        condition.broadcast()
        condition.unlock()
    }

    /// Encodes the rows of block `index` into `block`.
    func fill(_ block: Block, index: Int, encoder: RowEncoder, recipe: DatasetRecipe, rowLimit: Int?) {
        let first = index * rowsPerBlock
        var count = rowsPerBlock
        if let rowLimit { count = max(0, min(count, rowLimit - first)) }
        var offset = 0
        let defectRow = recipe.expectation.row
        let bytes = block.bytes
        let ends = block.rowEnds
        for i in 0..<count {
            let row = first + i
            if let defectRow, row == defectRow {
                offset += encoder.encode(row: row, defect: recipe.defect(forRow: row), to: bytes + offset)
            } else {
                offset += encoder.encode(row: row, to: bytes + offset)
            }
            ends[i] = offset
        }
        block.index = index
        block.firstRow = first
        block.rowCount = count
        block.length = offset
    }

    /// Waits for block `index` from this worker (blocks arrive in order).
    func takeFilled(index: Int) -> Block {
        condition.lock()
        defer { condition.unlock() }
        while true {
            if let position = filled.firstIndex(where: { $0.index == index }) {
                return filled.remove(at: position)
            }
            condition.wait()
        }
    }

    /// Single-thread mode: the consumer fills blocks itself.
    func takeFreeBlockInline() -> Block {
        condition.lock()
        defer { condition.unlock() }
        return free.removeLast()
    }

    func giveBack(_ block: Block) {
        condition.lock()
        free.append(block)
        condition.broadcast()
        condition.unlock()
    }

    func wakeAll() {
        condition.lock()
        cancelled = true
        condition.broadcast()
        condition.unlock()
    }

    func waitUntilStopped() {
        condition.lock()
        while running { condition.wait() }
        condition.unlock()
    }
}
