import AWSWire
import Foundation

/// A bucket and its settings.
package struct BucketRecord: Sendable, Hashable {
    package var name: String
    package var createdAt: Date
    package var versioningEnabled: Bool
    package var objectLockEnabled: Bool
    /// Default retention (compliance mode) of new versions; nil: none.
    package var retentionSeconds: Int64?
}

/// Which checksum algorithm an object or upload carries (S3's `x-amz-checksum-*`).
package enum ChecksumAlgorithm: String, Sendable, Hashable, CaseIterable {
    case crc32 = "CRC32"
    case crc32c = "CRC32C"

    /// `x-amz-checksum-crc32`, …
    package var headerName: String {
        switch self {
        case .crc32: "x-amz-checksum-crc32"
        case .crc32c: "x-amz-checksum-crc32c"
        }
    }

    /// `ChecksumCRC32`, … (XML element names).
    package var elementName: String {
        switch self {
        case .crc32: "ChecksumCRC32"
        case .crc32c: "ChecksumCRC32C"
        }
    }

    package init?(name: String) {
        switch name.uppercased() {
        case "CRC32": self = .crc32
        case "CRC32C": self = .crc32c
        default: return nil
        }
    }

    /// `base64(crc(concat raw part checksums))-N`: S3's COMPOSITE checksum of a multipart object.
    package func composite(partChecksums: [String]) -> String? {
        var raw: [UInt8] = []
        raw.reserveCapacity(partChecksums.count * 4)
        for checksum in partChecksums {
            guard let data = Data(base64Encoded: checksum), data.count == 4 else { return nil }
            raw.append(contentsOf: data)
        }
        let combined: String
        switch self {
        case .crc32:
            var crc = CRC32()
            raw.withUnsafeBytes { crc.update($0) }
            combined = crc.base64
        case .crc32c:
            combined = raw.withUnsafeBytes { CRC32C.checksum($0).base64 }
        }
        return "\(combined)-\(partChecksums.count)"
    }
}

/// A stored checksum: algorithm, base64 value, and `FULL_OBJECT` or `COMPOSITE`.
package struct ChecksumValue: Sendable, Hashable {
    package var algorithm: ChecksumAlgorithm
    package var value: String
    package var type: String
}

/// One contiguous piece of an object's bytes: a whole blob file. A PutObject has one segment;
/// a multipart object has one per part (its part files, never copied).
package struct Segment: Sendable, Hashable {
    package var blob: String
    package var size: Int64
}

/// One version of an object (or a delete marker).
package struct ObjectRecord: Sendable, Hashable {
    /// Row id; increasing across the whole store. The sequencer is derived from it.
    package var id: Int64
    package var bucket: String
    package var key: String
    /// `null` in a bucket without versioning (as S3 spells it).
    package var versionId: String
    package var isLatest: Bool
    package var isDeleteMarker: Bool
    package var size: Int64
    /// Without quotes.
    package var etag: String
    package var contentType: String?
    package var userMetadata: [String: String]
    package var checksum: ChecksumValue?
    package var segments: [Segment]
    /// Number of parts for a multipart object; nil for a single PUT.
    package var partCount: Int?
    package var lastModified: Date
    package var retainUntil: Date?

    /// Fixed-width (18 digits) upper-case hex; increases with every new version in the store.
    package var sequencer: String { Self.sequencer(self.id) }

    package static func sequencer(_ id: Int64) -> String {
        let hex = String(id, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, 18 - hex.utf8.count)) + hex
    }

    package var quotedETag: String { "\"\(self.etag)\"" }
    /// The version id for headers and XML: nil when the bucket is unversioned (`null`).
    package var wireVersionId: String { self.versionId }
}

/// An in-progress multipart upload.
package struct UploadRecord: Sendable, Hashable {
    package var uploadId: String
    package var bucket: String
    package var key: String
    package var initiated: Date
    package var contentType: String?
    package var userMetadata: [String: String]
    package var checksumAlgorithm: ChecksumAlgorithm?
}

/// One uploaded part.
package struct PartRecord: Sendable, Hashable {
    package var partNumber: Int
    package var blob: String
    package var size: Int64
    /// Without quotes.
    package var etag: String
    /// Base64 checksum of the upload's algorithm, when it has one.
    package var checksum: String?
    package var lastModified: Date
}

/// What a successful CompleteMultipartUpload answered; kept for the grace window.
package struct CompletionRecord: Sendable, Hashable {
    package var uploadId: String
    package var bucket: String
    package var key: String
    /// SHA-256 of the normalized part list, to recognize an identical retry.
    package var requestDigest: String
    package var etag: String
    package var versionId: String
    package var checksum: ChecksumValue?
    package var completedAt: Date
}
