import Foundation
import Testing

@testable import Harness

@Suite("Upload helpers: URLs, durations, ETags, dates")
struct UploadParsingTests {
    @Test func s3URLs() throws {
        let location = try S3Location(parsing: "s3://raw-bucket/incoming/2024/a b.csv")
        #expect(location.bucket == "raw-bucket")
        #expect(location.key == "incoming/2024/a b.csv")
        #expect(location.description == "s3://raw-bucket/incoming/2024/a b.csv")
        for bad in ["raw/a.csv", "s3://raw", "s3://raw/", "s3://Raw/a.csv", "s3://ab/a.csv", "http://raw/a.csv"] {
            #expect(throws: UploadError.self, "\(bad)") { try S3Location(parsing: bad) }
        }
    }

    @Test func durations() {
        #expect(DurationParser.parse("90s") == .seconds(90))
        #expect(DurationParser.parse("15m") == .seconds(900))
        #expect(DurationParser.parse("1h") == .seconds(3600))
        #expect(DurationParser.parse("1h30m") == .seconds(5400))
        #expect(DurationParser.parse("2d") == .seconds(172_800))
        for bad in ["", "1", "h", "1x", "-1h", "1h3"] {
            #expect(DurationParser.parse(bad) == nil, "\(bad)")
        }
    }

    @Test func eTags() {
        #expect(ETag.unquoted("\"abc-3\"") == "abc-3")
        #expect(ETag.partCount("\"d41d8cd98f00b204e9800998ecf8427e-12\"") == 12)
        #expect(ETag.partCount("\"d41d8cd98f00b204e9800998ecf8427e\"") == nil)
        // md5 of md5s: the known value for the MD5s of "a" and "b".
        let a: [UInt8] = [0x0c, 0xc1, 0x75, 0xb9, 0xc0, 0xf1, 0xb6, 0xa8, 0x31, 0xc3, 0x99, 0xe2, 0x69, 0x77, 0x26, 0x61]
        let b: [UInt8] = [0x92, 0xeb, 0x5f, 0xfe, 0xe6, 0xae, 0x2f, 0xec, 0x3a, 0xd7, 0x1c, 0x77, 0x75, 0x31, 0x57, 0x8f]
        #expect(UploadEngine.md5OfMD5s([a, b]).hasSuffix("-2"))
        #expect(UploadEngine.md5OfMD5s([a, b]).count == 34)
    }

    @Test func orphanAges() {
        let now = Date(timeIntervalSince1970: 1_700_000_000)
        let twoHoursAgo = "2023-11-14T20:13:20.000Z"  // now - 2 h
        #expect(OrphanedUploadsCleaner.isOldEnough(initiated: twoHoursAgo, olderThan: .seconds(3600), now: now))
        #expect(!OrphanedUploadsCleaner.isOldEnough(initiated: twoHoursAgo, olderThan: .seconds(3 * 3600), now: now))
        #expect(OrphanedUploadsCleaner.isOldEnough(initiated: "2023-11-14T20:13:20Z", olderThan: .seconds(3600), now: now))
        // Undatable uploads are kept when there is a cut-off, taken without one.
        #expect(!OrphanedUploadsCleaner.isOldEnough(initiated: "yesterday", olderThan: .seconds(1), now: now))
        #expect(!OrphanedUploadsCleaner.isOldEnough(initiated: nil, olderThan: .seconds(1), now: now))
        #expect(OrphanedUploadsCleaner.isOldEnough(initiated: nil, olderThan: nil, now: now))
    }

    @Test func recordsRoundTripThroughJSON() throws {
        var record = UploadRecord(
            id: "u1", bucket: "b", key: "k", uploadId: "x", source: "file:/tmp/a", checksumAlgorithm: "crc32c", partSize: 8 << 20,
            intendedStart: Date(timeIntervalSince1970: 1), actualStart: Date(timeIntervalSince1970: 2), startDelay: 1,
            completedAt: Date(timeIntervalSince1970: 3), duration: 1, completeAnswered: 0.9, bytesRead: 10, bytesUploaded: 10,
            parts: [.init(number: 1, offset: 0, size: 10, ready: 0.1, checksum: "AAAAAA==", eTag: "\"e\"",
                          attempts: [.init(number: 1, start: 0.1, duration: 0.2, error: "boom", retryReason: "throttling"),
                                     .init(number: 2, start: 0.4, duration: 0.2, error: nil, retryReason: nil)],
                          succeeded: true)],
            bufferAllocations: 1,
            operations: [.init(name: "CreateMultipartUpload", attempts: [.init(number: 1, start: 0, duration: 0.1, error: nil, retryReason: nil)], succeeded: true)],
            abort: nil, outcome: .ok, cancelled: false, failure: nil, verification: .compositeCRC32C, versionId: nil, eTag: "\"e-1\"",
            objectChecksum: "AAAAAA==-1", retries: .init(), recipe: nil
        )
        record.tallyRetries()
        #expect(record.retries.attempts == 3)
        #expect(record.retries.retries == 1)
        #expect(record.retries.failedAttemptsByReason == ["throttling": 1])
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        let decoded = try decoder.decode(UploadRecord.self, from: record.jsonData())
        #expect(decoded == record)
        #expect(String(decoding: try record.jsonData(), as: UTF8.self).contains("\"outcome\" : \"ok\""))
    }
}
