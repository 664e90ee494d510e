import Foundation
import Yams

extension FaultPlan {
    /// Reads and checks a plan file. Every error names the file, line and column.
    package static func load(path: String, limits: Limits = Limits()) throws(FaultPlanError) -> FaultPlan {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw FaultPlanError(.unreadable, file: path, message: "cannot read the fault plan: \(error.localizedDescription)")
        }
        return try FaultPlan(yaml: text, file: path, limits: limits)
    }

    /// Parses a plan from YAML text; `file` names it in errors.
    package init(yaml: String, file: String, limits: Limits = Limits()) throws(FaultPlanError) {
        let node: Node?
        do {
            node = try Yams.compose(yaml: yaml)
        } catch let error as YamlError {
            throw FaultPlanError(yamlError: error, file: file)
        } catch {
            throw FaultPlanError(.syntax, file: file, message: "cannot parse YAML: \(error)")
        }
        guard let node else { throw FaultPlanError(.syntax, file: file, line: 1, column: 1, message: "the fault plan is empty") }
        try self.init(node: node, file: file, limits: limits)
    }

    /// A plan from a YAML node — a whole plan file, or the `faults:` section of a scenario (so
    /// errors carry that file's name and lines). The node is either a mapping
    /// (`seed`, `faults`) or a bare list of faults (seed 0).
    package init(node: Node, file: String, limits: Limits = Limits()) throws(FaultPlanError) {
        let root = PlanNode(node: node, file: file, path: "")
        var seed: UInt64 = 0
        let list: PlanNode
        if case .sequence = node {
            list = root
        } else {
            try root.checkKeys(["seed", "faults"])
            if let s = root["seed"] { seed = try s.uint64() }
            list = try root.required("faults")
        }
        var faults: [Fault] = []
        for item in try list.sequence() {
            faults.append(try Self.parseFault(item, limits: limits))
        }
        self.init(seed: seed, faults: faults)
    }

    private static let intensityKeys = ["probability", "every", "rate"]

    private static func parseFault(_ item: PlanNode, limits: Limits) throws(FaultPlanError) -> Fault {
        let kindNode = try item.required("kind")
        let kindName = try kindNode.string()
        guard let kind = FaultKind(rawValue: kindName) else {
            throw kindNode.error(.unknownKind, "unknown fault kind '\(kindName)'", validChoices: FaultKind.names)
        }
        var allowed = ["kind"]
        switch kind {
        case .pipelineRestart: break
        case .throttledStarts: allowed += ["window", "select"]
        default: allowed += ["window", "select"] + intensityKeys
        }
        allowed += kind.parameterKeys
        try item.checkKeys(allowed)

        let window: FaultWindow
        if kind == .pipelineRestart {
            let at = try item.required("at")
            let downtime = try item.required("downtime")
            window = try checkedWindow(at: at.duration(), atNode: at, duration: downtime.duration(), durationNode: downtime, limits: limits)
        } else {
            guard let w = item["window"] else {
                throw item.error(.missingKey, "missing required key 'window' (write `window: always` for the whole run, or `window: {at: 10s, duration: 30s}`)")
            }
            window = try parseWindow(w, limits: limits)
        }

        let selector = try parseSelector(item["select"], kind: kind)
        let intensity = try parseIntensity(item)
        let effect = try parseEffect(item, kind: kind, window: window)
        let source = SourceLocation(file: item.file, line: item.line ?? 0, column: item.column ?? 0)
        return Fault(kind: kind, window: window, selector: selector, intensity: intensity, effect: effect, source: source)
    }

    private static func parseWindow(_ node: PlanNode, limits: Limits) throws(FaultPlanError) -> FaultWindow {
        if case .scalar = node.node {
            let text = try node.string()
            guard text == "always" else {
                throw node.error(.invalidValue, "a window is `always` or `{at: 10s, duration: 30s}`, found '\(text)'", validChoices: ["always", "{at, duration}"])
            }
            return .always
        }
        try node.checkKeys(["at", "duration"])
        let atNode = node["at"]
        let at = try atNode?.duration() ?? .zero
        let durationNode = try node.required("duration")
        return try checkedWindow(at: at, atNode: atNode ?? node, duration: durationNode.duration(), durationNode: durationNode, limits: limits)
    }

    private static func checkedWindow(at: Duration, atNode: PlanNode, duration: Duration, durationNode: PlanNode, limits: Limits) throws(FaultPlanError) -> FaultWindow {
        guard at >= .zero else { throw atNode.error(.impossibleWindow, "the window starts before the run does (\(format(at)))") }
        guard at <= limits.maxOffset else {
            throw atNode.error(.impossibleWindow, "the window starts at \(format(at)), beyond the longest run a plan may describe (\(format(limits.maxOffset)))")
        }
        guard duration > .zero else { throw durationNode.error(.impossibleWindow, "a window must last longer than zero, found \(format(duration))") }
        guard at + duration <= limits.maxOffset else {
            throw durationNode.error(.impossibleWindow, "the window ends at \(format(at + duration)), beyond the longest run a plan may describe (\(format(limits.maxOffset)))")
        }
        return .span(at: at, duration: duration)
    }

    private static func parseSelector(_ node: PlanNode?, kind: FaultKind) throws(FaultPlanError) -> FaultSelector {
        guard let node else { return FaultSelector() }
        try node.checkKeys(["service", "operation", "bucket", "key"])
        var selector = FaultSelector()
        var services = kind.services
        if let serviceNode = node["service"] {
            var chosen: [FaultService] = []
            for item in try serviceNode.scalarOrList() {
                let name = try item.string()
                guard let service = FaultService(rawValue: name) else {
                    throw item.error(.invalidValue, "unknown service '\(name)'", validChoices: FaultService.names)
                }
                guard kind.services.contains(service) else {
                    throw item.error(
                        .unmatchableSelector, "\(kind.rawValue) affects \(kind.services.map(\.rawValue).joined(separator: "/")) requests only: service '\(name)' can match nothing",
                        validChoices: kind.services.map(\.rawValue)
                    )
                }
                chosen.append(service)
            }
            guard !chosen.isEmpty else { throw serviceNode.error(.unmatchableSelector, "an empty service list matches nothing", validChoices: kind.services.map(\.rawValue)) }
            selector.services = chosen
            services = chosen
        }
        if let operationNode = node["operation"] {
            let valid = services.flatMap { kind.operations(of: $0) }
            var operations: [String] = []
            for item in try operationNode.scalarOrList() {
                let name = try item.string()
                guard valid.contains(name) else {
                    let scope = services.map(\.rawValue).joined(separator: "/")
                    throw item.error(.unmatchableSelector, "'\(name)' is not a \(scope) operation \(kind.rawValue) can affect: it can match nothing", validChoices: valid)
                }
                operations.append(name)
            }
            guard !operations.isEmpty else { throw operationNode.error(.unmatchableSelector, "an empty operation list matches nothing", validChoices: valid) }
            selector.operations = operations
        }
        for (key, isBucket) in [("bucket", true), ("key", false)] {
            guard let globNode = node[key] else { continue }
            if !services.contains(where: FaultKind.carriesObject) {
                throw globNode.error(
                    .unmatchableSelector, "\(services.map(\.rawValue).joined(separator: "/")) requests carry no bucket or key: a \(key) selector can match nothing",
                    validChoices: FaultService.allCases.filter(FaultKind.carriesObject).map(\.rawValue)
                )
            }
            var globs: [Glob] = []
            for item in try globNode.scalarOrList() {
                let pattern = try item.string()
                do {
                    globs.append(try Glob(pattern))
                } catch {
                    throw item.error(.unmatchableSelector, "\(key) pattern: \(error.description)")
                }
            }
            guard !globs.isEmpty else { throw globNode.error(.unmatchableSelector, "an empty \(key) list matches nothing") }
            if isBucket { selector.buckets = globs } else { selector.keys = globs }
        }
        return selector
    }

    private static func parseIntensity(_ item: PlanNode) throws(FaultPlanError) -> FaultIntensity {
        let given = intensityKeys.compactMap { key in item[key].map { (key, $0) } }
        guard given.count <= 1 else {
            throw given[1].1.error(.invalidValue, "give one of probability, every or rate, not both \(given[0].0) and \(given[1].0)", validChoices: intensityKeys)
        }
        guard let (key, node) = given.first else { return .always }
        switch key {
        case "probability":
            let p = try node.double()
            guard p > 0, p <= 1 else { throw node.error(.invalidValue, "probability must be in (0, 1], found \(p)") }
            return p == 1 ? .always : .probability(p)
        case "every":
            let n = try node.int()
            guard n >= 1 else { throw node.error(.invalidValue, "every must be a whole number ≥ 1 (every Nth matching request), found \(n)") }
            return n == 1 ? .always : .everyNth(n)
        default:
            return .rate(perSecond: try node.rate())
        }
    }

    private static func parseEffect(_ item: PlanNode, kind: FaultKind, window: FaultWindow) throws(FaultPlanError) -> FaultEffect {
        switch kind {
        case .taskFailure:
            let code = try item["exit-code"]?.int() ?? 1
            guard (1...255).contains(code) else { throw item["exit-code"]!.error(.invalidValue, "exit-code must be 1...255 (0 is success), found \(code)") }
            return .taskFailure(exitCode: Int32(code))
        case .taskCrash:
            let fraction = try item["output-fraction"]?.double() ?? 0.5
            guard fraction >= 0, fraction < 1 else {
                throw item["output-fraction"]!.error(.invalidValue, "output-fraction must be in [0, 1) (the part of the output written before the crash), found \(fraction)")
            }
            return .taskCrash(outputFraction: fraction)
        case .throttledStarts:
            let burst = try item["burst"]?.int()
            let refill = try item["refill-per-second"]?.double()
            let maxRunning = try item["max-running"]?.int()
            guard burst != nil || refill != nil || maxRunning != nil else {
                throw item.error(.missingKey, "throttled-starts needs at least one of burst, refill-per-second, max-running", validChoices: kind.parameterKeys)
            }
            if let burst, burst < 0 { throw item["burst"]!.error(.invalidValue, "burst must be ≥ 0, found \(burst)") }
            if let refill, refill < 0 { throw item["refill-per-second"]!.error(.invalidValue, "refill-per-second must be ≥ 0, found \(refill)") }
            if let maxRunning, maxRunning < 0 { throw item["max-running"]!.error(.invalidValue, "max-running must be ≥ 0, found \(maxRunning)") }
            return .throttledStarts(burst: burst, refillPerSecond: refill, maxRunning: maxRunning)
        case .endpointOutage:
            return .endpointOutage(try parseOutage(item))
        case .eventDeliveryFailure:
            let code = try item["error-code"]?.string() ?? "ThrottlingException"
            guard !code.isEmpty, code.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "." }) else {
                throw item["error-code"]!.error(.invalidValue, "error-code must be a plain code such as ThrottlingException, found '\(code)'")
            }
            return .eventDeliveryFailure(errorCode: code, retryable: try item["retryable"]?.bool() ?? true)
        case .duplicateDelivery:
            let copies = try item["copies"]?.int() ?? 1
            guard (1...100).contains(copies) else { throw item["copies"]!.error(.invalidValue, "copies (extra deliveries) must be 1...100, found \(copies)") }
            return .duplicateDelivery(copies: copies)
        case .delayedDelivery:
            let delayNode = try item.required("delay")
            let delay = try delayNode.duration()
            guard delay > .zero else { throw delayNode.error(.invalidValue, "delay must be positive, found \(format(delay))") }
            let jitter = try item["jitter"]?.duration() ?? .zero
            guard jitter >= .zero else { throw item["jitter"]!.error(.invalidValue, "jitter must be ≥ 0, found \(format(jitter))") }
            return .delayedDelivery(delay: delay, jitter: jitter)
        case .reorderedDelivery:
            let node = try item.required("max-delay")
            let maxDelay = try node.duration()
            guard maxDelay > .zero else { throw node.error(.invalidValue, "max-delay must be positive, found \(format(maxDelay))") }
            return .reorderedDelivery(maxDelay: maxDelay)
        case .ledgerThrottling:
            return .ledgerThrottling
        case .pipelineRestart:
            guard case .span(_, let downtime) = window else { return .pipelineRestart(downtime: .zero) }
            return .pipelineRestart(downtime: downtime)
        }
    }

    private static func parseOutage(_ item: PlanNode) throws(FaultPlanError) -> OutageEffect {
        let effectNode = try item.required("effect")
        let name = try effectNode.string()
        guard OutageEffect.names.contains(name) else {
            throw effectNode.error(.invalidValue, "unknown effect '\(name)'", validChoices: OutageEffect.names)
        }
        let uses: [String: [String]] = [
            "latency": ["latency", "jitter"], "bandwidth": ["bytes-per-second"], "slicing": ["slice-bytes", "slice-delay"],
        ]
        let mine = uses[name] ?? []
        for key in ["latency", "jitter", "bytes-per-second", "slice-bytes", "slice-delay"] where !mine.contains(key) {
            if let stray = item[key] {
                let owner = uses.first { $0.value.contains(key) }?.key ?? "?"
                throw stray.error(.unknownKey, "'\(key)' applies to effect \(owner), not \(name)", validChoices: mine)
            }
        }
        switch name {
        case "status-503": return .status503
        case "status-500": return .status500
        case "reset": return .reset
        case "hang": return .hang
        case "latency":
            let node = try item.required("latency")
            let latency = try node.duration()
            guard latency > .zero else { throw node.error(.invalidValue, "latency must be positive, found \(format(latency))") }
            let jitter = try item["jitter"]?.duration() ?? .zero
            guard jitter >= .zero else { throw item["jitter"]!.error(.invalidValue, "jitter must be ≥ 0") }
            return .latency(latency, jitter: jitter)
        case "bandwidth":
            let node = try item.required("bytes-per-second")
            let rate = try node.byteCount()
            guard rate >= 1 else { throw node.error(.invalidValue, "bytes-per-second must be at least 1") }
            return .bandwidth(bytesPerSecond: rate)
        default:
            let bytesNode = try item.required("slice-bytes")
            let bytes = try bytesNode.byteCount()
            guard bytes >= 1 else { throw bytesNode.error(.invalidValue, "slice-bytes must be at least 1") }
            let delayNode = try item.required("slice-delay")
            let delay = try delayNode.duration()
            guard delay >= .zero else { throw delayNode.error(.invalidValue, "slice-delay must be ≥ 0") }
            return .slicing(bytes: bytes, delay: delay)
        }
    }

    static func format(_ duration: Duration) -> String {
        let (s, atto) = duration.components
        if atto == 0 { return "\(s)s" }
        return "\(Double(s) + Double(atto) / 1e18)s"
    }
}

