import ConfidantCore
import Crypto
import Foundation

/// Verified visitors: the site's backend signs who its logged-in user is, and the widget passes
/// the token to Confidant, which checks it here (the only place).
///
/// Token: `<payload>.<signature>`, both base64url without padding, where payload is JSON
/// `{"site": widget key, "sub": user id, "email"?: …, "name"?: …, "exp": Unix seconds,
/// "nonce": 16–128 characters}` and signature is HMAC-SHA256 over the payload's base64url text,
/// keyed with the site's identity secret (its UTF-8 text). Refused: a bad signature (compared in
/// constant time), another site's token, an expired one or one valid for more than a day, and a
/// nonce seen before (replay). During a rotation's grace period the previous secret still works.
struct VisitorIdentityTokens: Sendable {
    private let sealingKey: SymmetricKey
    private let externalIDKey: SymmetricKey
    /// The longest validity accepted: tokens are minted per page view, not stored.
    static let maximumLifetime: Int64 = 24 * 3600
    static let secretPrefix = "cfs_"

    init(masterKey: MasterKey) {
        self.sealingKey = masterKey.derive("confidant site-identity-secret v1")
        self.externalIDKey = masterKey.derive("confidant external-user-id v1")
    }

    /// What a valid token proves.
    struct Claims: Sendable, Equatable {
        let userId: String
        let email: String?
        let name: String?
        let nonce: String
        let expiresAt: Int64
    }

    private struct Payload: Decodable {
        let site: String
        let sub: String
        let email: String?
        let name: String?
        let exp: Int64
        let nonce: String
    }

    /// A new secret, and its sealed form for `sites.identity_secret_sealed`.
    func newSecret(for site: SiteID) throws -> (secret: String, sealed: Data) {
        let secret = Self.secretPrefix + Base64URL.random(bytes: 32)
        return (secret, try seal(secret, for: site))
    }

    private func seal(_ secret: String, for site: SiteID) throws -> Data {
        try AES.GCM.seal(Data(secret.utf8), using: sealingKey, authenticating: Data("sites.identity_secret|\(site)".utf8)).combined!
    }

    private func open(_ sealed: Data, for site: SiteID) throws -> SymmetricKey {
        SymmetricKey(data: try AES.GCM.open(AES.GCM.SealedBox(combined: sealed), using: sealingKey, authenticating: Data("sites.identity_secret|\(site)".utf8)))
    }

    /// Checks signature, site, expiry and shape (the nonce's freshness is the caller's, in the
    /// same transaction that uses it). Throws `invalid_identity_token` naming the reason.
    func verify(_ token: String, site: SiteRecord, now: Int64 = nowSeconds()) throws -> Claims {
        let siteID = SiteID(trusted: site.id)
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard token.utf8.count <= 4096, parts.count == 2, let signature = Base64URL.decode(String(parts[1])) else {
            throw Self.invalid("The identity token is malformed.")
        }
        var keys: [SymmetricKey] = []
        if let current = site.identitySecretSealed { keys.append(try open(current, for: siteID)) }
        if let previous = site.previousIdentitySecretSealed, let until = site.previousSecretExpiresAt, until > now * 1000 {
            keys.append(try open(previous, for: siteID))
        }
        let signed = Data(parts[0].utf8)
        var valid = false
        for key in keys where HMAC<SHA256>.isValidAuthenticationCode(signature, authenticating: signed, using: key) { valid = true }
        guard valid else { throw Self.invalid(keys.isEmpty ? "This site has no identity secret yet." : "The identity token's signature is not valid.") }
        guard let json = Base64URL.decode(String(parts[0])), let payload = try? JSONDecoder().decode(Payload.self, from: json) else {
            throw Self.invalid("The identity token's payload is not the expected JSON.")
        }
        guard constantTimeEquals(payload.site, site.widgetKey) else { throw Self.invalid("The identity token is for another site.") }
        guard payload.exp > now else { throw Self.invalid("The identity token has expired.") }
        guard payload.exp <= now + Self.maximumLifetime else { throw Self.invalid("The identity token is valid for more than a day.") }
        guard (16...128).contains(payload.nonce.count), payload.nonce.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") })
        else {
            throw Self.invalid("The identity token's nonce must be 16–128 characters of A–Z, a–z, 0–9, - and _.")
        }
        guard (1...256).contains(payload.sub.count) else { throw Self.invalid("The identity token's sub must be 1–256 characters.") }
        let email = try payload.email.map { (e) throws(ConfidantError) in try TextRules.email(e) }
        let name = try payload.name.map { (n) throws(ConfidantError) in try TextRules.singleLine(n, field: "name") }
        return Claims(userId: payload.sub, email: email, name: name, nonce: payload.nonce, expiresAt: payload.exp)
    }

    /// The stored lookup key of a site's user id: keyed, so the database alone does not reveal
    /// the site's user ids.
    func externalIDHash(_ userId: String, site: SiteID) -> String {
        HMAC<SHA256>.authenticationCode(for: Data("\(site)|\(userId)".utf8), using: externalIDKey).map { String(format: "%02x", $0) }.joined()
    }

    /// The answer to an unsigned visitor on a site that requires verified identities.
    static let identityRequired = ConfidantError(.identityRequired, "This site's chat is for signed-in customers only; sign in on the site first.")

    private static func invalid(_ message: String) -> ConfidantError { ConfidantError(.invalidIdentityToken, message) }
}
