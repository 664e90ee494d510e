import NIOCore

/// Decodes an `aws-chunked` request body (`Content-Encoding: aws-chunked`), as sent with
/// `x-amz-content-sha256: STREAMING-UNSIGNED-PAYLOAD-TRAILER`, `STREAMING-AWS4-HMAC-SHA256-PAYLOAD`
/// and their `-TRAILER` variants:
///
/// ```
/// <hex size>[;chunk-signature=<sig>]\r\n<data>\r\n … 0[;chunk-signature=<sig>]\r\n
/// [<trailer-name>:<value>\r\n …]\r\n
/// ```
///
/// A pure state machine: feed wire buffers in any split; it reports payload bytes (slices of
/// the input, never copied), chunk boundaries with their signature, and trailers.
package struct AWSChunkedDecoder: Sendable {
    /// What the decoder found in the input.
    package enum Event {
        /// Payload bytes (a view into the fed buffer, valid during the callback).
        case data(UnsafeRawBufferPointer)
        /// The end of a chunk's data (also of the final zero-size chunk): its size and `chunk-signature`.
        case chunkEnd(size: Int, signature: String?)
        /// One trailer header (`x-amz-checksum-crc32c: …`, `x-amz-trailer-signature: …`); name lower-cased.
        case trailer(name: String, value: String)
    }

    package struct DecodingError: Error, Sendable, CustomStringConvertible {
        package var reason: String
        package var description: String { "aws-chunked body: \(self.reason)" }
    }

    private enum State: Sendable {
        case sizeLine
        case data(remaining: Int, size: Int, signature: String?)
        case dataCRLF(seen: Int, size: Int, signature: String?)
        case trailerLine
        case done
    }

    private var state: State = .sizeLine
    private var line: [UInt8] = []
    /// Sum of the chunk sizes seen.
    package private(set) var decodedLength: Int64 = 0
    /// Longest size or trailer line accepted.
    private static let maxLine = 8192

    package init() {}

    /// Whether the terminating empty line after the last chunk (and trailers) was seen.
    package var isComplete: Bool {
        if case .done = self.state { return true }
        return false
    }

    package mutating func feed(
        _ bytes: UnsafeRawBufferPointer,
        _ onEvent: (Event) throws -> Void
    ) throws {
        var index = 0
        let count = bytes.count
        while index < count {
            switch self.state {
            case .sizeLine, .trailerLine:
                guard try self.takeLine(bytes, from: &index) else { return }
                try self.finishLine(onEvent)
            case .data(let remaining, let size, let signature):
                let n = min(remaining, count - index)
                try onEvent(.data(UnsafeRawBufferPointer(rebasing: bytes[index..<(index + n)])))
                index += n
                if n == remaining {
                    self.state = .dataCRLF(seen: 0, size: size, signature: signature)
                } else {
                    self.state = .data(remaining: remaining - n, size: size, signature: signature)
                }
            case .dataCRLF(var seen, let size, let signature):
                while seen < 2 && index < count {
                    let expected: UInt8 = seen == 0 ? 13 : 10
                    guard bytes[index] == expected else { throw DecodingError(reason: "chunk data is not followed by CRLF") }
                    seen += 1
                    index += 1
                }
                if seen == 2 {
                    try onEvent(.chunkEnd(size: size, signature: signature))
                    self.state = .sizeLine
                } else {
                    self.state = .dataCRLF(seen: seen, size: size, signature: signature)
                }
            case .done:
                throw DecodingError(reason: "bytes after the end of the body")
            }
        }
    }

    /// Appends bytes up to LF to `line`; returns true when the line is complete (LF consumed).
    private mutating func takeLine(_ bytes: UnsafeRawBufferPointer, from index: inout Int) throws -> Bool {
        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            if byte == 10 {
                if self.line.last == 13 { self.line.removeLast() }
                return true
            }
            self.line.append(byte)
            if self.line.count > Self.maxLine { throw DecodingError(reason: "line longer than \(Self.maxLine) bytes") }
        }
        return false
    }

    private mutating func finishLine(_ onEvent: (Event) throws -> Void) throws {
        defer { self.line.removeAll(keepingCapacity: true) }
        switch self.state {
        case .sizeLine:
            // <hex>[;chunk-signature=<sig>]
            var size = 0
            var position = 0
            var digits = 0
            while position < self.line.count, let digit = Self.hex(self.line[position]) {
                size = size &* 16 &+ Int(digit)
                digits += 1
                position += 1
                guard digits <= 15 else { throw DecodingError(reason: "chunk size too large") }
            }
            guard digits > 0 else { throw DecodingError(reason: "malformed chunk size line") }
            var signature: String?
            if position < self.line.count {
                guard self.line[position] == UInt8(ascii: ";") else { throw DecodingError(reason: "malformed chunk size line") }
                let extensionText = String(decoding: self.line[(position + 1)...], as: UTF8.self)
                let prefix = "chunk-signature="
                if extensionText.hasPrefix(prefix) { signature = String(extensionText.dropFirst(prefix.count)) }
            }
            self.decodedLength += Int64(size)
            if size == 0 {
                try onEvent(.chunkEnd(size: 0, signature: signature))
                self.state = .trailerLine
            } else {
                self.state = .data(remaining: size, size: size, signature: signature)
            }
        case .trailerLine:
            if self.line.isEmpty {
                self.state = .done
                return
            }
            guard let colon = self.line.firstIndex(of: UInt8(ascii: ":")) else {
                throw DecodingError(reason: "malformed trailer line")
            }
            let name = String(decoding: self.line[..<colon], as: UTF8.self).lowercased()
            var value = Substring(String(decoding: self.line[(colon + 1)...], as: UTF8.self))
            while value.first == " " || value.first == "\t" { value = value.dropFirst() }
            while value.last == " " || value.last == "\t" { value = value.dropLast() }
            try onEvent(.trailer(name: name, value: String(value)))
        default:
            break
        }
    }

    private static func hex(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 48...57: byte - 48
        case 65...70: byte - 55
        case 97...102: byte - 87
        default: nil
        }
    }
}
