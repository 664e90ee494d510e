import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Testing

@testable import AWSWire

/// The container step of the chain against a real HTTP server bound to 127.0.0.1, port 0.
/// No test sends traffic anywhere else.
@Suite("Credentials chain: container endpoint")
struct CredentialsContainerTests {
    static let credentialsJSON = """
        {"AccessKeyId":"ASIACONTAINER","SecretAccessKey":"container-secret","Token":"container-token",\
        "Expiration":"2030-01-02T03:04:05Z"}
        """

    /// A chain whose container request may take 20 s: these servers answer at once, but a loaded
    /// machine (CI runs every suite in parallel on two cores) has stretched the default 2 s.
    static func chain(_ environment: [String: String]) -> CredentialsChain {
        CredentialsChain(environment: environment, configuration: .init(containerEndpointTimeout: .seconds(20)))
    }

    @Test(.timeLimit(.minutes(1)))
    func fetchesWithAuthorizationToken() async throws {
        try await withCredentialsServer(.json(Self.credentialsJSON)) { port, log in
            let chain = Self.chain([
                "AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://127.0.0.1:\(port)/v2/credentials?id=7",
                "AWS_CONTAINER_AUTHORIZATION_TOKEN": "Bearer abc",
            ])
            let resolved = try await chain.resolve()
            #expect(resolved.source == .containerEndpoint(url: "http://127.0.0.1:\(port)/v2/credentials?id=7"))
            #expect(resolved.credentials.accessKeyId == "ASIACONTAINER")
            #expect(resolved.credentials.secretAccessKey == "container-secret")
            #expect(resolved.credentials.sessionToken == "container-token")
            #expect(resolved.credentials.expiration == Date(timeIntervalSince1970: 1_893_553_445))

            let requests = await log.requests
            #expect(requests.count == 1)
            #expect(requests.first?.method == "GET")
            #expect(requests.first?.uri == "/v2/credentials?id=7")
            #expect(requests.first?.header("authorization") == "Bearer abc")
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func tokenFromFile() async throws {
        let tokenFile = FileManager.default.temporaryDirectory.appendingPathComponent("csvstorm-token-\(UUID().uuidString)")
        try Data("file-token\n".utf8).write(to: tokenFile)
        defer { try? FileManager.default.removeItem(at: tokenFile) }
        try await withCredentialsServer(.json(Self.credentialsJSON)) { port, log in
            let chain = Self.chain([
                "AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://127.0.0.1:\(port)/creds",
                "AWS_CONTAINER_AUTHORIZATION_TOKEN": "ignored",
                "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": tokenFile.path,
            ])
            _ = try await chain.resolve()
            #expect(await log.requests.first?.header("authorization") == "file-token")
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func earlierSourcesWinWithoutARequest() async throws {
        try await withCredentialsServer(.json(Self.credentialsJSON)) { port, log in
            let chain = Self.chain([
                "AWS_ACCESS_KEY_ID": "ENVKEY",
                "AWS_SECRET_ACCESS_KEY": "envsecret",
                "AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://127.0.0.1:\(port)/creds",
            ])
            let resolved = try await chain.resolve()
            #expect(resolved.source == .environment)
            #expect(await log.requests.isEmpty)
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func errorStatus() async throws {
        try await withCredentialsServer(.status(.forbidden, #"{"code":"AccessDenied","message":"bad token"}"#)) { port, _ in
            let chain = Self.chain(["AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://127.0.0.1:\(port)/c"])
            do {
                _ = try await chain.resolve()
                Issue.record("expected containerEndpointFailed")
            } catch let error as CredentialsError {
                #expect(error.code == .containerEndpointFailed)
                #expect(error.message.contains("HTTP 403"))
                #expect(error.message.contains("bad token"))
            }
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func invalidBody() async throws {
        try await withCredentialsServer(.json(#"{"AccessKeyId":"only"}"#)) { port, _ in
            let chain = Self.chain(["AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://127.0.0.1:\(port)/c"])
            await #expect(throws: CredentialsError.self) { try await chain.resolve() }
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func unansweredRequestTimesOut() async throws {
        try await withCredentialsServer(.neverAnswer) { port, log in
            let chain = CredentialsChain(
                environment: ["AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://127.0.0.1:\(port)/c"],
                configuration: .init(containerEndpointTimeout: .milliseconds(300))
            )
            do {
                _ = try await chain.resolve()
                Issue.record("expected a timeout")
            } catch let error as CredentialsError {
                #expect(error.code == .containerEndpointFailed)
            }
            #expect(await log.requests.count == 1)
        }
    }
}

// MARK: - A minimal local HTTP/1.1 server

/// What the test server answers.
enum CannedResponse: Sendable {
    case json(String)
    case status(HTTPResponseStatus, String)
    /// Reads the request and never answers (until the server shuts down).
    case neverAnswer
}

struct RecordedRequest: Sendable {
    var method: String
    var uri: String
    var headers: [(name: String, value: String)]

    func header(_ name: String) -> String? {
        self.headers.first { $0.name.lowercased() == name }?.value
    }
}

actor RequestLog {
    private(set) var requests: [RecordedRequest] = []

    func append(_ request: RecordedRequest) {
        self.requests.append(request)
    }
}

/// Runs `body` with an HTTP server listening on 127.0.0.1 at an OS-chosen port; the server and
/// its connections are shut down when `body` returns or throws.
func withCredentialsServer(
    _ response: CannedResponse,
    _ body: (_ port: Int, _ log: RequestLog) async throws -> Void
) async throws {
    let log = RequestLog()
    let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
        .bind(host: "127.0.0.1", port: 0) { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                return try NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>(
                    wrappingChannelSynchronously: channel
                )
            }
        }
    let port = try #require(server.channel.localAddress?.port)

    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask {
            try await withThrowingDiscardingTaskGroup { connections in
                try await server.executeThenClose { inbound in
                    for try await connection in inbound {
                        connections.addTask {
                            // Each connection handles its own errors; one bad client does not stop the server.
                            try? await serve(connection, response: response, log: log)
                        }
                    }
                }
            }
        }
        try await body(port, log)
        group.cancelAll()
    }
}

private func serve(
    _ connection: NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>,
    response: CannedResponse,
    log: RequestLog
) async throws {
    try await connection.executeThenClose { inbound, outbound in
        var head: HTTPRequestHead?
        for try await part in inbound {
            switch part {
            case .head(let requestHead):
                head = requestHead
            case .body:
                continue
            case .end:
                guard let head else { return }
                await log.append(
                    RecordedRequest(
                        method: head.method.rawValue,
                        uri: head.uri,
                        headers: head.headers.map { (name: $0.name, value: $0.value) }
                    )
                )
                let status: HTTPResponseStatus
                let text: String
                switch response {
                case .json(let json): (status, text) = (.ok, json)
                case .status(let code, let body): (status, text) = (code, body)
                case .neverAnswer:
                    // Hold the connection open until the test ends and cancels us.
                    try await Task.sleep(for: .seconds(3600))
                    return
                }
                var headers = HTTPHeaders()
                headers.add(name: "Content-Type", value: "application/json")
                headers.add(name: "Content-Length", value: String(text.utf8.count))
                headers.add(name: "Connection", value: "close")
                try await outbound.write(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers)))
                try await outbound.write(.body(.byteBuffer(ByteBuffer(string: text))))
                try await outbound.write(.end(nil))
                return
            }
        }
    }
}
