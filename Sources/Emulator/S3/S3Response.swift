import AWSWire
import Foundation
import HTTPTypes
import HummingbirdCore
import NIOCore

/// A response before it is written: status, headers, body.
struct S3Response: Sendable {
    var status: HTTPResponse.Status
    var headers: HTTPFields
    var body: ResponseBody

    init(status: HTTPResponse.Status = .ok, headers: HTTPFields = HTTPFields(), body: ResponseBody = ResponseBody()) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// An XML document (`application/xml`).
    static func xml(_ writer: XML.Writer, status: HTTPResponse.Status = .ok) -> S3Response {
        var response = S3Response(status: status, body: ResponseBody(byteBuffer: writer.byteBuffer()))
        response.set("content-type", "application/xml")
        return response
    }

    mutating func set(_ name: String, _ value: String) {
        guard let fieldName = HTTPField.Name(name) else { return }
        self.headers[fieldName] = value
    }

    /// S3's error document, or only the status and headers for HEAD requests.
    static func error(_ error: S3Error, requestId: String, resource: String, isHead: Bool) -> S3Response {
        var response: S3Response
        if isHead {
            response = S3Response(status: HTTPResponse.Status(code: error.code.status))
        } else {
            var writer = XML.Writer()
            writer.open("Error")
            writer.element("Code", text: error.code.name)
            writer.element("Message", text: error.message)
            for detail in error.details { writer.element(detail.name, text: detail.value) }
            writer.element("Resource", text: resource)
            writer.element("RequestId", text: requestId)
            writer.element("HostId", text: requestId)
            writer.close("Error")
            response = .xml(writer, status: HTTPResponse.Status(code: error.code.status))
        }
        for header in error.headers { response.set(header.name, header.value) }
        return response
    }
}

/// S3's XML namespace, on every response root element.
let s3Namespace = [(name: "xmlns", value: "http://s3.amazonaws.com/doc/2006-03-01/")]

/// Time formats S3 uses.
enum S3Time {
    /// `2009-10-12T17:50:30.000Z` (XML).
    static func iso8601(_ date: Date) -> String {
        let base = ObjectCreatedEvent.timestamp(date)
        let millis = Int((date.timeIntervalSince1970 * 1000).rounded(.down)) % 1000
        let m = millis < 10 ? "00\(millis)" : millis < 100 ? "0\(millis)" : "\(millis)"
        return String(base.dropLast()) + ".\(m)Z"
    }

    private static let days = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"]
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// `Wed, 12 Oct 2009 17:50:00 GMT` (headers).
    static func rfc1123(_ date: Date) -> String {
        let seconds = Int64(date.timeIntervalSince1970.rounded(.down))
        let dayNumber = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let (year, month, day) = ObjectCreatedEvent.civil(fromDays: dayNumber)
        let secondOfDay = seconds - dayNumber * 86_400
        func two(_ v: Int64) -> String { v < 10 ? "0\(v)" : "\(v)" }
        let weekday = Self.days[Int(((dayNumber % 7) + 7) % 7)]
        return "\(weekday), \(two(day)) \(Self.months[Int(month - 1)]) \(year) \(two(secondOfDay / 3600)):\(two(secondOfDay / 60 % 60)):\(two(secondOfDay % 60)) GMT"
    }

    static func parseRFC1123(_ text: String) -> Date? {
        // "Wed, 12 Oct 2009 17:50:00 GMT"
        let parts = text.split(separator: " ")
        guard parts.count == 6, let day = Int64(parts[1]), let monthIndex = Self.months.firstIndex(of: String(parts[2])),
              let year = Int64(parts[3]) else { return nil }
        let clock = parts[4].split(separator: ":").compactMap { Int64($0) }
        guard clock.count == 3 else { return nil }
        let days = ObjectCreatedEvent.daysFromCivil(year, Int64(monthIndex + 1), day)
        return Date(timeIntervalSince1970: TimeInterval(days * 86_400 + clock[0] * 3600 + clock[1] * 60 + clock[2]))
    }
}

/// S3's `encoding-type=url`: keys percent-encoded except unreserved characters and `/`.
enum S3URLEncoding {
    static func encode(_ text: String) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        let hex = Array("0123456789ABCDEF".utf8)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"), UInt8(ascii: "/"):
                out.append(byte)
            default:
                out.append(UInt8(ascii: "%"))
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 15)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
