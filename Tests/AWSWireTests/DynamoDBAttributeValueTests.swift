import AWSWire
import Foundation
import Testing

@Suite("DynamoDB AttributeValue codec")
struct DynamoDBAttributeValueTests {
    @Test func roundTripEveryType() throws {
        let item: DynamoDBItem = [
            "s": .s("héllo"), "n": .n("-12.5e3"), "b": .b([0, 1, 255]), "t": .bool(true), "z": .null,
            "m": .m(["inner": .l([.s("a"), .n("1"), .null])]), "ss": .ss(["a", "b"]), "ns": .ns(["1", "2"]), "bs": .bs([[1], [2]]),
        ]
        let bytes = DynamoDBAttributeValue.json(item).serialized()
        let back = try DynamoDBAttributeValue.item(json: try JSONValue.parse(bytes))
        #expect(back == item)
    }

    @Test func wireShape() throws {
        let text = String(decoding: DynamoDBAttributeValue.json(["k": .b([1, 2, 3]), "n": .null]).serialized(), as: UTF8.self)
        #expect(text == #"{"k":{"B":"AQID"},"n":{"NULL":true}}"#)
    }

    @Test(arguments: [
        #"{"S": 1}"#, #"{"N": "abc"}"#, #"{"S": "a", "N": "1"}"#, #"{"X": "1"}"#, #"{"SS": []}"#, #"{"SS": ["a", "a"]}"#,
        #"{"NULL": false}"#, #"{"B": "!!!"}"#,
    ])
    func rejectsMalformed(_ text: String) throws {
        let json = try JSONValue.parse(Array(text.utf8))
        #expect(throws: DynamoDBAttributeValueError.self) { try DynamoDBAttributeValue(json: json) }
    }
}
