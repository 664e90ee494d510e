import NIOCore
import Testing

@testable import Faults

@Suite struct HTTPRequestSnifferTests {
    /// Feeds `wire` split into pieces of `step` bytes; returns the events in words and the
    /// bytes passed on (which must be the input, unchanged).
    static func run(_ wire: String, step: Int) -> (events: [String], bytes: String) {
        var sniffer = HTTPRequestSniffer()
        var events: [String] = []
        var out = ""
        let all = Array(wire.utf8)
        var i = 0
        while i < all.count {
            let piece = ByteBuffer(bytes: all[i..<min(all.count, i + step)])
            sniffer.feed(piece) { event in
                switch event {
                case .head(let head, let raw):
                    events.append("head \(head.method) \(head.uri)")
                    out += String(buffer: raw)
                case .body(let b):
                    if events.last != "body" { events.append("body") }
                    out += String(buffer: b)
                case .end:
                    events.append("end")
                case .passthrough(let b):
                    if events.last != "passthrough" { events.append("passthrough") }
                    out += String(buffer: b)
                }
            }
            i += step
        }
        return (events, out)
    }

    static let keepAlive =
        "PUT /raw/a?partNumber=1&uploadId=u HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello"
        + "GET /raw/a HTTP/1.1\r\nHost: h\r\n\r\n"
        + "PUT /raw/b HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n4;ext=1\r\nwiki\r\n5\r\npedia\r\n0\r\nX-Trailer: 1\r\n\r\n"
        + "HEAD /raw/c HTTP/1.1\r\nHost: h\r\n\r\n"

    @Test(arguments: [1, 2, 3, 7, 64, 4096])
    func findsEveryRequestOfAKeepAliveStreamWhateverTheSplit(step: Int) {
        let (events, bytes) = Self.run(Self.keepAlive, step: step)
        #expect(events == [
            "head PUT /raw/a?partNumber=1&uploadId=u", "body", "end", "head GET /raw/a", "end", "head PUT /raw/b", "body", "end", "head HEAD /raw/c", "end",
        ])
        #expect(bytes == Self.keepAlive)
    }

    @Test func parsesTheHeadFields() {
        let raw = ByteBuffer(string: "POST / HTTP/1.1\r\nHost: dynamodb\r\nX-Amz-Target: DynamoDB_20120810.PutItem\r\nContent-Length: 2\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n")
        let head = HTTPRequestSniffer.parseHead(raw)
        #expect(head?.method == "POST")
        #expect(head?.contentLength == 2)
        #expect(head?.expectContinue == true)
        #expect(head?.connectionClose == true)
        #expect(head?.headers.count == 5)
    }

    @Test func garbageSwitchesToPassthroughKeepingEveryByte() {
        let wire = "NOT HTTP AT ALL\r\n\r\nmore bytes"
        let (events, bytes) = Self.run(wire, step: 5)
        #expect(events == ["passthrough"])
        #expect(bytes == wire)
    }

    @Test func anUpgradeSwitchesToPassthroughAfterItsHead() {
        let wire = "GET /ws HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n\u{1}\u{2}binary"
        let (events, bytes) = Self.run(wire, step: 3)
        #expect(events == ["head GET /ws", "end", "passthrough"])
        #expect(bytes == wire)
    }
}
