import ConfidantCore
import Crypto
import Foundation
import Logging

/// How long staff sessions live.
struct SessionSettings: Sendable {
    /// A session unused for this long ends.
    var idleTimeout: Duration
    /// A session ends this long after sign-in, however active.
    var absoluteTimeout: Duration
}

/// Staff authentication: sign-in with e-mail and password, session tokens, sign-out. The one
/// place that turns a session token into a ``StaffIdentity``; HTTP middleware and the agent
/// WebSocket handshake both call ``identity(forToken:)``.
///
/// Tokens are 256 random bits; only their SHA-256 is stored. Unknown e-mail and wrong password
/// take the same time (a bcrypt check runs against a dummy hash) and give the same answer.
final class StaffAuthenticator: Sendable {
    private let database: any Database
    private let hasher: PasswordHasher
    private let settings: SessionSettings
    private let hub: Hub
    private let dummyHash: String
    /// Sessions are touched at most this often, to avoid a write per request.
    private static let touchInterval: Int64 = 60_000

    init(database: any Database, hasher: PasswordHasher, settings: SessionSettings, hub: Hub) async throws {
        self.database = database
        self.hasher = hasher
        self.settings = settings
        self.hub = hub
        self.dummyHash = try await hasher.hash(Base64URL.random(bytes: 18))
    }

    /// Signs in; returns a new session token, the account and the session's expiry (Unix ms).
    func login(email: String, password: String, userAgent: String, address: String) async throws -> (token: String, agent: AgentRecord, expiresAt: Int64) {
        let normalized = (try? TextRules.email(email)) ?? ""
        let agent = normalized.isEmpty ? nil : try await database.read { try await $0.agent(email: normalized) }
        let matches = try await hasher.verify(password, hash: agent?.passwordHash ?? dummyHash)
        guard let agent, matches, agent.isActive else {
            throw ConfidantError(.invalidCredentials, "The e-mail address or password is wrong, or the account is disabled.")
        }
        let token = Base64URL.random(bytes: 32)
        let expiresAt = nowMillis() + settings.absoluteTimeout.milliseconds
        let truncatedAgent = String(userAgent.prefix(200))
        try await database.transaction { store in
            try await store.insertSession(tokenHash: Self.hash(token), agent: agent.agentID, expiresAt: expiresAt, userAgent: truncatedAgent, address: address)
        }
        return (token, agent, expiresAt)
    }

    /// The staff member a session token belongs to, or nil if the token is unknown, expired,
    /// idle too long, or its account is disabled.
    func identity(forToken token: String) async throws -> StaffIdentity? {
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
        if now - session.lastSeenAt > Self.touchInterval {
            try await database.transaction { try await $0.touchSession(tokenHash: hash, at: now) }
        }
        return StaffIdentity(agentID: agent.agentID, displayName: agent.displayName, role: agent.staffRole, departments: Set(departments), sessionHash: hash)
    }

    /// Ends one session and closes the sockets opened with it.
    func logout(sessionHash: String) async throws {
        try await database.transaction { try await $0.deleteSession(tokenHash: sessionHash) }
        await closeSockets(of: [sessionHash])
    }

    /// Ends every session of an account (disabled, password reset) and closes their sockets.
    func endSessions(of agent: AgentID) async throws {
        let hashes = try await database.transaction { try await $0.deleteSessions(ofAgent: agent) }
        await closeSockets(of: hashes)
    }

    /// Hashes a password for storage after checking the length rules.
    func hashNewPassword(_ password: String) async throws -> String {
        try PasswordHasher.validate(password)
        return try await hasher.hash(password)
    }

    private func closeSockets(of sessionHashes: [String]) async {
        for hash in sessionHashes {
            await hub.publish(.both(.close(code: CloseCode.unauthenticated, reason: "session ended")), to: [.session(hash)])
        }
    }

    static func hash(_ token: String) -> String {
        SHA256.hash(data: Data(token.utf8)).map { String(format: "%02x", $0) }.joined()
    }
}
