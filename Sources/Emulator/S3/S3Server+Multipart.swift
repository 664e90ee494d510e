import AWSWire
import Foundation
import HTTPTypes
import HummingbirdCore
import NIOCore

extension S3Server {
    func createMultipartUpload(_ request: S3Request, bucket: String, key: String) async throws -> S3Response {
        var algorithm: ChecksumAlgorithm?
        if let name = request.header("x-amz-checksum-algorithm") {
            guard let known = ChecksumAlgorithm(name: name) else {
                throw S3Error.notImplemented("checksum algorithm \(name) (the emulator supports CRC32 and CRC32C)")
            }
            algorithm = known
        }
        if let type = request.header("x-amz-checksum-type"), type.uppercased() != "COMPOSITE" {
            throw S3Error.notImplemented("x-amz-checksum-type \(type) (the emulator computes COMPOSITE multipart checksums)")
        }
        let upload = UploadRecord(
            uploadId: MetadataStore.newUploadId(), bucket: bucket, key: key, initiated: Date(),
            contentType: request.header("content-type"), userMetadata: request.userMetadata, checksumAlgorithm: algorithm
        )
        try await self.store.createUpload(upload)
        var xml = XML.Writer()
        xml.open("InitiateMultipartUploadResult", attributes: s3Namespace)
        xml.element("Bucket", text: bucket)
        xml.element("Key", text: key)
        xml.element("UploadId", text: upload.uploadId)
        xml.close("InitiateMultipartUploadResult")
        var response = S3Response.xml(xml)
        if let algorithm {
            response.set("x-amz-checksum-algorithm", algorithm.rawValue)
            response.set("x-amz-checksum-type", "COMPOSITE")
        }
        return response
    }

    func uploadPart(_ request: S3Request, bucket: String, key: String, identity: SigV4Identity) async throws -> Plan {
        guard let uploadId = request.query["uploadId"] else {
            throw S3Error(.invalidRequest, "A partNumber requires an uploadId.")
        }
        let partText = request.query["partNumber"] ?? ""
        guard let partNumber = Int(partText), (1...10_000).contains(partNumber) else {
            throw S3Error.invalidArgument("Part number must be an integer between 1 and 10000, inclusive", name: "partNumber", value: partText)
        }
        let upload = try await self.store.upload(bucket: bucket, key: key, uploadId: uploadId)
        let plan = try self.bodyPlan(request, identity: identity, extraChecksum: upload.checksumAlgorithm)
        return .readBody { body in
            let ingested = try await self.ingest(body, plan: plan)
            let checksum = upload.checksumAlgorithm.flatMap { ingested.digests.checksums[$0] }
            let part = PartRecord(
                partNumber: partNumber, blob: ingested.blob, size: ingested.digests.size, etag: ingested.digests.md5Hex,
                checksum: checksum, lastModified: Date()
            )
            let replaced: String?
            do {
                replaced = try await self.store.putPart(bucket: bucket, key: key, uploadId: uploadId, part: part)
            } catch {
                self.removeBlobs([ingested.blob])
                throw error
            }
            if let replaced { self.removeBlobs([replaced]) }
            var response = S3Response()
            response.set("etag", "\"\(part.etag)\"")
            var echoed = ingested.sentChecksums
            if let algorithm = upload.checksumAlgorithm, let checksum { echoed[algorithm] = checksum }
            for (algorithm, value) in echoed { response.set(algorithm.headerName, value) }
            return response
        }
    }

