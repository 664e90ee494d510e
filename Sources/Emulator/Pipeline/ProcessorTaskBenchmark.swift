import Foundation
import SyntheticData

/// `csvstorm bench process --task`: one pipeline task end to end on the emulator's store — read
/// the raw object from its blob file, validate and scrub, write the output blob (with its MD5,
/// the ETag), commit the processed version — with no simulated launch latency or run time. This
/// is what "at least 300 MB/s of CSV per task on one core" is about.
package enum ProcessorTaskBenchmark {
    package struct Run: Sendable, Codable {
        package var seconds: Double
        package var cpuSeconds: Double
        package var megabytesPerSecond: Double
        package var megabytesPerCPUSecond: Double
    }

    package static func run(schemaPath: String, bytes: Int, repeats: Int, chunkBytes: Int, log: @Sendable (String) -> Void) async throws -> [Run] {
        let schema = try SchemaLoader.load(path: schemaPath)
        let directory = NSTemporaryDirectory() + "csvstorm-task-bench-" + UUID().uuidString.prefix(8).lowercased()
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try MetadataStore(path: directory + "/metadata.sqlite", synchronousFull: false)
        let blobs = try BlobStore(root: directory, fsync: false)
        let buckets = EmulatorConfiguration.Buckets()
        let now = Date()
        _ = try await store.createBucket(BucketRecord(name: buckets.raw, createdAt: now, versioningEnabled: true, objectLockEnabled: false, retentionSeconds: nil))
        for name in [buckets.processed, buckets.failed] {
            _ = try await store.createBucket(BucketRecord(name: name, createdAt: now, versioningEnabled: true, objectLockEnabled: true, retentionSeconds: 3600))
        }
        let io = ObjectIO(store: store, blobs: blobs, region: "us-east-1", accountId: "000000000000", onObjectCreated: {})
        // The input, streamed from the generator into a raw object (never whole in memory).
        let writer = try io.makeWriter(bucket: buckets.raw, key: "bench/input.csv")
        let recipe = try DatasetGenerator.write(schema: schema, recipe: DatasetRecipe(schema: schema, seed: 42, size: .bytes(bytes)), threads: 2) { slice in
            try? writer.write(slice)
        }
        let input = try await writer.publish(contentType: "text/csv")
        log("wrote \(input.size) bytes (\(recipe.rows) rows) of \(schema.name) as s3://\(buckets.raw)/bench/input.csv")
        let counters = PipelineCounters()
        let task = ProcessorTask(
            io: io, buckets: buckets, configuration: .init(schemas: [schema], duration: .fixed(0), chunkBytes: chunkBytes), counters: counters
        )
        var runs: [Run] = []
        for index in 0..<max(1, repeats) {
            let event = ObjectCreatedEvent(
                time: now, region: "us-east-1", account: "000000000000", bucket: buckets.raw, key: "bench/input.csv", size: input.size,
                etag: input.etag, versionId: input.versionId, sequencer: ObjectRecord.sequencer(Int64(1_000 + index)), requestId: "bench",
                reason: .putObject, requester: "000000000000", sourceIPAddress: "127.0.0.1"
            )
            let clock = ContinuousClock()
            let cpuStart = Self.processCPUSeconds()
            let start = clock.now
            let exit = await task.run(event, fault: nil)
            let elapsed = (clock.now - start).seconds
            let cpu = Self.processCPUSeconds() - cpuStart
            guard exit.code == 0 else { throw BenchmarkError(message: "the task failed: exit \(exit.code): \(exit.reason)") }
            let run = Run(
                seconds: elapsed, cpuSeconds: cpu, megabytesPerSecond: Double(input.size) / 1e6 / elapsed,
                megabytesPerCPUSecond: Double(input.size) / 1e6 / max(cpu, 1e-9)
            )
            runs.append(run)
            log(String(format: "task %d: %.3f s wall, %.3f s CPU: %.0f MB/s wall, %.0f MB/s per CPU-second", index + 1, elapsed, cpu, run.megabytesPerSecond, run.megabytesPerCPUSecond))
        }
        return runs
    }

    /// CPU time of the whole process (the task hops threads between awaits).
    static func processCPUSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6 + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
    }
}
