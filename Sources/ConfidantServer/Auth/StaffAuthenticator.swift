import ConfidantCore
import Crypto
import Foundation
import Hummingbird
import Logging

/// How long staff sessions live.
struct SessionSettings: Sendable {
    /// A session unused for this long ends.
    var idleTimeout: Duration
    /// A session ends this long after sign-in, however active.
    var absoluteTimeout: Duration
}

/// A session just issued: the cookie's token, the CSRF token the pages send back, and how far
/// the sign-in has come.
struct IssuedSession: Sendable {
    let token: String
    let csrfToken: String
    let stage: SessionStage
    let agent: AgentRecord
    let expiresAt: Int64
}

/// Staff authentication, the one place that turns credentials into a ``StaffIdentity``:
/// passwords (bcrypt, throttled by ``LoginThrottle``), second factors (TOTP and recovery codes),
/// sessions, API tokens, and the network allowlist of the ``SecurityPolicy``. HTTP middleware,
/// the agent WebSocket handshake and the CLI all come through here; every success, failure and
/// lockout is written to the ``AuditLog``.
///
/// Session tokens are 256 random bits; only their SHA-256 is stored. A new token is issued at
/// sign-in and at every step up (second factor, enrollment, password change) and the previous
/// one is deleted, so a token seen before a step is worthless after it. Unknown e-mail and wrong
/// password take the same time (bcrypt runs against a dummy hash) and give the same answer.
final class StaffAuthenticator: Sendable {
    let database: any Database
    private let hasher: PasswordHasher
    private let settings: SessionSettings
    private let hub: Hub
    let audit: AuditLog
    private let throttle: LoginThrottle
    let policies: SecurityPolicyStore
    private let vault: TwoFactorVault
    private let passwordPolicy: PasswordPolicy
    private let metrics: ProtectionMetrics?
    private let dummyHash: String
    /// Sessions are touched at most this often, to avoid a write per request.
    private static let touchInterval: Int64 = 60_000

    init(
        database: any Database, hasher: PasswordHasher, settings: SessionSettings, hub: Hub, audit: AuditLog, policies: SecurityPolicyStore,
        vault: TwoFactorVault, metrics: ProtectionMetrics? = nil, passwordPolicy: PasswordPolicy = .standard
    ) async throws {
        self.metrics = metrics
        self.database = database
        self.hasher = hasher
        self.settings = settings
        self.hub = hub
        self.audit = audit
        self.throttle = LoginThrottle(database: database)
        self.policies = policies
        self.vault = vault
        self.passwordPolicy = passwordPolicy
        self.dummyHash = try await hasher.hash(Base64URL.random(bytes: 18))
    }

    // MARK: Sign-in

