import Foundation

/// Where S3 is: scheme, host and port. Built from a URL such as `http://127.0.0.1:9000` or
/// from a region (`https://s3.<region>.amazonaws.com`).
package struct S3Endpoint: Sendable, Hashable, CustomStringConvertible {
    /// `http` or `https`.
    package var scheme: String
    /// Host name or IP address (IPv6 without brackets).
    package var host: String
    /// Port when not the scheme's default.
    package var port: Int?
    /// Whether ``host`` is an IP address (virtual-hosted addressing is impossible then).
    package var hostIsIPAddress: Bool {
        self.host.contains(":") || self.host.split(separator: ".").allSatisfy { Int($0) != nil }
    }

    /// Parses `scheme://host[:port][/]`. Paths, queries and user info are rejected.
    package init(url: String) throws(AWSError) {
        func bad(_ why: String) -> AWSError {
            AWSError(kind: .invalidRequest, operation: "Endpoint", message: "invalid S3 endpoint URL '\(url)': \(why)")
        }
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased() else {
            throw bad("not a URL")
        }
        guard scheme == "http" || scheme == "https" else { throw bad("scheme must be http or https") }
        guard let host = components.host, !host.isEmpty else { throw bad("no host") }
        guard components.path.isEmpty || components.path == "/" else { throw bad("paths are not supported") }
        guard components.query == nil, components.user == nil else { throw bad("query and user info are not supported") }
        self.scheme = scheme
        self.host = host.hasPrefix("[") ? String(host.dropFirst().dropLast()) : host
        let defaultPort = scheme == "https" ? 443 : 80
        self.port = components.port.flatMap { $0 == defaultPort ? nil : $0 }
    }

    package init(scheme: String = "https", host: String, port: Int? = nil) {
        self.scheme = scheme
        self.host = host
        self.port = port
    }

    /// The AWS regional endpoint, `https://s3.<region>.amazonaws.com`.
    package static func aws(region: String) -> S3Endpoint {
        S3Endpoint(scheme: "https", host: "s3.\(region).amazonaws.com")
    }

    /// `host[:port]` as the Host header carries it, with an optional bucket prefix.
    func authority(bucketPrefix: String? = nil) -> String {
        var h = self.host.contains(":") ? "[\(self.host)]" : self.host
        if let bucketPrefix { h = bucketPrefix + "." + h }
        if let port { h += ":\(port)" }
        return h
    }

    package var description: String { "\(self.scheme)://\(self.authority())" }
}

extension S3Client {
    /// How the bucket goes into the URL.
    package enum AddressingStyle: Sendable, Hashable {
        /// `https://host/bucket/key`. What local S3 implementations (moto, MinIO, the emulator) expect.
        case path
        /// `https://bucket.host/key`. What AWS prefers.
        case virtualHosted
        /// Virtual-hosted when the bucket name is DNS-compatible without dots and the endpoint
        /// is a host name (not an IP address), path style otherwise.
        case automatic
    }

    /// Which checksum protects request bodies of UploadPart and PutObject.
    package enum ChecksumAlgorithm: Sendable, Hashable {
        /// `x-amz-checksum-crc32c` (hardware accelerated), and multipart uploads created with
        /// `x-amz-checksum-algorithm: CRC32C` (composite checksum of the parts).
        case crc32c
        /// No flexible checksum; UploadPart / PutObject then sign the real SHA-256 of the body.
        case none
    }

    /// Per-attempt time limits. A timed-out attempt counts as a timeout for the retry strategy.
    package struct Timeouts: Sendable, Hashable {
        /// Small requests (create/abort/list/head/delete): until the whole response is read. Default 30 s.
        package var request: Duration
        /// UploadPart / PutObject: until the response head (body upload included); GetObject:
        /// until the response head. Default 5 min.
        package var transfer: Duration
        /// CompleteMultipartUpload, which S3 may work on for minutes. Default 10 min.
        package var completeMultipartUpload: Duration

        package init(request: Duration = .seconds(30), transfer: Duration = .seconds(300), completeMultipartUpload: Duration = .seconds(600)) {
            self.request = request
            self.transfer = transfer
            self.completeMultipartUpload = completeMultipartUpload
        }
    }

    package struct Configuration: Sendable {
        /// Signing region. Default `us-east-1`.
        package var region: String
        /// Endpoint; default (nil) is the AWS regional endpoint of ``region``.
        package var endpoint: S3Endpoint?
        /// Default ``AddressingStyle/automatic``.
        package var addressingStyle: AddressingStyle
        /// Default ``ChecksumAlgorithm/crc32c``.
        package var checksumAlgorithm: ChecksumAlgorithm
        /// With a checksum header protecting the body, sign `UNSIGNED-PAYLOAD` instead of hashing
        /// the body with SHA-256 (UploadPart, PutObject). Default true (what the SDKs do over TLS).
        package var unsignedPayloadWhenChecksummed: Bool
        /// Also send `Content-MD5` on UploadPart / PutObject. Default false.
        package var sendContentMD5: Bool
        /// Default ``Timeouts/init(request:transfer:completeMultipartUpload:)``.
        package var timeouts: Timeouts
        /// Retry settings (ignored when a strategy is passed to the client). Default standard mode.
        package var retry: RetryConfiguration
        /// Largest XML response accepted (list results, errors). Default 16 MiB.
        package var maxXMLResponseBytes: Int

        package init(
            region: String = "us-east-1",
            endpoint: S3Endpoint? = nil,
            addressingStyle: AddressingStyle = .automatic,
            checksumAlgorithm: ChecksumAlgorithm = .crc32c,
            unsignedPayloadWhenChecksummed: Bool = true,
            sendContentMD5: Bool = false,
            timeouts: Timeouts = Timeouts(),
            retry: RetryConfiguration = .standard,
            maxXMLResponseBytes: Int = 16 << 20
        ) {
            self.region = region
            self.endpoint = endpoint
            self.addressingStyle = addressingStyle
            self.checksumAlgorithm = checksumAlgorithm
            self.unsignedPayloadWhenChecksummed = unsignedPayloadWhenChecksummed
            self.sendContentMD5 = sendContentMD5
            self.timeouts = timeouts
            self.retry = retry
            self.maxXMLResponseBytes = maxXMLResponseBytes
        }

        /// The endpoint in use.
        package var resolvedEndpoint: S3Endpoint { self.endpoint ?? .aws(region: self.region) }
    }
}
