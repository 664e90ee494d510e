import AWSWire
import Foundation

/// Step Functions' JSON 1.0 API for the emulated state machine (`X-Amz-Target:
/// AWSStepFunctions.*`): StartExecution (what the rule's target and `csvstorm redrive` call)
/// and DescribeExecution, with AWS's error shapes.
package struct StepFunctionsHandler: Sendable {
    package static let targetPrefix = "AWSStepFunctions."
    let pipeline: Pipeline

    var stateMachineARN: String { self.pipeline.configuration.rule.targetARN }

    func executionARN(_ id: String) -> String {
        // arn:aws:states:REGION:ACCOUNT:stateMachine:NAME → …:execution:NAME:ID
        self.stateMachineARN.replacingOccurrences(of: ":stateMachine:", with: ":execution:") + ":" + id
    }

    package func handle(target: String, body: [UInt8]) async -> JSONProtocolResponse {
        let operation = String(target.dropFirst(Self.targetPrefix.count))
        guard case .object(let request)? = try? JSONValue.parse(body.isEmpty ? Array("{}".utf8) : body) else {
            return Self.error("SerializationException", "expected a JSON object")
        }
        switch operation {
        case "StartExecution":
            return await self.startExecution(request)
        case "DescribeExecution":
            return await self.describeExecution(request)
        default:
            return .error(
                status: 400, type: "com.amazon.coral.service#UnknownOperationException",
                message: "Unknown operation \(operation); this endpoint serves StartExecution and DescribeExecution"
            )
        }
    }

    private func startExecution(_ request: [String: JSONValue]) async -> JSONProtocolResponse {
        guard let arn = request["stateMachineArn"]?.stringValue else {
            return Self.error("ValidationException", "1 validation error detected: Value null at 'stateMachineArn' failed to satisfy constraint: Member must not be null")
        }
        guard arn == self.stateMachineARN else {
            return Self.error("StateMachineDoesNotExist", "State Machine Does Not Exist: '\(arn)'")
        }
        let name = request["name"]?.stringValue
        if let name {
            guard (1...80).contains(name.utf8.count), name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) else {
                return Self.error("InvalidName", "Invalid Name: '\(name)'")
            }
            if (try? await self.pipeline.store.execution(id: name)) != nil {
                return Self.error("ExecutionAlreadyExists", "Execution Already Exists: '\(self.executionARN(name))'")
            }
        }
        let input = request["input"]?.stringValue ?? "{}"
        guard let event = try? ObjectCreatedEvent.decode(json: Data(input.utf8)) else {
            return Self.error("InvalidExecutionInput", "the input must be an S3 Object Created event (EventBridge shape)")
        }
        do {
            let source = name?.hasPrefix("redrive-") == true ? "redrive" : "api"
            let execution = try await self.pipeline.startExecution(for: event, name: name, source: source)
            return .ok(.object([
                "executionArn": .string(self.executionARN(execution.executionId)),
                "startDate": .number(execution.startedAt.timeIntervalSince1970),
            ]))
        } catch {
            return .error(status: 500, type: "com.amazon.coral.service#InternalFailure", message: "\(error)")
        }
    }

    private func describeExecution(_ request: [String: JSONValue]) async -> JSONProtocolResponse {
        guard let arn = request["executionArn"]?.stringValue, let id = arn.split(separator: ":").last.map(String.init) else {
            return Self.error("InvalidArn", "Invalid Arn: executionArn is required")
        }
        guard let execution = try? await self.pipeline.store.execution(id: id), self.executionARN(id) == arn else {
            return Self.error("ExecutionDoesNotExist", "Execution Does Not Exist: '\(arn)'")
        }
        var out: [String: JSONValue] = [
            "executionArn": .string(arn), "stateMachineArn": .string(self.stateMachineARN), "name": .string(execution.executionId),
            "status": .string(execution.status.rawValue), "startDate": .number(execution.startedAt.timeIntervalSince1970),
            "input": .string(execution.eventJSON),
        ]
        if let stopped = execution.stoppedAt { out["stopDate"] = .number(stopped.timeIntervalSince1970) }
        if let error = execution.error { out["error"] = .string(error) }
        if let cause = execution.cause { out["cause"] = .string(cause) }
        if let result = execution.result { out["output"] = .string(String(decoding: JSONValue.object(["result": .string(result)]).serialized(), as: UTF8.self)) }
        return .ok(.object(out))
    }

    static func error(_ code: String, _ message: String) -> JSONProtocolResponse {
        .error(status: 400, type: "com.amazonaws.states#\(code)", message: message)
    }
}

/// `GET /_csvstorm/health` and `GET /_csvstorm/executions[/<id>]`: JSON for the harness and for
/// people (unauthenticated, read-only; the endpoint binds to loopback).
///
/// - `/_csvstorm/health`: `{"status":"ok", "uptimeSeconds", "counters": {…}, "deliveries":
///   {"pending", "deadLettered"}, "executions": {"RUNNING": n, …}, "tasksRunning"}`.
/// - `/_csvstorm/executions?status=RUNNING|SUCCEEDED|FAILED&limit=100&next=TOKEN`: oldest first,
///   `{"executions": […], "nextToken": "…"}` (absent on the last page). `limit` 1…1000.
/// - `/_csvstorm/executions/<executionId>`: one execution with its full history.
struct PipelineControl: Sendable {
    static let prefix = "/_csvstorm/"
    let pipeline: Pipeline

