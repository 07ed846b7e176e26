import ConfidantCore
import Foundation
import SQLKit

// Sites, departments and staff accounts: the organization's directory.

/// A row of `sites`.
struct SiteRecord: Decodable, Sendable {
    let id: String
    let widgetKey: String
    let name: String
    let allowedOrigins: String
    let settings: String
    let createdAt: Int64
    let updatedAt: Int64
    /// The secret the site's backend signs visitor identities with (sealed; see ``SiteSecrets``).
    var identitySecretSealed: Data? = nil
    /// The secret before the last rotation, still accepted until `previousSecretExpiresAt`.
    var previousIdentitySecretSealed: Data? = nil
    var previousSecretExpiresAt: Int64? = nil
    /// 1 when only visitors with a verified identity may chat.
    var requireVerified: Int = 0

    /// The allowed origins, stored as a JSON array.
    var origins: [String] { (try? JSONDecoder().decode([String].self, from: Data(allowedOrigins.utf8))) ?? [] }

    /// The widget settings, stored as JSON (validated when written).
    var siteSettings: SiteSettings { (try? JSONDecoder().decode(SiteSettings.self, from: Data(settings.utf8))) ?? SiteSettings() }
}

/// A row of `departments`.
struct DepartmentRecord: Decodable, Sendable {
    let id: String
    let name: String
    let createdAt: Int64
    let updatedAt: Int64
}

/// A row of `agents` (every staff account).
struct AgentRecord: Decodable, Sendable {
    let id: String
    let email: String
    let displayName: String
    let passwordHash: String
    let role: String
    let maxConversations: Int
    let availability: String
    let active: Int
    let lastAssignedAt: Int64
    let createdAt: Int64
    let updatedAt: Int64
    /// 1 after an admin reset the password: the next sign-in must choose a new one.
    var mustChangePassword: Int = 0
    /// The TOTP secret in use (sealed); 2FA is on once `totpEnabledAt` is set.
    var totpSecretSealed: Data? = nil
    /// A new secret awaiting its first valid code (enrollment in progress); the one in use, if
    /// any, keeps working until then.
    var totpPendingSealed: Data? = nil
    var totpEnabledAt: Int64? = nil
    /// The last TOTP time step accepted: a code of this step or an earlier one is a replay.
    var totpLastStep: Int64 = 0

    var agentID: AgentID { AgentID(trusted: id) }
    var hasTwoFactor: Bool { totpEnabledAt != nil }
    var staffRole: StaffRole { StaffRole(rawValue: role) ?? .agent }
    var isActive: Bool { active != 0 }
    var currentAvailability: Availability { Availability(rawValue: availability) ?? .away }
}

extension Store {
    // MARK: Sites

    func insertSite(id: SiteID, widgetKey: String, name: String, allowedOrigins: [String], settings: SiteSettings = SiteSettings()) async throws {
        let now = nowMillis()
        try await run(
            """
            INSERT INTO sites (id, widget_key, name, allowed_origins, settings, created_at, updated_at)
            VALUES (\(bind: id.rawValue), \(bind: widgetKey), \(bind: name), \(bind: Self.json(allowedOrigins)), \(bind: Self.json(settings)),
                    \(bind: now), \(bind: now))
            """)
    }

    func updateSite(id: SiteID, name: String, allowedOrigins: [String], settings: SiteSettings) async throws -> Bool {
        try await first(
            """
            UPDATE sites SET name = \(bind: name), allowed_origins = \(bind: Self.json(allowedOrigins)), settings = \(bind: Self.json(settings)),
                updated_at = \(bind: nowMillis())
            WHERE id = \(bind: id.rawValue) RETURNING id
            """, as: IDRow.self) != nil
    }

    func deleteSite(id: SiteID) async throws -> Bool {
        try await first("DELETE FROM sites WHERE id = \(bind: id.rawValue) RETURNING id", as: IDRow.self) != nil
    }

    func site(id: SiteID) async throws -> SiteRecord? {
        try await first("SELECT * FROM sites WHERE id = \(bind: id.rawValue)", as: SiteRecord.self)
    }

    func site(widgetKey: String) async throws -> SiteRecord? {
        try await first("SELECT * FROM sites WHERE widget_key = \(bind: widgetKey)", as: SiteRecord.self)
    }

    func sites() async throws -> [SiteRecord] {
        try await all("SELECT * FROM sites ORDER BY name, id", as: SiteRecord.self)
    }

    // MARK: Departments

