import ConfidantCore

/// A visitor proven by a visitor token.
struct VisitorIdentity: Sendable, Equatable {
    let visitorID: VisitorID
    let siteID: SiteID
    /// Whether the site's backend signed who this visitor is (known once `hello` read the visitor).
    var verified = false
}

/// A signed-in staff member, as loaded when their session (or API token) was checked.
struct StaffIdentity: Sendable, Equatable {
    let agentID: AgentID
    let displayName: String
    let role: StaffRole
    let departments: Set<DepartmentID>
    /// What this identity may do: the role's permissions, narrowed by an API token's scopes.
    let permissions: Set<Permission>
    /// How this identity was proven.
    let credential: Credential

    /// A browser session or an integration's API token.
    enum Credential: Sendable, Equatable {
        /// A session cookie: the session's token hash (for revocation and socket topics), its
        /// public id, its stage and its CSRF token.
        case session(hash: String, id: String, stage: SessionStage, csrfToken: String)
        /// An API token (by id); it carries no cookie, so it needs no CSRF token.
        case apiToken(id: String)
    }

    /// The session's token hash, or nil for an API token.
    var sessionHash: String? {
        if case .session(let hash, _, _, _) = credential { return hash }
        return nil
    }

    /// The session's stage; API tokens are always complete.
    var stage: SessionStage {
        if case .session(_, _, let stage, _) = credential { return stage }
        return .complete
    }

    /// How this identity sees visitors' personal fields.
    var personalData: PersonalDataView { allows(.seePersonalData) ? .shown : .masked }

    /// Whether this identity holds `permission`.
    func allows(_ permission: Permission) -> Bool { permissions.contains(permission) }

    /// Throws `forbidden` unless this identity holds `permission` (see ``AccessPolicy``).
    func require(_ permission: Permission) throws(ConfidantError) {
        guard allows(permission) else { throw ConfidantError.forbidden }
    }

    /// Whether this staff member may see a conversation (object-level check).
    func canAccess(department: DepartmentID?, agent: AgentID?) -> Bool {
        AccessPolicy.canAccess(
            permissions: permissions, agentID: agentID, departments: departments, conversationDepartment: department, conversationAgent: agent)
    }

    var author: Author { Author(kind: .agent, id: agentID.rawValue, name: displayName) }
}

/// How far a sign-in has come. Only a complete session reaches the console, the API and the
/// WebSockets; the others reach only the few routes that move them forward (see
/// ``SessionStage/allowedPaths``).
enum SessionStage: String, Sendable, Codable {
    /// Signed in with every factor required.
    case complete
    /// The password was right; a TOTP or recovery code must follow.
    case secondFactor = "second_factor"
    /// The policy requires 2FA and this account has none yet: enroll first.
    case enrollTwoFactor = "enroll_two_factor"
    /// An admin reset the password: choose a new one first.
    case changePassword = "change_password"

    /// The API paths a session in this stage may use (every stage may read itself and sign out).
    var allowedPaths: Set<String> {
        let always: Set<String> = ["/v1/auth/me", "/v1/auth/logout"]
        switch self {
        case .complete: return []
        case .secondFactor: return always.union(["/v1/auth/2fa/verify"])
        case .enrollTwoFactor: return always.union(["/v1/auth/2fa/enroll", "/v1/auth/2fa/confirm"])
        case .changePassword: return always.union(["/v1/auth/password"])
        }
    }
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
