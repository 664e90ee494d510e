// swift-tools-version:6.1
import PackageDescription

/// One set of settings for every target: Swift 6 language mode (strict concurrency) and
/// `any` spelled out for existentials. CI sets CSVSTORM_WARNINGS_AS_ERRORS=1 so that our
/// own targets (not the dependencies) build with `-warnings-as-errors`.
var swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]
if Context.environment["CSVSTORM_WARNINGS_AS_ERRORS"] == "1" {
    swiftSettings.append(.unsafeFlags(["-warnings-as-errors"]))
}

let package = Package(
    name: "csvstorm",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "csvstorm", targets: ["csvstorm"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
    ],
    targets: [
        // Pure: schema, seekable PRNG, PII generators, CSV encoding, dataset recipe.
        // Yams only parses schema files (with line/column marks for errors); no I/O beyond reading them.
        .target(
            name: "SyntheticData",
            dependencies: [
                .product(name: "Yams", package: "Yams"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        // Hardware CRC32C (SSE4.2 / ARMv8 CRC) with a portable fallback.
        .target(name: "CCRC32C"),
        // MD5 for ETags: a scalar block function and multi-buffer AVX2 (8 lanes) / AVX-512 (16
        // lanes) kernels that hash several request bodies at once (runtime dispatch).
        .target(name: "CDigest"),
        // What the Glibc module does not export: O_DIRECT, Linux native AIO (the emulator's blob writes), mallopt.
        .target(name: "CSystemExtras"),
        // SigV4, credentials, S3 client, retry strategy, AWS error model.
        .target(
            name: "AWSWire",
            dependencies: [
                "CCRC32C",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // Fault plans (YAML, seeded decisions, records) and the TCP/HTTP fault proxy. The plan,
        // injector and request classification are pure value code (Yams only); NIO is for the proxy.
        .target(
            name: "Faults",
            dependencies: [
                .product(name: "Yams", package: "Yams"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // The emulated pipeline: S3 endpoint, event bus, workflow, task launcher, processor,
        // ledger, queue. Hummingbird for HTTP, GRDB (SQLite, WAL) for state.
        .target(
            name: "Emulator",
            dependencies: [
                "AWSWire",
                "SyntheticData",
                // CRC-32/CRC-32C (PCLMUL/SSE4.2) and multi-buffer MD5 for request bodies.
                "CCRC32C",
                "CDigest",
                "CSystemExtras",
                // Fault plans: the endpoint's outage hook, the pipeline's hooks, /_csvstorm/faults.
                "Faults",
                .product(name: "Hummingbird", package: "hummingbird"),
                // The S3 face uses HummingbirdCore's server directly: it needs the ResponseWriter to
                // answer `Expect: 100-continue` only once a request is authorized.
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        // Upload engine, scenario model, metrics, audit, results.
        .target(
            name: "Harness",
            dependencies: [
                "SyntheticData",
                "AWSWire",
                // `csvstorm run` starts the embedded emulated pipeline and applies fault plans.
                "Emulator",
                "Faults",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                // MD5 for Content-MD5 mode (part ETags, md5-of-md5s); HTTP/1 for the benchmark's S3 sink;
                // UnixSignals for the SIGINT/SIGTERM of the ServiceGroup that runs one-shot commands.
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                // Scenario files (YAML with line/column marks); latency histograms.
                .product(name: "Yams", package: "Yams"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ],
            swiftSettings: swiftSettings
        ),
        // The CLI: parses arguments, calls Harness, holds no logic.
        .executableTarget(
            name: "csvstorm",
            dependencies: [
                "Harness",
                "Emulator",
                "SyntheticData",
                "AWSWire",
                "Faults",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SyntheticDataTests",
            dependencies: ["SyntheticData"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "AWSWireTests",
            dependencies: [
                "AWSWire",
                "TestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            swiftSettings: swiftSettings
        ),
        // Test fixtures shared by the test targets (moto_server, scoped HTTP client).
        .target(
            name: "TestSupport",
            dependencies: [
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            path: "Tests/TestSupport",
            swiftSettings: swiftSettings
        ),
        // Runs the real binary, as a user would.
        .testTarget(
            name: "CLITests",
            dependencies: ["csvstorm", "TestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "EmulatorTests",
            dependencies: [
                "Emulator",
                // The MD5 kernels, each checked against swift-crypto's MD5.
                "CDigest",
                // The child-process runner (Tools.run).
                "TestSupport",
                "Faults",
                "AWSWire",
                "SyntheticData",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                // SHA-256 for the aws-chunked signature example.
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "HarnessTests",
            dependencies: [
                "Harness",
                // The shipped scenarios' fault sections are checked with the Faults parser.
                "Faults",
                "TestSupport",
                "Emulator",
                "SyntheticData",
                "AWSWire",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                // SHA-256 of downloads; HTTP/1 for the fault-injecting proxy in front of moto.
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "FaultsTests",
            dependencies: [
                "Faults",
                "AWSWire",
                "TestSupport",
                .product(name: "Yams", package: "Yams"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                // A tiny HTTP upstream behind the proxy; a real client in front of it.
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
