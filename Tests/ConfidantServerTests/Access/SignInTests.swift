import ConfidantCore
import Foundation
import HTTPTypes
import NIOCore
import Testing

@testable import ConfidantServer

/// Passwords, brute force, enumeration, two factors and sessions, attacked through the real API.
@Suite("Sign-in: passwords, throttling, two factors, sessions, CSRF")
struct SignInTests {
    static let forwarded = HTTPField.Name("X-Forwarded-For")!
    static let csrf = HTTPField.Name("X-CSRF-Token")!

    @Test("Passwords: length, bcrypt's limit, common ones, the account's own name; change needs the current one; an admin reset forces a change")
    func passwords() async throws {
        try await TestServer.run(.sqlite) { server in
            let owner = try await server.owner()
            for (password, why) in [
                ("short-pass1", "too short"), (String(repeating: "ü", count: 37), "over 72 bytes"), ("Password2024!", "a common one dressed up"),
                ("monkeymonkeymonkey", "a common one repeated"), ("123456789012345", "digits only"), ("aaaaaaaaaaaaaaaa", "too few characters"),
                ("weakling-ernestine", "the account's own name"),
            ] {
                let response = try await server.request(
                    .post, "/v1/agents",
                    json: TestServer.NewAgent(
                        email: "ernestine@example.com", displayName: "Weakling Ernestine", password: password, role: .agent, maxConversations: 5,
                        departments: []), as: owner)
                #expect(response.status == .badRequest, "\(why)")
                #expect(server.errorCode(response) == "weak_password", "\(why)")
            }
            let agent = try await server.agent("Pia", by: owner)
            let wrong = try await server.request(
                .post, "/v1/auth/password", json: ["currentPassword": "not-my-password", "newPassword": "a-brand-new-passphrase"], as: agent)
            #expect(wrong.status == .unauthorized)
            let second = try await server.login(email: agent.email, password: agent.password)
            let changed = try await server.request(
                .post, "/v1/auth/password", json: ["currentPassword": agent.password, "newPassword": "a-brand-new-passphrase"], as: agent)
            #expect(changed.status == .ok)
            let renewed = try server.session(from: changed, email: agent.email, password: "a-brand-new-passphrase")
            #expect(renewed.cookie != agent.cookie, "a new session id after the change")
            #expect(try await server.request(.get, "/v1/auth/me", as: agent).status == .unauthorized, "the old session ended")
            #expect(try await server.request(.get, "/v1/auth/me", as: second).status == .unauthorized, "every other session ended")
            #expect(try await server.request(.get, "/v1/auth/me", as: renewed).status == .ok)

            // An admin sets a password: the member must choose their own at the next sign-in.
            let reset = try await server.request(.patch, "/v1/agents/\(agent.agentId)", json: ["password": "temporary-pass-4711"], as: owner)
            #expect(reset.status == .ok)
            #expect(try await server.request(.get, "/v1/auth/me", as: renewed).status == .unauthorized)
            let forced = try await server.login(email: agent.email, password: "temporary-pass-4711")
            #expect(forced.stage == "change_password")
            #expect(try await server.request(.get, "/v1/conversations?view=mine", as: forced).status == .forbidden)
            #expect(try await server.request(.get, "/v1/auth/me", as: forced).status == .ok)
            let chosen = try await server.request(
                .post, "/v1/auth/password", json: ["currentPassword": "temporary-pass-4711", "newPassword": "temporary-pass-4711"], as: forced)
            #expect(server.errorCode(chosen) == "weak_password", "the same password again is refused")
            let done = try await server.request(
                .post, "/v1/auth/password", json: ["currentPassword": "temporary-pass-4711", "newPassword": "my-own-choice-at-last"], as: forced)
            let complete = try server.session(from: done, email: agent.email, password: "my-own-choice-at-last")
            #expect(complete.stage == "complete")
            #expect(try await server.request(.get, "/v1/conversations?view=mine", as: complete).status == .ok)
        }
    }

