import Foundation
import SyntheticData
import Testing

@testable import Harness

@Suite("Scenario files: parsing, defaults, errors with positions, resolved YAML")
struct ScenarioParsingTests {
    static let minimal = """
        name: tiny
        dataset:
          schema: generators/customers.yaml
          files: 3
          size: 64KiB
        load:
          model: closed
          concurrency: 2
        """

    /// The error message for `yaml`, or "" when it parsed.
    func error(_ yaml: String, file: String = "s.yaml") -> String {
        do {
            _ = try Scenario.parse(yaml: yaml, file: file)
            return ""
        } catch {
            return error.description
        }
    }

    @Test func minimalScenarioGetsDocumentedDefaults() throws {
        let scenario = try Scenario.parse(yaml: Self.minimal, file: "tiny.yaml")
        #expect(scenario.name == "tiny")
        #expect(scenario.target == .emulated(.init(seed: 1)))
        guard case let .emulated(emulated) = scenario.target else { Issue.record("not emulated"); return }
        #expect(emulated.timeScale == 0.01)
        #expect(emulated.tasks.launchBurst == 100 && emulated.tasks.launchRefillPerSecond == 20)
        #expect(emulated.events.maxRetryAttempts == 185 && emulated.events.maxEventAge == .seconds(86_400))
        #expect(scenario.dataset.seed == 1)
        #expect(scenario.dataset.size == .fixed(ByteSize(bytes: 65_536)))
        #expect(scenario.dataset.malformedFraction == 0)
        #expect(scenario.dataset.malformedModes == MalformedMode.allCases)
        #expect(scenario.load.model == .closed(concurrency: 2))
        #expect(scenario.load.partSize == ByteSize(bytes: 8 << 20))
        #expect(scenario.load.maxFilesInFlight == 64 && scenario.load.partsInFlight == 16)
        #expect(scenario.quiescence == .init(idle: .seconds(5), deadline: .seconds(600)))
        #expect(scenario.faults == nil)
        #expect(scenario.thresholds.isEmpty)
    }

