import AWSWire
import Emulator
import Foundation
import Testing

@Suite("DynamoDB expressions")
struct LedgerExpressionTests {
    let item: DynamoDBItem = [
        "jobId": .s("raw/a.csv#00AB"), "status": .s("RUNNING"), "attempts": .n("2"),
        "tags": .ss(["x", "y"]), "meta": .m(["size": .n("10"), "parts": .l([.s("p1"), .s("p2")])]),
    ]

    func condition(_ text: String, names: [String: String] = [:], values: DynamoDBItem = [:]) throws -> DynamoDBCondition {
        var p = DynamoDBExpressionParser(names: names, values: values)
        return try p.condition(text)
    }

    @Test func attributeExistence() throws {
        #expect(try condition("attribute_not_exists(jobId)").evaluate(nil))
        #expect(try !condition("attribute_not_exists(jobId)").evaluate(self.item))
        #expect(try condition("attribute_exists(#s)", names: ["#s": "status"]).evaluate(self.item))
        #expect(try condition("attribute_exists(meta.parts[1])").evaluate(self.item))
        #expect(try !condition("attribute_exists(meta.parts[2])").evaluate(self.item))
    }

    @Test(arguments: [
        ("#status = :running", true), ("#status <> :running", false), ("attempts < :n", true), ("attempts >= :n", false),
        ("attempts BETWEEN :one AND :n", true), ("#status IN (:done, :running)", true),
        ("#status = :running AND attempts < :one", false), ("#status = :running OR attempts < :one", true),
        ("NOT (#status = :done)", true), ("NOT #status = :running AND attempts < :n", false),
        ("begins_with(jobId, :prefix)", true), ("contains(tags, :x)", true), ("size(tags) = :two", true),
        ("attribute_type(attempts, :typeN)", true), ("meta.size > :n", true),
    ])
    func evaluation(text: String, expected: Bool) throws {
        let c = try condition(
            text, names: ["#status": "status"],
            values: [":running": .s("RUNNING"), ":done": .s("SUCCEEDED"), ":n": .n("3"), ":one": .n("1"), ":prefix": .s("raw/"),
                     ":x": .s("x"), ":two": .n("2"), ":typeN": .s("N")]
        )
        #expect(c.evaluate(self.item) == expected, "\(text)")
    }

    @Test func precedenceAndOverAnd() throws {
        // a OR b AND c  ==  a OR (b AND c)
        let c = try condition("attempts = :one OR attempts = :two AND #status = :done", names: ["#status": "status"],
                              values: [":one": .n("1"), ":two": .n("2"), ":done": .s("SUCCEEDED")])
        #expect(!c.evaluate(self.item))
    }

    @Test func numbersCompareNumerically() throws {
        let c = try condition("attempts < :big", values: [":big": .n("10")])
        #expect(c.evaluate(self.item))
        #expect(try condition("attempts = :v", values: [":v": .n("2.0")]).evaluate(self.item))
    }

    @Test func undefinedPlaceholdersAndSyntaxErrors() {
        #expect(throws: DynamoDBServiceError.self) { try condition("#nope = :v", values: [":v": .s("x")]) }
        #expect(throws: DynamoDBServiceError.self) { try condition("a = :missing") }
        #expect(throws: DynamoDBServiceError.self) { try condition("a = = :v", values: [":v": .s("x")]) }
        #expect(throws: DynamoDBServiceError.self) { try condition("bogus_fn(a)") }
        var p = DynamoDBExpressionParser(values: [":v": .s("x"), ":unused": .s("y")])
        _ = try? p.condition("a = :v")
        #expect(throws: DynamoDBServiceError.self) { try p.checkAllUsed() }
    }

    @Test func updateSetAddRemove() throws {
        var p = DynamoDBExpressionParser(
            names: ["#status": "status"],
            values: [":done": .s("SUCCEEDED"), ":one": .n("1"), ":zero": .n("0"), ":tag": .ss(["z"]), ":more": .l([.s("p3")])]
        )
        let u = try p.update(
            "SET #status = :done, counter = if_not_exists(counter, :zero) + :one, meta.parts = list_append(meta.parts, :more) ADD attempts :one, tags :tag REMOVE meta.size"
        )
        var item = self.item
        let touched = try u.apply(to: &item)
        #expect(item["status"] == .s("SUCCEEDED"))
        #expect(item["attempts"] == .n("3"))
        #expect(item["counter"] == .n("1"))
        #expect(item["tags"] == .ss(["x", "y", "z"]))
        #expect(item["meta"] == .m(["parts": .l([.s("p1"), .s("p2"), .s("p3")])]))
        #expect(touched == ["status", "counter", "meta", "attempts", "tags"])
    }

    @Test func addToMissingNumberCreatesIt() throws {
        var p = DynamoDBExpressionParser(values: [":one": .n("1")])
        let u = try p.update("ADD attempts :one")
        var item: DynamoDBItem = ["jobId": .s("k")]
        try u.apply(to: &item)
        #expect(item["attempts"] == .n("1"))
    }

    @Test func overlappingPathsRejected() {
        var p = DynamoDBExpressionParser(values: [":v": .s("x")])
        #expect(throws: DynamoDBServiceError.self) { try p.update("SET a = :v REMOVE a") }
        #expect(throws: DynamoDBServiceError.self) { try p.update("SET a = :v SET b = :v") }
    }

    @Test func projection() throws {
        var p = DynamoDBExpressionParser(names: ["#s": "status"])
        let paths = try p.projection("jobId, #s, meta.size, meta.parts[1]")
        let projected = DynamoDBPath.project(self.item, paths)
        #expect(projected == [
            "jobId": .s("raw/a.csv#00AB"), "status": .s("RUNNING"),
            "meta": .m(["size": .n("10"), "parts": .l([.s("p2")])]),
        ])
    }
}
