import Crypto
import Foundation

/// The SigV4 signing key: `HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request")`.
enum SigV4SigningKey {
    static func derive(secretAccessKey: String, dateStamp: Substring, region: String, service: String) -> SymmetricKey {
        let secret = SymmetricKey(data: Array(("AWS4" + secretAccessKey).utf8))
        let dateKey = HMAC<SHA256>.authenticationCode(for: Array(dateStamp.utf8), using: secret)
        let regionKey = HMAC<SHA256>.authenticationCode(for: Array(region.utf8), using: SymmetricKey(data: dateKey))
        let serviceKey = HMAC<SHA256>.authenticationCode(
            for: Array(service.utf8),
            using: SymmetricKey(data: regionKey)
        )
        let signingKey = HMAC<SHA256>.authenticationCode(
            for: Array("aws4_request".utf8),
            using: SymmetricKey(data: serviceKey)
        )
        return SymmetricKey(data: signingKey)
    }

    /// Lower-case hex `HMAC-SHA256(key, stringToSign)`.
    static func signature(key: SymmetricKey, stringToSign: [UInt8]) -> String {
        SigV4Canonical.hex(HMAC<SHA256>.authenticationCode(for: stringToSign, using: key))
    }
}

/// A small, lock-protected cache of derived signing keys.
///
/// The key only changes when the UTC date changes, so a signer derives it once a day instead of
/// running four extra HMACs per request. Bounded: it is cleared when it reaches `capacity`.
final class SigV4SigningKeyCache: @unchecked Sendable {
    struct Key: Hashable {
        var secretAccessKey: String
        var dateStamp: Substring
        var region: String
        var service: String
    }

    // @unchecked: all mutable state is guarded by `lock`.
    private let lock = NSLock()
    private var keys: [Key: SymmetricKey] = [:]
    private let capacity: Int

    init(capacity: Int) {
        self.capacity = capacity
    }

    func signingKey(secretAccessKey: String, dateStamp: Substring, region: String, service: String) -> SymmetricKey {
        let cacheKey = Key(secretAccessKey: secretAccessKey, dateStamp: dateStamp, region: region, service: service)
        if let key = self.lock.withLock({ self.keys[cacheKey] }) {
            return key
        }
        let key = SigV4SigningKey.derive(
            secretAccessKey: secretAccessKey,
            dateStamp: dateStamp,
            region: region,
            service: service
        )
        self.lock.withLock {
            if self.keys.count >= self.capacity { self.keys.removeAll(keepingCapacity: true) }
            self.keys[cacheKey] = key
        }
        return key
    }
}
