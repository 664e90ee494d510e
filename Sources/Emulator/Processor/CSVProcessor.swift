import NIOCore
import SyntheticData

/// What the pipeline's processor task does to one file, as pure byte-level code: validates
/// the CSV (RFC 4180, UTF-8, header, column count) and writes a PII-scrubbed copy to a
/// sink, in one streaming pass over chunks cut anywhere. Independent of S3 and of time.
///
/// Feed chunks with `process(_:to:)`, then call `finish(to:)` once. The output goes to the
/// sink as it is produced (through a fixed buffer), so memory stays bounded by the buffer
/// and the longest field (`maxFieldBytes`). After a defect the processor ignores further
/// input; `failure` tells the caller it can stop early. Output already written for a failed
/// file is partial: the caller must not publish it.
package struct CSVProcessor: ~Copyable {
    package struct Configuration: Sendable {
        /// When set, the header must be exactly these names. Default nil (any header).
        package var expectedHeader: [String]?
        /// How to scrub; nil validates only and writes nothing. Default nil.
        package var scrub: ScrubPolicy?
        /// The longest field accepted (bytes, quotes included), which bounds memory.
        /// Default 1 MiB. A quoted field that runs past it is reported as unbalanced quotes.
        package var maxFieldBytes: Int
        /// Output is handed to the sink in pieces of at most this size. Default 256 KiB.
        package var outputBufferBytes: Int

        package init(expectedHeader: [String]? = nil, scrub: ScrubPolicy? = nil, maxFieldBytes: Int = 1 << 20, outputBufferBytes: Int = 256 << 10) {
            self.expectedHeader = expectedHeader
            self.scrub = scrub
            self.maxFieldBytes = max(16, maxFieldBytes)
            self.outputBufferBytes = max(64, outputBufferBytes)
        }

        /// Validate against the schema's header and mask its PII columns.
        package init(schema: Schema, mask: String = "***") {
            self.init(expectedHeader: schema.columnNames, scrub: ScrubPolicy(schema: schema, mask: mask))
        }
    }

    package let configuration: Configuration
    let scanner: PIIScanner
    let scrubbing: Bool
    let mask: UnsafeMutablePointer<UInt8>
    let maskCount: Int
    /// `[REDACTED:…]` per kind, 32 bytes apart, and their lengths.
    let tokens: UnsafeMutablePointer<UInt8>
    let tokenLengths: UnsafeMutablePointer<Int>

    // Parse state.
    var headerDone = false
    var headerNames: [String] = []
    var columnCount = 0
    var masked: UnsafeMutablePointer<Bool>?
    /// The field index in the current record (header included).
    var column = 0
    /// Data rows completed; the index of the current data record.
    var rows = 0
    /// Absolute offset of the first input byte not yet consumed (the carry's first byte).
    var consumedOffset = 0
    var bytesIn = 0
    var bytesOut = 0
    var counts = RedactionCounts()
    /// The unfinished field at the end of the last chunk.
    var carry: UnsafeMutablePointer<UInt8>
    var carryCount = 0
    var carryCapacity: Int
    var out: UnsafeMutablePointer<UInt8>
    var outCount = 0
    let outCapacity: Int
    var finished = false
    /// The first defect, once found.
    package internal(set) var failure: CSVValidationError?

    package init(configuration: Configuration) {
        self.configuration = configuration
        let policy = configuration.scrub
        scrubbing = policy != nil
        scanner = PIIScanner(detectors: policy?.detectors ?? [])
        let encodedMask = policy?.encodedMask ?? []
        maskCount = encodedMask.count
        mask = .allocate(capacity: max(1, maskCount))
        mask.initialize(from: encodedMask, count: maskCount)
        tokens = .allocate(capacity: 32 * RedactionKind.allCases.count)
        tokenLengths = .allocate(capacity: RedactionKind.allCases.count)
        for kind in RedactionKind.allCases {
            let token = Array(kind.token.utf8)
            (tokens + 32 * kind.index).initialize(from: token, count: token.count)
            tokenLengths[kind.index] = token.count
        }
        carryCapacity = 4096
        carry = .allocate(capacity: carryCapacity)
        outCapacity = configuration.outputBufferBytes
        out = .allocate(capacity: outCapacity)
    }

    deinit {
        mask.deallocate()
        tokens.deallocate()
        tokenLengths.deallocate()
        carry.deallocate()
        out.deallocate()
        masked?.deallocate()
    }

    /// Data rows so far.
    package var rowCount: Int { rows }

    /// Processes the next chunk of the input. Output for every field completed so far is
    /// written to `sink` (or held in the output buffer until it fills).
    package mutating func process(_ chunk: UnsafeRawBufferPointer, to sink: (UnsafeRawBufferPointer) throws -> Void) rethrows {
        guard failure == nil, !finished, let start = chunk.baseAddress, chunk.count > 0 else { return }
        let base = start.assumingMemoryBound(to: UInt8.self)
        let total = chunk.count
        bytesIn += total
        var offset = 0
        if carryCount > 0 {
            // Extend the unfinished field only as far as a byte that could end it.
            while true {
                if offset >= total { return }
                let candidate = ByteScan.structural(base, from: offset, end: total)
                let upTo = candidate >= total ? total : min(total, candidate + 2)
                appendCarry(base + offset, upTo - offset)
                offset = upTo
                if carryCount > configuration.maxFieldBytes + 3 {
                    failFieldTooLong()
                    return
                }
                if candidate >= total { return }
                let before = carryCount
                let consumed = try processRegion(UnsafePointer(carry), count: carryCount, regionOffset: consumedOffset, final: false, sink: sink)
                if failure != nil { return }
                if consumed > 0 {
                    // The field ended; whatever follows it in the carry came from this chunk.
                    consumedOffset += consumed
                    offset -= before - consumed
                    carryCount = 0
                    break
                }
            }
        }
        let consumed = try processRegion(base + offset, count: total - offset, regionOffset: consumedOffset, final: false, sink: sink)
        if failure != nil { return }
        consumedOffset += consumed
        let rest = total - offset - consumed
        if rest > 0 {
            appendCarry(base + offset + consumed, rest)
            if rest > configuration.maxFieldBytes + 3 { failFieldTooLong() }
        }
    }

    /// Processes a chunk held in a `ByteBuffer` (its readable bytes).
    package mutating func process(_ buffer: ByteBuffer, to sink: (UnsafeRawBufferPointer) throws -> Void) rethrows {
        try buffer.withUnsafeReadableBytes { bytes in
            try self.process(bytes, to: sink)
        }
    }

    /// Processes a chunk and appends the output produced so far to `output` (for async
    /// callers that write ByteBuffers; call `flush(into:)` to drain the internal buffer too).
    package mutating func process(_ buffer: ByteBuffer, into output: inout ByteBuffer) {
        process(buffer) { output.writeBytes($0) }
    }

    /// Hands the buffered output to `sink` now, instead of when the buffer fills.
    package mutating func flush(to sink: (UnsafeRawBufferPointer) throws -> Void) rethrows {
        try flush(sink)
    }

    /// Appends the buffered output to `output`.
    package mutating func flush(into output: inout ByteBuffer) {
        flush(to: { output.writeBytes($0) })
    }

    /// `finish(to:)`, appending the rest of the output to `output`.
    package mutating func finish(into output: inout ByteBuffer) -> ProcessorOutcome {
        finish { output.writeBytes($0) }
    }

    /// Ends the input: checks the last record, writes the rest of the output and returns
    /// the outcome. Call once, after the last chunk.
    package mutating func finish(to sink: (UnsafeRawBufferPointer) throws -> Void) rethrows -> ProcessorOutcome {
        if !finished && failure == nil {
            finished = true
            if bytesIn == 0 {
                failure = CSVValidationError(kind: .emptyFile, row: nil, byteOffset: 0, message: "the file is empty (0 bytes)")
            } else {
                _ = try processRegion(UnsafePointer(carry), count: carryCount, regionOffset: consumedOffset, final: true, sink: sink)
                carryCount = 0
                if failure == nil { try flush(sink) }
            }
        }
        finished = true
        if let failure { return .failed(failure) }
        return .succeeded(ProcessorSummary(rows: rows, bytesIn: bytesIn, bytesOut: bytesOut, redactions: counts))
    }

    /// Processes a whole input in chunks of `chunkSize` bytes; returns the outcome and the
    /// output (for tests and tools).
    package static func run(_ input: [UInt8], chunkSize: Int = 1 << 20, configuration: Configuration) -> (outcome: ProcessorOutcome, output: [UInt8]) {
        var processor = CSVProcessor(configuration: configuration)
        var output: [UInt8] = []
        let append: (UnsafeRawBufferPointer) -> Void = { output.append(contentsOf: $0) }
        input.withUnsafeBytes { bytes in
            var at = 0
            let size = max(1, chunkSize)
            while at < bytes.count && processor.failure == nil {
                let end = min(bytes.count, at + size)
                processor.process(UnsafeRawBufferPointer(rebasing: bytes[at..<end]), to: append)
                at = end
            }
        }
        let outcome = processor.finish(to: append)
        return (outcome, output)
    }

    // MARK: Buffers

    mutating func appendCarry(_ source: UnsafePointer<UInt8>, _ count: Int) {
        if carryCount + count > carryCapacity {
            var capacity = carryCapacity
            while capacity < carryCount + count { capacity *= 2 }
            let grown = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity)
            grown.update(from: carry, count: carryCount)
            carry.deallocate()
            carry = grown
            carryCapacity = capacity
        }
        (carry + carryCount).update(from: source, count: count)
        carryCount += count
    }

    @inline(__always)
    mutating func emit(_ source: UnsafePointer<UInt8>, _ count: Int, _ sink: (UnsafeRawBufferPointer) throws -> Void) rethrows {
        // Validation only writes nothing.
        if count <= 0 || !scrubbing { return }
        if outCount &+ count > outCapacity {
            try flush(sink)
            if count >= outCapacity / 2 {
                try sink(UnsafeRawBufferPointer(start: source, count: count))
                bytesOut += count
                return
            }
        }
        (out + outCount).update(from: source, count: count)
        outCount &+= count
    }

    mutating func flush(_ sink: (UnsafeRawBufferPointer) throws -> Void) rethrows {
        guard outCount > 0 else { return }
        try sink(UnsafeRawBufferPointer(start: out, count: outCount))
        bytesOut += outCount
        outCount = 0
    }

    mutating func failFieldTooLong() {
        let quoted = carry[0] == 0x22
        failure = CSVValidationError(
            kind: quoted ? .unbalancedQuotes : .fieldTooLong,
            row: headerDone ? rows : nil,
            byteOffset: consumedOffset + configuration.maxFieldBytes,
            message: quoted
                ? "a quoted field runs past \(configuration.maxFieldBytes) bytes: its opening quote (byte \(consumedOffset)) is probably never closed"
                : "a field is longer than \(configuration.maxFieldBytes) bytes"
        )
    }
}
