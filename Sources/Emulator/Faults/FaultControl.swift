import AWSWire
import Faults
import Foundation
import HTTPTypes
import HummingbirdCore
import NIOCore

/// `/_csvstorm/faults`: applies a fault plan to the running emulator, reports it, removes it.
///
/// - `POST /_csvstorm/faults[?file=NAME&seed=N]`, body: the plan YAML (at most 1 MiB). The
///   plan is checked in full first; an invalid one is answered `400 InvalidFaultPlan` with
///   `file:line:column` (`file` defaults to `plan.yaml`) and nothing changes. A valid one replaces
///   any plan in force, and its windows count from this moment. Answers the status.
/// - `GET /_csvstorm/faults[?after=N]`: the plan in force — its faults with their windows, which
///   are open, how many requests each matched and hit — and its records from index `N`
///   (at most 1,000 per answer; `nextRecord` is where to continue).
/// - `DELETE /_csvstorm/faults`: removes the plan; answers its final statistics and records.
///
/// POST and DELETE must be SigV4-signed with the emulator's credentials (any region, any
/// service name; the body's SHA-256 is computed here, and a `x-amz-content-sha256` header
/// must match it). GET is read-only and, like `/_csvstorm/health`, needs no signature.
struct FaultControl: Sendable {
    static let path = "/_csvstorm/faults"
    static let recordPage = 1000

    let faults: EmulatorFaults
    let verifier: SigV4Verifier
    /// The pipeline, when one runs (pipeline-side kinds act only then).
    let pipeline: Pipeline?

    init(faults: EmulatorFaults, credentials: EmulatorConfiguration.Credentials, pipeline: Pipeline?) {
        self.faults = faults
        self.pipeline = pipeline
        self.verifier = SigV4Verifier(configuration: .init(mode: .standard)) { accessKeyId in
            accessKeyId == credentials.accessKeyId ? credentials.secretAccessKey : nil
        }
    }

    func handle(_ request: S3Request, body: RequestBody) async -> JSONProtocolResponse {
        switch request.method {
        case .get, .head:
            let after = request.query["after"].flatMap(Int.init) ?? 0
            guard after >= 0 else { return Self.error(400, "ValidationException", "after must be ≥ 0") }
            return .ok(self.status(after: after))
        case .post:
            var buffer: ByteBuffer
            do {
                buffer = try await body.collect(upTo: 1 << 20)
            } catch {
                return Self.error(413, "RequestEntityTooLarge", "a fault plan must be at most 1 MiB")
            }
            let bytes = buffer.readBytes(length: buffer.readableBytes) ?? []
            if let refusal = self.authenticate(request, body: bytes) { return refusal }
            let file = request.query["file"].flatMap { $0.isEmpty ? nil : $0 } ?? "plan.yaml"
            var seed: UInt64?
            if let text = request.query["seed"] {
                guard let value = UInt64(text) else { return Self.error(400, "ValidationException", "seed must be an unsigned 64-bit integer, found '\(text)'") }
                seed = value
            }
            let plan: FaultPlan
            do throws(FaultPlanError) {
                plan = try FaultPlan(yaml: String(decoding: bytes, as: UTF8.self), file: file)
            } catch {
                var extra: [String: JSONValue] = ["file": .string(error.file)]
                if let line = error.line { extra["line"] = .number(Double(line)) }
                if let column = error.column { extra["column"] = .number(Double(column)) }
                if !error.validChoices.isEmpty { extra["validChoices"] = .array(error.validChoices.map { .string($0) }) }
                return .error(status: 400, type: "InvalidFaultPlan", message: error.description, extra: extra)
            }
            self.faults.apply(.startingNow(FaultInjector(plan: plan, seed: seed), source: file))
            return .ok(self.status(after: 0))
        case .delete:
            if let refusal = self.authenticate(request, body: []) { return refusal }
            guard let previous = self.faults.clear() else { return .ok(["active": false, "cleared": false]) }
            var answer = Self.describe(previous, after: 0, limit: Int.max, pipeline: self.pipeline)
            answer["active"] = false
            answer["cleared"] = true
            return .ok(.object(answer))
        default:
            return Self.error(405, "MethodNotAllowed", "use GET, POST or DELETE on \(Self.path)")
        }
    }

