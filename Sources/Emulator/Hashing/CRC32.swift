import CCRC32C
import Foundation

/// CRC-32 (IEEE 802.3, the zlib polynomial), as S3 uses it for `x-amz-checksum-crc32`.
///
/// awscli and boto3 send this checksum by default, so the emulator verifies it for every byte
/// they upload. `update(_:)` calls CCRC32C's `csvstorm_crc32_update`: carry-less-multiply
/// folding on x86-64 CPUs that have it (VPCLMULQDQ on AVX-512, else PCLMULQDQ), slicing-by-8
/// tables in C otherwise.
/// `updateWithTables(_:)` is the same CRC in Swift (slicing-by-8), kept as the tests' reference.
package struct CRC32: Sendable, Hashable {
    /// The CRC of everything fed so far (0 for no input).
    package private(set) var value: UInt32 = 0

    package init() {}

    private static let tables: [UInt32] = {
        var tables = [UInt32](repeating: 0, count: 8 * 256)
        for index in 0..<256 {
            var crc = UInt32(index)
            for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
            tables[index] = crc
        }
        for index in 0..<256 {
            var crc = tables[index]
            for slice in 1..<8 {
                crc = tables[Int(crc & 0xFF)] ^ (crc >> 8)
                tables[slice * 256 + index] = crc
            }
        }
        return tables
    }()

    package mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        self.value = csvstorm_crc32_update(self.value, base, bytes.count)
    }

    /// The portable Swift path (the tests' reference for `update(_:)`).
    package mutating func updateWithTables(_ bytes: UnsafeRawBufferPointer) {
        guard var pointer = bytes.baseAddress, bytes.count > 0 else { return }
        var remaining = bytes.count
        var crc = ~self.value
        Self.tables.withUnsafeBufferPointer { table in
            let t = table.baseAddress!
            while remaining >= 8 {
                let word = pointer.loadUnaligned(as: UInt64.self).littleEndian
                let low = UInt32(truncatingIfNeeded: word) ^ crc
                let high = UInt32(truncatingIfNeeded: word >> 32)
                crc = t[7 * 256 + Int(low & 0xFF)] ^ t[6 * 256 + Int((low >> 8) & 0xFF)]
                    ^ t[5 * 256 + Int((low >> 16) & 0xFF)] ^ t[4 * 256 + Int(low >> 24)]
                    ^ t[3 * 256 + Int(high & 0xFF)] ^ t[2 * 256 + Int((high >> 8) & 0xFF)]
                    ^ t[1 * 256 + Int((high >> 16) & 0xFF)] ^ t[Int(high >> 24)]
                pointer += 8
                remaining -= 8
            }
            while remaining > 0 {
                crc = t[Int((crc ^ UInt32(pointer.load(as: UInt8.self))) & 0xFF)] ^ (crc >> 8)
                pointer += 1
                remaining -= 1
            }
        }
        self.value = ~crc
    }

    /// Base64 of the big-endian bytes: the form of S3's `x-amz-checksum-crc32` header.
    package var base64: String {
        let v = self.value
        return Data([UInt8(truncatingIfNeeded: v >> 24), UInt8(truncatingIfNeeded: v >> 16),
                     UInt8(truncatingIfNeeded: v >> 8), UInt8(truncatingIfNeeded: v)]).base64EncodedString()
    }

    package init(value: UInt32) { self.value = value }

    /// Decodes a base64 `x-amz-checksum-crc32` value; nil if it is not 4 bytes of base64.
    package init?(base64: String) {
        guard let data = Data(base64Encoded: base64), data.count == 4 else { return nil }
        let b = [UInt8](data)
        self.value = UInt32(b[0]) << 24 | UInt32(b[1]) << 16 | UInt32(b[2]) << 8 | UInt32(b[3])
    }
}
