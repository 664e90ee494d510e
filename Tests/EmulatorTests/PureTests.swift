@testable import AWSWire
@testable import Emulator
import Crypto
import Foundation
import Testing

/// Pure pieces, without I/O.
@Suite("Emulator building blocks")
struct PureTests {
    @Test func crc32KnownValues() {
        var crc = CRC32()
        Array("123456789".utf8).withUnsafeBytes { crc.update($0) }
        #expect(crc.value == 0xCBF4_3926)
        // Any split gives the same result.
        let data = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        var whole = CRC32()
        data.withUnsafeBytes { whole.update($0) }
        var split = CRC32()
        data.withUnsafeBytes { bytes in
            split.update(UnsafeRawBufferPointer(rebasing: bytes[0..<3]))
            split.update(UnsafeRawBufferPointer(rebasing: bytes[3..<517]))
            split.update(UnsafeRawBufferPointer(rebasing: bytes[517...]))
        }
        #expect(whole == split)
        var portable = CRC32()
        data.withUnsafeBytes { portable.updateWithTables($0) }
        #expect(portable == whole)
    }

    @Test(arguments: [1, 2, 5, 64])
    func awsChunkedDecodingInAnySplit(splitSize: Int) throws {
        let wire = Array("5\r\nhello\r\n6;chunk-signature=abc\r\n world\r\n0\r\nx-amz-checksum-crc32:NhCmhg==\r\n\r\n".utf8)
        var decoder = AWSChunkedDecoder()
        var payload: [UInt8] = []
        var trailers: [String: String] = [:]
        var signatures: [String?] = []
        var index = 0
        while index < wire.count {
            let end = min(wire.count, index + splitSize)
            try wire[index..<end].withUnsafeBytes { bytes in
                try decoder.feed(bytes) { event in
                    switch event {
                    case .data(let data): payload.append(contentsOf: data)
                    case .chunkEnd(_, let signature): signatures.append(signature)
                    case .trailer(let name, let value): trailers[name] = value
                    }
                }
            }
            index = end
        }
        #expect(String(decoding: payload, as: UTF8.self) == "hello world")
        #expect(decoder.isComplete)
        #expect(decoder.decodedLength == 11)
        #expect(trailers == ["x-amz-checksum-crc32": "NhCmhg=="])
        #expect(signatures == [nil, "abc", nil])
    }

    @Test func awsChunkedRejectsMissingCRLF() {
        var decoder = AWSChunkedDecoder()
        #expect(throws: AWSChunkedDecoder.DecodingError.self) {
            try Array("3\r\nabcX".utf8).withUnsafeBytes { try decoder.feed($0) { _ in } }
        }
    }

    /// The example of AWS's "Transferring payload in multiple chunks" (SigV4 streaming) page.
    @Test func chunkSignaturesOfTheAWSExample() throws {
        let identity = SigV4Identity(
            accessKeyId: "AKIAIOSFODNN7EXAMPLE", region: "us-east-1", service: "s3", requestDate: Date(),
            signedHeaders: [], signature: "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9",
            payloadHash: "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", isPresigned: false, expiresAt: nil, sessionToken: nil
        )
        var chain = ChunkSignatureChain(
            secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", identity: identity, amzDate: "20130524T000000Z"
        )
        try chain.verifyChunk(
            dataSHA256: SHA256.hash(data: [UInt8](repeating: UInt8(ascii: "a"), count: 65_536)),
            signature: "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648"
        )
        try chain.verifyChunk(
            dataSHA256: SHA256.hash(data: [UInt8](repeating: UInt8(ascii: "a"), count: 1024)),
            signature: "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497"
        )
        try chain.verifyChunk(
            dataSHA256: SHA256.hash(data: [UInt8]()),
            signature: "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9"
        )
        #expect(throws: S3Error.self) { try chain.verifyChunk(dataSHA256: SHA256.hash(data: [UInt8]()), signature: "00") }
    }

    @Test func eventHasTheEventBridgeShape() throws {
        let event = ObjectCreatedEvent(
            time: Date(timeIntervalSince1970: 1_700_000_000), region: "us-east-1", account: "000000000000", bucket: "raw",
            key: "a b.csv", size: 42, etag: "abc-2", versionId: "v1", sequencer: ObjectRecord.sequencer(255),
            requestId: "REQ", reason: .completeMultipartUpload, requester: "000000000000", sourceIPAddress: "127.0.0.1"
        )
        let json = try #require(try JSONSerialization.jsonObject(with: event.jsonData()) as? [String: Any])
        #expect(json["detail-type"] as? String == "Object Created")
        #expect(json["source"] as? String == "aws.s3")
        #expect(json["time"] as? String == "2023-11-14T22:13:20Z")
        let detail = try #require(json["detail"] as? [String: Any])
        #expect((detail["bucket"] as? [String: Any])?["name"] as? String == "raw")
        let object = try #require(detail["object"] as? [String: Any])
        #expect(object["key"] as? String == "a b.csv")
        #expect(object["size"] as? Int == 42)
        #expect(object["etag"] as? String == "abc-2")
        #expect(object["version-id"] as? String == "v1")
        #expect(object["sequencer"] as? String == "0000000000000000FF")
        #expect(detail["request-id"] as? String == "REQ")
        #expect(detail["reason"] as? String == "CompleteMultipartUpload")
        #expect(try ObjectCreatedEvent.decode(json: event.jsonData()) == event)
    }

    @Test func recorderKeepsABoundedHistory() async throws {
        let recorder = ObjectEventRecorder(historyLimit: 10)
        for index in 0..<100 {
            recorder.record(ObjectCreatedEvent(
                time: Date(), region: "r", account: "a", bucket: "b", key: "k\(index)", size: 1, etag: "e", versionId: nil,
                sequencer: ObjectRecord.sequencer(Int64(index)), requestId: "q", reason: .putObject, requester: "a", sourceIPAddress: "i"
            ))
        }
        #expect(recorder.deliveredCount == 100)
        #expect(recorder.events.count <= 12 && recorder.events.count >= 10)
        #expect(recorder.events.last?.key == "k99")
    }

    @Test func rangeParsing() throws {
        #expect(try S3Server.parseRange("bytes=0-9", size: 100) == 0..<10)
        #expect(try S3Server.parseRange("bytes=90-", size: 100) == 90..<100)
        #expect(try S3Server.parseRange("bytes=-10", size: 100) == 90..<100)
        #expect(try S3Server.parseRange("bytes=95-200", size: 100) == 95..<100)
        #expect(try S3Server.parseRange("items=1-2", size: 100) == nil)
        #expect(throws: S3Error.self) { try S3Server.parseRange("bytes=100-", size: 100) }
    }

    @Test func rfc1123RoundTrip() {
        let date = Date(timeIntervalSince1970: 1_255_369_800)
        #expect(S3Time.rfc1123(date) == "Mon, 12 Oct 2009 17:50:00 GMT")
        #expect(S3Time.parseRFC1123(S3Time.rfc1123(date)) == date)
        #expect(S3Time.iso8601(date) == "2009-10-12T17:50:00.000Z")
    }
}
