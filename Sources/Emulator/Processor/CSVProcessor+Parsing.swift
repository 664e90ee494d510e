/// The hot loop: fields of one contiguous region of input.
extension CSVProcessor {
    /// Processes the complete fields of `[0, count)` and returns how many bytes they took
    /// (the start of the first unfinished field). With `final`, the region ends the file.
    /// Sets `failure` and stops at a defect.
    mutating func processRegion(
        _ base: UnsafePointer<UInt8>, count: Int, regionOffset: Int, final: Bool,
        sink: (UnsafeRawBufferPointer) throws -> Void
    ) rethrows -> Int {
        var p = 0
        // Input bytes from here on are copied verbatim, unless a mask or redaction intervenes.
        var copyFrom = 0
        let maxField = configuration.maxFieldBytes
        while true {
            if p >= count && !(final && column > 0) {
                try emit(base + copyFrom, p - copyFrom, sink)
                return p
            }
            let fieldStart = p
            var contentStart = p
            var contentEnd = p
            var next = p
            // 0: comma, 1: line ending, 2: end of file.
            var terminator = 2
            var quoted = false
            if p >= count {
                // An empty last field after a comma, at the end of the file.
            } else if base[p] == 0x22 {
                quoted = true
                contentStart = p &+ 1
                var q = p &+ 1
                while true {
                    q = ByteScan.quoteOrHigh(base, from: q, end: count)
                    if q >= count {
                        if !final { return try incomplete(base, copyFrom, fieldStart, sink) }
                        fail(.unbalancedQuotes, regionOffset + fieldStart, "the file ends inside the quoted field that opens at byte \(regionOffset + fieldStart)")
                        return p
                    }
                    if base[q] >= 0x80 {
                        let length = ByteScan.utf8Sequence(base, at: q, end: count, final: final)
                        if length > 0 {
                            q &+= length
                            continue
                        }
                        if length < 0 { return try incomplete(base, copyFrom, fieldStart, sink) }
                        fail(.invalidUTF8, regionOffset + q, "byte 0x\(String(base[q], radix: 16, uppercase: true)) does not start a valid UTF-8 sequence")
                        return p
                    }
                    if q &+ 1 >= count {
                        if !final { return try incomplete(base, copyFrom, fieldStart, sink) }
                        contentEnd = q
                        next = count
                        break
                    }
                    let c = base[q &+ 1]
                    if c == 0x22 {
                        q &+= 2
                        continue
                    }
                    contentEnd = q
                    if c == 0x2C {
                        next = q &+ 2
                        terminator = 0
                    } else if c == 0x0A {
                        next = q &+ 2
                        terminator = 1
                    } else if c == 0x0D {
                        if q &+ 2 >= count && !final { return try incomplete(base, copyFrom, fieldStart, sink) }
                        guard q &+ 2 < count, base[q &+ 2] == 0x0A else {
                            fail(.bareCarriageReturn, regionOffset + q + 1, "a carriage return is not followed by a line feed")
                            return p
                        }
                        next = q &+ 3
                        terminator = 1
                    } else {
                        fail(.unbalancedQuotes, regionOffset + q + 1, "a character follows the closing quote of the field that opens at byte \(regionOffset + fieldStart)")
                        return p
                    }
                    break
                }
            } else {
                var q = ByteScan.unquotedSpecial(base, from: p, end: count)
                while true {
                    if q >= count {
                        if !final { return try incomplete(base, copyFrom, fieldStart, sink) }
                        contentEnd = count
                        next = count
                        break
                    }
                    let b = base[q]
                    if b >= 0x80 {
                        let length = ByteScan.utf8Sequence(base, at: q, end: count, final: final)
                        if length > 0 {
                            q = ByteScan.unquotedSpecial(base, from: q &+ length, end: count)
                            continue
                        }
                        if length < 0 { return try incomplete(base, copyFrom, fieldStart, sink) }
                        fail(.invalidUTF8, regionOffset + q, "byte 0x\(String(b, radix: 16, uppercase: true)) does not start a valid UTF-8 sequence")
                        return p
                    }
                    contentEnd = q
                    if b == 0x2C {
                        next = q &+ 1
                        terminator = 0
                    } else if b == 0x0A {
                        next = q &+ 1
                        terminator = 1
                    } else if b == 0x0D {
                        if q &+ 1 >= count && !final { return try incomplete(base, copyFrom, fieldStart, sink) }
                        guard q &+ 1 < count, base[q &+ 1] == 0x0A else {
                            fail(.bareCarriageReturn, regionOffset + q, "a carriage return is not followed by a line feed")
                            return p
                        }
                        next = q &+ 2
                        terminator = 1
                    } else {
                        fail(.unbalancedQuotes, regionOffset + q, "a quote inside an unquoted field")
                        return p
                    }
                    break
                }
            }
            if contentEnd &- fieldStart > maxField {
                fail(
                    quoted ? .unbalancedQuotes : .fieldTooLong, regionOffset + fieldStart + maxField,
                    quoted ? "a quoted field runs past \(maxField) bytes: its opening quote (byte \(regionOffset + fieldStart)) is probably never closed" : "a field is longer than \(maxField) bytes"
                )
                return p
            }

            if !headerDone {
                headerNames.append(Self.fieldText(base, contentStart, contentEnd, quoted: quoted))
            } else {
                if column >= columnCount {
                    fail(.wrongColumnCount, regionOffset + fieldStart, "the record has more than the header's \(columnCount) fields")
                    return p
                }
                if scrubbing && contentEnd > contentStart {
                    if masked.unsafelyUnwrapped[column] {
                        try emit(base + copyFrom, fieldStart &- copyFrom, sink)
                        try emit(UnsafePointer(mask), maskCount, sink)
                        copyFrom = quoted ? contentEnd &+ 1 : contentEnd
                        counts.maskedFields &+= 1
                    } else {
                        var at = contentStart
                        while let found = scanner.next(in: base, from: at, floor: at, end: contentEnd) {
                            try emit(base + copyFrom, found.start &- copyFrom, sink)
                            try emit(UnsafePointer(tokens + 32 &* found.kind.index), tokenLengths[found.kind.index], sink)
                            copyFrom = found.end
                            at = found.end
                            counts[found.kind] &+= 1
                        }
                    }
                }
            }

            if terminator == 0 {
                column &+= 1
            } else {
                if !headerDone {
                    guard finishHeader() else { return p }
                } else if column != columnCount &- 1 {
                    if terminator == 2 && column < columnCount &- 1 {
                        fail(.truncatedLastRow, regionOffset + contentEnd, "the last record stops after \(column + 1) of \(columnCount) fields, without a line ending")
                    } else {
                        fail(.wrongColumnCount, regionOffset + contentEnd, "the record has \(column + 1) fields, the header \(columnCount)")
                    }
                    return p
                } else {
                    rows &+= 1
                }
                column = 0
            }
            p = next
            if terminator == 2 {
                try emit(base + copyFrom, p - copyFrom, sink)
                return p
            }
        }
    }