    func handle(method: String, path: String, query: [String: String]) async -> JSONProtocolResponse {
        guard method == "GET" || method == "HEAD" else {
            return Self.error(405, "MethodNotAllowed", "only GET is supported here")
        }
        do {
            switch path {
            case "/_csvstorm/health":
                return .ok(try await self.health())
            case "/_csvstorm/executions":
                return try await self.executions(query)
            case let p where p.hasPrefix("/_csvstorm/executions/"):
                let id = String(p.dropFirst("/_csvstorm/executions/".count))
                guard let execution = try await self.pipeline.store.execution(id: id) else {
                    return Self.error(404, "ExecutionDoesNotExist", "no execution \(id)")
                }
                return .ok(Self.json(execution, history: true))
            default:
                return Self.error(404, "NotFound", "unknown path \(path); try /_csvstorm/health or /_csvstorm/executions")
            }
        } catch {
            return Self.error(500, "InternalError", "\(error)")
        }
    }

    func health() async throws -> JSONValue {
        let counts = try await self.pipeline.store.counts()
        var executions: [String: JSONValue] = [:]
        for status in PipelineStore.ExecutionStatus.allCases { executions[status.rawValue] = .number(Double(counts.executions[status.rawValue] ?? 0)) }
        return .object([
            "status": "ok",
            "uptimeSeconds": .number((Date().timeIntervalSince(self.pipeline.startedAt) * 1000).rounded() / 1000),
            "counters": .object(self.pipeline.counters.snapshot.mapValues { .number(Double($0)) }),
            "deliveries": .object(["pending": .number(Double(counts.deliveriesPending)), "deadLettered": .number(Double(counts.deliveriesDeadLettered))]),
            "executions": .object(executions),
            "tasksRunning": .number(Double(await self.pipeline.launcher.running)),
        ])
    }

    private func executions(_ query: [String: String]) async throws -> JSONProtocolResponse {
        var status: PipelineStore.ExecutionStatus?
        if let text = query["status"] {
            guard let parsed = PipelineStore.ExecutionStatus(rawValue: text.uppercased()) else {
                let valid = PipelineStore.ExecutionStatus.allCases.map(\.rawValue).joined(separator: ", ")
                return Self.error(400, "ValidationException", "status must be one of \(valid), found \(text)")
            }
            status = parsed
        }
        let limit = query["limit"].flatMap(Int.init) ?? 100
        guard (1...1000).contains(limit) else { return Self.error(400, "ValidationException", "limit must be 1…1000, found \(limit)") }
        var after: Int64 = 0
        if let token = query["next"] {
            guard let cursor = Int64(token), cursor >= 0 else { return Self.error(400, "ValidationException", "next is not a token this endpoint gave") }
            after = cursor
        }
        let page = try await self.pipeline.store.executions(status: status, after: after, limit: limit)
        var out: [String: JSONValue] = ["executions": .array(page.map { Self.json($0, history: false) })]
        if page.count == limit, let last = page.last { out["nextToken"] = .string(String(last.seq)) }
        return .ok(.object(out))
    }

    static func json(_ execution: PipelineStore.Execution, history: Bool) -> JSONValue {
        var out: [String: JSONValue] = [
            "executionId": .string(execution.executionId), "jobId": .string(execution.jobId), "bucket": .string(execution.bucket),
            "key": .string(execution.key), "sequencer": .string(execution.sequencer), "status": .string(execution.status.rawValue),
            "source": .string(execution.source), "startedAt": .string(JobLedgerRecord.format(execution.startedAt)),
            "attempts": .number(Double(execution.attempts)),
        ]
        if let stopped = execution.stoppedAt { out["stoppedAt"] = .string(JobLedgerRecord.format(stopped)) }
        if let result = execution.result { out["result"] = .string(result) }
        if let error = execution.error { out["error"] = .string(error) }
        if let cause = execution.cause { out["cause"] = .string(cause) }
        if history {
            out["history"] = .array(execution.history.map { event in
                var entry: [String: JSONValue] = [
                    "time": .string(JobLedgerRecord.format(Date(timeIntervalSince1970: event.at.seconds))), "type": .string(event.type),
                ]
                if let state = event.state { entry["state"] = .string(state) }
                if let detail = event.detail { entry["detail"] = .string(detail) }
                return .object(entry)
            })
        } else {
            // Milestones the harness needs without the full history.
            let milestones = ["TaskStarted", "TaskRunning"]
            for name in milestones {
                if let event = execution.history.last(where: { $0.type == name }) {
                    out[name == "TaskStarted" ? "taskLaunchedAt" : "taskRunningAt"] = .string(JobLedgerRecord.format(Date(timeIntervalSince1970: event.at.seconds)))
                }
            }
        }
        return .object(out)
    }

    static func error(_ status: Int, _ code: String, _ message: String) -> JSONProtocolResponse {
        .error(status: status, type: code, message: message)
    }
}
