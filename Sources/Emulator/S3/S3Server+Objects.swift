import AWSWire
import Foundation
import HTTPTypes
import HummingbirdCore
import NIOCore

#if canImport(Glibc)
import Glibc
#endif

extension S3Server {
    // MARK: PutObject

    func putObject(_ request: S3Request, bucket: String, key: String, identity: SigV4Identity) async throws -> Plan {
        _ = try await self.store.requireBucket(bucket)
        let plan = try self.bodyPlan(request, identity: identity, extraChecksum: nil)
        let contentType = request.header("content-type")
        let metadata = request.userMetadata
        return .readBody { body in
            let ingested = try await self.ingest(body, plan: plan)
            let checksum = ingested.sentChecksums.first.map {
                ChecksumValue(algorithm: $0.key, value: $0.value, type: "FULL_OBJECT")
            }
            let new = NewObject(
                bucket: bucket, key: key, size: ingested.digests.size, etag: ingested.digests.md5Hex,
                contentType: contentType, userMetadata: metadata, checksum: checksum,
                segments: [Segment(blob: ingested.blob, size: ingested.digests.size)], partCount: nil, lastModified: Date()
            )
            let record: ObjectRecord
            let removed: [String]
            do {
                (record, _, removed) = try await self.store.putObject(new, context: self.eventContext(request, reason: .putObject))
            } catch {
                self.removeBlobs([ingested.blob])
                throw error
            }
            self.onObjectCreated()
            self.removeBlobs(removed)
            var response = S3Response()
            response.set("etag", record.quotedETag)
            if record.versionId != "null" { response.set("x-amz-version-id", record.versionId) }
            if let checksum {
                response.set(checksum.algorithm.headerName, checksum.value)
                response.set("x-amz-checksum-type", "FULL_OBJECT")
            }
            return response
        }
    }

    // MARK: GetObject / HeadObject

    func getObject(_ request: S3Request, bucket: String, key: String, isHead: Bool) async throws -> S3Response {
        let versionId = request.query["versionId"].flatMap { $0.isEmpty ? nil : $0 }
        let record = try await self.store.object(bucket: bucket, key: key, versionId: versionId)
        let bucketRecord = try await self.store.requireBucket(bucket)

        var response = S3Response()
        response.set("etag", record.quotedETag)
        response.set("last-modified", S3Time.rfc1123(record.lastModified))
        response.set("accept-ranges", "bytes")
        response.set("content-type", record.contentType ?? "binary/octet-stream")
        if bucketRecord.versioningEnabled { response.set("x-amz-version-id", record.versionId) }
        for (name, value) in record.userMetadata { response.set("x-amz-meta-\(name)", value) }
        if let until = record.retainUntil {
            response.set("x-amz-object-lock-mode", "COMPLIANCE")
            response.set("x-amz-object-lock-retain-until-date", S3Time.iso8601(until))
        }

        // Conditions (RFC 7232 order, as S3 applies them).
        if let ifMatch = request.header("if-match"), !Self.etagMatches(ifMatch, record.etag) {
            throw S3Error(.preconditionFailed, "At least one of the pre-conditions you specified did not hold", details: [("Condition", "If-Match")])
        }
        if request.header("if-match") == nil, let since = request.header("if-unmodified-since").flatMap(S3Time.parseRFC1123),
           record.lastModified.timeIntervalSince1970.rounded(.down) > since.timeIntervalSince1970
        {
            throw S3Error(.preconditionFailed, "At least one of the pre-conditions you specified did not hold", details: [("Condition", "If-Unmodified-Since")])
        }
        if let ifNoneMatch = request.header("if-none-match"), Self.etagMatches(ifNoneMatch, record.etag) {
            return S3Response(status: .notModified, headers: response.headers)
        }
        if request.header("if-none-match") == nil, let since = request.header("if-modified-since").flatMap(S3Time.parseRFC1123),
           record.lastModified.timeIntervalSince1970.rounded(.down) <= since.timeIntervalSince1970
        {
            return S3Response(status: .notModified, headers: response.headers)
        }

        // Which bytes: all, one part, or a range.
        var start: Int64 = 0
        var length = record.size
        var partial = false
        if let partText = request.query["partNumber"] {
            guard let part = Int(partText), part >= 1, part <= 10_000 else {
                throw S3Error.invalidArgument("Part number must be an integer between 1 and 10000, inclusive", name: "partNumber", value: partText)
            }
            if let count = record.partCount {
                guard part <= count else {
                    throw S3Error(.invalidRange, "The requested partnumber is not satisfiable", details: [("ActualPartCount", String(count))])
                }
                start = record.segments[..<(part - 1)].reduce(0) { $0 + $1.size }
                length = record.segments[part - 1].size
                response.set("x-amz-mp-parts-count", String(count))
            } else if part != 1 {
                throw S3Error(.invalidRange, "The requested partnumber is not satisfiable", details: [("ActualPartCount", "1")])
            }
            partial = record.partCount != nil
        } else if let rangeText = request.header("range") {
            if let range = try Self.parseRange(rangeText, size: record.size) {
                start = range.lowerBound
                length = range.upperBound - range.lowerBound
                partial = true
            }
        }
        if partial {
            response.status = .partialContent
            response.set("content-range", "bytes \(start)-\(start + length - 1)/\(record.size)")
        } else if request.header("x-amz-checksum-mode")?.uppercased() == "ENABLED", let checksum = record.checksum {
            response.set(checksum.algorithm.headerName, checksum.value)
            response.set("x-amz-checksum-type", checksum.type)
        }
        response.headers[.contentLength] = String(length)
        if isHead || length == 0 { return response }
        response.body = Self.streamBody(blobs: self.blobs, segments: record.segments, start: start, length: length)
        response.headers[.contentLength] = String(length)
        return response
    }