    func insertDepartment(id: DepartmentID, name: String) async throws {
        let now = nowMillis()
        try await run("INSERT INTO departments (id, name, created_at, updated_at) VALUES (\(bind: id.rawValue), \(bind: name), \(bind: now), \(bind: now))")
    }

    func renameDepartment(id: DepartmentID, name: String) async throws -> Bool {
        try await first(
            "UPDATE departments SET name = \(bind: name), updated_at = \(bind: nowMillis()) WHERE id = \(bind: id.rawValue) RETURNING id", as: IDRow.self)
            != nil
    }

    func deleteDepartment(id: DepartmentID) async throws -> Bool {
        try await first("DELETE FROM departments WHERE id = \(bind: id.rawValue) RETURNING id", as: IDRow.self) != nil
    }

    func department(id: DepartmentID) async throws -> DepartmentRecord? {
        try await first("SELECT * FROM departments WHERE id = \(bind: id.rawValue)", as: DepartmentRecord.self)
    }

    func departments() async throws -> [DepartmentRecord] {
        try await all("SELECT * FROM departments ORDER BY name, id", as: DepartmentRecord.self)
    }

    // MARK: Agents

    func insertAgent(id: AgentID, email: String, displayName: String, passwordHash: String, role: StaffRole, maxConversations: Int) async throws {
        let now = nowMillis()
        try await run(
            """
            INSERT INTO agents (id, email, display_name, password_hash, role, max_conversations, availability, active, last_assigned_at, created_at, updated_at)
            VALUES (\(bind: id.rawValue), \(bind: email), \(bind: displayName), \(bind: passwordHash), \(bind: role.rawValue), \(bind: maxConversations),
                    \(bind: Availability.away.rawValue), 1, 0, \(bind: now), \(bind: now))
            """)
    }

    func updateAgent(_ agent: AgentRecord) async throws {
        try await run(
            """
            UPDATE agents SET email = \(bind: agent.email), display_name = \(bind: agent.displayName), password_hash = \(bind: agent.passwordHash),
                role = \(bind: agent.role), max_conversations = \(bind: agent.maxConversations), active = \(bind: agent.active),
                must_change_password = \(bind: agent.mustChangePassword), updated_at = \(bind: nowMillis())
            WHERE id = \(bind: agent.id)
            """)
    }

    func agent(id: AgentID) async throws -> AgentRecord? {
        try await first("SELECT * FROM agents WHERE id = \(bind: id.rawValue)", as: AgentRecord.self)
    }

    func agent(email: String) async throws -> AgentRecord? {
        try await first("SELECT * FROM agents WHERE email = \(bind: email)", as: AgentRecord.self)
    }

    func agents() async throws -> [AgentRecord] {
        try await all("SELECT * FROM agents ORDER BY display_name, id", as: AgentRecord.self)
    }

    func countAgents() async throws -> Int {
        try await scalar("SELECT count(*) AS n FROM agents", column: "n", as: Int.self) ?? 0
    }

    func setAvailability(agent: AgentID, _ availability: Availability) async throws {
        try await run("UPDATE agents SET availability = \(bind: availability.rawValue), updated_at = \(bind: nowMillis()) WHERE id = \(bind: agent.rawValue)")
    }

    func markAssigned(agent: AgentID, at time: Int64) async throws {
        try await run("UPDATE agents SET last_assigned_at = \(bind: time) WHERE id = \(bind: agent.rawValue)")
    }

    func departments(ofAgent agent: AgentID) async throws -> [DepartmentID] {
        try await all("SELECT department_id AS id FROM agent_departments WHERE agent_id = \(bind: agent.rawValue) ORDER BY department_id", as: IDRow.self)
            .map { DepartmentID(trusted: $0.id) }
    }

    func setDepartments(ofAgent agent: AgentID, _ departments: [DepartmentID]) async throws {
        try await run("DELETE FROM agent_departments WHERE agent_id = \(bind: agent.rawValue)")
        for department in Set(departments) {
            try await run("INSERT INTO agent_departments (agent_id, department_id) VALUES (\(bind: agent.rawValue), \(bind: department.rawValue))")
        }
    }

    /// A value as JSON text for a TEXT column.
    static func json(_ value: some Encodable) -> String {
        String(decoding: (try? JSONEncoder().encode(value)) ?? Data("null".utf8), as: UTF8.self)
    }
}

/// A single `id` column.
struct IDRow: Decodable, Sendable {
    let id: String
}
