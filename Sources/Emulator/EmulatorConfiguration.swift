import Foundation
import Logging

/// Everything the emulator needs to start. Defaults are what `csvstorm emulate` uses.
package struct EmulatorConfiguration: Sendable {
    /// Where the S3 endpoint listens.
    package struct Listener: Sendable {
        /// Default `127.0.0.1`: the emulator speaks plain HTTP and is for this machine only.
        package var host: String
        /// Default 4566 (LocalStack's port, which many tools already assume); 0 picks a free port.
        package var port: Int

        package init(host: String = "127.0.0.1", port: Int = 4566) {
            self.host = host
            self.port = port
        }
    }

    /// The only credentials the endpoint accepts (every request is SigV4-verified).
    package struct Credentials: Sendable, Hashable {
        package var accessKeyId: String
        package var secretAccessKey: String

        package init(accessKeyId: String = "csvstorm", secretAccessKey: String = "csvstorm-secret") {
            self.accessKeyId = accessKeyId
            self.secretAccessKey = secretAccessKey
        }
    }

    /// Where objects and metadata live.
    package enum StateDirectory: Sendable, Hashable {
        /// A fresh directory under the system temporary directory, removed on shutdown.
        case temporary
        /// A directory that is kept: a later start on it sees every acknowledged object and
        /// every in-progress upload.
        case path(String)
    }

    /// The pipeline's buckets, created (idempotently) at start.
    package struct Buckets: Sendable, Hashable {
        /// Uploads land here (versioned). Default `raw`.
        package var raw: String
        /// Processor output (versioned, Object Lock in compliance mode). Default `processed`.
        package var processed: String
        /// Rejected input and diagnostics (versioned, Object Lock in compliance mode). Default `failed`.
        package var failed: String
        /// Default retention of a new version in `processed` and `failed`. Default 1 day.
        package var retention: Duration

        package init(raw: String = "raw", processed: String = "processed", failed: String = "failed", retention: Duration = .seconds(86_400)) {
            self.raw = raw
            self.processed = processed
            self.failed = failed
            self.retention = retention
        }
    }

    /// Multipart limits. Defaults are S3's.
    package struct Multipart: Sendable, Hashable {
        /// Smallest part except the last. S3: 5 MiB; lower it in tests (like moto's S3_UPLOAD_PART_MIN_SIZE).
        package var minimumPartSize: Int64
        /// Largest part, and largest PutObject body. S3: 5 GiB.
        package var maximumPartSize: Int64
        /// How long a repeated, identical CompleteMultipartUpload still gets the first answer
        /// (S3 does this for a while after completion). Default 15 minutes.
        package var completionGracePeriod: Duration

        package init(minimumPartSize: Int64 = 5 << 20, maximumPartSize: Int64 = 5 << 30, completionGracePeriod: Duration = .seconds(900)) {
            self.minimumPartSize = minimumPartSize
            self.maximumPartSize = maximumPartSize
            self.completionGracePeriod = completionGracePeriod
        }
    }

    /// What an acknowledged write survives.
    package enum Durability: Sendable, Hashable {
        /// A crash of the emulator process (kill -9): data is in the page cache, metadata is
        /// committed to the WAL before the answer. No fsync on the request path. Default.
        case processCrash
        /// Also a power loss or kernel crash: object files (and their directory) are fsynced,
        /// and SQLite runs with `synchronous=FULL`. Slower.
        case powerLoss
    }

    package var listener: Listener
    package var credentials: Credentials
    /// The region the endpoint claims (the `Location`, ARNs, events). Requests signed for any
    /// region are accepted, as S3 redirects rather than rejects. Default `us-east-1`.
    package var region: String
    /// The account id in events and ARNs. Default `000000000000`.
    package var accountId: String
    package var stateDirectory: StateDirectory
    package var buckets: Buckets
    package var multipart: Multipart
    package var durability: Durability
    /// Whether a body signed with a hex `x-amz-content-sha256` is hashed and checked
    /// (`XAmzContentSHA256Mismatch`), as S3 does. Default true; turning it off saves one SHA-256
    /// pass per byte and is only for measurements.
    package var verifyPayloadSHA256: Bool
    /// Whether plain (not aws-chunked) bodies get their MD5 (and a signed payload's SHA-256) on
    /// the shared ``BodyDigestEngine`` (its own thread; concurrent bodies in SIMD lanes) rather
    /// than on each request's task. Default true; off only to measure the difference
    /// (`csvstorm emulate --no-batched-md5`).
    package var batchedMD5: Bool
    /// Whether request bodies declared 1 MiB or longer are written with `O_DIRECT` (through an
    /// aligned staging buffer) rather than copied into the page cache, where the state
    /// directory's file system allows it: 0.1–0.2 CPU-s less per GiB received while dirty pages
    /// pile up under sustained ingest (see ``DirectWrites``). Default true; off to compare
    /// (`csvstorm emulate --no-direct-writes`).
    package var directWrites: Bool = true
    /// Whether those direct writes are submitted with Linux native AIO, up to four per body in
    /// flight (see ``DirectWriteQueue``), so that receiving a body does not wait for the device
    /// after each 256 KiB. Default true; off to compare
    /// (`csvstorm emulate --synchronous-direct-writes`); without native AIO, synchronous anyway.
    package var asynchronousDirectWrites: Bool = true
    /// Up to how many request bodies (of 1 MiB and more) in flight at once a new one is read from
    /// its socket up to 256 KiB at a time instead of NIO's 64 KiB: fewer reads, 0.2–0.3 CPU-s
    /// less per GiB for awscli (2.84–2.88 against 3.08–3.14 with 1). Each such body holds up to
    /// about 1 MiB more (Hummingbird buffers four reads per body): with 100 concurrent 100 MiB
    /// uploads, peak RSS 176–182 MiB with 16 against 163–166 with 1, and 336 with 100. Default
    /// 16 (awscli sends 10 parts at once); 0: never.
    package var largeReadBodies: Int {
        get { self.largeReads.limit }
        set { self.largeReads = LargeReads(limit: max(0, newValue)) }
    }
    /// The count behind ``largeReadBodies`` (one per configuration, shared by its server).
    package private(set) var largeReads = LargeReads(limit: 16)
    /// How many recent events ``Emulator/events`` keeps in memory. Default 100,000.
    package var eventHistoryLimit: Int
    /// Request-path logging is at debug and below (STYLE 15). Default: a logger at `.info`.
    package var logger: Logger
    /// The pipeline behind the endpoint (events → workflow → tasks → processor, ledger,
    /// RetryQueue, their wire APIs). nil: the S3 face only (events go to the event sink).
    /// Default nil for the library; `csvstorm emulate` and `csvstorm run` turn it on.
    package var pipeline: PipelineConfiguration?
    /// A fault plan in force from the start (`csvstorm run` hands its run's injector and clock
    /// here): the endpoint, the pipeline's hooks and pipeline restarts follow it. Default nil;
    /// `POST /_csvstorm/faults` applies one later.
    package var faults: FaultInjection?

    /// The default logger of an embedded emulator: warnings and errors only, so that a harness
    /// run or a test prints nothing on its behalf unless something is wrong (`csvstorm emulate`
    /// sets its own level: info, or debug with -v).
    package static var quietLogger: Logger {
        var logger = Logger(label: "csvstorm.emulator")
        logger.logLevel = .warning
        return logger
    }

    package init(
        listener: Listener = .init(),
        credentials: Credentials = .init(),
        region: String = "us-east-1",
        accountId: String = "000000000000",
        stateDirectory: StateDirectory = .temporary,
        buckets: Buckets = .init(),
        multipart: Multipart = .init(),
        durability: Durability = .processCrash,
        verifyPayloadSHA256: Bool = true,
        batchedMD5: Bool = true,
        eventHistoryLimit: Int = 100_000,
        logger: Logger = EmulatorConfiguration.quietLogger,
        pipeline: PipelineConfiguration? = nil,
        faults: FaultInjection? = nil
    ) {
        self.listener = listener
        self.credentials = credentials
        self.region = region
        self.accountId = accountId
        self.stateDirectory = stateDirectory
        self.buckets = buckets
        self.multipart = multipart
        self.durability = durability
        self.verifyPayloadSHA256 = verifyPayloadSHA256
        self.batchedMD5 = batchedMD5
        self.eventHistoryLimit = eventHistoryLimit
        self.logger = logger
        self.pipeline = pipeline
        self.faults = faults
    }
}
