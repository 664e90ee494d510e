import TestSupport
import AWSWire
import AsyncHTTPClient
import Emulator
import Foundation
import SyntheticData
import Testing

@testable import Harness

/// csvstorm's uploader against csvstorm emulate, in process: the two halves the `run`
/// command will join. The emulator returns the composite CRC32C, so the whole object is
/// verified, not just the parts.
@Suite("Upload engine against csvstorm emulate", .timeLimit(.minutes(3)))
struct UploadEngineEmulatorTests {
    @Test("A generated dataset arrives byte-identical, verified by composite CRC32C, and emits one Object Created event")
    func generatedUploadIsVerifiedAndAnnounced() async throws {
        let schema = try SchemaLoader.load(path: Fixtures.repositoryRoot + "/generators/customers.yaml")
        let recipe = DatasetRecipe(schema: schema, seed: 11, size: .bytes(900_000))
        var expected: [UInt8] = []
        _ = try DatasetGenerator.write(schema: schema, recipe: recipe, threads: 1) { expected.append(contentsOf: $0) }

        var configuration = EmulatorConfiguration(listener: .init(port: 0))
        configuration.multipart.minimumPartSize = Int64(Fixtures.partSize)
        try await withEmulator(configuration) { endpoint in
            let credentials = AWSCredentials(accessKeyId: endpoint.credentials.accessKeyId, secretAccessKey: endpoint.credentials.secretAccessKey)
            var s3Configuration = try Fixtures.s3Configuration(endpoint: endpoint.url)
            s3Configuration.region = endpoint.region
            let record = try await UploadEngine.withEngine(
                s3Configuration: s3Configuration, configuration: Fixtures.engineConfiguration(), credentials: { credentials }
            ) { engine in
                await engine.upload(.init(source: .generated(schema: schema, recipe: recipe, threads: 2), bucket: endpoint.buckets.raw, key: "in/customers.csv"))
            }
            #expect(record.outcome == .ok, "\(record.failure?.message ?? "")")
            #expect(record.verification == .compositeCRC32C)
            #expect(record.parts.count == PartSizing.partCount(length: expected.count, partSize: Fixtures.partSize))
            #expect(record.versionId != nil, "the raw bucket is versioned")

            let events = try await endpoint.events.wait(timeout: .seconds(10)) { $0.contains { $0.key == "in/customers.csv" } }
            let event = try #require(events.first { $0.key == "in/customers.csv" })
            #expect(event.size == Int64(expected.count))
            #expect("\"\(event.etag)\"" == record.eTag)

            try await withTestHTTPClient { http in
                let s3 = S3Client(httpClient: http, credentials: credentials, configuration: s3Configuration)
                let (digest, count) = try await Fixtures.digest(s3, bucket: endpoint.buckets.raw, key: "in/customers.csv")
                #expect(count == expected.count)
                #expect(digest == Fixtures.sha256(expected))
            }
        }
    }
}
