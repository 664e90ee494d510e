import AWSWire
import NIOCore
import Testing

/// Response samples in the shape of the Amazon S3 API Reference examples
/// (https://docs.aws.amazon.com/AmazonS3/latest/API/), including their namespace and quoting.
@Suite("S3 response documents")
struct S3ResponseParsingTests {
    @Test func createMultipartUpload() throws {
        let root = try XML.parse(#"""
            <?xml version="1.0" encoding="UTF-8"?>
            <InitiateMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
              <Bucket>example-bucket</Bucket>
              <Key>example-object</Key>
              <UploadId>VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA</UploadId>
            </InitiateMultipartUploadResult>
            """#)
        let r = try S3CreateMultipartUploadResult(xml: root, requestId: "req", checksumAlgorithmHeader: "CRC32C")
        #expect(r.bucket == "example-bucket")
        #expect(r.key == "example-object")
        #expect(r.uploadId == "VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA")
        #expect(r.checksumAlgorithm == "CRC32C")
        #expect(r.requestId == "req")
    }

    @Test func createMultipartUploadWithoutUploadIdIsInvalid() throws {
        let root = try XML.parse("<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key></InitiateMultipartUploadResult>")
        #expect { try S3CreateMultipartUploadResult(xml: root) } throws: { ($0 as? AWSError)?.kind == .invalidResponse }
        let wrong = try XML.parse("<ListPartsResult/>")
        #expect { try S3CreateMultipartUploadResult(xml: wrong) } throws: { ($0 as? AWSError)?.kind == .invalidResponse }
    }

    @Test func listParts() throws {
        let root = try XML.parse(#"""
            <?xml version="1.0" encoding="UTF-8"?>
            <ListPartsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
              <Bucket>example-bucket</Bucket>
              <Key>example-object</Key>
              <UploadId>XXBsb2FkIElEIGZvciBlbHZpbmcncyVcdS1tb3ZpZS5tMnRzEEEwbG9hZA</UploadId>
              <Initiator>
                  <ID>arn:aws:iam::111122223333:user/some-user-11116a31-17b5-4fb7-9df5-b288870f11xx</ID>
                  <DisplayName>umat-user-11116a31-17b5-4fb7-9df5-b288870f11xx</DisplayName>
              </Initiator>
              <Owner>
                <ID>75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a</ID>
                <DisplayName>someName</DisplayName>
              </Owner>
              <StorageClass>STANDARD</StorageClass>
              <PartNumberMarker>1</PartNumberMarker>
              <NextPartNumberMarker>3</NextPartNumberMarker>
              <MaxParts>2</MaxParts>
              <IsTruncated>true</IsTruncated>
              <Part>
                <PartNumber>2</PartNumber>
                <LastModified>2010-11-10T20:48:34.000Z</LastModified>
                <ETag>"7778aef83f66abc1fa1e8477f296d394"</ETag>
                <Size>10485760</Size>
              </Part>
              <Part>
                <PartNumber>3</PartNumber>
                <LastModified>2010-11-10T20:48:33.000Z</LastModified>
                <ETag>&quot;aaaa18db4cc2f85cedef654fccc4a4x8&quot;</ETag>
                <Size>10485760</Size>
                <ChecksumCRC32C>4waSgw==</ChecksumCRC32C>
              </Part>
            </ListPartsResult>
            """#)
        let r = try S3ListPartsResult(xml: root)
        #expect(r.bucket == "example-bucket")
        #expect(r.isTruncated)
        #expect(r.nextPartNumberMarker == 3)
        #expect(r.maxParts == 2)
        #expect(r.parts.count == 2)
        #expect(r.parts[0].partNumber == 2)
        #expect(r.parts[0].eTag == "\"7778aef83f66abc1fa1e8477f296d394\"")
        #expect(r.parts[0].size == 10_485_760)
        #expect(r.parts[0].lastModified == "2010-11-10T20:48:34.000Z")
        #expect(r.parts[0].checksumCRC32C == nil)
        #expect(r.parts[1].eTag == "\"aaaa18db4cc2f85cedef654fccc4a4x8\"")
        #expect(r.parts[1].checksumCRC32C == "4waSgw==")
    }

    @Test("root names are not checked strictly (moto 5 sends <ListPartsResponse>), but <Error> is refused")
    func rootNames() throws {
        let moto = try XML.parse("<ListPartsResponse><Bucket>b</Bucket><IsTruncated>false</IsTruncated><Part><PartNumber>1</PartNumber><ETag>e</ETag><Size>3</Size></Part></ListPartsResponse>")
        #expect(try S3ListPartsResult(xml: moto).parts.count == 1)
        let error = try XML.parse("<Error><Code>InternalError</Code></Error>")
        #expect { try S3CompleteMultipartUploadResult(xml: error) } throws: { ($0 as? AWSError)?.kind == .invalidResponse }
    }

    @Test func completeMultipartUpload() throws {
        // S3 sends whitespace to keep the connection alive before the document.
        let root = try XML.parse("""
                 \n\n<?xml version="1.0" encoding="UTF-8"?>
            <CompleteMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
              <Location>https://example-bucket.s3.us-east-1.amazonaws.com/example-object</Location>
              <Bucket>example-bucket</Bucket>
              <Key>example-object</Key>
              <ETag>"3858f62230ac3c915f300c664312c11f-9"</ETag>
              <ChecksumCRC32C>tcghUA==-3</ChecksumCRC32C>
              <ChecksumType>COMPOSITE</ChecksumType>
            </CompleteMultipartUploadResult>
            """)
        let r = try S3CompleteMultipartUploadResult(xml: root, versionId: "v1", requestId: "r")
        #expect(r.location == "https://example-bucket.s3.us-east-1.amazonaws.com/example-object")
        #expect(r.eTag == "\"3858f62230ac3c915f300c664312c11f-9\"")
        #expect(r.checksumCRC32C == "tcghUA==-3")
        #expect(r.checksumType == "COMPOSITE")
        #expect(r.versionId == "v1")
    }

    @Test func listMultipartUploads() throws {
        let root = try XML.parse(#"""
            <?xml version="1.0" encoding="UTF-8"?>
            <ListMultipartUploadsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
              <Bucket>bucket</Bucket>
              <KeyMarker></KeyMarker>
              <UploadIdMarker></UploadIdMarker>
              <NextKeyMarker>my-movie.m2ts</NextKeyMarker>
              <NextUploadIdMarker>YW55IGlkZWEgd2h5IGVsdmluZydzIHVwbG9hZCBmYWlsZWQ</NextUploadIdMarker>
              <MaxUploads>3</MaxUploads>
              <IsTruncated>true</IsTruncated>
              <Upload>
                <Key>my-divisor</Key>
                <UploadId>XMgbGlrZSBlbHZpbmcncyBub3QgaGF2aW5nIG11Y2ggbHVjaw</UploadId>
                <Initiator><ID>arn:aws:iam::111122223333:user/user1-11111a31-17b5-4fb7-9df5-b111111f13de</ID><DisplayName>user1-11111a31-17b5-4fb7-9df5-b111111f13de</DisplayName></Initiator>
                <Owner><ID>75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a</ID><DisplayName>OwnerDisplayName</DisplayName></Owner>
                <StorageClass>STANDARD</StorageClass>
                <Initiated>2010-11-10T20:48:33.000Z</Initiated>
              </Upload>
              <Upload>
                <Key>my-movie.m2ts</Key>
                <UploadId>VXBsb2FkIElEIGZvciBlbHZpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA</UploadId>
                <StorageClass>STANDARD</StorageClass>
                <Initiated>2010-11-10T20:48:33.000Z</Initiated>
              </Upload>
              <CommonPrefixes><Prefix>photos/</Prefix></CommonPrefixes>
            </ListMultipartUploadsResult>
            """#)
        let r = try S3ListMultipartUploadsResult(xml: root)
        #expect(r.isTruncated)
        #expect(r.uploads.map(\.key) == ["my-divisor", "my-movie.m2ts"])
        #expect(r.uploads[0].initiated == "2010-11-10T20:48:33.000Z")
        #expect(r.nextKeyMarker == "my-movie.m2ts")
        #expect(r.nextUploadIdMarker == "YW55IGlkZWEgd2h5IGVsdmluZydzIHVwbG9hZCBmYWlsZWQ")
        #expect(r.commonPrefixes == ["photos/"])
        let empty = try S3ListMultipartUploadsResult(xml: XML.parse("<ListMultipartUploadsResult><Bucket>b</Bucket><IsTruncated>false</IsTruncated></ListMultipartUploadsResult>"))
        #expect(empty.uploads.isEmpty)
        #expect(!empty.isTruncated)
    }

    @Test func listObjectsV2WithURLEncoding() throws {
        let root = try XML.parse(#"""
            <?xml version="1.0" encoding="UTF-8"?>
            <ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
              <Name>bucket</Name>
              <Prefix>dir%2F</Prefix>
              <KeyCount>2</KeyCount>
              <MaxKeys>2</MaxKeys>
              <Delimiter>%2F</Delimiter>
              <EncodingType>url</EncodingType>
              <IsTruncated>true</IsTruncated>
              <NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>
              <Contents>
                <Key>dir/my+image%26.jpg</Key>
                <LastModified>2009-10-12T17:50:30.000Z</LastModified>
                <ETag>"fba9dede5f27731c9771645a39863328"</ETag>
                <Size>434234</Size>
                <StorageClass>STANDARD</StorageClass>
              </Contents>
              <Contents>
                <Key>dir/%C3%BC.csv</Key>
                <Size>0</Size>
              </Contents>
              <CommonPrefixes><Prefix>dir/sub%2F</Prefix></CommonPrefixes>
            </ListBucketResult>
            """#)
        let r = try S3ListObjectsV2Result(xml: root)
        #expect(r.name == "bucket")
        #expect(r.prefix == "dir/")
        #expect(r.delimiter == "/")
        #expect(r.keyCount == 2)
        #expect(r.isTruncated)
        #expect(r.nextContinuationToken == "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=")
        #expect(r.objects.map(\.key) == ["dir/my image&.jpg", "dir/ü.csv"])
        #expect(r.objects[0].size == 434_234)
        #expect(r.objects[0].eTag == "\"fba9dede5f27731c9771645a39863328\"")
        #expect(r.commonPrefixes == ["dir/sub/"])
    }

    @Test func listObjectsV2PlainKeysAreNotDecoded() throws {
        let root = try XML.parse("<ListBucketResult><Name>b</Name><IsTruncated>false</IsTruncated><Contents><Key>a+b%20c</Key><Size>1</Size></Contents></ListBucketResult>")
        #expect(try S3ListObjectsV2Result(xml: root).objects.map(\.key) == ["a+b%20c"])
    }

    @Test func completeMultipartUploadRequestBody() throws {
        let xml = S3CompletedPart.completeMultipartUploadXML([
            S3CompletedPart(partNumber: 1, eTag: "\"a54357aff0632cce46d942af68356b38\"", checksumCRC32C: "4waSgw=="),
            S3CompletedPart(partNumber: 2, eTag: "\"0c78aef83f66abc1fa1e8477f296d394\""),
        ])
        let text = String(decoding: xml, as: UTF8.self)
        #expect(text == #"<?xml version="1.0" encoding="UTF-8"?><CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Part><PartNumber>1</PartNumber><ETag>&quot;a54357aff0632cce46d942af68356b38&quot;</ETag><ChecksumCRC32C>4waSgw==</ChecksumCRC32C></Part><Part><PartNumber>2</PartNumber><ETag>&quot;0c78aef83f66abc1fa1e8477f296d394&quot;</ETag></Part></CompleteMultipartUpload>"#)
        let back = try XML.parse(xml)
        #expect(back.children(named: "Part").map { $0.childText("ETag") } == ["\"a54357aff0632cce46d942af68356b38\"", "\"0c78aef83f66abc1fa1e8477f296d394\""])
    }
}

@Suite("S3 error responses")
struct S3ErrorParsingTests {
    static let noSuchKey = #"""
        <?xml version="1.0" encoding="UTF-8"?>
        <Error>
          <Code>NoSuchKey</Code>
          <Message>The resource you requested does not exist</Message>
          <Resource>/mybucket/myfoto.jpg</Resource>
          <RequestId>4442587FB7D0A2F9</RequestId>
          <HostId>BODYHOSTID</HostId>
        </Error>
        """#

    @Test func errorDocument() {
        let e = AWSError.s3(operation: "GetObject", status: 404, body: ByteBuffer(string: Self.noSuchKey), requestIdHeader: nil, hostIdHeader: nil)
        #expect(e.kind == .service)
        #expect(e.code == .noSuchKey)
        #expect(e.statusCode == 404)
        #expect(e.message == "The resource you requested does not exist")
        #expect(e.requestId == "4442587FB7D0A2F9")
        #expect(e.hostId == "BODYHOSTID")
        #expect(e.operation == "GetObject")
        #expect(!e.errorInSuccessResponse)
        #expect("\(e)".contains("NoSuchKey"))
        #expect("\(e)".contains("4442587FB7D0A2F9"))
        #expect(RetryClassifier.classify(e) == nil)
    }

    @Test func headersWinOverBody() {
        let e = AWSError.s3(operation: "GetObject", status: 404, body: ByteBuffer(string: Self.noSuchKey),
                            requestIdHeader: "HDRID", hostIdHeader: "HDRHOST")
        #expect(e.requestId == "HDRID")
        #expect(e.hostId == "HDRHOST")
    }

    @Test("HEAD responses have no body: the code comes from the status", arguments: [
        (404, "NotFound"), (403, "Forbidden"), (400, "BadRequest"), (412, "PreconditionFailed"), (503, "ServiceUnavailable"),
        (500, "InternalError"), (418, "HTTP418"),
    ])
    func headWithoutBody(status: Int, code: String) {
        let e = AWSError.s3(operation: "HeadObject", status: status, body: nil, requestIdHeader: "R", hostIdHeader: nil)
        #expect(e.code?.rawValue == code)
        #expect(e.statusCode == status)
        #expect(e.requestId == "R")
    }

    @Test func slowDownIsThrottling() {
        let body = "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message><RequestId>X</RequestId></Error>"
        let e = AWSError.s3(operation: "UploadPart", status: 503, body: ByteBuffer(string: body), requestIdHeader: nil, hostIdHeader: nil)
        #expect(e.code == .slowDown)
        #expect(RetryClassifier.classify(e) == .throttling)
    }

    @Test func nonXMLBodyKeepsAnExcerpt() {
        let e = AWSError.s3(operation: "PutObject", status: 502, body: ByteBuffer(string: "<html>Bad Gateway</html"), requestIdHeader: nil, hostIdHeader: nil)
        #expect(e.code?.rawValue == "HTTP502")
        #expect(e.message == "<html>Bad Gateway</html")
        #expect(RetryClassifier.classify(e) == .serverError)
    }

    @Test("CompleteMultipartUpload: 200 OK with an <Error> body is an error, retryable when its code is")
    func errorInSuccessResponse() throws {
        let internalError = try XML.parse("""
               \n  <?xml version="1.0" encoding="UTF-8"?>
            <Error>
              <Code>InternalError</Code>
              <Message>We encountered an internal error. Please try again.</Message>
              <RequestId>656c76696e6727732072657175657374</RequestId>
              <HostId>Uuag1LuByRx9e6j5Onimru9pO4ZVKnJ2Qz7/C1NPcfTWAtRPfTaOFg==</HostId>
            </Error>
            """)
        let e = try #require(AWSError.s3ErrorInSuccessResponse(operation: "CompleteMultipartUpload", root: internalError,
                                                               requestIdHeader: nil, hostIdHeader: nil))
        #expect(e.errorInSuccessResponse)
        #expect(e.statusCode == 200)
        #expect(e.code == .internalError)
        #expect(e.requestId == "656c76696e6727732072657175657374")
        #expect(RetryClassifier.classify(e) == .transient)
        #expect("\(e)".contains("200 with an <Error> body"))

        let slowDown = try XML.parse("<Error><Code>SlowDown</Code></Error>")
        #expect(RetryClassifier.classify(AWSError.s3ErrorInSuccessResponse(operation: "CompleteMultipartUpload", root: slowDown, requestIdHeader: nil, hostIdHeader: nil)!) == .throttling)

        let invalidPart = try XML.parse("<Error><Code>InvalidPart</Code><Message>One or more of the specified parts could not be found.</Message></Error>")
        let p = try #require(AWSError.s3ErrorInSuccessResponse(operation: "CompleteMultipartUpload", root: invalidPart, requestIdHeader: "H", hostIdHeader: nil))
        #expect(p.code == .invalidPart)
        #expect(RetryClassifier.classify(p) == nil)

        let ok = try XML.parse("<CompleteMultipartUploadResult><ETag>x</ETag></CompleteMultipartUploadResult>")
        #expect(AWSError.s3ErrorInSuccessResponse(operation: "CompleteMultipartUpload", root: ok, requestIdHeader: nil, hostIdHeader: nil) == nil)
    }
}
