import CCRC32C
import Foundation
import NIOCore

/// CRC32C (Castagnoli), as S3 uses it for `x-amz-checksum-crc32c`.
///
/// A thin wrapper over the C target `CCRC32C`, which uses carry-less-multiply folding and the
/// SSE4.2 crc32 instruction on x86-64, ARMv8 CRC instructions
/// when the CPU has them. Feed bytes with ``update(_:)`` in any chunking; the result does not
/// depend on how the input was split.
package struct CRC32C: Sendable, Hashable {
    /// The CRC of everything fed so far (0 for no input).
    package private(set) var value: UInt32

    package init() { self.value = 0 }

    /// Continues from a previously computed CRC value.
    package init(value: UInt32) { self.value = value }

    /// Whether a hardware path (SSE4.2 and PCLMULQDQ / ARMv8 CRC) is in use on this CPU.
    package static var isHardwareAccelerated: Bool { csvstorm_crc32c_hardware() != 0 }

    package mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        self.value = csvstorm_crc32c_update(self.value, base, bytes.count)
    }

    package mutating func update(_ bytes: some ContiguousBytes) {
        bytes.withUnsafeBytes { self.update($0) }
    }

    /// Feeds the readable bytes of `buffer` (without moving its reader index).
    package mutating func update(_ buffer: ByteBuffer) {
        buffer.withUnsafeReadableBytes { self.update($0) }
    }

    /// The four big-endian bytes of ``value``.
    package var bigEndianBytes: [UInt8] {
        let v = self.value
        return [UInt8(truncatingIfNeeded: v >> 24), UInt8(truncatingIfNeeded: v >> 16),
                UInt8(truncatingIfNeeded: v >> 8), UInt8(truncatingIfNeeded: v)]
    }

    /// Base64 of the big-endian bytes: the form of S3's `x-amz-checksum-crc32c` header.
    package var base64: String { Data(self.bigEndianBytes).base64EncodedString() }

    /// CRC32C of a whole buffer in one call.
    package static func checksum(_ bytes: UnsafeRawBufferPointer) -> CRC32C {
        var crc = CRC32C()
        crc.update(bytes)
        return crc
    }

    package static func checksum(_ buffer: ByteBuffer) -> CRC32C {
        var crc = CRC32C()
        crc.update(buffer)
        return crc
    }

    package static func checksum(_ bytes: some ContiguousBytes) -> CRC32C {
        var crc = CRC32C()
        crc.update(bytes)
        return crc
    }

    /// Decodes a base64 `x-amz-checksum-crc32c` value; `nil` if it is not 4 bytes of base64.
    package init?(base64: String) {
        guard let data = Data(base64Encoded: base64), data.count == 4 else { return nil }
        let b = [UInt8](data)
        self.value = UInt32(b[0]) << 24 | UInt32(b[1]) << 16 | UInt32(b[2]) << 8 | UInt32(b[3])
    }
}

extension CRC32C {
    /// The S3 multipart *composite* checksum ("checksum of checksums"):
    /// `base64(crc32c(concat(part checksums as raw 4-byte big-endian))) + "-N"`,
    /// where N is the number of parts. Parts must be given in part-number order.
    package static func composite(parts: [CRC32C]) -> String {
        var crc = CRC32C()
        for part in parts {
            var be = part.value.bigEndian
            withUnsafeBytes(of: &be) { crc.update($0) }
        }
        return "\(crc.base64)-\(parts.count)"
    }

    /// ``composite(parts:)`` from the parts' base64 checksum strings (as UploadPart echoes them);
    /// `nil` if any string is not a valid CRC32C checksum.
    package static func composite(partChecksumsBase64: [String]) -> String? {
        var parts: [CRC32C] = []
        parts.reserveCapacity(partChecksumsBase64.count)
        for s in partChecksumsBase64 {
            guard let c = CRC32C(base64: s) else { return nil }
            parts.append(c)
        }
        return composite(parts: parts)
    }
}
