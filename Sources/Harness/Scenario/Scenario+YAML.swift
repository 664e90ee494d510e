import SyntheticData
import Yams

extension Scenario {
    /// The scenario with every default filled in, as YAML that ``parse(yaml:file:fileExists:)``
    /// reads back to the same scenario (results/<run>/scenario.resolved.yaml).
    package func resolvedYAML() -> String {
        var root: [(Node, Node)] = [
            ("name", Node(name)),
            ("description", Node(description)),
            ("target", targetNode),
            ("dataset", datasetNode),
            ("load", loadNode),
        ]
        if let faults { root.append(("faults", faults.node)) }
        if !thresholds.isEmpty {
            var byMetric: [(String, [Node])] = []
            for threshold in thresholds {
                if let index = byMetric.firstIndex(where: { $0.0 == threshold.metric }) {
                    byMetric[index].1.append(Node(threshold.expression))
                } else {
                    byMetric.append((threshold.metric, [Node(threshold.expression)]))
                }
            }
            let pairs: [(Node, Node)] = byMetric.map { (Node($0.0), Node($0.1, .implicit, .flow)) }
            root.append(("thresholds", Node(pairs)))
        }
        root.append(("quiescence", Self.mapping([("idle", Self.node(quiescence.idle)), ("deadline", Self.node(quiescence.deadline))])))
        if let baseline {
            let tolerances: [(Node, Node)] = baseline.tolerances.map { (Node($0.metric.description), Node($0.tolerance.text(for: $0.metric))) }
            root.append(("baseline", Self.mapping([("file", Node(baseline.file)), ("tolerances", Node(tolerances))])))
        }
        // Serializing a tree we built (plain strings and numbers) cannot fail.
        return (try? Yams.serialize(node: Node(root), width: -1, allowUnicode: true)) ?? ""
    }

    static func mapping(_ pairs: [(Node, Node)], _ tag: Tag = .implicit, _ style: Node.Mapping.Style = .any) -> Node {
        .mapping(Node.Mapping(pairs, tag, style))
    }

    static func node(_ duration: Duration) -> Node { Node(DurationText.format(duration)) }
    static func node(_ size: ByteSize) -> Node { Node(Self.sizeText(size)) }
    static func node(_ number: Double) -> Node { Node(DurationText.trimmed(number)) }
    static func node(_ number: Int) -> Node { Node(String(number)) }
    static func node(_ rate: ArrivalRate) -> Node { Node(rate.description) }

