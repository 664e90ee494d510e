import Foundation
import SyntheticData
import Yams

extension Scenario {
    package static let keys = ["name", "description", "target", "dataset", "load", "faults", "thresholds", "quiescence", "baseline"]

    /// Reads and validates a scenario file. Every error names file:line:column and the valid
    /// choices. Also checks that the dataset's schema file exists (relative paths from the
    /// working directory).
    package static func load(file: String) throws(ConfigError) -> Scenario {
        guard let data = FileManager.default.contents(atPath: file) else {
            throw ConfigError(file: file, message: "cannot read the scenario file")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigError(file: file, message: "the scenario file is not UTF-8")
        }
        return try parse(yaml: text, file: file, fileExists: { FileManager.default.fileExists(atPath: $0) })
    }

    /// Validates a scenario given as text. `fileExists`, when given, checks the schema path.
    package static func parse(yaml: String, file: String, fileExists: ((String) -> Bool)? = nil) throws(ConfigError) -> Scenario {
        let root = try YAMLNode.parse(yaml: yaml, file: file)
        return try parse(root, fileExists: fileExists)
    }

    static func parse(_ root: YAMLNode, fileExists: ((String) -> Bool)?) throws(ConfigError) -> Scenario {
        try root.checkKeys(allowed: keys)
        let nameNode = try root.required("name")
        let name = try nameNode.string()
        guard !name.isEmpty, name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }) else {
            throw nameNode.error("a name is letters, digits, '-', '_' and '.' (it names the results folder), found '\(name)'")
        }
        let description = try root["description"].map { node throws(ConfigError) in try node.string() } ?? ""
        var target = try root["target"].map { node throws(ConfigError) in try parseTarget(node) } ?? .emulated(.init())
        let datasetNode = try root.required("dataset")
        let dataset = try parseDataset(datasetNode, fileExists: fileExists)
        if case var .emulated(emulated) = target, emulated.seed == nil {
            emulated.seed = dataset.seed
            target = .emulated(emulated)
        }
        let loadNode = try root.required("load")
        let load = try parseLoad(loadNode)

        // Something must end the load: a file count, a load duration or a finite arrival model.
        if dataset.files == nil, load.duration == nil {
            switch load.model {
            case .open(.ramping): break
            case .open(.constant(_, .some)), .open(.poisson(_, .some)): break
            default:
                throw loadNode.error("nothing ends the load: set dataset.files, load.duration or the arrival's duration")
            }
        }

        var faults: FaultsSection?
        if let faultsNode = root["faults"], !faultsNode.isNull {
            guard case .mapping = faultsNode.node else {
                throw faultsNode.error("expected a mapping (the fault plan: seed, faults), found a single value or list")
            }
            faults = FaultsSection(node: faultsNode.node, file: root.file)
        }
        var thresholds: [Threshold] = []
        if let node = root["thresholds"], !node.isNull { thresholds = try Threshold.parseSection(node) }
        let quiescence = try root["quiescence"].map { node throws(ConfigError) in try parseQuiescence(node) } ?? Quiescence()
        var baseline: BaselineSection?
        if let node = root["baseline"], !node.isNull { baseline = try parseBaseline(node) }
        return Scenario(
            name: name, description: description, target: target, dataset: dataset, load: load, faults: faults, thresholds: thresholds, quiescence: quiescence,
            baseline: baseline, file: root.file
        )
    }

    // MARK: Target

    static let emulatedKeys = ["timeScale", "tasks", "processor", "workflow", "events", "seed"]
    static let tasksKeys = ["maxRunning", "launchBucket", "launchLatency"]
    static let launchBucketKeys = ["burst", "refillPerSecond"]
    static let workflowKeys = ["launchRetry", "taskRetry"]
    static let retryKeys = ["interval", "backoffRate", "maxAttempts"]
    static let eventsKeys = ["maxRetryAttempts", "maxEventAge", "duplicateRate"]
    static let endpointKeys = ["s3", "dynamodb", "sqs", "buckets", "jobTable", "retryQueue", "profile", "region", "ecs"]
    static let ecsKeys = ["cluster", "family", "keyVariable", "endpoint", "pollInterval"]
    static let bucketsKeys = ["raw", "processed", "failed"]

    static func parseTarget(_ node: YAMLNode) throws(ConfigError) -> Target {
        if case .scalar = node.node {
            _ = try node.choice(of: ["emulated"])
            return .emulated(.init())
        }
        try node.checkKeys(allowed: Target.kinds)
        let entries = try node.mappingEntries()
        guard entries.count == 1, let entry = entries.first else {
            throw node.error("expected exactly one of emulated or endpoint", validChoices: Target.kinds)
        }
        if entry.key == "emulated" {
            return .emulated(try parseEmulated(entry.value))
        }
        return .endpoint(try parseEndpoint(entry.value))
    }

    static func parseEmulated(_ node: YAMLNode) throws(ConfigError) -> Emulated {
        var emulated = Emulated()
        if node.isNull { return emulated }
        try node.checkKeys(allowed: emulatedKeys)
        if let value = node["timeScale"] {
            emulated.timeScale = try value.double()
            guard emulated.timeScale > 0 else { throw value.error("the time scale must be > 0 (0.01 makes 5–10 min tasks take 3–6 s), found \(emulated.timeScale)") }
        }
        if let value = node["seed"] { emulated.seed = try value.seed() }
        if let tasks = node["tasks"] {
            try tasks.checkKeys(allowed: tasksKeys)
            if let value = tasks["maxRunning"] { emulated.tasks.maxRunning = try value.positiveInt() }
            if let bucket = tasks["launchBucket"] {
                try bucket.checkKeys(allowed: launchBucketKeys)
                if let value = bucket["burst"] { emulated.tasks.launchBurst = try value.nonNegativeInt() }
                if let value = bucket["refillPerSecond"] {
                    emulated.tasks.launchRefillPerSecond = try value.double()
                    guard emulated.tasks.launchRefillPerSecond >= 0 else { throw value.error("expected a number ≥ 0") }
                }
            }
            if let value = tasks["launchLatency"] { emulated.tasks.launchLatency = try value.durationDistribution() }
        }
        if let processor = node["processor"] {
            try processor.checkKeys(allowed: ["duration", "dropOutput"])
            if let value = processor["duration"] { emulated.processor.duration = try value.durationDistribution() }
            if let value = processor["dropOutput"] { emulated.processor.dropOutput = try value.fraction() }
        }
        if let workflow = node["workflow"] {
            try workflow.checkKeys(allowed: workflowKeys)
            if let value = workflow["launchRetry"] { emulated.workflow.launchRetry = try value.retryRule(default: emulated.workflow.launchRetry) }
            if let value = workflow["taskRetry"] { emulated.workflow.taskRetry = try value.retryRule(default: emulated.workflow.taskRetry) }
        }
        if let events = node["events"] {
            try events.checkKeys(allowed: eventsKeys)
            if let value = events["maxRetryAttempts"] {
                emulated.events.maxRetryAttempts = try value.int()
                guard (0...185).contains(emulated.events.maxRetryAttempts) else { throw value.error("MaximumRetryAttempts is 0…185, found \(emulated.events.maxRetryAttempts)") }
            }
            if let value = events["maxEventAge"] {
                emulated.events.maxEventAge = try value.duration()
                guard emulated.events.maxEventAge >= .seconds(60), emulated.events.maxEventAge <= .seconds(86_400) else {
                    throw value.error("MaximumEventAgeInSeconds is 60s…24h, found \(DurationText.format(emulated.events.maxEventAge))")
                }
            }
            if let value = events["duplicateRate"] { emulated.events.duplicateRate = try value.fraction() }
        }
        return emulated
    }

    static func parseEndpoint(_ node: YAMLNode) throws(ConfigError) -> Endpoint {
        try node.checkKeys(allowed: endpointKeys)
        var endpoint = Endpoint(jobTable: try node.required("jobTable").string(), retryQueue: try node.required("retryQueue").string())
        for key in ["s3", "dynamodb", "sqs"] {
            guard let value = node[key] else { continue }
            let url = try value.endpointURL()
            switch key {
            case "s3": endpoint.s3 = url
            case "dynamodb": endpoint.dynamodb = url
            default: endpoint.sqs = url
            }
        }
        if let buckets = node["buckets"] {
            try buckets.checkKeys(allowed: bucketsKeys)
            if let value = buckets["raw"] { endpoint.buckets.raw = try value.string() }
            if let value = buckets["processed"] { endpoint.buckets.processed = try value.string() }
            if let value = buckets["failed"] { endpoint.buckets.failed = try value.string() }
        }
        if let value = node["profile"] { endpoint.profile = try value.string() }
        if let value = node["region"] { endpoint.region = try value.string() }
        if let ecs = node["ecs"] {
            try ecs.checkKeys(allowed: ecsKeys)
            var target = ECSTaskTarget(cluster: try ecs.required("cluster").string(), family: try ecs.required("family").string())
            if let value = ecs["keyVariable"] { target.keyVariable = try value.string() }
            if let value = ecs["endpoint"] { target.endpoint = try value.endpointURL() }
            if let value = ecs["pollInterval"] { target.pollInterval = try value.positiveDuration() }
            endpoint.ecs = target
        }
        return endpoint
    }

    // MARK: Dataset

    static let datasetKeys = ["schema", "seed", "files", "size", "malformedFraction", "malformedModes", "keyPrefix"]

    static func parseDataset(_ node: YAMLNode, fileExists: ((String) -> Bool)?) throws(ConfigError) -> Dataset {
        try node.checkKeys(allowed: datasetKeys)
        let schemaNode = try node.required("schema")
        let schema = try schemaNode.string()
        if let fileExists, !fileExists(schema) {
            throw schemaNode.error("no schema file at '\(schema)' (relative paths start at the working directory; shipped schemas are in generators/)")
        }
        var dataset = Dataset(schema: schema, seed: 1, size: try parseSize(try node.required("size")))
        if let value = node["seed"] { dataset.seed = try value.seed() }
        if let value = node["files"] { dataset.files = try value.positiveInt() }
        if let value = node["malformedFraction"] { dataset.malformedFraction = try value.fraction() }
        if let value = node["malformedModes"] {
            let choices = MalformedMode.allCases.map(\.rawValue)
            var modes: [MalformedMode] = []
            for item in try value.sequence() { modes.append(MalformedMode(rawValue: try item.choice(of: choices))!) }
            guard !modes.isEmpty else { throw value.error("expected at least one mode", validChoices: choices) }
            dataset.malformedModes = modes
        }
        if let value = node["keyPrefix"] { dataset.keyPrefix = try value.string() }
        return dataset
    }

    static let sizeKeys: [String: [String]] = [
        "fixed": ["distribution", "size"],
        "uniform": ["distribution", "min", "max"],
        "log-normal": ["distribution", "median", "p90", "mu", "sigma", "min", "max"],
    ]

    static func parseSize(_ node: YAMLNode) throws(ConfigError) -> SizeDistribution {
        if case .scalar = node.node { return .fixed(try node.byteSize()) }
        let distributionNode = try node.required("distribution")
        var kind = try distributionNode.string()
        if kind == "lognormal" { kind = "log-normal" }
        guard let allowed = sizeKeys[kind] else {
            throw distributionNode.error("unknown value '\(kind)'", validChoices: SizeDistribution.kinds)
        }
        try node.checkKeys(allowed: allowed)
        switch kind {
        case "fixed":
            return .fixed(try node.required("size").byteSize())
        case "uniform":
            let low = try node.required("min").byteSize()
            let highNode = try node.required("max")
            let high = try highNode.byteSize()
            guard low <= high else { throw highNode.error("max (\(high)) is below min (\(low))") }
            return .uniform(min: low, max: high)
        default:
            let mu: Double
            let sigma: Double
            if let medianNode = node["median"] {
                if node["mu"] != nil { throw medianNode.error("give median with p90 or sigma, or mu with sigma, not both median and mu") }
                let median = try medianNode.byteSize()
                guard median.bytes > 0 else { throw medianNode.error("the median must be > 0") }
                mu = log(Double(median.bytes))
                if let p90Node = node["p90"] {
                    if node["sigma"] != nil { throw p90Node.error("give p90 or sigma, not both") }
                    let p90 = try p90Node.byteSize()
                    guard p90 > median else { throw p90Node.error("p90 (\(p90)) must be above the median (\(median))") }
                    sigma = log(Double(p90.bytes) / Double(median.bytes)) / SizeSampler.z90
                } else if let sigmaNode = node["sigma"] {
                    sigma = try sigmaNode.positiveDouble()
                } else {
                    throw node.error("log-normal needs median with p90 (e.g. median: 64MiB, p90: 512MiB), median with sigma, or mu with sigma")
                }
            } else if let muNode = node["mu"] {
                mu = try muNode.double()
                guard let sigmaNode = node["sigma"] else { throw node.error("log-normal with mu needs sigma (both in ln bytes)") }
                if let p90Node = node["p90"] { throw p90Node.error("p90 goes with median, not mu") }
                sigma = try sigmaNode.positiveDouble()
            } else {
                throw node.error("log-normal needs median with p90 (e.g. median: 64MiB, p90: 512MiB), median with sigma, or mu with sigma")
            }
            let low = try node["min"].map { value throws(ConfigError) in try value.byteSize() }
            let high = try node["max"].map { value throws(ConfigError) in try value.byteSize() }
            if let low, let high, low > high { throw node["max"]!.error("max (\(high)) is below min (\(low))") }
            return .logNormal(mu: mu, sigma: sigma, min: low, max: high)
        }
    }

    // MARK: Load

    static let loadKeys = ["model", "arrival", "concurrency", "maxFilesInFlight", "upload", "duration"]
    static let uploadKeys = ["partSize", "partsInFlight"]
    static let arrivalKeys: [String: [String]] = [
        "constant-arrival-rate": ["executor", "rate", "duration"],
        "ramping-arrival-rate": ["executor", "startRate", "stages"],
        "poisson": ["executor", "rate", "duration"],
    ]
    static let minimumPartSize = ByteSize(bytes: 5 << 20)
    static let maximumPartSize = ByteSize(bytes: 5 << 30)

    static func parseLoad(_ node: YAMLNode) throws(ConfigError) -> Load {
        try node.checkKeys(allowed: loadKeys)
        let arrivalNode = node["arrival"]
        let concurrencyNode = node["concurrency"]
        let model: String
        if let modelNode = node["model"] {
            model = try modelNode.choice(of: Load.Model.kinds)
        } else if arrivalNode != nil, concurrencyNode == nil {
            model = "open"
        } else if concurrencyNode != nil, arrivalNode == nil {
            model = "closed"
        } else {
            throw node.error("set model: open with an arrival, or model: closed with a concurrency", validChoices: Load.Model.kinds)
        }
        let parsedModel: Load.Model
        if model == "open" {
            if let concurrencyNode { throw concurrencyNode.error("concurrency belongs to the closed model; the open model takes an arrival") }
            guard let arrivalNode else { throw node.error("the open model needs an arrival (executor: constant-arrival-rate, ramping-arrival-rate or poisson)") }
            parsedModel = .open(try parseArrival(arrivalNode))
        } else {
            if let arrivalNode { throw arrivalNode.error("arrival belongs to the open model; the closed model takes a concurrency") }
            guard let concurrencyNode else { throw node.error("the closed model needs a concurrency (uploaders at once)") }
            parsedModel = .closed(concurrency: try concurrencyNode.positiveInt())
        }
        var load = Load(model: parsedModel)
        if let value = node["maxFilesInFlight"] { load.maxFilesInFlight = try value.positiveInt() }
        if let value = node["duration"] { load.duration = try value.positiveDuration() }
        if let upload = node["upload"] {
            try upload.checkKeys(allowed: uploadKeys)
            if let value = upload["partSize"] {
                load.partSize = try value.byteSize()
                guard load.partSize >= minimumPartSize, load.partSize <= maximumPartSize else {
                    throw value.error("a part is 5MiB…5GiB (S3's limits), found \(load.partSize)")
                }
            }
            if let value = upload["partsInFlight"] { load.partsInFlight = try value.positiveInt() }
        }
        return load
    }

    static func parseArrival(_ node: YAMLNode) throws(ConfigError) -> Load.Arrival {
        let executorNode = try node.required("executor")
        let executor = try executorNode.choice(of: Load.Arrival.executors)
        try node.checkKeys(allowed: arrivalKeys[executor]!)
        switch executor {
        case "constant-arrival-rate":
            return .constant(rate: try node.required("rate").positiveRate(), duration: try node["duration"].map { value throws(ConfigError) in try value.positiveDuration() })
        case "poisson":
            return .poisson(rate: try node.required("rate").positiveRate(), duration: try node["duration"].map { value throws(ConfigError) in try value.positiveDuration() })
        default:
            let start = try node["startRate"].map { value throws(ConfigError) in try value.rate() } ?? ArrivalRate(perSecond: 0)
            let stagesNode = try node.required("stages")
            var stages: [Load.Stage] = []
            for item in try stagesNode.sequence() {
                try item.checkKeys(allowed: ["target", "duration"])
                stages.append(Load.Stage(target: try item.required("target").rate(), duration: try item.required("duration").positiveDuration()))
            }
            guard !stages.isEmpty else { throw stagesNode.error("expected at least one stage, e.g. [{ target: 10/s, duration: 30s }]") }
            guard start.perSecond > 0 || stages.contains(where: { $0.target.perSecond > 0 }) else {
                throw stagesNode.error("every stage's target is 0/s: nothing would start")
            }
            return .ramping(startRate: start, stages: stages)
        }
    }

    // MARK: Baseline

    static let baselineKeys = ["file", "tolerances"]

    /// `baseline: { file: …, tolerances: { e2e_latency.p95: 1.5x + 2s, … } }`. Errors point at
    /// the key or into the tolerance text.
    static func parseBaseline(_ node: YAMLNode) throws(ConfigError) -> BaselineSection {
        try node.checkKeys(allowed: baselineKeys)
        let fileNode = try node.required("file")
        let file = try fileNode.string()
        guard !file.isEmpty else { throw fileNode.error("expected a file path, e.g. results/baselines/<scenario>.json") }
        var section = BaselineSection(file: file, fileLine: fileNode.line, fileColumn: fileNode.column)
        if let tolerancesNode = node["tolerances"], !tolerancesNode.isNull {
            var tolerances: [BaselineTolerance] = []
            for entry in try tolerancesNode.mappingEntries() {
                let metric: BaselineMetric
                switch BaselineMetric.parse(entry.key) {
                case let .success(parsed): metric = parsed
                case let .failure(error): throw entry.keyNode.error(error.message, validChoices: error.validChoices)
                }
                if tolerances.contains(where: { $0.metric == metric }) {
                    throw entry.keyNode.error("\(metric) is listed twice")
                }
                let text = try entry.value.string()
                var column = entry.value.column
                if case let .scalar(scalar) = entry.value.node, scalar.style == .singleQuoted || scalar.style == .doubleQuoted {
                    column = column.map { $0 + 1 }
                }
                switch Tolerance.parse(text, for: metric) {
                case let .success(tolerance):
                    tolerances.append(BaselineTolerance(metric: metric, tolerance: tolerance, location: Self.location(node.file, entry.value.line, column)))
                case let .failure(error):
                    throw ConfigError(file: node.file, line: entry.value.line, column: column.map { $0 + error.offset }, message: "\(entry.value.path): \(error.message)")
                }
            }
            guard !tolerances.isEmpty else {
                throw tolerancesNode.error("expected at least one metric, e.g. { e2e_latency.p95: 1.5x + 2s }; leave tolerances out for the default set")
            }
            section.tolerances = tolerances
        }
        return section
    }

    static func location(_ file: String, _ line: Int?, _ column: Int?) -> String {
        var text = file
        if let line { text += ":\(line)" }
        if let column { text += ":\(column)" }
        return text
    }

    // MARK: Quiescence

    static func parseQuiescence(_ node: YAMLNode) throws(ConfigError) -> Quiescence {
        try node.checkKeys(allowed: ["idle", "deadline"])
        var quiescence = Quiescence()
        if let value = node["idle"] { quiescence.idle = try value.positiveDuration() }
        if let value = node["deadline"] { quiescence.deadline = try value.positiveDuration() }
        if quiescence.deadline < quiescence.idle, let value = node["deadline"] ?? node["idle"] {
            throw value.error("the deadline (\(DurationText.format(quiescence.deadline))) is shorter than the idle time (\(DurationText.format(quiescence.idle)))")
        }
        return quiescence
    }
}

