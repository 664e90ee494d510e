import ArgumentParser
import Faults
import Foundation

/// `csvstorm proxy`: the fault proxy in front of an endpoint csvstorm does not run.
struct Proxy: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "A TCP/HTTP fault proxy (Toxiproxy-style) in front of any S3, DynamoDB or SQS endpoint.",
        discussion: """
        Forwards bytes both ways at full speed with back-pressure, names every HTTP/1.1 request it \
        carries (S3 operation, bucket and key; X-Amz-Target for JSON services) and applies the \
        endpoint-outage faults of --plan to the requests they select: status-503 (SlowDown), \
        status-500 (InternalError), reset (TCP RST), hang, latency with jitter, bandwidth, slicing. \
        Fault windows count from the proxy's start. Other kinds of the plan (task, event, ledger, \
        restart faults) act inside the emulator only and are ignored here. See docs/faults.md.

        Examples:
          csvstorm proxy --listen 127.0.0.1:4567 --upstream 127.0.0.1:4566
          csvstorm proxy --listen 127.0.0.1:4567 --upstream 127.0.0.1:4566 --plan scenarios/faults/network.yaml --events faults.jsonl
        """
    )

    @Option(help: "HOST:PORT to listen on (port 0: any free port; the real one is printed).")
    var listen = "127.0.0.1:0"

    @Option(help: "HOST:PORT to forward to.")
    var upstream: String

    @Option(help: "Fault plan YAML (docs/faults.md); without it everything is forwarded.")
    var plan: String?

    @Option(help: "Override the plan's seed.")
    var seed: UInt64?

    @Option(help: "Write every fault window and injected fault here as JSON lines when the proxy stops.")
    var events: String?

    func validate() throws {
        guard Self.hostPort(listen) != nil else { throw ValidationError("--listen '\(listen)' is not HOST:PORT (e.g. 127.0.0.1:4567)") }
        guard Self.hostPort(upstream) != nil else { throw ValidationError("--upstream '\(upstream)' is not HOST:PORT (e.g. 127.0.0.1:4566)") }
    }

    static func hostPort(_ text: String) -> (host: String, port: Int)? {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65_535).contains(port) else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return host.isEmpty ? nil : (host, port)
    }

    func run() async throws {
        let listen = Self.hostPort(self.listen)!
        let upstream = Self.hostPort(self.upstream)!
        let injector: FaultInjector?
        do {
            injector = try plan.map { FaultInjector(plan: try FaultPlan.load(path: $0), seed: seed) }
        } catch {
            throw CommandFailure(message: "\(error)", exitCode: ExitCodes.invalidInput)
        }
        var configuration = FaultProxy.Configuration(upstreamHost: upstream.host, upstreamPort: upstream.port, injector: injector)
        configuration.listenHost = listen.host
        configuration.listenPort = listen.port
        let planText = plan.map { path in
            let faults = injector?.plan.faults ?? []
            let network = faults.filter { $0.kind == .endpointOutage }.count
            return "\(path) (\(faults.count) fault\(faults.count == 1 ? "" : "s"), \(network) applied here; seed \(injector?.seed ?? 0))"
        } ?? "none (forwarding only)"
        let eventsPath = events
        try await FaultProxyService.runUntilSignalled(
            configuration: configuration,
            onListening: { proxy in
                let lines = [
                    "csvstorm proxy: listening on \(proxy.address), forwarding to \(upstream.host):\(upstream.port)",
                    "  plan: \(planText)",
                    "Ctrl-C to stop.",
                ]
                FileHandle.standardOutput.write(Data((lines.joined(separator: "\n") + "\n").utf8))
            },
            onStop: { proxy in
                let s = proxy.statistics
                let requests = s.requests.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
                var summary = "csvstorm proxy: stopped after \(s.connections) connection(s); requests: \(requests.isEmpty ? "none" : requests); faulted: \(s.faultedRequests)"
                if let injector, let eventsPath {
                    do {
                        try Self.writeRecords(injector: injector, elapsed: proxy.elapsed, to: eventsPath)
                        summary += "; fault records in \(eventsPath)"
                    } catch {
                        summary += "; could not write \(eventsPath): \(error)"
                    }
                }
                FileHandle.standardOutput.write(Data((summary + "\n").utf8))
            }
        )
    }

    static func writeRecords(injector: FaultInjector, elapsed: Duration, to path: String) throws {
        injector.advance(to: elapsed)
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        var data = Data()
        for record in injector.takeRecords() {
            data.append(try encoder.encode(record))
            data.append(0x0A)
        }
        try data.write(to: URL(fileURLWithPath: path))
    }
}
