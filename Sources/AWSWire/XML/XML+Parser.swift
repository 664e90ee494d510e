import NIOCore

extension XML {
    /// Limits that keep a hostile or broken peer from making the parser do unbounded work.
    package struct ParserLimits: Sendable, Hashable {
        /// Maximum element nesting depth. Default 64 (S3 responses nest 3-4 deep).
        package var maxDepth: Int = 64

        package init(maxDepth: Int = 64) {
            self.maxDepth = maxDepth
        }
    }

    /// Parses a whole document and returns its root element.
    package static func parse(_ bytes: UnsafeRawBufferPointer, limits: ParserLimits = .init()) throws(ParseError) -> Element {
        var parser = Parser(bytes: bytes, limits: limits)
        return try parser.parseDocument()
    }

    package static func parse(_ bytes: [UInt8], limits: ParserLimits = .init()) throws(ParseError) -> Element {
        do {
            return try bytes.withUnsafeBytes { try XML.parse($0, limits: limits) }
        } catch let error as ParseError {
            throw error
        } catch {
            preconditionFailure("unreachable: \(error)")
        }
    }

    package static func parse(_ buffer: ByteBuffer, limits: ParserLimits = .init()) throws(ParseError) -> Element {
        do {
            return try buffer.withUnsafeReadableBytes { try XML.parse($0, limits: limits) }
        } catch let error as ParseError {
            throw error
        } catch {
            preconditionFailure("unreachable: \(error)")
        }
    }

    package static func parse(_ string: String, limits: ParserLimits = .init()) throws(ParseError) -> Element {
        try XML.parse(Array(string.utf8), limits: limits)
    }
}

/// A single-pass, non-recursive parser over bytes.
private struct Parser {
    let bytes: UnsafeRawBufferPointer
    let limits: XML.ParserLimits
    var i = 0

    init(bytes: UnsafeRawBufferPointer, limits: XML.ParserLimits) {
        self.bytes = bytes
        self.limits = limits
    }

    /// An open element: qualified name (to check the end tag), element under construction, text bytes.
    private struct Open {
        var qname: ArraySlice<UInt8>
        var element: XML.Element
        var text: [UInt8]
    }

    private func fail(_ reason: String) -> XML.ParseError {
        XML.ParseError(reason: reason, offset: self.i)
    }

    private var atEnd: Bool { self.i >= self.bytes.count }

    private func peek(_ offset: Int = 0) -> UInt8? {
        let j = self.i + offset
        return j < self.bytes.count ? self.bytes[j] : nil
    }

    private func hasPrefix(_ literal: StaticString) -> Bool {
        let n = literal.utf8CodeUnitCount
        guard self.i + n <= self.bytes.count else { return false }
        let p = literal.utf8Start
        for k in 0..<n where self.bytes[self.i + k] != p[k] { return false }
        return true
    }

    /// Advances past `terminator`; fails if it never occurs.
    private mutating func skip(past terminator: StaticString, what: String) throws(XML.ParseError) {
        while !self.atEnd {
            if self.hasPrefix(terminator) {
                self.i += terminator.utf8CodeUnitCount
                return
            }
            self.i += 1
        }
        throw self.fail("unterminated \(what)")
    }

