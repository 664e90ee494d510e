/// An `s3://bucket/key` address.
package struct S3Location: Sendable, Hashable, CustomStringConvertible {
    package var bucket: String
    package var key: String

    package init(bucket: String, key: String) {
        self.bucket = bucket
        self.key = key
    }

    /// Parses `s3://bucket/key` (the key may contain `/`; it must not be empty).
    package init(parsing text: String) throws(UploadError) {
        let scheme = "s3://"
        guard text.hasPrefix(scheme) else {
            throw .invalidArgument("'\(text)' is not an S3 URL; expected s3://BUCKET/KEY")
        }
        let rest = text.dropFirst(scheme.count)
        guard let slash = rest.firstIndex(of: "/") else {
            throw .invalidArgument("'\(text)' has no object key; expected s3://BUCKET/KEY")
        }
        let bucket = String(rest[..<slash])
        let key = String(rest[rest.index(after: slash)...])
        guard (3...63).contains(bucket.utf8.count), bucket.utf8.allSatisfy({ Self.isBucketByte($0) }) else {
            throw .invalidArgument("'\(bucket)' is not a valid bucket name (3–63 characters: lower-case letters, digits, '.', '-')")
        }
        guard !key.isEmpty else {
            throw .invalidArgument("'\(text)' has an empty object key; expected s3://BUCKET/KEY")
        }
        guard key.utf8.count <= 1024 else {
            throw .invalidArgument("the object key is \(key.utf8.count) bytes long; S3 allows 1024")
        }
        self.bucket = bucket
        self.key = key
    }

    private static func isBucketByte(_ b: UInt8) -> Bool {
        (b >= 0x61 && b <= 0x7A) || (b >= 0x30 && b <= 0x39) || b == 0x2D || b == 0x2E
    }

    package var description: String { "s3://\(self.bucket)/\(self.key)" }
}
