import ConfidantCore
import Foundation
import SQLKit

/// A row of `conversations`.
struct ConversationRecord: Decodable, Sendable {
    let id: String
    let siteId: String
    let departmentId: String?
    let visitorId: String
    let state: String
    let agentId: String?
    let lastSeq: Int64
    let pageUrlSealed: Data?
    let rating: Int?
    let ratingCommentSealed: Data?
    let createdAt: Int64
    let queuedAt: Int64
    let assignedAt: Int64?
    let closedAt: Int64?
    let updatedAt: Int64
    let language: String?
    let consentAt: Int64?
    let consentPolicyUrl: String?

    var conversationID: ConversationID { ConversationID(trusted: id) }
    var visitorID: VisitorID { VisitorID(trusted: visitorId) }
    var siteID: SiteID { SiteID(trusted: siteId) }
    var departmentID: DepartmentID? { departmentId.map(DepartmentID.init(trusted:)) }
    var agentID: AgentID? { agentId.map(AgentID.init(trusted:)) }
    var conversationState: ConversationState { ConversationState(rawValue: state) ?? .closed }
}

/// Filters for conversation lists (REST `GET /v1/conversations`).
struct ConversationFilter: Sendable {
    var states: [ConversationState] = []
    var site: SiteID?
    var department: DepartmentID?
    var agent: AgentID?
    var createdFrom: Int64?
    var createdTo: Int64?
    /// Only conversations created before this time (keyset pagination, newest first).
    var before: Int64?
    var limit = 50
    /// For callers without `allDepartments`: what they may see (see ``AccessPolicy/canAccess``).
    var scope: (agent: AgentID, departments: [DepartmentID])?
    /// For agents whose access to closed conversations expires: closed before this, left out.
    var closedAfter: Int64?
}

/// A queued conversation's routing-relevant columns.
struct QueuedConversation: Decodable, Sendable {
    let id: String
    let siteId: String
    let departmentId: String?
    let visitorId: String
    let queuedAt: Int64
}

extension Store {
    func insertConversation(
        id: ConversationID, site: SiteID, department: DepartmentID?, visitor: VisitorID, pageURLSealed: Data?, language: String? = nil,
        consentPolicyURL: String? = nil, at time: Int64
    ) async throws {
        try await run(
            """
            INSERT INTO conversations (id, site_id, department_id, visitor_id, state, last_seq, page_url_sealed, language, consent_at, consent_policy_url,
                                       created_at, queued_at, updated_at)
            VALUES (\(bind: id.rawValue), \(bind: site.rawValue), \(bind: department?.rawValue), \(bind: visitor.rawValue), \(bind: ConversationState.queued.rawValue),
                    0, \(bind: pageURLSealed), \(bind: language), \(bind: consentPolicyURL == nil ? nil : time), \(bind: consentPolicyURL),
                    \(bind: time), \(bind: time), \(bind: time))
            """)
    }

    /// Average seconds that recently assigned conversations of a department waited, counting only
    /// those that did wait (over a second); nil without such history.
    func averageRecentWait(department: DepartmentID?, since: Int64) async throws -> Int? {
        let scope: SQLQueryString = department.map { "department_id = \(bind: $0.rawValue)" } ?? "department_id IS NULL"
        let rows = try await all(
            """
            SELECT assigned_at - queued_at AS waited FROM conversations
            WHERE \(scope) AND assigned_at IS NOT NULL AND assigned_at - queued_at > 1000 AND assigned_at >= \(bind: since)
            ORDER BY assigned_at DESC LIMIT 20
            """, as: WaitRow.self)
        guard !rows.isEmpty else { return nil }
        return max(1, Int(rows.map(\.waited).reduce(0, +) / Int64(rows.count) / 1000))
    }

    private struct WaitRow: Decodable { let waited: Int64 }

    func conversation(id: ConversationID) async throws -> ConversationRecord? {
        try await first("SELECT * FROM conversations WHERE id = \(bind: id.rawValue)", as: ConversationRecord.self)
    }

    /// Every conversation of the visitor, oldest first.
    func conversations(visitor: VisitorID) async throws -> [ConversationRecord] {
        try await all("SELECT * FROM conversations WHERE visitor_id = \(bind: visitor.rawValue) ORDER BY created_at, id", as: ConversationRecord.self)
    }

    /// The visitor's conversations that are not closed.
    func openConversations(visitor: VisitorID) async throws -> [ConversationRecord] {
        try await all(
            "SELECT * FROM conversations WHERE visitor_id = \(bind: visitor.rawValue) AND state <> 'closed' ORDER BY created_at, id",
            as: ConversationRecord.self
        )
    }

    /// Active conversations assigned to `agent`.
    func activeConversations(agent: AgentID) async throws -> [ConversationRecord] {
        try await all(
            "SELECT * FROM conversations WHERE agent_id = \(bind: agent.rawValue) AND state = 'active' ORDER BY assigned_at, id", as: ConversationRecord.self)
    }

    func countActiveConversations(agent: AgentID) async throws -> Int {
        try await scalar("SELECT count(*) AS n FROM conversations WHERE agent_id = \(bind: agent.rawValue) AND state = 'active'", column: "n", as: Int.self)
            ?? 0
    }

    /// Takes the next sequence number of a conversation. On PostgreSQL the row stays locked until
    /// the transaction ends, which orders concurrent writers; SQLite has a single writer anyway.
    func nextSequence(conversation: ConversationID) async throws -> Int64 {
        guard
            let row = try await first(
                """
                UPDATE conversations SET last_seq = last_seq + 1, updated_at = \(bind: nowMillis()) WHERE id = \(bind: conversation.rawValue) RETURNING last_seq
                """, as: SeqRow.self)
        else { throw ConfidantError.conversationNotFound }
        return row.lastSeq
    }