    /// Parses `<CompleteMultipartUpload><Part><PartNumber/><ETag/>[<ChecksumCRC32C/>]</Part>…`.
    static func parseCompleteRequest(_ body: ByteBuffer, algorithm: ChecksumAlgorithm?) throws(S3Error) -> [RequestedPart] {
        let root: XML.Element
        do {
            root = try XML.parse(body)
        } catch {
            throw S3Error.malformedXML()
        }
        guard root.name == "CompleteMultipartUpload" else { throw S3Error.malformedXML() }
        var parts: [RequestedPart] = []
        for element in root.children(named: "Part") {
            guard let numberText = element.childText("PartNumber")?.trimmingCharacters(in: .whitespacesAndNewlines),
                  let number = Int(numberText),
                  var etag = element.childText("ETag")?.trimmingCharacters(in: .whitespacesAndNewlines)
            else { throw S3Error.malformedXML() }
            if etag.hasPrefix("\"") && etag.hasSuffix("\"") && etag.count >= 2 { etag = String(etag.dropFirst().dropLast()) }
            var checksum: String?
            if let algorithm { checksum = element.childText(algorithm.elementName)?.trimmingCharacters(in: .whitespacesAndNewlines) }
            parts.append(RequestedPart(partNumber: number, etag: etag.lowercased(), checksum: checksum))
        }
        guard !parts.isEmpty else { throw S3Error.malformedXML() }
        return parts
    }

    func completeMultipartUpload(_ request: S3Request, bucket: String, key: String, uploadId: String) async throws -> Plan {
        _ = try await self.store.requireBucket(bucket)
        let ifNoneMatch = request.header("if-none-match")
        return self.collectBody(request) { body in
            // The algorithm is only known from the upload; a replay after completion has none left.
            let algorithm = try? await self.store.upload(bucket: bucket, key: key, uploadId: uploadId).checksumAlgorithm
            let parts = try Self.parseCompleteRequest(body, algorithm: algorithm ?? nil)
            if ifNoneMatch == "*" {
                if (try? await self.store.object(bucket: bucket, key: key, versionId: nil)) != nil {
                    throw S3Error(.preconditionFailed, "At least one of the pre-conditions you specified did not hold", details: [("Condition", "If-None-Match")])
                }
            }
            let outcome = try await self.store.completeUpload(
                bucket: bucket, key: key, uploadId: uploadId, parts: parts,
                minimumPartSize: self.configuration.multipart.minimumPartSize,
                gracePeriod: self.configuration.multipart.completionGracePeriod, now: Date(),
                context: self.eventContext(request, reason: .completeMultipartUpload)
            )
            if outcome.event != nil { self.onObjectCreated() }
            self.removeBlobs(outcome.removedBlobs)
            let completion = outcome.completion
            var xml = XML.Writer()
            xml.open("CompleteMultipartUploadResult", attributes: s3Namespace)
            xml.element("Location", text: "http://\(request.authority ?? "127.0.0.1")/\(bucket)/\(S3URLEncoding.encode(key))")
            xml.element("Bucket", text: bucket)
            xml.element("Key", text: key)
            xml.element("ETag", text: "\"\(completion.etag)\"")
            if let checksum = completion.checksum {
                xml.element(checksum.algorithm.elementName, text: checksum.value)
                xml.element("ChecksumType", text: checksum.type)
            }
            xml.close("CompleteMultipartUploadResult")
            var response = S3Response.xml(xml)
            if outcome.versioned { response.set("x-amz-version-id", completion.versionId) }
            return response
        }
    }

    func abortMultipartUpload(_ request: S3Request, bucket: String, key: String, uploadId: String) async throws -> S3Response {
        let blobs = try await self.store.abortUpload(bucket: bucket, key: key, uploadId: uploadId)
        self.removeBlobs(blobs)
        return S3Response(status: .noContent)
    }

