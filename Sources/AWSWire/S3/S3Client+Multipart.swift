import Crypto
import Foundation
import NIOCore
import NIOHTTP1

extension S3Client {
    // MARK: CreateMultipartUpload

    /// Starts a multipart upload. With ``ChecksumAlgorithm/crc32c`` (the default) the upload is
    /// created with `x-amz-checksum-algorithm: CRC32C`, so parts carry CRC32C checksums and the
    /// object gets a composite checksum.
    package func createMultipartUpload(
        bucket: String,
        key: String,
        contentType: String? = nil,
        metadata: [String: String] = [:]
    ) async throws -> S3CreateMultipartUploadResult {
        var spec = S3RequestSpec(
            operation: "CreateMultipartUpload", method: .POST, bucket: bucket, key: key,
            query: [(name: "uploads", value: nil)], timeout: self.configuration.timeouts.request
        )
        if let contentType { spec.headers.append((name: "content-type", value: contentType)) }
        Self.appendMetadata(metadata, to: &spec.headers)
        if self.configuration.checksumAlgorithm == .crc32c {
            spec.headers.append((name: "x-amz-checksum-algorithm", value: "CRC32C"))
        }
        let (head, root) = try await self.xmlRequest(spec)
        return try S3CreateMultipartUploadResult(
            xml: root!, requestId: head.requestId, checksumAlgorithmHeader: head.header("x-amz-checksum-algorithm")
        )
    }

    // MARK: UploadPart

    /// Uploads one part from a caller-owned buffer (its readable bytes; the buffer is not
    /// consumed, and retries resend it without copying).
    ///
    /// - Parameters:
    ///   - partNumber: 1...10000.
    ///   - checksum: the part's CRC32C if the caller already computed it (e.g. while generating
    ///     the data); computed here otherwise. Ignored with ``ChecksumAlgorithm/none``.
    package func uploadPart(
        bucket: String,
        key: String,
        uploadId: String,
        partNumber: Int,
        body: ByteBuffer,
        checksum: CRC32C? = nil
    ) async throws -> S3UploadPartResult {
        guard (1...10_000).contains(partNumber) else {
            throw AWSError(kind: .invalidRequest, operation: "UploadPart", message: "part number \(partNumber) is not in 1...10000")
        }
        var spec = S3RequestSpec(
            operation: "UploadPart", method: .PUT, bucket: bucket, key: key,
            query: [(name: "partNumber", value: String(partNumber)), (name: "uploadId", value: uploadId)],
            timeout: self.configuration.timeouts.transfer
        )
        let sent = self.prepareBody(body, checksum: checksum, into: &spec)
        let head = try await self.headRequest(spec)
        guard let eTag = head.header("etag") else {
            throw AWSError(kind: .invalidResponse, operation: "UploadPart", statusCode: head.status,
                           message: "no ETag in the response", requestId: head.requestId)
        }
        let echoed = head.header("x-amz-checksum-crc32c")
        if let sent, let echoed, echoed != sent {
            throw AWSError(kind: .invalidResponse, operation: "UploadPart", statusCode: head.status, code: .badDigest,
                           message: "S3 echoed CRC32C \(echoed) but we sent \(sent)", requestId: head.requestId)
        }
        return S3UploadPartResult(partNumber: partNumber, eTag: eTag, checksumCRC32C: echoed, sentChecksumCRC32C: sent, requestId: head.requestId)
    }

    // MARK: CompleteMultipartUpload

