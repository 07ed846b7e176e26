import ConfidantCore
import Crypto
import Foundation

/// Visitor tokens: `v1.<payload>.<mac>`, base64url, where the payload names the visitor, the site
/// and an expiry, and the MAC is HMAC-SHA256 under a key derived from the master key for this
/// purpose only. Stateless, so any node can check them; checked in constant time.
struct VisitorTokens: Sendable {
    private let key: SymmetricKey
    /// How long a token stays valid.
    let lifetime: Duration

    init(masterKey: MasterKey, lifetime: Duration) {
        self.key = masterKey.derive("confidant visitor-token v1")
        self.lifetime = lifetime
    }

    private struct Payload: Codable {
        let v: String
        let s: String
        let e: Int64
    }

    /// Issues a token for `visitor` on `site`; returns it with its expiry (Unix ms).
    func issue(visitor: VisitorID, site: SiteID) -> (token: String, expiresAt: Int64) {
        let expiresAt = nowMillis() + lifetime.milliseconds
        let payload = Base64URL.encode(try! JSONEncoder().encode(Payload(v: visitor.rawValue, s: site.rawValue, e: expiresAt)))
        let mac = Base64URL.encode(Data(HMAC<SHA256>.authenticationCode(for: Data("v1.\(payload)".utf8), using: key)))
        return ("v1.\(payload).\(mac)", expiresAt)
    }

    /// The identity a token proves, or nil if it is malformed, forged or expired.
    func verify(_ token: String) -> VisitorIdentity? {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "v1", let mac = Base64URL.decode(String(parts[2])),
            HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: Data("v1.\(parts[1])".utf8), using: key),
            let json = Base64URL.decode(String(parts[1])), let payload = try? JSONDecoder().decode(Payload.self, from: json),
            payload.e > nowMillis(), let visitor = VisitorID(payload.v), let site = SiteID(payload.s)
        else { return nil }
        return VisitorIdentity(visitorID: visitor, siteID: site)
    }
}

/// Base64url without padding (RFC 4648 §5).
enum Base64URL {
    static func encode(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    static func decode(_ text: String) -> Data? {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        return Data(base64Encoded: base64)
    }

    /// `count` random bytes from the system CSPRNG, base64url-encoded.
    static func random(bytes count: Int) -> String {
        encode(SymmetricKey(size: SymmetricKeySize(bitCount: count * 8)).withUnsafeBytes { Data($0) })
    }
}

extension Duration {
    /// The duration in whole milliseconds.
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
