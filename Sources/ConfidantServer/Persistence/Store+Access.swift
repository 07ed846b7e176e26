import ConfidantCore
import Foundation
import SQLKit

// Who gets in: two-factor state, recovery codes, sign-in throttling, the security policy, API
// tokens and site identity secrets. (Sessions are in Store+Sessions.swift.)

/// A row of `auth_throttle`: failures counted under one key (an account, an address, or both).
struct ThrottleRecord: Decodable, Sendable {
    let key: String
    let failures: Int
    let lastFailureAt: Int64
    let blockedUntil: Int64
}

/// A row of `api_tokens`. Only a SHA-256 hash of the token is stored.
struct APITokenRecord: Decodable, Sendable {
    let id: String
    let agentId: String
    let name: String
    let tokenHash: String
    let scopes: String
    let allowedNetworks: String
    let createdAt: Int64
    let expiresAt: Int64
    let lastUsedAt: Int64?
    let revokedAt: Int64?

    var scopeSet: Set<Permission> { Set(Store.decodeJSON([Permission].self, from: scopes) ?? []) }
    var networks: [String] { Store.decodeJSON([String].self, from: allowedNetworks) ?? [] }
}

extension Store {
    // MARK: Passwords and TOTP

    func setPassword(agent: AgentID, hash: String, mustChange: Bool) async throws {
        try await run(
            """
            UPDATE agents SET password_hash = \(bind: hash), must_change_password = \(bind: mustChange ? 1 : 0), updated_at = \(bind: nowMillis())
            WHERE id = \(bind: agent.rawValue)
            """)
    }

    /// Stores a new, not yet confirmed TOTP secret (2FA stays as it was until confirmation).
    func setPendingTOTP(agent: AgentID, secretSealed: Data) async throws {
        try await run("UPDATE agents SET totp_pending_sealed = \(bind: secretSealed) WHERE id = \(bind: agent.rawValue)")
    }

    /// Turns 2FA on with the pending secret, remembering the step of the confirming code.
    func enableTOTP(agent: AgentID, secretSealed: Data, step: Int64) async throws {
        try await run(
            """
            UPDATE agents SET totp_secret_sealed = \(bind: secretSealed), totp_pending_sealed = NULL, totp_enabled_at = \(bind: nowMillis()),
                totp_last_step = \(bind: step)
            WHERE id = \(bind: agent.rawValue)
            """)
    }

    /// Turns 2FA off and forgets the secrets and the recovery codes.
    func disableTOTP(agent: AgentID) async throws {
        try await run(
            """
            UPDATE agents SET totp_secret_sealed = NULL, totp_pending_sealed = NULL, totp_enabled_at = NULL, totp_last_step = 0
            WHERE id = \(bind: agent.rawValue)
            """)
        try await run("DELETE FROM recovery_codes WHERE agent_id = \(bind: agent.rawValue)")
    }

    /// Records `step` as used if it is newer than the last one; false means a replay (or a race lost).
    func advanceTOTPStep(agent: AgentID, to step: Int64) async throws -> Bool {
        try await first(
            """
            UPDATE agents SET totp_last_step = \(bind: step) WHERE id = \(bind: agent.rawValue) AND totp_last_step < \(bind: step) RETURNING id
            """, as: IDRow.self) != nil
    }

    func replaceRecoveryCodes(agent: AgentID, hashes: [String]) async throws {
        try await run("DELETE FROM recovery_codes WHERE agent_id = \(bind: agent.rawValue)")
        for hash in hashes {
            try await run("INSERT INTO recovery_codes (agent_id, code_hash) VALUES (\(bind: agent.rawValue), \(bind: hash))")
        }
    }

    /// Marks an unused recovery code used; false if it is unknown or was used before.
    func consumeRecoveryCode(agent: AgentID, hash: String) async throws -> Bool {
        try await first(
            """
            UPDATE recovery_codes SET used_at = \(bind: nowMillis())
            WHERE agent_id = \(bind: agent.rawValue) AND code_hash = \(bind: hash) AND used_at IS NULL RETURNING agent_id AS id
            """, as: IDRow.self) != nil
    }

    func unusedRecoveryCodes(agent: AgentID) async throws -> Int {
        try await scalar(
            "SELECT count(*) AS n FROM recovery_codes WHERE agent_id = \(bind: agent.rawValue) AND used_at IS NULL", column: "n", as: Int.self) ?? 0
    }

    // MARK: Throttling

    func throttle(key: String) async throws -> ThrottleRecord? {
        try await first("SELECT * FROM auth_throttle WHERE key = \(bind: key)", as: ThrottleRecord.self)
    }

    func saveThrottle(_ record: ThrottleRecord) async throws {
        try await run(
            """
            INSERT INTO auth_throttle (key, failures, last_failure_at, blocked_until)
            VALUES (\(bind: record.key), \(bind: record.failures), \(bind: record.lastFailureAt), \(bind: record.blockedUntil))
            ON CONFLICT (key) DO UPDATE SET failures = excluded.failures, last_failure_at = excluded.last_failure_at,
                blocked_until = excluded.blocked_until
            """)
    }

    /// Deletes counts with no failure since `cutoff` and no block left at `now`.
    func deleteStaleThrottles(before cutoff: Int64, now: Int64) async throws {
        try await run("DELETE FROM auth_throttle WHERE last_failure_at < \(bind: cutoff) AND blocked_until < \(bind: now)")
    }

