import ConfidantCore
import Foundation
import Hummingbird

/// `POST /v1/visitor/sessions`: a visitor token for a site's widget key. Public, but only from
/// the site's allowed origins (or Confidant's own, the widget frame). With `identityToken` (signed
/// by the site's backend, see ``VisitorIdentityTokens``) the visitor is verified: the same site
/// user gets the same visitor, and with it their history, on any device. A site that requires
/// verified identities refuses visitors without one.
struct VisitorSessionController {
    let database: any Database
    let keys: KeyStore
    let tokens: VisitorTokens
    let identities: VisitorIdentityTokens
    let origins: OriginPolicy
    let audit: AuditLog
    let limiter: RateLimiter

    private struct SessionRequest: Decodable {
        let siteKey: String
        /// A token held from before: the same visitor continues if it is valid for this site.
        let token: String?
        /// The site backend's signed statement of who the visitor is.
        let identityToken: String?
    }

    func addRoutes(to router: Router<AppRequestContext>) {
        router.post("/v1/visitor/sessions") { request, context -> EditedResponse<VisitorSessionResponse> in
            try limiter.enforce(.visitorSessionsPerAddress, context.remoteAddress)
            let body = try await request.decodeJSON(SessionRequest.self, context: context)
            guard body.siteKey.utf8.count <= 64, let site = try await database.read({ try await $0.site(widgetKey: body.siteKey) }) else {
                throw ConfidantError(.notFound, "No site has this widget key.")
            }
            guard origins.allowsVisitor(origin: request.headers[.origin], site: site) else {
                throw ConfidantError(.crossOrigin, "This page's origin may not use this site's chat.")
            }
            let siteID = SiteID(trusted: site.id)
            let held = body.token.flatMap { tokens.verify($0) }.flatMap { $0.siteID == siteID ? $0.visitorID : nil }
            let heldRecord = try await held.asyncMap { id in try await database.read { try await $0.visitor(id: id) } } ?? nil
            let (visitorID, created, verified): (VisitorID, Bool, Bool)
            if let identityToken = body.identityToken {
                do {
                    (visitorID, created) = try await verifiedVisitor(identityToken, site: site, held: heldRecord)
                } catch let error as ConfidantError where error.code == .invalidIdentityToken {
                    await audit.record(
                        AuditEvent(
                            actorKind: .visitor, action: "visitor.identity", targetKind: "site", targetId: site.id, address: context.remoteAddress,
                            outcome: .failure, details: ["reason": error.message]))
                    throw error
                }
                verified = true
            } else if site.requireVerified != 0 && heldRecord?.externalIdHash == nil {
                throw VisitorIdentityTokens.identityRequired
            } else if let heldRecord {
                visitorID = VisitorID(trusted: heldRecord.id)
                try await database.transaction { try await $0.touchVisitor(id: visitorID) }
                (created, verified) = (false, heldRecord.externalIdHash != nil)
            } else {
                visitorID = try await newVisitor(site: siteID)
                (created, verified) = (true, false)
            }
            let (token, expiresAt) = tokens.issue(visitor: visitorID, site: siteID)
            return EditedResponse(
                status: created ? .created : .ok,
                response: VisitorSessionResponse(token: token, visitorId: visitorID, siteId: siteID, expiresAt: expiresAt, verified: verified))
        }
    }

    private func newVisitor(site: SiteID) async throws -> VisitorID {
        let id = VisitorID()
        _ = try await keys.createDataKey(for: id)
        try await database.transaction { try await $0.insertVisitor(id: id, site: site) }
        return id
    }

    /// The visitor an identity token names: the one already verified as this site user, else
    /// the anonymous visitor of this browser (their conversation follows them into the account),
    /// else a new one. The nonce is spent in the same transaction that records the identity.
    private func verifiedVisitor(_ identityToken: String, site: SiteRecord, held: VisitorRecord?) async throws -> (VisitorID, Bool) {
        let siteID = SiteID(trusted: site.id)
        let claims = try identities.verify(identityToken, site: site)
        let externalID = identities.externalIDHash(claims.userId, site: siteID)
        let known = try await database.read { try await $0.visitor(site: siteID, externalIdHash: externalID) }
        let visitorID: VisitorID
        let created: Bool
        if let known {
            (visitorID, created) = (VisitorID(trusted: known.id), false)
        } else if let held, held.externalIdHash == nil {
            (visitorID, created) = (VisitorID(trusted: held.id), false)
        } else {
            (visitorID, created) = (try await newVisitor(site: siteID), true)
        }
        let key = try await keys.dataKey(for: visitorID)
        let identity = VerifiedVisitor(userId: claims.userId, email: claims.email, name: claims.name, verifiedAt: nowMillis())
        let sealed = try FieldCipher.seal(Store.json(identity), with: key, as: .visitorIdentity(visitorID))
        try await database.transaction { store in
            guard try await store.useIdentityNonce(site: siteID, nonce: claims.nonce, expiresAt: claims.expiresAt * 1000) else {
                throw ConfidantError(.invalidIdentityToken, "The identity token was used before (replay).")
            }
            try await store.setVerifiedIdentity(visitor: visitorID, externalIdHash: externalID, sealed: sealed)
        }
        return (visitorID, created)
    }
}
