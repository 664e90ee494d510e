import Foundation
import Testing

@testable import AWSWire

/// Sign-then-verify round trips, and every rejection with its S3 error code.
@Suite("SigV4 verifier")
struct SigV4VerifierTests {
    static let credentials = AWSCredentials(
        accessKeyId: "AKIDCSVSTORM",
        secretAccessKey: "csvstorm/secret+key",
        sessionToken: "session-token"
    )
    static let signer = SigV4Signer(credentials: credentials, region: "us-east-1", service: "s3")
    static let verifier = SigV4Verifier(configuration: .init(region: "us-east-1", service: "s3")) { id in
        id == credentials.accessKeyId ? credentials.secretAccessKey : nil
    }
    static let signedAt = Date(timeIntervalSince1970: 1_700_000_000)

    /// An UploadPart request, signed in header form.
    struct Request {
        var method = "PUT"
        var path = "/bucket/data/part%20one.csv"
        var query: String? = "partNumber=3&uploadId=abc%2Fdef"
        var headers: [(name: String, value: String)] = [
            ("Host", "127.0.0.1:9000"),
            ("Content-Length", "5"),
            ("x-amz-checksum-crc32c", "yZRlqg=="),
        ]

        func verify(
            _ verifier: SigV4Verifier = SigV4VerifierTests.verifier,
            now: Date = SigV4VerifierTests.signedAt
        ) throws(SigV4Error) -> SigV4Identity {
            try verifier.verify(method: self.method, path: self.path, query: self.query, headers: self.headers, now: now)
        }
    }

    static func signed(
        _ request: Request = Request(),
        payloadHash: String = SigV4Signer.payloadHash(of: Array("hello".utf8)),
        signer: SigV4Signer = Self.signer,
        date: Date = Self.signedAt
    ) -> Request {
        var request = request
        request.headers += signer.signHeaders(
            method: request.method,
            path: request.path,
            query: request.query,
            headers: request.headers,
            payloadHash: payloadHash,
            date: date,
            addContentSHA256Header: true
        )
        return request
    }

    static func presigned(
        _ request: Request = Request(method: "GET", path: "/bucket/report.csv", query: "versionId=1", headers: [("Host", "localhost:9000")]),
        expires: Duration = .seconds(300)
    ) -> Request {
        var request = request
        request.query = Self.signer.presign(
            method: request.method,
            path: request.path,
            query: request.query,
            headers: request.headers,
            expires: expires,
            date: Self.signedAt
        )
        return request
    }

    /// Runs `body`, which must throw a ``SigV4Error``, and returns it.
    static func rejection(_ body: () throws(SigV4Error) -> SigV4Identity) throws -> SigV4Error {
        let identity: SigV4Identity
        do {
            identity = try body()
        } catch {
            return error
        }
        Issue.record("expected a SigV4Error, got \(identity)")
        throw CancellationError()
    }

    // MARK: Accepted

