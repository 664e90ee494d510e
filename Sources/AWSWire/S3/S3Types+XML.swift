/// Decoding of S3 response documents into the result types (pure; tested with AWS samples).

private func invalid(_ operation: String, _ message: String) -> AWSError {
    AWSError(kind: .invalidResponse, operation: operation, message: message)
}

/// Like the AWS SDKs, the root element's name is not checked strictly: S3 documents it as
/// e.g. `ListPartsResult`, while some implementations (moto 5) send `ListPartsResponse`. Only an
/// `<Error>` root is rejected (callers check for it first; this is a safety net).
private func expectRoot(_ root: XML.Element, _ name: String, _ operation: String) throws(AWSError) {
    guard root.name != "Error" else {
        throw invalid(operation, "expected <\(name)>, got <Error>")
    }
}

private func required(_ element: XML.Element, _ name: String, _ operation: String) throws(AWSError) -> String {
    guard let value = element.childText(name) else {
        throw invalid(operation, "<\(element.name)> has no <\(name)>")
    }
    return value
}

private func int(_ element: XML.Element, _ name: String) -> Int? {
    element.childText(name).flatMap { Int($0.trimmingWhitespace()) }
}

private func bool(_ element: XML.Element, _ name: String) -> Bool {
    element.childText(name)?.trimmingWhitespace().lowercased() == "true"
}

private func nonEmpty(_ s: String?) -> String? {
    guard let s, !s.isEmpty else { return nil }
    return s
}

extension String {
    fileprivate func trimmingWhitespace() -> Substring {
        var s = self[...]
        while let c = s.first, c.isWhitespace { s = s.dropFirst() }
        while let c = s.last, c.isWhitespace { s = s.dropLast() }
        return s
    }
}

extension S3CreateMultipartUploadResult {
    package init(xml root: XML.Element, requestId: String? = nil, checksumAlgorithmHeader: String? = nil) throws(AWSError) {
        let op = "CreateMultipartUpload"
        try expectRoot(root, "InitiateMultipartUploadResult", op)
        self.bucket = root.childText("Bucket") ?? ""
        self.key = try required(root, "Key", op)
        self.uploadId = try required(root, "UploadId", op)
        guard !self.uploadId.isEmpty else { throw invalid(op, "empty <UploadId>") }
        self.checksumAlgorithm = checksumAlgorithmHeader ?? nonEmpty(root.childText("ChecksumAlgorithm"))
        self.requestId = requestId
    }
}

extension S3CompleteMultipartUploadResult {
    package init(xml root: XML.Element, versionId: String? = nil, requestId: String? = nil) throws(AWSError) {
        try expectRoot(root, "CompleteMultipartUploadResult", "CompleteMultipartUpload")
        self.location = nonEmpty(root.childText("Location"))
        self.bucket = nonEmpty(root.childText("Bucket"))
        self.key = nonEmpty(root.childText("Key"))
        self.eTag = nonEmpty(root.childText("ETag"))
        self.checksumCRC32C = nonEmpty(root.childText("ChecksumCRC32C"))
        self.checksumType = nonEmpty(root.childText("ChecksumType"))
        self.versionId = versionId
        self.requestId = requestId
    }
}

extension S3ListPartsResult {
    package init(xml root: XML.Element) throws(AWSError) {
        let op = "ListParts"
        try expectRoot(root, "ListPartsResult", op)
        self.bucket = nonEmpty(root.childText("Bucket"))
        self.key = nonEmpty(root.childText("Key"))
        self.uploadId = nonEmpty(root.childText("UploadId"))
        self.isTruncated = bool(root, "IsTruncated")
        self.nextPartNumberMarker = int(root, "NextPartNumberMarker")
        self.maxParts = int(root, "MaxParts")
        self.checksumAlgorithm = nonEmpty(root.childText("ChecksumAlgorithm"))
        var parts: [S3Part] = []
        for p in root.children(named: "Part") {
            guard let number = int(p, "PartNumber") else { throw invalid(op, "<Part> without a valid <PartNumber>") }
            parts.append(
                S3Part(
                    partNumber: number,
                    eTag: try required(p, "ETag", op),
                    size: p.childText("Size").flatMap { Int64($0.trimmingWhitespace()) } ?? 0,
                    lastModified: nonEmpty(p.childText("LastModified")),
                    checksumCRC32C: nonEmpty(p.childText("ChecksumCRC32C"))
                )
            )
        }
        self.parts = parts
    }
}

