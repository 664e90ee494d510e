import AWSWire
import AsyncHTTPClient
import Emulator
import Faults
import Foundation
import NIOCore
import NIOHTTP1
import Synchronization
import SyntheticData

/// One run's phases against a target: uploads under the load model (with the ledger observed
/// and progress shown meanwhile), quiescence, audit.
struct Execution: Sendable {
    /// The emulator started by a run accepts S3's 5 MiB minimum part size, as AWS does.
    static let emulatorMinimumPartSize = 5 << 20

    let runner: ScenarioRunner
    let scenario: Scenario
    let schema: Schema
    let state: RunState
    let events: EventsWriter
    let injector: FaultInjector?

    struct FaultWindowSpan: Sendable {
        var name: String
        var start: Duration
        var end: Duration?
    }

    struct Report: Sendable {
        var aborted: Bool
        var audited: Bool
        var end: Date
        var auditObjects: [AuditReport.Object]
        var faultWindows: [FaultWindowSpan]
    }

    /// Every object of this run lives under `<keyPrefix><run id>/`, so that runs against one
    /// deployed pipeline never mix.
    var runPrefix: String {
        self.scenario.dataset.keyPrefix + ResultsWriter.folderName(scenario: self.scenario.name, start: self.state.startDate) + "/"
    }

    func key(for planned: PlannedFile) -> String {
        let prefix = self.scenario.dataset.keyPrefix
        let name = planned.key.hasPrefix(prefix) ? String(planned.key.dropFirst(prefix.count)) : planned.key
        return self.runPrefix + name
    }

    func run(target: RunTarget) async throws -> Report {
        let http = HTTPClient(eventLoopGroupProvider: .singleton)
        do {
            let report = try await self.run(target: target, http: http)
            try await http.shutdown()
            return report
        } catch {
            try? await http.shutdown()
            throw error
        }
    }