    /// Writes the pending verbatim bytes before the unfinished field and reports where it starts.
    @inline(__always)
    private mutating func incomplete(_ base: UnsafePointer<UInt8>, _ copyFrom: Int, _ fieldStart: Int, _ sink: (UnsafeRawBufferPointer) throws -> Void) rethrows -> Int {
        try emit(base + copyFrom, fieldStart &- copyFrom, sink)
        return fieldStart
    }

    private mutating func fail(_ kind: CSVValidationError.Kind, _ offset: Int, _ message: String) {
        failure = CSVValidationError(kind: kind, row: headerDone ? rows : nil, byteOffset: offset, message: message)
    }

    /// Checks the header and sets up the column masks. False (with `failure` set) on a mismatch.
    private mutating func finishHeader() -> Bool {
        headerDone = true
        if let expected = configuration.expectedHeader, expected != headerNames {
            var detail = "it has \(headerNames.count) columns, expected \(expected.count)"
            if let index = (0..<min(headerNames.count, expected.count)).first(where: { headerNames[$0] != expected[$0] }) {
                detail = "column \(index + 1) is '\(headerNames[index])', expected '\(expected[index])'"
            }
            failure = CSVValidationError(kind: .headerMismatch, row: nil, byteOffset: 0, message: "the header does not match: \(detail) (expected \(expected.joined(separator: ",")))")
            return false
        }
        columnCount = headerNames.count
        let flags = UnsafeMutablePointer<Bool>.allocate(capacity: columnCount)
        let maskedNames = configuration.scrub?.maskedColumns ?? []
        for (index, name) in headerNames.enumerated() { (flags + index).initialize(to: maskedNames.contains(name)) }
        masked = flags
        return true
    }

    /// A header field's text: quotes removed, doubled quotes undone.
    static func fieldText(_ base: UnsafePointer<UInt8>, _ start: Int, _ end: Int, quoted: Bool) -> String {
        var bytes = Array(UnsafeBufferPointer(start: base + start, count: end - start))
        if quoted {
            var unescaped: [UInt8] = []
            var i = 0
            while i < bytes.count {
                unescaped.append(bytes[i])
                i += bytes[i] == 0x22 ? 2 : 1
            }
            bytes = unescaped
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