    /// Checks e-mail and password and opens a session at the stage the account needs next.
    func login(email: String, password: String, userAgent: String, address: String) async throws -> IssuedSession {
        let policy = try await policies.current()
        guard policy.allowsAnyStaff(from: address) else { throw Self.networkRefused }
        let normalized = (try? TextRules.email(email)) ?? email.lowercased().trimmingWhitespace().prefix(254).description
        // The same reads for known and unknown e-mails, so that their timing does not differ.
        let (agent, known) = try await database.read { store in
            let agent = try await store.agent(email: normalized)
            let known = try await store.hasSignedIn(
                agent: agent?.agentID ?? AgentID(), from: address, since: nowMillis() - LoginThrottle.knownAddressWindow)
            return (agent, known)
        }
        let keys = LoginThrottle.signInKeys(email: normalized, address: address, knownAddress: known)
        do {
            try await throttle.check(keys)
        } catch {
            await audit.record(
                AuditEvent(
                    actorKind: .anonymous, action: "auth.login", targetKind: agent.map { _ in "agent" }, targetId: agent?.id, address: address,
                    outcome: .failure, details: ["reason": "throttled"]))
            throw error
        }
        let matches = try await hasher.verify(password, hash: agent?.passwordHash ?? dummyHash)
        guard let agent, matches, agent.isActive else {
            let blocked = try await throttle.recordFailure(keys)
            metrics?.signInFailed(startingLockout: !blocked.isEmpty)
            var event = AuditEvent(actorKind: .anonymous, action: "auth.login", address: address, outcome: .failure)
            event.targetKind = agent == nil ? nil : "agent"
            event.targetId = agent?.id
            event.details["reason"] = agent == nil ? "unknown_account" : (matches ? "disabled" : "wrong_password")
            await audit.record(event)
            for key in blocked {
                await audit.record(
                    AuditEvent(
                        actorKind: .anonymous, action: "auth.lockout", targetKind: agent?.id == nil ? nil : "agent", targetId: agent?.id, address: address,
                        outcome: .failure, details: ["rule": String(key.prefix(while: { $0 != ":" }))]))
            }
            throw ConfidantError(.invalidCredentials, "The e-mail address or password is wrong, or the account is disabled.")
        }
        guard policy.allows(agent.staffRole, from: address) else {
            await audit.record(
                AuditEvent(actorKind: .staff, actorId: agent.id, action: "auth.login", address: address, outcome: .failure, details: ["reason": "network"]))
            throw Self.networkRefused
        }
        try await throttle.clear(keys.filter { $0.0.prefix != LoginThrottle.address.prefix })
        let stage = Self.stage(of: agent, policy: policy, secondFactorDone: false)
        let issued = try await issueSession(for: agent, stage: stage, userAgent: userAgent, address: address, replacing: nil)
        await audit.record(
            AuditEvent(actorKind: .staff, actorId: agent.id, action: "auth.login", address: address, details: ["stage": stage.rawValue]))
        return issued
    }

    /// Completes the second factor with a TOTP code or a recovery code; the session is replaced.
    func verifySecondFactor(_ staff: StaffIdentity, code: String?, recoveryCode: String?, userAgent: String, address: String) async throws
        -> IssuedSession
    {
        guard staff.stage == .secondFactor, let sessionHash = staff.sessionHash else {
            throw ConfidantError(.invalidState, "This session is not waiting for a second factor.")
        }
        let keys = [(LoginThrottle.secondFactor, staff.agentID.rawValue)]
        try await throttle.check(keys)
        guard let agent = try await database.read({ try await $0.agent(id: staff.agentID) }), agent.isActive else { throw ConfidantError.unauthenticated }
        let method: String
        if let recoveryCode {
            guard try await database.transaction({ try await $0.consumeRecoveryCode(agent: agent.agentID, hash: vault.hashRecoveryCode(recoveryCode)) }) else {
                try await failSecondFactor(agent, keys: keys, address: address, reason: "recovery_code")
            }
            method = "recovery_code"
        } else {
            guard let code, try await acceptCode(code, of: agent) else { try await failSecondFactor(agent, keys: keys, address: address, reason: "totp") }
            method = "totp"
        }
        try await throttle.clear(keys)
        try await database.transaction { try await $0.recordSignInAddress(agent: agent.agentID, address: address) }
        let stage = Self.stage(of: agent, policy: try await policies.current(), secondFactorDone: true)
        let issued = try await issueSession(for: agent, stage: stage, userAgent: userAgent, address: address, replacing: sessionHash)
        await audit.record(AuditEvent(actorKind: .staff, actorId: agent.id, action: "auth.second_factor", address: address, details: ["method": method]))
        return issued
    }

    private func failSecondFactor(_ agent: AgentRecord, keys: [(LoginThrottle.Rule, String)], address: String, reason: String) async throws -> Never {
        let blocked = try await throttle.recordFailure(keys)
        metrics?.signInFailed(startingLockout: !blocked.isEmpty)
        await audit.record(
            AuditEvent(actorKind: .staff, actorId: agent.id, action: "auth.second_factor", address: address, outcome: .failure, details: ["method": reason]))
        if !blocked.isEmpty {
            await audit.record(
                AuditEvent(actorKind: .staff, actorId: agent.id, action: "auth.lockout", address: address, outcome: .failure, details: ["rule": "2fa"]))
        }
        throw ConfidantError(.invalidCredentials, "The code is wrong, expired or already used.")
    }

