import AWSWire
import Foundation

/// An S3 "Object Created" event in the shape EventBridge delivers it
/// (`detail-type: Object Created`, `source: aws.s3`), emitted once per new object version.
///
/// The `detail` fields are the ones the pipeline reads: `bucket.name`, `object.key` (not
/// URL-encoded, as in EventBridge), `object.size`, `object.etag` (without quotes),
/// `object.version-id`, `object.sequencer`, `request-id` and `reason`.
package struct ObjectCreatedEvent: Sendable, Hashable, Codable {
    /// Why the object was created (`detail.reason`).
    package struct Reason: Sendable, Hashable, Codable, CustomStringConvertible {
        package let rawValue: String
        package init(rawValue: String) { self.rawValue = rawValue }
        package static let putObject = Reason(rawValue: "PutObject")
        package static let completeMultipartUpload = Reason(rawValue: "CompleteMultipartUpload")
        package var description: String { self.rawValue }

        package init(from decoder: any Decoder) throws {
            self.rawValue = try decoder.singleValueContainer().decode(String.self)
        }

        package func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            try container.encode(self.rawValue)
        }
    }

    /// Event id (`id`), a UUID.
    package var id: String
    /// When the object was created (`time`, whole seconds in UTC like EventBridge).
    package var time: Date
    package var region: String
    package var account: String
    package var bucket: String
    package var key: String
    package var size: Int64
    /// The ETag without quotes: MD5 hex, or `md5-of-md5s-N` for multipart objects.
    package var etag: String
    /// nil in an unversioned bucket.
    package var versionId: String?
    /// Fixed-width upper-case hex; for one key, a later object has a greater sequencer (compare as strings).
    package var sequencer: String
    /// The `x-amz-request-id` of the request that created the object.
    package var requestId: String
    package var reason: Reason
    /// The principal (`detail.requester`), here the account id.
    package var requester: String
    /// `detail.source-ip-address`.
    package var sourceIPAddress: String

    package init(
        id: String = UUID().uuidString.lowercased(),
        time: Date,
        region: String,
        account: String,
        bucket: String,
        key: String,
        size: Int64,
        etag: String,
        versionId: String?,
        sequencer: String,
        requestId: String,
        reason: Reason,
        requester: String,
        sourceIPAddress: String
    ) {
        self.id = id
        self.time = time
        self.region = region
        self.account = account
        self.bucket = bucket
        self.key = key
        self.size = size
        self.etag = etag
        self.versionId = versionId
        self.sequencer = sequencer
        self.requestId = requestId
        self.reason = reason
        self.requester = requester
        self.sourceIPAddress = sourceIPAddress
    }

    // MARK: EventBridge JSON

    private enum TopKeys: String, CodingKey {
        case version, id, detailType = "detail-type", source, account, time, region, resources, detail
    }

    private enum DetailKeys: String, CodingKey {
        case version, bucket, object, requestId = "request-id", requester, sourceIPAddress = "source-ip-address", reason
    }

    private enum BucketKeys: String, CodingKey { case name }

    private enum ObjectKeys: String, CodingKey {
        case key, size, etag, versionId = "version-id", sequencer
    }

    package func encode(to encoder: any Encoder) throws {
        var top = encoder.container(keyedBy: TopKeys.self)
        try top.encode("0", forKey: .version)
        try top.encode(self.id, forKey: .id)
        try top.encode("Object Created", forKey: .detailType)
        try top.encode("aws.s3", forKey: .source)
        try top.encode(self.account, forKey: .account)
        try top.encode(Self.timestamp(self.time), forKey: .time)
        try top.encode(self.region, forKey: .region)
        try top.encode(["arn:aws:s3:::\(self.bucket)"], forKey: .resources)
        var detail = top.nestedContainer(keyedBy: DetailKeys.self, forKey: .detail)
        try detail.encode("0", forKey: .version)
        var bucket = detail.nestedContainer(keyedBy: BucketKeys.self, forKey: .bucket)
        try bucket.encode(self.bucket, forKey: .name)
        var object = detail.nestedContainer(keyedBy: ObjectKeys.self, forKey: .object)
        try object.encode(self.key, forKey: .key)
        try object.encode(self.size, forKey: .size)
        try object.encode(self.etag, forKey: .etag)
        try object.encodeIfPresent(self.versionId, forKey: .versionId)
        try object.encode(self.sequencer, forKey: .sequencer)
        try detail.encode(self.requestId, forKey: .requestId)
        try detail.encode(self.requester, forKey: .requester)
        try detail.encode(self.sourceIPAddress, forKey: .sourceIPAddress)
        try detail.encode(self.reason, forKey: .reason)
    }

    package init(from decoder: any Decoder) throws {
        let top = try decoder.container(keyedBy: TopKeys.self)
        self.id = try top.decode(String.self, forKey: .id)
        let timeText = try top.decode(String.self, forKey: .time)
        guard let time = Self.parseTimestamp(timeText) else {
            throw DecodingError.dataCorruptedError(forKey: .time, in: top, debugDescription: "not an ISO 8601 time: \(timeText)")
        }
        self.time = time
        self.region = try top.decode(String.self, forKey: .region)
        self.account = try top.decode(String.self, forKey: .account)
        let detail = try top.nestedContainer(keyedBy: DetailKeys.self, forKey: .detail)
        let bucket = try detail.nestedContainer(keyedBy: BucketKeys.self, forKey: .bucket)
        self.bucket = try bucket.decode(String.self, forKey: .name)
        let object = try detail.nestedContainer(keyedBy: ObjectKeys.self, forKey: .object)
        self.key = try object.decode(String.self, forKey: .key)
        self.size = try object.decode(Int64.self, forKey: .size)
        self.etag = try object.decode(String.self, forKey: .etag)
        self.versionId = try object.decodeIfPresent(String.self, forKey: .versionId)
        self.sequencer = try object.decode(String.self, forKey: .sequencer)
        self.requestId = try detail.decode(String.self, forKey: .requestId)
        self.requester = try detail.decode(String.self, forKey: .requester)
        self.sourceIPAddress = try detail.decode(String.self, forKey: .sourceIPAddress)
        self.reason = try detail.decode(Reason.self, forKey: .reason)
    }

    /// The event as EventBridge JSON (keys sorted, so equal events give equal bytes): the bytes
    /// `JSONEncoder` with `[.sortedKeys, .withoutEscapingSlashes]` writes for ``encode(to:)``,
    /// written by hand (an event is written and read several times per object in the pipeline).
    package func jsonData() throws -> Data {
        Data(self.jsonBytes())
    }

    func jsonBytes() -> [UInt8] {
        var w = JSONText(capacity: 512)
        w.raw("{\"account\":")
        w.string(self.account)
        w.raw(",\"detail\":{\"bucket\":{\"name\":")
        w.string(self.bucket)
        w.raw("},\"object\":{\"etag\":")
        w.string(self.etag)
        w.raw(",\"key\":")
        w.string(self.key)
        w.raw(",\"sequencer\":")
        w.string(self.sequencer)
        w.raw(",\"size\":")
        w.int(self.size)
        if let versionId = self.versionId {
            w.raw(",\"version-id\":")
            w.string(versionId)
        }
        w.raw("},\"reason\":")
        w.string(self.reason.rawValue)
        w.raw(",\"request-id\":")
        w.string(self.requestId)
        w.raw(",\"requester\":")
        w.string(self.requester)
        w.raw(",\"source-ip-address\":")
        w.string(self.sourceIPAddress)
        w.raw(",\"version\":\"0\"},\"detail-type\":\"Object Created\",\"id\":")
        w.string(self.id)
        w.raw(",\"region\":")
        w.string(self.region)
        w.raw(",\"resources\":[")
        w.string("arn:aws:s3:::\(self.bucket)")
        w.raw("],\"source\":\"aws.s3\",\"time\":")
        w.string(Self.timestamp(self.time))
        w.raw(",\"version\":\"0\"}")
        return w.bytes
    }

    /// Reads EventBridge JSON (any key order), as ``init(from:)`` does, with the AWS JSON
    /// parser rather than `JSONDecoder`.
    package static func decode(json: Data) throws -> ObjectCreatedEvent {
        let document: JSONValue
        do {
            document = try JSONValue.parse(json)
        } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "not JSON: \(error)"))
        }
        func fail(_ what: String) -> DecodingError {
            DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "not an Object Created event: \(what)"))
        }
        func string(_ value: JSONValue?, _ name: String) throws -> String {
            guard let text = value?.stringValue else { throw fail("missing \(name)") }
            return text
        }
        let detail = document["detail"]
        let object = detail?["object"]
        let timeText = try string(document["time"], "time")
        guard let time = Self.parseTimestamp(timeText) else { throw fail("not an ISO 8601 time: \(timeText)") }
        guard case .number(let size)? = object?["size"], size.rounded() == size, size >= 0 else { throw fail("missing detail.object.size") }
        var versionId: String?
        if let version = object?["version-id"], version != .null { versionId = try string(version, "detail.object.version-id") }
        return ObjectCreatedEvent(
            id: try string(document["id"], "id"), time: time, region: try string(document["region"], "region"),
            account: try string(document["account"], "account"), bucket: try string(detail?["bucket"]?["name"], "detail.bucket.name"),
            key: try string(object?["key"], "detail.object.key"), size: Int64(size), etag: try string(object?["etag"], "detail.object.etag"),
            versionId: versionId, sequencer: try string(object?["sequencer"], "detail.object.sequencer"),
            requestId: try string(detail?["request-id"], "detail.request-id"), reason: Reason(rawValue: try string(detail?["reason"], "detail.reason")),
            requester: try string(detail?["requester"], "detail.requester"),
            sourceIPAddress: try string(detail?["source-ip-address"], "detail.source-ip-address")
        )
    }

    static func timestamp(_ date: Date) -> String {
        let seconds = Int64(date.timeIntervalSince1970.rounded(.down))
        let (year, month, day) = civil(fromDays: seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400)
        let secondOfDay = ((seconds % 86_400) + 86_400) % 86_400
        func two(_ v: Int64) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(year)-\(two(month))-\(two(day))T\(two(secondOfDay / 3600)):\(two(secondOfDay / 60 % 60)):\(two(secondOfDay % 60))Z"
    }

    static func parseTimestamp(_ text: String) -> Date? {
        let u = Array(text.utf8)
        guard u.count >= 20 else { return nil }
        func number(_ range: Range<Int>) -> Int64? {
            var v: Int64 = 0
            for i in range {
                guard u[i] >= 48, u[i] <= 57 else { return nil }
                v = v * 10 + Int64(u[i] - 48)
            }
            return v
        }
        guard let y = number(0..<4), let mo = number(5..<7), let d = number(8..<10),
              let h = number(11..<13), let mi = number(14..<16), let s = number(17..<19) else { return nil }
        let days = daysFromCivil(y, mo, d)
        return Date(timeIntervalSince1970: TimeInterval(days * 86_400 + h * 3600 + mi * 60 + s))
    }

    /// Howard Hinnant's days-to-civil.
    static func civil(fromDays days: Int64) -> (Int64, Int64, Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }

    static func daysFromCivil(_ year: Int64, _ month: Int64, _ day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }
}