extension S3ListMultipartUploadsResult {
    package init(xml root: XML.Element) throws(AWSError) {
        let op = "ListMultipartUploads"
        try expectRoot(root, "ListMultipartUploadsResult", op)
        let urlEncoded = root.childText("EncodingType") == "url"
        func decode(_ s: String?) -> String? { s.map { urlEncoded ? AWSURIEncoding.decode($0, plusAsSpace: true) : $0 } }
        self.bucket = nonEmpty(root.childText("Bucket"))
        self.isTruncated = bool(root, "IsTruncated")
        self.nextKeyMarker = nonEmpty(decode(root.childText("NextKeyMarker")))
        self.nextUploadIdMarker = nonEmpty(root.childText("NextUploadIdMarker"))
        var uploads: [S3MultipartUpload] = []
        for u in root.children(named: "Upload") {
            uploads.append(
                S3MultipartUpload(
                    key: decode(try required(u, "Key", op))!,
                    uploadId: try required(u, "UploadId", op),
                    initiated: nonEmpty(u.childText("Initiated")),
                    storageClass: nonEmpty(u.childText("StorageClass"))
                )
            )
        }
        self.uploads = uploads
        self.commonPrefixes = root.children(named: "CommonPrefixes").compactMap { decode($0.childText("Prefix")) }
    }
}

extension S3ListObjectsV2Result {
    package init(xml root: XML.Element) throws(AWSError) {
        let op = "ListObjectsV2"
        try expectRoot(root, "ListBucketResult", op)
        let urlEncoded = root.childText("EncodingType") == "url"
        func decode(_ s: String?) -> String? { s.map { urlEncoded ? AWSURIEncoding.decode($0, plusAsSpace: true) : $0 } }
        self.name = nonEmpty(root.childText("Name"))
        self.prefix = nonEmpty(decode(root.childText("Prefix")))
        self.delimiter = nonEmpty(decode(root.childText("Delimiter")))
        self.keyCount = int(root, "KeyCount")
        self.maxKeys = int(root, "MaxKeys")
        self.isTruncated = bool(root, "IsTruncated")
        self.continuationToken = nonEmpty(root.childText("ContinuationToken"))
        self.nextContinuationToken = nonEmpty(root.childText("NextContinuationToken"))
        self.startAfter = nonEmpty(decode(root.childText("StartAfter")))
        var objects: [S3Object] = []
        for c in root.children(named: "Contents") {
            objects.append(
                S3Object(
                    key: decode(try required(c, "Key", op))!,
                    size: c.childText("Size").flatMap { Int64($0.trimmingWhitespace()) } ?? 0,
                    eTag: nonEmpty(c.childText("ETag")),
                    lastModified: nonEmpty(c.childText("LastModified")),
                    storageClass: nonEmpty(c.childText("StorageClass"))
                )
            )
        }
        self.objects = objects
        self.commonPrefixes = root.children(named: "CommonPrefixes").compactMap { decode($0.childText("Prefix")) }
    }
}

extension S3CompletedPart {
    /// The CompleteMultipartUpload request body.
    package static func completeMultipartUploadXML(_ parts: [S3CompletedPart]) -> [UInt8] {
        var w = XML.Writer(reservingCapacity: 128 + parts.count * 120)
        w.open("CompleteMultipartUpload", attributes: [(name: "xmlns", value: "http://s3.amazonaws.com/doc/2006-03-01/")])
        for part in parts {
            w.open("Part")
            w.element("PartNumber", text: String(part.partNumber))
            w.element("ETag", text: part.eTag)
            if let checksum = part.checksumCRC32C { w.element("ChecksumCRC32C", text: checksum) }
            w.close("Part")
        }
        w.close("CompleteMultipartUpload")
        return w.bytes
    }
}