    /// Whether `code` is a valid TOTP code of `agent` not used before; records its step.
    private func acceptCode(_ code: String, of agent: AgentRecord) async throws -> Bool {
        guard let sealed = agent.totpSecretSealed, let step = TOTP(secret: try vault.open(sealed, for: agent.agentID)).matchingStep(code, at: nowSeconds())
        else { return false }
        return try await database.transaction { try await $0.advanceTOTPStep(agent: agent.agentID, to: step) }
    }

    /// The stage a session of `agent` is at: the second factor first, then a forced password
    /// change, then enrollment if the policy requires 2FA of this role.
    static func stage(of agent: AgentRecord, policy: SecurityPolicy, secondFactorDone: Bool) -> SessionStage {
        if agent.hasTwoFactor && !secondFactorDone { return .secondFactor }
        if agent.mustChangePassword != 0 { return .changePassword }
        if !agent.hasTwoFactor && policy.requiresTwoFactor(agent.staffRole) { return .enrollTwoFactor }
        return .complete
    }

    /// Opens a session (deleting `replacing`, the one it supersedes, in the same transaction).
    private func issueSession(for agent: AgentRecord, stage: SessionStage, userAgent: String, address: String, replacing: String?) async throws
        -> IssuedSession
    {
        let token = Base64URL.random(bytes: 32)
        let csrf = Base64URL.random(bytes: 32)
        let expiresAt = nowMillis() + settings.absoluteTimeout.milliseconds
        let truncatedAgent = String(userAgent.prefix(200))
        try await database.transaction { store in
            if let replacing { try await store.deleteSession(tokenHash: replacing) }
            try await store.insertSession(
                id: UUID().uuidString.lowercased(), tokenHash: Self.hash(token), agent: agent.agentID, stage: stage, csrfToken: csrf,
                expiresAt: expiresAt, userAgent: truncatedAgent, address: address)
            if stage == .complete || stage == .changePassword || stage == .enrollTwoFactor {
                try await store.recordSignInAddress(agent: agent.agentID, address: address)
            }
        }
        if let replacing {
            // The browser holds the new cookie already: its sockets reconnect with it (4409), they
            // are not signed out (4401).
            await closeSockets(of: [replacing], code: CloseCode.permissionsChanged, reason: "session renewed")
        }
        return IssuedSession(token: token, csrfToken: csrf, stage: stage, agent: agent, expiresAt: expiresAt)
    }

    // MARK: Identities

    /// The staff member a session token belongs to, or nil if the token is unknown, expired,
    /// idle too long, or its account is disabled. Throws `network_not_allowed` when the policy
    /// does not let this member act from `address`.
    func identity(forToken token: String, address: String) async throws -> StaffIdentity? {
        guard token.utf8.count <= 128 else { return nil }
        let hash = Self.hash(token)
        let now = nowMillis()
        let idleCutoff = now - settings.idleTimeout.milliseconds
        let found: (SessionRecord, AgentRecord, [DepartmentID])? = try await database.read { store in
            guard let session = try await store.session(tokenHash: hash), let agent = try await store.agent(id: AgentID(trusted: session.agentId)) else {
                return nil
            }
            return (session, agent, try await store.departments(ofAgent: agent.agentID))
        }
        guard let (session, agent, departments) = found else { return nil }
        guard session.expiresAt > now, session.lastSeenAt > idleCutoff, agent.isActive else {
            try await database.transaction { try await $0.deleteSession(tokenHash: hash) }
            return nil
        }
        let policy = try await policies.current()
        guard policy.allows(agent.staffRole, from: address) else { throw Self.networkRefused }
        if now - session.lastSeenAt > Self.touchInterval {
            try await database.transaction { try await $0.touchSession(tokenHash: hash, at: now) }
        }
        // A complete session falls back when the account's duties changed since: an admin
        // reset the password, or the policy now requires 2FA of this role.
        let stage = session.sessionStage == .complete ? Self.stage(of: agent, policy: policy, secondFactorDone: true) : session.sessionStage
        return StaffIdentity(
            agentID: agent.agentID, displayName: agent.displayName, role: agent.staffRole, departments: Set(departments),
            permissions: policy.permissions(of: agent.staffRole),
            credential: .session(hash: hash, id: session.id, stage: stage, csrfToken: session.csrfToken))
    }