// MARK: - Typed values with positions

extension YAMLNode {
    func duration() throws(ConfigError) -> Duration {
        let text = try string()
        guard let duration = DurationText.parse(text) else {
            throw error("invalid duration '\(text)'; expected \(DurationText.acceptedForms)")
        }
        return duration
    }

    /// An http(s) URL with a host.
    func endpointURL() throws(ConfigError) -> String {
        let url = try self.string()
        guard let parsed = URL(string: url), let scheme = parsed.scheme, ["http", "https"].contains(scheme), parsed.host != nil else {
            throw self.error("expected an http(s) URL such as https://s3.us-east-1.amazonaws.com, found '\(url)'")
        }
        return url
    }

    func positiveDuration() throws(ConfigError) -> Duration {
        let duration = try duration()
        guard duration > .zero else { throw error("expected a duration > 0, found '\((try? string()) ?? "")'") }
        return duration
    }

    func byteSize() throws(ConfigError) -> ByteSize {
        let text = try string()
        guard let size = ByteSize(parsing: text) else {
            throw error("invalid size '\(text)'; expected a number with a unit: \(ByteSize.unitNames)")
        }
        return size
    }

    func rate() throws(ConfigError) -> ArrivalRate {
        let text = try string()
        guard let rate = ArrivalRate(parsing: text) else {
            throw error("invalid rate '\(text)'; expected \(ArrivalRate.acceptedForms)")
        }
        return rate
    }