    @Test func fullScenario() throws {
        let yaml = """
            name: throttled-starts
            description: burst under launch throttling
            target:
              emulated:
                timeScale: 0.02
                seed: 9
                tasks: { maxRunning: 50, launchBucket: { burst: 10, refillPerSecond: 2 }, launchLatency: 30s }
                processor: { duration: { distribution: log-normal, median: 6m, p99: 9m } }
                workflow:
                  launchRetry: { interval: 500ms, backoffRate: 1.5, maxAttempts: 5 }
                  taskRetry: { maxAttempts: 0 }
                events: { maxRetryAttempts: 3, maxEventAge: 2m, duplicateRate: 0.1 }
            dataset:
              schema: generators/transactions.yaml
              seed: 42
              files: 200
              size: { distribution: lognormal, median: 64MiB, p90: 256MiB, max: 2GiB }
              malformedFraction: 0.05
              malformedModes: [empty-file, header-mismatch]
              keyPrefix: incoming/
            load:
              arrival:
                executor: ramping-arrival-rate
                stages: [ { target: 5/s, duration: 30s }, { target: 300/m, duration: 1m } ]
              maxFilesInFlight: 32
              upload: { partSize: 16MiB, partsInFlight: 8 }
            faults:
              seed: 7
              faults: [ { kind: throttled-starts, window: { at: 20s, duration: 40s } } ]
            thresholds:
              e2e_latency: [ "p(95) < 60s", "max < 2m" ]
              upload_retry_rate: rate < 0.01
              audit: [ lost == 0, duplicated == 0 ]
            quiescence: { idle: 10s, deadline: 15m }
            """
        let scenario = try Scenario.parse(yaml: yaml, file: "t.yaml")
        guard case let .emulated(emulated) = scenario.target else { Issue.record("not emulated"); return }
        #expect(emulated.timeScale == 0.02 && emulated.seed == 9)
        #expect(emulated.tasks.maxRunning == 50 && emulated.tasks.launchBurst == 10 && emulated.tasks.launchRefillPerSecond == 2)
        #expect(emulated.tasks.launchLatency == .fixed(.seconds(30)))
        #expect(emulated.processor.duration == .logNormal(median: .seconds(360), p99: .seconds(540)))
        #expect(emulated.workflow.launchRetry == .init(interval: .milliseconds(500), backoffRate: 1.5, maxAttempts: 5))
        #expect(emulated.workflow.taskRetry == .init(interval: .seconds(2), backoffRate: 2, maxAttempts: 0))
        #expect(emulated.events == .init(maxRetryAttempts: 3, maxEventAge: .seconds(120), duplicateRate: 0.1))
        #expect(scenario.dataset.files == 200 && scenario.dataset.seed == 42 && scenario.dataset.keyPrefix == "incoming/")
        #expect(scenario.dataset.malformedModes == [.emptyFile, .headerMismatch])
        guard case let .logNormal(mu, sigma, low, high) = scenario.dataset.size else { Issue.record("not log-normal"); return }
        #expect(abs(mu - log(64.0 * 1_048_576)) < 1e-12)
        #expect(abs(sigma - log(4.0) / SizeSampler.z90) < 1e-12)
        #expect(low == nil && high == ByteSize(bytes: 2 << 30))
        #expect(scenario.load.model == .open(.ramping(startRate: .init(perSecond: 0), stages: [
            .init(target: .init(perSecond: 5), duration: .seconds(30)), .init(target: .init(perSecond: 5), duration: .seconds(60)),
        ])))
        #expect(scenario.load.partSize == ByteSize(bytes: 16 << 20) && scenario.load.partsInFlight == 8 && scenario.load.maxFilesInFlight == 32)
        #expect(scenario.faults != nil)
        #expect(scenario.thresholds.map(\.name) == ["e2e_latency: p(95) < 60s", "e2e_latency: max < 2m", "upload_retry_rate: rate < 0.01", "audit: lost == 0", "audit: duplicated == 0"])
        #expect(scenario.quiescence == .init(idle: .seconds(10), deadline: .seconds(900)))
    }

    @Test func endpointTarget() throws {
        let yaml = """
            name: deployed
            target:
              endpoint:
                s3: https://s3.eu-west-1.amazonaws.com
                buckets: { raw: acme-raw, processed: acme-processed, failed: acme-failed }
                jobTable: acme-jobs
                retryQueue: https://sqs.eu-west-1.amazonaws.com/123456789012/acme-retry
                profile: loadtest
                region: eu-west-1
            dataset: { schema: generators/customers.yaml, files: 1, size: 1MiB }
            load: { concurrency: 1 }
            """
        let scenario = try Scenario.parse(yaml: yaml, file: "d.yaml")
        #expect(scenario.target == .endpoint(.init(
            s3: "https://s3.eu-west-1.amazonaws.com", buckets: .init(raw: "acme-raw", processed: "acme-processed", failed: "acme-failed"),
            jobTable: "acme-jobs", retryQueue: "https://sqs.eu-west-1.amazonaws.com/123456789012/acme-retry", profile: "loadtest", region: "eu-west-1"
        )))
    }

    @Test func unknownKeysNameTheValidOnes() {
        #expect(error(Self.minimal + "\nthreshold: {}") == "s.yaml:9:1: error: threshold: unknown key 'threshold' (valid: name, description, target, dataset, load, faults, thresholds, quiescence, baseline)")
        let badDataset = Self.minimal.replacingOccurrences(of: "  files: 3", with: "  file: 3")
        #expect(error(badDataset) == "s.yaml:4:3: error: dataset.file: unknown key 'file' (valid: schema, seed, files, size, malformedFraction, malformedModes, keyPrefix)")
        let badUpload = Self.minimal + "\n  upload: { partSize: 8MiB, parts: 4 }"
        #expect(error(badUpload).hasPrefix("s.yaml:9:29: error: load.upload.parts: unknown key 'parts' (valid: partSize, partsInFlight)"))
    }

    @Test func badEnumsListTheChoices() {
        let badModel = Self.minimal.replacingOccurrences(of: "model: closed", with: "model: shut")
        #expect(error(badModel) == "s.yaml:7:10: error: load.model: unknown value 'shut' (valid: open, closed)")
        let badExecutor = """
            name: x
            dataset: { schema: a.yaml, files: 3, size: 1KiB }
            load: { arrival: { executor: per-vu-iterations, rate: 1/s } }
            """
        #expect(error(badExecutor) == "s.yaml:3:30: error: load.arrival.executor: unknown value 'per-vu-iterations' (valid: constant-arrival-rate, ramping-arrival-rate, poisson)")
        let badDistribution = Self.minimal.replacingOccurrences(of: "size: 64KiB", with: "size: { distribution: pareto }")
        #expect(error(badDistribution) == "s.yaml:5:25: error: dataset.size.distribution: unknown value 'pareto' (valid: fixed, uniform, log-normal)")
        let badMalformed = Self.minimal.replacingOccurrences(of: "  files: 3", with: "  files: 3\n  malformedModes: [empty-file, bad-bytes]")
        #expect(error(badMalformed).contains("s.yaml:5:32: error: dataset.malformedModes[1]: unknown value 'bad-bytes' (valid: wrong-column-count, unbalanced-quotes, invalid-utf8, header-mismatch, empty-file, truncated-last-row)"))
        let badTarget = Self.minimal + "\ntarget: { cloud: {} }"
        #expect(error(badTarget) == "s.yaml:9:11: error: target.cloud: unknown key 'cloud' (valid: emulated, endpoint)")
    }

    @Test func badSyntaxShowsTheAcceptedForms() {
        let badSize = Self.minimal.replacingOccurrences(of: "size: 64KiB", with: "size: 64 kilobytes")
        #expect(error(badSize) == "s.yaml:5:9: error: dataset.size: invalid size '64 kilobytes'; expected a number with a unit: \(ByteSize.unitNames)")
        let badDuration = Self.minimal + "\n  duration: 5 minutes"
        #expect(error(badDuration) == "s.yaml:9:13: error: load.duration: invalid duration '5 minutes'; expected \(DurationText.acceptedForms)")
        let badRate = """
            name: x
            dataset: { schema: a.yaml, files: 3, size: 1KiB }
            load: { arrival: { executor: constant-arrival-rate, rate: 5 per second } }
            """
        #expect(error(badRate) == "s.yaml:3:59: error: load.arrival.rate: invalid rate '5 per second'; expected \(ArrivalRate.acceptedForms)")
        #expect(error("name: [unclosed").hasPrefix("s.yaml:2:1: error: invalid YAML: while parsing a flow sequence"))
    }

    @Test func rangesAndConsistency() {
        let smallPart = Self.minimal + "\n  upload: { partSize: 1MiB }"
        #expect(error(smallPart) == "s.yaml:9:23: error: load.upload.partSize: a part is 5MiB…5GiB (S3's limits), found 1.00 MiB")
        let fraction = Self.minimal.replacingOccurrences(of: "  files: 3", with: "  files: 3\n  malformedFraction: 1.5")
        #expect(error(fraction) == "s.yaml:5:22: error: dataset.malformedFraction: expected a fraction 0…1, found 1.5")
        let unbounded = Self.minimal.replacingOccurrences(of: "  files: 3\n", with: "")
        #expect(error(unbounded) == "s.yaml:6:3: error: load: nothing ends the load: set dataset.files, load.duration or the arrival's duration")
        let mixed = Self.minimal.replacingOccurrences(of: "model: closed", with: "model: open")
        #expect(error(mixed) == "s.yaml:8:16: error: load.concurrency: concurrency belongs to the closed model; the open model takes an arrival")
        let noP90 = Self.minimal.replacingOccurrences(of: "size: 64KiB", with: "size: { distribution: log-normal, median: 1MiB }")
        #expect(error(noP90).contains("log-normal needs median with p90"))
        let badName = Self.minimal.replacingOccurrences(of: "name: tiny", with: "name: my scenario")
        #expect(error(badName).hasPrefix("s.yaml:1:7: error: name: a name is letters, digits"))
        let faultsList = Self.minimal + "\nfaults: [a, b]"
        #expect(error(faultsList).hasPrefix("s.yaml:9:9: error: faults: expected a mapping"))
        let eventAge = Self.minimal + "\ntarget: { emulated: { events: { maxEventAge: 10s } } }"
        #expect(error(eventAge) == "s.yaml:9:46: error: target.emulated.events.maxEventAge: MaximumEventAgeInSeconds is 60s…24h, found 10s")
        let missing = "name: x\nload: { concurrency: 1 }"
        #expect(error(missing) == "s.yaml:1:1: error: missing required key 'dataset'")
    }

    @Test func missingSchemaFileIsReported() {
        #expect(throws: ConfigError.self) {
            try Scenario.parse(yaml: Self.minimal, file: "s.yaml", fileExists: { _ in false })
        }
        #expect((try? Scenario.parse(yaml: Self.minimal, file: "s.yaml", fileExists: { $0 == "generators/customers.yaml" })) != nil)
    }

    @Test func thresholdErrorsPointIntoTheExpression() {
        let yaml = Self.minimal + "\nthresholds:\n  e2e_latency: [\"p(95) < 30 parsecs\"]"
        #expect(error(yaml) == "s.yaml:10:26: error: thresholds.e2e_latency: invalid value '30 parsecs'; expected \(Threshold.acceptedValueForms)")
        let unknown = Self.minimal + "\nthresholds:\n  e2e_latncy: [\"p(95) < 30s\"]"
        #expect(error(unknown).hasPrefix("s.yaml:10:3: error: thresholds.e2e_latncy: unknown metric 'e2e_latncy' (valid: upload_duration, part_latency"))
    }

    @Test func resolvedYAMLRoundTrips() throws {
        let yaml = """
            name: rt
            target: { emulated: { timeScale: 0.5, tasks: { launchLatency: { distribution: uniform, min: 1s, max: 2s } } } }
            dataset: { schema: generators/customers.yaml, seed: 5, files: 10, size: { distribution: log-normal, median: 1MiB, p90: 4MiB, min: 1KiB }, malformedFraction: 0.25 }
            load:
              arrival: { executor: poisson, rate: 30/m, duration: 90s }
              upload: { partSize: 5MiB }
            faults: { seed: 3, faults: [ { kind: task-failure, window: always, probability: 0.5 } ] }
            thresholds: { e2e_latency: ["p(99.9) <= 1500ms"], audit: ["lost == 0"] }
            """
        let first = try Scenario.parse(yaml: yaml, file: "rt.yaml")
        let resolved = first.resolvedYAML()
        #expect(resolved.contains("timeScale: 0.5"))
        #expect(resolved.contains("kind: task-failure"))
        #expect(resolved.contains("rate: 0.5/s") || resolved.contains("rate: 30/m"))
        let second = try Scenario.parse(yaml: resolved, file: "rt.resolved.yaml")
        #expect(second.resolvedYAML() == resolved)
        #expect(second.target == first.target)
        #expect(second.dataset == first.dataset)
        #expect(second.load == first.load)
        #expect(second.quiescence == first.quiescence)
        #expect(second.thresholds.map(\.name) == first.thresholds.map(\.name))
    }

    @Test func processorDropOutputParsesValidatesAndRoundTrips() throws {
        let yaml = Self.minimal + "\ntarget: { emulated: { processor: { dropOutput: 0.5 } } }"
        let scenario = try Scenario.parse(yaml: yaml, file: "s.yaml")
        guard case let .emulated(emulated) = scenario.target else { Issue.record("not emulated"); return }
        #expect(emulated.processor.dropOutput == 0.5)
        let again = try Scenario.parse(yaml: scenario.resolvedYAML(), file: "r.yaml")
        #expect(again.target == scenario.target)
        #expect(error(Self.minimal + "\ntarget: { emulated: { processor: { dropOutput: 2 } } }") == "s.yaml:9:48: error: target.emulated.processor.dropOutput: expected a fraction 0…1, found 2.0")
    }

    @Test func endpointRoundTrips() throws {
        let yaml = """
            name: ep
            target: { endpoint: { jobTable: jobs, retryQueue: retry, s3: "http://127.0.0.1:4566" } }
            dataset: { schema: s.yaml, files: 1, size: { distribution: uniform, min: 1KiB, max: 3000B } }
            load: { concurrency: 4, duration: 1h30m }
            """
        let first = try Scenario.parse(yaml: yaml, file: "ep.yaml")
        let second = try Scenario.parse(yaml: first.resolvedYAML(), file: "ep2.yaml")
        #expect(second.target == first.target)
        #expect(second.dataset == first.dataset)
        #expect(second.load == first.load)
        #expect(first.resolvedYAML().contains("duration: 1h30m"))
    }
}