    /// nil when the request is signed with the emulator's credentials; the refusal otherwise.
    private func authenticate(_ request: S3Request, body: [UInt8]) -> JSONProtocolResponse? {
        let hash = SigV4Signer.payloadHash(of: body)
        if let claimed = request.header("x-amz-content-sha256"), claimed != hash {
            return Self.error(400, "XAmzContentSHA256Mismatch", "the x-amz-content-sha256 header does not match the body")
        }
        do throws(SigV4Error) {
            _ = try self.verifier.verify(method: request.method.rawValue, path: request.rawPath, query: request.rawQuery, headers: request.signingHeaders, bodySHA256: hash)
            return nil
        } catch {
            return JSONProtocolRouter.authenticationError(error, sqs: false)
        }
    }

    func status(after: Int) -> JSONValue {
        guard let active = self.faults.active else { return ["active": false] }
        var answer = Self.describe(active, after: after, limit: Self.recordPage, pipeline: self.pipeline)
        answer["active"] = true
        if let applied = self.faults.appliedAt { answer["appliedAt"] = .string(JobLedgerRecord.format(applied)) }
        return .object(answer)
    }

    static func describe(_ injection: FaultInjection, after: Int, limit: Int, pipeline: Pipeline?) -> [String: JSONValue] {
        let injector = injection.injector
        let now = injection.elapsed()
        let open = Set(injector.activeFaults(at: now).map(\.fault))
        let statistics = injector.statistics
        var faults: [JSONValue] = []
        for (index, fault) in injector.plan.faults.enumerated() {
            var entry: [String: JSONValue] = ["fault": .number(Double(index)), "kind": .string(fault.kind.rawValue), "open": .bool(open.contains(index))]
            switch fault.effect {
            case .pipelineRestart(let downtime):
                entry["at"] = .number(seconds(fault.window.start))
                entry["downtime"] = .number(seconds(downtime))
            default:
                switch fault.window {
                case .always: entry["window"] = "always"
                case .span(let at, let duration): entry["window"] = .object(["at": .number(seconds(at)), "duration": .number(seconds(duration))])
                }
            }
            if let source = fault.source { entry["source"] = .string(source.description) }
            if index < statistics.count {
                entry["matched"] = .number(Double(statistics[index].matched))
                entry["injected"] = .number(Double(statistics[index].injected))
            }
            faults.append(.object(entry))
        }
        let records = injector.records
        let start = min(after, records.count)
        let end = limit == Int.max ? records.count : min(records.count, start + limit)
        var answer: [String: JSONValue] = [
            "source": .string(injection.source),
            "seed": .string(String(injector.seed)),
            "elapsedSeconds": .number((seconds(now) * 1000).rounded() / 1000),
            "faults": .array(faults),
            "openWindows": .array(open.sorted().map { .number(Double($0)) }),
            "injected": .number(Double(statistics.reduce(0) { $0 + $1.injected })),
            "pipelineDown": .bool(pipeline?.isDown ?? false),
            "records": .array(records[start..<end].map(json)),
            "nextRecord": .number(Double(end)),
            "droppedRecords": .number(Double(injector.droppedRecords)),
        ]
        if pipeline == nil, injector.plan.faults.contains(where: { $0.kind != .endpointOutage }) {
            answer["warning"] = "this emulator runs without its pipeline: only endpoint-outage (and ledger-throttling on the wire) can act"
        }
        return answer
    }

    static func json(_ record: FaultRecord) -> JSONValue {
        var out: [String: JSONValue] = [
            "type": .string(record.event.rawValue), "t": .number(record.elapsedSeconds), "fault": .number(Double(record.fault)),
            "kind": .string(record.kind.rawValue),
        ]
        if let service = record.service { out["service"] = .string(service.rawValue) }
        if let operation = record.operation { out["operation"] = .string(operation) }
        if let bucket = record.bucket { out["bucket"] = .string(bucket) }
        if let key = record.key { out["key"] = .string(key) }
        if let action = record.action { out["action"] = .string(action) }
        if let source = record.source { out["source"] = .string(source) }
        return .object(out)
    }

    static func seconds(_ duration: Duration) -> Double {
        let (s, atto) = duration.components
        return Double(s) + Double(atto) / 1e18
    }

    static func error(_ status: Int, _ code: String, _ message: String) -> JSONProtocolResponse {
        .error(status: status, type: code, message: message)
    }
}
