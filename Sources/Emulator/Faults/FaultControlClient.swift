import AWSWire
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// A client of a running emulator's `/_csvstorm/faults` (``FaultControl``): `csvstorm faults`
/// and the tests use it. POST and DELETE are SigV4-signed (standard mode, service name
/// `csvstorm`) with the given credentials.
package struct FaultControlClient: Sendable {
    /// What the emulator answered: the HTTP status and the JSON document.
    package struct Answer: Sendable {
        package var status: Int
        package var document: JSONValue

        /// The error message of a refusal (`message`), if any.
        package var message: String? { self.document["message"]?.stringValue }
    }

    let httpClient: HTTPClient
    let endpointURL: String
    let signer: SigV4Signer
    let timeout: Duration

    /// - Parameter endpointURL: `http://127.0.0.1:4566` (a trailing `/` is ignored).
    package init(httpClient: HTTPClient, endpointURL: String, credentials: AWSCredentials, region: String = "us-east-1", timeout: Duration = .seconds(30)) {
        self.httpClient = httpClient
        self.endpointURL = endpointURL.hasSuffix("/") ? String(endpointURL.dropLast()) : endpointURL
        self.signer = SigV4Signer(credentials: credentials, region: region, service: "csvstorm", mode: .standard)
        self.timeout = timeout
    }

    /// Applies a plan (YAML text); `file` names it in errors and in the status.
    package func apply(yaml: String, file: String, seed: UInt64? = nil) async throws -> Answer {
        var query = "file=\(Self.encode(file))"
        if let seed { query += "&seed=\(seed)" }
        return try await self.send("POST", query: query, body: Array(yaml.utf8), signed: true)
    }

    /// The plan in force and its records from index `after`.
    package func status(after: Int = 0) async throws -> Answer {
        try await self.send("GET", query: after > 0 ? "after=\(after)" : nil, body: [], signed: false)
    }

    /// Removes the plan in force; answers its final statistics and records.
    package func clear() async throws -> Answer {
        try await self.send("DELETE", query: nil, body: [], signed: true)
    }

    /// One request; `signed: false` sends it without a signature.
    package func send(_ method: String, query: String?, body: [UInt8], signed: Bool) async throws -> Answer {
        guard let url = URL(string: self.endpointURL), let host = url.host else {
            throw FaultControlClientError(message: "not an endpoint URL: \(self.endpointURL)")
        }
        let authority = url.port.map { "\(host):\($0)" } ?? host
        let path = "/_csvstorm/faults"
        var request = HTTPClientRequest(url: self.endpointURL + path + (query.map { "?\($0)" } ?? ""))
        request.method = .init(rawValue: method)
        request.headers.add(name: "Host", value: authority)
        if method == "POST" { request.headers.add(name: "Content-Type", value: "application/yaml") }
        if signed {
            let added = self.signer.signHeaders(
                method: method, path: path, query: query, headers: [(name: "host", value: authority)],
                payloadHash: SigV4Signer.payloadHash(of: body), date: Date(), addContentSHA256Header: false
            )
            for (name, value) in added { request.headers.add(name: name, value: value) }
        }
        if !body.isEmpty || method == "POST" {
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let response = try await self.httpClient.execute(request, timeout: .nanoseconds(Int64(self.timeout.components.seconds) * 1_000_000_000 + self.timeout.components.attoseconds / 1_000_000_000))
        var bytes = try await response.body.collect(upTo: 64 << 20)
        let document = (try? JSONValue.parse(bytes.readBytes(length: bytes.readableBytes) ?? [])) ?? .null
        return Answer(status: Int(response.status.code), document: document)
    }

    static func encode(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }
}

package struct FaultControlClientError: Error, CustomStringConvertible {
    package var message: String
    package var description: String { self.message }
}
