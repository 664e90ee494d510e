import AWSWire
import Foundation
import SyntheticData

/// Where the processor writes for one input version. Keys derive from the input key and the
/// event's sequencer, so each object version has its own output and a rerun of the same
/// version writes the same keys (a new version of them, as Object Lock allows).
///
/// `in/a.csv` with sequencer `S` → processed `in/a.S.csv`; failed `in/a.S.csv` (the input)
/// and `in/a.S.error.json` (the report). A key not ending in `.csv` keeps its name:
/// `in/a` → `in/a.S.csv`.
package struct ProcessorOutputKeys: Sendable, Hashable {
    package var processed: String
    package var failedInput: String
    package var failedReport: String

    package init(inputKey: String, sequencer: String) {
        let base = inputKey.hasSuffix(".csv") ? String(inputKey.dropLast(4)) : inputKey
        self.processed = "\(base).\(sequencer).csv"
        self.failedInput = "\(base).\(sequencer).csv"
        self.failedReport = "\(base).\(sequencer).error.json"
    }
}

/// What the processor container does for one object version: stream it from the raw
/// bucket, validate and scrub it, write the scrubbed CSV to the processed bucket — or the input
/// and an error report to the failed bucket — and exit.
struct ProcessorTask: Sendable {
    /// How the container exited.
    struct Exit: Sendable, Equatable {
        var code: Int
        var reason: String
        /// `s3://bucket/key` of what it wrote (processed output or the failed input).
        var outputLocation: String?
    }

    let io: ObjectIO
    let buckets: EmulatorConfiguration.Buckets
    let configuration: PipelineConfiguration.Processor
    let counters: PipelineCounters

    /// Runs the container's work for `event`. Never throws: every problem is an exit code,
    /// as a container's would be.
    func run(_ event: ObjectCreatedEvent, fault: TaskFault?) async -> Exit {
        let keys = ProcessorOutputKeys(inputKey: event.key, sequencer: event.sequencer)
        let processedLocation = "s3://\(self.buckets.processed)/\(keys.processed)"
        let failedLocation = "s3://\(self.buckets.failed)/\(keys.failedInput)"
        switch fault {
        case .exit(let code, let reason)?:
            return Exit(code: code, reason: reason, outputLocation: nil)
        case .dropOutput?:
            // A processor bug: claims success, writes nothing.
            return Exit(code: 0, reason: "Essential container in task exited", outputLocation: processedLocation)
        case .crash?, nil:
            break
        }
        // One read for the three lookups: an earlier output, an earlier report, the input.
        let found: [Result<ObjectRecord, any Error>]
        do {
            found = try await self.io.objects([
                (self.buckets.processed, keys.processed, nil), (self.buckets.failed, keys.failedReport, nil),
                (event.bucket, event.key, event.versionId),
            ])
        } catch is CancellationError {
            return Exit(code: 143, reason: "Task stopped: the pipeline is shutting down", outputLocation: nil)
        } catch {
            return Exit(code: 1, reason: "processor error: \(error)", outputLocation: nil)
        }
        // Idempotent reruns (a retry after a crash of the workflow, a resumed execution): an
        // output already published for this version is not written again.
        if (try? found[0].get()) != nil {
            return Exit(code: 0, reason: "Essential container in task exited", outputLocation: processedLocation)
        }
        if let report = try? found[1].get() {
            // Rejected by an earlier attempt: the same verdict, from its report.
            let defect = (try? self.io.readAll(report, limit: 1 << 20)).flatMap { try? JSONValue.parse($0) }
            let kind = defect?["defect"]?.stringValue ?? "invalid"
            let message = defect?["message"]?.stringValue ?? "see \(keys.failedReport)"
            return Exit(code: 2, reason: "invalid CSV: \(kind): \(message) (rejected by an earlier attempt)", outputLocation: failedLocation)
        }
        do {
            let input = try found[2].get()
            return try await self.process(input, event: event, keys: keys, crashAfter: fault.flatMap(\.crashFraction))
        } catch let error as S3Error where error.code == .noSuchKey || error.code == .noSuchVersion {
            return Exit(code: 1, reason: "input s3://\(event.bucket)/\(event.key) not found: \(error.message)", outputLocation: nil)
        } catch is CancellationError {
            return Exit(code: 143, reason: "Task stopped: the pipeline is shutting down", outputLocation: nil)
        } catch {
            return Exit(code: 1, reason: "processor error: \(error)", outputLocation: nil)
        }
    }

