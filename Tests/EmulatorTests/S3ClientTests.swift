import AWSWire
import AsyncHTTPClient
import Emulator
import Foundation
import NIOCore
import Testing

/// csvstorm's own S3 client (AWSWire) against the emulator.
@Suite("csvstorm S3 client against the emulator", .timeLimit(.minutes(3)))
struct S3ClientTests {
    @Test func putGetHeadRangeAndVersions() async throws {
        try await TestEmulator.withS3 { s3, endpoint in
            let key = "incoming/2024 01/data+ü&=.csv"
            let first = TestEmulator.bytes(count: 300_000, seed: 1)
            let put1 = try await s3.putObject(bucket: "raw", key: key, body: TestEmulator.buffer(first), contentType: "text/csv")
            let put2 = try await s3.putObject(bucket: "raw", key: key, body: TestEmulator.buffer(Array("second".utf8)))
            #expect(put1.versionId != nil && put1.versionId != put2.versionId)
            #expect(put1.checksumCRC32C == CRC32C.checksum(first).base64)

            let head = try await s3.headObject(bucket: "raw", key: key, versionId: put1.versionId)
            #expect(head.contentLength == Int64(first.count))
            #expect(head.contentType == "text/csv")
            #expect(head.eTag == put1.eTag)

            let latest = try await s3.getObject(bucket: "raw", key: key)
            #expect(Array(buffer: try await latest.body.collect(upTo: 1 << 20)) == Array("second".utf8))
            let ranged = try await s3.getObject(bucket: "raw", key: key, range: .bytes(1000...1999), versionId: put1.versionId)
            #expect(ranged.statusCode == 206)
            #expect(Array(buffer: try await ranged.body.collect(upTo: 1 << 20)) == Array(first[1000...1999]))

            let listed = try await s3.listAllObjectsV2(bucket: "raw", prefix: "incoming/")
            #expect(listed.map(\.key) == [key])

            let events = try await endpoint.events.wait { $0.filter { $0.key == key }.count == 2 }.filter { $0.key == key }
            #expect(events.map(\.reason) == [.putObject, .putObject])
            #expect(events[0].sequencer < events[1].sequencer)
            #expect(events[0].sequencer.utf8.count == events[1].sequencer.utf8.count)
            #expect(events[0].versionId == put1.versionId)
            #expect(events[0].etag == put1.eTag?.replacingOccurrences(of: "\"", with: ""))
            #expect(events[0].size == Int64(first.count))
            #expect(events[0].bucket == "raw")
        }
    }

    @Test func multipartUploadWithCRC32CComposite() async throws {
        try await TestEmulator.withS3 { s3, endpoint in
            let key = "mp/object.csv"
            let partSize = Int(TestEmulator.minimumPartSize)
            let data = TestEmulator.bytes(count: 2 * partSize + 777, seed: 9)
            let upload = try await s3.createMultipartUpload(bucket: "raw", key: key)
            var parts: [S3CompletedPart] = []
            var crcs: [CRC32C] = []
            // Upload out of order, and part 2 twice (the second replaces the first).
            for (number, range) in [(3, 2 * partSize..<data.count), (1, 0..<partSize), (2, partSize..<2 * partSize)] {
                let slice = Array(data[range])
                if number == 2 {
                    _ = try await s3.uploadPart(bucket: "raw", key: key, uploadId: upload.uploadId, partNumber: 2, body: TestEmulator.buffer(Array(repeating: 0, count: partSize)))
                }
                let result = try await s3.uploadPart(bucket: "raw", key: key, uploadId: upload.uploadId, partNumber: number, body: TestEmulator.buffer(slice))
                #expect(result.checksumCRC32C == CRC32C.checksum(slice).base64)
                parts.append(result.completedPart)
            }
            parts.sort { $0.partNumber < $1.partNumber }
            for range in [0..<partSize, partSize..<2 * partSize, 2 * partSize..<data.count] { crcs.append(CRC32C.checksum(Array(data[range]))) }
            let listedParts = try await s3.listAllParts(bucket: "raw", key: key, uploadId: upload.uploadId, pageSize: 2)
            #expect(listedParts.map(\.partNumber) == [1, 2, 3])

            let expectedComposite = CRC32C.composite(parts: crcs)
            let done = try await s3.completeMultipartUpload(
                bucket: "raw", key: key, uploadId: upload.uploadId, parts: parts, expectedChecksumCRC32C: expectedComposite
            )
            #expect(done.checksumCRC32C == expectedComposite)
            #expect(done.eTag?.hasSuffix("-3\"") == true)
            // An identical retry (e.g. after a lost response) gets the same success.
            let again = try await s3.completeMultipartUpload(bucket: "raw", key: key, uploadId: upload.uploadId, parts: parts)
            #expect(again.eTag == done.eTag && again.versionId == done.versionId)

            let body = try await s3.getObject(bucket: "raw", key: key).body.collect(upTo: 1 << 22)
            #expect(Array(buffer: body) == data)
            let part2 = try await s3.headObject(bucket: "raw", key: key, partNumber: 2)
            #expect(part2.contentLength == Int64(partSize))
            #expect(part2.partsCount == 3)

            let events = try await endpoint.events.wait { $0.contains { $0.key == key } }.filter { $0.key == key }
            #expect(events.count == 1)
            #expect(events.first?.reason == .completeMultipartUpload)
            #expect(events.first.map { "\"\($0.etag)\"" } == done.eTag)
            #expect(events.first?.versionId == done.versionId)
            #expect(events.first?.size == Int64(data.count))
        }
    }

