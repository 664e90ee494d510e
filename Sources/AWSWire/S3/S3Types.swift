/// Results of S3 operations. ETags are kept exactly as S3 sends them (with their quotes), which
/// is also the form CompleteMultipartUpload expects back.

package struct S3CreateMultipartUploadResult: Sendable, Hashable {
    package var bucket: String
    package var key: String
    package var uploadId: String
    /// `CRC32C` when the upload was created with that checksum algorithm.
    package var checksumAlgorithm: String?
    package var requestId: String?
}

package struct S3UploadPartResult: Sendable, Hashable {
    package var partNumber: Int
    package var eTag: String
    /// The `x-amz-checksum-crc32c` S3 echoed (base64), if any.
    package var checksumCRC32C: String?
    /// The checksum we computed and sent (base64), if any.
    package var sentChecksumCRC32C: String?
    package var requestId: String?

    /// The part, as CompleteMultipartUpload wants it.
    package var completedPart: S3CompletedPart {
        S3CompletedPart(partNumber: self.partNumber, eTag: self.eTag, checksumCRC32C: self.checksumCRC32C ?? self.sentChecksumCRC32C)
    }
}

/// A part in a CompleteMultipartUpload request.
package struct S3CompletedPart: Sendable, Hashable {
    package var partNumber: Int
    package var eTag: String
    /// Base64 CRC32C of the part; sent as `<ChecksumCRC32C>` when present.
    package var checksumCRC32C: String?

    package init(partNumber: Int, eTag: String, checksumCRC32C: String? = nil) {
        self.partNumber = partNumber
        self.eTag = eTag
        self.checksumCRC32C = checksumCRC32C
    }
}

package struct S3CompleteMultipartUploadResult: Sendable, Hashable {
    package var location: String?
    package var bucket: String?
    package var key: String?
    package var eTag: String?
    /// `x-amz-version-id`, when the bucket is versioned.
    package var versionId: String?
    /// Composite `base64-N` checksum, when S3 returned one.
    package var checksumCRC32C: String?
    package var checksumType: String?
    package var requestId: String?
}

package struct S3Part: Sendable, Hashable {
    package var partNumber: Int
    package var eTag: String
    package var size: Int64
    package var lastModified: String?
    package var checksumCRC32C: String?
}

package struct S3ListPartsResult: Sendable, Hashable {
    package var bucket: String?
    package var key: String?
    package var uploadId: String?
    package var parts: [S3Part]
    package var isTruncated: Bool
    /// Pass as `partNumberMarker` to get the next page.
    package var nextPartNumberMarker: Int?
    package var maxParts: Int?
    package var checksumAlgorithm: String?
}

package struct S3MultipartUpload: Sendable, Hashable {
    package var key: String
    package var uploadId: String
    package var initiated: String?
    package var storageClass: String?
}

package struct S3ListMultipartUploadsResult: Sendable, Hashable {
    package var bucket: String?
    package var uploads: [S3MultipartUpload]
    package var commonPrefixes: [String]
    package var isTruncated: Bool
    package var nextKeyMarker: String?
    package var nextUploadIdMarker: String?
}

package struct S3PutObjectResult: Sendable, Hashable {
    package var eTag: String?
    package var versionId: String?
    package var checksumCRC32C: String?
    package var requestId: String?
}

/// What HeadObject (and the head of GetObject) tells about an object.
package struct S3ObjectMetadata: Sendable, Hashable {
    /// `Content-Length` of the response (the range's length for a ranged GET).
    package var contentLength: Int64?
    package var contentType: String?
    package var eTag: String?
    package var lastModified: String?
    package var versionId: String?
    package var checksumCRC32C: String?
    package var checksumType: String?
    /// `x-amz-meta-*` headers, names without the prefix, lower-cased.
    package var userMetadata: [String: String]
    /// `x-amz-mp-parts-count`, for multipart objects.
    package var partsCount: Int?
    package var deleteMarker: Bool
    package var requestId: String?
}

package struct S3Object: Sendable, Hashable {
    package var key: String
    package var size: Int64
    package var eTag: String?
    package var lastModified: String?
    package var storageClass: String?
}

package struct S3ListObjectsV2Result: Sendable, Hashable {
    package var name: String?
    package var prefix: String?
    package var delimiter: String?
    package var objects: [S3Object]
    package var commonPrefixes: [String]
    package var keyCount: Int?
    package var maxKeys: Int?
    package var isTruncated: Bool
    package var continuationToken: String?
    /// Pass as `continuationToken` to get the next page.
    package var nextContinuationToken: String?
    package var startAfter: String?
}

package struct S3DeleteObjectResult: Sendable, Hashable {
    package var versionId: String?
    package var deleteMarker: Bool
    package var requestId: String?
}

/// A byte range for GetObject: `bytes=first-last` (inclusive) or the last `n` bytes.
package struct S3ByteRange: Sendable, Hashable, CustomStringConvertible {
    private enum Base: Sendable, Hashable {
        case closed(Int64, Int64)
        case from(Int64)
        case suffix(Int64)
    }

    private let base: Base

    /// Bytes `first...last`, inclusive.
    package static func bytes(_ range: ClosedRange<Int64>) -> S3ByteRange { S3ByteRange(base: .closed(range.lowerBound, range.upperBound)) }
    /// From `first` to the end.
    package static func from(_ first: Int64) -> S3ByteRange { S3ByteRange(base: .from(first)) }
    /// The last `count` bytes.
    package static func suffix(_ count: Int64) -> S3ByteRange { S3ByteRange(base: .suffix(count)) }

    /// The `Range` header value.
    package var description: String {
        switch self.base {
        case .closed(let a, let b): "bytes=\(a)-\(b)"
        case .from(let a): "bytes=\(a)-"
        case .suffix(let n): "bytes=-\(n)"
        }
    }
}