    func assign(conversation: ConversationID, to agent: AgentID, at time: Int64) async throws {
        try await run(
            """
            UPDATE conversations SET state = 'active', agent_id = \(bind: agent.rawValue), assigned_at = \(bind: time), updated_at = \(bind: time)
            WHERE id = \(bind: conversation.rawValue)
            """)
        try await markAssigned(agent: agent, at: time)
    }

    /// Puts a conversation (back) in the queue of `department`.
    func requeue(conversation: ConversationID, department: DepartmentID?, at time: Int64) async throws {
        try await run(
            """
            UPDATE conversations SET state = 'queued', agent_id = NULL, department_id = \(bind: department?.rawValue), queued_at = \(bind: time), updated_at = \(bind: time)
            WHERE id = \(bind: conversation.rawValue)
            """)
    }

    func close(conversation: ConversationID, at time: Int64) async throws {
        try await run(
            "UPDATE conversations SET state = 'closed', closed_at = \(bind: time), updated_at = \(bind: time) WHERE id = \(bind: conversation.rawValue)")
    }

    func rate(conversation: ConversationID, score: Int, commentSealed: Data?) async throws {
        try await run(
            """
            UPDATE conversations SET rating = \(bind: score), rating_comment_sealed = \(bind: commentSealed), updated_at = \(bind: nowMillis())
            WHERE id = \(bind: conversation.rawValue)
            """)
    }

    /// Every queued conversation, oldest first.
    func queuedConversations() async throws -> [QueuedConversation] {
        try await all(
            "SELECT id, site_id, department_id, visitor_id, queued_at FROM conversations WHERE state = 'queued' ORDER BY queued_at, id",
            as: QueuedConversation.self)
    }

    /// Queued conversations of one department (nil: the general queue), oldest first.
    func queuedConversations(department: DepartmentID?) async throws -> [QueuedConversation] {
        if let department {
            return try await all(
                """
                SELECT id, site_id, department_id, visitor_id, queued_at FROM conversations
                WHERE state = 'queued' AND department_id = \(bind: department.rawValue) ORDER BY queued_at, id
                """, as: QueuedConversation.self)
        }
        return try await all(
            """
            SELECT id, site_id, department_id, visitor_id, queued_at FROM conversations
            WHERE state = 'queued' AND department_id IS NULL ORDER BY queued_at, id
            """, as: QueuedConversation.self)
    }

    /// Agents who could take a conversation of `department` now: active accounts whose role may
    /// chat, set to available, with a presence row fresher than `presenceCutoff`, in the
    /// department (any agent for the general queue), with their current load.
    func routingCandidates(department: DepartmentID?, presenceCutoff: Int64) async throws -> [RoutingCandidate] {
        let roles = StaffRole.allCases.filter { AccessPolicy.allows($0, .chat) }.map(\.rawValue)
        let base: SQLQueryString = """
            SELECT a.id AS agent_id, a.max_conversations, a.last_assigned_at,
                (SELECT count(*) FROM conversations c WHERE c.agent_id = a.id AND c.state = 'active') AS active_conversations
            FROM agents a
            WHERE a.active = 1 AND a.availability = 'available' AND a.role IN (\(binds: roles))
              AND EXISTS (SELECT 1 FROM agent_presence p WHERE p.agent_id = a.id AND p.seen_at > \(bind: presenceCutoff))
            """
        let rows: [CandidateRow]
        if let department {
            rows = try await all(
                base + " AND EXISTS (SELECT 1 FROM agent_departments d WHERE d.agent_id = a.id AND d.department_id = \(bind: department.rawValue))",
                as: CandidateRow.self)
        } else {
            rows = try await all(base, as: CandidateRow.self)
        }
        return rows.map {
            RoutingCandidate(
                agentID: AgentID(trusted: $0.agentId), activeConversations: $0.activeConversations, maxConversations: $0.maxConversations,
                lastAssignedAt: $0.lastAssignedAt)
        }
    }

    /// Conversations matching `filter`, newest first.
    func conversations(matching filter: ConversationFilter) async throws -> [ConversationRecord] {
        var query = sql.select().column("*").from("conversations")
        if !filter.states.isEmpty { query = query.where("state", .in, filter.states.map(\.rawValue)) }
        if let site = filter.site { query = query.where("site_id", .equal, site.rawValue) }
        if let department = filter.department { query = query.where("department_id", .equal, department.rawValue) }
        if let agent = filter.agent { query = query.where("agent_id", .equal, agent.rawValue) }
        if let from = filter.createdFrom { query = query.where("created_at", .greaterThanOrEqual, from) }
        if let to = filter.createdTo { query = query.where("created_at", .lessThan, to) }
        if let before = filter.before { query = query.where("created_at", .lessThan, before) }
        if let scope = filter.scope {
            query = query.where { group in
                var group = group.where("agent_id", .equal, scope.agent.rawValue).orWhere("department_id", .is, SQLLiteral.null)
                if !scope.departments.isEmpty { group = group.orWhere("department_id", .in, scope.departments.map(\.rawValue)) }
                return group
            }
        }
        if let closedAfter = filter.closedAfter {
            query = query.where { $0.where("state", .notEqual, "closed").orWhere("closed_at", .greaterThanOrEqual, closedAfter) }
        }
        return try await query.orderBy("created_at", .descending).orderBy("id").limit(filter.limit)
            .all(decoding: ConversationRecord.self, keyDecodingStrategy: .convertFromSnakeCase)
    }

    private struct SeqRow: Decodable { let lastSeq: Int64 }

    private struct CandidateRow: Decodable {
        let agentId: String
        let maxConversations: Int
        let lastAssignedAt: Int64
        let activeConversations: Int
    }
}
