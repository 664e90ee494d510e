import Foundation

/// AWS credentials: an access key pair and, for temporary credentials, a session token.
///
/// `description` never shows the secret or the token, so credentials can be logged or put in an
/// error message safely.
package struct AWSCredentials: Sendable, Equatable, CustomStringConvertible {
    package var accessKeyId: String
    package var secretAccessKey: String
    /// The session token of temporary credentials (STS, ECS task roles); nil for long-term keys.
    package var sessionToken: String?
    /// When temporary credentials stop working; nil when unknown or for long-term keys.
    package var expiration: Date?

    package init(accessKeyId: String, secretAccessKey: String, sessionToken: String? = nil, expiration: Date? = nil) {
        self.accessKeyId = accessKeyId
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
        self.expiration = expiration
    }

    /// Whether the credentials expire within `margin` of `now` (never, when `expiration` is nil).
    package func expires(within margin: Duration, of now: Date = Date()) -> Bool {
        guard let expiration else { return false }
        let (seconds, attoseconds) = margin.components
        let marginSeconds = Double(seconds) + Double(attoseconds) / 1e18
        return expiration.timeIntervalSince(now) <= marginSeconds
    }

    package var description: String {
        "AWSCredentials(accessKeyId: \(self.accessKeyId), secretAccessKey: <redacted>, sessionToken: \(self.sessionToken == nil ? "none" : "<redacted>"), expiration: \(self.expiration.map { "\($0)" } ?? "none"))"
    }
}
