import ConfidantCore
import Foundation
import SQLKit

// Messages, conversation events and read markers: everything that has a place in a conversation.

/// A row of `messages`. The body is sealed with the visitor's data key.
struct MessageRecord: Decodable, Sendable {
    let id: String
    let conversationId: String
    let seq: Int64
    let clientId: String
    let authorKind: String
    let authorId: String
    let visibility: String
    let bodySealed: Data
    let createdAt: Int64
    /// JSON of the ``RedactionMark``s of the body, if anything was masked.
    let redactions: String?
}

/// A row of `conversation_events`. Holds ids and scores only; no personal text.
struct EventRecord: Decodable, Sendable {
    let id: String
    let conversationId: String
    let seq: Int64
    let kind: String
    let actorKind: String
    let actorId: String?
    let agentId: String?
    let fromAgentId: String?
    let departmentId: String?
    let score: Int?
    let createdAt: Int64
}

/// A row of `read_markers`.
struct ReadMarkerRecord: Decodable, Sendable {
    let conversationId: String
    let readerKind: String
    let readerId: String
    let seq: Int64
}

extension Store {
    func insertMessage(
        id: MessageID, conversation: ConversationID, seq: Int64, clientId: String, authorKind: AuthorKind, authorId: String,
        visibility: Visibility, bodySealed: Data, redactions: [RedactionMark] = [], at time: Int64
    ) async throws {
        let marks = redactions.isEmpty ? nil : String(decoding: try JSONEncoder().encode(redactions), as: UTF8.self)
        try await run(
            """
            INSERT INTO messages (id, conversation_id, seq, client_id, author_kind, author_id, visibility, body_sealed, created_at, redactions)
            VALUES (\(bind: id.rawValue), \(bind: conversation.rawValue), \(bind: seq), \(bind: clientId), \(bind: authorKind.rawValue), \(bind: authorId),
                    \(bind: visibility.rawValue), \(bind: bodySealed), \(bind: time), \(bind: marks))
            """)
    }

    /// Grants one reply in `conversation` past the secret request guard until `expiresAt`.
    func grantGuardException(conversation: ConversationID, by agent: AgentID, expiresAt: Int64) async throws {
        try await run("DELETE FROM guard_exceptions WHERE conversation_id = \(bind: conversation.rawValue)")
        try await run(
            """
            INSERT INTO guard_exceptions (conversation_id, granted_by, expires_at)
            VALUES (\(bind: conversation.rawValue), \(bind: agent.rawValue), \(bind: expiresAt))
            """)
    }

    /// Uses up the conversation's exception if one is still valid; returns whether there was one.
    func consumeGuardException(conversation: ConversationID, now: Int64) async throws -> Bool {
        let valid = try await scalar(
            "SELECT granted_by FROM guard_exceptions WHERE conversation_id = \(bind: conversation.rawValue) AND expires_at > \(bind: now)",
            column: "granted_by", as: String.self)
        try await run("DELETE FROM guard_exceptions WHERE conversation_id = \(bind: conversation.rawValue)")
        return valid != nil
    }

    /// The message an author already sent with `clientId`, if any (idempotent resend).
    func message(conversation: ConversationID, authorKind: AuthorKind, authorId: String, clientId: String) async throws -> MessageRecord? {
        try await first(
            """
            SELECT * FROM messages WHERE conversation_id = \(bind: conversation.rawValue) AND author_kind = \(bind: authorKind.rawValue)
              AND author_id = \(bind: authorId) AND client_id = \(bind: clientId)
            """, as: MessageRecord.self)
    }

    func insertEvent(
        id: EventID, conversation: ConversationID, seq: Int64, kind: ConversationEventKind, actorKind: AuthorKind, actorId: String?,
        agent: AgentID? = nil, fromAgent: AgentID? = nil, department: DepartmentID? = nil, score: Int? = nil, at time: Int64
    ) async throws {
        try await run(
            """
            INSERT INTO conversation_events (id, conversation_id, seq, kind, actor_kind, actor_id, agent_id, from_agent_id, department_id, score, created_at)
            VALUES (\(bind: id.rawValue), \(bind: conversation.rawValue), \(bind: seq), \(bind: kind.rawValue), \(bind: actorKind.rawValue), \(bind: actorId),
                    \(bind: agent?.rawValue), \(bind: fromAgent?.rawValue), \(bind: department?.rawValue), \(bind: score), \(bind: time))
            """)
    }

    /// Messages after `seq`, in order; visitors get public ones only.
    func messages(conversation: ConversationID, after seq: Int64, includeInternal: Bool, limit: Int) async throws -> [MessageRecord] {
        if includeInternal {
            return try await all(
                """
                SELECT * FROM messages WHERE conversation_id = \(bind: conversation.rawValue) AND seq > \(bind: seq) ORDER BY seq LIMIT \(bind: limit)
                """, as: MessageRecord.self)
        }
        return try await all(
            """
            SELECT * FROM messages WHERE conversation_id = \(bind: conversation.rawValue) AND seq > \(bind: seq) AND visibility = 'public'
            ORDER BY seq LIMIT \(bind: limit)
            """, as: MessageRecord.self)
    }

    func events(conversation: ConversationID, after seq: Int64, limit: Int) async throws -> [EventRecord] {
        try await all(
            """
            SELECT * FROM conversation_events WHERE conversation_id = \(bind: conversation.rawValue) AND seq > \(bind: seq) ORDER BY seq LIMIT \(bind: limit)
            """, as: EventRecord.self)
    }

    /// Raises a reader's marker to `seq` (never lowers it).
    func markRead(conversation: ConversationID, readerKind: AuthorKind, readerId: String, seq: Int64) async throws {
        try await run(
            """
            INSERT INTO read_markers (conversation_id, reader_kind, reader_id, seq, updated_at)
            VALUES (\(bind: conversation.rawValue), \(bind: readerKind.rawValue), \(bind: readerId), \(bind: seq), \(bind: nowMillis()))
            ON CONFLICT (conversation_id, reader_kind, reader_id) DO UPDATE
            SET seq = CASE WHEN excluded.seq > read_markers.seq THEN excluded.seq ELSE read_markers.seq END, updated_at = excluded.updated_at
            """)
    }

    func readMarkers(conversation: ConversationID) async throws -> [ReadMarkerRecord] {
        try await all(
            "SELECT conversation_id, reader_kind, reader_id, seq FROM read_markers WHERE conversation_id = \(bind: conversation.rawValue)",
            as: ReadMarkerRecord.self)
    }

    /// Display names of the given agents.
    func agentNames(_ ids: Set<String>) async throws -> [String: String] {
        guard !ids.isEmpty else { return [:] }
        let rows = try await all("SELECT id, display_name FROM agents WHERE id IN (\(binds: Array(ids)))", as: NameRow.self)
        return Dictionary(uniqueKeysWithValues: rows.map { ($0.id, $0.displayName) })
    }

    private struct NameRow: Decodable {
        let id: String
        let displayName: String
    }
}
