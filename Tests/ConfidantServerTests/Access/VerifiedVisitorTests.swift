import ConfidantCore
import Crypto
import Foundation
import HTTPTypes
import NIOCore
import Testing

@testable import ConfidantServer

/// Identity tokens as a site's backend makes them (the recipe of docs/security.md), and every
/// way of getting them wrong.
@Suite("Verified visitors: identity tokens signed by the site's backend")
struct VerifiedVisitorTests {
    /// Signs a payload the way the documented samples do.
    static func token(_ payload: [String: Any], secret: String) throws -> String {
        let body = Base64URL.encode(try JSONSerialization.data(withJSONObject: payload))
        let signature = Base64URL.encode(Data(HMAC<SHA256>.authenticationCode(for: Data(body.utf8), using: SymmetricKey(data: Data(secret.utf8)))))
        return "\(body).\(signature)"
    }

    static func claims(site: TestSite, user: String = "user-42", expiresIn: Int64 = 300, nonce: String = UUID().uuidString) -> [String: Any] {
        ["site": site.widgetKey, "sub": user, "email": "Kata@Example.com", "name": "Kata Kovács", "exp": nowSeconds() + expiresIn, "nonce": nonce]
    }

    /// Rotates a site's identity secret; returns the new secret.
    static func rotate(_ site: TestSite, on server: TestServer, by owner: StaffLogin, graceHours: Int = 24) async throws -> String {
        struct Rotated: Decodable { let secret: String }
        let response = try await server.request(.post, "/v1/sites/\(site.id)/identity-secret", json: ["graceHours": graceHours], as: owner)
        try #require(response.status == .ok, "rotation failed: \(String(buffer: response.body))")
        return try server.decode(Rotated.self, from: response).secret
    }

    struct Session: Decodable {
        let token: String
        let visitorId: VisitorID
        let verified: Bool
    }

    @Test("A valid token verifies the visitor (agents see the badge's attributes); forged, expired, too long-lived, replayed and foreign tokens are refused")
    func tokens() async throws {
        try await TestServer.run(.sqlite) { server in
            let owner = try await server.owner()
            let site = try await server.site(by: owner)
            let otherSite = try await server.site(by: owner)
            func open(_ identity: String?, token: String? = nil, siteKey: String? = nil) async throws -> HTTPReply {
                var body: [String: String] = ["siteKey": siteKey ?? site.widgetKey]
                if let identity { body["identityToken"] = identity }
                if let token { body["token"] = token }
                return try await server.request(.post, "/v1/visitor/sessions", json: body)
            }
            let noSecretYet = try await open(try Self.token(Self.claims(site: site), secret: "cfs_guess"))
            #expect(server.errorCode(noSecretYet) == "invalid_identity_token")
            let secret = try await Self.rotate(site, on: server, by: owner)
            #expect(secret.hasPrefix("cfs_"))
            let otherSecret = try await Self.rotate(otherSite, on: server, by: owner)

            let valid = try Self.token(Self.claims(site: site), secret: secret)
            let accepted = try await open(valid)
            #expect(accepted.status == .created)
            let session = try server.decode(Session.self, from: accepted)
            #expect(session.verified)
            let replayed = try await open(valid)
            #expect(server.errorCode(replayed) == "invalid_identity_token", "the same nonce twice is a replay")

            var forged = Self.claims(site: site)
            let tampered = try Self.token(forged, secret: secret).split(separator: ".")
            forged["sub"] = "admin"
            let swapped = "\(Base64URL.encode(try JSONSerialization.data(withJSONObject: forged))).\(tampered[1])"
            let refusals: [(String, String)] = [
                (try Self.token(Self.claims(site: site), secret: secret + "x"), "signed with another secret"),
                (swapped, "payload changed after signing"),
                (try Self.token(Self.claims(site: site, expiresIn: -5), secret: secret), "expired"),
                (try Self.token(Self.claims(site: site, expiresIn: 3 * 86_400), secret: secret), "valid for days"),
                (try Self.token(Self.claims(site: otherSite), secret: otherSecret), "another site's token"),
                (try Self.token(Self.claims(site: otherSite), secret: secret), "names another site"),
                (try Self.token(Self.claims(site: site, nonce: "short"), secret: secret), "a weak nonce"),
                ("not-a-token", "garbage"),
            ]
            for (token, why) in refusals {
                let response = try await open(token)
                #expect(response.status == .unauthorized, "\(why)")
                #expect(server.errorCode(response) == "invalid_identity_token", "\(why)")
            }

            // Agents see who the visitor is, as the site vouched.
            let agent = try await server.agent("Ildi", by: owner)
            let (agentSocket, _) = try await server.agentSocket(agent)
            let (visitorSocket, _) = try await server.visitorSocket(TestVisitor(token: session.token, visitorId: session.visitorId, siteId: site.id))
            visitorSocket.send(.openConversation(departmentId: nil, name: nil, email: nil, pageUrl: nil), ref: "open")
            let opened = try #require(try await visitorSocket.next { $0.ref == "open" }.opened)
            #expect(opened.verifiedVisitor == nil, "the visitor's own view carries no staff-only fields")
            let staffView = try server.decode(
                ConversationResponseBody.self, from: try await server.request(.get, "/v1/conversations/\(opened.id)", as: agent)
            ).conversation
            #expect(staffView.verifiedVisitor?.userId == "user-42")
            #expect(staffView.verifiedVisitor?.email == "kata@example.com")
            #expect(staffView.verifiedVisitor?.name == "Kata Kovács")
            withExtendedLifetime(agentSocket) {}

            // The same site user on another device is the same visitor, with the same history.
            let elsewhere = try server.decode(Session.self, from: try await open(try Self.token(Self.claims(site: site), secret: secret)))
            #expect(elsewhere.visitorId == session.visitorId)
            let audit = try await server.auditActions(as: owner)
            #expect(audit.contains("visitor.identity:failure"))
            #expect(audit.contains("site.identity_secret.rotated:success"))
        }
    }

