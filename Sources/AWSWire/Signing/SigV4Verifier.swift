import Foundation

/// Checks SigV4 signatures on incoming requests, the way S3 does: either the `Authorization`
/// header or a presigned query string (`X-Amz-Algorithm=AWS4-HMAC-SHA256&…`).
///
/// The verifier does not read the body. It verifies the signature over the payload hash the
/// request *claims* (`x-amz-content-sha256`) and returns that claim in
/// ``SigV4Identity/payloadHash``; when it is a hex SHA-256 (``SigV4Identity/expectedBodySHA256``)
/// the caller must hash the body while streaming it and reject a mismatch itself (S3 answers
/// `XAmzContentSHA256Mismatch`, 400).
///
/// Pass `path` and `query` exactly as received on the wire (still percent-encoded); headers as
/// received (names in any case, repeated names in arrival order).
package struct SigV4Verifier: Sendable {
    /// What the verifier accepts. Defaults are S3's.
    package struct Configuration: Sendable {
        /// How the canonical URI is built: ``SigV4Signer/Mode/s3`` (default) or
        /// ``SigV4Signer/Mode/standard`` (DynamoDB, SQS, …).
        package var mode: SigV4Signer.Mode
        /// When set, the credential scope's region must equal it; nil accepts any region.
        package var region: String?
        /// When set, the credential scope's service must equal it; nil accepts any service.
        package var service: String?
        /// How far `X-Amz-Date` of a header-signed request may be from the server clock, either
        /// way. Default 15 minutes, as S3.
        package var allowedClockSkew: Duration

        package init(
            mode: SigV4Signer.Mode = .s3,
            region: String? = nil,
            service: String? = nil,
            allowedClockSkew: Duration = .seconds(15 * 60)
        ) {
            self.mode = mode
            self.region = region
            self.service = service
            self.allowedClockSkew = allowedClockSkew
        }
    }

    /// Returns the secret access key of an access key id, or nil when the id is unknown.
    package typealias SecretLookup = @Sendable (_ accessKeyId: String) -> String?

    package let configuration: Configuration
    private let secretAccessKey: SecretLookup
    private let keyCache = SigV4SigningKeyCache(capacity: 64)

    /// - Parameters:
    ///   - configuration: region/service/skew policy; S3 defaults.
    ///   - secretAccessKey: maps an access key id to its secret (nil: unknown key, answered with
    ///     `InvalidAccessKeyId`).
    package init(configuration: Configuration = .init(), secretAccessKey: @escaping SecretLookup) {
        self.configuration = configuration
        self.secretAccessKey = secretAccessKey
    }

    /// Verifies the request's signature.
    ///
    /// - Parameters:
    ///   - method: e.g. `PUT`.
    ///   - path: the wire path, percent-encoded as received, without the query.
    ///   - query: the raw wire query without `?`, or nil.
    ///   - headers: the request headers as received.
    ///   - bodySHA256: hex SHA-256 of the body, for services whose clients do not send
    ///     `x-amz-content-sha256` (DynamoDB, SQS: hash the small JSON body and pass it). Used only
    ///     when the request has no `x-amz-content-sha256` header. S3 passes nil: then a
    ///     header-signed request without that header is rejected (`InvalidRequest`, as S3 does),
    ///     and a presigned request is taken as signed with `UNSIGNED-PAYLOAD` (S3) or the empty
    ///     body's hash (``SigV4Signer/Mode/standard``).
    ///   - now: the server's current time.
    /// - Returns: who signed, and the claimed payload hash to check while streaming the body.
    /// - Throws: ``SigV4Error`` carrying the S3 error code and status to answer with.
    package func verify(
        method: String,
        path: String,
        query: String?,
        headers: [(name: String, value: String)],
        bodySHA256: String? = nil,
        now: Date = Date()
    ) throws(SigV4Error) -> SigV4Identity {
        let authorization = Self.values(of: "authorization", in: headers).first
        let presigned = Self.presignParameters(rawQuery: query)
        switch (authorization, presigned) {
        case (.some, .some):
            throw .conflictingAuthentication()
        case (.none, .none):
            throw .missingAuthentication()
        case (.some(let authorization), .none):
            return try self.verifyHeader(
                authorization: authorization,
                method: method,
                path: path,
                query: query,
                headers: headers,
                bodySHA256: bodySHA256,
                now: now
            )
        case (.none, .some(let parameters)):
            return try self.verifyPresigned(
                parameters: parameters,
                method: method,
                path: path,
                query: query,
                headers: headers,
                bodySHA256: bodySHA256,
                now: now
            )
        }
    }

    // MARK: Authorization header

    private func verifyHeader(
        authorization: String,
        method: String,
        path: String,
        query: String?,
        headers: [(name: String, value: String)],
        bodySHA256: String?,
        now: Date
    ) throws(SigV4Error) -> SigV4Identity {
        let parsed = try Self.parseAuthorization(authorization)
        let credential = try Self.parseCredential(parsed.credential) { detail throws(SigV4Error) in
            throw .malformedHeader(detail)
        }
        try self.checkScope(credential) { detail throws(SigV4Error) in throw .malformedHeader(detail) }

        guard let dateText = Self.values(of: "x-amz-date", in: headers).first,
            let date = SigV4Date(parsing: dateText.trimmingASCIIWhitespace())
        else { throw .missingDate() }
        guard date.dateStamp == credential.date else {
            throw .malformedHeader(
                "Invalid credential date \"\(credential.date)\". Date is not the same as X-Amz-Date \"\(date.timestamp)\"."
            )
        }
        let skew = abs(now.timeIntervalSince(date.date))
        if skew > Self.seconds(self.configuration.allowedClockSkew) {
            throw .tooSkewed(
                requestTime: date.timestamp,
                serverTime: SigV4Date(now).timestamp,
                maximum: self.configuration.allowedClockSkew
            )
        }
        guard let secret = self.secretAccessKey(credential.accessKeyId) else {
            throw .invalidAccessKeyId(credential.accessKeyId)
        }

        let payloadHash: String
        if let claimed = Self.values(of: "x-amz-content-sha256", in: headers).first {
            payloadHash = claimed.trimmingASCIIWhitespace()
            guard Self.isAcceptablePayloadHash(payloadHash) else { throw .invalidContentSHA256(payloadHash) }
        } else if let bodySHA256 {
            payloadHash = bodySHA256
        } else {
            throw .missingContentSHA256()
        }

        var parameters = SigV4Canonical.canonicalParameters(rawQuery: query)
        try self.checkSignature(
            method: method,
            path: path,
            parameters: &parameters,
            headers: headers,
            signedHeaders: parsed.signedHeaders,
            payloadHash: payloadHash,
            date: date,
            credential: credential,
            secret: secret,
            signature: parsed.signature
        )
        return SigV4Identity(
            accessKeyId: credential.accessKeyId,
            region: credential.region,
            service: credential.service,
            requestDate: date.date,
            signedHeaders: parsed.signedHeaders,
            signature: parsed.signature,
            payloadHash: payloadHash,
            isPresigned: false,
            expiresAt: nil,
            sessionToken: Self.values(of: "x-amz-security-token", in: headers).first
        )
    }

    private struct ParsedAuthorization {
        var credential: String
        var signedHeaders: [String]
        var signature: String
    }

    /// `AWS4-HMAC-SHA256 Credential=…, SignedHeaders=a;b, Signature=…` (commas with or without
    /// spaces, components in any order).
    private static func parseAuthorization(_ value: String) throws(SigV4Error) -> ParsedAuthorization {
        let trimmed = value.trimmingASCIIWhitespace()
        let algorithmEnd = trimmed.firstIndex(where: { $0 == " " || $0 == "\t" }) ?? trimmed.endIndex
        let algorithm = trimmed[..<algorithmEnd]
        guard algorithm == SigV4Signer.algorithm else {
            if algorithm.hasPrefix("AWS4-") || algorithm == "AWS" {
                throw .unsupportedAlgorithm(String(algorithm))
            }
            throw .malformedHeader("it must start with \"AWS4-HMAC-SHA256\" (got \"\(algorithm)\").")
        }
        var credential: String?
        var signedHeaders: String?
        var signature: String?
        for component in trimmed[algorithmEnd...].split(separator: ",") {
            let part = component.trimmingASCIIWhitespace()
            if part.isEmpty { continue }
            guard let equals = part.firstIndex(of: "=") else {
                throw .malformedHeader("the component \"\(part)\" is not of the form name=value.")
            }
            let value = String(part[part.index(after: equals)...])
            switch part[..<equals] {
            case "Credential": credential = value
            case "SignedHeaders": signedHeaders = value
            case "Signature": signature = value
            default: throw .malformedHeader("unknown component \"\(part[..<equals])\".")
            }
        }
        guard let credential else { throw .malformedHeader("the Credential is missing.") }
        guard let signedHeaders, !signedHeaders.isEmpty else {
            throw .malformedHeader("SignedHeaders is missing or empty.")
        }
        guard let signature, !signature.isEmpty else { throw .malformedHeader("the Signature is missing.") }
        return ParsedAuthorization(
            credential: credential,
            signedHeaders: signedHeaders.split(separator: ";", omittingEmptySubsequences: false).map(String.init),
            signature: signature
        )
    }

    // MARK: Presigned query

    /// The `X-Amz-*` parameters of a presigned request, decoded; nil when the query is not presigned.
    private struct PresignParameters {
        var algorithm: String?
        var credential: String?
        var date: String?
        var expires: String?
        var signedHeaders: String?
        var signature: String?
        var securityToken: String?
    }

    private static func presignParameters(rawQuery: String?) -> PresignParameters? {
        guard var query = rawQuery, query.utf8.contains(UInt8(ascii: "X")) || query.utf8.contains(UInt8(ascii: "x"))
        else { return nil }
        var found = false
        var parameters = PresignParameters()
        query.withUTF8 { bytes in
            for component in bytes.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
                let equals = component.firstIndex(of: UInt8(ascii: "=")) ?? component.endIndex
                let key = SigV4Canonical.percentDecoded(component[..<equals])
                guard key.hasPrefix("X-Amz-") else { continue }
                let value =
                    equals == component.endIndex
                    ? "" : SigV4Canonical.percentDecoded(component[component.index(after: equals)...])
                switch key {
                case "X-Amz-Algorithm": parameters.algorithm = value
                case "X-Amz-Credential": parameters.credential = value
                case "X-Amz-Date": parameters.date = value
                case "X-Amz-Expires": parameters.expires = value
                case "X-Amz-SignedHeaders": parameters.signedHeaders = value
                case "X-Amz-Signature": parameters.signature = value
                case "X-Amz-Security-Token": parameters.securityToken = value
                default: continue
                }
                if key != "X-Amz-Security-Token" { found = true }
            }
        }
        return found ? parameters : nil
    }

    private func verifyPresigned(
        parameters: PresignParameters,
        method: String,
        path: String,
        query: String?,
        headers: [(name: String, value: String)],
        bodySHA256: String?,
        now: Date
    ) throws(SigV4Error) -> SigV4Identity {
        guard let algorithm = parameters.algorithm, let credentialText = parameters.credential,
            let dateText = parameters.date, let expiresText = parameters.expires,
            let signedHeaderList = parameters.signedHeaders, let signature = parameters.signature
        else {
            throw .malformedQuery(
                "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters."
            )
        }
        guard algorithm == SigV4Signer.algorithm else {
            throw .malformedQuery("X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\" (got \"\(algorithm)\").")
        }
        let credential = try Self.parseCredential(credentialText) { detail throws(SigV4Error) in
            throw .malformedQuery("Error parsing the X-Amz-Credential parameter; \(detail)")
        }
        try self.checkScope(credential) { detail throws(SigV4Error) in
            throw .malformedQuery("Error parsing the X-Amz-Credential parameter; \(detail)")
        }
        guard let date = SigV4Date(parsing: dateText) else {
            throw .malformedQuery("X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\" (got \"\(dateText)\").")
        }
        guard date.dateStamp == credential.date else {
            throw .malformedQuery(
                "Invalid credential date \"\(credential.date)\". Date is not the same as X-Amz-Date \"\(date.timestamp)\"."
            )
        }
        guard let expires = Int64(expiresText) else {
            throw .malformedQuery("X-Amz-Expires should be a number (got \"\(expiresText)\").")
        }
        guard expires >= 0 else { throw .malformedQuery("X-Amz-Expires must be non-negative.") }
        guard expires <= SigV4Signer.maximumPresignedExpiry.components.seconds else {
            throw .malformedQuery("X-Amz-Expires must be less than a week (in seconds) that is 604800.")
        }
        let nowSeconds = now.timeIntervalSince1970
        if Double(date.secondsSince1970) - nowSeconds > Self.seconds(self.configuration.allowedClockSkew) {
            throw .notYetValid(signedAt: date.timestamp, now: SigV4Date(now).timestamp)
        }
        let expiresAt = date.secondsSince1970 + expires
        if nowSeconds > Double(expiresAt) {
            throw .expired(
                expiredAt: SigV4Date(Date(timeIntervalSince1970: TimeInterval(expiresAt))).timestamp,
                now: SigV4Date(now).timestamp
            )
        }
        guard let secret = self.secretAccessKey(credential.accessKeyId) else {
            throw .invalidAccessKeyId(credential.accessKeyId)
        }

        let payloadHash: String
        if let claimed = Self.values(of: "x-amz-content-sha256", in: headers).first {
            payloadHash = claimed.trimmingASCIIWhitespace()
            guard Self.isAcceptablePayloadHash(payloadHash) else { throw .invalidContentSHA256(payloadHash) }
        } else if let bodySHA256 {
            payloadHash = bodySHA256
        } else {
            payloadHash = self.configuration.mode == .s3 ? SigV4Signer.unsignedPayload : SigV4Signer.emptyPayloadHash
        }

        let signedHeaders = signedHeaderList.split(separator: ";", omittingEmptySubsequences: false).map(String.init)
        guard !signedHeaders.isEmpty, !signedHeaderList.isEmpty else {
            throw .malformedQuery("X-Amz-SignedHeaders must not be empty.")
        }
        var canonicalParameters = SigV4Canonical.canonicalParameters(rawQuery: query)
        let signatureKey = Array("X-Amz-Signature".utf8)
        canonicalParameters.removeAll { $0.key == signatureKey }
        try self.checkSignature(
            method: method,
            path: path,
            parameters: &canonicalParameters,
            headers: headers,
            signedHeaders: signedHeaders,
            payloadHash: payloadHash,
            date: date,
            credential: credential,
            secret: secret,
            signature: signature
        )
        return SigV4Identity(
            accessKeyId: credential.accessKeyId,
            region: credential.region,
            service: credential.service,
            requestDate: date.date,
            signedHeaders: signedHeaders,
            signature: signature,
            payloadHash: payloadHash,
            isPresigned: true,
            expiresAt: Date(timeIntervalSince1970: TimeInterval(expiresAt)),
            sessionToken: parameters.securityToken
        )
    }

    // MARK: Shared steps

    private struct Credential {
        var accessKeyId: String
        var date: Substring
        var region: String
        var service: String
    }

    /// `AKID/yyyyMMdd/region/service/aws4_request`.
    private static func parseCredential(
        _ text: String,
        fail: (String) throws(SigV4Error) -> Never
    ) throws(SigV4Error) -> Credential {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 5, !parts[0].isEmpty, !parts[2].isEmpty, !parts[3].isEmpty,
            parts[1].utf8.count == 8, parts[1].utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") })
        else {
            try fail(
                "the Credential \"\(text)\" is mal-formed; expecting \"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\"."
            )
        }
        guard parts[4] == "aws4_request" else {
            try fail("incorrect terminal \"\(parts[4])\". This endpoint uses \"aws4_request\".")
        }
        return Credential(
            accessKeyId: String(parts[0]),
            date: parts[1],
            region: String(parts[2]),
            service: String(parts[3])
        )
    }

    private func checkScope(_ credential: Credential, fail: (String) throws(SigV4Error) -> Never) throws(SigV4Error) {
        if let region = self.configuration.region, region != credential.region {
            try fail("the region '\(credential.region)' is wrong; expecting '\(region)'")
        }
        if let service = self.configuration.service, service != credential.service {
            try fail("incorrect service \"\(credential.service)\". This endpoint belongs to \"\(service)\".")
        }
    }

    private func checkSignature(
        method: String,
        path: String,
        parameters: inout [SigV4Canonical.QueryParameter],
        headers: [(name: String, value: String)],
        signedHeaders: [String],
        payloadHash: String,
        date: SigV4Date,
        credential: Credential,
        secret: String,
        signature: String
    ) throws(SigV4Error) {
        var canonicalRequest = [UInt8]()
        canonicalRequest.reserveCapacity(512)
        canonicalRequest.append(contentsOf: method.utf8)
        canonicalRequest.append(SigV4Canonical.newline)
        SigV4Canonical.appendCanonicalURI(path: path, mode: self.configuration.mode, to: &canonicalRequest)
        canonicalRequest.append(SigV4Canonical.newline)
        SigV4Canonical.appendCanonicalQuery(&parameters, to: &canonicalRequest)
        canonicalRequest.append(SigV4Canonical.newline)
        // Headers in the order the client listed them (a compliant client lists them sorted).
        for name in signedHeaders {
            canonicalRequest.append(contentsOf: name.utf8)
            canonicalRequest.append(UInt8(ascii: ":"))
            var first = true
            for header in headers where header.name.asciiCaseInsensitiveEquals(name) {
                if !first { canonicalRequest.append(UInt8(ascii: ",")) }
                SigV4Canonical.appendTrimmedCollapsed(header.value, to: &canonicalRequest)
                first = false
            }
            canonicalRequest.append(SigV4Canonical.newline)
        }
        canonicalRequest.append(SigV4Canonical.newline)
        for (index, name) in signedHeaders.enumerated() {
            if index > 0 { canonicalRequest.append(UInt8(ascii: ";")) }
            canonicalRequest.append(contentsOf: name.utf8)
        }
        canonicalRequest.append(SigV4Canonical.newline)
        canonicalRequest.append(contentsOf: payloadHash.utf8)

        let scope = "\(credential.date)/\(credential.region)/\(credential.service)/aws4_request"
        let stringToSign = SigV4Canonical.stringToSign(
            timestamp: date.timestamp,
            scope: scope,
            canonicalRequest: canonicalRequest
        )
        let key = self.keyCache.signingKey(
            secretAccessKey: secret,
            dateStamp: credential.date,
            region: credential.region,
            service: credential.service
        )
        let expected = SigV4SigningKey.signature(key: key, stringToSign: stringToSign)
        guard SigV4Canonical.constantTimeEquals(expected, signature) else {
            throw .signatureDoesNotMatch(
                canonicalRequest: String(decoding: canonicalRequest, as: UTF8.self),
                stringToSign: String(decoding: stringToSign, as: UTF8.self)
            )
        }
    }

    private static let acceptedPayloadLiterals: Set<String> = [
        "UNSIGNED-PAYLOAD",
        "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
        "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD",
        "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER",
    ]

    private static func isAcceptablePayloadHash(_ value: String) -> Bool {
        SigV4Canonical.isSHA256Hex(value) || Self.acceptedPayloadLiterals.contains(value)
    }

    private static func values(of lowercasedName: String, in headers: [(name: String, value: String)]) -> [String] {
        headers.lazy.filter { $0.name.asciiCaseInsensitiveEquals(lowercasedName) }.map(\.value)
    }

    private static func seconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}