    func positiveRate() throws(ConfigError) -> ArrivalRate {
        let rate = try rate()
        guard rate.perSecond > 0 else { throw error("expected a rate > 0, found '\((try? string()) ?? "")'") }
        return rate
    }

    func fraction() throws(ConfigError) -> Double {
        let value = try double()
        guard (0...1).contains(value) else { throw error("expected a fraction 0…1, found \(value)") }
        return value
    }

    func positiveInt() throws(ConfigError) -> Int {
        let value = try int()
        guard value >= 1 else { throw error("expected a whole number ≥ 1, found \(value)") }
        return value
    }

    func nonNegativeInt() throws(ConfigError) -> Int {
        let value = try int()
        guard value >= 0 else { throw error("expected a whole number ≥ 0, found \(value)") }
        return value
    }

    func positiveDouble() throws(ConfigError) -> Double {
        let value = try double()
        guard value > 0 else { throw error("expected a number > 0, found \(value)") }
        return value
    }

    func seed() throws(ConfigError) -> UInt64 {
        let text = try string().replacingOccurrences(of: "_", with: "")
        guard let value = UInt64(text) else { throw error("expected a seed 0…18446744073709551615, found '\(text)'") }
        return value
    }

    func durationDistribution() throws(ConfigError) -> Scenario.DurationDistribution {
        if case .scalar = node { return .fixed(try duration()) }
        let kindNode = try required("distribution")
        var kind = try kindNode.string()
        if kind == "lognormal" { kind = "log-normal" }
        switch kind {
        case "fixed":
            try checkKeys(allowed: ["distribution", "value"])
            return .fixed(try required("value").duration())
        case "uniform":
            try checkKeys(allowed: ["distribution", "min", "max"])
            let low = try required("min").duration()
            let highNode = try required("max")
            let high = try highNode.duration()
            guard low <= high else { throw highNode.error("max is below min") }
            return .uniform(min: low, max: high)
        case "log-normal":
            try checkKeys(allowed: ["distribution", "median", "p99"])
            let median = try required("median").positiveDuration()
            let p99Node = try required("p99")
            let p99 = try p99Node.duration()
            guard p99 > median else { throw p99Node.error("p99 must be above the median") }
            return .logNormal(median: median, p99: p99)
        default:
            throw kindNode.error("unknown value '\(kind)'", validChoices: Scenario.DurationDistribution.kinds)
        }
    }

    func retryRule(default rule: Scenario.RetryRule) throws(ConfigError) -> Scenario.RetryRule {
        try checkKeys(allowed: Scenario.retryKeys)
        var rule = rule
        if let value = self["interval"] { rule.interval = try value.duration() }
        if let value = self["backoffRate"] {
            rule.backoffRate = try value.double()
            guard rule.backoffRate >= 1 else { throw value.error("BackoffRate is ≥ 1.0, found \(rule.backoffRate)") }
        }
        if let value = self["maxAttempts"] { rule.maxAttempts = try value.nonNegativeInt() }
        return rule
    }
}