    static func etagMatches(_ header: String, _ etag: String) -> Bool {
        for candidate in header.split(separator: ",") {
            var value = candidate.trimmingCharacters(in: .whitespaces)
            if value == "*" { return true }
            if value.hasPrefix("W/") { value.removeFirst(2) }
            if value.hasPrefix("\"") && value.hasSuffix("\"") && value.count >= 2 { value = String(value.dropFirst().dropLast()) }
            if value == etag { return true }
        }
        return false
    }

    /// `bytes=a-b`, `bytes=a-`, `bytes=-n`. nil: ignore the header (S3 serves the whole object
    /// for a syntactically invalid range); throws InvalidRange when unsatisfiable.
    static func parseRange(_ text: String, size: Int64) throws(S3Error) -> Range<Int64>? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard trimmed.hasPrefix("bytes="), !trimmed.contains(",") else { return nil }
        let spec = trimmed.dropFirst("bytes=".count)
        guard let dash = spec.firstIndex(of: "-") else { return nil }
        let first = spec[..<dash]
        let last = spec[spec.index(after: dash)...]
        func unsatisfiable() -> S3Error {
            S3Error(.invalidRange, "The requested range is not satisfiable",
                    details: [("RangeRequested", text), ("ActualObjectSize", String(size))],
                    headers: [("content-range", "bytes */\(size)")])
        }
        if first.isEmpty {
            guard let suffix = Int64(last) else { return nil }
            guard suffix > 0, size > 0 else { throw unsatisfiable() }
            return max(0, size - suffix)..<size
        }
        guard let from = Int64(first) else { return nil }
        guard from < size else { throw unsatisfiable() }
        if last.isEmpty { return from..<size }
        guard let to = Int64(last), to >= from else { return nil }
        return from..<min(size, to + 1)
    }

    /// Streams `length` bytes from `start` across the object's segments (part files), 1 MiB at a time.
    static func streamBody(blobs: BlobStore, segments: [Segment], start: Int64, length: Int64) -> ResponseBody {
        ResponseBody(contentLength: Int(length)) { writer in
            var skip = start
            var remaining = length
            let allocator = ByteBufferAllocator()
            for segment in segments where remaining > 0 {
                if skip >= segment.size {
                    skip -= segment.size
                    continue
                }
                let fd = try blobs.openForReading(segment.blob)
                defer { close(fd) }
                var offset = skip
                skip = 0
                while remaining > 0 && offset < segment.size {
                    let want = Int(min(Int64(1 << 20), remaining, segment.size - offset))
                    var buffer = allocator.buffer(capacity: want)
                    var result = 0
                    buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: want) { pointer in
                        result = pread(fd, pointer.baseAddress, want, off_t(offset))
                        return max(0, result)
                    }
                    if result < 0 && errno == EINTR { continue }
                    guard result > 0 else { throw S3Error(.internalError, "object data \(segment.blob) is shorter than recorded") }
                    let read = result
                    offset += Int64(read)
                    remaining -= Int64(read)
                    try await writer.write(buffer)
                }
            }
            try await writer.finish(nil)
        }
    }

    // MARK: DeleteObject

    func deleteObject(_ request: S3Request, bucket: String, key: String) async throws -> S3Response {
        let versionId = request.query["versionId"]
        let outcome = try await self.store.deleteObject(bucket: bucket, key: key, versionId: versionId, now: Date())
        self.removeBlobs(outcome.removedBlobs)
        var response = S3Response(status: .noContent)
        if let id = outcome.versionId { response.set("x-amz-version-id", id) }
        if outcome.deleteMarker { response.set("x-amz-delete-marker", "true") }
        return response
    }

    // MARK: DeleteObjects

    /// `POST /bucket?delete`: up to 1000 keys (or versions), each deleted like DeleteObject; a
    /// failure (e.g. a locked version) is reported per key, as S3 does.
    func deleteObjects(_ request: S3Request, bucket: String, body: ByteBuffer) async throws -> S3Response {
        _ = try await self.store.requireBucket(bucket)
        let root: XML.Element
        do {
            root = try XML.parse(body)
        } catch {
            throw S3Error.malformedXML()
        }
        let objects = root.children(named: "Object")
        guard root.name == "Delete", !objects.isEmpty, objects.count <= 1000 else { throw S3Error.malformedXML() }
        let quiet = root.childText("Quiet")?.lowercased() == "true"
        var xml = XML.Writer(reservingCapacity: 256 + objects.count * 160)
        xml.open("DeleteResult", attributes: s3Namespace)
        for object in objects {
            guard let key = object.childText("Key"), !key.isEmpty else { throw S3Error.malformedXML() }
            let versionId = object.childText("VersionId").flatMap { $0.isEmpty ? nil : $0 }
            do {
                let outcome = try await self.store.deleteObject(bucket: bucket, key: key, versionId: versionId, now: Date())
                self.removeBlobs(outcome.removedBlobs)
                if quiet { continue }
                xml.open("Deleted")
                xml.element("Key", text: key)
                if let versionId { xml.element("VersionId", text: versionId) }
                if outcome.deleteMarker {
                    xml.element("DeleteMarker", text: "true")
                    if versionId == nil, let marker = outcome.versionId { xml.element("DeleteMarkerVersionId", text: marker) }
                }
                xml.close("Deleted")
            } catch let error as S3Error {
                xml.open("Error")
                xml.element("Key", text: key)
                if let versionId { xml.element("VersionId", text: versionId) }
                xml.element("Code", text: error.code.name)
                xml.element("Message", text: error.message)
                xml.close("Error")
            }
        }
        xml.close("DeleteResult")
        return .xml(xml)
    }

    // MARK: GetObjectRetention

    func getObjectRetention(_ request: S3Request, bucket: String, key: String) async throws -> S3Response {
        let bucketRecord = try await self.store.requireBucket(bucket)
        guard bucketRecord.objectLockEnabled else {
            throw S3Error(.invalidRequest, "Bucket is missing Object Lock Configuration")
        }
        let record = try await self.store.object(bucket: bucket, key: key, versionId: request.query["versionId"])
        guard let until = record.retainUntil else {
            throw S3Error(.noSuchObjectLockConfiguration, "The specified object does not have a ObjectLock configuration")
        }
        var xml = XML.Writer()
        xml.open("Retention", attributes: s3Namespace)
        xml.element("Mode", text: "COMPLIANCE")
        xml.element("RetainUntilDate", text: S3Time.iso8601(until))
        xml.close("Retention")
        return .xml(xml)
    }

    // MARK: Listing

    func maxKeys(_ request: S3Request, name: String = "max-keys") throws -> Int {
        guard let text = request.query[name] else { return 1000 }
        guard let value = Int(text), value >= 0 else {
            throw S3Error.invalidArgument("Provided \(name) not an integer or within integer range", name: name, value: text)
        }
        return min(value, 1000)
    }

    func writeObjectEntry(_ xml: inout XML.Writer, _ record: ObjectRecord, encode: (String) -> String, owner: Bool) {
        xml.element("Key", text: encode(record.key))
        xml.element("LastModified", text: S3Time.iso8601(record.lastModified))
        xml.element("ETag", text: record.quotedETag)
        if let checksum = record.checksum {
            xml.element("ChecksumAlgorithm", text: checksum.algorithm.rawValue)
            xml.element("ChecksumType", text: checksum.type)
        }
        xml.element("Size", text: String(record.size))
        if owner {
            xml.open("Owner")
            xml.element("ID", text: self.configuration.accountId)
            xml.element("DisplayName", text: "csvstorm")
            xml.close("Owner")
        }
        xml.element("StorageClass", text: "STANDARD")
    }

    func listObjectsV2(_ request: S3Request, bucket: String) async throws -> S3Response {
        let prefix = request.query["prefix"] ?? ""
        let delimiter = request.query["delimiter"].flatMap { $0.isEmpty ? nil : $0 }
        let maxKeys = try self.maxKeys(request)
        let urlEncoded = request.query["encoding-type"] == "url"
        if let type = request.query["encoding-type"], type != "url" {
            throw S3Error.invalidArgument("Invalid Encoding Method specified in Request", name: "encoding-type", value: type)
        }
        var after: (key: String, isPrefix: Bool)?
        if let token = request.query["continuation-token"] {
            guard let decoded = MetadataStore.decodeToken(token) else {
                throw S3Error.invalidArgument("The continuation token provided is incorrect", name: "continuation-token", value: token)
            }
            after = decoded
        } else if let startAfter = request.query["start-after"], !startAfter.isEmpty {
            after = (startAfter, false)
        }
        let page = try await self.store.listObjects(bucket: bucket, prefix: prefix, delimiter: delimiter, after: after, maxKeys: maxKeys)
        let encode: (String) -> String = urlEncoded ? { S3URLEncoding.encode($0) } : { $0 }
        var xml = XML.Writer(reservingCapacity: 512 + page.items.count * 300)
        xml.open("ListBucketResult", attributes: s3Namespace)
        xml.element("Name", text: bucket)
        xml.element("Prefix", text: encode(prefix))
        if let delimiter { xml.element("Delimiter", text: encode(delimiter)) }
        xml.element("MaxKeys", text: String(maxKeys))
        if urlEncoded { xml.element("EncodingType", text: "url") }
        xml.element("KeyCount", text: String(page.items.count + page.commonPrefixes.count))
        xml.element("IsTruncated", text: page.isTruncated ? "true" : "false")
        if let token = request.query["continuation-token"] { xml.element("ContinuationToken", text: token) }
        if let next = page.nextMarker { xml.element("NextContinuationToken", text: next) }
        if let startAfter = request.query["start-after"] { xml.element("StartAfter", text: encode(startAfter)) }
        self.writeListingEntries(&xml, page.items, page.commonPrefixes, encode: encode, owner: request.query["fetch-owner"] == "true")
        xml.close("ListBucketResult")
        return .xml(xml)
    }

    /// The `Contents` and `CommonPrefixes` of a ListObjects (v1 or v2) answer.
    private func writeListingEntries<Records: Sequence>(
        _ xml: inout XML.Writer, _ items: Records, _ commonPrefixes: [String], encode: (String) -> String, owner: Bool
    ) where Records.Element == ObjectRecord {
        for record in items {
            xml.open("Contents")
            self.writeObjectEntry(&xml, record, encode: encode, owner: owner)
            xml.close("Contents")
        }
        for common in commonPrefixes {
            xml.open("CommonPrefixes")
            xml.element("Prefix", text: encode(common))
            xml.close("CommonPrefixes")
        }
    }

    func listObjectsV1(_ request: S3Request, bucket: String) async throws -> S3Response {
        let prefix = request.query["prefix"] ?? ""
        let delimiter = request.query["delimiter"].flatMap { $0.isEmpty ? nil : $0 }
        let maxKeys = try self.maxKeys(request)
        let urlEncoded = request.query["encoding-type"] == "url"
        let marker = request.query["marker"] ?? ""
        var after: (key: String, isPrefix: Bool)?
        if !marker.isEmpty {
            after = (marker, delimiter.map { marker.hasSuffix($0) } ?? false)
        }
        let page = try await self.store.listObjects(bucket: bucket, prefix: prefix, delimiter: delimiter, after: after, maxKeys: maxKeys)
        let encode: (String) -> String = urlEncoded ? { S3URLEncoding.encode($0) } : { $0 }
        var xml = XML.Writer()
        xml.open("ListBucketResult", attributes: s3Namespace)
        xml.element("Name", text: bucket)
        xml.element("Prefix", text: encode(prefix))
        xml.element("Marker", text: encode(marker))
        if let delimiter { xml.element("Delimiter", text: encode(delimiter)) }
        xml.element("MaxKeys", text: String(maxKeys))
        if urlEncoded { xml.element("EncodingType", text: "url") }
        xml.element("IsTruncated", text: page.isTruncated ? "true" : "false")
        if page.isTruncated, let next = page.nextMarker.flatMap(MetadataStore.decodeToken) {
            xml.element("NextMarker", text: encode(next.key))
        }
        self.writeListingEntries(&xml, page.items, page.commonPrefixes, encode: encode, owner: true)
        xml.close("ListBucketResult")
        return .xml(xml)
    }

    func listObjectVersions(_ request: S3Request, bucket: String) async throws -> S3Response {
        let prefix = request.query["prefix"] ?? ""
        let delimiter = request.query["delimiter"].flatMap { $0.isEmpty ? nil : $0 }
        let maxKeys = try self.maxKeys(request)
        let urlEncoded = request.query["encoding-type"] == "url"
        let keyMarker = request.query["key-marker"].flatMap { $0.isEmpty ? nil : $0 }
        let versionIdMarker = request.query["version-id-marker"].flatMap { $0.isEmpty ? nil : $0 }
        let page = try await self.store.listVersions(
            bucket: bucket, prefix: prefix, delimiter: delimiter, keyMarker: keyMarker, versionIdMarker: versionIdMarker, maxKeys: maxKeys
        )
        let encode: (String) -> String = urlEncoded ? { S3URLEncoding.encode($0) } : { $0 }
        var xml = XML.Writer()
        xml.open("ListVersionsResult", attributes: s3Namespace)
        xml.element("Name", text: bucket)
        xml.element("Prefix", text: encode(prefix))
        xml.element("KeyMarker", text: encode(keyMarker ?? ""))
        xml.element("VersionIdMarker", text: versionIdMarker ?? "")
        if let delimiter { xml.element("Delimiter", text: encode(delimiter)) }
        xml.element("MaxKeys", text: String(maxKeys))
        if urlEncoded { xml.element("EncodingType", text: "url") }
        xml.element("IsTruncated", text: page.isTruncated ? "true" : "false")
        if page.isTruncated {
            if let next = page.nextMarker { xml.element("NextKeyMarker", text: encode(next)) }
            if let next = page.nextVersionIdMarker { xml.element("NextVersionIdMarker", text: next) }
        }
        for record in page.items {
            if record.isDeleteMarker {
                xml.open("DeleteMarker")
                xml.element("Key", text: encode(record.key))
                xml.element("VersionId", text: record.versionId)
                xml.element("IsLatest", text: record.isLatest ? "true" : "false")
                xml.element("LastModified", text: S3Time.iso8601(record.lastModified))
                xml.open("Owner")
                xml.element("ID", text: self.configuration.accountId)
                xml.close("Owner")
                xml.close("DeleteMarker")
            } else {
                xml.open("Version")
                xml.element("Key", text: encode(record.key))
                xml.element("VersionId", text: record.versionId)
                xml.element("IsLatest", text: record.isLatest ? "true" : "false")
                xml.element("LastModified", text: S3Time.iso8601(record.lastModified))
                xml.element("ETag", text: record.quotedETag)
                if let checksum = record.checksum {
                    xml.element("ChecksumAlgorithm", text: checksum.algorithm.rawValue)
                    xml.element("ChecksumType", text: checksum.type)
                }
                xml.element("Size", text: String(record.size))
                xml.element("StorageClass", text: "STANDARD")
                xml.open("Owner")
                xml.element("ID", text: self.configuration.accountId)
                xml.close("Owner")
                xml.close("Version")
            }
        }
        for common in page.commonPrefixes {
            xml.open("CommonPrefixes")
            xml.element("Prefix", text: encode(common))
            xml.close("CommonPrefixes")
        }
        xml.close("ListVersionsResult")
        return .xml(xml)
    }
}
