import ConfidantCore

/// A visitor proven by a visitor token.
struct VisitorIdentity: Sendable, Equatable {
    let visitorID: VisitorID
    let siteID: SiteID
}

/// A signed-in staff member, as loaded when their session was checked.
struct StaffIdentity: Sendable, Equatable {
    let agentID: AgentID
    let displayName: String
    let role: StaffRole
    let departments: Set<DepartmentID>
    /// The session this identity came from (its token hash), for revocation.
    let sessionHash: String

    /// Throws `forbidden` unless the role holds `permission` (see ``AccessPolicy``).
    func require(_ permission: Permission) throws(ConfidantError) {
        guard AccessPolicy.allows(role, permission) else { throw ConfidantError.forbidden }
    }

    /// Whether this staff member may see a conversation (object-level check).
    func canAccess(department: DepartmentID?, agent: AgentID?) -> Bool {
        AccessPolicy.canAccess(role: role, agentID: agentID, departments: departments, conversationDepartment: department, conversationAgent: agent)
    }

    var author: Author { Author(kind: .agent, id: agentID.rawValue, name: displayName) }
}

/// Whoever sends a WebSocket frame or calls a chat operation.
enum Principal: Sendable {
    case visitor(VisitorIdentity)
    case staff(StaffIdentity)

    var authorKind: AuthorKind {
        switch self {
        case .visitor: .visitor
        case .staff: .agent
        }
    }

    var authorID: String {
        switch self {
        case .visitor(let v): v.visitorID.rawValue
        case .staff(let s): s.agentID.rawValue
        }
    }

    var author: Author {
        switch self {
        case .visitor(let v): Author(kind: .visitor, id: v.visitorID.rawValue)
        case .staff(let s): s.author
        }
    }
}