    @Test func multipartErrors() async throws {
        try await TestEmulator.withS3 { s3, _ in
            let key = "mp/errors.csv"
            let partSize = Int(TestEmulator.minimumPartSize)
            let upload = try await s3.createMultipartUpload(bucket: "raw", key: key)
            let small = try await s3.uploadPart(bucket: "raw", key: key, uploadId: upload.uploadId, partNumber: 1, body: TestEmulator.buffer(Array(repeating: 1, count: 10)))
            let full = try await s3.uploadPart(bucket: "raw", key: key, uploadId: upload.uploadId, partNumber: 2, body: TestEmulator.buffer(Array(repeating: 2, count: partSize)))

            func code(_ body: () async throws -> Void) async -> String? {
                do {
                    try await body()
                    return nil
                } catch let error as AWSError {
                    return error.code?.rawValue
                } catch {
                    return "\(error)"
                }
            }
            #expect(await code { _ = try await s3.completeMultipartUpload(bucket: "raw", key: key, uploadId: upload.uploadId, parts: [small.completedPart, full.completedPart]) } == "EntityTooSmall")
            #expect(await code { _ = try await s3.completeMultipartUpload(bucket: "raw", key: key, uploadId: upload.uploadId, parts: [full.completedPart, small.completedPart]) } == "InvalidPartOrder")
            #expect(await code { _ = try await s3.completeMultipartUpload(bucket: "raw", key: key, uploadId: upload.uploadId, parts: [S3CompletedPart(partNumber: 2, eTag: small.eTag)]) } == "InvalidPart")
            #expect(await code { _ = try await s3.completeMultipartUpload(bucket: "raw", key: key, uploadId: "no-such-upload", parts: [full.completedPart]) } == "NoSuchUpload")
            #expect(await code { _ = try await s3.uploadPart(bucket: "raw", key: key, uploadId: "no-such-upload", partNumber: 1, body: TestEmulator.buffer([1])) } == "NoSuchUpload")
            #expect(await code { _ = try await s3.getObject(bucket: "raw", key: "missing") } == "NoSuchKey")
            #expect(await code { _ = try await s3.putObject(bucket: "missing-bucket", key: "k", body: TestEmulator.buffer([1])) } == "NoSuchBucket")
            // An upload belongs to its key (the server keeps open uploads in memory too).
            #expect(await code { _ = try await s3.uploadPart(bucket: "raw", key: "mp/other.csv", uploadId: upload.uploadId, partNumber: 3, body: TestEmulator.buffer([3])) } == "NoSuchUpload")
            try await s3.abortMultipartUpload(bucket: "raw", key: key, uploadId: upload.uploadId)
            let uploads = try await s3.listMultipartUploads(bucket: "raw")
            #expect(!uploads.uploads.contains { $0.uploadId == upload.uploadId })
            // Ended uploads take no more parts: aborted, or completed.
            #expect(await code { _ = try await s3.uploadPart(bucket: "raw", key: key, uploadId: upload.uploadId, partNumber: 3, body: TestEmulator.buffer([3])) } == "NoSuchUpload")
            let done = try await s3.createMultipartUpload(bucket: "raw", key: key)
            let only = try await s3.uploadPart(bucket: "raw", key: key, uploadId: done.uploadId, partNumber: 1, body: TestEmulator.buffer([4]))
            _ = try await s3.completeMultipartUpload(bucket: "raw", key: key, uploadId: done.uploadId, parts: [only.completedPart])
            #expect(await code { _ = try await s3.uploadPart(bucket: "raw", key: key, uploadId: done.uploadId, partNumber: 2, body: TestEmulator.buffer([5])) } == "NoSuchUpload")
        }
    }

    @Test func authenticationFailures() async throws {
        try await TestEmulator.withS3 { _, endpoint in
            try await TestEmulator.withHTTPClient { http in
                let wrongSecret = try TestEmulator.client(http, endpoint, credentials: AWSCredentials(accessKeyId: endpoint.credentials.accessKeyId, secretAccessKey: "wrong"))
                let unknownKey = try TestEmulator.client(http, endpoint, credentials: AWSCredentials(accessKeyId: "nobody", secretAccessKey: "x"))
                for (client, expected) in [(wrongSecret, "SignatureDoesNotMatch"), (unknownKey, "InvalidAccessKeyId")] {
                    do {
                        _ = try await client.putObject(bucket: "raw", key: "k", body: TestEmulator.buffer([1, 2, 3]))
                        Issue.record("expected \(expected)")
                    } catch let error as AWSError {
                        #expect(error.code?.rawValue == expected)
                        #expect(error.statusCode == 403)
                    }
                }
                let response = try await http.execute(HTTPClientRequest(url: endpoint.url + "/raw/k"), timeout: .seconds(10))
                let body = String(buffer: try await response.body.collect(upTo: 1 << 16))
                #expect("\(response.status)".contains("403"))
                #expect(body.contains("<Code>AccessDenied</Code>"))
            }
        }
    }