    /// The largest binary unit that divides the size exactly: `64MiB`, `1536KiB`, `100B`.
    static func sizeText(_ size: ByteSize) -> String {
        for (unit, factor) in [("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)] where size.bytes >= factor && size.bytes % factor == 0 {
            return "\(size.bytes / factor)\(unit)"
        }
        return "\(size.bytes)B"
    }

    static func node(_ distribution: DurationDistribution) -> Node {
        switch distribution {
        case let .fixed(value): return Self.mapping([("distribution", "fixed"), ("value", node(value))], .implicit, .flow)
        case let .uniform(low, high): return Self.mapping([("distribution", "uniform"), ("min", node(low)), ("max", node(high))], .implicit, .flow)
        case let .logNormal(median, p99): return Self.mapping([("distribution", "log-normal"), ("median", node(median)), ("p99", node(p99))], .implicit, .flow)
        }
    }

    static func node(_ rule: RetryRule) -> Node {
        Self.mapping([("interval", node(rule.interval)), ("backoffRate", node(rule.backoffRate)), ("maxAttempts", node(rule.maxAttempts))], .implicit, .flow)
    }

    var targetNode: Node {
        switch target {
        case let .emulated(emulated):
            var pairs: [(Node, Node)] = [
                ("timeScale", Self.node(emulated.timeScale)),
                ("tasks", Self.mapping([
                    ("maxRunning", Self.node(emulated.tasks.maxRunning)),
                    ("launchBucket", Self.mapping([("burst", Self.node(emulated.tasks.launchBurst)), ("refillPerSecond", Self.node(emulated.tasks.launchRefillPerSecond))], .implicit, .flow)),
                    ("launchLatency", Self.node(emulated.tasks.launchLatency)),
                ])),
                ("processor", Self.mapping([("duration", Self.node(emulated.processor.duration)), ("dropOutput", Self.node(emulated.processor.dropOutput))])),
                ("workflow", Self.mapping([("launchRetry", Self.node(emulated.workflow.launchRetry)), ("taskRetry", Self.node(emulated.workflow.taskRetry))])),
                ("events", Self.mapping([
                    ("maxRetryAttempts", Self.node(emulated.events.maxRetryAttempts)),
                    ("maxEventAge", Self.node(emulated.events.maxEventAge)),
                    ("duplicateRate", Self.node(emulated.events.duplicateRate)),
                ])),
            ]
            pairs.append(("seed", Node(String(emulated.seed ?? dataset.seed))))
            return Self.mapping([("emulated", Node(pairs))])
        case let .endpoint(endpoint):
            var pairs: [(Node, Node)] = []
            if let s3 = endpoint.s3 { pairs.append(("s3", Node(s3))) }
            if let dynamodb = endpoint.dynamodb { pairs.append(("dynamodb", Node(dynamodb))) }
            if let sqs = endpoint.sqs { pairs.append(("sqs", Node(sqs))) }
            pairs.append(("buckets", Self.mapping([("raw", Node(endpoint.buckets.raw)), ("processed", Node(endpoint.buckets.processed)), ("failed", Node(endpoint.buckets.failed))], .implicit, .flow)))
            pairs.append(("jobTable", Node(endpoint.jobTable)))
            pairs.append(("retryQueue", Node(endpoint.retryQueue)))
            if let profile = endpoint.profile { pairs.append(("profile", Node(profile))) }
            pairs.append(("region", Node(endpoint.region)))
            if let ecs = endpoint.ecs {
                var fields: [(Node, Node)] = [("cluster", Node(ecs.cluster)), ("family", Node(ecs.family))]
                if let variable = ecs.keyVariable { fields.append(("keyVariable", Node(variable))) }
                if let url = ecs.endpoint { fields.append(("endpoint", Node(url))) }
                fields.append(("pollInterval", Node(DurationText.format(ecs.pollInterval))))
                pairs.append(("ecs", Self.mapping(fields)))
            }
            return Self.mapping([("endpoint", Node(pairs))])
        }
    }

    var datasetNode: Node {
        var pairs: [(Node, Node)] = [("schema", Node(dataset.schema)), ("seed", Node(String(dataset.seed)))]
        if let files = dataset.files { pairs.append(("files", Self.node(files))) }
        let size: Node
        switch dataset.size {
        case let .fixed(bytes):
            size = Self.mapping([("distribution", "fixed"), ("size", Self.node(bytes))], .implicit, .flow)
        case let .uniform(low, high):
            size = Self.mapping([("distribution", "uniform"), ("min", Self.node(low)), ("max", Self.node(high))], .implicit, .flow)
        case let .logNormal(mu, sigma, low, high):
            var items: [(Node, Node)] = [("distribution", "log-normal"), ("mu", Node(String(mu))), ("sigma", Node(String(sigma)))]
            if let low { items.append(("min", Self.node(low))) }
            if let high { items.append(("max", Self.node(high))) }
            size = Node(items, .implicit, .flow)
        }
        pairs.append(("size", size))
        pairs.append(("malformedFraction", Self.node(dataset.malformedFraction)))
        let modes: [Node] = dataset.malformedModes.map { Node($0.rawValue) }
        pairs.append(("malformedModes", Node(modes, .implicit, .flow)))
        pairs.append(("keyPrefix", Node(dataset.keyPrefix)))
        return Node(pairs)
    }

    var loadNode: Node {
        var pairs: [(Node, Node)] = []
        switch load.model {
        case let .open(arrival):
            pairs.append(("model", "open"))
            var items: [(Node, Node)]
            switch arrival {
            case let .constant(rate, duration):
                items = [("executor", "constant-arrival-rate"), ("rate", Self.node(rate))]
                if let duration { items.append(("duration", Self.node(duration))) }
            case let .poisson(rate, duration):
                items = [("executor", "poisson"), ("rate", Self.node(rate))]
                if let duration { items.append(("duration", Self.node(duration))) }
            case let .ramping(start, stages):
                items = [("executor", "ramping-arrival-rate"), ("startRate", Self.node(start))]
                let stageNodes: [Node] = stages.map { stage in
                    let pairs: [(Node, Node)] = [("target", Self.node(stage.target)), ("duration", Self.node(stage.duration))]
                    return Node(pairs, .implicit, .flow)
                }
                items.append(("stages", Node(stageNodes)))
            }
            pairs.append(("arrival", Node(items)))
        case let .closed(concurrency):
            pairs.append(("model", "closed"))
            pairs.append(("concurrency", Self.node(concurrency)))
        }
        pairs.append(("maxFilesInFlight", Self.node(load.maxFilesInFlight)))
        pairs.append(("upload", Self.mapping([("partSize", Self.node(load.partSize)), ("partsInFlight", Self.node(load.partsInFlight))], .implicit, .flow)))
        if let duration = load.duration { pairs.append(("duration", Self.node(duration))) }
        return Node(pairs)
    }
}
