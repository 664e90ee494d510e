/// S3's multipart limits (https://docs.aws.amazon.com/AmazonS3/latest/userguide/qfacts.html).
package enum S3MultipartLimits {
    /// Smallest part but the last: 5 MiB.
    package static let minimumPartSize = 5 << 20
    /// Largest part: 5 GiB.
    package static let maximumPartSize = 5 << 30
    /// Most parts per upload.
    package static let maximumParts = 10_000
    /// Largest object: 5 TiB.
    package static let maximumObjectSize = 5 << 40
}

/// How long a source is, as far as the part-size planner knows.
package enum SourceLength: Sendable, Hashable {
    /// Exactly this many bytes (a file).
    case exact(Int)
    /// At most this many bytes (a generated stream whose target is known; it stops at the first
    /// row boundary at or past the target, so the bound includes a margin for one row).
    case atMost(Int)

    package var bound: Int {
        switch self {
        case .exact(let n), .atMost(let n): n
        }
    }
}

/// Part-size planning: pure arithmetic, tested without I/O.
package enum PartSizing {
    /// Granularity of an automatically raised part size: 1 MiB, so sizes stay readable.
    package static let raiseGranularity = 1 << 20
    /// Largest part this engine sends: 4 GiB - 1 MiB, what one `ByteBuffer` holds (S3 allows
    /// 5 GiB; 5 TiB in 10,000 parts needs only ~525 MiB).
    package static let maximumPartSize = (1 << 32) - (1 << 20)

    /// The part size to use: `requested`, raised (to a multiple of 1 MiB) when `length` would
    /// otherwise need more than 10,000 parts.
    ///
    /// - Parameters:
    ///   - minimum: smallest part size accepted (S3: 5 MiB; tests against a server configured
    ///     with a smaller minimum pass less).
    /// - Throws: ``UploadError`` when `requested` is below `minimum` or above 5 GiB, or when
    ///   the source cannot fit in 10,000 parts of at most 5 GiB (or exceeds 5 TiB).
    package static func partSize(
        requested: Int,
        length: SourceLength,
        minimum: Int = S3MultipartLimits.minimumPartSize
    ) throws(UploadError) -> Int {
        guard requested >= minimum else {
            throw .invalidConfiguration("part size \(requested) bytes is below the minimum of \(minimum) bytes (S3 requires 5 MiB for every part but the last)")
        }
        guard requested <= maximumPartSize else {
            throw .invalidConfiguration("part size \(requested) bytes is above the maximum of \(maximumPartSize) bytes (4 GiB - 1 MiB: one ByteBuffer; S3 allows 5 GiB)")
        }
        let bound = max(0, length.bound)
        guard bound <= S3MultipartLimits.maximumObjectSize else {
            throw .objectTooLarge("\(bound) bytes is more than S3's maximum object size of 5 TiB")
        }
        let needed = ceilDiv(bound, S3MultipartLimits.maximumParts)
        guard needed > requested else { return requested }
        let raised = ceilDiv(needed, raiseGranularity) * raiseGranularity
        // 5 TiB / 10,000 parts is ~525 MiB, well under the part size limit.
        return min(raised, maximumPartSize)
    }

    /// Parts needed for `length` bytes at `partSize` (an empty object is one empty part).
    package static func partCount(length: Int, partSize: Int) -> Int {
        max(1, ceilDiv(max(0, length), partSize))
    }

    static func ceilDiv(_ a: Int, _ b: Int) -> Int {
        a == 0 ? 0 : (a - 1) / b + 1
    }
}
