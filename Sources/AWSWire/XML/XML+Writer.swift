import NIOCore

extension XML {
    /// An escaping XML writer that appends UTF-8 bytes; for small request bodies such as
    /// CompleteMultipartUpload. Elements must be closed in order (checked in debug builds).
    package struct Writer: Sendable {
        package private(set) var bytes: [UInt8]
        private var open: [String] = []

        /// Starts a document with `<?xml version="1.0" encoding="UTF-8"?>` when `declaration` is true.
        package init(declaration: Bool = true, reservingCapacity capacity: Int = 256) {
            self.bytes = []
            self.bytes.reserveCapacity(capacity)
            if declaration {
                self.raw("<?xml version=\"1.0\" encoding=\"UTF-8\"?>")
            }
        }

        private mutating func raw(_ s: String) {
            self.bytes.append(contentsOf: s.utf8)
        }

        /// Opens `<name attr="v">`. Names are written as given (they are our own constants).
        package mutating func open(_ name: String, attributes: [(name: String, value: String)] = []) {
            self.bytes.append(UInt8(ascii: "<"))
            self.raw(name)
            for attribute in attributes {
                self.bytes.append(UInt8(ascii: " "))
                self.raw(attribute.name)
                self.raw("=\"")
                self.escaped(attribute.value)
                self.bytes.append(UInt8(ascii: "\""))
            }
            self.bytes.append(UInt8(ascii: ">"))
            self.open.append(name)
        }

        package mutating func close(_ name: String) {
            let last = self.open.popLast()
            assert(last == name, "XML.Writer: closing </\(name)> but <\(last ?? "nothing")> is open")
            self.raw("</")
            self.raw(name)
            self.bytes.append(UInt8(ascii: ">"))
        }

        /// `<name>escaped text</name>`.
        package mutating func element(_ name: String, text: String) {
            self.open(name)
            self.escaped(text)
            self.close(name)
        }

        /// Escaped character data.
        package mutating func text(_ text: String) {
            self.escaped(text)
        }

        /// Whether every opened element was closed.
        package var isComplete: Bool { self.open.isEmpty }

        /// The document as a `ByteBuffer`.
        package func byteBuffer(allocator: ByteBufferAllocator = ByteBufferAllocator()) -> ByteBuffer {
            var buffer = allocator.buffer(capacity: self.bytes.count)
            buffer.writeBytes(self.bytes)
            return buffer
        }

        private mutating func escaped(_ s: String) {
            for b in s.utf8 {
                switch b {
                case UInt8(ascii: "&"): self.raw("&amp;")
                case UInt8(ascii: "<"): self.raw("&lt;")
                case UInt8(ascii: ">"): self.raw("&gt;")
                case UInt8(ascii: "\""): self.raw("&quot;")
                case UInt8(ascii: "'"): self.raw("&apos;")
                case 0x0D: self.raw("&#xD;")  // would otherwise be normalised away by the reader
                default: self.bytes.append(b)
                }
            }
        }
    }
}

extension XML {
    /// Escapes `&`, `<`, `>`, `"`, `'` for use in text or attribute values.
    package static func escape(_ s: String) -> String {
        var writer = Writer(declaration: false, reservingCapacity: s.utf8.count)
        writer.text(s)
        return String(decoding: writer.bytes, as: UTF8.self)
    }
}
