import Foundation

/// One line of events.jsonl: an operation (upload, part, ledger transition) or a fault window
/// edge. Written as `{"t":12.345678,"type":"upload","key":"in/000001.csv",...fields}` where `t`
/// is seconds since the run started.
package struct RunEvent: Sendable {
    package var time: Duration
    package var type: String
    package var key: String?
    package var fields: [(String, Value)]

    package enum Value: Sendable, Equatable {
        case string(String)
        case int(Int64)
        case double(Double)
        case bool(Bool)
    }

    package init(time: Duration, type: String, key: String? = nil, fields: [(String, Value)] = []) {
        self.time = time
        self.type = type
        self.key = key
        self.fields = fields
    }

    /// The JSON line, without the newline.
    package func appendJSON(to buffer: inout [UInt8]) {
        buffer.append(contentsOf: "{\"t\":".utf8)
        buffer.append(contentsOf: String(format: "%.6f", time.secondsValue).utf8)
        buffer.append(contentsOf: ",\"type\":".utf8)
        JSONText.appendString(type, to: &buffer)
        if let key {
            buffer.append(contentsOf: ",\"key\":".utf8)
            JSONText.appendString(key, to: &buffer)
        }
        for (name, value) in fields {
            buffer.append(UInt8(ascii: ","))
            JSONText.appendString(name, to: &buffer)
            buffer.append(UInt8(ascii: ":"))
            switch value {
            case let .string(text): JSONText.appendString(text, to: &buffer)
            case let .int(number): buffer.append(contentsOf: String(number).utf8)
            case let .double(number): buffer.append(contentsOf: (number.isFinite ? "\(number)" : "null").utf8)
            case let .bool(flag): buffer.append(contentsOf: (flag ? "true" : "false").utf8)
            }
        }
        buffer.append(UInt8(ascii: "}"))
    }
}

enum JSONText {
    static func appendString(_ text: String, to buffer: inout [UInt8]) {
        buffer.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): buffer.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): buffer.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case 0x0A: buffer.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case 0x0D: buffer.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case 0x09: buffer.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                buffer.append(contentsOf: Array("\\u00".utf8))
                buffer.append(hex[Int(byte >> 4)])
                buffer.append(hex[Int(byte & 0xF)])
            default: buffer.append(byte)
            }
        }
        buffer.append(UInt8(ascii: "\""))
    }
}

/// Streams events.jsonl: lines go into a fixed-size buffer that is written out whenever it
/// fills, so memory stays bounded however long the run. Thread-safe (one lock; no awaits
/// inside). A write error is kept and thrown by ``close()``; the run is never interrupted by it.
package final class EventsWriter: @unchecked Sendable {
    private let lock = NSLock()
    private let handle: FileHandle
    private var buffer: [UInt8]
    private let capacity: Int
    private var firstError: (any Error)?
    private var closed = false
    private var written: Int = 0

    /// Creates (or truncates) the file. `bufferBytes` bounds the memory used. Default 64 KiB.
    package init(path: String, bufferBytes: Int = 64 << 10) throws {
        guard FileManager.default.createFile(atPath: path, contents: nil) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
        }
        handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        capacity = max(4096, bufferBytes)
        buffer = []
        buffer.reserveCapacity(capacity + 1024)
    }

    /// Events written so far.
    package var count: Int { lock.withLock { written } }

    package func write(_ event: RunEvent) {
        lock.withLock {
            guard !closed else { return }
            event.appendJSON(to: &buffer)
            buffer.append(0x0A)
            written += 1
            if buffer.count >= capacity { flushLocked() }
        }
    }

    /// Writes out what is buffered.
    package func flush() {
        lock.withLock { flushLocked() }
    }

    private func flushLocked() {
        guard !buffer.isEmpty else { return }
        if firstError == nil {
            do { try handle.write(contentsOf: buffer) } catch { firstError = error }
        }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Flushes and closes; throws the first write error, if any. Later writes are ignored.
    package func close() throws {
        let error: (any Error)? = lock.withLock {
            guard !closed else { return nil }
            flushLocked()
            closed = true
            do { try handle.close() } catch { if firstError == nil { firstError = error } }
            return firstError
        }
        if let error { throw error }
    }

    deinit {
        if !closed {
            flushLocked()
            try? handle.close()
        }
    }
}
