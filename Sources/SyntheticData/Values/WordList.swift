import Foundation

/// An immutable list of short byte strings in a padded fixed-stride table, so that a word
/// is copied into a row with one or two 16-byte stores instead of a `memmove` call.
/// The owner of the memory; the hot path uses its trivial `table` view (no reference
/// counting there, so threads never contend on a shared refcount).
package final class WordList: @unchecked Sendable {
    package let name: String
    package let table: WordTable
    private let raw: UnsafeMutableRawPointer
    private let lengthStorage: UnsafeMutablePointer<UInt8>

    package var count: Int { table.count }
    package var maxLength: Int { table.maxLength }

    package init(name: String, words: [[UInt8]]) {
        precondition(!words.isEmpty, "a word list needs at least one word")
        precondition(words.allSatisfy { $0.count <= 255 }, "word list entries are limited to 255 bytes")
        self.name = name
        let maxLength = words.map(\.count).max()!
        let stride = max(16, (maxLength + 15) / 16 * 16)
        raw = UnsafeMutableRawPointer.allocate(byteCount: words.count * stride + 16, alignment: 16)
        raw.initializeMemory(as: UInt8.self, repeating: 0, count: words.count * stride + 16)
        lengthStorage = .allocate(capacity: words.count)
        for (index, word) in words.enumerated() {
            (raw + index * stride).copyMemory(from: word, byteCount: word.count)
            lengthStorage[index] = UInt8(word.count)
        }
        table = WordTable(base: UnsafeRawPointer(raw), lengths: UnsafePointer(lengthStorage), count: words.count, stride: stride, maxLength: maxLength)
    }

    package convenience init(name: String, words: [String]) {
        self.init(name: name, words: words.map { Array($0.utf8) })
    }

    /// Parses a dictionary file: one entry per line, `#` comments and blank lines skipped.
    package convenience init(name: String, fileContents: String) {
        let words = fileContents.split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.hasPrefix("#") }
        self.init(name: name, words: words)
    }

    deinit {
        raw.deallocate()
        lengthStorage.deallocate()
    }

    package func word(_ index: Int) -> [UInt8] {
        Array(UnsafeRawBufferPointer(start: table.base + index * table.stride, count: Int(table.lengths[index])))
    }

    package func string(_ index: Int) -> String {
        String(decoding: word(index), as: UTF8.self)
    }

    /// The words with ASCII letters lower-cased and spaces and apostrophes dropped (for
    /// e-mail local parts).
    package func lowercased() -> WordList {
        WordList(name: name + ".lower", words: (0..<count).map { index in
            word(index).compactMap { byte -> UInt8? in
                if byte == 0x20 || byte == 0x27 { return nil }
                return (byte >= 0x41 && byte <= 0x5A) ? byte | 0x20 : byte
            }
        })
    }
}

/// A trivial (pointer-only) view of a `WordList`, valid while the list lives.
package struct WordTable: @unchecked Sendable {
    let base: UnsafeRawPointer
    let lengths: UnsafePointer<UInt8>
    package let count: Int
    let stride: Int
    package let maxLength: Int

    /// Copies word `index` to `out` and returns its length. Writes up to 15 bytes past the
    /// word (padding), which the next field overwrites: rows carry slack for it.
    @inline(__always)
    package func copy(_ index: Int, to out: UnsafeMutablePointer<UInt8>) -> Int {
        let source = base + index &* stride
        let length = Int(lengths[index])
        let destination = UnsafeMutableRawPointer(out)
        destination.storeBytes(of: source.load(as: SIMD16<UInt8>.self), as: SIMD16<UInt8>.self)
        var offset = 16
        while offset < length {
            (destination + offset).storeBytes(of: (source + offset).load(as: SIMD16<UInt8>.self), as: SIMD16<UInt8>.self)
            offset &+= 16
        }
        return length
    }

    @inline(__always)
    package func pick(_ random: inout CellRandom) -> Int {
        random.below(count)
    }
}
