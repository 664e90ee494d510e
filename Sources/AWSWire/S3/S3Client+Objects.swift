import AsyncHTTPClient
import NIOCore
import NIOHTTP1

extension S3Client {
    // MARK: Buckets

    /// Creates a bucket (with a `LocationConstraint` outside `us-east-1`).
    package func createBucket(_ bucket: String) async throws {
        var spec = S3RequestSpec(operation: "CreateBucket", method: .PUT, bucket: bucket, timeout: self.configuration.timeouts.request)
        if self.configuration.region != "us-east-1" {
            var w = XML.Writer()
            w.open("CreateBucketConfiguration", attributes: [(name: "xmlns", value: "http://s3.amazonaws.com/doc/2006-03-01/")])
            w.element("LocationConstraint", text: self.configuration.region)
            w.close("CreateBucketConfiguration")
            let body = w.byteBuffer()
            spec.body = body
            spec.payloadHash = Self.sha256Hex(body)
            spec.headers.append((name: "content-type", value: "application/xml"))
        }
        _ = try await self.headRequest(spec)
    }

    /// Deletes an (empty) bucket.
    package func deleteBucket(_ bucket: String) async throws {
        let spec = S3RequestSpec(operation: "DeleteBucket", method: .DELETE, bucket: bucket, timeout: self.configuration.timeouts.request)
        _ = try await self.headRequest(spec)
    }

    // MARK: PutObject

    /// Uploads a whole object from a caller-owned buffer (its readable bytes, not consumed).
    package func putObject(
        bucket: String,
        key: String,
        body: ByteBuffer,
        contentType: String? = nil,
        metadata: [String: String] = [:],
        checksum: CRC32C? = nil
    ) async throws -> S3PutObjectResult {
        var spec = S3RequestSpec(operation: "PutObject", method: .PUT, bucket: bucket, key: key, timeout: self.configuration.timeouts.transfer)
        if let contentType { spec.headers.append((name: "content-type", value: contentType)) }
        Self.appendMetadata(metadata, to: &spec.headers)
        let sent = self.prepareBody(body, checksum: checksum, into: &spec)
        let head = try await self.headRequest(spec)
        let echoed = head.header("x-amz-checksum-crc32c")
        if let sent, let echoed, echoed != sent {
            throw AWSError(kind: .invalidResponse, operation: "PutObject", statusCode: head.status, code: .badDigest,
                           message: "S3 echoed CRC32C \(echoed) but we sent \(sent)", requestId: head.requestId)
        }
        return S3PutObjectResult(
            eTag: head.header("etag"), versionId: head.header("x-amz-version-id"), checksumCRC32C: echoed ?? sent, requestId: head.requestId
        )
    }

    // MARK: GetObject

    /// Starts a download. The request (up to the response head) is retried; the body then
    /// streams as `ByteBuffer`s with back-pressure and is *not* retried: a failure while reading
    /// it surfaces from the iterator as an ``AWSError`` (use a `range` to resume).
    ///
    /// Consume or drop the body promptly: the connection stays busy until then.
    package func getObject(
        bucket: String,
        key: String,
        range: S3ByteRange? = nil,
        versionId: String? = nil,
        checksumMode: Bool = false
    ) async throws -> S3GetObjectOutput {
        var spec = S3RequestSpec(operation: "GetObject", method: .GET, bucket: bucket, key: key, timeout: self.configuration.timeouts.transfer)
        if let versionId { spec.query.append((name: "versionId", value: versionId)) }
        if let range { spec.headers.append((name: "range", value: range.description)) }
        if checksumMode { spec.headers.append((name: "x-amz-checksum-mode", value: "ENABLED")) }
        let frozen = spec
        return try await self.retryStrategy.execute(operation: spec.operation) { _ in
            let (head, body) = try await self.send(frozen, deadline: Self.deadline(after: frozen.timeout))
            return S3GetObjectOutput(
                statusCode: head.status,
                metadata: S3ObjectMetadata(head: head),
                contentRange: head.header("content-range"),
                body: S3ObjectBody(body: body, operation: frozen.operation)
            )
        }
    }

    // MARK: HeadObject

    /// Object metadata. A missing object is an ``AWSError`` with status 404 and code `NotFound`
    /// (HEAD responses have no body, so the code is derived from the status).
    package func headObject(bucket: String, key: String, versionId: String? = nil, partNumber: Int? = nil) async throws -> S3ObjectMetadata {
        var spec = S3RequestSpec(operation: "HeadObject", method: .HEAD, bucket: bucket, key: key, timeout: self.configuration.timeouts.request)
        if let partNumber { spec.query.append((name: "partNumber", value: String(partNumber))) }
        if let versionId { spec.query.append((name: "versionId", value: versionId)) }
        let head = try await self.headRequest(spec)
        return S3ObjectMetadata(head: head)
    }

    // MARK: ListObjectsV2