    @Test func headerRoundTrip() throws {
        let identity = try Self.signed().verify()
        #expect(identity.accessKeyId == "AKIDCSVSTORM")
        #expect(identity.region == "us-east-1")
        #expect(identity.service == "s3")
        #expect(identity.requestDate == Self.signedAt)
        #expect(!identity.isPresigned)
        #expect(identity.sessionToken == "session-token")
        #expect(identity.payloadHash == SigV4Signer.payloadHash(of: Array("hello".utf8)))
        #expect(identity.expectedBodySHA256 == identity.payloadHash)
        #expect(
            identity.signedHeaders == [
                "content-length", "host", "x-amz-checksum-crc32c", "x-amz-content-sha256", "x-amz-date",
                "x-amz-security-token",
            ]
        )
    }

    @Test(arguments: [SigV4Signer.unsignedPayload, "STREAMING-UNSIGNED-PAYLOAD-TRAILER"])
    func unsignedPayloadsAreReturnedAsClaimed(payloadHash: String) throws {
        let identity = try Self.signed(payloadHash: payloadHash).verify()
        #expect(identity.payloadHash == payloadHash)
        #expect(identity.expectedBodySHA256 == nil)
    }

    @Test func headerNamesInAnyCaseAndEquivalentWireEncodings() throws {
        var request = Self.signed()
        request.headers = request.headers.map { (name: $0.name.uppercased(), value: $0.value) }
        request.path = "/bucket/data/part%20one%2ecsv"  // %2e is ".", lower-case hex
        request.query = "uploadId=abc%2fdef&partNumber=3"  // reordered, lower-case hex
        _ = try request.verify()
    }

    @Test func clockSkewWithinFifteenMinutesIsAccepted() throws {
        let request = Self.signed()
        _ = try request.verify(now: Self.signedAt.addingTimeInterval(14 * 60))
        _ = try request.verify(now: Self.signedAt.addingTimeInterval(-14 * 60))
    }

    @Test func presignedRoundTrip() throws {
        let request = Self.presigned()
        let identity = try request.verify(now: Self.signedAt.addingTimeInterval(299))
        #expect(identity.isPresigned)
        #expect(identity.expiresAt == Self.signedAt.addingTimeInterval(300))
        #expect(identity.payloadHash == SigV4Signer.unsignedPayload)
        #expect(identity.sessionToken == "session-token")
        #expect(identity.signedHeaders == ["host"])
    }

    @Test func standardModeUsesTheCallersBodyHash() throws {
        // DynamoDB-style: no x-amz-content-sha256 header, path normalized.
        let body = Array(#"{"TableName":"ledger"}"#.utf8)
        let bodyHash = SigV4Signer.payloadHash(of: body)
        let signer = SigV4Signer(credentials: Self.credentials, region: "eu-west-1", service: "dynamodb", mode: .standard)
        var headers: [(name: String, value: String)] = [
            ("Host", "127.0.0.1:8000"), ("X-Amz-Target", "DynamoDB_20120810.GetItem"),
            ("Content-Type", "application/x-amz-json-1.0"),
        ]
        headers += signer.signHeaders(
            method: "POST", path: "/", query: nil, headers: headers, payloadHash: bodyHash,
            date: Self.signedAt, addContentSHA256Header: false
        )
        let verifier = SigV4Verifier(configuration: .init(mode: .standard, service: "dynamodb")) { _ in
            Self.credentials.secretAccessKey
        }
        let identity = try verifier.verify(
            method: "POST", path: "/", query: nil, headers: headers, bodySHA256: bodyHash, now: Self.signedAt
        )
        #expect(identity.region == "eu-west-1")
        #expect(identity.payloadHash == bodyHash)

        let tampered = SigV4Signer.payloadHash(of: Array(#"{"TableName":"other"}"#.utf8))
        let error = try Self.rejection { () throws(SigV4Error) in
            try verifier.verify(
                method: "POST", path: "/", query: nil, headers: headers, bodySHA256: tampered, now: Self.signedAt
            )
        }
        #expect(error.code == .signatureDoesNotMatch)
    }

    // MARK: Rejected: signature

    @Test func tamperedHeaderValue() throws {
        var request = Self.signed()
        let index = try #require(request.headers.firstIndex { $0.name == "x-amz-checksum-crc32c" })
        request.headers[index].value = "AAAAAA=="
        let error = try Self.rejection { () throws(SigV4Error) in try request.verify() }
        #expect(error.code == .signatureDoesNotMatch)
        #expect(error.httpStatus == 403)
        #expect(error.s3Code == "SignatureDoesNotMatch")
        #expect(error.canonicalRequest?.contains("x-amz-checksum-crc32c:AAAAAA==") == true)
        #expect(error.stringToSign?.hasPrefix("AWS4-HMAC-SHA256\n") == true)
    }

    @Test func tamperedPath() throws {
        var request = Self.signed()
        request.path = "/bucket/data/part%20two.csv"
        #expect(try Self.rejection { () throws(SigV4Error) in try request.verify() }.code == .signatureDoesNotMatch)
    }

    @Test func tamperedQuery() throws {
        var request = Self.signed()
        request.query = "partNumber=4&uploadId=abc%2Fdef"
        #expect(try Self.rejection { () throws(SigV4Error) in try request.verify() }.code == .signatureDoesNotMatch)

        var presigned = Self.presigned()
        presigned.query = presigned.query?.replacingOccurrences(of: "versionId=1", with: "versionId=2")
        #expect(try Self.rejection { () throws(SigV4Error) in try presigned.verify() }.code == .signatureDoesNotMatch)
    }

    @Test func tamperedMethodAndPayloadHash() throws {
        var request = Self.signed()
        request.method = "POST"
        #expect(try Self.rejection { () throws(SigV4Error) in try request.verify() }.code == .signatureDoesNotMatch)

        request = Self.signed()
        let index = try #require(request.headers.firstIndex { $0.name == "x-amz-content-sha256" })
        request.headers[index].value = SigV4Signer.unsignedPayload
        #expect(try Self.rejection { () throws(SigV4Error) in try request.verify() }.code == .signatureDoesNotMatch)
    }

    @Test func wrongSecret() throws {
        let verifier = SigV4Verifier { _ in "not-the-secret" }
        let request = Self.signed()
        #expect(try Self.rejection { () throws(SigV4Error) in try request.verify(verifier) }.code == .signatureDoesNotMatch)
        let presigned = Self.presigned()
        #expect(try Self.rejection { () throws(SigV4Error) in try presigned.verify(verifier) }.code == .signatureDoesNotMatch)
    }

    @Test func unknownAccessKey() throws {
        let verifier = SigV4Verifier { _ in nil }
        let error = try Self.rejection { () throws(SigV4Error) in try Self.signed().verify(verifier) }
        #expect(error.code == .invalidAccessKeyId)
        #expect(error.s3Code == "InvalidAccessKeyId")
        #expect(error.httpStatus == 403)
    }

    // MARK: Rejected: time

    @Test(arguments: [16.0 * 60, -16.0 * 60, 86_400])
    func clockSkewBeyondFifteenMinutes(offset: TimeInterval) throws {
        let request = Self.signed()
        let error = try Self.rejection { () throws(SigV4Error) in
            try request.verify(now: Self.signedAt.addingTimeInterval(offset))
        }
        #expect(error.code == .requestTimeTooSkewed)
        #expect(error.s3Code == "RequestTimeTooSkewed")
        #expect(error.httpStatus == 403)
    }

    @Test func expiredPresignedURL() throws {
        let request = Self.presigned(expires: .seconds(300))
        let error = try Self.rejection { () throws(SigV4Error) in
            try request.verify(now: Self.signedAt.addingTimeInterval(301))
        }
        #expect(error.code == .accessDenied)
        #expect(error.s3Code == "AccessDenied")
        #expect(error.message.hasPrefix("Request has expired"))
        #expect(error.httpStatus == 403)
    }

    @Test func presignedURLFromTheFuture() throws {
        let request = Self.presigned()
        let error = try Self.rejection { () throws(SigV4Error) in
            try request.verify(now: Self.signedAt.addingTimeInterval(-3600))
        }
        #expect(error.code == .accessDenied)
    }

    @Test func presignedExpiryBeyondAWeek() throws {
        var request = Self.presigned()
        request.query = request.query?.replacingOccurrences(of: "X-Amz-Expires=300", with: "X-Amz-Expires=604801")
        let error = try Self.rejection { () throws(SigV4Error) in try request.verify() }
        #expect(error.code == .authorizationQueryParametersError)
        #expect(error.httpStatus == 400)
    }

    // MARK: Rejected: malformed

    @Test func missingAuthentication() throws {
        let error = try Self.rejection { () throws(SigV4Error) in try Request().verify() }
        #expect(error.code == .accessDenied)
    }

    @Test(arguments: [
        "AWS4-HMAC-SHA256 Credential=AKIDCSVSTORM/20231114/us-east-1/s3, SignedHeaders=host, Signature=00",
        "AWS4-HMAC-SHA256 Credential=AKIDCSVSTORM/20231114/us-east-1/s3/aws4_request, Signature=00",
        "AWS4-HMAC-SHA256 SignedHeaders=host, Signature=00",
        "AWS4-HMAC-SHA256 Credential=AKIDCSVSTORM/2023111/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00",
        "AWS4-HMAC-SHA256 Credential=AKIDCSVSTORM/20231114/us-east-1/s3/aws4_reques, SignedHeaders=host, Signature=00",
        "AWS4-HMAC-SHA256 Credential=AKIDCSVSTORM/20231114/us-east-1/s3/aws4_request SignedHeaders=host Signature=00",
        "Bearer abc",
        // Scope date differs from X-Amz-Date.
        "AWS4-HMAC-SHA256 Credential=AKIDCSVSTORM/20231115/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00",
        // Wrong region / service for this endpoint.
        "AWS4-HMAC-SHA256 Credential=AKIDCSVSTORM/20231114/eu-west-1/s3/aws4_request, SignedHeaders=host, Signature=00",
        "AWS4-HMAC-SHA256 Credential=AKIDCSVSTORM/20231114/us-east-1/sqs/aws4_request, SignedHeaders=host, Signature=00",
    ])
    func malformedAuthorizationHeader(_ authorization: String) throws {
        var request = Self.signed()
        let index = try #require(request.headers.firstIndex { $0.name == "Authorization" })
        request.headers[index].value = authorization
        let error = try Self.rejection { () throws(SigV4Error) in try request.verify() }
        #expect(error.code == .authorizationHeaderMalformed, "\(error)")
        #expect(error.httpStatus == 400)
    }

    @Test func unsupportedAlgorithm() throws {
        var request = Self.signed()
        let index = try #require(request.headers.firstIndex { $0.name == "Authorization" })
        request.headers[index].value = "AWS AKIDCSVSTORM:c2lnbmF0dXJl"
        #expect(try Self.rejection { () throws(SigV4Error) in try request.verify() }.code == .invalidRequest)
    }

    @Test func missingDate() throws {
        var request = Self.signed()
        request.headers.removeAll { $0.name == "X-Amz-Date" }
        let error = try Self.rejection { () throws(SigV4Error) in try request.verify() }
        #expect(error.code == .accessDenied)
    }

    @Test func missingOrInvalidContentSHA256() throws {
        var request = Self.signed()
        request.headers.removeAll { $0.name == "x-amz-content-sha256" }
        #expect(try Self.rejection { () throws(SigV4Error) in try request.verify() }.code == .invalidRequest)

        request = Self.signed()
        let index = try #require(request.headers.firstIndex { $0.name == "x-amz-content-sha256" })
        request.headers[index].value = "not-a-hash"
        #expect(try Self.rejection { () throws(SigV4Error) in try request.verify() }.code == .invalidArgument)
    }

    @Test func bothHeaderAndQueryAuthentication() throws {
        var request = Self.presigned()
        request.headers.append(("Authorization", "AWS4-HMAC-SHA256 Credential=x"))
        #expect(try Self.rejection { () throws(SigV4Error) in try request.verify() }.code == .invalidArgument)
    }

    @Test func presignedMissingParameter() throws {
        var request = Self.presigned()
        request.query = request.query?.replacingOccurrences(of: "X-Amz-SignedHeaders=host&", with: "")
        let error = try Self.rejection { () throws(SigV4Error) in try request.verify() }
        #expect(error.code == .authorizationQueryParametersError)
    }
}
