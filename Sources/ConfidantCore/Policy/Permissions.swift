/// A staff role. The matrix in ``AccessPolicy`` is the one place that says what each may do.
public enum StaffRole: String, Sendable, Codable, CaseIterable {
    /// Everything, including other owners.
    case owner
    /// Everything except owner accounts.
    case admin
    /// Chats, and watches their departments' conversations live (silently); reads reports.
    case supervisor
    /// Chats in their departments.
    case agent
    /// Reads the audit log and reports; never chats or changes anything.
    case auditor
}

/// Something a staff member may be allowed to do. Every HTTP route and WebSocket frame that acts
/// on behalf of staff names one of these and asks ``AccessPolicy``; anything not granted is denied.
public enum Permission: String, Sendable, Codable, CaseIterable {
    /// Take conversations, reply, add notes, transfer and close.
    case chat
    /// See and act on conversations of every department, not just one's own.
    case allDepartments
    /// Watch a conversation of one's departments live without the visitor knowing.
    case monitor
    /// Read the staff directory, departments and sites (needed to transfer).
    case readDirectory
    /// Use canned responses.
    case readCannedResponses
    /// Create, change and delete canned responses.
    case manageCannedResponses
    /// Create, change and delete sites, and rotate their identity secrets.
    case manageSites
    /// Create, change and delete departments.
    case manageDepartments
    /// Create, change and deactivate admin and agent accounts; end their sessions; reset their 2FA.
    case manageStaff
    /// Create, change and deactivate owner accounts, or promote to owner.
    case manageOwners
    /// Change the security policy: required 2FA, staff network allowlists.
    case manageSecurity
    /// Read and resolve offline messages.
    case handleOfflineMessages
    /// Read the audit log.
    case readAudit
    /// Read reports (conversation counts, waits, ratings).
    case readReports
    /// Create and revoke one's own API tokens.
    case manageAPITokens
    /// See visitors' names and e-mail addresses unmasked (without it: initials only, see
    /// ``PersonalDataView``). The security policy can withdraw it from supervisors and agents.
    case seePersonalData
    /// Export everything held about a visitor, and erase it for good (GDPR).
    case managePersonalData
}

/// The role × permission matrix. Deny by default: a pair not listed here is refused.
public enum AccessPolicy {
    /// What each role holds. docs/security.md prints this matrix; a test keeps the two equal.
    public static let grants: [StaffRole: Set<Permission>] = [
        .owner: Set(Permission.allCases),
        .admin: Set(Permission.allCases).subtracting([.manageOwners]),
        .supervisor: [.chat, .monitor, .readDirectory, .readCannedResponses, .handleOfflineMessages, .readReports, .seePersonalData],
        .agent: [.chat, .readDirectory, .readCannedResponses, .handleOfflineMessages, .seePersonalData],
        .auditor: [.readAudit, .readReports],
    ]

    /// Everything `role` holds.
    public static func permissions(of role: StaffRole) -> Set<Permission> {
        grants[role] ?? []
    }

    /// Whether `role` holds `permission`.
    public static func allows(_ role: StaffRole, _ permission: Permission) -> Bool {
        grants[role]?.contains(permission) ?? false
    }

    /// Whether a staff member may see or act on a conversation (object-level check, no IDOR):
    /// their own conversations, and otherwise only those of their departments or of no department.
    /// `permissions` are the staff member's effective ones (their role's, narrowed by an API
    /// token's scopes).
    public static func canAccess(
        permissions: Set<Permission>,
        agentID: AgentID,
        departments: Set<DepartmentID>,
        conversationDepartment: DepartmentID?,
        conversationAgent: AgentID?
    ) -> Bool {
        guard permissions.contains(.chat) else { return false }
        if permissions.contains(.allDepartments) { return true }
        if conversationAgent == agentID { return true }
        guard let department = conversationDepartment else { return true }
        return departments.contains(department)
    }
}
