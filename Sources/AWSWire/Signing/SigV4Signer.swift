import Crypto
import Foundation

/// Signs requests with AWS Signature Version 4, as an `Authorization` header or as a presigned
/// query string.
///
/// A cheap `Sendable` value: create one per (credentials, region, service) and share it. The
/// derived signing key is cached per UTC day, so signing a request costs one SHA-256 of the
/// canonical request and one HMAC.
///
/// ## What the caller passes
/// - `path`: the request path exactly as it goes on the wire, already percent-encoded the way
///   AWS SDKs do it (every byte except `A-Z a-z 0-9 - . _ ~ /` as upper-case `%XX`), without the
///   query. For S3 object keys that means `"/" + bucket + "/" + encode(key)` (path style) or
///   `"/" + encode(key)` (virtual-hosted style).
/// - `query`: the raw query as on the wire (without `?`), or nil. Parameter order does not matter.
/// - `headers`: every header to sign. It **must** include `host` (with `:port` when the port is
///   not the scheme's default), exactly as sent. Names are case-insensitive; repeated names are
///   allowed and signed in the order given. Headers that proxies or the HTTP stack may change are
///   skipped (see ``unsignedHeaderNames``), as are `authorization`, `x-amz-date` and
///   `x-amz-security-token` (the signer adds the last two itself).
/// - `payloadHash`: lower-case hex SHA-256 of the body (``payloadHash(of:)``), or
///   ``unsignedPayload``, or another value the service accepts (e.g.
///   `STREAMING-UNSIGNED-PAYLOAD-TRAILER`). S3 accepts all of these; other services need the real
///   hash.
///
/// ## Path rules
/// ``Mode/s3`` signs the path as is (no `.`/`..` removal, single encoding); ``Mode/standard``
/// (DynamoDB, SQS, …) normalizes the path and encodes it a second time.
package struct SigV4Signer: Sendable {
    /// How the canonical URI is built from the request path.
    package enum Mode: Sendable, Hashable {
        /// S3: no path normalization, the path encoded once.
        case s3
        /// Every other service: `.`/`..` removed, `//` collapsed, the path encoded twice.
        case standard
    }

    /// `AWS4-HMAC-SHA256`.
    package static let algorithm = "AWS4-HMAC-SHA256"
    /// The payload hash that tells S3 the body is not signed.
    package static let unsignedPayload = "UNSIGNED-PAYLOAD"
    /// Hex SHA-256 of the empty body.
    package static let emptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    /// Lower-cased names the signer never signs, even when passed in `headers`: hop-by-hop headers,
    /// headers proxies rewrite, and the ones the signer adds itself.
    package static let unsignedHeaderNames: Set<String> = [
        "authorization", "connection", "expect", "keep-alive", "proxy-authorization", "te", "trailer",
        "transfer-encoding", "upgrade", "user-agent", "x-amzn-trace-id", "x-amz-date", "x-amz-security-token",
    ]
    /// The longest validity of a presigned URL: 7 days.
    package static let maximumPresignedExpiry: Duration = .seconds(604_800)

    package let credentials: AWSCredentials
    package let region: String
    package let service: String
    package let mode: Mode
    /// When true, `X-Amz-Security-Token` is added after signing instead of being signed (a few
    /// services, e.g. IoT, want this). Default false: the token is signed.
    package let omitSessionTokenFromSignature: Bool
    private let keyCache: SigV4SigningKeyCache

    /// - Parameters:
    ///   - credentials: the keys to sign with; `sessionToken` is sent when present.
    ///   - region: e.g. `us-east-1`.
    ///   - service: the signing name, e.g. `s3`, `dynamodb`, `sqs`.
    ///   - mode: ``Mode/s3`` (default) or ``Mode/standard``.
    ///   - omitSessionTokenFromSignature: see the property; default false.
    package init(
        credentials: AWSCredentials,
        region: String,
        service: String,
        mode: Mode = .s3,
        omitSessionTokenFromSignature: Bool = false
    ) {
        self.credentials = credentials
        self.region = region
        self.service = service
        self.mode = mode
        self.omitSessionTokenFromSignature = omitSessionTokenFromSignature
        self.keyCache = SigV4SigningKeyCache(capacity: 4)
    }

    /// Lower-case hex SHA-256 of `body`, for `payloadHash`.
    package static func payloadHash(of body: some DataProtocol) -> String {
        SigV4Canonical.hex(SHA256.hash(data: body))
    }

    // MARK: Header signing

    /// Signs a request with an `Authorization` header.
    ///
    /// - Parameters:
    ///   - method: e.g. `PUT`.
    ///   - path: the percent-encoded wire path (see the type's documentation).
    ///   - query: the raw wire query without `?`, or nil.
    ///   - headers: the headers to sign; must include `host`.
    ///   - payloadHash: hex SHA-256 of the body, ``unsignedPayload``, or another accepted value.
    ///   - date: the signing time (`X-Amz-Date`).
    ///   - addContentSHA256Header: also add and sign `x-amz-content-sha256: <payloadHash>` (S3
    ///     requires it).
    /// - Returns: the headers to add to the request, in this order: `X-Amz-Security-Token` (when
    ///   the credentials have a session token), `X-Amz-Date`, `x-amz-content-sha256` (when
    ///   requested), `Authorization`.
    package func signHeaders(
        method: String,
        path: String,
        query: String?,
        headers: [(name: String, value: String)],
        payloadHash: String,
        date: Date,
        addContentSHA256Header: Bool
    ) -> [(name: String, value: String)] {
        self.signHeaders(
            method: method,
            path: path,
            query: query,
            headers: headers,
            payloadHash: payloadHash,
            date: date,
            addContentSHA256Header: addContentSHA256Header,
            captureDetails: false
        ).headers
    }

    /// ``signHeaders(method:path:query:headers:payloadHash:date:addContentSHA256Header:)`` with the
    /// intermediate results (canonical request, string to sign), for tests and debugging.
    package func headerSigningDetails(
        method: String,
        path: String,
        query: String?,
        headers: [(name: String, value: String)],
        payloadHash: String,
        date: Date,
        addContentSHA256Header: Bool
    ) -> SigV4SigningDetails {
        self.signHeaders(
            method: method,
            path: path,
            query: query,
            headers: headers,
            payloadHash: payloadHash,
            date: date,
            addContentSHA256Header: addContentSHA256Header,
            captureDetails: true
        )
    }

    private func signHeaders(
        method: String,
        path: String,
        query: String?,
        headers: [(name: String, value: String)],
        payloadHash: String,
        date: Date,
        addContentSHA256Header: Bool,
        captureDetails: Bool
    ) -> SigV4SigningDetails {
        let amzDate = SigV4Date(date)
        let token = self.credentials.sessionToken
        let signsToken = token != nil && !self.omitSessionTokenFromSignature

        var canonicalHeaders = self.canonicalHeaders(
            headers,
            skipContentSHA256: addContentSHA256Header,
            extraCapacity: 3
        )
        var position = canonicalHeaders.count
        func addHeader(_ name: String, _ value: String) {
            canonicalHeaders.append(SigV4Canonical.canonicalHeader(name: name, value: value, position: position))
            position += 1
        }
        addHeader("x-amz-date", amzDate.timestamp)
        if signsToken, let token { addHeader("x-amz-security-token", token) }
        if addContentSHA256Header { addHeader("x-amz-content-sha256", payloadHash) }

        var parameters = SigV4Canonical.canonicalParameters(rawQuery: query)
        let result = self.sign(
            method: method,
            path: path,
            parameters: &parameters,
            headers: &canonicalHeaders,
            payloadHash: payloadHash,
            amzDate: amzDate,
            captureDetails: captureDetails
        )

        var added: [(name: String, value: String)] = []
        added.reserveCapacity(4)
        if let token { added.append((name: "X-Amz-Security-Token", value: token)) }
        added.append((name: "X-Amz-Date", value: amzDate.timestamp))
        if addContentSHA256Header { added.append((name: "x-amz-content-sha256", value: payloadHash)) }
        var authorization = SigV4Signer.algorithm
        authorization += " Credential="
        authorization += self.credentials.accessKeyId
        authorization += "/"
        authorization += result.scope
        authorization += ", SignedHeaders="
        authorization += result.signedHeaders
        authorization += ", Signature="
        authorization += result.signature
        added.append((name: "Authorization", value: authorization))

        return SigV4SigningDetails(
            canonicalRequest: result.canonicalRequest,
            stringToSign: result.stringToSign,
            signature: result.signature,
            signedHeaders: result.signedHeaders,
            headers: added,
            query: query ?? ""
        )
    }

    // MARK: Presigning

    /// Presigns a request: the signature goes in the query string instead of a header.
    ///
    /// - Parameters:
    ///   - method: e.g. `GET`.
    ///   - path: the percent-encoded wire path (see the type's documentation).
    ///   - query: the raw wire query without `?`, or nil.
    ///   - headers: headers the user of the URL must send unchanged; must include `host`.
    ///   - payloadHash: ``unsignedPayload`` (the default, what S3 expects for presigned URLs) or the
    ///     hex SHA-256 of the body (other services; ``emptyPayloadHash`` for no body).
    ///   - expires: validity, 1 s to 7 days (`X-Amz-Expires`, whole seconds).
    ///   - date: the signing time (`X-Amz-Date`).
    /// - Returns: the complete query string to send (without `?`): the caller's `query`, then
    ///   `X-Amz-Algorithm`, `X-Amz-Credential`, `X-Amz-Date`, `X-Amz-SignedHeaders`,
    ///   `X-Amz-Expires`, `X-Amz-Security-Token` (with a session token) and `X-Amz-Signature`.
    package func presign(
        method: String,
        path: String,
        query: String?,
        headers: [(name: String, value: String)],
        payloadHash: String = SigV4Signer.unsignedPayload,
        expires: Duration,
        date: Date
    ) -> String {
        self.presign(
            method: method,
            path: path,
            query: query,
            headers: headers,
            payloadHash: payloadHash,
            expires: expires,
            date: date,
            captureDetails: false
        ).query
    }

    /// ``presign(method:path:query:headers:payloadHash:expires:date:)`` with the intermediate
    /// results, for tests and debugging.
    package func presignDetails(
        method: String,
        path: String,
        query: String?,
        headers: [(name: String, value: String)],
        payloadHash: String = SigV4Signer.unsignedPayload,
        expires: Duration,
        date: Date
    ) -> SigV4SigningDetails {
        self.presign(
            method: method,
            path: path,
            query: query,
            headers: headers,
            payloadHash: payloadHash,
            expires: expires,
            date: date,
            captureDetails: true
        )
    }

    private func presign(
        method: String,
        path: String,
        query: String?,
        headers: [(name: String, value: String)],
        payloadHash: String,
        expires: Duration,
        date: Date,
        captureDetails: Bool
    ) -> SigV4SigningDetails {
        let expirySeconds = expires.components.seconds
        precondition(
            expirySeconds >= 1 && expires <= Self.maximumPresignedExpiry,
            "presigned URL expiry must be between 1 second and 7 days, got \(expires)"
        )
        let amzDate = SigV4Date(date)
        let token = self.credentials.sessionToken
        let signsToken = token != nil && !self.omitSessionTokenFromSignature

        var canonicalHeaders = self.canonicalHeaders(headers, skipContentSHA256: false, extraCapacity: 0)
        var signedHeaders = [UInt8]()
        var scratch = [UInt8]()
        // The signed-headers list is part of the query, so canonicalize the headers first.
        SigV4Canonical.appendCanonicalHeaders(&canonicalHeaders, to: &scratch, signedHeaders: &signedHeaders)
        let signedHeaderList = String(decoding: signedHeaders, as: UTF8.self)
        let scope = self.scope(dateStamp: amzDate.dateStamp)
        let credential = self.credentials.accessKeyId + "/" + scope

        // (name, raw value) in the order they are appended to the URL.
        var added: [(name: String, value: String)] = [
            ("X-Amz-Algorithm", SigV4Signer.algorithm),
            ("X-Amz-Credential", credential),
            ("X-Amz-Date", amzDate.timestamp),
            ("X-Amz-SignedHeaders", signedHeaderList),
            ("X-Amz-Expires", String(expirySeconds)),
        ]
        if let token { added.append(("X-Amz-Security-Token", token)) }

        var parameters = SigV4Canonical.canonicalParameters(rawQuery: query)
        var encodedAdded: [(name: String, value: [UInt8])] = []
        encodedAdded.reserveCapacity(added.count + 1)
        for (name, value) in added {
            var encoded = [UInt8]()
            SigV4Canonical.appendEncoded(value.utf8, keepSlash: false, to: &encoded)
            encodedAdded.append((name, encoded))
            if name == "X-Amz-Security-Token" && !signsToken { continue }
            parameters.append(.init(key: Array(name.utf8), value: encoded))
        }

        let result = self.sign(
            method: method,
            path: path,
            parameters: &parameters,
            headers: &canonicalHeaders,
            payloadHash: payloadHash,
            amzDate: amzDate,
            captureDetails: captureDetails
        )
        encodedAdded.append(("X-Amz-Signature", Array(result.signature.utf8)))

        var out = [UInt8]()
        out.reserveCapacity((query?.utf8.count ?? 0) + 400)
        if let query, !query.isEmpty { out.append(contentsOf: query.utf8) }
        for (name, value) in encodedAdded {
            if !out.isEmpty { out.append(UInt8(ascii: "&")) }
            out.append(contentsOf: name.utf8)
            out.append(UInt8(ascii: "="))
            out.append(contentsOf: value)
        }
        return SigV4SigningDetails(
            canonicalRequest: result.canonicalRequest,
            stringToSign: result.stringToSign,
            signature: result.signature,
            signedHeaders: result.signedHeaders,
            headers: [],
            query: String(decoding: out, as: UTF8.self)
        )
    }

    // MARK: Core

    private func canonicalHeaders(
        _ headers: [(name: String, value: String)],
        skipContentSHA256: Bool,
        extraCapacity: Int
    ) -> [SigV4Canonical.Header] {
        var canonical: [SigV4Canonical.Header] = []
        canonical.reserveCapacity(headers.count + extraCapacity)
        for (index, header) in headers.enumerated() {
            let name = SigV4Canonical.lowercasedName(header.name)
            if Self.isUnsigned(name) { continue }
            if skipContentSHA256 && name.elementsEqual("x-amz-content-sha256".utf8) { continue }
            var value = [UInt8]()
            value.reserveCapacity(header.value.utf8.count)
            SigV4Canonical.appendTrimmedCollapsed(header.value, to: &value)
            canonical.append(.init(name: name, value: value, position: index))
        }
        return canonical
    }

    private static let unsignedHeaderNameBytes: [[UInt8]] = Self.unsignedHeaderNames.map { Array($0.utf8) }

    private static func isUnsigned(_ name: [UInt8]) -> Bool {
        Self.unsignedHeaderNameBytes.contains(name)
    }

    func scope(dateStamp: Substring) -> String {
        var scope = String(dateStamp)
        scope += "/"
        scope += self.region
        scope += "/"
        scope += self.service
        scope += "/aws4_request"
        return scope
    }

    private struct Signed {
        var signature: String
        var signedHeaders: String
        var scope: String
        var canonicalRequest: String?
        var stringToSign: String?
    }

    private func sign(
        method: String,
        path: String,
        parameters: inout [SigV4Canonical.QueryParameter],
        headers: inout [SigV4Canonical.Header],
        payloadHash: String,
        amzDate: SigV4Date,
        captureDetails: Bool
    ) -> Signed {
        var canonicalRequest = [UInt8]()
        canonicalRequest.reserveCapacity(512)
        var signedHeaders = [UInt8]()
        SigV4Canonical.appendCanonicalRequest(
            method: method,
            path: path,
            mode: self.mode,
            parameters: &parameters,
            headers: &headers,
            payloadHash: payloadHash,
            to: &canonicalRequest,
            signedHeaders: &signedHeaders
        )
        let scope = self.scope(dateStamp: amzDate.dateStamp)
        let stringToSign = SigV4Canonical.stringToSign(
            timestamp: amzDate.timestamp,
            scope: scope,
            canonicalRequest: canonicalRequest
        )
        let key = self.keyCache.signingKey(
            secretAccessKey: self.credentials.secretAccessKey,
            dateStamp: amzDate.dateStamp,
            region: self.region,
            service: self.service
        )
        return Signed(
            signature: SigV4SigningKey.signature(key: key, stringToSign: stringToSign),
            signedHeaders: String(decoding: signedHeaders, as: UTF8.self),
            scope: scope,
            canonicalRequest: captureDetails ? String(decoding: canonicalRequest, as: UTF8.self) : nil,
            stringToSign: captureDetails ? String(decoding: stringToSign, as: UTF8.self) : nil
        )
    }
}

