/// Why an upload (or its set-up) failed: a struct over a private code, with a message that
/// names what to fix. The ``code`` string is stable and is what ``UploadRecord/Failure`` stores.
package struct UploadError: Error, Sendable, CustomStringConvertible {
    private enum Code: String, Sendable {
        case invalidConfiguration = "invalid-configuration"
        case invalidArgument = "invalid-argument"
        case sourceUnreadable = "source-unreadable"
        case objectTooLarge = "object-too-large"
        case tooManyParts = "too-many-parts"
        case integrity = "integrity"
        case requestFailed = "request-failed"
        case cancelled = "cancelled"
        case abortNotConfirmed = "abort-not-confirmed"
    }

    private let code: Code
    package let message: String

    private init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// Stable machine-readable name, e.g. `integrity`.
    package var codeName: String { self.code.rawValue }
    package var description: String { self.message }

    /// A configuration value out of range (part size, concurrency, ...).
    package static func invalidConfiguration(_ message: String) -> UploadError { .init(.invalidConfiguration, message) }
    /// A bad argument from the user (an `s3://` URL, a duration, ...).
    package static func invalidArgument(_ message: String) -> UploadError { .init(.invalidArgument, message) }
    /// The file or generator could not be read.
    package static func sourceUnreadable(_ message: String) -> UploadError { .init(.sourceUnreadable, message) }
    /// More than S3's 5 TiB, or parts above 5 GiB would be needed.
    package static func objectTooLarge(_ message: String) -> UploadError { .init(.objectTooLarge, message) }
    /// The source produced more bytes than 10,000 parts of the planned size hold.
    package static func tooManyParts(_ message: String) -> UploadError { .init(.tooManyParts, message) }
    /// A checksum or ETag the server returned differs from the one we computed.
    package static func integrity(_ message: String) -> UploadError { .init(.integrity, message) }
    /// An S3 request failed for good (after its retries).
    package static func requestFailed(_ message: String) -> UploadError { .init(.requestFailed, message) }
    /// The upload task was cancelled (Ctrl-C, graceful shutdown).
    package static func cancelled(_ message: String = "the upload was cancelled") -> UploadError { .init(.cancelled, message) }
    /// AbortMultipartUpload could not be confirmed by ListParts: the upload may be orphaned.
    package static func abortNotConfirmed(_ message: String) -> UploadError { .init(.abortNotConfirmed, message) }

    package var isIntegrityFailure: Bool { self.code == .integrity }
    package var isCancellation: Bool { self.code == .cancelled }
}
