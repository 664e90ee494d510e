import AWSWire
import Crypto
import Foundation
import HummingbirdCore
import NIOCore

/// A stored request body: its blob and digests.
struct IngestedBody: Sendable {
    var blob: String
    var digests: BlobDigests
    /// The checksum the client sent (header or trailer) and S3 verified, per algorithm.
    var sentChecksums: [ChecksumAlgorithm: String]
}

/// How the body of a PUT arrives, decided before reading it.
struct BodyPlan: Sendable {
    /// `aws-chunked` framing (`STREAMING-*` payload hashes).
    var chunked: Bool
    /// Hex SHA-256 the raw body must have (signed payload), when verified.
    var expectedSHA256: String?
    /// The decoded length the client announced (`Content-Length`, or `x-amz-decoded-content-length`).
    var declaredLength: Int64?
    /// Base64 Content-MD5, when sent.
    var contentMD5: String?
    /// Checksums sent as headers.
    var headerChecksums: [ChecksumAlgorithm: String]
    /// Algorithms announced in `x-amz-trailer`.
    var trailerChecksums: Set<ChecksumAlgorithm>
    /// Every algorithm to compute.
    var compute: Set<ChecksumAlgorithm>
    /// Chunk signatures to verify (`STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]`).
    var chunkSigner: ChunkSignatureChain?
}

extension S3Server {

    /// Decides how to read a PUT body; rejects what S3 rejects before reading.
    func bodyPlan(_ request: S3Request, identity: SigV4Identity, extraChecksum: ChecksumAlgorithm?) throws -> BodyPlan {
        let payload = identity.payloadHash
        let chunked = payload.hasPrefix("STREAMING-")
        var declared: Int64?
        if chunked {
            declared = request.header("x-amz-decoded-content-length").flatMap { Int64($0) }
        } else {
            declared = request.header("content-length").flatMap { Int64($0) }
        }
        if let declared, declared > self.configuration.multipart.maximumPartSize {
            throw S3Error(
                .entityTooLarge, "Your proposed upload exceeds the maximum allowed size",
                details: [("ProposedSize", String(declared)), ("MaxSizeAllowed", String(self.configuration.multipart.maximumPartSize))]
            )
        }
        if request.header("content-length") == nil && request.header("transfer-encoding") == nil {
            throw S3Error(.missingContentLength, "You must provide the Content-Length HTTP header.")
        }
        var headerChecksums: [ChecksumAlgorithm: String] = [:]
        for algorithm in ChecksumAlgorithm.allCases {
            if let value = request.header(algorithm.headerName) { headerChecksums[algorithm] = value }
        }
        for name in ["x-amz-checksum-sha1", "x-amz-checksum-sha256", "x-amz-checksum-crc64nvme"] where request.header(name) != nil {
            throw S3Error.notImplemented("\(name) (the emulator verifies CRC32 and CRC32C)")
        }
        var trailers = Set<ChecksumAlgorithm>()
        if let trailer = request.header("x-amz-trailer") {
            for name in trailer.split(separator: ",") {
                let name = name.trimmingCharacters(in: .whitespaces).lowercased()
                if let algorithm = ChecksumAlgorithm.allCases.first(where: { $0.headerName == name }) {
                    trailers.insert(algorithm)
                } else if name.hasPrefix("x-amz-checksum-") {
                    throw S3Error.notImplemented("\(name) (the emulator verifies CRC32 and CRC32C)")
                }
            }
        }
        if let sdk = request.header("x-amz-sdk-checksum-algorithm"), ChecksumAlgorithm(name: sdk) == nil {
            throw S3Error.notImplemented("checksum algorithm \(sdk) (the emulator verifies CRC32 and CRC32C)")
        }
        var compute = Set(headerChecksums.keys).union(trailers)
        if let extraChecksum { compute.insert(extraChecksum) }
        var chunkSigner: ChunkSignatureChain?
        if payload.hasPrefix("STREAMING-AWS4-HMAC-SHA256-PAYLOAD") {
            guard let date = request.header("x-amz-date") ?? request.query["X-Amz-Date"] else {
                throw S3Error(.accessDenied, "AWS authentication requires a valid Date or x-amz-date header")
            }
            chunkSigner = ChunkSignatureChain(
                secretAccessKey: self.configuration.credentials.secretAccessKey, identity: identity, amzDate: date
            )
        } else if chunked && payload != "STREAMING-UNSIGNED-PAYLOAD-TRAILER" {
            throw S3Error.notImplemented("x-amz-content-sha256 \(payload)")
        }
        return BodyPlan(
            chunked: chunked,
            expectedSHA256: self.configuration.verifyPayloadSHA256 ? identity.expectedBodySHA256 : nil,
            declaredLength: declared,
            contentMD5: request.header("content-md5"),
            headerChecksums: headerChecksums,
            trailerChecksums: trailers,
            compute: compute,
            chunkSigner: chunkSigner
        )
    }