    /// Completes a multipart upload. `parts` must be in ascending part-number order; their
    /// CRC32C checksums are sent when present.
    ///
    /// S3 may answer `200 OK` and still fail (an `<Error>` document in the body): that is thrown
    /// as an ``AWSError`` with ``AWSError/errorInSuccessResponse`` set, and retried when its code
    /// is retryable (`InternalError`, `SlowDown`, ...). Note that a retry after a lost response
    /// can see `NoSuchUpload` although the first attempt completed the object.
    ///
    /// - Parameter expectedChecksumCRC32C: the composite checksum (`base64-N`) to check the
    ///   result against, when known (see ``CRC32C/composite(parts:)``).
    package func completeMultipartUpload(
        bucket: String,
        key: String,
        uploadId: String,
        parts: [S3CompletedPart],
        expectedChecksumCRC32C: String? = nil
    ) async throws -> S3CompleteMultipartUploadResult {
        let xml = S3CompletedPart.completeMultipartUploadXML(parts)
        var body = ByteBufferAllocator().buffer(capacity: xml.count)
        body.writeBytes(xml)
        var spec = S3RequestSpec(
            operation: "CompleteMultipartUpload", method: .POST, bucket: bucket, key: key,
            query: [(name: "uploadId", value: uploadId)], timeout: self.configuration.timeouts.completeMultipartUpload
        )
        spec.headers.append((name: "content-type", value: "application/xml"))
        spec.body = body
        spec.payloadHash = Self.sha256Hex(body)
        let (head, root) = try await self.xmlRequest(spec)
        let result = try S3CompleteMultipartUploadResult(
            xml: root!, versionId: head.header("x-amz-version-id"), requestId: head.requestId
        )
        if let expectedChecksumCRC32C, let got = result.checksumCRC32C, got != expectedChecksumCRC32C {
            throw AWSError(kind: .invalidResponse, operation: "CompleteMultipartUpload", statusCode: head.status, code: .badDigest,
                           message: "object checksum \(got) differs from the expected \(expectedChecksumCRC32C)",
                           requestId: head.requestId)
        }
        return result
    }

    // MARK: AbortMultipartUpload

    package func abortMultipartUpload(bucket: String, key: String, uploadId: String) async throws {
        let spec = S3RequestSpec(
            operation: "AbortMultipartUpload", method: .DELETE, bucket: bucket, key: key,
            query: [(name: "uploadId", value: uploadId)], timeout: self.configuration.timeouts.request
        )
        _ = try await self.headRequest(spec)
    }

    // MARK: ListParts

    /// One page of the parts uploaded so far.
    package func listParts(
        bucket: String,
        key: String,
        uploadId: String,
        partNumberMarker: Int? = nil,
        maxParts: Int? = nil
    ) async throws -> S3ListPartsResult {
        var query: [(name: String, value: String?)] = [(name: "uploadId", value: uploadId)]
        if let maxParts { query.append((name: "max-parts", value: String(maxParts))) }
        if let partNumberMarker { query.append((name: "part-number-marker", value: String(partNumberMarker))) }
        let spec = S3RequestSpec(
            operation: "ListParts", method: .GET, bucket: bucket, key: key, query: query,
            timeout: self.configuration.timeouts.request
        )
        let (_, root) = try await self.xmlRequest(spec)
        return try S3ListPartsResult(xml: root!)
    }

    /// All parts, following `NextPartNumberMarker` for at most `maxPages` pages.
    package func listAllParts(
        bucket: String,
        key: String,
        uploadId: String,
        pageSize: Int? = nil,
        maxPages: Int = 100
    ) async throws -> [S3Part] {
        var parts: [S3Part] = []
        var marker: Int?
        for _ in 0..<maxPages {
            let page = try await self.listParts(bucket: bucket, key: key, uploadId: uploadId, partNumberMarker: marker, maxParts: pageSize)
            parts.append(contentsOf: page.parts)
            guard page.isTruncated else { return parts }
            guard let next = page.nextPartNumberMarker, next != marker else {
                throw AWSError(kind: .invalidResponse, operation: "ListParts", message: "truncated page without a new NextPartNumberMarker")
            }
            marker = next
        }
        throw AWSError(kind: .invalidResponse, operation: "ListParts", message: "more than \(maxPages) pages")
    }

    // MARK: ListMultipartUploads

