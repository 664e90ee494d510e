import AWSWire
import Foundation

/// Where and as whom to talk to S3, as the CLI options give it: an endpoint URL (path-style
/// addressing, for local servers), a region, a profile. Credentials come from the AWSWire chain
/// (environment variables, shared files, container endpoint), refreshed when they expire.
package struct S3Connection: Sendable {
    package var configuration: S3Client.Configuration
    package var credentials: @Sendable () async throws -> AWSCredentials
    /// Where the region came from, for messages.
    package var regionSource: String

    /// - Parameters:
    ///   - endpointURL: `http(s)://host[:port]`; implies path-style addressing. nil: AWS.
    ///   - region: overrides `AWS_REGION` / the profile's region; default `us-east-1`.
    ///   - profile: overrides `AWS_PROFILE`.
    package static func resolve(
        endpointURL: String?,
        region: String?,
        profile: String?,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> S3Connection {
        var environment = environment
        if let profile { environment["AWS_PROFILE"] = profile }
        let chain = CredentialsChain(environment: environment)
        var configuration = S3Client.Configuration()
        var regionSource = "default"
        if let region {
            configuration.region = region
            regionSource = "--region"
        } else if let found = try chain.resolveRegion() {
            configuration.region = found
            regionSource = "environment or profile \(chain.profileName)"
        }
        if let endpointURL {
            configuration.endpoint = try S3Endpoint(url: endpointURL)
            configuration.addressingStyle = .path
        }
        let provider = CachedCredentialsProvider(chain: chain)
        return S3Connection(
            configuration: configuration,
            credentials: { try await provider.credentials() },
            regionSource: regionSource
        )
    }
}