    /// Streams the body to a new blob: decoding aws-chunked framing, hashing (MD5 always, SHA-256
    /// when signed, the checksums asked for) and verifying everything S3 verifies. The blob is in
    /// `blobs/` on return (the caller records or removes it); on a throw nothing is left behind.
    func ingest(_ body: RequestBody, plan: BodyPlan) async throws -> IngestedBody {
        if let md5 = plan.contentMD5 {
            guard let data = Data(base64Encoded: md5), data.count == 16 else {
                throw S3Error(.invalidDigest, "The Content-MD5 you specified was invalid.", details: [("Content-MD5", md5)])
            }
        }
        // A plain body's MD5 (and signed payload's SHA-256) go to the shared digest engine
        // (``EmulatorConfiguration/batchedMD5``); aws-chunked bodies arrive as decoded slices
        // and are hashed here.
        let engine = self.configuration.batchedMD5 && !plan.chunked
        let writer = try self.blobs.makeWriter(
            checksums: plan.compute, md5: engine ? .engine(.shared, sha256: plan.expectedSHA256 != nil) : .inline,
            declaredLength: plan.declaredLength
        )
        var sha256 = plan.expectedSHA256 != nil && !engine ? SHA256() : nil
        var decoder = plan.chunked ? AWSChunkedDecoder() : nil
        var signer = plan.chunkSigner
        var chunkHasher = signer != nil ? SHA256() : nil
        var trailers: [String: String] = [:]
        let limit = self.configuration.multipart.maximumPartSize

        for try await buffer in body {
            if decoder == nil {
                try await writer.append(buffer, sha256: &sha256)
            } else {
                if sha256 != nil { buffer.withUnsafeReadableBytes { sha256!.update(bufferPointer: $0) } }
                do {
                    try buffer.withUnsafeReadableBytes { bytes in
                        try decoder!.feed(bytes) { event in
                            switch event {
                            case .data(let data):
                                if chunkHasher != nil { chunkHasher!.update(bufferPointer: data) }
                                try writer.append(data)
                            case .chunkEnd(_, let signature):
                                if signer != nil {
                                    let digest = chunkHasher!.finalize()
                                    chunkHasher = SHA256()
                                    try signer!.verifyChunk(dataSHA256: digest, signature: signature)
                                }
                            case .trailer(let name, let value):
                                trailers[name] = value
                            }
                        }
                    }
                } catch let error as AWSChunkedDecoder.DecodingError {
                    throw S3Error(.incompleteBody, "The request body is not valid aws-chunked encoding: \(error.reason)")
                }
            }
            if writer.size > limit {
                throw S3Error(.entityTooLarge, "Your proposed upload exceeds the maximum allowed size", details: [("MaxSizeAllowed", String(limit))])
            }
        }
        if let decoder, !decoder.isComplete {
            throw S3Error(.incompleteBody, "You did not provide the number of bytes specified by the Content-Length HTTP header")
        }
        if let declared = plan.declaredLength, declared != writer.size {
            throw S3Error(.incompleteBody, "You did not provide the number of bytes specified by the Content-Length HTTP header")
        }
        if let signer, let trailerSignature = trailers["x-amz-trailer-signature"] {
            var text = ""
            for algorithm in plan.trailerChecksums.sorted(by: { $0.rawValue < $1.rawValue }) {
                if let value = trailers[algorithm.headerName] { text += "\(algorithm.headerName):\(value)\n" }
            }
            try signer.verifyTrailer(text: text, signature: trailerSignature)
        }
        let digests = try await writer.finish()
        if let expected = plan.expectedSHA256 {
            let computed = (sha256.map { Array($0.finalize()) } ?? digests.sha256).map { String(format: "%02x", $0) }.joined()
            guard computed == expected else {
                throw S3Error(
                    .xAmzContentSHA256Mismatch, "The provided 'x-amz-content-sha256' header does not match what was computed.",
                    details: [("ClientComputedContentSHA256", expected), ("S3ComputedContentSHA256", computed)]
                )
            }
        }
        if let md5 = plan.contentMD5, md5 != digests.md5Base64 {
            throw S3Error(.badDigest, "The Content-MD5 you specified did not match what we received.",
                          details: [("ExpectedDigest", md5), ("CalculatedDigest", digests.md5Base64)])
        }
        var sent = plan.headerChecksums
        for algorithm in plan.trailerChecksums {
            guard let value = trailers[algorithm.headerName] else {
                throw S3Error(.invalidRequest, "The trailer \(algorithm.headerName) announced in x-amz-trailer is missing.")
            }
            sent[algorithm] = value
        }
        for (algorithm, value) in sent where digests.checksums[algorithm] != value {
            throw S3Error(.badDigest, "The \(algorithm.rawValue) you specified did not match the calculated checksum.")
        }
        try writer.commit()
        return IngestedBody(blob: writer.name, digests: digests, sentChecksums: sent)
    }
}

