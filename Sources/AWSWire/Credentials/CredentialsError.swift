/// Why the credentials chain could not produce credentials, with a message that names the
/// variable, file, line or URL at fault.
package struct CredentialsError: Error, Sendable, CustomStringConvertible {
    /// The kind of failure.
    package struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: Hashable, Sendable {
            case noCredentials
            case partialCredentials
            case profileNotFound
            case unreadableFile
            case containerEndpointNotAllowed
            case containerEndpointFailed
            case invalidContainerResponse
        }

        private let base: Base

        private init(_ base: Base) { self.base = base }

        /// No source in the chain had credentials.
        package static let noCredentials = Code(.noCredentials)
        /// A source had an access key id without a secret, or the reverse.
        package static let partialCredentials = Code(.partialCredentials)
        /// `AWS_PROFILE` names a profile that neither file has.
        package static let profileNotFound = Code(.profileNotFound)
        /// A credentials/config/token file exists but cannot be read.
        package static let unreadableFile = Code(.unreadableFile)
        /// `AWS_CONTAINER_CREDENTIALS_FULL_URI` points somewhere the SDKs refuse (plain HTTP to a
        /// non-loopback host), or a token contains a line break.
        package static let containerEndpointNotAllowed = Code(.containerEndpointNotAllowed)
        /// The container endpoint did not answer 200 in time.
        package static let containerEndpointFailed = Code(.containerEndpointFailed)
        /// The container endpoint answered 200 with a body that is not the expected JSON.
        package static let invalidContainerResponse = Code(.invalidContainerResponse)

        package var description: String {
            switch self.base {
            case .noCredentials: "noCredentials"
            case .partialCredentials: "partialCredentials"
            case .profileNotFound: "profileNotFound"
            case .unreadableFile: "unreadableFile"
            case .containerEndpointNotAllowed: "containerEndpointNotAllowed"
            case .containerEndpointFailed: "containerEndpointFailed"
            case .invalidContainerResponse: "invalidContainerResponse"
            }
        }
    }

    /// The kind of failure.
    package let code: Code
    /// What went wrong and where.
    package let message: String

    private init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    package var description: String { "CredentialsError(\(self.code)): \(self.message)" }

    static func noCredentials(tried: [String]) -> Self {
        Self(
            .noCredentials,
            "No AWS credentials found. Tried: \(tried.joined(separator: "; ")). Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or add the profile to ~/.aws/credentials."
        )
    }

    static func partial(source: String, missing: String) -> Self {
        Self(.partialCredentials, "Partial credentials in \(source): \(missing) is missing.")
    }

    static func profileNotFound(_ profile: String, files: [String]) -> Self {
        Self(
            .profileNotFound,
            "The profile \"\(profile)\" (from AWS_PROFILE) is not in \(files.isEmpty ? "any credentials or config file (none exist)" : files.joined(separator: " or "))."
        )
    }

    static func unreadableFile(_ path: String, reason: String) -> Self {
        Self(.unreadableFile, "Cannot read \(path): \(reason)")
    }

    static func endpointNotAllowed(_ detail: String) -> Self {
        Self(.containerEndpointNotAllowed, detail)
    }

    static func endpointFailed(_ url: String, reason: String) -> Self {
        Self(.containerEndpointFailed, "The container credentials endpoint \(url) failed: \(reason)")
    }

    static func invalidResponse(_ url: String, reason: String) -> Self {
        Self(.invalidContainerResponse, "The container credentials endpoint \(url) answered with an invalid body: \(reason)")
    }
}