    /// One page of the in-progress multipart uploads of a bucket.
    package func listMultipartUploads(
        bucket: String,
        prefix: String? = nil,
        delimiter: String? = nil,
        keyMarker: String? = nil,
        uploadIdMarker: String? = nil,
        maxUploads: Int? = nil
    ) async throws -> S3ListMultipartUploadsResult {
        var query: [(name: String, value: String?)] = [(name: "uploads", value: nil)]
        if let delimiter { query.append((name: "delimiter", value: delimiter)) }
        if let keyMarker { query.append((name: "key-marker", value: keyMarker)) }
        if let maxUploads { query.append((name: "max-uploads", value: String(maxUploads))) }
        if let prefix { query.append((name: "prefix", value: prefix)) }
        if let uploadIdMarker { query.append((name: "upload-id-marker", value: uploadIdMarker)) }
        let spec = S3RequestSpec(
            operation: "ListMultipartUploads", method: .GET, bucket: bucket, query: query,
            timeout: self.configuration.timeouts.request
        )
        let (_, root) = try await self.xmlRequest(spec)
        return try S3ListMultipartUploadsResult(xml: root!)
    }

    /// All in-progress uploads (under `prefix`), following the markers for at most `maxPages` pages.
    package func listAllMultipartUploads(
        bucket: String,
        prefix: String? = nil,
        pageSize: Int? = nil,
        maxPages: Int = 100
    ) async throws -> [S3MultipartUpload] {
        var uploads: [S3MultipartUpload] = []
        var keyMarker: String?
        var uploadIdMarker: String?
        for _ in 0..<maxPages {
            let page = try await self.listMultipartUploads(
                bucket: bucket, prefix: prefix, keyMarker: keyMarker, uploadIdMarker: uploadIdMarker, maxUploads: pageSize
            )
            uploads.append(contentsOf: page.uploads)
            guard page.isTruncated else { return uploads }
            let nextKey = page.nextKeyMarker ?? page.uploads.last?.key
            let nextId = page.nextUploadIdMarker ?? page.uploads.last?.uploadId
            guard nextKey != nil, nextKey != keyMarker || nextId != uploadIdMarker else {
                throw AWSError(kind: .invalidResponse, operation: "ListMultipartUploads", message: "truncated page without new markers")
            }
            keyMarker = nextKey
            uploadIdMarker = nextId
        }
        throw AWSError(kind: .invalidResponse, operation: "ListMultipartUploads", message: "more than \(maxPages) pages")
    }
}

// MARK: - Body helpers

extension S3Client {
    /// Sets body, checksum headers and payload hash; returns the CRC32C sent (base64), if any.
    func prepareBody(_ body: ByteBuffer, checksum: CRC32C?, into spec: inout S3RequestSpec) -> String? {
        spec.body = body
        var sent: String?
        if self.configuration.checksumAlgorithm == .crc32c {
            let crc = checksum ?? CRC32C.checksum(body)
            sent = crc.base64
            // The SDKs name the algorithm too; some S3 implementations (moto) only look at this one.
            spec.headers.append((name: "x-amz-sdk-checksum-algorithm", value: "CRC32C"))
            spec.headers.append((name: "x-amz-checksum-crc32c", value: crc.base64))
            spec.payloadHash = self.configuration.unsignedPayloadWhenChecksummed ? SigV4Signer.unsignedPayload : Self.sha256Hex(body)
        } else {
            spec.payloadHash = Self.sha256Hex(body)
        }
        if self.configuration.sendContentMD5 {
            spec.headers.append((name: "content-md5", value: Self.md5Base64(body)))
        }
        return sent
    }

    static func sha256Hex(_ buffer: ByteBuffer) -> String {
        let digest = buffer.withUnsafeReadableBytes { SHA256.hash(data: $0) }
        return hex(digest)
    }

    static func md5Base64(_ buffer: ByteBuffer) -> String {
        let digest = buffer.withUnsafeReadableBytes { Insecure.MD5.hash(data: $0) }
        return Data(digest).base64EncodedString()
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    static func hex(_ bytes: some Sequence<UInt8>) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(64)
        for b in bytes {
            out.append(hexDigits[Int(b >> 4)])
            out.append(hexDigits[Int(b & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func appendMetadata(_ metadata: [String: String], to headers: inout [(name: String, value: String)]) {
        for (name, value) in metadata.sorted(by: { $0.key < $1.key }) {
            headers.append((name: "x-amz-meta-" + name.lowercased(), value: value))
        }
    }
}
