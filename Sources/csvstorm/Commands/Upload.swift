import AWSWire
import ArgumentParser
import Foundation
import Harness
import SyntheticData

struct Upload: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Upload a file, or a freshly generated dataset, to S3 by multipart upload.",
        discussion: """
        Parts are checksummed (CRC32C by default, hardware accelerated; or Content-MD5) and the server's \
        answer is verified for every part and for the completed object. On failure or Ctrl-C the upload \
        is aborted and the abort confirmed, so nothing is left behind.

        With --generate the dataset streams from the generator straight into the parts (no disk). The \
        object carries its recipe as metadata (x-amz-meta-csvstorm-seed, -schema, -schema-fingerprint, \
        -requested-bytes); --recipe PATH also writes the completed recipe (rows, bytes) to a local file. \
        The recipe is not written to the bucket: in a raw bucket it would start the pipeline like any object.

        Credentials: the AWS chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN, shared \
        files with --profile or AWS_PROFILE, the ECS container endpoint). --endpoint-url implies \
        path-style addressing.

        Exit codes: 0 uploaded and verified, 104 invalid arguments, 105 interrupted (after aborting), \
        107 any other failure (including an unknown outcome).

        Examples:
          csvstorm upload data/customers.csv s3://raw/customers.csv --endpoint-url http://127.0.0.1:4566
          csvstorm upload --generate generators/customers.yaml --size 4GiB --seed 7 s3://raw/c.csv --part-size 16MiB
        """
    )

    @Argument(help: "FILE s3://BUCKET/KEY, or only s3://BUCKET/KEY with --generate.")
    var paths: [String] = []

    @Option(help: "Generate the data from this schema YAML instead of reading a file.")
    var generate: String?

    @Option(help: "With --generate: the size (stops at the first row boundary at or past it; \(ByteSize.unitNames)).")
    var size: String?

    @Option(help: "With --generate: the seed (an unsigned 64-bit integer).")
    var seed: String = "1"

    @Option(help: "With --generate: generator threads (default: the number of cores).")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    @Option(help: "With --generate: write the completed recipe (JSON) to this local file.")
    var recipe: String?

    @Option(name: .customLong("endpoint-url"), help: "S3 endpoint, e.g. http://127.0.0.1:9000 (path-style addressing).")
    var endpointURL: String?

    @Option(help: "Signing region (default: AWS_REGION, the profile's region, or us-east-1).")
    var region: String?

    @Option(help: "Profile of the shared credentials/config files (default: AWS_PROFILE or default).")
    var profile: String?

    @Option(help: "Part size (default 8MiB, minimum 5MiB); raised automatically to stay within 10,000 parts.")
    var partSize: String = "8MiB"

    @Option(help: "Parts in flight (default 16).")
    var concurrency: Int = 16

    @Option(help: "Part checksum: crc32c (default) or md5 (Content-MD5; ETags verified).")
    var checksum: String = "crc32c"

    @Option(help: "Write the upload record (JSON: parts, attempts, latencies, outcome) to this file.")
    var record: String?

    @Flag(name: .shortAndLong, help: "No progress bar and no summary line.")
    var quiet = false

    func validate() throws {
        if generate != nil {
            guard paths.count == 1 else {
                throw ValidationError("with --generate give only the destination s3://BUCKET/KEY (found \(paths.count) paths)")
            }
            guard let size else { throw ValidationError("--generate needs --size (e.g. --size 4GiB)") }
            if ByteSize(parsing: size) == nil {
                throw ValidationError("--size '\(size)' is not a size; use a number with a unit: \(ByteSize.unitNames)")
            }
            if UInt64(seed) == nil {
                throw ValidationError("--seed '\(seed)' is not an unsigned 64-bit integer (0…18446744073709551615)")
            }
            if !(1...256).contains(threads) {
                throw ValidationError("--threads must be between 1 and 256, found \(threads)")
            }
        } else {
            guard paths.count == 2 else {
                throw ValidationError("give FILE and s3://BUCKET/KEY (found \(paths.count) paths), or --generate SCHEMA with s3://BUCKET/KEY")
            }
            if size != nil { throw ValidationError("--size only applies with --generate") }
            if recipe != nil { throw ValidationError("--recipe only applies with --generate") }
        }
        do {
            _ = try S3Location(parsing: paths.last!)
        } catch {
            throw ValidationError(error.message)
        }
        guard let part = ByteSize(parsing: partSize) else {
            throw ValidationError("--part-size '\(partSize)' is not a size; use a number with a unit: \(ByteSize.unitNames)")
        }
        guard part.bytes >= S3MultipartLimits.minimumPartSize, part.bytes <= PartSizing.maximumPartSize else {
            throw ValidationError("--part-size must be between 5MiB and 4095MiB, found \(partSize)")
        }
        guard (1...1000).contains(concurrency) else {
            throw ValidationError("--concurrency must be between 1 and 1000, found \(concurrency)")
        }
        guard UploadEngine.Checksum(rawValue: checksum) != nil else {
            throw ValidationError("--checksum '\(checksum)' is not valid; choose crc32c or md5")
        }
    }

    func run() async throws {
        let destination = try S3Location(parsing: paths.last!)
        let connection: S3Connection
        do {
            connection = try S3Connection.resolve(endpointURL: endpointURL, region: region, profile: profile)
        } catch {
            throw CommandFailure(message: "\(error)", exitCode: ExitCodes.invalidInput)
        }
        do {
            _ = try await connection.credentials()
        } catch {
            throw CommandFailure(message: "no AWS credentials: \(error)", exitCode: ExitCodes.invalidInput)
        }

        let source: UploadSource
        var metadata: [String: String] = [:]
        if let generate {
            let schema = try SchemaLoader.load(path: generate)
            let plan = DatasetRecipe(schema: schema, seed: UInt64(seed)!, size: .bytes(ByteSize(parsing: size!)!.bytes))
            source = .generated(schema: schema, recipe: plan, threads: threads)
            metadata = [
                "csvstorm-schema": schema.name,
                "csvstorm-schema-fingerprint": schema.fingerprint,
                "csvstorm-seed": seed,
                "csvstorm-requested-bytes": String(ByteSize(parsing: size!)!.bytes),
            ]
        } else {
            let file = paths[0]
            guard FileManager.default.isReadableFile(atPath: file) else {
                throw CommandFailure(message: "cannot read '\(file)'", exitCode: ExitCodes.invalidInput)
            }
            source = .file(path: file)
        }

        let configuration = UploadEngine.Configuration(
            partSize: ByteSize(parsing: partSize)!.bytes,
            partsInFlightPerUpload: concurrency,
            partsInFlightTotal: concurrency,
            checksum: UploadEngine.Checksum(rawValue: checksum)!
        )
        let request = UploadEngine.Request(source: source, bucket: destination.bucket, key: destination.key, metadata: metadata)
        let showProgress = !quiet && isatty(STDERR_FILENO) == 1
        let s3Configuration = connection.configuration
        let credentials = connection.credentials

        let outcome = try await Interruptible.run {
            await Self.upload(request, s3Configuration: s3Configuration, configuration: configuration, credentials: credentials, showProgress: showProgress)
        }
        let result = outcome.value
        guard let uploaded = result.record else {
            throw CommandFailure(message: result.error ?? "the upload did not run", exitCode: ExitCodes.internalError)
        }
        if let record {
            try uploaded.jsonData().write(to: URL(fileURLWithPath: record))
        }
        if let recipePath = recipe, let finished = uploaded.recipe, uploaded.outcome == .ok {
            try finished.write(to: recipePath)
        }

        switch uploaded.outcome {
        case .ok:
            if !quiet { printError(Self.summary(uploaded, statistics: result.statistics)) }
        case .fail where uploaded.cancelled || outcome.interrupted:
            throw CommandFailure(message: "interrupted; \(Self.abortSummary(uploaded))", exitCode: ExitCodes.aborted)
        case .fail, .unknown:
            let what = uploaded.outcome == .unknown ? "upload outcome unknown" : "upload failed"
            throw CommandFailure(
                message: "\(what): \(uploaded.failure?.message ?? "no reason recorded"); \(Self.abortSummary(uploaded))",
                exitCode: uploaded.cancelled || outcome.interrupted ? ExitCodes.aborted : ExitCodes.internalError
            )
        }
    }

    struct RunResult: Sendable {
        var record: UploadRecord?
        var statistics: RetryStatistics.Snapshot?
        var error: String?
    }

    static func upload(
        _ request: UploadEngine.Request,
        s3Configuration: S3Client.Configuration,
        configuration: UploadEngine.Configuration,
        credentials: @escaping @Sendable () async throws -> AWSCredentials,
        showProgress: Bool
    ) async -> RunResult {
        do {
            return try await UploadEngine.withEngine(s3Configuration: s3Configuration, configuration: configuration, credentials: credentials) { engine in
                let progress = UploadProgress()
                let record = await withTaskGroup(of: UploadRecord?.self) { group in
                    if showProgress {
                        group.addTask { await Self.drawProgress(progress) }
                    }
                    group.addTask { await engine.upload(request, progress: progress) }
                    var record: UploadRecord?
                    while let next = await group.next() {
                        if let next {
                            record = next
                            group.cancelAll()  // stops the progress bar
                        }
                    }
                    return record
                }
                return RunResult(record: record, statistics: engine.retryStatistics.snapshot())
            }
        } catch {
            return RunResult(error: "\(error)")
        }
    }

    /// Redraws the progress line every 100 ms until cancelled.
    static func drawProgress(_ progress: UploadProgress) async -> UploadRecord? {
        var line: ProgressLine?
        while !Task.isCancelled {
            let snapshot = progress.snapshot
            if line == nil, let expected = snapshot.expectedBytes {
                line = ProgressLine(enabled: true, total: expected)
            }
            line?.update(bytes: snapshot.bytesUploaded)
            try? await Task.sleep(for: .milliseconds(100))
        }
        line?.finish()
        return nil
    }

    static func summary(_ record: UploadRecord, statistics: RetryStatistics.Snapshot?) -> String {
        let seconds = max(record.duration, 1e-9)
        let rate = Double(record.bytesUploaded) / seconds / 1e6
        var line = "uploaded \(ByteSize.format(record.bytesUploaded)) (\(record.bytesUploaded) bytes) "
        switch record.method {
        case .putObject:
            // One request, not a multipart upload: no parts to count.
            line += "as one PutObject (the source fits in one \(ByteSize.format(record.partSize)) part)"
        case .multipart:
            line += "in \(record.parts.count) part\(record.parts.count == 1 ? "" : "s") of \(ByteSize.format(record.partSize))"
        }
        line += " to s3://\(record.bucket)/\(record.key) in \(String(format: "%.2f", record.duration)) s, \(String(format: "%.1f", rate)) MB/s"
        line += ", \(record.retries.retries) retries"
        if let statistics, statistics.throttled > 0 { line += " (\(statistics.throttled) throttled)" }
        line += "; verified: \(record.verification?.rawValue ?? "none")"
        if let eTag = record.eTag { line += ", ETag \(eTag)" }
        if let versionId = record.versionId { line += ", version \(versionId)" }
        if let recipe = record.recipe, recipe.rows > 0 { line += "; \(recipe.rows) rows, seed \(recipe.seed)" }
        return line
    }

    static func abortSummary(_ record: UploadRecord) -> String {
        guard let uploadId = record.uploadId else { return "no multipart upload was created" }
        guard let abort = record.abort else { return "upload \(uploadId) was not aborted" }
        if abort.confirmed { return "upload \(uploadId) aborted (confirmed by ListParts)" }
        return "upload \(uploadId) abort NOT confirmed (\(abort.error ?? "unknown")); run `csvstorm uploads clean --bucket \(record.bucket)`"
    }
}