extension FaultPlanError {
    init(yamlError: YamlError, file: String) {
        switch yamlError {
        case let .scanner(context, problem, mark, _), let .parser(context, problem, mark, _), let .composer(context, problem, mark, _):
            let text = [context.map { "\($0.text)" }, problem].compactMap { $0 }.joined(separator: ": ")
            self.init(.syntax, file: file, line: mark.line, column: mark.column, message: "invalid YAML: \(text)")
        case let .duplicatedKeysInMapping(duplicates, context):
            self.init(.syntax, file: file, line: context.mark.line, column: context.mark.column, message: "duplicated key(s) \(duplicates.joined(separator: ", "))")
        default:
            self.init(.syntax, file: file, message: "invalid YAML: \(yamlError)")
        }
    }
}

/// A YAML node with its file and dotted path, whose accessors throw ``FaultPlanError``s that
/// carry file:line:column.
struct PlanNode {
    let node: Node
    let file: String
    let path: String

    var line: Int? { node.mark?.line }
    var column: Int? { node.mark?.column }

    func error(_ code: FaultPlanError.Code, _ message: String, validChoices: [String] = []) -> FaultPlanError {
        FaultPlanError(code, file: file, line: line, column: column, message: (path.isEmpty ? "" : "\(path): ") + message, validChoices: validChoices)
    }

