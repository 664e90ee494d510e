import AWSWire
import ArgumentParser
import AsyncHTTPClient
import Emulator
import Faults
import Foundation

struct FaultsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "faults",
        abstract: "Apply a fault plan to a running emulator, show it, or remove it.",
        discussion: """
        Talks to `csvstorm emulate`'s /_csvstorm/faults (POST and DELETE are SigV4-signed with the \
        emulator's credentials: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, default csvstorm / \
        csvstorm-secret). A plan's windows count from the moment it is applied; applying another \
        replaces it. See docs/faults.md.

        Exit codes: 0 done, 104 invalid plan or arguments, 107 the emulator could not be reached or refused.

        Examples:
          csvstorm faults apply scenarios/faults/network.yaml
          csvstorm faults status --records
          csvstorm faults clear
        """,
        subcommands: [Apply.self, Status.self, Clear.self]
    )

    struct Connection: ParsableArguments {
        @Option(name: .customLong("endpoint-url"), help: "The emulator's endpoint.")
        var endpointURL = "http://127.0.0.1:4566"

        @Option(help: "Signing region.")
        var region = "us-east-1"

        @Option(help: "Give up on an answer after this many seconds.")
        var timeout: Double = 30

        func validate() throws {
            guard self.endpointURL.hasPrefix("http://") || self.endpointURL.hasPrefix("https://") else {
                throw ValidationError("--endpoint-url must be an http:// URL, found '\(self.endpointURL)'")
            }
            guard self.timeout > 0 else { throw ValidationError("--timeout must be more than 0") }
        }

        /// Runs `body` with a client; the HTTP client always shuts down.
        func withClient<T: Sendable>(_ body: (FaultControlClient) async throws -> T) async throws -> T {
            let environment = ProcessInfo.processInfo.environment
            let credentials = AWSCredentials(
                accessKeyId: environment["AWS_ACCESS_KEY_ID"] ?? "csvstorm", secretAccessKey: environment["AWS_SECRET_ACCESS_KEY"] ?? "csvstorm-secret"
            )
            let http = HTTPClient(eventLoopGroupProvider: .singleton)
            let client = FaultControlClient(
                httpClient: http, endpointURL: self.endpointURL, credentials: credentials, region: self.region,
                timeout: .milliseconds(Int64(self.timeout * 1000))
            )
            let result: Result<T, any Error>
            do {
                result = .success(try await body(client))
            } catch {
                result = .failure(error)
            }
            try? await http.shutdown()
            switch result {
            case .success(let value): return value
            case .failure(let error as CommandFailure): throw error
            case .failure(let error):
                throw CommandFailure(message: "cannot reach the emulator at \(self.endpointURL): \(error)", exitCode: ExitCodes.internalError)
            }
        }
    }

    struct Apply: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Check a plan, then put it in force (its windows start now).")

        @Argument(help: "The plan (YAML): a mapping with seed and faults, or a list of faults.")
        var plan: String

        @Option(help: "Override the plan's seed.")
        var seed: UInt64?

        @OptionGroup var connection: Connection

        func run() async throws {
            // Checked here first: a mistake names file:line:column and nothing is sent.
            let parsed: FaultPlan
            do {
                parsed = try FaultPlan.load(path: self.plan)
            } catch {
                throw CommandFailure(message: "\(error)", exitCode: ExitCodes.invalidInput)
            }
            let yaml: String
            do {
                yaml = try String(contentsOfFile: self.plan, encoding: .utf8)
            } catch {
                throw CommandFailure(message: "cannot read \(self.plan): \(error)", exitCode: ExitCodes.invalidInput)
            }
            let answer = try await self.connection.withClient { try await $0.apply(yaml: yaml, file: self.plan, seed: self.seed) }
            guard answer.status == 200 else {
                let code: Int32 = answer.status == 400 && answer.document["__type"]?.stringValue == "InvalidFaultPlan" ? ExitCodes.invalidInput : ExitCodes.internalError
                throw CommandFailure(message: "the emulator refused the plan (\(answer.status)): \(answer.message ?? "\(answer.document)")", exitCode: code)
            }
            print("faults: applied \(self.plan) (\(parsed.faults.count) fault\(parsed.faults.count == 1 ? "" : "s"), seed \(self.seed ?? parsed.seed)) to \(self.connection.endpointURL)")
            print(FaultsCommand.describe(answer.document, records: false))
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show the plan in force: its faults, open windows, counts and records.")

        @Flag(help: "Also print the records (one JSON object a line, as in events.jsonl).")
        var records = false

        @Flag(help: "Print the emulator's JSON answer as it is.")
        var json = false

        @OptionGroup var connection: Connection

        func run() async throws {
            let answer = try await self.connection.withClient { client -> FaultControlClient.Answer in
                var answer = try await client.status()
                guard self.records, answer.status == 200 else { return answer }
                // Follow the pages so every record is printed.
                var all = answer.document["records"]?.arrayValue ?? []
                var next = answer.document["nextRecord"]?.intValue ?? all.count
                for _ in 0..<10_000 {
                    let page = try await client.status(after: next)
                    let more = page.document["records"]?.arrayValue ?? []
                    if more.isEmpty { break }
                    all += more
                    next = page.document["nextRecord"]?.intValue ?? (next + more.count)
                }
                if case .object(var object) = answer.document {
                    object["records"] = .array(all)
                    answer.document = .object(object)
                }
                return answer
            }
            guard answer.status == 200 else {
                throw CommandFailure(message: "the emulator answered \(answer.status): \(answer.message ?? "\(answer.document)")", exitCode: ExitCodes.internalError)
            }
            if self.json {
                print(String(decoding: answer.document.serialized(), as: UTF8.self))
            } else {
                print(FaultsCommand.describe(answer.document, records: self.records))
            }
        }
    }

    struct Clear: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove the plan in force (prints its final counts).")

        @OptionGroup var connection: Connection

        func run() async throws {
            let answer = try await self.connection.withClient { try await $0.clear() }
            guard answer.status == 200 else {
                throw CommandFailure(message: "the emulator refused (\(answer.status)): \(answer.message ?? "\(answer.document)")", exitCode: ExitCodes.internalError)
            }
            if answer.document["cleared"]?.boolValue == true {
                print("faults: cleared \(answer.document["source"]?.stringValue ?? "the plan")")
                print(FaultsCommand.describe(answer.document, records: false))
            } else {
                print("faults: no plan was in force")
            }
        }
    }

    /// Lines for people: the plan, each fault with its window and counts, and optionally the records.
    static func describe(_ status: JSONValue, records: Bool) -> String {
        guard status["source"] != nil else { return "no fault plan in force" }
        var lines: [String] = []
        let elapsed = status["elapsedSeconds"].flatMap { value -> Double? in if case .number(let n) = value { return n } else { return nil } } ?? 0
        lines.append("plan \(status["source"]?.stringValue ?? "?"), seed \(status["seed"]?.stringValue ?? "?"), \(String(format: "%.1f", elapsed)) s since applied\(status["pipelineDown"]?.boolValue == true ? ", pipeline DOWN" : "")")
        for fault in status["faults"]?.arrayValue ?? [] {
            var when = ""
            switch fault["window"] {
            case .string(let text)?: when = text
            case .object(let window)?: when = "at \(Self.number(window["at"]))s for \(Self.number(window["duration"]))s"
            default:
                if fault["at"] != nil { when = "at \(Self.number(fault["at"]))s, down \(Self.number(fault["downtime"]))s" }
            }
            let open = fault["open"]?.boolValue == true ? "open" : "closed"
            lines.append("  [\(fault["fault"]?.intValue ?? 0)] \(fault["kind"]?.stringValue ?? "?") \(when) (\(open)): matched \(fault["matched"]?.intValue ?? 0), injected \(fault["injected"]?.intValue ?? 0)\(fault["source"]?.stringValue.map { "  — \($0)" } ?? "")")
        }
        if let warning = status["warning"]?.stringValue { lines.append("  warning: \(warning)") }
        if records {
            for record in status["records"]?.arrayValue ?? [] {
                lines.append(String(decoding: record.serialized(), as: UTF8.self))
            }
        }
        return lines.joined(separator: "\n")
    }

    static func number(_ value: JSONValue?) -> String {
        guard case .number(let n)? = value else { return "?" }
        return n.rounded() == n ? String(Int(n)) : String(format: "%.3f", n)
    }
}
