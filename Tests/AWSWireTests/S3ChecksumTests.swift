import AWSWire
import NIOCore
import Testing

@Suite("CRC32C and S3 checksums")
struct S3ChecksumTests {
    @Test("known vectors (RFC 3720 / iSCSI and the classic check value)", arguments: [
        (Array("123456789".utf8), UInt32(0xE306_9283)),
        ([UInt8](repeating: 0, count: 32), UInt32(0x8A91_36AA)),
        ([UInt8](repeating: 0xFF, count: 32), UInt32(0x62A8_AB43)),
        ((0..<32).map { UInt8($0) }, UInt32(0x46DD_794E)),
        ([], UInt32(0)),
    ])
    func vectors(input: [UInt8], expected: UInt32) {
        #expect(CRC32C.checksum(input).value == expected)
    }

    @Test func base64IsBigEndian() {
        let crc = CRC32C.checksum(Array("123456789".utf8))
        #expect(crc.base64 == "4waSgw==")
        #expect(crc.bigEndianBytes == [0xE3, 0x06, 0x92, 0x83])
        #expect(CRC32C(base64: "4waSgw==")?.value == 0xE306_9283)
        #expect(CRC32C(base64: "not base64") == nil)
        #expect(CRC32C(base64: "AAAAAAA=") == nil)  // 5 bytes
        #expect(CRC32C().base64 == "AAAAAA==")
    }

    @Test func chunkingDoesNotMatter() {
        var bytes: [UInt8] = []
        var x: UInt32 = 12345
        for _ in 0..<100_003 {
            x = x &* 1_103_515_245 &+ 12345
            bytes.append(UInt8(truncatingIfNeeded: x >> 16))
        }
        let whole = CRC32C.checksum(bytes)
        for chunk in [1, 7, 64, 4096, 65_537] {
            var crc = CRC32C()
            var i = 0
            while i < bytes.count {
                let end = min(bytes.count, i + chunk)
                bytes[i..<end].withUnsafeBytes { crc.update($0) }
                i = end
            }
            #expect(crc == whole, "chunk size \(chunk)")
        }
        var buffer = ByteBuffer(bytes: bytes)
        buffer.moveReaderIndex(forwardBy: 0)
        #expect(CRC32C.checksum(buffer) == whole)
        // Only the readable bytes count.
        var shifted = ByteBuffer(bytes: [0xAA] + bytes)
        shifted.moveReaderIndex(forwardBy: 1)
        #expect(CRC32C.checksum(shifted) == whole)
    }

    @Test("composite checksum = base64(crc32c(concat(raw part checksums)))-N")
    func composite() throws {
        let parts: [[UInt8]] = [Array(repeating: UInt8(ascii: "a"), count: 10), Array(repeating: UInt8(ascii: "b"), count: 7), Array("hello world".utf8)]
        let checksums = parts.map { CRC32C.checksum($0) }
        #expect(checksums.map(\.base64) == ["5yZkMA==", "rf3tbg==", "yZRlqg=="])
        #expect(CRC32C.composite(parts: checksums) == "tcghUA==-3")
        #expect(CRC32C.composite(partChecksumsBase64: ["5yZkMA==", "rf3tbg==", "yZRlqg=="]) == "tcghUA==-3")
        #expect(CRC32C.composite(partChecksumsBase64: ["5yZkMA==", "bad"]) == nil)
        // A single part: still "-1", and not equal to the part's own checksum.
        let single = CRC32C.composite(parts: [checksums[0]])
        #expect(single.hasSuffix("-1"))
        #expect(single != checksums[0].base64 + "-1")
    }
}