/// The chain of chunk signatures of `STREAMING-AWS4-HMAC-SHA256-PAYLOAD`: each chunk's
/// signature covers its data's SHA-256 and the previous signature, starting from the request's.
struct ChunkSignatureChain: Sendable {
    private let key: SymmetricKey
    private let amzDate: String
    private let scope: String
    private var previous: String
    private static let emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    init(secretAccessKey: String, identity: SigV4Identity, amzDate: String) {
        let dateStamp = String(amzDate.prefix(8))
        func hmac(_ key: SymmetricKey, _ text: String) -> SymmetricKey {
            SymmetricKey(data: Data(HMAC<SHA256>.authenticationCode(for: Array(text.utf8), using: key)))
        }
        var key = SymmetricKey(data: Array("AWS4\(secretAccessKey)".utf8))
        key = hmac(key, dateStamp)
        key = hmac(key, identity.region)
        key = hmac(key, identity.service)
        key = hmac(key, "aws4_request")
        self.key = key
        self.amzDate = amzDate
        self.scope = "\(dateStamp)/\(identity.region)/\(identity.service)/aws4_request"
        self.previous = identity.signature
    }

    private static func hex(_ bytes: some Sequence<UInt8>) -> String {
        bytes.map { String(format: "%02x", $0) }.joined()
    }

    mutating func verifyChunk(dataSHA256: SHA256.Digest, signature: String?) throws(S3Error) {
        let stringToSign = "AWS4-HMAC-SHA256-PAYLOAD\n\(self.amzDate)\n\(self.scope)\n\(self.previous)\n\(Self.emptySHA256)\n\(Self.hex(dataSHA256))"
        let expected = Self.hex(HMAC<SHA256>.authenticationCode(for: Array(stringToSign.utf8), using: self.key))
        guard let signature, signature == expected else {
            throw S3Error(.signatureDoesNotMatch, "The request signature we calculated does not match the signature you provided. Check your key and signing method.")
        }
        self.previous = expected
    }

    func verifyTrailer(text: String, signature: String) throws(S3Error) {
        let digest = Self.hex(SHA256.hash(data: Array(text.utf8)))
        let stringToSign = "AWS4-HMAC-SHA256-TRAILER\n\(self.amzDate)\n\(self.scope)\n\(self.previous)\n\(digest)"
        let expected = Self.hex(HMAC<SHA256>.authenticationCode(for: Array(stringToSign.utf8), using: self.key))
        guard signature == expected else {
            throw S3Error(.signatureDoesNotMatch, "The trailer signature we calculated does not match the signature you provided.")
        }
    }
}
