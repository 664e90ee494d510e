import AsyncHTTPClient
import Foundation

/// Where resolved credentials came from.
package enum CredentialsSource: Sendable, Equatable, CustomStringConvertible {
    /// `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` / `AWS_SESSION_TOKEN`.
    case environment
    /// A profile of the shared credentials file.
    case sharedCredentialsFile(path: String, profile: String)
    /// A profile of the config file.
    case configFile(path: String, profile: String)
    /// The ECS container credentials endpoint.
    case containerEndpoint(url: String)

    package var description: String {
        switch self {
        case .environment: "environment"
        case .sharedCredentialsFile(let path, let profile): "profile \(profile) in \(path)"
        case .configFile(let path, let profile): "profile \(profile) in \(path)"
        case .containerEndpoint(let url): "container endpoint \(url)"
        }
    }
}

/// Credentials and the source that provided them.
package struct ResolvedCredentials: Sendable, Equatable {
    package var credentials: AWSCredentials
    package var source: CredentialsSource

    package init(credentials: AWSCredentials, source: CredentialsSource) {
        self.credentials = credentials
        self.source = source
    }
}

/// The default AWS credentials chain, in the SDKs' order:
///
/// 1. the environment: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`;
/// 2. the profile (`AWS_PROFILE`, else `AWS_DEFAULT_PROFILE`, else `default`) in the shared
///    credentials file (`AWS_SHARED_CREDENTIALS_FILE`, default `~/.aws/credentials`), then in the
///    config file (`AWS_CONFIG_FILE`, default `~/.aws/config`; sections `[default]` and
///    `[profile NAME]`): keys `aws_access_key_id`, `aws_secret_access_key`, `aws_session_token`;
/// 3. the ECS container endpoint: `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` (appended to
///    `http://169.254.170.2`) or `AWS_CONTAINER_CREDENTIALS_FULL_URI`, with
///    `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE` (preferred) or `AWS_CONTAINER_AUTHORIZATION_TOKEN`
///    as the `Authorization` header.
///
/// Not supported (the chain moves on, and says so in the final error): `role_arn` /
/// `source_profile` (assume role), `credential_process`, SSO, web identity, EC2 instance metadata.
///
/// The environment is a plain dictionary so tests never touch the real one; `~` is the
/// environment's `HOME` (no `HOME`, no default file paths).
package struct CredentialsChain: Sendable {
    /// Tunables, with documented defaults.
    package struct Configuration: Sendable {
        /// Timeout of the container endpoint request. Default 2 seconds (the SDKs use 1–2 s).
        package var containerEndpointTimeout: Duration
        /// Largest container endpoint response accepted. Default 64 KiB.
        package var containerEndpointMaximumResponseBytes: Int

        package init(containerEndpointTimeout: Duration = .seconds(2), containerEndpointMaximumResponseBytes: Int = 64 * 1024) {
            self.containerEndpointTimeout = containerEndpointTimeout
            self.containerEndpointMaximumResponseBytes = containerEndpointMaximumResponseBytes
        }
    }

    /// The ECS task-role endpoint host used with `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`.
    package static let containerEndpointBase = "http://169.254.170.2"

    package let environment: [String: String]
    package let configuration: Configuration

    /// - Parameters:
    ///   - environment: the variables to read; defaults to the process environment. Tests pass
    ///     their own.
    ///   - configuration: timeouts and limits.
    package init(
        environment: [String: String] = ProcessInfo.processInfo.environment,
        configuration: Configuration = .init()
    ) {
        self.environment = environment
        self.configuration = configuration
    }

    /// The profile in use: `AWS_PROFILE`, else `AWS_DEFAULT_PROFILE`, else `default`.
    package var profileName: String {
        self.variable("AWS_PROFILE") ?? self.variable("AWS_DEFAULT_PROFILE") ?? "default"
    }

    /// `AWS_SHARED_CREDENTIALS_FILE`, else `$HOME/.aws/credentials`; nil without either.
    package var sharedCredentialsFilePath: String? {
        self.filePath(variable: "AWS_SHARED_CREDENTIALS_FILE", defaultName: "credentials")
    }

    /// `AWS_CONFIG_FILE`, else `$HOME/.aws/config`; nil without either.
    package var configFilePath: String? {
        self.filePath(variable: "AWS_CONFIG_FILE", defaultName: "config")
    }

    // MARK: Resolution

    /// Runs the whole chain. Only the container step does I/O over the network, with `httpClient`.
    package func resolve(httpClient: HTTPClient = .shared) async throws -> ResolvedCredentials {
        var tried: [String] = []
        if let resolved = try self.resolveWithoutNetwork(tried: &tried) {
            return resolved
        }
        if let request = try self.containerCredentialsRequest() {
            return try await self.fetchContainerCredentials(request, httpClient: httpClient)
        }
        tried.append("container endpoint (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI/FULL_URI not set)")
        throw CredentialsError.noCredentials(tried: tried)
    }

    /// The environment and file steps only (no network); nil when neither has credentials.
    package func resolveWithoutNetwork() throws(CredentialsError) -> ResolvedCredentials? {
        var tried: [String] = []
        return try self.resolveWithoutNetwork(tried: &tried)
    }

    private func resolveWithoutNetwork(tried: inout [String]) throws(CredentialsError) -> ResolvedCredentials? {
        // 1. Environment.
        let accessKeyId = self.variable("AWS_ACCESS_KEY_ID")
        let secret = self.variable("AWS_SECRET_ACCESS_KEY")
        switch (accessKeyId, secret) {
        case (let accessKeyId?, let secret?):
            return ResolvedCredentials(
                credentials: AWSCredentials(
                    accessKeyId: accessKeyId,
                    secretAccessKey: secret,
                    sessionToken: self.variable("AWS_SESSION_TOKEN")
                ),
                source: .environment
            )
        case (.some, nil):
            throw .partial(source: "the environment", missing: "AWS_SECRET_ACCESS_KEY")
        case (nil, .some):
            throw .partial(source: "the environment", missing: "AWS_ACCESS_KEY_ID")
        case (nil, nil):
            tried.append("environment (AWS_ACCESS_KEY_ID not set)")
        }

        // 2. Profile in the credentials file, then in the config file.
        let profile = self.profileName
        var filesRead: [String] = []
        var profileExists = false
        let files: [(path: String?, kind: ProfileFile.Kind)] = [
            (self.sharedCredentialsFilePath, .credentials),
            (self.configFilePath, .config),
        ]
        for (path, kind) in files {
            guard let path, let file = try Self.readProfileFile(path, kind: kind) else {
                if let path { tried.append("\(path) (no such file)") }
                continue
            }
            filesRead.append(path)
            guard file.profiles[profile] != nil else {
                tried.append("\(path) (no profile \"\(profile)\")")
                continue
            }
            profileExists = true
            let keyId = file.value("aws_access_key_id", profile: profile)
            let secret = file.value("aws_secret_access_key", profile: profile)
            switch (keyId, secret) {
            case (let keyId?, let secret?):
                let source: CredentialsSource =
                    kind == .credentials
                    ? .sharedCredentialsFile(path: path, profile: profile)
                    : .configFile(path: path, profile: profile)
                return ResolvedCredentials(
                    credentials: AWSCredentials(
                        accessKeyId: keyId.value,
                        secretAccessKey: secret.value,
                        sessionToken: file.value("aws_session_token", profile: profile)?.value
                    ),
                    source: source
                )
            case (let keyId?, nil):
                throw .partial(
                    source: "profile \"\(profile)\" in \(path) (line \(keyId.line))",
                    missing: "aws_secret_access_key"
                )
            case (nil, let secret?):
                throw .partial(
                    source: "profile \"\(profile)\" in \(path) (line \(secret.line))",
                    missing: "aws_access_key_id"
                )
            case (nil, nil):
                let unsupported = ["role_arn", "credential_process", "sso_session", "sso_start_url", "web_identity_token_file"]
                    .filter { file.value($0, profile: profile) != nil }
                let note = unsupported.isEmpty ? "" : "; \(unsupported.joined(separator: ", ")) is not supported"
                tried.append("\(path) (profile \"\(profile)\" has no aws_access_key_id\(note))")
            }
        }
        if !profileExists && self.variable("AWS_PROFILE") != nil {
            throw .profileNotFound(profile, files: filesRead)
        }
        return nil
    }

    /// The region: `AWS_REGION`, else `AWS_DEFAULT_REGION`, else `region` of the profile in the
    /// config file; nil when none is set.
    package func resolveRegion() throws(CredentialsError) -> String? {
        if let region = self.variable("AWS_REGION") ?? self.variable("AWS_DEFAULT_REGION") {
            return region
        }
        guard let path = self.configFilePath, let file = try Self.readProfileFile(path, kind: .config) else {
            return nil
        }
        return file.value("region", profile: self.profileName)?.value
    }

    // MARK: Helpers

    /// A non-empty environment variable.
    func variable(_ name: String) -> String? {
        guard let value = self.environment[name], !value.isEmpty else { return nil }
        return value
    }

    private func filePath(variable: String, defaultName: String) -> String? {
        if let path = self.variable(variable) {
            return self.expandingTilde(path)
        }
        guard let home = self.variable("HOME") else { return nil }
        return home + (home.hasSuffix("/") ? "" : "/") + ".aws/" + defaultName
    }

    func expandingTilde(_ path: String) -> String {
        guard path == "~" || path.hasPrefix("~/"), let home = self.variable("HOME") else { return path }
        return home + path.dropFirst()
    }

    /// nil when the file does not exist.
    private static func readProfileFile(_ path: String, kind: ProfileFile.Kind) throws(CredentialsError) -> ProfileFile? {
        guard let text = try Self.readTextFile(path) else { return nil }
        return ProfileFile(text: text, kind: kind)
    }

    /// nil when the file does not exist.
    static func readTextFile(_ path: String) throws(CredentialsError) -> String? {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { return nil }
        guard !isDirectory.boolValue else { throw .unreadableFile(path, reason: "it is a directory") }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .unreadableFile(path, reason: "permission denied or I/O error")
        }
        return String(decoding: data, as: UTF8.self)
    }
}