/// Who signed a verified request, and what they claimed about the body.
package struct SigV4Identity: Sendable, Equatable {
    package var accessKeyId: String
    /// The credential scope's region.
    package var region: String
    /// The credential scope's service.
    package var service: String
    /// `X-Amz-Date`.
    package var requestDate: Date
    /// Lower-cased names of the signed headers.
    package var signedHeaders: [String]
    /// The verified signature (the seed signature of `STREAMING-AWS4-HMAC-SHA256-PAYLOAD` chunks).
    package var signature: String
    /// The payload hash the signature covers, as claimed by `x-amz-content-sha256` (or
    /// `UNSIGNED-PAYLOAD` for S3 presigned URLs, or the caller's `bodySHA256`): a hex SHA-256,
    /// `UNSIGNED-PAYLOAD`, `STREAMING-UNSIGNED-PAYLOAD-TRAILER`, …
    package var payloadHash: String
    /// Whether the signature came from the query string.
    package var isPresigned: Bool
    /// Presigned requests: when the URL stops being valid.
    package var expiresAt: Date?
    /// `X-Amz-Security-Token`, when sent. The verifier does not check it.
    package var sessionToken: String?

    /// The lower-case hex SHA-256 the body must have, when ``payloadHash`` is one; nil when the
    /// payload is unsigned or streamed with its own framing.
    package var expectedBodySHA256: String? {
        SigV4Canonical.isSHA256Hex(self.payloadHash) ? self.payloadHash.lowercased() : nil
    }
}

extension StringProtocol {
    /// The text without leading and trailing spaces, tabs, CR and LF.
    func trimmingASCIIWhitespace() -> String {
        let bytes = Array(self.utf8)
        var start = 0
        var end = bytes.count
        while start < end, SigV4Canonical.isWhitespace(bytes[start]) { start += 1 }
        while end > start, SigV4Canonical.isWhitespace(bytes[end - 1]) { end -= 1 }
        return String(decoding: bytes[start..<end], as: UTF8.self)
    }

    /// ASCII case-insensitive comparison with `lowercased` (which must be lower-case already).
    func asciiCaseInsensitiveEquals(_ lowercased: String) -> Bool {
        var lhs = self.utf8.makeIterator()
        var rhs = lowercased.utf8.makeIterator()
        while true {
            switch (lhs.next(), rhs.next()) {
            case (nil, nil): return true
            case (let a?, let b?):
                let folded = a >= UInt8(ascii: "A") && a <= UInt8(ascii: "Z") ? a + 32 : a
                if folded != b { return false }
            default: return false
            }
        }
    }
}