    func clearThrottle(key: String) async throws {
        try await run("DELETE FROM auth_throttle WHERE key = \(bind: key)")
    }

    /// Remembers that `agent` signed in from `address`.
    func recordSignInAddress(agent: AgentID, address: String) async throws {
        try await run(
            """
            INSERT INTO sign_in_addresses (agent_id, address, last_success_at) VALUES (\(bind: agent.rawValue), \(bind: address), \(bind: nowMillis()))
            ON CONFLICT (agent_id, address) DO UPDATE SET last_success_at = excluded.last_success_at
            """)
    }

    /// Whether `agent` signed in successfully from `address` since `cutoff`.
    func hasSignedIn(agent: AgentID, from address: String, since cutoff: Int64) async throws -> Bool {
        try await first(
            """
            SELECT agent_id AS id FROM sign_in_addresses
            WHERE agent_id = \(bind: agent.rawValue) AND address = \(bind: address) AND last_success_at > \(bind: cutoff)
            """, as: IDRow.self) != nil
    }

    // MARK: Security settings

    func securitySetting(_ key: String) async throws -> String? {
        try await scalar("SELECT value FROM security_settings WHERE key = \(bind: key)", column: "value", as: String.self)
    }

    func setSecuritySetting(_ key: String, _ value: String) async throws {
        try await run(
            """
            INSERT INTO security_settings (key, value, updated_at) VALUES (\(bind: key), \(bind: value), \(bind: nowMillis()))
            ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at
            """)
    }

    // MARK: API tokens

    func insertAPIToken(
        id: String, agent: AgentID, name: String, tokenHash: String, scopes: [Permission], networks: [String], expiresAt: Int64
    ) async throws {
        try await run(
            """
            INSERT INTO api_tokens (id, agent_id, name, token_hash, scopes, allowed_networks, created_at, expires_at)
            VALUES (\(bind: id), \(bind: agent.rawValue), \(bind: name), \(bind: tokenHash), \(bind: Self.json(scopes)), \(bind: Self.json(networks)),
                    \(bind: nowMillis()), \(bind: expiresAt))
            """)
    }

    func apiToken(hash: String) async throws -> APITokenRecord? {
        try await first("SELECT * FROM api_tokens WHERE token_hash = \(bind: hash)", as: APITokenRecord.self)
    }

    func apiToken(id: String) async throws -> APITokenRecord? {
        try await first("SELECT * FROM api_tokens WHERE id = \(bind: id)", as: APITokenRecord.self)
    }

    func apiTokens(ofAgent agent: AgentID) async throws -> [APITokenRecord] {
        try await all("SELECT * FROM api_tokens WHERE agent_id = \(bind: agent.rawValue) ORDER BY created_at DESC", as: APITokenRecord.self)
    }

    func revokeAPIToken(id: String) async throws -> Bool {
        try await first(
            "UPDATE api_tokens SET revoked_at = \(bind: nowMillis()) WHERE id = \(bind: id) AND revoked_at IS NULL RETURNING id", as: IDRow.self) != nil
    }

    func touchAPIToken(id: String, at time: Int64) async throws {
        try await run("UPDATE api_tokens SET last_used_at = \(bind: time) WHERE id = \(bind: id)")
    }

    // MARK: Verified visitors

    func setIdentitySecrets(site: SiteID, current: Data, previous: Data?, previousExpiresAt: Int64?) async throws {
        try await run(
            """
            UPDATE sites SET identity_secret_sealed = \(bind: current), previous_identity_secret_sealed = \(bind: previous),
                previous_secret_expires_at = \(bind: previousExpiresAt), updated_at = \(bind: nowMillis())
            WHERE id = \(bind: site.rawValue)
            """)
    }

    func setRequireVerified(site: SiteID, _ required: Bool) async throws {
        try await run("UPDATE sites SET require_verified = \(bind: required ? 1 : 0) WHERE id = \(bind: site.rawValue)")
    }

    /// Records an identity token's nonce; false if the site saw it before (a replay).
    func useIdentityNonce(site: SiteID, nonce: String, expiresAt: Int64) async throws -> Bool {
        try await first(
            """
            INSERT INTO identity_nonces (site_id, nonce, expires_at) VALUES (\(bind: site.rawValue), \(bind: nonce), \(bind: expiresAt))
            ON CONFLICT (site_id, nonce) DO NOTHING RETURNING nonce AS id
            """, as: IDRow.self) != nil
    }

    func deleteExpiredIdentityNonces(before time: Int64) async throws {
        try await run("DELETE FROM identity_nonces WHERE expires_at < \(bind: time)")
    }

    func visitor(site: SiteID, externalIdHash: String) async throws -> VisitorRecord? {
        try await first(
            "SELECT * FROM visitors WHERE site_id = \(bind: site.rawValue) AND external_id_hash = \(bind: externalIdHash)", as: VisitorRecord.self)
    }

    func setVerifiedIdentity(visitor: VisitorID, externalIdHash: String, sealed: Data) async throws {
        try await run(
            """
            UPDATE visitors SET external_id_hash = \(bind: externalIdHash), verified_sealed = \(bind: sealed), last_seen_at = \(bind: nowMillis())
            WHERE id = \(bind: visitor.rawValue)
            """)
    }

    /// A JSON TEXT column decoded, or nil.
    static func decodeJSON<T: Decodable>(_ type: T.Type, from text: String) -> T? {
        try? JSONDecoder().decode(T.self, from: Data(text.utf8))
    }
}