    private func process(_ input: ObjectRecord, event: ObjectCreatedEvent, keys: ProcessorOutputKeys, crashAfter: Double?) async throws -> Exit {
        let chunkBytes = self.configuration.chunkBytes
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkBytes, alignment: 16)
        defer { buffer.deallocate() }
        let reader = self.io.reader(input)
        var first = try reader.read(into: buffer)
        var processor = CSVProcessor(configuration: self.processorConfiguration(firstChunk: UnsafeRawBufferPointer(rebasing: buffer[0..<first])))
        let writer = try self.io.makeWriter(bucket: self.buckets.processed, key: keys.processed)
        let crashAt = crashAfter.map { Int64(Double(input.size) * min(1, max(0, $0))) }
        var consumed: Int64 = 0
        while first > 0 {
            try processor.process(UnsafeRawBufferPointer(rebasing: buffer[0..<first])) { try writer.write($0) }
            consumed += Int64(first)
            if processor.failure != nil { break }
            if let crashAt, consumed >= crashAt {
                // The writer is dropped unpublished: its file is removed, no object appears.
                self.counters.add(.tasksCrashed)
                return Exit(code: 137, reason: "OutOfMemoryError: Container killed due to memory usage", outputLocation: nil)
            }
            try Task.checkCancellation()
            await Task.yield()
            first = try reader.read(into: buffer)
        }
        let outcome = try processor.finish { try writer.write($0) }
        switch outcome {
        case .succeeded(let summary):
            _ = try await writer.publish(
                contentType: "text/csv",
                metadata: ["source": "s3://\(event.bucket)/\(event.key)", "source-sequencer": event.sequencer, "rows": String(summary.rows)]
            )
            self.counters.add(.filesProcessed)
            self.counters.add(.rowsProcessed, summary.rows)
            self.counters.add(.bytesIn, summary.bytesIn)
            self.counters.add(.bytesOut, summary.bytesOut)
            self.counters.add(.valuesRedacted, summary.redactions.totalRedactions + summary.redactions.maskedFields)
            return Exit(code: 0, reason: "Essential container in task exited", outputLocation: "s3://\(self.buckets.processed)/\(keys.processed)")
        case .failed(let defect):
            try await self.reject(input, event: event, keys: keys, defect: defect)
            self.counters.add(.filesRejected)
            return Exit(
                code: 2, reason: "invalid CSV: \(defect)", outputLocation: "s3://\(self.buckets.failed)/\(keys.failedInput)"
            )
        }
    }

    /// Copies the input to the failed bucket, then writes the error report next to it.
    private func reject(_ input: ObjectRecord, event: ObjectCreatedEvent, keys: ProcessorOutputKeys, defect: CSVValidationError) async throws {
        let chunkBytes = self.configuration.chunkBytes
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkBytes, alignment: 16)
        defer { buffer.deallocate() }
        let reader = self.io.reader(input)
        let copy = try self.io.makeWriter(bucket: self.buckets.failed, key: keys.failedInput)
        while true {
            let count = try reader.read(into: buffer)
            if count == 0 { break }
            try copy.write(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
            await Task.yield()
        }
        let source = "s3://\(event.bucket)/\(event.key)" + (event.versionId.map { "?versionId=\($0)" } ?? "")
        _ = try await copy.publish(contentType: "text/csv", metadata: ["source": source, "source-sequencer": event.sequencer])
        let report = try self.io.makeWriter(bucket: self.buckets.failed, key: keys.failedReport)
        try report.write(ProcessorErrorReport(error: defect, input: source).jsonBytes())
        _ = try await report.publish(contentType: "application/json", metadata: ["source": source])
    }

    /// The schema whose header the file has (validate against it, mask its PII columns). With
    /// no match, the closest schema (same column count, else the first), so the processor
    /// reports the header mismatch itself. With no schemas: any header, detectors only.
    func processorConfiguration(firstChunk: UnsafeRawBufferPointer) -> CSVProcessor.Configuration {
        let schemas = self.configuration.schemas
        guard !schemas.isEmpty else {
            return CSVProcessor.Configuration(scrub: ScrubPolicy(maskedColumns: [], mask: self.configuration.mask))
        }
        let header = Self.headerNames(firstChunk)
        let schema = schemas.first { $0.columnNames == header }
            ?? schemas.first { $0.columnNames.count == header.count }
            ?? schemas[0]
        return CSVProcessor.Configuration(schema: schema, mask: self.configuration.mask)
    }

    /// The names in the first line (simple unquoting), for choosing a schema.
    static func headerNames(_ chunk: UnsafeRawBufferPointer) -> [String] {
        let end = chunk.firstIndex(of: 0x0A) ?? chunk.count
        var line = Array(chunk[0..<end])
        if line.last == 0x0D { line.removeLast() }
        return String(decoding: line, as: UTF8.self).split(separator: ",", omittingEmptySubsequences: false).map { field in
            var name = String(field)
            if name.hasPrefix("\""), name.hasSuffix("\""), name.count >= 2 {
                name = String(name.dropFirst().dropLast()).replacingOccurrences(of: "\"\"", with: "\"")
            }
            return name
        }
    }
}

extension TaskFault {
    var crashFraction: Double? {
        if case .crash(let fraction) = self { return fraction }
        return nil
    }
}
