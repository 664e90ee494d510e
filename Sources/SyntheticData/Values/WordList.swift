import Foundation

/// An immutable list of short byte strings stored back to back, for copying words into
/// rows without `String` on the hot path.
package final class WordList: Sendable {
    package let name: String
    /// The words, concatenated.
    private let storage: [UInt8]
    /// `starts[i]..<starts[i + 1]` is word `i`; `count + 1` entries.
    private let starts: [Int32]
    package let maxLength: Int

    package var count: Int { starts.count - 1 }

    package init(name: String, words: [String]) {
        precondition(!words.isEmpty, "a word list needs at least one word")
        self.name = name
        var storage: [UInt8] = []
        var starts: [Int32] = [0]
        var maxLength = 0
        for word in words {
            storage.append(contentsOf: word.utf8)
            starts.append(Int32(storage.count))
            maxLength = max(maxLength, word.utf8.count)
        }
        self.storage = storage
        self.starts = starts
        self.maxLength = maxLength
    }

    /// Parses a dictionary file: one entry per line, `#` comments and blank lines skipped.
    package convenience init(name: String, fileContents: String) {
        let words = fileContents.split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.hasPrefix("#") }
        self.init(name: name, words: words)
    }

    @inline(__always)
    package func word(_ index: Int) -> ArraySlice<UInt8> {
        storage[Int(starts[index])..<Int(starts[index + 1])]
    }

    package func string(_ index: Int) -> String {
        String(decoding: word(index), as: UTF8.self)
    }

    /// Copies word `index` to `out`; `lowercase` folds ASCII letters and drops spaces and
    /// apostrophes (for e-mail local parts). Returns the number of bytes written.
    @inline(__always)
    package func copy(_ index: Int, to out: UnsafeMutablePointer<UInt8>, lowercase: Bool = false) -> Int {
        let start = Int(starts[index])
        let end = Int(starts[index + 1])
        return storage.withUnsafeBufferPointer { buffer in
            if !lowercase {
                (out).update(from: buffer.baseAddress! + start, count: end - start)
                return end - start
            }
            var written = 0
            for i in start..<end {
                let byte = buffer[i]
                if byte == 0x20 || byte == 0x27 { continue }
                out[written] = (byte >= 0x41 && byte <= 0x5A) ? byte | 0x20 : byte
                written += 1
            }
            return written
        }
    }
}
