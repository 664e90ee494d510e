import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// The request the chain sends to the ECS container credentials endpoint.
package struct ContainerCredentialsRequest: Sendable, Equatable {
    /// `http://169.254.170.2` + `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`, or
    /// `AWS_CONTAINER_CREDENTIALS_FULL_URI`.
    package var url: String
    /// The `Authorization` header value, from `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE` or
    /// `AWS_CONTAINER_AUTHORIZATION_TOKEN`.
    package var authorization: String?
}

extension CredentialsChain {
    /// The container endpoint request the environment describes, or nil when neither
    /// `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` nor `AWS_CONTAINER_CREDENTIALS_FULL_URI` is set.
    /// Pure apart from reading the token file; sends nothing.
    ///
    /// Like the SDKs, a full URI must be HTTPS, or HTTP to a loopback address or to the ECS / EKS
    /// link-local endpoints (169.254.170.2, 169.254.170.23, fd00:ec2::23).
    package func containerCredentialsRequest() throws(CredentialsError) -> ContainerCredentialsRequest? {
        let url: String
        if let relative = self.variable("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") {
            url = Self.containerEndpointBase + (relative.hasPrefix("/") ? "" : "/") + relative
        } else if let full = self.variable("AWS_CONTAINER_CREDENTIALS_FULL_URI") {
            try Self.checkFullURI(full)
            url = full
        } else {
            return nil
        }

        var authorization: String? = nil
        if let tokenFile = self.variable("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE") {
            let path = self.expandingTilde(tokenFile)
            guard let token = try Self.readTextFile(path) else {
                throw .unreadableFile(path, reason: "no such file (AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE)")
            }
            authorization = token.trimmingASCIIWhitespace()
        } else if let token = self.variable("AWS_CONTAINER_AUTHORIZATION_TOKEN") {
            authorization = token
        }
        if let authorization, authorization.utf8.contains(where: { $0 == UInt8(ascii: "\r") || $0 == UInt8(ascii: "\n") }) {
            throw .endpointNotAllowed("The container authorization token must not contain a line break.")
        }
        return ContainerCredentialsRequest(url: url, authorization: authorization)
    }

    private static func checkFullURI(_ text: String) throws(CredentialsError) {
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), let rawHost = url.host,
            !rawHost.isEmpty
        else {
            throw .endpointNotAllowed("AWS_CONTAINER_CREDENTIALS_FULL_URI \"\(text)\" is not an absolute http(s) URL.")
        }
        if scheme == "https" { return }
        guard scheme == "http" else {
            throw .endpointNotAllowed("AWS_CONTAINER_CREDENTIALS_FULL_URI \"\(text)\" must use http or https.")
        }
        var host = rawHost.lowercased()
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        let allowedHosts: Set<String> = ["localhost", "::1", "169.254.170.2", "169.254.170.23", "fd00:ec2::23"]
        let isLoopbackV4: Bool = {
            let octets = host.split(separator: ".", omittingEmptySubsequences: false)
            return octets.count == 4 && octets[0] == "127" && octets.allSatisfy { UInt8($0) != nil }
        }()
        guard allowedHosts.contains(host) || isLoopbackV4 else {
            throw .endpointNotAllowed(
                "AWS_CONTAINER_CREDENTIALS_FULL_URI \"\(text)\" uses plain HTTP to \(rawHost); only loopback, 169.254.170.2, 169.254.170.23 and fd00:ec2::23 are allowed without HTTPS."
            )
        }
    }

    /// Fetches and parses credentials from the container endpoint.
    package func fetchContainerCredentials(
        _ request: ContainerCredentialsRequest,
        httpClient: HTTPClient
    ) async throws(CredentialsError) -> ResolvedCredentials {
        var httpRequest = HTTPClientRequest(url: request.url)
        httpRequest.method = .GET
        httpRequest.headers.add(name: "Accept", value: "application/json")
        if let authorization = request.authorization {
            httpRequest.headers.add(name: "Authorization", value: authorization)
        }
        let (seconds, attoseconds) = self.configuration.containerEndpointTimeout.components
        let timeout = TimeAmount.nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)

        let status: UInt
        let body: ByteBuffer
        do {
            let response = try await httpClient.execute(httpRequest, timeout: timeout)
            status = response.status.code
            body = try await response.body.collect(upTo: self.configuration.containerEndpointMaximumResponseBytes)
        } catch {
            throw .endpointFailed(request.url, reason: "\(error)")
        }
        guard status == 200 else {
            let snippet = String(buffer: body).prefix(200)
            throw .endpointFailed(request.url, reason: "HTTP \(status): \(snippet)")
        }
        let credentials = try Self.parseContainerCredentials(Array(body.readableBytesView), url: request.url)
        return ResolvedCredentials(credentials: credentials, source: .containerEndpoint(url: request.url))
    }

    /// Parses the endpoint's JSON: `AccessKeyId`, `SecretAccessKey`, `Token`, `Expiration`
    /// (ISO 8601, optional fractional seconds).
    package static func parseContainerCredentials(_ json: [UInt8], url: String) throws(CredentialsError) -> AWSCredentials {
        struct Body: Decodable {
            var AccessKeyId: String?
            var SecretAccessKey: String?
            var Token: String?
            var Expiration: String?
        }
        let body: Body
        do {
            body = try JSONDecoder().decode(Body.self, from: Data(json))
        } catch {
            throw .invalidResponse(url, reason: "not a JSON object (\(error))")
        }
        guard let accessKeyId = body.AccessKeyId, !accessKeyId.isEmpty else {
            throw .invalidResponse(url, reason: "AccessKeyId is missing")
        }
        guard let secret = body.SecretAccessKey, !secret.isEmpty else {
            throw .invalidResponse(url, reason: "SecretAccessKey is missing")
        }
        var expiration: Date? = nil
        if let text = body.Expiration {
            guard let date = Self.parseISO8601(text) else {
                throw .invalidResponse(url, reason: "Expiration \"\(text)\" is not an ISO 8601 date")
            }
            expiration = date
        }
        return AWSCredentials(
            accessKeyId: accessKeyId,
            secretAccessKey: secret,
            sessionToken: body.Token.flatMap { $0.isEmpty ? nil : $0 },
            expiration: expiration
        )
    }

    static func parseISO8601(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.date(from: text)
    }
}