@Suite("Scenario units: durations, rates")
struct ScenarioUnitsTests {
    @Test func durations() {
        #expect(DurationText.parse("250ms") == .milliseconds(250))
        #expect(DurationText.parse("30s") == .seconds(30))
        #expect(DurationText.parse("1.5s") == .milliseconds(1500))
        #expect(DurationText.parse("2m") == .seconds(120))
        #expect(DurationText.parse("1h30m") == .seconds(5400))
        #expect(DurationText.parse("1d") == .seconds(86_400))
        for bad in ["", "30", "s", "1x", "-1s", "1.2.3s", "1 hour"] {
            #expect(DurationText.parse(bad) == nil, "\(bad)")
        }
        #expect(DurationText.format(.seconds(90)) == "1m30s")
        #expect(DurationText.format(.milliseconds(250)) == "250ms")
        #expect(DurationText.format(.milliseconds(1500)) == "1.5s")
        #expect(DurationText.format(.seconds(7200)) == "2h")
        #expect(DurationText.format(.zero) == "0s")
        for text in ["1m30s", "250ms", "1.5s", "2h", "1d2h3m4s"] {
            #expect(DurationText.format(DurationText.parse(text)!) == text)
        }
    }

    @Test func rates() {
        #expect(ArrivalRate(parsing: "5/s")?.perSecond == 5)
        #expect(ArrivalRate(parsing: "300/m")?.perSecond == 5)
        #expect(ArrivalRate(parsing: "36/h")?.perSecond == 0.01)
        #expect(ArrivalRate(parsing: "30/10s")?.perSecond == 3)
        #expect(ArrivalRate(parsing: "0.5/s")?.perSecond == 0.5)
        for bad in ["5", "5/x", "/s", "-1/s", "5/0s", "a/s"] {
            #expect(ArrivalRate(parsing: bad) == nil, "\(bad)")
        }
        #expect(ArrivalRate(perSecond: 5).description == "5/s")
        #expect(ArrivalRate(perSecond: 0.5).description == "30/m")
        #expect(ArrivalRate(perSecond: 0.01).description == "36/h")
    }
}
