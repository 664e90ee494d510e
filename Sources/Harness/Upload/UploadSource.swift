import AWSWire
import Crypto
import Foundation
import NIOCore
import SyntheticData

/// Where an upload's bytes come from.
package enum UploadSource: Sendable {
    /// A regular file, read with `pread` straight into the pooled part buffers.
    case file(path: String)
    /// The seeded generator's stream (no disk): the dataset described by `recipe`, generated
    /// on `threads` worker threads ahead of the upload.
    case generated(schema: Schema, recipe: DatasetRecipe, threads: Int)

    /// A short description for records and logs.
    package var label: String {
        switch self {
        case .file(let path): "file:\(path)"
        case .generated(let schema, let recipe, _): "generate:\(schema.name) seed=\(recipe.seed) size=\(recipe.requested)"
        }
    }
}

/// A reusable part buffer. Owned by exactly one task at a time (pool → producer → reader
/// thread → part upload → pool), which is what makes the unchecked `Sendable` sound; the
/// reader writes into ``bytes`` in place when nothing else references its storage.
package final class PartBuffer: @unchecked Sendable {
    package var bytes: ByteBuffer

    package init() {
        self.bytes = ByteBufferAllocator().buffer(capacity: 0)
    }
}

/// One part read from the source, with its checksums (computed on the reader thread while the
/// bytes are hot in cache).
struct FilledPart: Sendable {
    var count: Int
    var crc32c: CRC32C?
    /// Raw MD5 digest (16 bytes), in Content-MD5 mode.
    var md5: [UInt8]?
    /// The buffer's storage had to be allocated (first use, growth, or a copy because the HTTP
    /// client still held the previous part).
    var allocated: Bool
}

/// Reads a source part by part. Blocking (pread, or waiting for generator threads): call it
/// only from the engine's I/O thread pool, and from one task at a time — the producer loop of
/// one upload, which awaits each call before the next (hence the unchecked `Sendable`).
final class PartReader: @unchecked Sendable {
    private enum Kind {
        case file(descriptor: Int32, size: Int, path: String)
        case generator(DatasetReader)
    }

    private var kind: Kind?
    /// The source's length, as far as known before reading.
    let length: SourceLength
    /// Bytes handed out so far.
    private(set) var offset = 0

    private init(kind: Kind, length: SourceLength) {
        self.kind = kind
        self.length = length
    }

    deinit {
        self.close()
    }

    /// Opens the source (blocking: open/fstat, or the generator's set-up).
    static func open(_ source: UploadSource) throws(UploadError) -> PartReader {
        switch source {
        case .file(let path):
            let fd = Foundation.open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else {
                throw .sourceUnreadable("cannot open '\(path)': \(String(cString: strerror(errno)))")
            }
            var info = stat()
            guard fstat(fd, &info) == 0 else {
                let message = String(cString: strerror(errno))
                Foundation.close(fd)
                throw .sourceUnreadable("cannot stat '\(path)': \(message)")
            }
            guard (info.st_mode & S_IFMT) == S_IFREG else {
                Foundation.close(fd)
                throw .sourceUnreadable("'\(path)' is not a regular file")
            }
            let size = Int(info.st_size)
            return PartReader(kind: .file(descriptor: fd, size: size, path: path), length: .exact(size))
        case .generated(let schema, let recipe, let threads):
            let reader: DatasetReader
            do {
                reader = try DatasetReader(schema: schema, recipe: recipe, threads: threads)
            } catch {
                throw .sourceUnreadable("cannot generate '\(schema.name)': \(error)")
            }
            return PartReader(kind: .generator(reader), length: .atMost(Self.generatedBound(schema: schema, recipe: recipe)))
        }
    }

    /// An upper bound on a generated dataset's length: the generator stops at the first row
    /// boundary at or past a byte target, so the target plus one maximal row plus the header;
    /// for a row count, that many maximal rows plus the header.
    static func generatedBound(schema: Schema, recipe: DatasetRecipe) -> Int {
        let (maxRowBytes, headerBytes) = Self.rowBounds(schema: schema, lineEnding: recipe.options.lineEnding)
        let header = headerBytes + maxRowBytes
        switch recipe.requested {
        case .bytes(let target): return max(0, target) + maxRowBytes + header
        case .rows(let rows): return max(0, rows).multipliedReportingOverflow(by: maxRowBytes).partialValue + header
        }
    }