    @Test("No enumeration: an unknown e-mail and a wrong password get the same answer in the same time")
    func noEnumeration() async throws {
        try await TestServer.run(.sqlite, configure: { $0.trustedProxies = ["127.0.0.1/32"] }) { server in
            _ = try await server.owner()
            var unknown: [Duration] = []
            var wrong: [Duration] = []
            var bodies = Set<String>()
            for attempt in 0..<8 {
                for (email, into) in [("nobody-\(attempt)@example.com", 0), ("owner@example.com", 1)] {
                    let clock = ContinuousClock()
                    let start = clock.now
                    // A different forwarded address each time, so that throttling stays out of the way.
                    let response = try await server.request(
                        .post, "/v1/auth/login", json: ["email": email, "password": "not-the-password"],
                        headers: [Self.forwarded: "10.9.\(into).\(attempt)"])
                    let elapsed = clock.now - start
                    #expect(response.status == .unauthorized)
                    bodies.insert(String(buffer: response.body))
                    if into == 0 { unknown.append(elapsed) } else { wrong.append(elapsed) }
                }
            }
            #expect(bodies.count == 1, "the same body: \(bodies)")
            let medianUnknown = unknown.sorted()[unknown.count / 2]
            let medianWrong = wrong.sorted()[wrong.count / 2]
            // Without the dummy bcrypt an unknown e-mail answers in well under a millisecond while
            // a wrong password costs a bcrypt: a factor of 20 or more.
            #expect(medianUnknown * 5 > medianWrong && medianWrong * 5 > medianUnknown, "unknown \(medianUnknown), wrong password \(medianWrong)")
        }
    }

    @Test("Brute force: blocks grow per account and address, spraying is blocked per address, the owner's usual address keeps working; all audited")
    func bruteForce() async throws {
        try await TestServer.run(.sqlite, configure: { $0.trustedProxies = ["127.0.0.1/32"] }) { server in
            let owner = try await server.owner()
            let password = owner.password
            func attempt(_ email: String, _ password: String, from address: String) async throws -> HTTPReply {
                try await server.request(.post, "/v1/auth/login", json: ["email": email, "password": password], headers: [Self.forwarded: address])
            }
            // The owner has signed in from 127.0.0.1 (their known address).
            for _ in 0..<4 { #expect(try await attempt("owner@example.com", "guess-guess-guess", from: "203.0.113.9").status == .unauthorized) }
            let blocked = try await attempt("owner@example.com", password, from: "203.0.113.9")
            #expect(blocked.status == .tooManyRequests, "blocked: even the right password is not checked")
            #expect(server.errorCode(blocked) == "too_many_attempts")
            #expect(Int(blocked.headers[.retryAfter] ?? "") ?? 0 >= 1)
            #expect(
                try await attempt("nobody@example.com", "guess-guess-guess", from: "203.0.113.9").status == .unauthorized, "other accounts from there go on")

            // A distributed attack: one failure each from many addresses blocks the account for
            // new addresses, for at most a minute, but not for the owner's known address.
            for index in 0..<11 { _ = try await attempt("owner@example.com", "guess-guess-guess", from: "198.51.100.\(index)") }
            let stranger = try await attempt("owner@example.com", password, from: "192.0.2.77")
            #expect(stranger.status == .tooManyRequests)
            #expect(Int(stranger.headers[.retryAfter] ?? "") ?? 999 <= 60, "an account-wide block lasts at most a minute")
            let known = try await server.login(email: "owner@example.com", password: password, headers: [Self.forwarded: "127.0.0.1"])
            #expect(known.stage == "complete", "the owner's usual address still signs in")

            // Spraying: many accounts from one address.
            for index in 0..<21 { _ = try await attempt("user\(index)@example.com", "guess-guess-guess", from: "192.0.2.200") }
            #expect(try await attempt("someone-else@example.com", "guess-guess-guess", from: "192.0.2.200").status == .tooManyRequests)

            let audit = try await server.auditActions(as: known)
            #expect(audit.filter { $0 == "auth.login:failure" }.count >= 30)
            #expect(audit.contains("auth.lockout:failure"))
        }
    }

