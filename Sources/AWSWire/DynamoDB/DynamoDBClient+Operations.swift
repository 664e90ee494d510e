import Foundation

extension DynamoDBClient {
    /// The item with `key`, or nil.
    package func getItem(table: String, key: DynamoDBItem, consistentRead: Bool = false) async throws -> DynamoDBItem? {
        var body: [String: JSONValue] = ["TableName": .string(table), "Key": DynamoDBAttributeValue.json(key)]
        if consistentRead { body["ConsistentRead"] = true }
        let response = try await self.transport.call("GetItem", .object(body))
        guard let item = response["Item"] else { return nil }
        return try Self.item(item, operation: "GetItem")
    }

    /// Writes `item`, if `condition` (a ConditionExpression) holds.
    /// - Returns: the old item when `returnValues` is ``DynamoDBReturnValues/allOld`` and one existed.
    /// - Throws: ``AWSError`` with code ``AWSError/Code/conditionalCheckFailed`` when the condition is false.
    @discardableResult
    package func putItem(
        table: String,
        item: DynamoDBItem,
        condition: String? = nil,
        names: [String: String] = [:],
        values: DynamoDBItem = [:],
        returnValues: DynamoDBReturnValues = .none
    ) async throws -> DynamoDBItem? {
        var body: [String: JSONValue] = ["TableName": .string(table), "Item": DynamoDBAttributeValue.json(item)]
        Self.addExpression(&body, condition: condition, names: names, values: values, returnValues: returnValues)
        let response = try await self.transport.call("PutItem", .object(body))
        return try response["Attributes"].map { try Self.item($0, operation: "PutItem") }
    }

    /// Applies `update` (an UpdateExpression: `SET a = :v, ADD n :one REMOVE b`) to the item
    /// with `key` (created when missing), if `condition` holds.
    /// - Returns: the attributes `returnValues` asks for (nil for ``DynamoDBReturnValues/none``).
    @discardableResult
    package func updateItem(
        table: String,
        key: DynamoDBItem,
        update: String,
        condition: String? = nil,
        names: [String: String] = [:],
        values: DynamoDBItem = [:],
        returnValues: DynamoDBReturnValues = .none
    ) async throws -> DynamoDBItem? {
        var body: [String: JSONValue] = [
            "TableName": .string(table), "Key": DynamoDBAttributeValue.json(key), "UpdateExpression": .string(update),
        ]
        Self.addExpression(&body, condition: condition, names: names, values: values, returnValues: returnValues)
        let response = try await self.transport.call("UpdateItem", .object(body))
        return try response["Attributes"].map { try Self.item($0, operation: "UpdateItem") }
    }

    /// One page of a Query (`keyCondition` such as `#pk = :v`).
    package func query(
        table: String,
        keyCondition: String,
        filter: String? = nil,
        names: [String: String] = [:],
        values: DynamoDBItem = [:],
        limit: Int? = nil,
        exclusiveStartKey: DynamoDBItem? = nil,
        consistentRead: Bool = false,
        scanIndexForward: Bool = true
    ) async throws -> DynamoDBPage {
        var body: [String: JSONValue] = ["TableName": .string(table), "KeyConditionExpression": .string(keyCondition)]
        if let filter { body["FilterExpression"] = .string(filter) }
        if !scanIndexForward { body["ScanIndexForward"] = false }
        Self.addPaging(&body, limit: limit, exclusiveStartKey: exclusiveStartKey, consistentRead: consistentRead)
        Self.addExpression(&body, condition: nil, names: names, values: values, returnValues: .none)
        return try Self.page(try await self.transport.call("Query", .object(body)), operation: "Query")
    }

    /// One page of a Scan.
    package func scan(
        table: String,
        filter: String? = nil,
        names: [String: String] = [:],
        values: DynamoDBItem = [:],
        limit: Int? = nil,
        exclusiveStartKey: DynamoDBItem? = nil,
        consistentRead: Bool = false
    ) async throws -> DynamoDBPage {
        var body: [String: JSONValue] = ["TableName": .string(table)]
        if let filter { body["FilterExpression"] = .string(filter) }
        Self.addPaging(&body, limit: limit, exclusiveStartKey: exclusiveStartKey, consistentRead: consistentRead)
        Self.addExpression(&body, condition: nil, names: names, values: values, returnValues: .none)
        return try Self.page(try await self.transport.call("Scan", .object(body)), operation: "Scan")
    }

    /// Every item of a table, following `LastEvaluatedKey` for at most `maxPages` pages of
    /// `pageSize` (nil: the service's 1 MB pages).
    /// - Throws: ``AWSError`` of kind `.invalidResponse` when more than `maxPages` pages remain.
    package func scanAll(table: String, pageSize: Int? = nil, maxPages: Int = 10_000, consistentRead: Bool = false) async throws -> [DynamoDBItem] {
        var items: [DynamoDBItem] = []
        var start: DynamoDBItem?
        for _ in 0..<maxPages {
            let page = try await self.scan(table: table, limit: pageSize, exclusiveStartKey: start, consistentRead: consistentRead)
            items.append(contentsOf: page.items)
            guard let next = page.lastEvaluatedKey else { return items }
            start = next
        }
        throw AWSError(kind: .invalidResponse, operation: "Scan", message: "more than \(maxPages) pages in table \(table)")
    }

