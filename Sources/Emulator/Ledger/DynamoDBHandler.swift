import AWSWire
import Foundation

/// The DynamoDB JSON 1.0 API (`X-Amz-Target: DynamoDB_20120810.<Op>`) over a
/// ``DynamoDBItemStore``: CreateTable, DescribeTable, ListTables, DeleteTable,
/// UpdateTimeToLive, DescribeTimeToLive, GetItem, PutItem, UpdateItem, DeleteItem, Query, Scan.
///
/// Independent of the HTTP server: ``handle(target:body:)`` takes the target header and the
/// body and returns status, headers and body (errors in AWS's shape, e.g.
/// `{"__type":"com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException","message":"The conditional request failed"}`, 400).
///
/// ProjectionExpression is applied on GetItem, Query and Scan. Not supported: the legacy parameters
/// (`Expected`, `AttributesToGet`, `KeyConditions`, `ScanFilter`), secondary indexes,
/// transactions and batch operations.
package struct DynamoDBHandler: Sendable {
    package static let targetPrefix = "DynamoDB_20120810."

    package let store: DynamoDBItemStore
    package let region: String
    /// Called before every operation; a non-nil error is answered instead (fault injection,
    /// e.g. ``DynamoDBServiceError/Code/throughputExceeded`` for ledger throttling).
    let faultHook: (@Sendable (_ operation: String) -> DynamoDBServiceError?)?

    package init(store: DynamoDBItemStore, region: String = "us-east-1", faultHook: (@Sendable (_ operation: String) -> DynamoDBServiceError?)? = nil) {
        self.store = store
        self.region = region
        self.faultHook = faultHook
    }

    /// Handles one request. `target` is the `X-Amz-Target` header value.
    package func handle(target: String, body: [UInt8]) async -> JSONProtocolResponse {
        guard target.hasPrefix(Self.targetPrefix) else {
            return Self.response(for: DynamoDBServiceError(.unknownOperation, "Unknown target \(target)"))
        }
        let operation = String(target.dropFirst(Self.targetPrefix.count))
        if let fault = self.faultHook?(operation) { return Self.response(for: fault) }
        let request: [String: JSONValue]
        do {
            guard case .object(let o) = try JSONValue.parse(body.isEmpty ? Array("{}".utf8) : body) else {
                return Self.response(for: DynamoDBServiceError(.serialization, "Start of structure or map found where not expected"))
            }
            request = o
        } catch {
            return Self.response(for: DynamoDBServiceError(.serialization, error.message))
        }
        do {
            return .ok(try await self.dispatch(operation, request))
        } catch let error as DynamoDBServiceError {
            return Self.response(for: error)
        } catch let error as DynamoDBAttributeValueError {
            return Self.response(for: .validation(error.message))
        } catch {
            return Self.response(for: DynamoDBServiceError(.internalFailure, "\(error)"))
        }
    }

    static func response(for error: DynamoDBServiceError) -> JSONProtocolResponse {
        var extra: [String: JSONValue] = [:]
        if let item = error.item { extra["Item"] = DynamoDBAttributeValue.json(item) }
        return .error(status: error.code.httpStatus, type: error.code.type, message: error.message, extra: extra)
    }

    func dispatch(_ operation: String, _ r: [String: JSONValue]) async throws -> JSONValue {
        switch operation {
        case "CreateTable": return try await self.createTable(r)
        case "DescribeTable": return ["Table": try await self.describe(try await self.store.table(try Self.tableName(r)))]
        case "ListTables": return try await self.listTables(r)
        case "DeleteTable": return ["TableDescription": try await self.describe(try await self.store.deleteTable(try Self.tableName(r)), status: "DELETING")]
        case "UpdateTimeToLive": return try await self.updateTimeToLive(r)
        case "DescribeTimeToLive":
            let t = try await self.store.table(try Self.tableName(r))
            var d: [String: JSONValue] = ["TimeToLiveStatus": t.ttlAttribute == nil ? "DISABLED" : "ENABLED"]
            if let a = t.ttlAttribute { d["AttributeName"] = .string(a) }
            return ["TimeToLiveDescription": .object(d)]
        case "GetItem": return try await self.getItem(r)
        case "PutItem": return try await self.putItem(r)
        case "UpdateItem": return try await self.updateItem(r)
        case "DeleteItem": return try await self.deleteItem(r)
        case "Query": return try await self.query(r)
        case "Scan": return try await self.scan(r)
        default: throw DynamoDBServiceError(.unknownOperation, "Unsupported operation: \(operation)")
        }
    }

    // MARK: - Tables

    func createTable(_ r: [String: JSONValue]) async throws -> JSONValue {
        let name = try Self.tableName(r)
        var types: [String: String] = [:]
        for d in r["AttributeDefinitions"]?.arrayValue ?? [] {
            guard let n = d["AttributeName"]?.stringValue, let t = d["AttributeType"]?.stringValue, ["S", "N", "B"].contains(t) else {
                throw DynamoDBServiceError.validation("Invalid AttributeDefinitions")
            }
            types[n] = t
        }
        var hash: DynamoDBTableDefinition.KeyAttribute?
        var range: DynamoDBTableDefinition.KeyAttribute?
        for k in r["KeySchema"]?.arrayValue ?? [] {
            guard let n = k["AttributeName"]?.stringValue, let kt = k["KeyType"]?.stringValue else {
                throw DynamoDBServiceError.validation("Invalid KeySchema")
            }
            guard let type = types[n] else {
                throw DynamoDBServiceError.validation("One or more parameter values were invalid: Some index key attributes are not defined in AttributeDefinitions. Keys: [\(n)]")
            }
            switch kt {
            case "HASH": hash = .init(name: n, type: type)
            case "RANGE": range = .init(name: n, type: type)
            default: throw DynamoDBServiceError.validation("Invalid KeyType \(kt)")
            }
        }
        guard let hash else { throw DynamoDBServiceError.validation("1 validation error detected: KeySchema must contain a HASH key") }
        let t = try await self.store.createTable(DynamoDBTableDefinition(name: name, partitionKey: hash, sortKey: range))
        return ["TableDescription": try await self.describe(t)]
    }

    func describe(_ t: DynamoDBTableDefinition, status: String = "ACTIVE") async throws -> JSONValue {
        var schema: [JSONValue] = [["AttributeName": .string(t.partitionKey.name), "KeyType": "HASH"]]
        var defs: [JSONValue] = [["AttributeName": .string(t.partitionKey.name), "AttributeType": .string(t.partitionKey.type)]]
        if let s = t.sortKey {
            schema.append(["AttributeName": .string(s.name), "KeyType": "RANGE"])
            defs.append(["AttributeName": .string(s.name), "AttributeType": .string(s.type)])
        }
        let count = status == "ACTIVE" ? try await self.store.itemCount(table: t.name) : 0
        return [
            "TableName": .string(t.name),
            "TableStatus": .string(status),
            "TableArn": .string(t.arn(region: self.region)),
            "TableId": .string(t.name),
            "KeySchema": .array(schema),
            "AttributeDefinitions": .array(defs),
            "ItemCount": .number(Double(count)),
            "TableSizeBytes": 0,
            "CreationDateTime": .number(t.createdAt.timeIntervalSince1970),
            "BillingModeSummary": ["BillingMode": "PAY_PER_REQUEST"],
            "ProvisionedThroughput": ["ReadCapacityUnits": 0, "WriteCapacityUnits": 0, "NumberOfDecreasesToday": 0],
        ]
    }

    func listTables(_ r: [String: JSONValue]) async throws -> JSONValue {
        var names = try await self.store.tableNames()
        if let start = r["ExclusiveStartTableName"]?.stringValue { names = names.filter { $0 > start } }
        let limit = r["Limit"]?.intValue ?? 100
        guard (1...100).contains(limit) else { throw DynamoDBServiceError.validation("Limit must be between 1 and 100") }
        var out: [String: JSONValue] = ["TableNames": .array(names.prefix(limit).map(JSONValue.string))]
        if names.count > limit, let last = names.prefix(limit).last { out["LastEvaluatedTableName"] = .string(last) }
        return .object(out)
    }

    func updateTimeToLive(_ r: [String: JSONValue]) async throws -> JSONValue {
        let name = try Self.tableName(r)
        guard let spec = r["TimeToLiveSpecification"], let enabled = spec["Enabled"]?.boolValue, let attribute = spec["AttributeName"]?.stringValue else {
            throw DynamoDBServiceError.validation("TimeToLiveSpecification with Enabled and AttributeName is required")
        }
        try await self.store.setTTLAttribute(table: name, attribute: enabled ? attribute : nil)
        return ["TimeToLiveSpecification": ["Enabled": .bool(enabled), "AttributeName": .string(attribute)]]
    }

    // MARK: - Items

    func getItem(_ r: [String: JSONValue]) async throws -> JSONValue {
        let key = try Self.item(r, "Key")
        var parser = try Self.parser(r)
        let projection = try r["ProjectionExpression"]?.stringValue.map { text throws(DynamoDBServiceError) in try parser.projection(text) }
        try parser.checkAllUsed()
        guard let item = try await self.store.getItem(table: try Self.tableName(r), key: key) else { return [:] }
        return ["Item": DynamoDBAttributeValue.json(projection.map { DynamoDBPath.project(item, $0) } ?? item)]
    }

    func putItem(_ r: [String: JSONValue]) async throws -> JSONValue {
        let item = try Self.item(r, "Item")
        var parser = try Self.parser(r)
        let condition = try r["ConditionExpression"]?.stringValue.map { text throws(DynamoDBServiceError) in try parser.condition(text) }
        try parser.checkAllUsed()
        let returnValues = r["ReturnValues"]?.stringValue ?? "NONE"
        guard returnValues == "NONE" || returnValues == "ALL_OLD" else {
            throw DynamoDBServiceError.validation("ReturnValues can only be ALL_OLD or NONE")
        }
        let old = try await Self.returningOldOnFailure(r) {
            try await self.store.putItem(table: try Self.tableName(r), item: item, condition: condition)
        }
        if returnValues == "ALL_OLD", let old { return ["Attributes": DynamoDBAttributeValue.json(old)] }
        return [:]
    }

    func updateItem(_ r: [String: JSONValue]) async throws -> JSONValue {
        let key = try Self.item(r, "Key")
        var parser = try Self.parser(r)
        let update = try r["UpdateExpression"]?.stringValue.map { text throws(DynamoDBServiceError) in try parser.update(text) }
        let condition = try r["ConditionExpression"]?.stringValue.map { text throws(DynamoDBServiceError) in try parser.condition(text) }
        try parser.checkAllUsed()
        let returnValues = r["ReturnValues"]?.stringValue ?? "NONE"
        guard ["NONE", "ALL_OLD", "UPDATED_OLD", "ALL_NEW", "UPDATED_NEW"].contains(returnValues) else {
            throw DynamoDBServiceError.validation("Invalid ReturnValues: \(returnValues)")
        }
        let (old, new, touched) = try await Self.returningOldOnFailure(r) {
            try await self.store.updateItem(table: try Self.tableName(r), key: key, update: update, condition: condition)
        }
        let attributes: DynamoDBItem?
        switch returnValues {
        case "ALL_OLD": attributes = old
        case "ALL_NEW": attributes = new
        case "UPDATED_OLD": attributes = old?.filter { touched.contains($0.key) }
        case "UPDATED_NEW": attributes = new.filter { touched.contains($0.key) }
        default: attributes = nil
        }
        guard let attributes, !attributes.isEmpty else { return [:] }
        return ["Attributes": DynamoDBAttributeValue.json(attributes)]
    }

    func deleteItem(_ r: [String: JSONValue]) async throws -> JSONValue {
        let key = try Self.item(r, "Key")
        var parser = try Self.parser(r)
        let condition = try r["ConditionExpression"]?.stringValue.map { text throws(DynamoDBServiceError) in try parser.condition(text) }
        try parser.checkAllUsed()
        let old = try await Self.returningOldOnFailure(r) {
            try await self.store.deleteItem(table: try Self.tableName(r), key: key, condition: condition)
        }
        if r["ReturnValues"]?.stringValue == "ALL_OLD", let old { return ["Attributes": DynamoDBAttributeValue.json(old)] }
        return [:]
    }

    func query(_ r: [String: JSONValue]) async throws -> JSONValue {
        let table = try await self.store.table(try Self.tableName(r))
        guard r["IndexName"] == nil else { throw DynamoDBServiceError.validation("The table does not have the specified index") }
        guard let keyText = r["KeyConditionExpression"]?.stringValue else {
            throw DynamoDBServiceError.validation("Either the KeyConditions or KeyConditionExpression parameter must be specified in the request.")
        }
        var parser = try Self.parser(r)
        let keyCondition = try parser.condition(keyText)
        let filter = try r["FilterExpression"]?.stringValue.map { text throws(DynamoDBServiceError) in try parser.condition(text) }
        let projection = try r["ProjectionExpression"]?.stringValue.map { text throws(DynamoDBServiceError) in try parser.projection(text) }
        try parser.checkAllUsed()
        var partition: DynamoDBAttributeValue?
        for c in keyCondition.conjuncts {
            switch c {
            case .compare(.path(let p), .equal, .value(let v)) where p.elements == [.name(table.partitionKey.name)],
                .compare(.value(let v), .equal, .path(let p)) where p.elements == [.name(table.partitionKey.name)]:
                partition = v
            default:
                continue
            }
        }
        guard let partition else {
            throw DynamoDBServiceError.validation("Query condition missed key schema element: \(table.partitionKey.name)")
        }
        guard partition.typeName == table.partitionKey.type else {
            throw DynamoDBServiceError.validation("One or more parameter values were invalid: Condition parameter type does not match schema type")
        }
        return try await self.page(r, table: table.name, partition: partition, keyCondition: keyCondition, filter: filter,
                                   projection: projection, forward: r["ScanIndexForward"]?.boolValue ?? true)
    }

    func scan(_ r: [String: JSONValue]) async throws -> JSONValue {
        let table = try Self.tableName(r)
        var parser = try Self.parser(r)
        let filter = try r["FilterExpression"]?.stringValue.map { text throws(DynamoDBServiceError) in try parser.condition(text) }
        let projection = try r["ProjectionExpression"]?.stringValue.map { text throws(DynamoDBServiceError) in try parser.projection(text) }
        try parser.checkAllUsed()
        if let segments = r["TotalSegments"]?.intValue, segments > 1 {
            throw DynamoDBServiceError.validation("Parallel scans (TotalSegments > 1) are not supported by the emulator")
        }
        return try await self.page(r, table: table, partition: nil, keyCondition: nil, filter: filter, projection: projection, forward: true)
    }

    func page(
        _ r: [String: JSONValue], table: String, partition: DynamoDBAttributeValue?, keyCondition: DynamoDBCondition?,
        filter: DynamoDBCondition?, projection: [DynamoDBPath]?, forward: Bool
    ) async throws -> JSONValue {
        var limit: Int?
        if let l = r["Limit"] {
            guard let n = l.intValue, n >= 1 else {
                throw DynamoDBServiceError.validation("1 validation error detected: Value at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1")
            }
            limit = n
        }
        let start = try r["ExclusiveStartKey"].map { v throws(DynamoDBAttributeValueError) in try DynamoDBAttributeValue.item(json: v) }
        let page = try await self.store.page(
            table: table, partition: partition, keyCondition: keyCondition, filter: filter, limit: limit,
            exclusiveStartKey: start, forward: forward
        )
        var out: [String: JSONValue] = ["Count": .number(Double(page.items.count)), "ScannedCount": .number(Double(page.scannedCount))]
        if r["Select"]?.stringValue != "COUNT" { out["Items"] = .array(page.items.map { item in DynamoDBAttributeValue.json(projection.map { DynamoDBPath.project(item, $0) } ?? item) }) }
        if let last = page.lastEvaluatedKey { out["LastEvaluatedKey"] = DynamoDBAttributeValue.json(last) }
        return .object(out)
    }

    // MARK: - Request helpers

    static func tableName(_ r: [String: JSONValue]) throws(DynamoDBServiceError) -> String {
        guard let n = r["TableName"]?.stringValue, (3...255).contains(n.utf8.count) else {
            throw .validation("1 validation error detected: Value at 'tableName' failed to satisfy constraint: Member must have length greater than or equal to 3")
        }
        return n
    }

    static func item(_ r: [String: JSONValue], _ field: String) throws -> DynamoDBItem {
        guard let v = r[field] else { throw DynamoDBServiceError.validation("1 validation error detected: Value null at '\(field.prefix(1).lowercased() + field.dropFirst())' failed to satisfy constraint: Member must not be null") }
        return try DynamoDBAttributeValue.item(json: v)
    }

    static func parser(_ r: [String: JSONValue]) throws -> DynamoDBExpressionParser {
        var names: [String: String] = [:]
        for (k, v) in r["ExpressionAttributeNames"]?.objectValue ?? [:] {
            guard let s = v.stringValue else { throw DynamoDBServiceError.validation("ExpressionAttributeNames values must be strings") }
            names[k] = s
        }
        let values = try r["ExpressionAttributeValues"].map { v throws(DynamoDBAttributeValueError) in try DynamoDBAttributeValue.item(json: v) } ?? [:]
        return DynamoDBExpressionParser(names: names, values: values)
    }

    /// Runs a conditional write; a ConditionalCheckFailed keeps the old item only when the
    /// request asked for it (`ReturnValuesOnConditionCheckFailure: ALL_OLD`).
    static func returningOldOnFailure<T>(_ r: [String: JSONValue], _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch var error as DynamoDBServiceError where error.code == .conditionalCheckFailed {
            if r["ReturnValuesOnConditionCheckFailure"]?.stringValue != "ALL_OLD" { error.item = nil }
            throw error
        }
    }
}