    private static func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D }

    private static func isNameByte(_ b: UInt8) -> Bool {
        // Letters, digits, '_', ':', '-', '.', and any non-ASCII byte (UTF-8 name characters).
        (b >= 0x61 && b <= 0x7A) || (b >= 0x41 && b <= 0x5A) || (b >= 0x30 && b <= 0x39)
            || b == 0x5F || b == 0x3A || b == 0x2D || b == 0x2E || b >= 0x80
    }

    private mutating func skipSpaces() {
        while let b = self.peek(), Parser.isSpace(b) { self.i += 1 }
    }

    private mutating func readName() throws(XML.ParseError) -> ArraySlice<UInt8> {
        let start = self.i
        while let b = self.peek(), Parser.isNameByte(b) { self.i += 1 }
        guard self.i > start else { throw self.fail("expected a name") }
        return ArraySlice(self.bytes[start..<self.i])
    }

    /// Local part of a qualified name.
    private static func localName(_ qname: ArraySlice<UInt8>) -> String {
        if let colon = qname.lastIndex(of: 0x3A), !qname.starts(with: Array("xmlns".utf8)) {
            return String(decoding: qname[(colon + 1)...], as: UTF8.self)
        }
        return String(decoding: qname, as: UTF8.self)
    }

    mutating func parseDocument() throws(XML.ParseError) -> XML.Element {
        // Byte order mark.
        if self.hasPrefix("\u{FEFF}") { self.i += 3 }
        var stack: [Open] = []
        var root: XML.Element?

        while !self.atEnd {
            if self.peek() != UInt8(ascii: "<") {
                // Character data.
                if stack.isEmpty {
                    guard let b = self.peek(), Parser.isSpace(b) else {
                        throw self.fail("text outside the root element")
                    }
                    self.i += 1
                    continue
                }
                try self.readText(into: &stack[stack.count - 1].text)
                continue
            }
            if self.hasPrefix("<?") {
                try self.skip(past: "?>", what: "processing instruction")
            } else if self.hasPrefix("<!--") {
                self.i += 4
                try self.skip(past: "-->", what: "comment")
            } else if self.hasPrefix("<![CDATA[") {
                guard !stack.isEmpty else { throw self.fail("CDATA outside the root element") }
                self.i += 9
                let start = self.i
                try self.skip(past: "]]>", what: "CDATA section")
                stack[stack.count - 1].text.append(contentsOf: self.bytes[start..<(self.i - 3)])
            } else if self.hasPrefix("<!DOCTYPE") {
                guard stack.isEmpty, root == nil else { throw self.fail("misplaced DOCTYPE") }
                try self.skipDoctype()
            } else if self.hasPrefix("</") {
                self.i += 2
                let qname = try self.readName()
                self.skipSpaces()
                guard self.peek() == UInt8(ascii: ">") else { throw self.fail("expected '>' in end tag") }
                self.i += 1
                guard let open = stack.popLast() else { throw self.fail("unexpected end tag") }
                guard open.qname.elementsEqual(qname) else {
                    throw self.fail(
                        "end tag </\(String(decoding: qname, as: UTF8.self))> does not match <\(String(decoding: open.qname, as: UTF8.self))>"
                    )
                }
                var element = open.element
                element.text = String(decoding: open.text, as: UTF8.self)
                if stack.isEmpty {
                    root = element
                } else {
                    stack[stack.count - 1].element.children.append(element)
                }
            } else {
                // Start tag.
                guard root == nil else { throw self.fail("more than one root element") }
                self.i += 1
                let qname = try self.readName()
                var element = XML.Element(name: Parser.localName(qname))
                var selfClosing = false
                while true {
                    self.skipSpaces()
                    guard let b = self.peek() else { throw self.fail("unterminated start tag") }
                    if b == UInt8(ascii: ">") {
                        self.i += 1
                        break
                    }
                    if b == UInt8(ascii: "/") {
                        guard self.peek(1) == UInt8(ascii: ">") else { throw self.fail("expected '/>'") }
                        self.i += 2
                        selfClosing = true
                        break
                    }
                    let attrName = try self.readName()
                    self.skipSpaces()
                    guard self.peek() == UInt8(ascii: "=") else { throw self.fail("expected '=' after attribute name") }
                    self.i += 1
                    self.skipSpaces()
                    guard let quote = self.peek(), quote == UInt8(ascii: "\"") || quote == UInt8(ascii: "'") else {
                        throw self.fail("expected a quoted attribute value")
                    }
                    self.i += 1
                    var value: [UInt8] = []
                    while true {
                        guard let c = self.peek() else { throw self.fail("unterminated attribute value") }
                        if c == quote {
                            self.i += 1
                            break
                        }
                        if c == UInt8(ascii: "<") { throw self.fail("'<' in attribute value") }
                        if c == UInt8(ascii: "&") {
                            try self.readReference(into: &value)
                        } else {
                            value.append(c)
                            self.i += 1
                        }
                    }
                    element.attributes.append(
                        XML.Attribute(name: Parser.localName(attrName), value: String(decoding: value, as: UTF8.self))
                    )
                }
                if selfClosing {
                    if stack.isEmpty {
                        root = element
                    } else {
                        stack[stack.count - 1].element.children.append(element)
                    }
                } else {
                    guard stack.count < self.limits.maxDepth else {
                        throw self.fail("elements nested deeper than \(self.limits.maxDepth)")
                    }
                    stack.append(Open(qname: qname, element: element, text: []))
                }
            }
        }
        guard stack.isEmpty else {
            throw self.fail("unclosed element <\(String(decoding: stack[stack.count - 1].qname, as: UTF8.self))>")
        }
        guard let root else { throw self.fail("no root element") }
        return root
    }

    private mutating func readText(into text: inout [UInt8]) throws(XML.ParseError) {
        while let b = self.peek(), b != UInt8(ascii: "<") {
            if b == UInt8(ascii: "&") {
                try self.readReference(into: &text)
            } else {
                // Copy a run of plain bytes at once.
                let start = self.i
                while let c = self.peek(), c != UInt8(ascii: "<"), c != UInt8(ascii: "&") { self.i += 1 }
                text.append(contentsOf: self.bytes[start..<self.i])
            }
        }
    }

    /// Decodes `&name;` or `&#N;` / `&#xH;` at the cursor.
    private mutating func readReference(into out: inout [UInt8]) throws(XML.ParseError) {
        let start = self.i
        self.i += 1  // '&'
        var end = self.i
        while end < self.bytes.count, self.bytes[end] != UInt8(ascii: ";"), end - start < 16 { end += 1 }
        guard end < self.bytes.count, self.bytes[end] == UInt8(ascii: ";") else {
            self.i = start
            throw self.fail("unterminated entity reference")
        }
        let body = self.bytes[self.i..<end]
        self.i = end + 1
        if body.first == UInt8(ascii: "#") {
            var scalar: UInt32 = 0
            var digits = body.dropFirst()
            let hex = digits.first == UInt8(ascii: "x") || digits.first == UInt8(ascii: "X")
            if hex { digits = digits.dropFirst() }
            guard !digits.isEmpty else { throw XML.ParseError(reason: "empty character reference", offset: start) }
            for d in digits {
                let v: UInt32
                switch d {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): v = UInt32(d - UInt8(ascii: "0"))
                case UInt8(ascii: "a")...UInt8(ascii: "f") where hex: v = UInt32(d - UInt8(ascii: "a") + 10)
                case UInt8(ascii: "A")...UInt8(ascii: "F") where hex: v = UInt32(d - UInt8(ascii: "A") + 10)
                default: throw XML.ParseError(reason: "bad character reference", offset: start)
                }
                scalar = scalar * (hex ? 16 : 10) + v
                guard scalar <= 0x10FFFF else { throw XML.ParseError(reason: "character reference out of range", offset: start) }
            }
            guard let u = Unicode.Scalar(scalar) else {
                throw XML.ParseError(reason: "character reference to a surrogate", offset: start)
            }
            UTF8.encode(u) { out.append($0) }
            return
        }
        switch String(decoding: body, as: UTF8.self) {
        case "amp": out.append(UInt8(ascii: "&"))
        case "lt": out.append(UInt8(ascii: "<"))
        case "gt": out.append(UInt8(ascii: ">"))
        case "quot": out.append(UInt8(ascii: "\""))
        case "apos": out.append(UInt8(ascii: "'"))
        case let name: throw XML.ParseError(reason: "unknown entity &\(name);", offset: start)
        }
    }

    /// Skips `<!DOCTYPE ...>` including a bracketed internal subset (never interpreted).
    private mutating func skipDoctype() throws(XML.ParseError) {
        var bracket = 0
        while let b = self.peek() {
            self.i += 1
            if b == UInt8(ascii: "[") { bracket += 1 }
            if b == UInt8(ascii: "]") { bracket -= 1 }
            if b == UInt8(ascii: ">") && bracket <= 0 { return }
        }
        throw self.fail("unterminated DOCTYPE")
    }
}
