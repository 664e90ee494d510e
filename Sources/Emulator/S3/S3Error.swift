import AWSWire

/// An error the S3 face answers with: an S3 error code, its HTTP status, S3's message and the
/// extra elements S3 puts in the `<Error>` document (`Key`, `BucketName`, `UploadId`, …).
///
/// Compare by ``code`` (`error.code == .noSuchKey`).
package struct S3Error: Error, Sendable, CustomStringConvertible {
    /// One S3 error code and the status S3 answers it with.
    package struct Code: Hashable, Sendable, CustomStringConvertible {
        /// The `<Code>` text, e.g. `NoSuchKey`.
        package let name: String
        /// The HTTP status.
        package let status: Int

        private init(_ name: String, _ status: Int) {
            self.name = name
            self.status = status
        }

        package var description: String { self.name }

        package static let accessDenied = Code("AccessDenied", 403)
        package static let signatureDoesNotMatch = Code("SignatureDoesNotMatch", 403)
        package static let badDigest = Code("BadDigest", 400)
        package static let invalidDigest = Code("InvalidDigest", 400)
        package static let xAmzContentSHA256Mismatch = Code("XAmzContentSHA256Mismatch", 400)
        package static let entityTooSmall = Code("EntityTooSmall", 400)
        package static let entityTooLarge = Code("EntityTooLarge", 400)
        package static let incompleteBody = Code("IncompleteBody", 400)
        package static let invalidArgument = Code("InvalidArgument", 400)
        package static let invalidBucketName = Code("InvalidBucketName", 400)
        package static let invalidPart = Code("InvalidPart", 400)
        package static let invalidPartOrder = Code("InvalidPartOrder", 400)
        package static let invalidRequest = Code("InvalidRequest", 400)
        package static let malformedXML = Code("MalformedXML", 400)
        package static let missingContentLength = Code("MissingContentLength", 411)
        package static let noSuchBucket = Code("NoSuchBucket", 404)
        package static let noSuchKey = Code("NoSuchKey", 404)
        package static let noSuchUpload = Code("NoSuchUpload", 404)
        package static let noSuchVersion = Code("NoSuchVersion", 404)
        package static let noSuchObjectLockConfiguration = Code("NoSuchObjectLockConfiguration", 404)
        package static let objectLockConfigurationNotFound = Code("ObjectLockConfigurationNotFoundError", 404)
        package static let methodNotAllowed = Code("MethodNotAllowed", 405)
        package static let bucketAlreadyOwnedByYou = Code("BucketAlreadyOwnedByYou", 409)
        package static let bucketNotEmpty = Code("BucketNotEmpty", 409)
        package static let preconditionFailed = Code("PreconditionFailed", 412)
        package static let notModified = Code("NotModified", 304)
        package static let invalidRange = Code("InvalidRange", 416)
        package static let internalError = Code("InternalError", 500)
        package static let notImplemented = Code("NotImplemented", 501)

        /// The code for a SigV4 verification failure (same name and status).
        package static func signing(_ code: SigV4Error.Code) -> Code { Code(code.s3Code, code.httpStatus) }
    }

    package var code: Code
    package var message: String
    /// Extra `<Name>value</Name>` elements, in order.
    package var details: [(name: String, value: String)]
    /// Extra response headers (`x-amz-delete-marker`, `x-amz-version-id`, …).
    package var headers: [(name: String, value: String)]

    package init(
        _ code: Code,
        _ message: String,
        details: [(name: String, value: String)] = [],
        headers: [(name: String, value: String)] = []
    ) {
        self.code = code
        self.message = message
        self.details = details
        self.headers = headers
    }

    package var description: String { "S3Error(\(self.code.name), \(self.code.status)): \(self.message)" }

    init(_ error: SigV4Error) {
        var details: [(name: String, value: String)] = []
        if let canonicalRequest = error.canonicalRequest { details.append(("CanonicalRequest", canonicalRequest)) }
        if let stringToSign = error.stringToSign { details.append(("StringToSign", stringToSign)) }
        self.init(.signing(error.code), error.message, details: details)
    }

    // MARK: S3's wording

    static func noSuchBucket(_ bucket: String) -> S3Error {
        S3Error(.noSuchBucket, "The specified bucket does not exist", details: [("BucketName", bucket)])
    }

    static func noSuchKey(_ key: String) -> S3Error {
        S3Error(.noSuchKey, "The specified key does not exist.", details: [("Key", key)])
    }

    static func noSuchVersion(key: String, versionId: String) -> S3Error {
        S3Error(.noSuchVersion, "The specified version does not exist.", details: [("Key", key), ("VersionId", versionId)])
    }

    static func noSuchUpload(_ uploadId: String) -> S3Error {
        S3Error(
            .noSuchUpload,
            "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.",
            details: [("UploadId", uploadId)]
        )
    }

    static func malformedXML() -> S3Error {
        S3Error(.malformedXML, "The XML you provided was not well-formed or did not validate against our published schema")
    }

    static func invalidArgument(_ message: String, name: String, value: String) -> S3Error {
        S3Error(.invalidArgument, message, details: [("ArgumentName", name), ("ArgumentValue", value)])
    }

    static func notImplemented(_ what: String) -> S3Error {
        S3Error(.notImplemented, "A header or query you provided implies functionality that is not implemented: \(what)")
    }

    static func lockedVersion() -> S3Error {
        S3Error(.accessDenied, "Access Denied because object protected by object lock.")
    }
}
