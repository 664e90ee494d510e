#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `csvstorm bench proxy`: the same upload to the same server, directly and through a
/// ``FaultProxy`` with no fault active (the proxy still sniffs and classifies every request),
/// alternating in one run, so the two figures share the machine's state.
///
/// The upload itself is the caller's (`upload(endpoint)`: the CLI runs `csvstorm upload` as
/// a child process against an in-process S3 sink); this type owns the proxy, the alternation
/// and the arithmetic.
package struct ProxyBenchmark: Sendable {
    package struct Configuration: Sendable {
        /// The server both paths end at.
        package var upstreamHost = "127.0.0.1"
        package var upstreamPort: Int
        /// Rounds; each uploads once directly and once through the proxy. Default 3.
        package var rounds = 3
        /// Passed to ``FaultProxy/Configuration/socketBufferBytes``.
        package var socketBufferBytes: Int?
        /// Passed to ``FaultProxy/Configuration/zeroCopy``.
        package var zeroCopy = true

        package init(upstreamPort: Int) {
            self.upstreamPort = upstreamPort
        }
    }

    /// One upload as measured by the caller.
    package struct Measurement: Sendable, Codable, Equatable {
        package var bytes: Int
        package var wallSeconds: Double
        /// CPU seconds of the uploading client (user + system).
        package var clientCPUSeconds: Double
        /// CPU seconds of this process (sink, and proxy when used) during the upload.
        package var serverCPUSeconds: Double

        package init(bytes: Int, wallSeconds: Double, clientCPUSeconds: Double, serverCPUSeconds: Double) {
            self.bytes = bytes
            self.wallSeconds = wallSeconds
            self.clientCPUSeconds = clientCPUSeconds
            self.serverCPUSeconds = serverCPUSeconds
        }

        /// MB/s (10^6 bytes).
        package var megabytesPerSecond: Double { Double(bytes) / wallSeconds / 1e6 }
    }

    package struct Run: Sendable, Codable, Equatable {
        package var path: String  // "direct" or "proxy"
        package var round: Int
        package var measurement: Measurement
    }

    package struct Report: Sendable, Codable, Equatable {
        package var runs: [Run]
        /// Bytes the proxy read from clients and from the server over the whole benchmark.
        package var proxyBytesFromClients: Int
        package var proxyBytesFromUpstream: Int
        package var proxyRequests: [String: Int]
        /// Client bytes the proxy forwarded with splice(2) (zero-copy), of ``proxyBytesFromClients``.
        package var proxySplicedBytes: Int = 0

        package func runs(_ path: String) -> [Run] { runs.filter { $0.path == path } }

        /// Median MB/s of a path.
        package func median(_ path: String) -> Double {
            let values = runs(path).map(\.measurement.megabytesPerSecond).sorted()
            guard !values.isEmpty else { return 0 }
            return values.count % 2 == 1 ? values[values.count / 2] : (values[values.count / 2 - 1] + values[values.count / 2]) / 2
        }

        /// Best MB/s of a path.
        package func best(_ path: String) -> Double { runs(path).map(\.measurement.megabytesPerSecond).max() ?? 0 }

        /// Proxy median / direct median.
        package var ratio: Double {
            let direct = median("direct")
            return direct > 0 ? median("proxy") / direct : 0
        }

        /// Extra CPU seconds per GiB of this process when going through the proxy (medians).
        package var proxyCPUSecondsPerGiB: Double {
            func perGiB(_ path: String) -> Double {
                let values = runs(path).map { $0.measurement.serverCPUSeconds / (Double($0.measurement.bytes) / Double(1 << 30)) }.sorted()
                return values.isEmpty ? 0 : values[values.count / 2]
            }
            return perGiB("proxy") - perGiB("direct")
        }
    }

    package let configuration: Configuration

    package init(configuration: Configuration) {
        self.configuration = configuration
    }

    /// Alternates direct and proxied uploads (the order flips every round); `log` gets a line per run.
    package func run(
        log: @Sendable (String) -> Void,
        upload: (_ endpoint: String) async throws -> Measurement
    ) async throws -> Report {
        let c = configuration
        let direct = "http://\(c.upstreamHost):\(c.upstreamPort)"
        var proxyConfiguration = FaultProxy.Configuration(upstreamHost: c.upstreamHost, upstreamPort: c.upstreamPort)
        proxyConfiguration.socketBufferBytes = c.socketBufferBytes
        proxyConfiguration.zeroCopy = c.zeroCopy
        return try await FaultProxy.withFaultProxy(configuration: proxyConfiguration) { proxy in
            let proxied = "http://127.0.0.1:\(proxy.port)"
            var runs: [Run] = []
            for round in 1...max(1, c.rounds) {
                let order = round % 2 == 1 ? [("direct", direct), ("proxy", proxied)] : [("proxy", proxied), ("direct", direct)]
                for (path, endpoint) in order {
                    let m = try await upload(endpoint)
                    runs.append(Run(path: path, round: round, measurement: m))
                    log(
                        "\(path) #\(round): \(Self.format(m.megabytesPerSecond, 1)) MB/s (wall \(Self.format(m.wallSeconds, 2)) s, client CPU \(Self.format(m.clientCPUSeconds, 2)) s, this process CPU \(Self.format(m.serverCPUSeconds, 2)) s)"
                    )
                }
            }
            let stats = proxy.statistics
            return Report(
                runs: runs, proxyBytesFromClients: stats.bytesFromClients, proxyBytesFromUpstream: stats.bytesFromUpstream, proxyRequests: stats.requests,
                proxySplicedBytes: stats.splicedBytes
            )
        }
    }

    /// User + system CPU seconds of this process so far.
    package static func ownCPUSeconds() -> Double {
        var usage = rusage()
        #if os(Linux)
        getrusage(RUSAGE_SELF.rawValue, &usage)
        #else
        getrusage(RUSAGE_SELF, &usage)
        #endif
        return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6 + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
    }

    static func format(_ value: Double, _ digits: Int) -> String {
        let scale = [1.0, 10, 100, 1000][min(3, digits)]
        let rounded = (value * scale).rounded() / scale
        return "\(rounded)"
    }
}