    private func child(_ node: Node, _ key: String) -> PlanNode {
        PlanNode(node: node, file: file, path: path.isEmpty ? key : "\(path).\(key)")
    }

    subscript(key: String) -> PlanNode? {
        guard case .mapping(let mapping) = node, let value = mapping[key] else { return nil }
        return child(value, key)
    }

    func required(_ key: String) throws(FaultPlanError) -> PlanNode {
        guard case .mapping = node else { throw error(.syntax, "expected a mapping (key: value pairs), found \(kindName)") }
        guard let value = self[key] else { throw error(.missingKey, "missing required key '\(key)'") }
        return value
    }

    func checkKeys(_ allowed: [String]) throws(FaultPlanError) {
        guard case .mapping(let mapping) = node else { throw error(.syntax, "expected a mapping (key: value pairs), found \(kindName)") }
        for (key, _) in mapping {
            guard case .scalar(let scalar) = key else { throw child(key, "?").error(.syntax, "keys must be plain strings") }
            guard allowed.contains(scalar.string) else {
                throw PlanNode(node: key, file: file, path: path).error(.unknownKey, "unknown key '\(scalar.string)'", validChoices: allowed)
            }
        }
    }

    func sequence() throws(FaultPlanError) -> [PlanNode] {
        guard case .sequence(let items) = node else { throw error(.syntax, "expected a list, found \(kindName)") }
        return items.enumerated().map { PlanNode(node: $1, file: file, path: "\(path)[\($0)]") }
    }

