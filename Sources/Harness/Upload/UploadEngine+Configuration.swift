import AWSWire

extension UploadEngine {
    /// How each part (and the object) is protected.
    package enum Checksum: String, Sendable, Hashable, CaseIterable {
        /// `x-amz-checksum-crc32c` on every part (hardware CRC32C, `UNSIGNED-PAYLOAD` signing);
        /// the object's composite checksum (`base64-N`) is verified after completion when S3
        /// returns it. Default.
        case crc32c
        /// `Content-MD5` on every part (the server rejects a mismatch with `BadDigest`; the
        /// body's SHA-256 is signed too); each part's ETag must equal its MD5 in hex and the
        /// object's ETag the MD5 of the part MD5s, `-N`. Costs two hashes per byte.
        case md5
    }

    /// What an abort does to make sure nothing is left behind.
    package struct Abort: Sendable, Hashable {
        /// Abort-then-confirm rounds (each AbortMultipartUpload is itself retried by the retry
        /// strategy; ListParts must then answer NoSuchUpload). Default 3.
        package var rounds: Int
        /// Pause between rounds, doubled each round. Default 200 ms.
        package var pause: Duration

        package init(rounds: Int = 3, pause: Duration = .milliseconds(200)) {
            self.rounds = rounds
            self.pause = pause
        }
    }

    /// Engine settings. Every default is what the CLI uses.
    package struct Configuration: Sendable {
        /// Part size before the automatic raise to stay within 10,000 parts. Default 8 MiB.
        package var partSize: Int
        /// Smallest part size accepted. Default 5 MiB (S3's minimum); tests against a server
        /// configured with a smaller minimum lower it.
        package var minimumPartSize: Int
        /// Parts being sent at once per upload (UploadPart requests in flight, each holding its
        /// buffer). A part read ahead (``readAheadBuffers``) is not counted: it waits for a
        /// permit before it is sent. Default 16.
        package var partsInFlightPerUpload: Int
        /// Parts in flight across all uploads of this engine (UploadPart and PutObject requests,
        /// plus parts being read into a send buffer): the number of send buffers
        /// (``UploadEngine/buffers``). Memory is bounded by (this + ``readAheadBuffers``) × the
        /// largest part size. Default 16.
        package var partsInFlightTotal: Int
        /// Extra part buffers, engine-wide, for reading ahead (``UploadEngine/readAheadBuffers``):
        /// a multipart upload's producer that gets one reads and checksums the upload's next part
        /// while its sends are in flight, then waits for a per-upload permit and a send buffer
        /// (the filled buffer and the empty send buffer trade places, so the count of each kind
        /// never changes). A producer holds at most one, so up to this many uploads read one
        /// part ahead at once; a producer that finds none free reads as without read-ahead
        /// (permit and send buffer first). Sends stay bounded by ``partsInFlightPerUpload`` and
        /// ``partsInFlightTotal``; memory grows by this × the part size. 0: no read-ahead.
        /// Default 1.
        package var readAheadBuffers: Int
        /// Default ``Checksum/crc32c``.
        package var checksum: Checksum
        /// Content-Type of uploaded objects. Default `text/csv`.
        package var contentType: String?
        /// Default ``Abort/init(rounds:pause:)``.
        package var abort: Abort
        /// A source that fits in one part (its exact length, or the bound of a generated stream,
        /// is at most the part size) goes up as one PutObject — one signed request instead of
        /// CreateMultipartUpload + UploadPart + CompleteMultipartUpload — with the same checksum
        /// and retries, and nothing to abort. Larger sources always use multipart. Default true
        /// (as the AWS CLI below its multipart threshold); false: multipart for every size.
        package var singlePartAsPutObject: Bool

        package init(
            partSize: Int = 8 << 20,
            minimumPartSize: Int = S3MultipartLimits.minimumPartSize,
            partsInFlightPerUpload: Int = 16,
            partsInFlightTotal: Int = 16,
            readAheadBuffers: Int = 1,
            checksum: Checksum = .crc32c,
            contentType: String? = "text/csv",
            abort: Abort = Abort(),
            singlePartAsPutObject: Bool = true
        ) {
            self.partSize = partSize
            self.minimumPartSize = minimumPartSize
            self.partsInFlightPerUpload = partsInFlightPerUpload
            self.partsInFlightTotal = partsInFlightTotal
            self.readAheadBuffers = readAheadBuffers
            self.checksum = checksum
            self.contentType = contentType
            self.abort = abort
            self.singlePartAsPutObject = singlePartAsPutObject
        }

        /// Checks the ranges; the message names the setting and the valid range.
        package func validate() throws(UploadError) {
            _ = try PartSizing.partSize(requested: self.partSize, length: .exact(0), minimum: self.minimumPartSize)
            guard (1...10_000).contains(self.partsInFlightPerUpload) else {
                throw .invalidConfiguration("parts in flight per upload must be between 1 and 10000, found \(self.partsInFlightPerUpload)")
            }
            guard (1...10_000).contains(self.partsInFlightTotal) else {
                throw .invalidConfiguration("parts in flight in total must be between 1 and 10000, found \(self.partsInFlightTotal)")
            }
            guard (0...10_000).contains(self.readAheadBuffers) else {
                throw .invalidConfiguration("read-ahead buffers must be between 0 and 10000, found \(self.readAheadBuffers)")
            }
            guard (1...100).contains(self.abort.rounds) else {
                throw .invalidConfiguration("abort rounds must be between 1 and 100, found \(self.abort.rounds)")
            }
        }

        /// The S3 client settings this engine needs on top of the caller's (checksum headers).
        func s3Configuration(_ base: S3Client.Configuration) -> S3Client.Configuration {
            var configuration = base
            switch self.checksum {
            case .crc32c:
                configuration.checksumAlgorithm = .crc32c
                configuration.sendContentMD5 = false
            case .md5:
                configuration.checksumAlgorithm = .none
                configuration.sendContentMD5 = true
            }
            return configuration
        }
    }

    /// One upload to make.
    package struct Request: Sendable {
        package var source: UploadSource
        package var bucket: String
        package var key: String
        /// Overrides ``Configuration/partSize`` for this upload.
        package var partSize: Int?
        /// `x-amz-meta-*` of the object (names without the prefix).
        package var metadata: [String: String]
        /// When the scheduler meant to start it; nil: now.
        package var intendedStart: ContinuousClock.Instant?
        /// An id for the record; nil: a new UUID.
        package var id: String?

        package init(
            source: UploadSource,
            bucket: String,
            key: String,
            partSize: Int? = nil,
            metadata: [String: String] = [:],
            intendedStart: ContinuousClock.Instant? = nil,
            id: String? = nil
        ) {
            self.source = source
            self.bucket = bucket
            self.key = key
            self.partSize = partSize
            self.metadata = metadata
            self.intendedStart = intendedStart
            self.id = id
        }
    }
}