    /// A schema's longest row and its header's length, per schema and line ending (neither
    /// depends on the seed). Cached: building a `RowEncoder` compiles the schema's
    /// dictionaries, which cost more than a whole small upload's generation.
    private static let rowBoundsCache = Locked<[String: (maxRowBytes: Int, headerBytes: Int)]>([:])

    static func rowBounds(schema: Schema, lineEnding: LineEnding) -> (maxRowBytes: Int, headerBytes: Int) {
        let key = "\(schema.name)|\(schema.fingerprint)|\(lineEnding.rawValue)"
        if let cached = Self.rowBoundsCache.withLock({ $0[key] }) { return cached }
        let encoder = RowEncoder(schema: schema, seed: 0, lineEnding: lineEnding)
        let bounds = (maxRowBytes: encoder.maxRowBytes, headerBytes: encoder.header().count)
        Self.rowBoundsCache.withLock { cache in
            if cache.count >= 64 { cache.removeAll() }  // bounded: a run uses one or two schemas
            cache[key] = bounds
        }
        return bounds
    }

    /// The generator's recipe completed with rows and bytes (after the last read), if generated.
    var finishedRecipe: DatasetRecipe? {
        if case .generator(let reader) = self.kind { return reader.recipe }
        return nil
    }

    /// Fills `buffer` with the next part: up to `maxCount` bytes (fewer only at the end of the
    /// source; 0 at the end), and checksums it.
    func fill(_ buffer: PartBuffer, maxCount: Int, crc32c: Bool, md5: Bool) throws(UploadError) -> FilledPart {
        guard let kind = self.kind else { throw .sourceUnreadable("the source is closed") }
        let before = buffer.bytes.storageAddress
        buffer.bytes.clear(minimumCapacity: maxCount)
        var count = 0
        switch kind {
        case .file(let fd, let size, let path):
            let want = max(0, min(maxCount, size - self.offset))
            var readError: Int32 = 0
            let base = self.offset
            buffer.bytes.writeWithUnsafeMutableBytes(minimumWritableBytes: want) { out in
                var done = 0
                while done < want {
                    let n = pread(fd, out.baseAddress! + done, want - done, off_t(base + done))
                    if n < 0 {
                        if errno == EINTR { continue }
                        readError = errno
                        break
                    }
                    if n == 0 { break }
                    done += n
                }
                return done
            }
            count = buffer.bytes.readableBytes
            if readError != 0 {
                throw .sourceUnreadable("cannot read '\(path)' at offset \(base): \(String(cString: strerror(readError)))")
            }
            if count < want {
                throw .sourceUnreadable("'\(path)' shrank while being uploaded (expected \(size) bytes, got \(base + count))")
            }
        case .generator(let reader):
            buffer.bytes.writeWithUnsafeMutableBytes(minimumWritableBytes: maxCount) { out in
                reader.read(into: UnsafeMutableRawBufferPointer(rebasing: out[0..<maxCount]))
            }
            count = buffer.bytes.readableBytes
        }
        self.offset += count
        var part = FilledPart(count: count, crc32c: nil, md5: nil, allocated: buffer.bytes.storageAddress != before)
        buffer.bytes.withUnsafeReadableBytes { bytes in
            if crc32c { part.crc32c = CRC32C.checksum(bytes) }
            if md5 { part.md5 = Array(Insecure.MD5.hash(data: bytes)) }
        }
        return part
    }

    /// Whether nothing follows what was handed out. A file: its size was reached. A generator:
    /// asks it for one more byte (blocking), so call this only where more bytes are an error —
    /// a source longer than its announced bound.
    func isAtEnd() throws(UploadError) -> Bool {
        guard let kind = self.kind else { throw .sourceUnreadable("the source is closed") }
        switch kind {
        case .file(_, let size, _):
            return self.offset >= size
        case .generator(let reader):
            var byte: UInt8 = 0
            let count = withUnsafeMutableBytes(of: &byte) { reader.read(into: $0) }
            self.offset += count
            return count == 0
        }
    }

    /// Releases the file descriptor or stops the generator threads. Idempotent.
    func close() {
        switch self.kind {
        case .file(let fd, _, _): Foundation.close(fd)
        case .generator(let reader): reader.close()
        case nil: break
        }
        if case .generator = self.kind {
            // Keep the reader for `finishedRecipe`; its threads are stopped.
            return
        }
        self.kind = nil
    }
}

extension ByteBuffer {
    /// The address of the buffer's storage (to notice reallocations); nil before any storage.
    var storageAddress: UInt? {
        self.withVeryUnsafeBytes { $0.baseAddress.map { UInt(bitPattern: $0) } }
    }
}