    @Test("Two factors: enroll with oathtool's code, then password and code; replay refused; recovery codes single-use; guessing throttled")
    func twoFactor() async throws {
        try await TestServer.run(.sqlite) { server in
            let owner = try await server.owner()
            let agent = try await server.agent("Tomi", by: owner)
            #expect(try await server.request(.post, "/v1/auth/2fa/enroll", json: ["password": "wrong-password-here"], as: agent).status == .unauthorized)
            let enrollment = try await server.enroll(agent)
            #expect(enrollment.uri.hasPrefix("otpauth://totp/Confidant:\(agent.email.replacingOccurrences(of: "@", with: "@"))?secret=\(enrollment.secret)"))
            #expect(enrollment.qrSVG.hasPrefix("<svg"))
            let wrongCode = try await server.request(.post, "/v1/auth/2fa/confirm", json: ["code": "000000"], as: agent)
            #expect(wrongCode.status == .unauthorized, "enrollment completes only with a valid code")
            let now = nowSeconds()
            let confirmed = try await server.request(
                .post, "/v1/auth/2fa/confirm", json: ["code": try ExternalTool.oathtoolCode(base32: enrollment.secret, at: now)], as: agent)
            #expect(confirmed.status == .ok)
            struct Codes: Decodable { let recoveryCodes: [String] }
            let recovery = try server.decode(Codes.self, from: confirmed).recoveryCodes
            #expect(recovery.count == 10)
            #expect(Set(recovery).count == 10)
            #expect(try await server.request(.get, "/v1/auth/me", as: agent).status == .unauthorized, "the enrolling session was replaced")

            // Signing in now takes a second step; until then the session reaches nothing else.
            let pending = try await server.login(email: agent.email, password: agent.password)
            #expect(pending.stage == "second_factor")
            #expect(try await server.request(.get, "/v1/agents", as: pending).status == .forbidden)
            await #expect(throws: TestSocket.Failure.self) { _ = try await server.agentSocket(pending) }
            let sameCode = try await server.request(
                .post, "/v1/auth/2fa/verify", json: ["code": try ExternalTool.oathtoolCode(base32: enrollment.secret, at: now)], as: pending)
            #expect(sameCode.status == .unauthorized, "the code used at enrollment cannot be used again")
            let next = try ExternalTool.oathtoolCode(base32: enrollment.secret, at: now + 30)
            let verified = try await server.request(.post, "/v1/auth/2fa/verify", json: ["code": next], as: pending)
            #expect(verified.status == .ok)
            let signedIn = try server.session(from: verified, email: agent.email, password: agent.password)
            #expect(signedIn.stage == "complete")
            #expect(signedIn.cookie != pending.cookie, "a new session id at 2FA completion")
            #expect(try await server.request(.get, "/v1/auth/me", as: pending).status == .unauthorized, "the pending session is gone")
            #expect(try await server.request(.get, "/v1/agents", as: signedIn).status == .ok)
            _ = try await server.agentSocket(signedIn)

            let replay = try await server.login(email: agent.email, password: agent.password)
            #expect(try await server.request(.post, "/v1/auth/2fa/verify", json: ["code": next], as: replay).status == .unauthorized, "replayed")

            let withRecovery = try await server.request(.post, "/v1/auth/2fa/verify", json: ["recoveryCode": recovery[3].uppercased()], as: replay)
            #expect(withRecovery.status == .ok, "a recovery code, typed in capitals")
            // Turning 2FA off needs the password and a current code.
            let signedInAgain = try server.session(from: withRecovery, email: agent.email, password: agent.password)
            let withoutCode = try await server.request(.post, "/v1/auth/2fa/disable", json: ["password": agent.password], as: signedInAgain)
            #expect(withoutCode.status == .unauthorized)
            let again = try await server.login(email: agent.email, password: agent.password)
            #expect(try await server.request(.post, "/v1/auth/2fa/verify", json: ["recoveryCode": recovery[3]], as: again).status == .unauthorized)
            // Guessing: after 5 failures the account's second step is blocked.
            var statuses: [HTTPResponse.Status] = []
            for guess in 0..<6 {
                statuses.append(try await server.request(.post, "/v1/auth/2fa/verify", json: ["code": String(format: "%06d", guess * 7919)], as: again).status)
            }
            #expect(statuses.last == .tooManyRequests, "\(statuses)")

            let audit = try await server.auditActions(as: owner)
            #expect(audit.contains("auth.2fa.enabled:success"))
            #expect(audit.contains("auth.second_factor:failure"))
            #expect(audit.contains("auth.second_factor:success"))
        }
    }

