@testable import AWSWire
import CCRC32C
import Foundation
import Testing

/// The C CRC-32C kernels (`csvstorm_crc32c_update_level`: 0 tables, 1 one chain of the crc32
/// instruction, 2 PCLMULQDQ folding, 3 VPCLMULQDQ folding on AVX-512), each checked against the
/// table kernel, and `CRC32C.update(_:)` (which takes the fastest kernel the CPU has) with them.
/// A level the CPU lacks falls back to the next one down, so every level is always callable.
@Suite("CRC-32C kernels")
struct CRC32CKernelTests {
    private static let levels: [Int32] = [1, 2, 3]

    /// Seeded xorshift64 bytes: the same content on every run.
    private static func bytes(count: Int, seed: UInt64) -> [UInt8] {
        var state = seed
        var out = [UInt8](repeating: 0, count: count)
        for index in 0..<count {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            out[index] = UInt8(truncatingIfNeeded: state >> 24)
        }
        return out
    }

    private static func viaKernel(_ level: Int32, _ bytes: UnsafeRawBufferPointer, from start: UInt32 = 0) -> UInt32 {
        csvstorm_crc32c_update_level(level, start, bytes.baseAddress, bytes.count)
    }

    private static func viaUpdate(_ bytes: UnsafeRawBufferPointer, from start: UInt32 = 0) -> UInt32 {
        var crc = CRC32C(value: start)
        crc.update(bytes)
        return crc.value
    }

    /// Every path disagreeing with the table kernel, by name.
    private static func mismatches(_ bytes: UnsafeRawBufferPointer, from start: UInt32 = 0) -> [String] {
        let expected = Self.viaKernel(0, bytes, from: start)
        var wrong: [String] = []
        if Self.viaUpdate(bytes, from: start) != expected { wrong.append("update") }
        for level in Self.levels where Self.viaKernel(level, bytes, from: start) != expected {
            wrong.append("level \(level)")
        }
        return wrong
    }

    @Test func knownValues() {
        // The check value, and RFC 3720's (iSCSI) 32-byte vectors.
        let vectors: [([UInt8], UInt32)] = [
            (Array("123456789".utf8), 0xE306_9283),
            ([UInt8](repeating: 0, count: 32), 0x8A91_36AA),
            ([UInt8](repeating: 0xFF, count: 32), 0x62A8_AB43),
            ((0..<32).map { UInt8($0) }, 0x46DD_794E),
            // Long enough for either folding kernel (values from a bitwise reference).
            ((0..<256).map { UInt8($0) }, 0x9C44_184B),
            ([UInt8](repeating: 0xFF, count: 4096), 0x25C1_FE13),
        ]
        for (input, expected) in vectors {
            input.withUnsafeBytes { bytes in
                #expect(Self.viaUpdate(bytes) == expected, "\(bytes.count) bytes")
                #expect(csvstorm_crc32c_update(0, bytes.baseAddress, bytes.count) == expected)
                for level: Int32 in 0...3 {
                    #expect(Self.viaKernel(level, bytes) == expected, "level \(level), \(bytes.count) bytes")
                }
            }
        }
        // Zero bytes leave the CRC as it was.
        #expect(csvstorm_crc32c_update(0x1234_5678, nil, 0) == 0x1234_5678)
        for level: Int32 in 0...3 { #expect(csvstorm_crc32c_update_level(level, 0x1234_5678, nil, 0) == 0x1234_5678) }
    }

    @Test func everyShortLengthAtEveryAlignment() {
        let data = Self.bytes(count: 600 + 16, seed: 0x9E37_79B9_7F4A_7C15)
        data.withUnsafeBytes { all in
            var failures: [String] = []
            for offset in 0..<16 {
                for length in 0...600 {
                    let slice = UnsafeRawBufferPointer(rebasing: all[offset..<(offset + length)])
                    // From 0 and from a non-zero running CRC.
                    for start in [0, UInt32(truncatingIfNeeded: length &* 2_654_435_761)] {
                        for path in Self.mismatches(slice, from: start) {
                            failures.append("\(path) length \(length) offset \(offset) start \(start)")
                        }
                    }
                }
            }
            #expect(failures.isEmpty, "\(failures.count) mismatches, first: \(failures.prefix(5))")
        }
    }

    @Test(arguments: [4095, 4096, 4097, 65536, 65537, (1 << 20) + 13])
    func longLengthsAtSeveralAlignments(length: Int) {
        let data = Self.bytes(count: length + 16, seed: UInt64(length) &* 0x2545_F491_4F6C_DD1D | 1)
        data.withUnsafeBytes { all in
            for offset in [0, 1, 3, 7, 8, 13, 15] {
                let slice = UnsafeRawBufferPointer(rebasing: all[offset..<(offset + length)])
                for start in [0, 0xDEAD_BEEF] as [UInt32] {
                    let wrong = Self.mismatches(slice, from: start)
                    #expect(wrong.isEmpty, "length \(length) offset \(offset) start \(start): \(wrong)")
                }
            }
        }
    }

    @Test func splitUpdatesEqualOneUpdate() {
        let data = Self.bytes(count: 5000, seed: 42)
        data.withUnsafeBytes { all in
            let whole = Self.viaKernel(0, all)
            #expect(Self.viaUpdate(all) == whole)
            var mismatches: [String] = []
            for level: Int32 in 0...3 {
                for split in stride(from: 0, through: 5000, by: 7) {
                    var crc = Self.viaKernel(level, UnsafeRawBufferPointer(rebasing: all[0..<split]))
                    crc = Self.viaKernel(level, UnsafeRawBufferPointer(rebasing: all[split...]), from: crc)
                    if crc != whole { mismatches.append("level \(level) split \(split)") }
                }
            }
            // Three pieces through CRC32C, the middle one long enough for a folding kernel.
            for first in [1, 15, 63, 64, 65, 200] {
                for middle in [64, 100, 127, 128, 255, 256, 1000, 3000] {
                    var crc = CRC32C()
                    crc.update(UnsafeRawBufferPointer(rebasing: all[0..<first]))
                    crc.update(UnsafeRawBufferPointer(rebasing: all[first..<(first + middle)]))
                    crc.update(UnsafeRawBufferPointer(rebasing: all[(first + middle)...]))
                    if crc.value != whole { mismatches.append("pieces \(first), \(middle)") }
                }
            }
            #expect(mismatches.isEmpty, "\(mismatches.prefix(5))")
        }
    }

    @Test func hardwarePathIsUsedWhereTheCPUHasIt() throws {
        #if arch(x86_64) && os(Linux)
        let cpuinfo = try String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)
        let flags = cpuinfo.split(separator: "\n").first { $0.hasPrefix("flags") }.map { Set($0.split(separator: " ")) } ?? []
        #expect(CRC32C.isHardwareAccelerated == flags.contains("sse4_2"))
        #elseif arch(arm64)
        #expect(CRC32C.isHardwareAccelerated)
        #endif
    }
}
