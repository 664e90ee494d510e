import NIOCore

extension AWSError {
    /// Builds the error for an S3 error response (status >= 300).
    ///
    /// - Parameters:
    ///   - status: the HTTP status.
    ///   - body: the response body; `nil` or empty for HEAD (S3 sends no body), in which case the
    ///     code is derived from the status (`NotFound`, `Forbidden`, ...).
    ///   - requestIdHeader: `x-amz-request-id`, preferred over `<RequestId>` when both are present.
    ///   - hostIdHeader: `x-amz-id-2`.
    package static func s3(
        operation: String,
        status: Int,
        body: ByteBuffer?,
        requestIdHeader: String?,
        hostIdHeader: String?
    ) -> AWSError {
        var error = AWSError(
            kind: .service,
            operation: operation,
            statusCode: status,
            requestId: requestIdHeader,
            hostId: hostIdHeader
        )
        if let body, body.readableBytes > 0, let element = try? XML.parse(body), element.name == "Error" {
            error.fill(from: element)
        } else if let body, body.readableBytes > 0 {
            // Not XML (a proxy's HTML page, say): keep a short excerpt as the message.
            error.message = String(decoding: body.readableBytesView.prefix(200), as: UTF8.self)
        }
        if error.code == nil {
            error.code = AWSError.Code(forStatus: status)
        }
        return error
    }

    /// If a 200 response body is an `<Error>` document, the error it describes.
    ///
    /// CompleteMultipartUpload (and CopyObject / UploadPartCopy) send `200 OK` and keep the
    /// connection alive with whitespace while they work; a failure then arrives as an `<Error>`
    /// document in that 200 body. Such an error is a `.service` error with
    /// ``errorInSuccessResponse`` set; it is retryable when its code is (InternalError, SlowDown, ...).
    package static func s3ErrorInSuccessResponse(
        operation: String,
        root: XML.Element,
        requestIdHeader: String?,
        hostIdHeader: String?
    ) -> AWSError? {
        guard root.name == "Error" else { return nil }
        var error = AWSError(
            kind: .service,
            operation: operation,
            statusCode: 200,
            requestId: requestIdHeader,
            hostId: hostIdHeader,
            errorInSuccessResponse: true
        )
        error.fill(from: root)
        if error.code == nil { error.code = .internalError }
        return error
    }

    private mutating func fill(from element: XML.Element) {
        if let code = element.childText("Code"), !code.isEmpty { self.code = AWSError.Code(code) }
        if let message = element.childText("Message") { self.message = message }
        if self.requestId == nil, let id = element.childText("RequestId"), !id.isEmpty { self.requestId = id }
        if self.hostId == nil, let id = element.childText("HostId"), !id.isEmpty { self.hostId = id }
    }
}

extension AWSError.Code {
    /// The code S3 would have sent for a bodiless error response (HEAD requests).
    package init(forStatus status: Int) {
        switch status {
        case 304: self = .notModified
        case 400: self = .badRequest
        case 403: self = .forbidden
        case 404: self = .notFound
        case 405: self = .methodNotAllowed
        case 412: self = .preconditionFailed
        case 416: self = .invalidRange
        case 500: self = .internalError
        case 503: self = .serviceUnavailable
        default: self = AWSError.Code("HTTP\(status)")
        }
    }
}