    private func run(target: RunTarget, http: HTTPClient) async throws -> Report {
        let s3 = S3Client(httpClient: http, configuration: target.s3Configuration, credentialsProvider: target.credentials)
        let reader = AuditReader(
            s3: s3,
            sqs: SQSClient(httpClient: http, configuration: target.sqsConfiguration, credentialsProvider: target.credentials),
            dynamoDB: DynamoDBClient(httpClient: http, configuration: target.dynamoDBConfiguration, credentialsProvider: target.credentials),
            target: target
        )
        let load = self.scenario.load
        let engineConfiguration = UploadEngine.Configuration(
            partSize: load.partSize.bytes, minimumPartSize: target.minimumPartSize,
            partsInFlightPerUpload: max(1, min(16, load.partsInFlight)), partsInFlightTotal: max(1, load.partsInFlight)
        )
        let stop = StopFlag()
        // Upload phase, observed.
        let aborted = try await UploadEngine.withEngine(
            s3Configuration: target.s3Configuration, configuration: engineConfiguration, ioThreads: max(2, min(8, load.maxFilesInFlight)),
            credentials: target.credentials
        ) { engine in
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await self.observe(reader: reader, stop: stop) }
                group.addTask { await self.showProgress(stop: stop) }
                await self.uploadAll(engine: engine, target: target)
                let aborted = Task.isCancelled
                if !aborted { await self.waitForQuiescence(reader: reader, target: target, http: http) }
                stop.set()
                group.cancelAll()
                return aborted
            }
        }
        if self.runner.options.interactive { self.runner.output("") }
        var report = Report(aborted: aborted, audited: false, end: Date(), auditObjects: [], faultWindows: [])
        if !aborted {
            // The audit runs to its end even if a signal arrives now (it only reads).
            let audit = Task { try await self.audit(reader: reader, target: target, http: http) }
            report.auditObjects = try await audit.value
            report.audited = true
        }
        report.end = Date()
        report.faultWindows = self.recordFaults()
        return report
    }

    // MARK: Uploads

    private func uploadAll(engine: UploadEngine, target: RunTarget) async {
        let load = self.scenario.load
        let slots = ResourcePool<Int>(limit: max(1, load.maxFilesInFlight)) { 0 }
        let maxFiles = self.scenario.dataset.files ?? Int.max
        let origin = self.state.origin
        switch load.model {
        case .open:
            guard let schedule = self.scenario.arrivalSchedule else { return }
            await withTaskGroup(of: Void.self) { group in
                var index = 0
                for offset in schedule {
                    guard index < maxFiles, !Task.isCancelled else { break }
                    let intended = origin + offset
                    do {
                        try await Task.sleep(until: intended, clock: .continuous)
                    } catch {
                        break
                    }
                    // At the in-flight limit the start waits: the lag is measured (schedule_lag,
                    // and e2e from the intended start), never hidden.
                    guard let slot = try? await slots.acquire() else { break }
                    let current = index
                    group.addTask {
                        await self.uploadOne(current, intended: intended, engine: engine, target: target)
                        slots.release(slot)
                    }
                    index += 1
                }
            }
        case .closed(let concurrency):
            let next = Counter()
            let deadline = load.duration.map { origin + $0 }
            await withTaskGroup(of: Void.self) { group in
                for _ in 0..<max(1, concurrency) {
                    group.addTask {
                        for _ in 0..<Int.max {
                            if Task.isCancelled { return }
                            if let deadline, ContinuousClock.now >= deadline { return }
                            let index = next.next()
                            guard index < maxFiles else { return }
                            await self.uploadOne(index, intended: ContinuousClock.now, engine: engine, target: target)
                        }
                    }
                }
            }
        }
    }

    private func uploadOne(_ index: Int, intended: ContinuousClock.Instant, engine: UploadEngine, target: RunTarget) async {
        let planned = self.scenario.dataset.plannedFile(index)
        let key = self.key(for: planned)
        let intendedDate = self.state.startDate.addingTimeInterval((intended - self.state.origin).secondsValue)
        self.state.planned(RunState.Upload(index: index, key: key, malformed: planned.malformed?.rawValue, intendedStart: intendedDate))
        let recipe = DatasetRecipe(schema: self.schema, seed: planned.seed, size: .bytes(planned.size), options: GeneratorOptions(malformed: planned.malformed))
        self.state.started(key, at: Date())
        let record = await engine.upload(.init(
            source: .generated(schema: self.schema, recipe: recipe, threads: 1), bucket: target.buckets.raw, key: key,
            metadata: ["csvstorm-run": self.runPrefix], intendedStart: intended, id: String(index)
        ))
        let outcome = record.outcome == .unknown ? "info" : record.outcome.rawValue
        self.state.finished(key) { upload, metrics in
            upload.outcome = record.cancelled && record.outcome == .fail ? nil : outcome
            upload.versionId = record.versionId
            upload.acknowledged = record.outcome == .ok ? (record.completedAt ?? Date()) : nil
            upload.bytes = record.bytesUploaded
            upload.recipe = record.recipe
            upload.rows = record.recipe?.rows
            metrics.record(.uploadDuration, .secondsValue(record.duration))
            metrics.record(.scheduleLag, .secondsValue(max(0, record.startDelay)))
            for part in record.parts where part.succeeded {
                metrics.record(.partLatency, .secondsValue(part.attempts.reduce(0) { $0 + $1.duration }))
                metrics.increment(.partsUploaded)
            }
            switch record.outcome {
            case .ok: metrics.increment(.uploadsCompleted)
            case .fail: metrics.increment(.uploadsFailed)
            case .unknown: metrics.increment(.uploadsUnknown)
            }
            metrics.increment(.s3Requests, by: Int64(record.retries.attempts))
            metrics.increment(.uploadRetries, by: Int64(record.retries.retries))
            metrics.increment(.bytesUploaded, by: Int64(record.bytesUploaded))
        }
        if record.retries.retries > 0 { self.state.withTimeline { $0.retry(at: self.state.elapsed, count: record.retries.retries) } }
        var fields: [(String, RunEvent.Value)] = [
            ("outcome", .string(outcome)), ("index", .int(Int64(index))), ("bytes", .int(Int64(record.bytesUploaded))),
            ("duration", .double(record.duration)), ("startDelay", .double(record.startDelay)), ("retries", .int(Int64(record.retries.retries))),
            ("parts", .int(Int64(record.parts.count))),
        ]
        if let version = record.versionId { fields.append(("versionId", .string(version))) }
        if let malformed = planned.malformed { fields.append(("malformed", .string(malformed.rawValue))) }
        if let failure = record.failure { fields.append(("error", .string("\(failure.code): \(failure.message)"))) }
        self.events.write(RunEvent(time: self.state.elapsed, type: "upload", key: key, fields: fields))
    }

    // MARK: Observation

    /// Scans the ledger at most once per poll interval, and never more than 10% of the time:
    /// a scan that took d waits at least 9·d before the next (a scan reads the whole table, so
    /// observation must back off as the table grows rather than distort the run it measures).
    private func observe(reader: AuditReader, stop: StopFlag) async {
        while !stop.isSet, !Task.isCancelled {
            let took = await self.timedScan(reader: reader)
            self.injector?.advance(to: self.state.elapsed)
            try? await Task.sleep(for: self.pause(after: took))
        }
    }

    private func timedScan(reader: AuditReader) async -> Duration {
        let clock = ContinuousClock()
        let start = clock.now
        await self.scanLedger(reader: reader)
        return clock.now - start
    }

    /// The wait after a scan that took `took`.
    func pause(after took: Duration) -> Duration {
        max(self.runner.options.ledgerPollInterval, took * 9)
    }

    /// One scan of the ledger: this run's records. Returns how many are RUNNING (nil: unreadable).
    @discardableResult
    private func scanLedger(reader: AuditReader) async -> Int? {
        guard let records = try? await reader.ledgerRecords() else { return nil }
        let mine = records.filter { $0.key.hasPrefix(self.runPrefix) }
        self.state.observeLedger(mine, rawBucket: reader.target.buckets.raw)
        return mine.filter { $0.status == .running }.count
    }

    private func showProgress(stop: StopFlag) async {
        let interval = self.runner.options.progressInterval
        while !stop.isSet, !Task.isCancelled {
            try? await Task.sleep(for: interval)
            if stop.isSet { break }
            let line = self.progressLine()
            self.runner.output(self.runner.options.interactive ? "\u{1B}[2K\r" + line + "\u{1B}[1A" : line)
        }
    }

    func progressLine() -> String {
        let metrics = self.state.metrics
        let elapsed = self.state.elapsed.secondsValue
        let mb = Double(self.state.bytesUploaded) / 1e6
        let p95 = metrics.latencySummary(.e2eLatency).map { String(format: "%.2fs", $0.p95) } ?? "-"
        let faults = self.injector?.activeFaults(at: self.state.elapsed).map { "\($0.kind.rawValue)" } ?? []
        return String(
            format: "[%6.1fs] uploads %lld started, %lld ok, %lld failed, %d in flight | %.1f MB/s | jobs %lld ok, %lld failed, backlog %.0f | e2e p95 %@ | retries %lld%@",
            elapsed, metrics.count(.uploadsStarted), metrics.count(.uploadsCompleted), metrics.count(.uploadsFailed) + metrics.count(.uploadsUnknown),
            self.state.inFlight, elapsed > 0 ? mb / elapsed : 0, metrics.count(.jobsSucceeded), metrics.count(.jobsFailed),
            metrics.gauges[.pipelineBacklog]?.value ?? 0, p95, metrics.count(.uploadRetries),
            faults.isEmpty ? "" : " | faults: " + faults.joined(separator: ",")
        )
    }

    // MARK: Quiescence

    /// Waits until no work is in flight: every acknowledged upload has a terminal ledger record,
    /// or nothing is RUNNING (ledger and, for the emulator, its executions and event inbox) and
    /// nothing changed for `idle`. At most `deadline` after the last upload.
    private func waitForQuiescence(reader: AuditReader, target: RunTarget, http: HTTPClient) async {
        let quiescence = self.scenario.quiescence
        let deadline = ContinuousClock.now + quiescence.deadline
        while ContinuousClock.now < deadline, !Task.isCancelled {
            let clock = ContinuousClock()
            let scanStart = clock.now
            let running = await self.scanLedger(reader: reader)
            let took = clock.now - scanStart
            let pending = self.state.uploads.filter { ($0.outcome == "ok" || $0.outcome == "info") && !$0.terminalSeen }.count
            if pending == 0 { return }
            var emulatorIdle = true
            if let control = target.controlURL, let health = await Self.health(http, control) {
                emulatorIdle = health["executions"]?["RUNNING"]?.intValue == 0 && health["deliveries"]?["pending"]?.intValue == 0
            }
            if running == 0, emulatorIdle, ContinuousClock.now - self.state.lastChange >= quiescence.idle { return }
            try? await Task.sleep(for: self.pause(after: took))
        }
    }

    static func health(_ http: HTTPClient, _ base: String) async -> JSONValue? {
        await Self.getJSON(http, base + "/_csvstorm/health")
    }

    static func getJSON(_ http: HTTPClient, _ url: String) async -> JSONValue? {
        guard let response = try? await http.execute(HTTPClientRequest(url: url), timeout: .seconds(10)), response.status == .ok,
              var body = try? await response.body.collect(upTo: 64 << 20)
        else { return nil }
        return try? JSONValue.parse(body.readBytes(length: body.readableBytes) ?? [])
    }

    // MARK: Audit

    private func audit(reader: AuditReader, target: RunTarget, http: HTTPClient) async throws -> [AuditReport.Object] {
        let records = try await reader.ledgerRecords().filter { $0.bucket == target.buckets.raw && $0.key.hasPrefix(self.runPrefix) }
        self.state.observeLedger(records, rawBucket: target.buckets.raw)
        var byKey: [String: [JobLedgerRecord]] = [:]
        for record in records { byKey[record.key, default: []].append(record) }
        let deadLettered = (try? await reader.deadLetteredKeys()) ?? [:]
        let uploads = self.state.uploads
        let schema = self.schema
        // Outputs are checked a few at a time (streaming GETs, bounded memory).
        let objects = await withTaskGroup(of: (Int, [AuditClass], AuditReport.Object?).self) { group in
            var results: [(Int, [AuditClass], AuditReport.Object?)] = []
            var next = 0
            func add(_ position: Int) {
                let upload = uploads[position]
                let records = byKey[upload.key] ?? []
                let dead = (deadLettered[upload.key] ?? 0) > 0
                group.addTask {
                    var evidence = AuditClassifier.Evidence(
                        outcome: upload.outcome, expectedMalformed: upload.malformed != nil, records: records, deadLettered: dead
                    )
                    var detail: String?
                    if let record = records.first(where: { $0.status != .running }), let location = record.outputLocation, !location.isEmpty {
                        let exists = await reader.exists(location)
                        evidence.outputExists = exists
                        if !exists { detail = "ledger \(record.status.rawValue), but \(location) does not exist" }
                        if exists, record.status == .succeeded, upload.malformed == nil, let recipe = upload.recipe,
                           let regenerator = try? recipe.regenerator(schema: schema)
                        {
                            if let checked = try? await reader.checkOutput(location, regenerator: regenerator) {
                                evidence.leakedValues = checked.leaks
                                evidence.rowMismatch = checked.rows != recipe.rows
                                if checked.leaks > 0 { detail = "\(checked.leaks) seeded PII value(s) in \(location), e.g. \(checked.example ?? "?")" }
                                if evidence.rowMismatch { detail = (detail.map { $0 + "; " } ?? "") + "\(checked.rows) rows in \(location), the recipe has \(recipe.rows)" }
                            }
                        }
                    } else if records.contains(where: { $0.status == .succeeded }) {
                        evidence.outputExists = false
                        detail = "ledger SUCCEEDED without an output location"
                    }
                    let classes = AuditClassifier.classify(evidence)
                    let primary = classes.first
                    if detail == nil, let primary {
                        switch primary {
                        case .lost: detail = "acknowledged (\(upload.versionId ?? "no version")), no ledger record, not dead-lettered"
                        case .stuck: detail = "ledger RUNNING after the quiescence deadline"
                        case .failedUnexpectedly: detail = records.first.flatMap { $0.cause } ?? "ledger FAILED"
                        default: break
                        }
                    }
                    let object = primary.map { AuditReport.Object(key: upload.key, versionId: upload.versionId, auditClass: $0, detail: detail) }
                    return (position, classes, object)
                }
            }
            while next < min(4, uploads.count) {
                add(next)
                next += 1
            }
            while let result = await group.next() {
                results.append(result)
                if next < uploads.count {
                    add(next)
                    next += 1
                }
            }
            return results.sorted { $0.0 < $1.0 }
        }
        var auditObjects: [AuditReport.Object] = []
        self.state.withMetrics { metrics in
            for (position, classes, object) in objects {
                for auditClass in classes { metrics.classify(auditClass, key: uploads[position].key) }
                if let object, auditObjects.count < 10_000 { auditObjects.append(object) }
            }
            let planned = Set(uploads.map(\.key))
            for (key, _) in byKey where !planned.contains(key) {
                metrics.classify(.unexpected, key: key)
                auditObjects.append(AuditReport.Object(key: key, auditClass: .unexpected, detail: "a ledger record for a key this run never uploaded"))
            }
        }
        for object in auditObjects where object.auditClass != AuditClass.processed.rawValue {
            var fields: [(String, RunEvent.Value)] = [("class", .string(object.auditClass))]
            if let detail = object.detail { fields.append(("detail", .string(detail))) }
            self.events.write(RunEvent(time: self.state.elapsed, type: "audit", key: object.key, fields: fields))
        }
        await self.collectPipelineMetrics(target: target, http: http, deadLettered: deadLettered)
        return auditObjects
    }

    /// The pipeline's own counts: the emulator's counters and execution milestones; for a
    /// deployed pipeline, the RetryQueue's count (the rest is not observable from outside).
    private func collectPipelineMetrics(target: RunTarget, http: HTTPClient, deadLettered: [String: Int]) async {
        let mine = deadLettered.filter { $0.key.hasPrefix(self.runPrefix) }.values.reduce(0, +)
        guard let control = target.controlURL, let health = await Self.health(http, control), let counters = health["counters"] else {
            self.state.withMetrics { $0.increment(.deadLettered, by: Int64(mine)) }
            return
        }
        let mapping: [(String, CounterMetric)] = [
            ("delivery_attempts", .eventDeliveries), ("delivery_retries", .eventDeliveryRetries), ("events_duplicated", .duplicateDeliveries),
            ("run_task_calls", .taskLaunches), ("workflow_retries", .taskRetries), ("run_task_throttled", .taskThrottles),
            ("tasks_failed", .taskFailures), ("events_dead_lettered", .deadLettered), ("rows_processed", .rowsProcessed),
        ]
        self.state.withMetrics { metrics in
            for (name, metric) in mapping { metrics.increment(metric, by: Int64(counters[name]?.intValue ?? 0)) }
        }
        // Task queueing (execution start ≈ event delivered → task RUNNING) and processing time
        // (task RUNNING → execution end), from the executions of this run.
        var next: String?
        for _ in 0..<100_000 {
            let url = control + "/_csvstorm/executions?limit=1000" + (next.map { "&next=\($0)" } ?? "")
            guard let page = await Self.getJSON(http, url), let executions = page["executions"]?.arrayValue else { break }
            self.state.withMetrics { metrics in
                for execution in executions where execution["key"]?.stringValue?.hasPrefix(self.runPrefix) == true {
                    let started = execution["startedAt"]?.stringValue.flatMap(JobLedgerRecord.parseDate)
                    let running = execution["taskRunningAt"]?.stringValue.flatMap(JobLedgerRecord.parseDate)
                    let stopped = execution["stoppedAt"]?.stringValue.flatMap(JobLedgerRecord.parseDate)
                    if let started, let running { metrics.record(.taskQueueing, .secondsValue(max(0, running.timeIntervalSince(started)))) }
                    if let running, let stopped { metrics.record(.processingTime, .secondsValue(max(0, stopped.timeIntervalSince(running)))) }
                }
            }
            guard let token = page["nextToken"]?.stringValue else { break }
            next = token
        }
    }

    // MARK: Faults

    /// Writes the injector's records to events.jsonl and returns the fault windows.
    private func recordFaults() -> [FaultWindowSpan] {
        guard let injector = self.injector else { return [] }
        injector.advance(to: self.state.elapsed)
        var windows: [FaultWindowSpan] = []
        for record in injector.takeRecords() {
            self.events.write(Self.event(record))
            let name = "\(record.kind.rawValue)#\(record.fault)"
            switch record.event {
            case .windowOpened: windows.append(FaultWindowSpan(name: name, start: .secondsValue(record.elapsedSeconds), end: nil))
            case .windowClosed:
                if let index = windows.lastIndex(where: { $0.name == name && $0.end == nil }) { windows[index].end = .secondsValue(record.elapsedSeconds) }
            case .injected: break
            }
        }
        return windows
    }

    static func event(_ record: FaultRecord) -> RunEvent {
        var fields: [(String, RunEvent.Value)] = [("fault", .int(Int64(record.fault))), ("kind", .string(record.kind.rawValue))]
        if let service = record.service { fields.append(("service", .string(service.rawValue))) }
        if let operation = record.operation { fields.append(("operation", .string(operation))) }
        if let action = record.action { fields.append(("action", .string(action))) }
        return RunEvent(time: .secondsValue(record.elapsedSeconds), type: record.event.rawValue, key: record.key, fields: fields)
    }
}

/// Tells the observer and progress loops to end.
final class StopFlag: Sendable {
    private let flag = Atomic(false)
    var isSet: Bool { self.flag.load(ordering: .acquiring) }
    func set() { self.flag.store(true, ordering: .releasing) }
}

/// Hands out 0, 1, 2, … to concurrent workers.
final class Counter: Sendable {
    private let value = Atomic(0)
    func next() -> Int { self.value.wrappingAdd(1, ordering: .relaxed).oldValue }
}