    /// The identity an API token acts with: its owner's permissions narrowed to the token's
    /// scopes, from the token's allowed networks only. Nil if unknown, revoked or expired.
    func identity(forAPIToken token: String, address: String) async throws -> StaffIdentity? {
        guard token.utf8.count <= 128, token.hasPrefix(APITokens.prefix) else { return nil }
        let hash = Self.hash(token)
        let now = nowMillis()
        let found: (APITokenRecord, AgentRecord, [DepartmentID])? = try await database.read { store in
            guard let record = try await store.apiToken(hash: hash), let agent = try await store.agent(id: AgentID(trusted: record.agentId)) else {
                return nil
            }
            return (record, agent, try await store.departments(ofAgent: agent.agentID))
        }
        guard let (record, agent, departments) = found, record.revokedAt == nil, record.expiresAt > now, agent.isActive else { return nil }
        let policy = try await policies.current()
        let networks = record.networks
        guard policy.allows(agent.staffRole, from: address), networks.isEmpty || networks.contains(where: { NetworkRange($0)?.contains(address) == true })
        else { throw Self.networkRefused }
        if now - (record.lastUsedAt ?? 0) > Self.touchInterval {
            try await database.transaction { try await $0.touchAPIToken(id: record.id, at: now) }
        }
        return StaffIdentity(
            agentID: agent.agentID, displayName: agent.displayName, role: agent.staffRole, departments: Set(departments),
            permissions: policy.permissions(of: agent.staffRole).intersection(record.scopeSet), credential: .apiToken(id: record.id))
    }

    static let networkRefused = ConfidantError(.networkNotAllowed, "Staff access is not allowed from this network.")

    // MARK: Sessions

    /// Ends one session and closes the sockets opened with it.
    func logout(sessionHash: String) async throws {
        try await database.transaction { try await $0.deleteSession(tokenHash: sessionHash) }
        await closeSockets(of: [sessionHash])
    }

    /// Ends every session of an account but `kept` (disabled, password reset, revoked by an
    /// admin) and closes their sockets.
    func endSessions(of agent: AgentID, except kept: String? = nil) async throws {
        let hashes = try await database.transaction { store in
            if let kept { return try await store.deleteSessions(ofAgent: agent, except: kept) }
            return try await store.deleteSessions(ofAgent: agent)
        }
        await closeSockets(of: hashes)
    }

    /// Ends one session of `agent` by its public id; false if there is none.
    func revokeSession(id: String, of agent: AgentID) async throws -> Bool {
        guard let hash = try await database.transaction({ try await $0.deleteSession(id: id, ofAgent: agent) }) else { return false }
        await closeSockets(of: [hash])
        return true
    }

    /// Closes every socket of `agent` with "permissions changed": the client reconnects, and the
    /// new socket carries the new role and departments.
    func refreshSockets(of agent: AgentID) async {
        await hub.publish(.both(.close(code: CloseCode.permissionsChanged, reason: "permissions changed")), to: [.agent(agent)])
    }

    /// The idle timeout in milliseconds.
    var idleTimeoutMilliseconds: Int64 { settings.idleTimeout.milliseconds }

    /// Closes the sockets opened with these sessions (signed out, 4401, unless told otherwise).
    func closeSockets(of sessionHashes: [String], code: UInt16 = CloseCode.unauthenticated, reason: String = "session ended") async {
        await hub.publish(.both(.close(code: code, reason: reason)), to: sessionHashes.map(Topic.session))
    }

    // MARK: Passwords

    /// Checks a new password against the ``PasswordPolicy`` and hashes it.
    func hashNewPassword(_ password: String, email: String?, displayName: String?) async throws -> String {
        try passwordPolicy.validate(password, email: email, displayName: displayName)
        return try await hasher.hash(password)
    }