    /// One page of a bucket listing. Keys are requested URL-encoded (`encoding-type=url`, so
    /// any key survives XML) and decoded here.
    package func listObjectsV2(
        bucket: String,
        prefix: String? = nil,
        delimiter: String? = nil,
        continuationToken: String? = nil,
        startAfter: String? = nil,
        maxKeys: Int? = nil
    ) async throws -> S3ListObjectsV2Result {
        var query: [(name: String, value: String?)] = [(name: "list-type", value: "2")]
        if let continuationToken { query.append((name: "continuation-token", value: continuationToken)) }
        if let delimiter { query.append((name: "delimiter", value: delimiter)) }
        query.append((name: "encoding-type", value: "url"))
        if let maxKeys { query.append((name: "max-keys", value: String(maxKeys))) }
        if let prefix { query.append((name: "prefix", value: prefix)) }
        if let startAfter { query.append((name: "start-after", value: startAfter)) }
        let spec = S3RequestSpec(operation: "ListObjectsV2", method: .GET, bucket: bucket, query: query, timeout: self.configuration.timeouts.request)
        let (_, root) = try await self.xmlRequest(spec)
        return try S3ListObjectsV2Result(xml: root!)
    }

    /// All objects under `prefix`, following continuation tokens for at most `maxPages` pages.
    package func listAllObjectsV2(bucket: String, prefix: String? = nil, pageSize: Int? = nil, maxPages: Int = 1000) async throws -> [S3Object] {
        var objects: [S3Object] = []
        var token: String?
        for _ in 0..<maxPages {
            let page = try await self.listObjectsV2(bucket: bucket, prefix: prefix, continuationToken: token, maxKeys: pageSize)
            objects.append(contentsOf: page.objects)
            guard page.isTruncated else { return objects }
            guard let next = page.nextContinuationToken, next != token else {
                throw AWSError(kind: .invalidResponse, operation: "ListObjectsV2", message: "truncated page without a new NextContinuationToken")
            }
            token = next
        }
        throw AWSError(kind: .invalidResponse, operation: "ListObjectsV2", message: "more than \(maxPages) pages")
    }

    // MARK: DeleteObject

    package func deleteObject(bucket: String, key: String, versionId: String? = nil) async throws -> S3DeleteObjectResult {
        var spec = S3RequestSpec(operation: "DeleteObject", method: .DELETE, bucket: bucket, key: key, timeout: self.configuration.timeouts.request)
        if let versionId { spec.query.append((name: "versionId", value: versionId)) }
        let head = try await self.headRequest(spec)
        return S3DeleteObjectResult(
            versionId: head.header("x-amz-version-id"),
            deleteMarker: head.header("x-amz-delete-marker") == "true",
            requestId: head.requestId
        )
    }
}

// MARK: - GetObject output

/// The head of a GetObject response and its streaming body.
package struct S3GetObjectOutput: Sendable {
    /// 200, or 206 for a range.
    package var statusCode: Int
    package var metadata: S3ObjectMetadata
    /// `Content-Range` of a ranged response.
    package var contentRange: String?
    package var body: S3ObjectBody
}

/// A GetObject response body: an async sequence of `ByteBuffer`s, read once.
/// Transport failures are thrown as ``AWSError`` (`.timeout` / `.connection`).
package struct S3ObjectBody: AsyncSequence, Sendable {
    package typealias Element = ByteBuffer

    let body: HTTPClientResponse.Body
    let operation: String

    package struct AsyncIterator: AsyncIteratorProtocol {
        var base: HTTPClientResponse.Body.AsyncIterator
        let operation: String

        package mutating func next() async throws -> ByteBuffer? {
            do {
                return try await self.base.next()
            } catch {
                throw AWSError.transport(operation: self.operation, error: error)
            }
        }
    }

    package func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: self.body.makeAsyncIterator(), operation: self.operation)
    }

    /// Reads the whole body into one buffer; fails beyond `maxBytes`.
    package func collect(upTo maxBytes: Int) async throws -> ByteBuffer {
        do {
            return try await self.body.collect(upTo: maxBytes)
        } catch {
            throw AWSError.transport(operation: self.operation, error: error)
        }
    }
}

extension S3ObjectMetadata {
    init(head: S3ResponseHead) {
        var meta: [String: String] = [:]
        for (name, value) in head.headers {
            let lower = name.lowercased()
            if lower.hasPrefix("x-amz-meta-") { meta[String(lower.dropFirst(11))] = value }
        }
        self.init(
            contentLength: head.header("content-length").flatMap { Int64($0) },
            contentType: head.header("content-type"),
            eTag: head.header("etag"),
            lastModified: head.header("last-modified"),
            versionId: head.header("x-amz-version-id"),
            checksumCRC32C: head.header("x-amz-checksum-crc32c"),
            checksumType: head.header("x-amz-checksum-type"),
            userMetadata: meta,
            partsCount: head.header("x-amz-mp-parts-count").flatMap { Int($0) },
            deleteMarker: head.header("x-amz-delete-marker") == "true",
            requestId: head.requestId
        )
    }
}
