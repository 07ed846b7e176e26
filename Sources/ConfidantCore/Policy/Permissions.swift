/// A staff role. Issue #5 adds supervisor and auditor; the matrix below is the one place that
/// says what each role may do.
public enum StaffRole: String, Sendable, Codable, CaseIterable {
    case owner
    case admin
    case agent
}

/// Something a staff member may be allowed to do. Every HTTP route and WebSocket frame that acts
/// on behalf of staff names one of these and asks ``AccessPolicy``; anything not granted is denied.
public enum Permission: String, Sendable, CaseIterable {
    /// Take conversations, reply, add notes, transfer and close.
    case chat
    /// See and act on conversations of every department, not just one's own.
    case allDepartments
    /// Read the staff directory, departments and sites (needed to transfer).
    case readDirectory
    /// Use canned responses.
    case readCannedResponses
    /// Create, change and delete canned responses.
    case manageCannedResponses
    /// Create, change and delete sites.
    case manageSites
    /// Create, change and delete departments.
    case manageDepartments
    /// Create, change and deactivate admin and agent accounts.
    case manageStaff
    /// Create, change and deactivate owner accounts, or promote to owner.
    case manageOwners
    /// Read and resolve offline messages.
    case handleOfflineMessages
}

/// The role × permission matrix. Deny by default: a pair not listed here is refused.
public enum AccessPolicy {
    static let grants: [StaffRole: Set<Permission>] = [
        .owner: Set(Permission.allCases),
        .admin: Set(Permission.allCases).subtracting([.manageOwners]),
        .agent: [.chat, .readDirectory, .readCannedResponses, .handleOfflineMessages],
    ]

    /// Whether `role` holds `permission`.
    public static func allows(_ role: StaffRole, _ permission: Permission) -> Bool {
        grants[role]?.contains(permission) ?? false
    }

    /// Whether a staff member may see or act on a conversation (object-level check, no IDOR):
    /// their own conversations, and otherwise only those of their departments or of no department.
    public static func canAccess(
        role: StaffRole,
        agentID: AgentID,
        departments: Set<DepartmentID>,
        conversationDepartment: DepartmentID?,
        conversationAgent: AgentID?
    ) -> Bool {
        if allows(role, .allDepartments) { return true }
        guard allows(role, .chat) else { return false }
        if conversationAgent == agentID { return true }
        guard let department = conversationDepartment else { return true }
        return departments.contains(department)
    }
}