    @Test("Rotation keeps the previous secret for the grace period only; a site that requires verification refuses anyone unsigned")
    func rotationAndRequirement() async throws {
        try await TestServer.run(.sqlite) { server in
            let owner = try await server.owner()
            let site = try await server.site(by: owner)
            func open(_ body: [String: String]) async throws -> HTTPReply {
                try await server.request(.post, "/v1/visitor/sessions", json: body.merging(["siteKey": site.widgetKey]) { $1 })
            }
            let refused = try await server.request(.patch, "/v1/sites/\(site.id)", json: ["requireVerifiedIdentity": true], as: owner)
            #expect(refused.status == .conflict, "no switch without a secret to verify with")
            let first = try await Self.rotate(site, on: server, by: owner)
            let second = try await Self.rotate(site, on: server, by: owner, graceHours: 1)
            #expect(try await open(["identityToken": try Self.token(Self.claims(site: site), secret: first)]).status == .created, "within the grace period")
            #expect(try await open(["identityToken": try Self.token(Self.claims(site: site), secret: second)]).status == .ok, "same user again")
            let third = try await Self.rotate(site, on: server, by: owner, graceHours: 0)
            #expect(try await open(["identityToken": try Self.token(Self.claims(site: site), secret: second)]).status == .unauthorized, "no grace")
            #expect(try await open(["identityToken": try Self.token(Self.claims(site: site, user: "user-7"), secret: third)]).status == .created)

            let anonymous = try server.decode(TestVisitor.self, from: try await open([:]))
            let verified = try server.decode(Session.self, from: try await open(["identityToken": try Self.token(Self.claims(site: site), secret: third)]))
            #expect(try await server.request(.patch, "/v1/sites/\(site.id)", json: ["requireVerifiedIdentity": true], as: owner).status == .ok)
            let unsigned = try await open([:])
            #expect(unsigned.status == .forbidden)
            #expect(server.errorCode(unsigned) == "identity_required")
            #expect(server.errorCode(try await open(["token": anonymous.token])) == "identity_required", "an anonymous visitor from before cannot go on")
            let socket = try await TestSocket.connect(port: server.port, path: "/v1/ws/visitor")
            socket.send(.hello(protocolVersion: ProtocolVersion.current, token: anonymous.token, resume: []))
            #expect(try await socket.next(type: "error").errorCode == .identityRequired, "nor see any history over a socket")
            #expect(try await socket.closeCode() == 4401)
            let (verifiedSocket, welcome) = try await server.visitorSocket(TestVisitor(token: verified.token, visitorId: verified.visitorId, siteId: site.id))
            #expect(welcome.visitorId == verified.visitorId, "verified visitors chat on")
            withExtendedLifetime(verifiedSocket) {}
        }
    }
}

/// `GET /v1/conversations/{id}`'s body.
struct ConversationResponseBody: Decodable {
    let conversation: ConversationSummary
}
