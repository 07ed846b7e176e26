import ConfidantCore
import SQLKit

// Staff sessions and agent presence.

/// A row of `sessions`. Only a SHA-256 hash of the token is stored, so a leaked database does
/// not yield usable sessions.
struct SessionRecord: Decodable, Sendable {
    /// The public id (shown in session lists; never the token or its hash).
    let id: String
    let tokenHash: String
    let agentId: String
    let createdAt: Int64
    let lastSeenAt: Int64
    let expiresAt: Int64
    let userAgent: String
    let address: String
    let stage: String
    let csrfToken: String

    var sessionStage: SessionStage { SessionStage(rawValue: stage) ?? .secondFactor }
}

extension Store {
    func insertSession(
        id: String, tokenHash: String, agent: AgentID, stage: SessionStage, csrfToken: String, expiresAt: Int64, userAgent: String, address: String
    ) async throws {
        let now = nowMillis()
        try await run(
            """
            INSERT INTO sessions (id, token_hash, agent_id, stage, csrf_token, created_at, last_seen_at, expires_at, user_agent, address)
            VALUES (\(bind: id), \(bind: tokenHash), \(bind: agent.rawValue), \(bind: stage.rawValue), \(bind: csrfToken), \(bind: now), \(bind: now),
                    \(bind: expiresAt), \(bind: userAgent), \(bind: address))
            """)
    }

    /// The sessions of `agent`, newest first.
    func sessions(ofAgent agent: AgentID) async throws -> [SessionRecord] {
        try await all("SELECT * FROM sessions WHERE agent_id = \(bind: agent.rawValue) ORDER BY last_seen_at DESC", as: SessionRecord.self)
    }

    /// Deletes one session of `agent` by its public id; returns its token hash.
    func deleteSession(id: String, ofAgent agent: AgentID) async throws -> String? {
        try await first(
            "DELETE FROM sessions WHERE id = \(bind: id) AND agent_id = \(bind: agent.rawValue) RETURNING token_hash AS id", as: IDRow.self)?.id
    }

    /// Deletes every session of `agent` but `kept`; returns their token hashes.
    func deleteSessions(ofAgent agent: AgentID, except kept: String) async throws -> [String] {
        try await all(
            "DELETE FROM sessions WHERE agent_id = \(bind: agent.rawValue) AND token_hash <> \(bind: kept) RETURNING token_hash AS id", as: IDRow.self
        ).map(\.id)
    }

    /// Deletes sessions that have expired by `now` or been idle since `idleCutoff`.
    func deleteStaleSessions(now: Int64, idleCutoff: Int64) async throws -> [String] {
        try await all(
            "DELETE FROM sessions WHERE expires_at <= \(bind: now) OR last_seen_at <= \(bind: idleCutoff) RETURNING token_hash AS id", as: IDRow.self
        ).map(\.id)
    }

    func session(tokenHash: String) async throws -> SessionRecord? {
        try await first("SELECT * FROM sessions WHERE token_hash = \(bind: tokenHash)", as: SessionRecord.self)
    }

    func touchSession(tokenHash: String, at time: Int64) async throws {
        try await run("UPDATE sessions SET last_seen_at = \(bind: time) WHERE token_hash = \(bind: tokenHash)")
    }

    func deleteSession(tokenHash: String) async throws {
        try await run("DELETE FROM sessions WHERE token_hash = \(bind: tokenHash)")
    }

    /// Deletes every session of `agent`; returns their token hashes (to close their sockets).
    func deleteSessions(ofAgent agent: AgentID) async throws -> [String] {
        try await all("DELETE FROM sessions WHERE agent_id = \(bind: agent.rawValue) RETURNING token_hash AS id", as: IDRow.self).map(\.id)
    }

    // MARK: Presence

    /// Records that `agent` has `connections` open sockets on `node`.
    func upsertPresence(agent: AgentID, node: String, connections: Int, at time: Int64) async throws {
        try await run(
            """
            INSERT INTO agent_presence (agent_id, node_id, connections, seen_at) VALUES (\(bind: agent.rawValue), \(bind: node), \(bind: connections), \(bind: time))
            ON CONFLICT (agent_id, node_id) DO UPDATE SET connections = excluded.connections, seen_at = excluded.seen_at
            """)
    }

    func deletePresence(agent: AgentID, node: String) async throws {
        try await run("DELETE FROM agent_presence WHERE agent_id = \(bind: agent.rawValue) AND node_id = \(bind: node)")
    }

    func deletePresence(node: String) async throws {
        try await run("DELETE FROM agent_presence WHERE node_id = \(bind: node)")
    }

    /// Whether `agent` has a fresh presence row on any node.
    func isOnline(agent: AgentID, freshAfter cutoff: Int64) async throws -> Bool {
        try await scalar(
            "SELECT count(*) AS n FROM agent_presence WHERE agent_id = \(bind: agent.rawValue) AND seen_at > \(bind: cutoff)", column: "n", as: Int.self
        ) ?? 0 > 0
    }
}
