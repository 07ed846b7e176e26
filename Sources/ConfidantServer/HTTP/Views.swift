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
    /// Only visitors with an identity signed by the site's backend may chat.
    let requireVerifiedIdentity: Bool
    /// Whether an identity secret exists (the secret itself is shown only when rotated).
    let hasIdentitySecret: Bool
    /// Until when the secret before the last rotation is still accepted.
    let previousSecretExpiresAt: Int64?
    let createdAt: Int64
    let updatedAt: Int64

    init(_ record: SiteRecord) {
        requireVerifiedIdentity = record.requireVerified != 0
        hasIdentitySecret = record.identitySecretSealed != nil
        previousSecretExpiresAt = record.previousIdentitySecretSealed == nil ? nil : record.previousSecretExpiresAt
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
    /// Whether two-factor authentication is on.
    let twoFactorEnabled: Bool
    /// Whether the next sign-in must choose a new password (after an admin reset).
    let mustChangePassword: Bool
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
        twoFactorEnabled = record.hasTwoFactor
        mustChangePassword = record.mustChangePassword != 0
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

extension OfflineMessageView {
    /// The stored message, opened with its visitor's data key; name and e-mail as `personalData` shows them.
    init(opening record: OfflineMessageRecord, keys: KeyStore, personalData: PersonalDataView) async throws {
        let visitor = VisitorID(trusted: record.visitorId)
        let id = OfflineMessageID(trusted: record.id)
        let key = try await keys.dataKey(for: visitor)
        self.init(
            id: id, siteId: SiteID(trusted: record.siteId), visitorId: visitor, departmentId: record.departmentId.map(DepartmentID.init(trusted:)),
            name: try record.nameSealed.map { personalData.name(try FieldCipher.open($0, with: key, as: .offlineName(id))) },
            email: try record.emailSealed.map { personalData.email(try FieldCipher.open($0, with: key, as: .offlineEmail(id))) },
            body: try FieldCipher.open(record.bodySealed, with: key, as: .offlineBody(id)),
            createdAt: record.createdAt, handledAt: record.handledAt, handledBy: record.handledBy.map(AgentID.init(trusted:))
        )
    }
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
    /// How far the sign-in has come; only `complete` reaches the console.
    let stage: SessionStage
    /// Sent back in `X-CSRF-Token` on every state-changing request of this session.
    let csrfToken: String
    /// What the member may do (the console shows only what they can use).
    let permissions: [Permission]
    var expiresAt: Int64?
    /// Recovery codes left unused (with 2FA on).
    var recoveryCodesLeft: Int?
}

/// A staff session in the member's own list.
struct SessionView: ResponseEncodable {
    let id: String
    let userAgent: String
    let address: String
    let createdAt: Int64
    let lastSeenAt: Int64
    let expiresAt: Int64
    /// The session this request came with.
    let current: Bool
}

/// The answer to `POST /v1/visitor/sessions`.
struct VisitorSessionResponse: ResponseEncodable {
    let token: String
    let visitorId: VisitorID
    let siteId: SiteID
    let expiresAt: Int64
    /// Whether the visitor's identity was signed by the site's backend.
    let verified: Bool
}

/// The answer to `/healthz` and `/readyz`.
struct HealthResponse: ResponseEncodable {
    let status: String
    var database: String?
    var pendingMigrations: Int?
}