/// The result of signing with its intermediate steps (see
/// ``SigV4Signer/headerSigningDetails(method:path:query:headers:payloadHash:date:addContentSHA256Header:)``
/// and ``SigV4Signer/presignDetails(method:path:query:headers:payloadHash:expires:date:)``).
package struct SigV4SigningDetails: Sendable {
    /// The canonical request (empty unless details were requested).
    package var canonicalRequest: String
    /// The string to sign (empty unless details were requested).
    package var stringToSign: String
    /// Lower-case hex signature.
    package var signature: String
    /// `host;x-amz-date;…`
    package var signedHeaders: String
    /// Header form: the headers to add. Presigned form: empty.
    package var headers: [(name: String, value: String)]
    /// Presigned form: the full query string to send. Header form: the caller's query unchanged.
    package var query: String

    init(
        canonicalRequest: String?,
        stringToSign: String?,
        signature: String,
        signedHeaders: String,
        headers: [(name: String, value: String)],
        query: String
    ) {
        self.canonicalRequest = canonicalRequest ?? ""
        self.stringToSign = stringToSign ?? ""
        self.signature = signature
        self.signedHeaders = signedHeaders
        self.headers = headers
        self.query = query
    }
}

extension SigV4Canonical {
    /// Appends the whole canonical request:
    /// `METHOD\nURI\nQUERY\nHEADERS\n\nSIGNED_HEADERS\nPAYLOAD_HASH`.
    static func appendCanonicalRequest(
        method: String,
        path: String,
        mode: SigV4Signer.Mode,
        parameters: inout [QueryParameter],
        headers: inout [Header],
        payloadHash: String,
        to out: inout [UInt8],
        signedHeaders: inout [UInt8]
    ) {
        out.append(contentsOf: method.utf8)
        out.append(Self.newline)
        Self.appendCanonicalURI(path: path, mode: mode, to: &out)
        out.append(Self.newline)
        Self.appendCanonicalQuery(&parameters, to: &out)
        out.append(Self.newline)
        Self.appendCanonicalHeaders(&headers, to: &out, signedHeaders: &signedHeaders)
        out.append(Self.newline)
        out.append(contentsOf: signedHeaders)
        out.append(Self.newline)
        out.append(contentsOf: payloadHash.utf8)
    }
}
