import Foundation

/// Names a request from its HTTP head, the way fault selectors name requests: the service,
/// the operation, and for S3 the bucket and key. Shared by the emulator (which classifies
/// requests it serves) and the fault proxy (which sniffs them off the wire).
///
/// - JSON-protocol services by `X-Amz-Target`: `DynamoDB_20120810.PutItem` → dynamodb PutItem,
///   `AmazonSQS.SendMessage` → sqs SendMessage, `AWSStepFunctions.StartExecution` → states,
///   `AWSEvents.PutEvents` → events, `AmazonEC2ContainerServiceV20141113.RunTask` → ecs.
/// - Everything else is S3 REST: the operation from the method, whether there is a key, the
///   sub-resource query parameters and `x-amz-copy-source`; the bucket from the path
///   (path style: `/bucket/key`) or from the host (virtual-hosted style:
///   `bucket.s3.us-east-1.amazonaws.com`, `bucket.s3.amazonaws.com`, `bucket.localhost`).
///   Unknown sub-resources leave `operation` nil (such requests match only selectors without
///   `operation`).
package enum AWSRequestClassifier {
    /// - Parameters:
    ///   - method: `GET`, `PUT`, … (case-sensitive, as on the wire).
    ///   - uri: the request target: `/bucket/key?query` (percent-encoded as received).
    ///   - headers: the request's headers (names case-insensitive).
    package static func classify(method: String, uri: String, headers: [(name: String, value: String)]) -> FaultRequest {
        var host: String?
        var amzTarget: String?
        var copySource = false
        for (name, value) in headers {
            switch name.lowercased() {
            case "host": host = value
            case "x-amz-target": amzTarget = value
            case "x-amz-copy-source": copySource = true
            default: break
            }
        }
        return classify(method: method, uri: uri, host: host, amzTarget: amzTarget, copySource: copySource)
    }

    package static func classify(method: String, uri: String, host: String?, amzTarget: String?, copySource: Bool = false) -> FaultRequest {
        if let amzTarget, let dot = amzTarget.lastIndex(of: ".") {
            let prefix = amzTarget[..<dot]
            let operation = String(amzTarget[amzTarget.index(after: dot)...])
            for service in FaultService.allCases where service.targetPrefix.map({ prefix == $0 }) == true {
                return FaultRequest(service: service, operation: operation)
            }
        }
        let hostName = host.map(stripPort)?.lowercased() ?? ""
        if amzTarget == nil, method == "POST", hostName.hasPrefix("sqs.") {
            return FaultRequest(service: .sqs, operation: nil)  // the SQS query protocol names its action in the body
        }
        let (rawPath, query) = splitURI(uri)
        let path = rawPath.drop { $0 == "/" }
        var bucket: String?
        var key: String?
        if let hostBucket = virtualHostedBucket(hostName) {
            bucket = hostBucket
            key = path.isEmpty ? nil : percentDecode(path)
        } else if !path.isEmpty {
            if let slash = path.firstIndex(of: "/") {
                bucket = percentDecode(path[..<slash])
                let rest = path[path.index(after: slash)...]
                key = rest.isEmpty ? nil : percentDecode(rest)
            } else {
                bucket = percentDecode(path)
            }
        }
        let operation = s3Operation(method: method, hasBucket: bucket != nil, hasKey: key != nil, query: query, copySource: copySource)
        return FaultRequest(service: .s3, operation: operation, bucket: bucket, key: key)
    }

    /// The S3 operation, or nil for a request this classifier does not name.
    package static func s3Operation(method: String, hasBucket: Bool, hasKey: Bool, query: [String: String], copySource: Bool) -> String? {
        func has(_ name: String) -> Bool { query[name] != nil }
        let objectSubresources = ["acl", "tagging", "legal-hold", "attributes", "torrent", "restore", "select"]
        guard hasBucket else { return method == "GET" ? "ListBuckets" : nil }
        if !hasKey {
            switch method {
            case "PUT":
                if has("versioning") { return "PutBucketVersioning" }
                return query.isEmpty ? "CreateBucket" : nil
            case "HEAD": return "HeadBucket"
            case "DELETE": return query.isEmpty ? "DeleteBucket" : nil
            case "GET":
                if has("uploads") { return "ListMultipartUploads" }
                if has("versions") { return "ListObjectVersions" }
                if has("versioning") { return "GetBucketVersioning" }
                if has("object-lock") { return "GetObjectLockConfiguration" }
                if has("location") { return "GetBucketLocation" }
                if query["list-type"] == "2" { return "ListObjectsV2" }
                let listParameters: Set<String> = ["prefix", "marker", "delimiter", "max-keys", "encoding-type"]
                return query.keys.allSatisfy(listParameters.contains) ? "ListObjects" : nil
            case "POST": return has("delete") ? "DeleteObjects" : nil
            default: return nil
            }
        }
        switch method {
        case "PUT":
            if copySource { return has("partNumber") ? "UploadPartCopy" : "CopyObject" }
            if has("partNumber") || has("uploadId") { return "UploadPart" }
            if has("retention") || objectSubresources.contains(where: has) { return nil }
            return "PutObject"
        case "POST":
            if has("uploads") { return "CreateMultipartUpload" }
            if has("uploadId") { return "CompleteMultipartUpload" }
            return nil
        case "DELETE":
            return has("uploadId") ? "AbortMultipartUpload" : (objectSubresources.contains(where: has) ? nil : "DeleteObject")
        case "GET":
            if has("uploadId") { return "ListParts" }
            if has("retention") { return "GetObjectRetention" }
            return objectSubresources.contains(where: has) ? nil : "GetObject"
        case "HEAD":
            return "HeadObject"
        default:
            return nil
        }
    }

    /// `bucket.s3.amazonaws.com`, `bucket.s3.us-east-1.amazonaws.com`, `bucket.s3-us-west-2.amazonaws.com`,
    /// `bucket.s3.dualstack.eu-west-1.amazonaws.com`, `bucket.localhost` → bucket; nil for path style.
    static func virtualHostedBucket(_ host: String) -> String? {
        if host.hasSuffix(".localhost"), host.count > ".localhost".count { return String(host.dropLast(".localhost".count)) }
        guard host.hasSuffix(".amazonaws.com") || host.hasSuffix(".amazonaws.com.cn") else { return nil }
        // The last ".s3." / ".s3-" label boundary: bucket names may contain dots.
        var candidate: String.Index?
        var search = host.startIndex
        while let range = host[search...].range(of: ".s3") {
            let after = range.upperBound
            if after < host.endIndex, host[after] == "." || host[after] == "-" { candidate = range.lowerBound }
            search = range.upperBound
        }
        guard let end = candidate, end > host.startIndex else { return nil }
        return String(host[..<end])
    }

    static func stripPort(_ host: String) -> String {
        if host.hasPrefix("["), let close = host.firstIndex(of: "]") { return String(host[...close]) }
        if let colon = host.lastIndex(of: ":") { return String(host[..<colon]) }
        return host
    }

    /// Path and decoded query parameters (a parameter without `=` has an empty value).
    static func splitURI(_ uri: String) -> (path: Substring, query: [String: String]) {
        var target = Substring(uri)
        // An absolute-form target (`http://host/path`), as some proxies' clients send.
        if target.hasPrefix("http://") || target.hasPrefix("https://") {
            let afterScheme = target[target.index(target.startIndex, offsetBy: target.hasPrefix("http://") ? 7 : 8)...]
            target = afterScheme.firstIndex(of: "/").map { afterScheme[$0...] } ?? "/"
        }
        guard let mark = target.firstIndex(of: "?") else { return (target, [:]) }
        var query: [String: String] = [:]
        for component in target[target.index(after: mark)...].split(separator: "&") {
            if let equals = component.firstIndex(of: "=") {
                query[percentDecode(component[..<equals])] = percentDecode(component[component.index(after: equals)...])
            } else {
                query[percentDecode(component)] = ""
            }
        }
        return (target[..<mark], query)
    }

    static func percentDecode(_ text: Substring) -> String {
        guard text.contains("%") else { return String(text) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "%"), let high = iterator.next(), let low = iterator.next(), let h = hex(high), let l = hex(low) {
                bytes.append(h << 4 | l)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func hex(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
