@testable import AWSWire
import Foundation
import Testing

@Suite("JSONParser: strict RFC 8259 into JSONValue")
struct JSONParserTests {
    /// Foundation's reading of the same bytes, for comparison.
    static func foundation(_ text: String) -> JSONValue? {
        try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
    }

    static let documents = [
        #"{}"#, #"[]"#, #"null"#, #"true"#, #"false"#, #"0"#, #"-0.5"#, #"1e3"#, #"12.25E-2"#, #""plain""#,
        #"{"TableName":"csvstorm-jobs","Key":{"jobId":{"S":"raw/in/a.csv#0000000000000000A1"}},"ConsistentRead":true}"#,
        #"{"a":[1,2,{"b":null}],"c":"esc \" \\ \/ \b\f\n\r\t end","d":"\u00e9\u4e2d\ud83d\ude00"}"#,
        "  {\"spaces\" :\n [ 1 , 2 ] }\t",
        #"{"dup":1,"dup":2}"#, #"["Zoë, naïve", "日本語"]"#,
    ]

    @Test("Parses what Foundation parses, to the same value", arguments: JSONParserTests.documents)
    func sameAsFoundation(_ text: String) throws {
        let ours = try JSONValue.parse(Array(text.utf8))
        #expect(ours == Self.foundation(text), "\(text)")
    }

    static let invalid = [
        "", "{", "[1,]", "{\"a\":1,}", "{a:1}", "01", "1.", ".5", "1e", "+1", "tru", "nul", "\"unterminated",
        "\"bad \\x escape\"", "\"\\ud800 lone\"", "[1] 2", "\"tab\there\"", "{\"a\" 1}", "NaN", "1e999",
    ]

    @Test("Rejects what is not JSON", arguments: JSONParserTests.invalid)
    func rejects(_ text: String) {
        #expect(throws: JSONValueError.self, "\(text)") { try JSONValue.parse(Array(text.utf8)) }
    }

    @Test("Rejects invalid UTF-8 in strings and nesting past the limit")
    func limits() {
        #expect(throws: JSONValueError.self) { try JSONValue.parse([0x22, 0xFF, 0xFE, 0x22]) }
        let deep = String(repeating: "[", count: JSONParser.maxDepth + 1) + String(repeating: "]", count: JSONParser.maxDepth + 1)
        #expect(throws: JSONValueError.self) { try JSONValue.parse(Array(deep.utf8)) }
        let fine = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        #expect((try? JSONValue.parse(Array(fine.utf8))) != nil)
    }

    @Test("Round trip: serialize then parse gives the value back, for seeded random documents")
    func roundTrip() throws {
        var seeded = Seeded(state: 0x5EED)
        func make(_ depth: Int) -> JSONValue {
            switch seeded.next() % (depth > 3 ? 4 : 6) {
            case 0: return .null
            case 1: return .bool(seeded.next() % 2 == 0)
            case 2: return .number(Double(Int64(bitPattern: seeded.next()) % 1_000_000) / 8)
            case 3:
                let alphabet = Array("aZ09 \"\\/\n\t\u{1}é中😀-_.")
                return .string(String((0..<Int(seeded.next() % 12)).map { _ in alphabet[Int(seeded.next() % UInt64(alphabet.count))] }))
            case 4: return .array((0..<Int(seeded.next() % 5)).map { _ in make(depth + 1) })
            default:
                var object: [String: JSONValue] = [:]
                for i in 0..<Int(seeded.next() % 5) { object["k\(i)\(seeded.next() % 3)"] = make(depth + 1) }
                return .object(object)
            }
        }
        for _ in 0..<500 {
            let value = make(0)
            #expect(try JSONValue.parse(value.serialized()) == value)
        }
    }

    struct Seeded {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }
}
