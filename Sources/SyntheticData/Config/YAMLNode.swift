import Foundation
import Yams

/// A YAML node that remembers where it came from, with typed accessors whose errors
/// carry file:line:column. Schemas, scenarios and fault plans are all read through it.
package struct YAMLNode {
    package let node: Node
    package let file: String
    /// Dotted path of keys from the document root, for messages ("columns[3].type").
    package let path: String

    package init(node: Node, file: String, path: String = "") {
        self.node = node
        self.file = file
        self.path = path
    }

    /// Parses a whole document. Syntax errors name the file, line and column.
    package static func parse(yaml: String, file: String) throws(ConfigError) -> YAMLNode {
        let composed: Node?
        do {
            composed = try Yams.compose(yaml: yaml)
        } catch let error as YamlError {
            throw ConfigError(yamlError: error, file: file)
        } catch {
            throw ConfigError(file: file, message: "cannot parse YAML: \(error)")
        }
        guard let composed else {
            throw ConfigError(file: file, line: 1, column: 1, message: "the file is empty")
        }
        return YAMLNode(node: composed, file: file)
    }

    package var line: Int? { node.mark?.line }
    package var column: Int? { node.mark?.column }

    package func error(_ message: String, validChoices: [String] = []) -> ConfigError {
        let subject = path.isEmpty ? "" : "\(path): "
        return ConfigError(file: file, line: line, column: column, message: subject + message, validChoices: validChoices)
    }

    // MARK: Mappings

    /// The (key, value) pairs of a mapping, in file order.
    package func mappingEntries() throws(ConfigError) -> [(key: String, keyNode: YAMLNode, value: YAMLNode)] {
        guard case let .mapping(mapping) = node else {
            throw error("expected a mapping (key: value pairs), found \(kindName)")
        }
        var result: [(key: String, keyNode: YAMLNode, value: YAMLNode)] = []
        result.reserveCapacity(mapping.count)
        for (key, value) in mapping {
            guard case let .scalar(scalar) = key else {
                throw YAMLNode(node: key, file: file, path: path).error("keys must be plain strings")
            }
            let childPath = path.isEmpty ? scalar.string : "\(path).\(scalar.string)"
            result.append((scalar.string, YAMLNode(node: key, file: file, path: childPath), YAMLNode(node: value, file: file, path: childPath)))
        }
        return result
    }

    /// Fails on the first key that is not in `allowed`, naming the allowed keys.
    package func checkKeys(allowed: [String]) throws(ConfigError) {
        for entry in try mappingEntries() where !allowed.contains(entry.key) {
            throw entry.keyNode.error("unknown key '\(entry.key)'", validChoices: allowed)
        }
    }

    package subscript(key: String) -> YAMLNode? {
        guard case let .mapping(mapping) = node, let value = mapping[key] else { return nil }
        return YAMLNode(node: value, file: file, path: path.isEmpty ? key : "\(path).\(key)")
    }

    package func required(_ key: String) throws(ConfigError) -> YAMLNode {
        guard case .mapping = node else {
            throw error("expected a mapping (key: value pairs), found \(kindName)")
        }
        guard let value = self[key] else { throw error("missing required key '\(key)'") }
        return value
    }

    // MARK: Sequences

    package func sequence() throws(ConfigError) -> [YAMLNode] {
        guard case let .sequence(sequence) = node else {
            throw error("expected a list, found \(kindName)")
        }
        return sequence.enumerated().map { index, item in
            YAMLNode(node: item, file: file, path: "\(path)[\(index)]")
        }
    }

    // MARK: Scalars

    package var isNull: Bool {
        if case let .scalar(scalar) = node { return scalar.string == "~" || scalar.string == "null" || (scalar.string.isEmpty && scalar.style == .plain) }
        return false
    }

    package func string() throws(ConfigError) -> String {
        guard case let .scalar(scalar) = node else { throw error("expected a single value, found \(kindName)") }
        return scalar.string
    }

    package func int() throws(ConfigError) -> Int {
        let text = try string().replacingOccurrences(of: "_", with: "")
        guard let value = Int(text) else { throw error("expected a whole number, found '\(text)'") }
        return value
    }

    package func double() throws(ConfigError) -> Double {
        let text = try string().replacingOccurrences(of: "_", with: "")
        guard let value = Double(text), value.isFinite else { throw error("expected a number, found '\(text)'") }
        return value
    }

    package func bool() throws(ConfigError) -> Bool {
        switch try string().lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: throw error("expected true or false, found '\((try? string()) ?? "")'", validChoices: ["true", "false"])
        }
    }

    /// A value from a closed set; the error lists the set.
    package func choice(of choices: [String]) throws(ConfigError) -> String {
        let text = try string()
        guard choices.contains(text) else {
            throw error("unknown value '\(text)'", validChoices: choices)
        }
        return text
    }

    package func stringList() throws(ConfigError) -> [String] {
        var result: [String] = []
        for item in try sequence() { result.append(try item.string()) }
        return result
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

extension ConfigError {
    init(yamlError: YamlError, file: String) {
        switch yamlError {
        case let .scanner(context, problem, mark, _), let .parser(context, problem, mark, _), let .composer(context, problem, mark, _):
            let text = [context.map { "\($0.text)" }, problem].compactMap { $0 }.joined(separator: ": ")
            self.init(file: file, line: mark.line, column: mark.column, message: "invalid YAML: \(text)")
        case let .duplicatedKeysInMapping(duplicates, context):
            self.init(file: file, line: context.mark.line, column: context.mark.column, message: "duplicated key(s) \(duplicates.joined(separator: ", "))")
        default:
            self.init(file: file, message: "invalid YAML: \(yamlError)")
        }
    }
}