    /// Re-authentication before a sensitive change: the current password (and, with 2FA on, a
    /// current code). Failures count against the same throttle as sign-in.
    func reauthenticate(_ staff: StaffIdentity, password: String?, code: String?, address: String, requireCode: Bool = true) async throws
        -> AgentRecord
    {
        guard let agent = try await database.read({ try await $0.agent(id: staff.agentID) }) else { throw ConfidantError.unauthenticated }
        let keys = [(LoginThrottle.accountAndAddress, "\(agent.email)|\(address)"), (LoginThrottle.secondFactor, agent.id)]
        try await throttle.check(keys)
        let passwordOK = try await hasher.verify(password ?? "", hash: agent.passwordHash)
        var codeOK = !requireCode || !agent.hasTwoFactor
        if !codeOK, let code { codeOK = try await acceptCode(code, of: agent) }
        guard passwordOK, codeOK else {
            _ = try await throttle.recordFailure(keys)
            await audit.record(AuditEvent("auth.reauthenticate", by: staff, address: address, outcome: .failure))
            throw ConfidantError(
                .invalidCredentials, agent.hasTwoFactor ? "Confirm with your current password and a current code." : "Confirm with your current password.")
        }
        return agent
    }

    /// Changes the signed-in member's own password; every other session ends and this one is
    /// replaced. Needs the current password (a forced change right after sign-in included).
    func changePassword(_ staff: StaffIdentity, current: String, new: String, userAgent: String, address: String) async throws -> IssuedSession {
        guard let sessionHash = staff.sessionHash else { throw ConfidantError(.forbidden, "API tokens cannot change passwords.") }
        let agent = try await reauthenticate(staff, password: current, code: nil, address: address, requireCode: false)
        guard try await !hasher.verify(new, hash: agent.passwordHash) else {
            throw ConfidantError(.weakPassword, "The new password must differ from the current one.")
        }
        let hash = try await hashNewPassword(new, email: agent.email, displayName: agent.displayName)
        try await database.transaction { store in
            try await store.setPassword(agent: agent.agentID, hash: hash, mustChange: false)
            try await store.appendAudit(AuditEvent("auth.password.changed", by: staff, address: address, target: ("agent", agent.id)))
        }
        try await endSessions(of: agent.agentID, except: sessionHash)
        guard let updated = try await database.read({ try await $0.agent(id: agent.agentID) }) else { throw ConfidantError.unauthenticated }
        let stage = Self.stage(of: updated, policy: try await policies.current(), secondFactorDone: true)
        return try await issueSession(for: updated, stage: stage, userAgent: userAgent, address: address, replacing: sessionHash)
    }

    // MARK: Two factors

    /// What enrollment shows: the secret for manual entry, the URI and its QR code.
    struct Enrollment: ResponseEncodable, Sendable {
        let secret: String
        let uri: String
        let qrSVG: String
    }

    /// Starts (or restarts) enrollment with a new secret; 2FA stays as it was until confirmed.
    /// Outside the forced-enrollment stage this needs re-authentication.
    func beginEnrollment(_ staff: StaffIdentity, password: String?, code: String?, address: String) async throws -> Enrollment {
        guard staff.sessionHash != nil else { throw ConfidantError(.forbidden, "API tokens cannot manage 2FA.") }
        let agent: AgentRecord
        if staff.stage == .enrollTwoFactor {
            guard let found = try await database.read({ try await $0.agent(id: staff.agentID) }) else { throw ConfidantError.unauthenticated }
            agent = found
        } else {
            agent = try await reauthenticate(staff, password: password, code: code, address: address)
        }
        let secret = TOTP.generateSecret()
        let sealed = try vault.seal(secret, for: agent.agentID)
        try await database.transaction { try await $0.setPendingTOTP(agent: agent.agentID, secretSealed: sealed) }
        let uri = TOTP(secret: secret).provisioningURI(account: agent.email, issuer: vault.issuer)
        let qr = try QRCode(uri)
        return Enrollment(secret: Base32.encode(secret), uri: uri, qrSVG: qr.svg(label: "QR code for your authenticator app"))
    }

