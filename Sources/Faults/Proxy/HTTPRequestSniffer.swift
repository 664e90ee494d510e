import NIOCore

/// Finds HTTP/1.1 request boundaries in a client's byte stream without buffering bodies: heads
/// (parsed, for classification), body bytes (Content-Length or chunked framing, passed on as
/// slices of the input) and each request's end. Keep-alive connections carry several requests.
/// Anything it cannot parse (an oversized head, a malformed line, an Upgrade) switches it to
/// passthrough for the rest of the connection: the bytes still flow, unclassified.
struct HTTPRequestSniffer {
    struct Head: Sendable {
        var method: String
        var uri: String
        var headers: [(name: String, value: String)]
        var contentLength: Int?
        var chunked: Bool
        var expectContinue: Bool
        var connectionClose: Bool
        var upgrade: Bool
    }

    enum Event {
        /// A complete request head and its raw bytes (to forward unchanged).
        case head(Head, ByteBuffer)
        /// Body bytes, framing included.
        case body(ByteBuffer)
        /// The request's last byte has been passed on.
        case end
        /// Bytes of a connection the sniffer no longer parses.
        case passthrough(ByteBuffer)
    }

    private enum State {
        case head
        case fixed(Int)
        case chunkLine
        case chunkData(Int)
        case chunkDataEnd(Int)
        case trailer
        case passthrough
    }

    /// Longest head accepted (S3 allows 8 KiB of user metadata; heads are rarely above 4 KiB).
    static let maximumHeadBytes = 64 << 10

    private var state = State.head
    /// The head so far (heads only; body bytes are never copied).
    private var pendingHead = ByteBuffer()
    /// How much of "\r\n\r\n" the head bytes so far end with.
    private var terminatorMatched = 0
    /// The current chunk-size or trailer line (for parsing only; its bytes are emitted as they come).
    private var line: [UInt8] = []

    var isPassthrough: Bool {
        if case .passthrough = state { return true }
        return false
    }

    /// Body bytes still to come of the current request when it has a `Content-Length` body and
    /// is inside it; nil otherwise (a head, chunked framing, passthrough).
    var fixedBodyRemaining: Int? {
        if case .fixed(let remaining) = state { return remaining }
        return nil
    }

    /// Accounts for `count` body bytes that were forwarded without passing through ``feed(_:_:)``
    /// (spliced in the kernel); emits `.end` when they complete the body. `count` must not exceed
    /// ``fixedBodyRemaining``.
    mutating func skipFixedBody(_ count: Int, _ emit: (Event) -> Void) {
        guard case .fixed(let remaining) = state, count > 0 else { return }
        let n = min(count, remaining)
        if n == remaining {
            emit(.end)
            state = .head
        } else {
            state = .fixed(remaining - n)
        }
    }

    mutating func feed(_ input: ByteBuffer, _ emit: (Event) -> Void) {
        var buffer = input
        while buffer.readableBytes > 0 {
            switch state {
            case .passthrough:
                emit(.passthrough(buffer))
                return
            case .head:
                let (consumed, complete) = scanHead(buffer)
                var part = buffer.readSlice(length: consumed)!
                pendingHead.writeBuffer(&part)
                guard complete else {
                    if pendingHead.readableBytes > Self.maximumHeadBytes { giveUp(rest: &buffer, emit) }
                    continue
                }
                let raw = pendingHead
                pendingHead = ByteBuffer()
                terminatorMatched = 0
                guard let head = Self.parseHead(raw) else {
                    state = .passthrough
                    emit(.passthrough(raw))
                    continue
                }
                emit(.head(head, raw))
                if head.upgrade || head.method == "CONNECT" {
                    emit(.end)
                    state = .passthrough
                } else if head.chunked {
                    state = .chunkLine
                } else if let length = head.contentLength, length > 0 {
                    state = .fixed(length)
                } else {
                    emit(.end)
                    state = .head
                }
            case .fixed(let remaining):
                let n = min(remaining, buffer.readableBytes)
                emit(.body(buffer.readSlice(length: n)!))
                if n == remaining {
                    emit(.end)
                    state = .head
                } else {
                    state = .fixed(remaining - n)
                }
            case .chunkData(let remaining):
                let n = min(remaining, buffer.readableBytes)
                emit(.body(buffer.readSlice(length: n)!))
                state = n == remaining ? .chunkDataEnd(2) : .chunkData(remaining - n)
            case .chunkDataEnd(let remaining):
                let n = min(remaining, buffer.readableBytes)
                emit(.body(buffer.readSlice(length: n)!))
                state = n == remaining ? .chunkLine : .chunkDataEnd(remaining - n)
            case .chunkLine, .trailer:
                let isTrailer: Bool
                if case .trailer = state { isTrailer = true } else { isTrailer = false }
                let newline = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n"))
                let n = newline.map { $0 - buffer.readerIndex + 1 } ?? buffer.readableBytes
                let slice = buffer.readSlice(length: n)!
                line.append(contentsOf: slice.readableBytesView)
                emit(.body(slice))
                guard newline != nil else {
                    if line.count > 4096 { giveUp(rest: &buffer, emit) }
                    continue
                }
                var text = line
                line.removeAll(keepingCapacity: true)
                while let last = text.last, last == UInt8(ascii: "\n") || last == UInt8(ascii: "\r") { text.removeLast() }
                if isTrailer {
                    if text.isEmpty {
                        emit(.end)
                        state = .head
                    }
                    continue
                }
                let sizeText = text.prefix { $0 != UInt8(ascii: ";") }
                guard let size = Int(String(decoding: sizeText, as: UTF8.self).trimmingASCIISpaces(), radix: 16), size >= 0 else {
                    state = .passthrough
                    continue
                }
                state = size == 0 ? .trailer : .chunkData(size)
            }
        }
    }