    /// Every item a Query matches, following `LastEvaluatedKey` for at most `maxPages` pages.
    package func queryAll(
        table: String, keyCondition: String, names: [String: String] = [:], values: DynamoDBItem = [:],
        pageSize: Int? = nil, maxPages: Int = 10_000
    ) async throws -> [DynamoDBItem] {
        var items: [DynamoDBItem] = []
        var start: DynamoDBItem?
        for _ in 0..<maxPages {
            let page = try await self.query(
                table: table, keyCondition: keyCondition, names: names, values: values, limit: pageSize, exclusiveStartKey: start
            )
            items.append(contentsOf: page.items)
            guard let next = page.lastEvaluatedKey else { return items }
            start = next
        }
        throw AWSError(kind: .invalidResponse, operation: "Query", message: "more than \(maxPages) pages in table \(table)")
    }

    package func describeTable(_ table: String) async throws -> DynamoDBTableDescription {
        try DynamoDBTableDescription(json: try await self.transport.call("DescribeTable", ["TableName": .string(table)]), operation: "DescribeTable")
    }

    /// Creates an on-demand table keyed by a string partition key (and optional string sort key).
    @discardableResult
    package func createTable(_ table: String, partitionKey: String, sortKey: String? = nil) async throws -> DynamoDBTableDescription {
        var schema: [JSONValue] = [["AttributeName": .string(partitionKey), "KeyType": "HASH"]]
        var definitions: [JSONValue] = [["AttributeName": .string(partitionKey), "AttributeType": "S"]]
        if let sortKey {
            schema.append(["AttributeName": .string(sortKey), "KeyType": "RANGE"])
            definitions.append(["AttributeName": .string(sortKey), "AttributeType": "S"])
        }
        let body: JSONValue = [
            "TableName": .string(table), "KeySchema": .array(schema), "AttributeDefinitions": .array(definitions),
            "BillingMode": "PAY_PER_REQUEST",
        ]
        return try DynamoDBTableDescription(json: try await self.transport.call("CreateTable", body), operation: "CreateTable")
    }

    // MARK: - Helpers

    static func addExpression(
        _ body: inout [String: JSONValue], condition: String?, names: [String: String], values: DynamoDBItem, returnValues: DynamoDBReturnValues
    ) {
        if let condition { body["ConditionExpression"] = .string(condition) }
        if !names.isEmpty { body["ExpressionAttributeNames"] = .object(names.mapValues(JSONValue.string)) }
        if !values.isEmpty { body["ExpressionAttributeValues"] = DynamoDBAttributeValue.json(values) }
        if returnValues != .none { body["ReturnValues"] = .string(returnValues.rawValue) }
    }

    static func addPaging(_ body: inout [String: JSONValue], limit: Int?, exclusiveStartKey: DynamoDBItem?, consistentRead: Bool) {
        if let limit { body["Limit"] = .number(Double(limit)) }
        if let exclusiveStartKey { body["ExclusiveStartKey"] = DynamoDBAttributeValue.json(exclusiveStartKey) }
        if consistentRead { body["ConsistentRead"] = true }
    }

    static func item(_ json: JSONValue, operation: String) throws -> DynamoDBItem {
        do {
            return try DynamoDBAttributeValue.item(json: json)
        } catch {
            throw AWSError(kind: .invalidResponse, operation: operation, message: error.message)
        }
    }

    static func page(_ json: JSONValue, operation: String) throws -> DynamoDBPage {
        var items: [DynamoDBItem] = []
        for i in json["Items"]?.arrayValue ?? [] { items.append(try Self.item(i, operation: operation)) }
        return DynamoDBPage(
            items: items,
            lastEvaluatedKey: try json["LastEvaluatedKey"].map { try Self.item($0, operation: operation) },
            count: json["Count"]?.intValue ?? items.count,
            scannedCount: json["ScannedCount"]?.intValue ?? items.count
        )
    }
}

extension DynamoDBClient {
    /// Deletes the item with `key` if `condition` holds; returns the old item when
    /// `returnOldValues` (and one existed).
    @discardableResult
    package func deleteItem(
        table: String, key: DynamoDBItem, condition: String? = nil, names: [String: String] = [:], values: DynamoDBItem = [:],
        returnOldValues: Bool = false
    ) async throws -> DynamoDBItem? {
        var body: [String: JSONValue] = ["TableName": .string(table), "Key": DynamoDBAttributeValue.json(key)]
        Self.addExpression(&body, condition: condition, names: names, values: values, returnValues: returnOldValues ? .allOld : .none)
        let response = try await self.transport.call("DeleteItem", .object(body))
        return try response["Attributes"].map { try Self.item($0, operation: "DeleteItem") }
    }

    /// Table names, following `LastEvaluatedTableName` (at most `maxPages` pages of 100).
    package func listTables(maxPages: Int = 1_000) async throws -> [String] {
        var names: [String] = []
        var start: String?
        for _ in 0..<maxPages {
            var body: [String: JSONValue] = [:]
            if let start { body["ExclusiveStartTableName"] = .string(start) }
            let response = try await self.transport.call("ListTables", .object(body))
            names += (response["TableNames"]?.arrayValue ?? []).compactMap(\.stringValue)
            guard let next = response["LastEvaluatedTableName"]?.stringValue else { return names }
            start = next
        }
        throw AWSError(kind: .invalidResponse, operation: "ListTables", message: "more than \(maxPages) pages of tables")
    }
}