    /// A single value or a list of values.
    func scalarOrList() throws(FaultPlanError) -> [PlanNode] {
        if case .sequence = node { return try sequence() }
        return [self]
    }

    func string() throws(FaultPlanError) -> String {
        guard case .scalar(let scalar) = node else { throw error(.syntax, "expected a single value, found \(kindName)") }
        return scalar.string
    }

    func int() throws(FaultPlanError) -> Int {
        let text = try string().replacingOccurrences(of: "_", with: "")
        guard let value = Int(text) else { throw error(.invalidValue, "expected a whole number, found '\(text)'") }
        return value
    }

    func uint64() throws(FaultPlanError) -> UInt64 {
        let text = try string().replacingOccurrences(of: "_", with: "")
        guard let value = UInt64(text) else { throw error(.invalidValue, "expected an unsigned 64-bit integer, found '\(text)'") }
        return value
    }

    func double() throws(FaultPlanError) -> Double {
        let text = try string().replacingOccurrences(of: "_", with: "")
        guard let value = Double(text), value.isFinite else { throw error(.invalidValue, "expected a number, found '\(text)'") }
        return value
    }

    func bool() throws(FaultPlanError) -> Bool {
        switch try string().lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: throw error(.invalidValue, "expected true or false, found '\((try? string()) ?? "")'", validChoices: ["true", "false"])
        }
    }

    static let durationUnits: [(String, Double)] = [("ms", 1e-3), ("us", 1e-6), ("µs", 1e-6), ("ns", 1e-9), ("s", 1), ("min", 60), ("m", 60), ("h", 3600)]

    /// `10s`, `500ms`, `1.5m`, `2h`, or a plain number of seconds.
    func duration() throws(FaultPlanError) -> Duration {
        let text = try string().trimmingCharacters(in: .whitespaces)
        if let seconds = Double(text), seconds.isFinite { return Self.seconds(seconds) }
        for (unit, scale) in Self.durationUnits where text.hasSuffix(unit) {
            if let value = Double(text.dropLast(unit.count).trimmingCharacters(in: .whitespaces)), value.isFinite {
                return Self.seconds(value * scale)
            }
        }
        throw error(.invalidValue, "expected a duration such as 10s, 500ms, 2m or 1h, found '\(text)'", validChoices: ["ms", "s", "m", "h"])
    }

    static func seconds(_ value: Double) -> Duration {
        .nanoseconds(Int64((value * 1e9).rounded()))
    }

    /// `2/s`, `120/m`, `0.5` (per second).
    func rate() throws(FaultPlanError) -> Double {
        let text = try string().replacingOccurrences(of: " ", with: "")
        var value: Double?
        if let plain = Double(text) {
            value = plain
        } else if let slash = text.firstIndex(of: "/"), let count = Double(text[..<slash]) {
            switch text[text.index(after: slash)...] {
            case "s": value = count
            case "m", "min": value = count / 60
            case "h": value = count / 3600
            default: value = nil
            }
        }
        guard let value, value.isFinite else { throw error(.invalidValue, "expected a rate such as 2/s, 30/m or 100/h, found '\(text)'", validChoices: ["N/s", "N/m", "N/h"]) }
        guard value > 0 else { throw error(.invalidValue, "a rate must be positive, found '\(text)'") }
        return value
    }

    static let byteUnits: [(String, Int)] = [
        ("KiB", 1 << 10), ("MiB", 1 << 20), ("GiB", 1 << 30), ("KB", 1000), ("MB", 1_000_000), ("GB", 1_000_000_000), ("B", 1),
    ]

    /// `65536`, `64KiB`, `1MiB`, `10MB` (a trailing `/s` is allowed).
    func byteCount() throws(FaultPlanError) -> Int {
        var text = try string().replacingOccurrences(of: " ", with: "").replacingOccurrences(of: "_", with: "")
        if text.hasSuffix("/s") { text.removeLast(2) }
        if let plain = Int(text) { return plain }
        for (unit, scale) in Self.byteUnits where text.hasSuffix(unit) {
            if let value = Double(text.dropLast(unit.count)), value.isFinite, value >= 0 { return Int(value * Double(scale)) }
        }
        throw error(.invalidValue, "expected a byte count such as 65536, 64KiB or 1MiB, found '\(text)'", validChoices: Self.byteUnits.map(\.0))
    }

    private var kindName: String {
        switch node {
        case .scalar: return "a single value"
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        }
    }
}
