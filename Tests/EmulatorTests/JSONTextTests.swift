@testable import AWSWire
@testable import Emulator
import Foundation
import Testing

/// The hand-written JSON of events, items and metadata: the same bytes Foundation's encoder
/// writes, and read back by the AWS JSON parser.
@Suite("JSON written by hand")
struct JSONTextTests {
    static let awkward = [
        "plain", "", "a b/c.csv", "quote \" and backslash \\", "controls \u{0}\u{1}\u{8}\t\n\u{b}\u{c}\r\u{1f}\u{7f}",
        "unicode é 😀 \u{2028} ü", "in/run-2026/000001.csv",
    ]

    static func foundation<T: Encodable>(_ value: T) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(value))
    }

    @Test("strings are escaped as JSONEncoder escapes them", arguments: awkward)
    func strings(_ text: String) throws {
        var writer = JSONText()
        writer.string(text)
        #expect(writer.bytes == (try Self.foundation([text])).dropFirst().dropLast())
        #expect(try JSONValue.parse(writer.bytes) == .string(text))
    }

    @Test func objectsHaveSortedKeysAsJSONEncoder() throws {
        let metadata = ["b": "1", "a-b": "2", "a": "3", "B": "4", "a10": "5", "a9": "6", "request-id": "7", "requester": "8", "_x": "9", "é": "10"]
        var writer = JSONText()
        writer.object(metadata) { $0.string($1) }
        #expect(writer.bytes == (try Self.foundation(metadata)))
        #expect(MetadataStore.decodeMetadata(MetadataStore.encodeMetadata(metadata)) == metadata)
        #expect(MetadataStore.encodeMetadata([:]) == nil)
        #expect(MetadataStore.decodeMetadata(nil) == [:])
    }

    @Test func valuesMatchJSONValueSerialized() throws {
        let value = JSONValue.object([
            "S": .string("x\"y"), "N": .number(42), "L": .array([.bool(true), .null, .number(-7), .string("é")]),
            "M": .object(["z": .number(1), "a": .object([:])]), "D": .number(1.5),
        ])
        #expect(JSONText.serialize(value) == value.serialized())
        #expect(try JSONValue.parse(JSONText.serialize(value)) == value)
    }

    @Test("events are the bytes JSONEncoder writes and decode back", arguments: awkward)
    func events(_ key: String) throws {
        for versionId in [String?.none, "v-1"] {
            let event = ObjectCreatedEvent(
                time: Date(timeIntervalSince1970: 1_700_000_123.9), region: "us-east-1", account: "000000000000", bucket: "raw",
                key: key, size: 1 << 40, etag: "abc-2", versionId: versionId, sequencer: ObjectRecord.sequencer(4096),
                requestId: "REQ/1", reason: .putObject, requester: "000000000000", sourceIPAddress: "127.0.0.1"
            )
            #expect(Array(try event.jsonData()) == (try Self.foundation(event)))
            var expected = event
            expected.time = Date(timeIntervalSince1970: 1_700_000_123)  // whole seconds, as EventBridge
            #expect(try ObjectCreatedEvent.decode(json: event.jsonData()) == expected)
            #expect(try JSONDecoder().decode(ObjectCreatedEvent.self, from: event.jsonData()) == expected)
        }
    }

    @Test func aDocumentThatIsNotAnEventIsRejected() {
        for text in ["", "{}", "[1]", #"{"id":"x","time":"2023-11-14T22:13:20Z","region":"r","account":"a","detail":{"bucket":{"name":"b"}}}"#] {
            #expect(throws: (any Error).self) { try ObjectCreatedEvent.decode(json: Data(text.utf8)) }
        }
    }
}
