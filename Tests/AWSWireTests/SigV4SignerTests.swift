import Crypto
import Foundation
import Testing

@testable import AWSWire

/// The S3 examples of the AWS documentation ("Signature calculations for the Authorization
/// header", "Authenticating requests: using query parameters") and the path/query/header rules.
@Suite("SigV4 signer")
struct SigV4SignerTests {
    static let credentials = AWSCredentials(
        accessKeyId: "AKIAIOSFODNN7EXAMPLE",
        secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    )
    static let s3 = SigV4Signer(credentials: credentials, region: "us-east-1", service: "s3")
    /// 2013-05-24T00:00:00Z
    static let docDate = Date(timeIntervalSince1970: 1_369_353_600)
    static let host = (name: "Host", value: "examplebucket.s3.amazonaws.com")

    static func authorization(_ headers: [(name: String, value: String)]) throws -> String {
        try #require(headers.first { $0.name == "Authorization" }?.value)
    }

    @Test func documentedGetObject() throws {
        let details = Self.s3.headerSigningDetails(
            method: "GET",
            path: "/test.txt",
            query: nil,
            headers: [Self.host, ("Range", "bytes=0-9")],
            payloadHash: SigV4Signer.emptyPayloadHash,
            date: Self.docDate,
            addContentSHA256Header: true
        )
        #expect(
            details.canonicalRequest == """
                GET
                /test.txt

                host:examplebucket.s3.amazonaws.com
                range:bytes=0-9
                x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
                x-amz-date:20130524T000000Z

                host;range;x-amz-content-sha256;x-amz-date
                e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
                """
        )
        #expect(
            details.stringToSign == """
                AWS4-HMAC-SHA256
                20130524T000000Z
                20130524/us-east-1/s3/aws4_request
                7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972
                """
        )
        #expect(details.signature == "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
        #expect(
            try Self.authorization(details.headers)
                == "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
        )
        #expect(details.headers.map(\.name) == ["X-Amz-Date", "x-amz-content-sha256", "Authorization"])
    }

    /// `$` in the key is encoded in the canonical URI although the wire path carries it raw.
    @Test func documentedPutObject() throws {
        let body = Array("Welcome to Amazon S3.".utf8)
        let hash = SigV4Signer.payloadHash(of: body)
        #expect(hash == "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072")
        for path in ["/test$file.text", "/test%24file.text"] {
            let headers = Self.s3.signHeaders(
                method: "PUT",
                path: path,
                query: nil,
                headers: [
                    Self.host, ("Date", "Fri, 24 May 2013 00:00:00 GMT"), ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
                ],
                payloadHash: hash,
                date: Self.docDate,
                addContentSHA256Header: true
            )
            #expect(
                try Self.authorization(headers)
                    == "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class, Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"
            )
        }
    }

    @Test(arguments: [
        ("lifecycle", "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543"),
        ("lifecycle=", "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543"),
        ("max-keys=2&prefix=J", "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"),
        ("prefix=J&max-keys=2", "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"),
    ])
    func documentedBucketRequests(query: String, signature: String) {
        let details = Self.s3.headerSigningDetails(
            method: "GET",
            path: "/",
            query: query,
            headers: [Self.host],
            payloadHash: SigV4Signer.emptyPayloadHash,
            date: Self.docDate,
            addContentSHA256Header: true
        )
        #expect(details.signature == signature)
    }

    @Test func documentedPresignedURL() {
        let query = Self.s3.presign(
            method: "GET",
            path: "/test.txt",
            query: nil,
            headers: [Self.host],
            expires: .seconds(86_400),
            date: Self.docDate
        )
        #expect(
            query
                == "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-SignedHeaders=host&X-Amz-Expires=86400&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
        )
    }

    @Test func sessionTokenIsSignedAndAdded() throws {
        var credentials = Self.credentials
        credentials.sessionToken = "token/with+chars="
        let signer = SigV4Signer(credentials: credentials, region: "us-east-1", service: "s3")
        let details = signer.headerSigningDetails(
            method: "GET",
            path: "/",
            query: nil,
            headers: [Self.host],
            payloadHash: SigV4Signer.unsignedPayload,
            date: Self.docDate,
            addContentSHA256Header: true
        )
        #expect(details.headers.first?.name == "X-Amz-Security-Token")
        #expect(details.headers.first?.value == "token/with+chars=")
        #expect(details.signedHeaders == "host;x-amz-content-sha256;x-amz-date;x-amz-security-token")
        #expect(details.canonicalRequest.hasSuffix("\nUNSIGNED-PAYLOAD"))

        let presigned = signer.presign(
            method: "GET",
            path: "/",
            query: nil,
            headers: [Self.host],
            expires: .seconds(60),
            date: Self.docDate
        )
        #expect(presigned.contains("&X-Amz-Security-Token=token%2Fwith%2Bchars%3D&X-Amz-Signature="))
    }

    // MARK: Canonical URI

    @Test(arguments: [
        // (wire path, S3 canonical, standard canonical)
        ("/", "/", "/"),
        ("", "/", "/"),
        ("/bucket/key", "/bucket/key", "/bucket/key"),
        ("//a//b/", "//a//b/", "/a/b/"),
        ("/a/./b/../c", "/a/./b/../c", "/a/c"),
        ("/a%20b", "/a%20b", "/a%2520b"),
        ("/a%2fb", "/a%2Fb", "/a%252fb"),
        ("/a b+c", "/a%20b%2Bc", "/a%20b%2Bc"),
        ("/%7Euser/%41", "/~user/A", "/%257Euser/%2541"),
        ("/caf\u{E9}", "/caf%C3%A9", "/caf%C3%A9"),
        ("/photos/%C3%A9t%C3%A9%202013/a%2Bb", "/photos/%C3%A9t%C3%A9%202013/a%2Bb",
         "/photos/%25C3%25A9t%25C3%25A9%25202013/a%252Bb"),
    ])
    func canonicalURI(path: String, s3: String, standard: String) {
        var out = [UInt8]()
        SigV4Canonical.appendCanonicalURI(path: path, mode: .s3, to: &out)
        #expect(String(decoding: out, as: UTF8.self) == s3)
        out.removeAll()
        SigV4Canonical.appendCanonicalURI(path: path, mode: .standard, to: &out)
        #expect(String(decoding: out, as: UTF8.self) == standard)
    }

    // MARK: Canonical query

    @Test(arguments: [
        ("", ""),
        ("uploads", "uploads="),
        ("partNumber=2&uploadId=abc", "partNumber=2&uploadId=abc"),
        ("uploadId=abc&partNumber=10", "partNumber=10&uploadId=abc"),
        ("b=2&a=3&a=1", "a=1&a=3&b=2"),
        ("a=x%2fy&a=x%2Fz", "a=x%2Fy&a=x%2Fz"),
        ("k=a b/c", "k=a%20b%2Fc"),
        ("k=%7E", "k=~"),
        ("&&k=v&", "k=v"),
        ("Z=1&a=1", "Z=1&a=1"),
    ])
    func canonicalQuery(raw: String, canonical: String) {
        var parameters = SigV4Canonical.canonicalParameters(rawQuery: raw)
        var out = [UInt8]()
        SigV4Canonical.appendCanonicalQuery(&parameters, to: &out)
        #expect(String(decoding: out, as: UTF8.self) == canonical)
    }

    // MARK: Headers

    @Test func headerCanonicalization() {
        let details = Self.s3.headerSigningDetails(
            method: "PUT",
            path: "/b/k",
            query: nil,
            headers: [
                ("HOST", "  examplebucket.s3.amazonaws.com "),
                ("X-Amz-Meta-A", "  one \t two\r\n  three  "),
                ("x-amz-meta-a", "second"),
                ("User-Agent", "csvstorm/1.0"),
                ("Expect", "100-continue"),
                ("X-Amz-Date", "19700101T000000Z"),
                ("Authorization", "stale"),
                ("x-amz-content-sha256", "ignored-because-the-signer-adds-it"),
            ],
            payloadHash: SigV4Signer.unsignedPayload,
            date: Self.docDate,
            addContentSHA256Header: true
        )
        #expect(
            details.canonicalRequest == """
                PUT
                /b/k

                host:examplebucket.s3.amazonaws.com
                x-amz-content-sha256:UNSIGNED-PAYLOAD
                x-amz-date:20130524T000000Z
                x-amz-meta-a:one two three,second

                host;x-amz-content-sha256;x-amz-date;x-amz-meta-a
                UNSIGNED-PAYLOAD
                """
        )
    }

    @Test func callerSuppliedContentSHA256IsSignedWhenNotAdded() {
        let details = Self.s3.headerSigningDetails(
            method: "PUT",
            path: "/b/k",
            query: nil,
            headers: [Self.host, ("x-amz-content-sha256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER")],
            payloadHash: "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
            date: Self.docDate,
            addContentSHA256Header: false
        )
        #expect(details.signedHeaders == "host;x-amz-content-sha256;x-amz-date")
        #expect(details.headers.map(\.name) == ["X-Amz-Date", "Authorization"])
    }

    // MARK: Dates and keys

    @Test(arguments: [
        (0.0, "19700101T000000Z"),
        (1_369_353_600.0, "20130524T000000Z"),
        (1_440_938_160.0, "20150830T123600Z"),
        (951_782_400.0, "20000229T000000Z"),
        (4_102_444_799.9, "20991231T235959Z"),
        (-1.0, "19691231T235959Z"),
    ])
    func amzDateFormatting(seconds: Double, text: String) throws {
        let date = SigV4Date(Date(timeIntervalSince1970: seconds))
        #expect(date.timestamp == text)
        let parsed = try #require(SigV4Date(parsing: text))
        #expect(parsed.secondsSince1970 == Int64(seconds.rounded(.down)))
    }

    @Test(arguments: ["20130230T000000Z", "20131301T000000Z", "20130524T240000Z", "2013-05-24T00:00:00Z", "20130524T000000", ""])
    func amzDateRejects(text: String) {
        #expect(SigV4Date(parsing: text) == nil)
    }

    @Test func signingKeyDerivation() {
        // The documented example: secret wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY, 20120215, us-east-1, iam.
        let key = SigV4SigningKey.derive(
            secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            dateStamp: "20120215",
            region: "us-east-1",
            service: "iam"
        )
        let hex = key.withUnsafeBytes { SigV4Canonical.hex($0) }
        #expect(hex == "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d")
    }

    @Test func signingIsStableAcrossCacheHitsAndDays() {
        let sign: (Date) -> String = { date in
            Self.s3.headerSigningDetails(
                method: "GET", path: "/", query: nil, headers: [Self.host],
                payloadHash: SigV4Signer.emptyPayloadHash, date: date, addContentSHA256Header: true
            ).signature
        }
        let first = sign(Self.docDate)
        #expect(sign(Self.docDate) == first)
        let nextDay = sign(Self.docDate.addingTimeInterval(86_400))
        #expect(nextDay != first)
        #expect(sign(Self.docDate) == first)
    }
}
