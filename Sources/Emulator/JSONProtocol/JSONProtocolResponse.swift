import AWSWire
import Foundation

/// An answer of a JSON 1.0 protocol handler (DynamoDB, SQS): status, headers and body, ready
/// for any HTTP server to send.
package struct JSONProtocolResponse: Sendable {
    package var status: Int
    /// Includes `Content-Type: application/x-amz-json-1.0` and `x-amzn-RequestId`.
    package var headers: [(name: String, value: String)]
    package var body: [UInt8]

    package static let contentType = "application/x-amz-json-1.0"

    package init(status: Int, headers: [(name: String, value: String)] = [], body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// `200` with a JSON document.
    package static func ok(_ document: JSONValue) -> JSONProtocolResponse {
        JSONProtocolResponse(status: 200, headers: Self.standardHeaders(), body: document.serialized())
    }

    /// An error: `{"__type": type, "message": message}`.
    package static func error(status: Int, type: String, message: String, extraHeaders: [(name: String, value: String)] = [], extra: [String: JSONValue] = [:]) -> JSONProtocolResponse {
        var document: [String: JSONValue] = ["__type": .string(type), "message": .string(message)]
        for (k, v) in extra { document[k] = v }
        var headers = Self.standardHeaders()
        // The short code, as AWS also sends it (some clients read only the header).
        let code = type.split(separator: "#").last.map(String.init) ?? type
        headers.append((name: "x-amzn-ErrorType", value: code))
        headers.append(contentsOf: extraHeaders)
        return JSONProtocolResponse(status: status, headers: headers, body: JSONValue.object(document).serialized())
    }

    static func standardHeaders() -> [(name: String, value: String)] {
        [
            (name: "Content-Type", value: Self.contentType),
            (name: "x-amzn-RequestId", value: UUID().uuidString),
        ]
    }

    /// The first header named `name` (case-insensitive).
    package func header(_ name: String) -> String? {
        self.headers.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value
    }
}
