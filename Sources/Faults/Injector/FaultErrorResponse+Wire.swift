/// The error answers an injected fault sends, in each service's wire format: S3's XML error
/// document, the JSON 1.0 `{"__type", "message"}` shape for DynamoDB, SQS, Step Functions,
/// EventBridge and ECS.
extension FaultErrorResponse {
    /// The body: S3 XML or a JSON error document.
    package func body(for service: FaultService, requestId: String, resource: String? = nil) -> String {
        if service == .s3 {
            var xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>\(code)</Code><Message>\(Self.escapeXML(message))</Message>"
            if let resource { xml += "<Resource>\(Self.escapeXML(resource))</Resource>" }
            xml += "<RequestId>\(requestId)</RequestId><HostId>csvstorm-fault-injection</HostId></Error>"
            return xml
        }
        let type = service.errorNamespace.isEmpty ? code : "\(service.errorNamespace)#\(code)"
        return "{\"__type\":\"\(type)\",\"message\":\"\(Self.escapeJSON(message))\"}"
    }

    /// Content type and service-specific headers (request id, error type), without framing.
    package func headers(for service: FaultService, requestId: String) -> [(name: String, value: String)] {
        if service == .s3 {
            return [("Content-Type", "application/xml"), ("x-amz-request-id", requestId), ("x-amz-id-2", "csvstorm-fault-injection")]
        }
        var headers: [(name: String, value: String)] = [
            ("Content-Type", "application/x-amz-json-1.0"), ("x-amzn-RequestId", requestId), ("x-amzn-ErrorType", code),
        ]
        if service == .sqs {
            // botocore ≥ 1.31 reads the query-compatible code from this header.
            headers.append(("x-amzn-query-error", "AWS.SimpleQueueService.\(code);\(status >= 500 ? "Receiver" : "Sender")"))
        }
        return headers
    }

    /// A whole HTTP/1.1 response. A HEAD request gets the headers only; `close` adds
    /// `Connection: close`.
    package func httpResponse(for service: FaultService, requestId: String, isHead: Bool = false, close: Bool = false, resource: String? = nil) -> [UInt8] {
        let body = Array(self.body(for: service, requestId: requestId, resource: resource).utf8)
        var text = "HTTP/1.1 \(status) \(Self.reason(status))\r\n"
        for (name, value) in headers(for: service, requestId: requestId) { text += "\(name): \(value)\r\n" }
        text += "Content-Length: \(isHead ? 0 : body.count)\r\n"
        if close { text += "Connection: close\r\n" }
        text += "\r\n"
        return Array(text.utf8) + (isHead ? [] : body)
    }

    static func reason(_ status: Int) -> String {
        switch status {
        case 400: return "Bad Request"
        case 429: return "Too Many Requests"
        case 500: return "Internal Server Error"
        case 502: return "Bad Gateway"
        case 503: return "Service Unavailable"
        default: return "Error"
        }
    }

    static func escapeXML(_ text: String) -> String {
        var out = ""
        for c in text {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.append(c)
            }
        }
        return out
    }

    static func escapeJSON(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }
}
