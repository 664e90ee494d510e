import Crypto
import Foundation

/// Reads schema YAML files (generators/*.yaml). Every error names the file, line and
/// column, and lists the valid choices where there is a closed set.
public enum SchemaLoader {
    static let topLevelKeys = ["name", "description", "dictionaries", "columns"]
    static let commonColumnKeys = ["name", "type", "nullRate", "pii"]

    /// Loads a schema file and the dictionaries it names.
    public static func load(path: String) throws(ConfigError) -> Schema {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw ConfigError(file: path, message: "cannot read the schema file (\(error.localizedDescription))")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigError(file: path, message: "the schema file is not UTF-8")
        }
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        return try parse(yaml: text, file: path, baseDirectory: directory)
    }

    /// Parses schema text; dictionaries are read relative to `baseDirectory`.
    public static func parse(yaml: String, file: String, baseDirectory: String) throws(ConfigError) -> Schema {
        let root = try YAMLNode.parse(yaml: yaml, file: file)
        try root.checkKeys(allowed: topLevelKeys)
        let name = try root.required("name").string()
        let description = try root["description"]?.string()
        let dictionaryFolder = try root["dictionaries"]?.string() ?? "data"
        let dictionaryPath = dictionaryFolder.hasPrefix("/") ? dictionaryFolder : "\(baseDirectory)/\(dictionaryFolder)"

        var hasher = SHA256()
        hasher.update(data: Data(yaml.utf8))
        var lists: [String: WordList] = [:]
        for fileName in Dictionaries.files {
            let listPath = "\(dictionaryPath)/\(fileName)"
            guard let contents = try? String(contentsOfFile: listPath, encoding: .utf8) else {
                throw (root["dictionaries"] ?? root).error("cannot read dictionary '\(listPath)' (the folder must hold \(Dictionaries.files.joined(separator: ", ")))")
            }
            hasher.update(data: Data(fileName.utf8))
            hasher.update(data: Data(contents.utf8))
            let list = WordList(name: fileName, fileContents: contents)
            guard list.count > 0 else { throw ConfigError(file: listPath, message: "the dictionary is empty") }
            for index in 0..<list.count where list.word(index).contains(where: { $0 == 0x2C || $0 == 0x22 || $0 < 0x20 }) || list.maxLength > 64 {
                throw ConfigError(file: listPath, message: "entry '\(list.string(index))' must be at most 64 bytes and free of commas, quotes and control characters")
            }
            lists[fileName] = list
        }
        let dictionaries = Dictionaries(
            firstNames: lists["first_names.txt"]!,
            lastNames: lists["last_names.txt"]!,
            streets: lists["streets.txt"]!,
            cities: lists["cities.txt"]!,
            areaCodes: lists["area_codes.txt"]!,
            words: lists["words.txt"]!,
            merchants: lists["merchants.txt"]!,
            streetSuffixes: WordList(name: "suffixes", words: ["St", "Ave", "Rd", "Blvd", "Ln", "Dr", "Ct", "Way", "Pl", "Ter"]),
            firstNamesLower: lists["first_names.txt"]!.lowercased(),
            lastNamesLower: lists["last_names.txt"]!.lowercased()
        )

        let columnNodes = try root.required("columns").sequence()
        guard !columnNodes.isEmpty else { throw try root.required("columns").error("a schema needs at least one column") }
        var columns: [Column] = []
        var seen: Set<String> = []
        for node in columnNodes {
            let column = try parseColumn(node)
            if !seen.insert(column.name).inserted {
                throw try node.required("name").error("duplicate column name '\(column.name)'")
            }
            columns.append(column)
        }
        let fingerprint = hasher.finalize().map { String(format: "%02x", $0) }.joined()
        return Schema(name: name, description: description, columns: columns, sourcePath: file, fingerprint: fingerprint, dictionaries: dictionaries)
    }

    static func parseColumn(_ node: YAMLNode) throws(ConfigError) -> Column {
        let nameNode = try node.required("name")
        let name = try nameNode.string()
        guard !name.isEmpty, !name.contains(where: { $0 == "," || $0 == "\"" || $0.isNewline }) else {
            throw nameNode.error("a column name must be non-empty and free of commas, quotes and line breaks")
        }
        let typeNode = try node.required("type")
        let typeName = try typeNode.choice(of: ColumnKind.typeNames)
        let (kind, extraKeys) = try parseKind(typeName, node)
        try node.checkKeys(allowed: commonColumnKeys + extraKeys)
        var nullRate = 0.0
        if let rateNode = node["nullRate"] {
            nullRate = try rateNode.double()
            guard (0...1).contains(nullRate) else { throw rateNode.error("nullRate must be between 0 and 1, found \(nullRate)") }
        }
        var isPII = kind.isPIIByDefault
        if case .notes = kind { isPII = false }
        if let piiNode = node["pii"] {
            isPII = try piiNode.bool()
            if isPII, kind.defaultPIIKind == nil {
                throw piiNode.error("type '\(typeName)' cannot be marked pii (PII types: \(ColumnKind.typeNames.filter { ["first_name", "last_name", "full_name", "email", "phone", "ssn", "street_address", "credit_card", "iban", "ipv4", "ipv6", "date", "url"].contains($0) }.joined(separator: ", ")))")
            }
        }
        return Column(name: name, kind: kind, nullRate: nullRate, isPII: isPII, typeName: typeName)
    }

    // swiftlint:disable:next cyclomatic_complexity function_body_length
    static func parseKind(_ type: String, _ node: YAMLNode) throws(ConfigError) -> (ColumnKind, [String]) {
        switch type {
        case "sequence":
            return (.sequence(start: Int64(try node["start"]?.int() ?? 1)), ["start"])
        case "integer":
            let (low, high) = try bounds(node, defaultMin: 0, defaultMax: 1_000_000) { n throws(ConfigError) in Int64(try n.int()) }
            return (.integer(min: low, max: high), ["min", "max"])
        case "decimal":
            let scale = try node["scale"]?.int() ?? 2
            guard (0...9).contains(scale) else { throw node["scale"]!.error("scale must be 0…9") }
            let factor = pow(10.0, Double(scale))
            let (low, high) = try bounds(node, defaultMin: 0, defaultMax: 1000 * Int64(factor)) { n throws(ConfigError) in
                let value = try n.double() * factor
                guard abs(value) < 9e15 else { throw n.error("value out of range") }
                return Int64(value.rounded())
            }
            return (.decimal(min: low, max: high, scale: scale), ["min", "max", "scale"])
        case "choice":
            return (.choice(try weightedChoice(node, valuesKey: "values", defaultValues: nil)), ["values", "weights"])
        case "uuid": return (.uuid, [])
        case "first_name": return (.firstName, [])
        case "last_name": return (.lastName, [])
        case "full_name": return (.fullName, [])
        case "email":
            let domains = try weightedChoice(node, valuesKey: "domains", defaultValues: ["example.com", "example.net", "example.org"])
            if let domainNode = node["domains"] {
                for item in try domainNode.sequence() {
                    let domain = try item.string().lowercased()
                    guard isReservedDomain(domain) else {
                        throw item.error("'\(domain)' is not a reserved domain; generated addresses must never reach a real mailbox", validChoices: ["example.com", "example.net", "example.org", "*.example.com", "*.test", "*.example"])
                    }
                }
            }
            return (.email(domains: domains), ["domains", "weights"])
        case "phone":
            let format = try node["format"].map { n throws(ConfigError) in PhoneFormat(rawValue: try n.choice(of: PhoneFormat.allCases.map(\.rawValue)))! } ?? .national
            return (.phone(format), ["format"])
        case "ssn": return (.ssn, [])
        case "date":
            let from = try node["from"].map(parseDate) ?? daysFromCivil(year: 1940, month: 1, day: 1)
            let to = try node["to"].map(parseDate) ?? daysFromCivil(year: 2005, month: 12, day: 31)
            guard from <= to else { throw node["from"]!.error("'from' is after 'to'") }
            return (.date(fromDay: from, toDay: to), ["from", "to"])
        case "timestamp":
            let from = try node["from"].map(parseTimestamp) ?? Int64(daysFromCivil(year: 2015, month: 1, day: 1)) * 86_400
            let to = try node["to"].map(parseTimestamp) ?? Int64(daysFromCivil(year: 2025, month: 12, day: 31)) * 86_400
            guard from <= to else { throw node["from"]!.error("'from' is after 'to'") }
            return (.timestamp(from: from, to: to), ["from", "to"])
        case "street_address": return (.streetAddress, [])
        case "city": return (.city, [])
        case "postal_code": return (.postalCode, [])
        case "credit_card":
            var brands = CardBrand.allCases
            if let brandNode = node["brands"] {
                brands = []
                for item in try brandNode.sequence() {
                    brands.append(CardBrand(rawValue: try item.choice(of: CardBrand.allCases.map(\.rawValue)))!)
                }
                guard !brands.isEmpty else { throw brandNode.error("name at least one brand", validChoices: CardBrand.allCases.map(\.rawValue)) }
            }
            let grouped = try node["grouped"]?.bool() ?? false
            return (.creditCard(brands: brands, grouped: grouped), ["brands", "grouped"])
        case "iban":
            var countries = IBANCountry.allCases
            if let countryNode = node["countries"] {
                countries = []
                for item in try countryNode.sequence() {
                    countries.append(IBANCountry(rawValue: try item.choice(of: IBANCountry.allCases.map(\.rawValue)))!)
                }
                guard !countries.isEmpty else { throw countryNode.error("name at least one country", validChoices: IBANCountry.allCases.map(\.rawValue)) }
            }
            return (.iban(countries: countries), ["countries"])
        case "ipv4": return (.ipv4, [])
        case "ipv6": return (.ipv6, [])
        case "url": return (.url, [])
        case "merchant": return (.merchant, [])
        case "notes":
            var minWords = 5
            var maxWords = 25
            if let wordsNode = node["words"] {
                let pair = try wordsNode.sequence()
                guard pair.count == 2 else { throw wordsNode.error("words takes [min, max]") }
                minWords = try pair[0].int()
                maxWords = try pair[1].int()
                guard minWords >= 1, minWords <= maxWords, maxWords <= 200 else {
                    throw wordsNode.error("words needs 1 ≤ min ≤ max ≤ 200, found [\(minWords), \(maxWords)]")
                }
            }
            var piiRate = 0.3
            if let rateNode = node["piiRate"] {
                piiRate = try rateNode.double()
                guard (0...1).contains(piiRate) else { throw rateNode.error("piiRate must be between 0 and 1") }
            }
            let embeddable: [PIIKind] = [.email, .phone, .ssn, .creditCard, .iban, .ipv4]
            var embedded = embeddable
            if let embedNode = node["embed"] {
                embedded = []
                for item in try embedNode.sequence() {
                    embedded.append(PIIKind(rawValue: try item.choice(of: embeddable.map(\.rawValue)))!)
                }
                guard !embedded.isEmpty else { throw embedNode.error("name at least one kind", validChoices: embeddable.map(\.rawValue)) }
            }
            return (.notes(NotesOptions(minWords: minWords, maxWords: maxWords, piiThreshold: fixedPointProbability(piiRate), embedded: embedded)), ["words", "piiRate", "embed"])
        default:
            throw node.error("unknown type '\(type)'", validChoices: ColumnKind.typeNames)
        }
    }

    static func bounds(_ node: YAMLNode, defaultMin: Int64, defaultMax: Int64, _ read: (YAMLNode) throws(ConfigError) -> Int64) throws(ConfigError) -> (Int64, Int64) {
        let low = try node["min"].map(read) ?? defaultMin
        let high = try node["max"].map(read) ?? defaultMax
        guard low <= high else { throw (node["min"] ?? node).error("min (\(low)) is greater than max (\(high))") }
        return (low, high)
    }

    static func weightedChoice(_ node: YAMLNode, valuesKey: String, defaultValues: [String]?) throws(ConfigError) -> WeightedChoice {
        let values: [String]
        if let valuesNode = node[valuesKey] {
            values = try valuesNode.stringList()
            guard !values.isEmpty else { throw valuesNode.error("'\(valuesKey)' needs at least one value") }
        } else if let defaultValues {
            values = defaultValues
        } else {
            throw node.error("missing required key '\(valuesKey)'")
        }
        var weights = [Double](repeating: 1, count: values.count)
        if let weightNode = node["weights"] {
            let items = try weightNode.sequence()
            guard items.count == values.count else {
                throw weightNode.error("'weights' has \(items.count) entries but '\(valuesKey)' has \(values.count)")
            }
            weights = []
            for item in items {
                let weight = try item.double()
                guard weight >= 0 else { throw item.error("weights must not be negative") }
                weights.append(weight)
            }
            guard weights.reduce(0, +) > 0 else { throw weightNode.error("at least one weight must be positive") }
        }
        let total = weights.reduce(0, +)
        var cumulative = 0.0
        var thresholds: [UInt64] = []
        for weight in weights {
            cumulative += weight
            thresholds.append(UInt64((cumulative / total) * 4_294_967_296.0))
        }
        thresholds[thresholds.count - 1] = 1 << 32
        let encoded = values.map { CSVField.encode(Array($0.utf8)) }
        guard encoded.allSatisfy({ $0.count <= 255 }) else { throw node.error("values are limited to 255 bytes") }
        return WeightedChoice(encoded: encoded, thresholds: thresholds)
    }

    /// RFC 2606 / RFC 6761 reserved names: example.com/.net/.org (and subdomains), *.test, *.example.
    static func isReservedDomain(_ domain: String) -> Bool {
        for reserved in ["example.com", "example.net", "example.org"] where domain == reserved || domain.hasSuffix("." + reserved) {
            return true
        }
        return domain.hasSuffix(".test") || domain.hasSuffix(".example") || domain == "test" || domain == "example"
    }

    static func parseDate(_ node: YAMLNode) throws(ConfigError) -> Int {
        let text = try node.string()
        let parts = text.split(separator: "-")
        guard parts.count == 3, let y = Int(parts[0]), let m = Int(parts[1]), let d = Int(parts[2]),
              parts[0].count == 4, (1...12).contains(m), (1...31).contains(d)
        else { throw node.error("expected a date YYYY-MM-DD, found '\(text)'") }
        return daysFromCivil(year: y, month: m, day: d)
    }

    static func parseTimestamp(_ node: YAMLNode) throws(ConfigError) -> Int64 {
        let text = try node.string()
        // YYYY-MM-DDTHH:MM:SSZ (UTC only: no time zone ever enters the output).
        let bytes = Array(text.utf8)
        func number(_ range: Range<Int>) -> Int? { Int(String(decoding: bytes[range], as: UTF8.self)) }
        guard bytes.count == 20, bytes[4] == 45, bytes[7] == 45, bytes[10] == 84, bytes[13] == 58, bytes[16] == 58, bytes[19] == 90,
              let y = number(0..<4), let mo = number(5..<7), let d = number(8..<10),
              let h = number(11..<13), let mi = number(14..<16), let s = number(17..<19),
              (1...12).contains(mo), (1...31).contains(d), h < 24, mi < 60, s < 60
        else { throw node.error("expected a UTC timestamp YYYY-MM-DDTHH:MM:SSZ, found '\(text)'") }
        return Int64(daysFromCivil(year: y, month: mo, day: d)) * 86_400 + Int64(h * 3600 + mi * 60 + s)
    }
}