    private mutating func giveUp(rest buffer: inout ByteBuffer, _ emit: (Event) -> Void) {
        state = .passthrough
        if pendingHead.readableBytes > 0 {
            emit(.passthrough(pendingHead))
            pendingHead = ByteBuffer()
        }
        line.removeAll()
    }

    /// How many bytes of `buffer` belong to the head, and whether the head ends within them.
    private mutating func scanHead(_ buffer: ByteBuffer) -> (Int, Bool) {
        var matched = terminatorMatched
        let result: (Int, Bool) = buffer.withUnsafeReadableBytes { bytes in
            for i in 0..<bytes.count {
                let b = bytes[i]
                let expected: UInt8 = matched % 2 == 0 ? 13 : 10
                if b == expected {
                    matched += 1
                    if matched == 4 { return (i + 1, true) }
                } else {
                    matched = b == 13 ? 1 : 0
                }
            }
            return (bytes.count, false)
        }
        terminatorMatched = result.1 ? 0 : matched
        return result
    }

    static func parseHead(_ raw: ByteBuffer) -> Head? {
        let text = String(decoding: raw.readableBytesView, as: UTF8.self)
        var lines = text.split(separator: "\r\n", omittingEmptySubsequences: false)[...]
        // Tolerate empty lines before the request line (RFC 9112 §2.2).
        while let first = lines.first, first.isEmpty { lines = lines.dropFirst() }
        guard let requestLine = lines.popFirst() else { return nil }
        let parts = requestLine.split(separator: " ", omittingEmptySubsequences: true)
        guard parts.count == 3, parts[2].hasPrefix("HTTP/1.") else { return nil }
        var head = Head(
            method: String(parts[0]), uri: String(parts[1]), headers: [], contentLength: nil, chunked: false, expectContinue: false,
            connectionClose: parts[2] == "HTTP/1.0", upgrade: false
        )
        for line in lines where !line.isEmpty {
            guard let colon = line.firstIndex(of: ":") else { return nil }
            let name = String(line[..<colon])
            let value = String(line[line.index(after: colon)...]).trimmingASCIISpaces()
            head.headers.append((name, value))
            switch name.lowercased() {
            case "content-length":
                guard let length = Int(value), length >= 0 else { return nil }
                head.contentLength = length
            case "transfer-encoding":
                head.chunked = value.lowercased().split(separator: ",").last.map { $0.trimmingCharacters(in: " ") } == "chunked"
            case "expect":
                head.expectContinue = value.lowercased() == "100-continue"
            case "connection":
                let tokens = value.lowercased().split(separator: ",").map { $0.trimmingCharacters(in: " ") }
                if tokens.contains("close") { head.connectionClose = true }
                if tokens.contains("keep-alive") { head.connectionClose = false }
                if tokens.contains("upgrade") { head.upgrade = true }
            default:
                break
            }
        }
        return head
    }
}

extension StringProtocol {
    func trimmingASCIISpaces() -> String {
        String(self.drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }

    func trimmingCharacters(in character: Character) -> String {
        String(self.drop { $0 == character }.reversed().drop { $0 == character }.reversed())
    }
}