    @Test func objectLockRefusesDeletingALockedVersion() async throws {
        try await TestEmulator.withS3 { s3, _ in
            let put = try await s3.putObject(bucket: "processed", key: "out.csv", body: TestEmulator.buffer(Array("v1".utf8)))
            do {
                _ = try await s3.deleteObject(bucket: "processed", key: "out.csv", versionId: put.versionId)
                Issue.record("deleting a locked version must fail")
            } catch let error as AWSError {
                #expect(error.code?.rawValue == "AccessDenied")
            }
            let second = try await s3.putObject(bucket: "processed", key: "out.csv", body: TestEmulator.buffer(Array("v2".utf8)))
            #expect(second.versionId != put.versionId)
            // Raw is not locked: a version can be deleted there.
            let raw = try await s3.putObject(bucket: "raw", key: "in.csv", body: TestEmulator.buffer([1]))
            _ = try await s3.deleteObject(bucket: "raw", key: "in.csv", versionId: raw.versionId)
        }
    }

    @Test func restartKeepsObjectsUploadsAndEvents() async throws {
        let directory = try TestEmulator.scratchDirectory("restart")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let configuration = TestEmulator.configuration(stateDirectory: .path(directory))
        let partSize = Int(TestEmulator.minimumPartSize)
        let data = TestEmulator.bytes(count: partSize + 100, seed: 3)

        // First run: one object, one upload with one part left open.
        let (uploadId, firstPart, firstSequencer) = try await TestEmulator.withS3(configuration) { s3, endpoint in
            _ = try await s3.putObject(bucket: "raw", key: "kept.csv", body: TestEmulator.buffer(Array("kept".utf8)))
            let upload = try await s3.createMultipartUpload(bucket: "raw", key: "open.csv")
            let part = try await s3.uploadPart(bucket: "raw", key: "open.csv", uploadId: upload.uploadId, partNumber: 1, body: TestEmulator.buffer(Array(data[0..<partSize])))
            let events = try await endpoint.events.wait { !$0.isEmpty }
            return (upload.uploadId, part.completedPart, events[0].sequencer)
        }
        // Leftovers of a crash: a half-written temporary file and an unreferenced blob.
        #expect(FileManager.default.createFile(atPath: directory + "/tmp/deadbeef", contents: Data([1, 2, 3])))
        #expect(FileManager.default.createFile(atPath: directory + "/blobs/ab/ab000000000000000000000000000000", contents: Data([1])))

        // Second run on the same directory.
        try await TestEmulator.withS3(configuration) { s3, endpoint in
            let kept = try await s3.getObject(bucket: "raw", key: "kept.csv").body.collect(upTo: 1024)
            #expect(String(buffer: kept) == "kept")
            let part2 = try await s3.uploadPart(bucket: "raw", key: "open.csv", uploadId: uploadId, partNumber: 2, body: TestEmulator.buffer(Array(data[partSize...])))
            _ = try await s3.completeMultipartUpload(bucket: "raw", key: "open.csv", uploadId: uploadId, parts: [firstPart, part2.completedPart])
            let body = try await s3.getObject(bucket: "raw", key: "open.csv").body.collect(upTo: 1 << 20)
            #expect(Array(buffer: body) == data)
            let events = try await endpoint.events.wait { $0.contains { $0.key == "open.csv" } }
            let completed = try #require(events.first { $0.key == "open.csv" })
            #expect(completed.sequencer > firstSequencer)
        }
        #expect(!FileManager.default.fileExists(atPath: directory + "/tmp/deadbeef"))
        #expect(!FileManager.default.fileExists(atPath: directory + "/blobs/ab/ab000000000000000000000000000000"))
    }

    @Test func undeliveredEventsAreDeliveredAfterRestart() async throws {
        let directory = try TestEmulator.scratchDirectory("events")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let configuration = TestEmulator.configuration(stateDirectory: .path(directory))
        struct Refusing: Error {}
        // A sink that refuses everything: events stay pending.
        try await withEmulator(configuration, eventSink: ObjectEventClosureSink { _ in throw Refusing() }) { endpoint in
            try await TestEmulator.withHTTPClient { http in
                let s3 = try TestEmulator.client(http, endpoint)
                _ = try await s3.putObject(bucket: "raw", key: "pending.csv", body: TestEmulator.buffer([1, 2]))
            }
            #expect(endpoint.events.events.isEmpty)
        }
        let received = ObjectEventRecorder()
        try await withEmulator(configuration, eventSink: received) { endpoint in
            let events = try await endpoint.events.wait { $0.contains { $0.key == "pending.csv" } }
            #expect(events.count == 1)
        }
        #expect(received.events.map(\.key) == ["pending.csv"])
    }
}