    @Test("A policy that requires 2FA: members without it enroll before anything else, and their open sockets close")
    func requiredTwoFactor() async throws {
        try await TestServer.run(.sqlite) { server in
            let owner = try await server.owner()
            let agent = try await server.agent("Vera", by: owner)
            let (socket, _) = try await server.agentSocket(agent)
            let saved = try await server.request(.put, "/v1/security/policy", json: PolicyInput(policy: .init(requireTwoFactor: ["agent"])), as: owner)
            #expect(saved.status == .ok)
            #expect(try await socket.closeCode() == 4409)
            #expect(try await server.request(.get, "/v1/conversations?view=mine", as: agent).status == .forbidden, "the open session must enroll first")
            let fresh = try await server.login(email: agent.email, password: agent.password)
            #expect(fresh.stage == "enroll_two_factor")
            #expect(try await server.request(.get, "/v1/agents", as: fresh).status == .forbidden)
            await #expect(throws: TestSocket.Failure.self) { _ = try await server.agentSocket(fresh) }
            let enrollment = try await server.request(.post, "/v1/auth/2fa/enroll", json: [String: String](), as: fresh)
            #expect(enrollment.status == .ok, "no password needed right after signing in to enroll")
            struct Enrollment: Decodable { let secret: String }
            let secret = try server.decode(Enrollment.self, from: enrollment).secret
            let confirmed = try await server.request(
                .post, "/v1/auth/2fa/confirm", json: ["code": try ExternalTool.oathtoolCode(base32: secret, at: nowSeconds())], as: fresh)
            struct Confirmed: Decodable {
                struct Session: Decodable {
                    let stage: String
                    let csrfToken: String
                }
                let session: Session
            }
            let session = try server.decode(Confirmed.self, from: confirmed).session
            #expect(session.stage == "complete")
            let cookie = String(try #require(confirmed.headers[.setCookie]).split(separator: ";")[0])
            let complete = StaffLogin(agentId: agent.agentId, email: agent.email, password: agent.password, cookie: cookie, csrfToken: session.csrfToken)

            // Starting over (a new phone) leaves the secret in use alone until the new one is confirmed.
            let inUse = try await server.runtime.database.read { try await $0.agent(id: agent.agentId)?.totpSecretSealed }
            let restart = try await server.request(
                .post, "/v1/auth/2fa/enroll", json: ["password": agent.password, "code": try ExternalTool.oathtoolCode(base32: secret, at: nowSeconds() + 30)],
                as: complete)
            #expect(restart.status == .ok)
            let after = try await server.runtime.database.read { try await $0.agent(id: agent.agentId) }
            #expect(after?.totpSecretSealed == inUse && inUse != nil)
            #expect(after?.totpPendingSealed != nil && after?.hasTwoFactor == true)
            let disable = try await server.request(.post, "/v1/auth/2fa/disable", json: ["password": agent.password, "code": "123456"], as: owner)
            #expect(disable.status != .noContent, "the owner has no 2FA to turn off")
        }
    }

    @Test("Sessions: each member lists theirs and revokes any (its live socket closes); admins sign a member out everywhere; idle sessions end")
    func sessions() async throws {
        try await TestServer.run(.sqlite) { server in
            let owner = try await server.owner()
            let agent = try await server.agent("Lili", by: owner)
            let laptop = try await server.login(email: agent.email, password: agent.password, headers: [.userAgent: "Laptop browser"])
            let (laptopSocket, _) = try await server.agentSocket(laptop)
            struct Sessions: Decodable {
                struct Item: Decodable {
                    let id: String
                    let userAgent: String
                    let address: String
                    let current: Bool
                }
                let items: [Item]
            }
            let listed = try server.decode(Sessions.self, from: try await server.request(.get, "/v1/auth/sessions", as: agent)).items
            #expect(listed.count == 2)
            #expect(listed.filter(\.current).count == 1)
            let other = try #require(listed.first { $0.userAgent == "Laptop browser" })
            #expect(other.address == "127.0.0.1")
            #expect(try await server.request(.delete, "/v1/auth/sessions/\(other.id)", as: agent).status == .noContent)
            #expect(try await laptopSocket.closeCode() == 4401, "revoking a session closes its socket at once")
            #expect(try await server.request(.get, "/v1/auth/me", as: laptop).status == .unauthorized)
            #expect(try await server.request(.delete, "/v1/auth/sessions/\(other.id)", as: owner).status == .notFound, "nobody else's session by id")

            let (socket, _) = try await server.agentSocket(agent)
            #expect(try await server.request(.delete, "/v1/agents/\(agent.agentId)/sessions", as: owner).status == .noContent)
            #expect(try await socket.closeCode() == 4401)
            #expect(try await server.request(.get, "/v1/auth/me", as: agent).status == .unauthorized)
        }
        try await TestServer.run(.sqlite, configure: { $0.sessionIdleTimeout = .seconds(5) }) { server in
            let owner = try await server.owner()
            #expect(try await server.request(.get, "/v1/auth/me", as: owner).status == .ok)
            try await Task.sleep(for: .seconds(6))
            #expect(try await server.request(.get, "/v1/auth/me", as: owner).status == .unauthorized, "idle for longer than the timeout")
        }
    }

    @Test("CSRF: a state change needs the session's token and Confidant's origin")
    func csrf() async throws {
        try await TestServer.run(.sqlite) { server in
            let owner = try await server.owner()
            let body = ["name": "Forged"]
            let missing = try await server.request(.post, "/v1/departments", json: body, headers: [.cookie: owner.cookie])
            #expect(missing.status == .forbidden)
            #expect(server.errorCode(missing) == "csrf_token_invalid")
            let wrong = try await server.request(
                .post, "/v1/departments", json: body, headers: [.cookie: owner.cookie, Self.csrf: String(owner.csrfToken.reversed())])
            #expect(server.errorCode(wrong) == "csrf_token_invalid")
            let crossSite = try await server.request(.post, "/v1/departments", json: body, as: owner, headers: [.origin: "https://evil.example"])
            #expect(server.errorCode(crossSite) == "cross_origin")
            let other = try await server.agent("Mallory", by: owner)
            let borrowed = try await server.request(.post, "/v1/departments", json: body, headers: [.cookie: owner.cookie, Self.csrf: other.csrfToken])
            #expect(server.errorCode(borrowed) == "csrf_token_invalid", "another session's token does not work")
            #expect(try await server.request(.get, "/v1/departments", headers: [.cookie: owner.cookie]).status == .ok, "reading needs no token")
            #expect(try await server.request(.post, "/v1/departments", json: body, as: owner).status == .created)
            struct Departments: Decodable {
                struct Item: Decodable { let name: String }
                let items: [Item]
            }
            #expect(try server.decode(Departments.self, from: try await server.request(.get, "/v1/departments", as: owner)).items.map(\.name) == ["Forged"])
        }
    }
}

/// `PUT /v1/security/policy`'s body.
struct PolicyInput: Encodable {
    struct Policy: Encodable {
        var requireTwoFactor: [String] = []
        var staffNetworks: [String] = []
        var roleNetworks: [String: [String]] = [:]
    }
    var policy: Policy
    var confirmSelfLockout: Bool? = nil
}

extension TestServer {
    /// What `POST /v1/auth/2fa/enroll` answers.
    struct Enrollment: Decodable {
        let secret: String
        let uri: String
        let qrSVG: String
    }

    /// Starts 2FA enrollment for a signed-in member (re-authenticating with their password).
    func enroll(_ login: StaffLogin) async throws -> Enrollment {
        let response = try await request(.post, "/v1/auth/2fa/enroll", json: ["password": login.password], as: login)
        try #require(response.status == .ok, "enroll failed: \(String(buffer: response.body))")
        return try decode(Enrollment.self, from: response)
    }

    /// The audit log's `action:outcome` pairs, newest first.
    func auditActions(as login: StaffLogin) async throws -> [String] {
        struct Events: Decodable {
            struct Event: Decodable {
                let action: String
                let outcome: String
            }
            let items: [Event]
        }
        let response = try await request(.get, "/v1/audit?limit=200", as: login)
        try #require(response.status == .ok, "audit failed: \(String(buffer: response.body))")
        return try decode(Events.self, from: response).items.map { "\($0.action):\($0.outcome)" }
    }
}