    func listParts(_ request: S3Request, bucket: String, key: String, uploadId: String) async throws -> S3Response {
        let marker = Int(request.query["part-number-marker"] ?? "0") ?? 0
        let maxParts = try self.maxKeys(request, name: "max-parts")
        let (upload, parts, truncated) = try await self.store.listParts(bucket: bucket, key: key, uploadId: uploadId, after: marker, maxParts: maxParts)
        var xml = XML.Writer(reservingCapacity: 512 + parts.count * 200)
        xml.open("ListPartsResult", attributes: s3Namespace)
        xml.element("Bucket", text: bucket)
        xml.element("Key", text: key)
        xml.element("UploadId", text: uploadId)
        xml.open("Initiator")
        xml.element("ID", text: self.configuration.accountId)
        xml.element("DisplayName", text: "csvstorm")
        xml.close("Initiator")
        xml.open("Owner")
        xml.element("ID", text: self.configuration.accountId)
        xml.element("DisplayName", text: "csvstorm")
        xml.close("Owner")
        xml.element("StorageClass", text: "STANDARD")
        xml.element("PartNumberMarker", text: String(marker))
        if let last = parts.last { xml.element("NextPartNumberMarker", text: String(last.partNumber)) }
        xml.element("MaxParts", text: String(maxParts))
        xml.element("IsTruncated", text: truncated ? "true" : "false")
        if let algorithm = upload.checksumAlgorithm {
            xml.element("ChecksumAlgorithm", text: algorithm.rawValue)
            xml.element("ChecksumType", text: "COMPOSITE")
        }
        for part in parts {
            xml.open("Part")
            xml.element("PartNumber", text: String(part.partNumber))
            xml.element("LastModified", text: S3Time.iso8601(part.lastModified))
            xml.element("ETag", text: "\"\(part.etag)\"")
            xml.element("Size", text: String(part.size))
            if let algorithm = upload.checksumAlgorithm, let checksum = part.checksum {
                xml.element(algorithm.elementName, text: checksum)
            }
            xml.close("Part")
        }
        xml.close("ListPartsResult")
        return .xml(xml)
    }

    func listMultipartUploads(_ request: S3Request, bucket: String) async throws -> S3Response {
        let prefix = request.query["prefix"] ?? ""
        let delimiter = request.query["delimiter"].flatMap { $0.isEmpty ? nil : $0 }
        let maxUploads = try self.maxKeys(request, name: "max-uploads")
        let keyMarker = request.query["key-marker"].flatMap { $0.isEmpty ? nil : $0 }
        let uploadIdMarker = request.query["upload-id-marker"].flatMap { $0.isEmpty ? nil : $0 }
        let urlEncoded = request.query["encoding-type"] == "url"
        let encode: (String) -> String = urlEncoded ? { S3URLEncoding.encode($0) } : { $0 }
        let page = try await self.store.listUploads(
            bucket: bucket, prefix: prefix, delimiter: delimiter, keyMarker: keyMarker, uploadIdMarker: uploadIdMarker, maxUploads: maxUploads
        )
        var xml = XML.Writer()
        xml.open("ListMultipartUploadsResult", attributes: s3Namespace)
        xml.element("Bucket", text: bucket)
        xml.element("KeyMarker", text: encode(keyMarker ?? ""))
        xml.element("UploadIdMarker", text: uploadIdMarker ?? "")
        xml.element("NextKeyMarker", text: encode(page.isTruncated ? page.nextMarker ?? "" : ""))
        xml.element("NextUploadIdMarker", text: page.isTruncated ? page.nextVersionIdMarker ?? "" : "")
        xml.element("Prefix", text: encode(prefix))
        if let delimiter { xml.element("Delimiter", text: encode(delimiter)) }
        xml.element("MaxUploads", text: String(maxUploads))
        if urlEncoded { xml.element("EncodingType", text: "url") }
        xml.element("IsTruncated", text: page.isTruncated ? "true" : "false")
        for upload in page.items {
            xml.open("Upload")
            xml.element("Key", text: encode(upload.key))
            xml.element("UploadId", text: upload.uploadId)
            xml.open("Initiator")
            xml.element("ID", text: self.configuration.accountId)
            xml.close("Initiator")
            xml.open("Owner")
            xml.element("ID", text: self.configuration.accountId)
            xml.close("Owner")
            xml.element("StorageClass", text: "STANDARD")
            xml.element("Initiated", text: S3Time.iso8601(upload.initiated))
            if let algorithm = upload.checksumAlgorithm { xml.element("ChecksumAlgorithm", text: algorithm.rawValue) }
            xml.close("Upload")
        }
        for common in page.commonPrefixes {
            xml.open("CommonPrefixes")
            xml.element("Prefix", text: encode(common))
            xml.close("CommonPrefixes")
        }
        xml.close("ListMultipartUploadsResult")
        return .xml(xml)
    }
}
