import CCRC32C
@testable import Emulator
import Foundation
import Testing

/// The C CRC-32 (`csvstorm_crc32_update`: VPCLMULQDQ or PCLMULQDQ folding where the CPU has it,
/// C tables otherwise), which `CRC32.update(_:)` calls, checked against the Swift table path.
/// Each C kernel is also checked on its own (`csvstorm_crc32_update_level`), so the 128-bit one
/// stays covered on CPUs where `update(_:)` takes the AVX-512 one.
@Suite("CRC-32 hardware path")
struct CRC32HardwareTests {
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

    private static func viaUpdate(_ bytes: UnsafeRawBufferPointer, from start: CRC32 = CRC32()) -> UInt32 {
        var crc = start
        crc.update(bytes)
        return crc.value
    }

    private static func viaTables(_ bytes: UnsafeRawBufferPointer, from start: CRC32 = CRC32()) -> UInt32 {
        var crc = start
        crc.updateWithTables(bytes)
        return crc.value
    }

    /// `csvstorm_crc32_update_level` for kernels 0 (tables), 1 (PCLMULQDQ), 2 (VPCLMULQDQ).
    private static func viaKernel(_ level: Int32, _ bytes: UnsafeRawBufferPointer, from start: UInt32 = 0) -> UInt32 {
        csvstorm_crc32_update_level(level, start, bytes.baseAddress, bytes.count)
    }

    /// Every path disagreeing with the Swift tables, by name.
    private static func mismatches(_ bytes: UnsafeRawBufferPointer, from start: UInt32 = 0) -> [String] {
        let expected = Self.viaTables(bytes, from: CRC32(value: start))
        var wrong: [String] = []
        if Self.viaUpdate(bytes, from: CRC32(value: start)) != expected { wrong.append("update") }
        for level: Int32 in 0...2 where Self.viaKernel(level, bytes, from: start) != expected {
            wrong.append("kernel \(level)")
        }
        return wrong
    }

    @Test func knownValues() {
        let check = Array("123456789".utf8)
        check.withUnsafeBytes { bytes in
            #expect(Self.viaUpdate(bytes) == 0xCBF4_3926)
            #expect(Self.viaTables(bytes) == 0xCBF4_3926)
            #expect(csvstorm_crc32_update(0, bytes.baseAddress, bytes.count) == 0xCBF4_3926)
            for level: Int32 in 0...2 { #expect(Self.viaKernel(level, bytes) == 0xCBF4_3926) }
        }
        // Zero bytes leave the CRC as it was; 32 zero bytes and 4096 bytes of 0xFF (long enough
        // for the folding path) have these CRCs (zlib's crc32 gives the same).
        #expect(csvstorm_crc32_update(0x1234_5678, nil, 0) == 0x1234_5678)
        [UInt8](repeating: 0, count: 32).withUnsafeBytes { #expect(Self.viaUpdate($0) == 0x190A_55AD) }
        [UInt8](repeating: 0xFF, count: 4096).withUnsafeBytes { bytes in
            #expect(Self.viaTables(bytes) == 0xF154_670A)
            for level: Int32 in 0...2 { #expect(Self.viaKernel(level, bytes) == 0xF154_670A) }
        }
        // A known value long enough for either folding kernel: 256 bytes 0, 1, ..., 255.
        (0..<256).map { UInt8($0) }.withUnsafeBytes { bytes in
            #expect(Self.viaUpdate(bytes) == 0x2905_8C73)
            for level: Int32 in 0...2 { #expect(Self.viaKernel(level, bytes) == 0x2905_8C73) }
        }
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
                #expect(Self.mismatches(slice).isEmpty, "length \(length) offset \(offset): \(Self.mismatches(slice))")
            }
        }
    }

    @Test func splitUpdatesEqualOneUpdate() {
        let data = Self.bytes(count: 5000, seed: 42)
        data.withUnsafeBytes { all in
            let whole = Self.viaTables(all)
            #expect(Self.viaUpdate(all) == whole)
            var mismatches = 0
            for split in stride(from: 0, through: 5000, by: 7) {
                var crc = CRC32()
                crc.update(UnsafeRawBufferPointer(rebasing: all[0..<split]))
                crc.update(UnsafeRawBufferPointer(rebasing: all[split...]))
                if crc.value != whole { mismatches += 1 }
            }
            // Three pieces, the middle one long enough for a folding kernel.
            for first in [1, 15, 63, 64, 65, 200] {
                for middle in [64, 100, 255, 256, 1000, 3000] {
                    var crc = CRC32()
                    crc.update(UnsafeRawBufferPointer(rebasing: all[0..<first]))
                    crc.update(UnsafeRawBufferPointer(rebasing: all[first..<(first + middle)]))
                    crc.update(UnsafeRawBufferPointer(rebasing: all[(first + middle)...]))
                    if crc.value != whole { mismatches += 1 }
                }
            }
            #expect(mismatches == 0)
        }
    }

    @Test func hardwarePathIsUsedWhereTheCPUHasIt() throws {
        #if arch(x86_64) && os(Linux)
        // The dispatch agrees with the kernel's view of the CPU (a VM may hide PCLMULQDQ).
        let cpuinfo = try String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)
        let flags = cpuinfo.split(separator: "\n").first { $0.hasPrefix("flags") }.map { Set($0.split(separator: " ")) } ?? []
        var expected: Int32 = 0
        if flags.contains("pclmulqdq") && flags.contains("sse4_1") {
            // CSVSTORM_NO_AVX512 keeps the 512-bit path off.
            let avx512Allowed = ProcessInfo.processInfo.environment["CSVSTORM_NO_AVX512"].map { $0 == "0" } ?? true
            expected = flags.contains("avx512f") && flags.contains("vpclmulqdq") && avx512Allowed ? 2 : 1
        }
        #expect(csvstorm_crc32_hardware() == expected)
        #elseif !arch(x86_64)
        #expect(csvstorm_crc32_hardware() == 0)
        #endif
    }
}
