import ConfidantCore
import Hummingbird

// JSON shapes of the REST API (docs/protocol.md, "REST API").

/// A site as the API shows it.
struct SiteView: ResponseEncodable {
    let id: SiteID
    let name: String
    let widgetKey: String
    let allowedOrigins: [String]
    let settings: SiteSettings
    let createdAt: Int64
    let updatedAt: Int64

    init(_ record: SiteRecord) {
        id = SiteID(trusted: record.id)
        name = record.name
        widgetKey = record.widgetKey
        allowedOrigins = record.origins
        settings = record.siteSettings
        createdAt = record.createdAt
        updatedAt = record.updatedAt
    }
}

/// A department as the API shows it.
struct DepartmentView: ResponseEncodable {
    let id: DepartmentID
    let name: String
    let createdAt: Int64

    init(_ record: DepartmentRecord) {
        id = DepartmentID(trusted: record.id)
        name = record.name
        createdAt = record.createdAt
    }
}

/// A staff account as the API shows it (never the password hash).
struct AgentView: ResponseEncodable {
    let id: AgentID
    let email: String
    let displayName: String
    let role: StaffRole
    let departments: [DepartmentID]
    let maxConversations: Int
    let availability: Availability
    let active: Bool
    let createdAt: Int64
    /// In staff lists: whether a socket of theirs is connected (on any node).
    var online: Bool?
    /// In staff lists: their active conversations now.
    var activeConversations: Int?

    init(_ record: AgentRecord, departments: [DepartmentID]) {
        id = record.agentID
        email = record.email
        displayName = record.displayName
        role = record.staffRole
        self.departments = departments
        maxConversations = record.maxConversations
        availability = record.currentAvailability
        active = record.isActive
        createdAt = record.createdAt
    }
}

/// A canned response as the API shows it.
struct CannedResponseView: ResponseEncodable {
    let id: CannedResponseID
    let departmentId: DepartmentID?
    let shortcut: String
    let body: String
    let updatedAt: Int64

    init(_ record: CannedResponseRecord) {
        id = CannedResponseID(trusted: record.id)
        departmentId = record.scope.isEmpty ? nil : DepartmentID(trusted: record.scope)
        shortcut = record.shortcut
        body = record.body
        updatedAt = record.updatedAt
    }
}

/// A message left while nobody was online, decrypted for staff.
struct OfflineMessageView: ResponseEncodable {
    let id: OfflineMessageID
    let siteId: SiteID
    let visitorId: VisitorID
    let departmentId: DepartmentID?
    let name: String?
    let email: String?
    let body: String
    let createdAt: Int64
    let handledAt: Int64?
    let handledBy: AgentID?
}

/// `{"items": [...]}` for every list.
struct ListResponse<Item: Encodable & Sendable>: ResponseEncodable {
    let items: [Item]
    /// For keyset-paginated lists: pass as `before` to get the next page.
    var nextBefore: Int64?
}

/// A conversation with its whole timeline, each entry shaped exactly like its WebSocket frame.
struct TranscriptResponse: ResponseEncodable {
    let conversation: ConversationSummary
    let entries: [ServerEnvelope]
}

/// A single conversation.
struct ConversationResponse: ResponseEncodable {
    let conversation: ConversationSummary
}

/// The answer to sign-in and `GET /v1/auth/me`.
struct SessionResponse: ResponseEncodable {
    let agent: AgentView
    let expiresAt: Int64?
}

/// The answer to `POST /v1/visitor/sessions`.
struct VisitorSessionResponse: ResponseEncodable {
    let token: String
    let visitorId: VisitorID
    let siteId: SiteID
    let expiresAt: Int64
}

/// The answer to `/healthz` and `/readyz`.
struct HealthResponse: ResponseEncodable {
    let status: String
    var database: String?
    var pendingMigrations: Int?
}