    /// Confirms enrollment with a code of the new secret: 2FA turns on, ten recovery codes are
    /// returned (shown once), other sessions end, and this session is replaced.
    func confirmEnrollment(_ staff: StaffIdentity, code: String, userAgent: String, address: String) async throws -> (
        codes: [String], session: IssuedSession
    ) {
        guard let sessionHash = staff.sessionHash else { throw ConfidantError(.forbidden, "API tokens cannot manage 2FA.") }
        let keys = [(LoginThrottle.secondFactor, staff.agentID.rawValue)]
        try await throttle.check(keys)
        guard let agent = try await database.read({ try await $0.agent(id: staff.agentID) }), let sealed = agent.totpPendingSealed else {
            throw ConfidantError(.invalidState, "Start enrollment first.")
        }
        guard let step = TOTP(secret: try vault.open(sealed, for: agent.agentID)).matchingStep(code, at: nowSeconds()) else {
            try await failSecondFactor(agent, keys: keys, address: address, reason: "enrollment")
        }
        try await throttle.clear(keys)
        let (codes, hashes) = vault.newRecoveryCodes()
        try await database.transaction { store in
            try await store.enableTOTP(agent: agent.agentID, secretSealed: sealed, step: step)
            try await store.replaceRecoveryCodes(agent: agent.agentID, hashes: hashes)
            try await store.appendAudit(AuditEvent("auth.2fa.enabled", by: staff, address: address, target: ("agent", agent.id)))
        }
        try await endSessions(of: agent.agentID, except: sessionHash)
        guard let updated = try await database.read({ try await $0.agent(id: agent.agentID) }) else { throw ConfidantError.unauthenticated }
        let stage = Self.stage(of: updated, policy: try await policies.current(), secondFactorDone: true)
        return (codes, try await issueSession(for: updated, stage: stage, userAgent: userAgent, address: address, replacing: sessionHash))
    }

    /// Turns the member's own 2FA off (not allowed while the policy requires it of their role).
    func disableTwoFactor(_ staff: StaffIdentity, password: String?, code: String?, address: String) async throws {
        let agent = try await reauthenticate(staff, password: password, code: code, address: address)
        guard agent.hasTwoFactor else { throw ConfidantError(.invalidState, "Two-factor authentication is not on.") }
        guard !(try await policies.current()).requiresTwoFactor(agent.staffRole) else {
            throw ConfidantError(.forbidden, "The security policy requires two-factor authentication for your role.")
        }
        try await database.transaction { store in
            try await store.disableTOTP(agent: agent.agentID)
            try await store.appendAudit(AuditEvent("auth.2fa.disabled", by: staff, address: address, target: ("agent", agent.id)))
        }
    }

    /// Replaces the member's recovery codes (after re-authentication).
    func regenerateRecoveryCodes(_ staff: StaffIdentity, password: String?, code: String?, address: String) async throws -> [String] {
        let agent = try await reauthenticate(staff, password: password, code: code, address: address)
        guard agent.hasTwoFactor else { throw ConfidantError(.invalidState, "Two-factor authentication is not on.") }
        let (codes, hashes) = vault.newRecoveryCodes()
        try await database.transaction { store in
            try await store.replaceRecoveryCodes(agent: agent.agentID, hashes: hashes)
            try await store.appendAudit(AuditEvent("auth.2fa.recovery_codes", by: staff, address: address, target: ("agent", agent.id)))
        }
        return codes
    }

    /// An admin removes another member's 2FA (a lost phone); their sessions end, and they
    /// enroll again at next sign-in if the policy requires it.
    func resetTwoFactor(of agent: AgentID, by admin: StaffIdentity, address: String) async throws {
        try await database.transaction { store in
            try await store.disableTOTP(agent: agent)
            try await store.appendAudit(AuditEvent("agent.2fa.reset", by: admin, address: address, target: ("agent", agent.rawValue)))
        }
        try await endSessions(of: agent)
    }

    static func hash(_ token: String) -> String {
        SHA256.hash(data: Data(token.utf8)).map { String(format: "%02x", $0) }.joined()
    }
}

/// Seconds since 1970.
func nowSeconds() -> Int64 { Int64(Date().timeIntervalSince1970) }
