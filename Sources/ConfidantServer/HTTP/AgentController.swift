import ConfidantCore
import Hummingbird

/// Staff accounts: `GET|POST /v1/agents`, `GET|PATCH|DELETE /v1/agents/{id}` (DELETE deactivates:
/// history keeps its author), `DELETE /v1/agents/{id}/sessions` (sign out everywhere) and
/// `DELETE /v1/agents/{id}/2fa` (reset a lost second factor). Needs `manageStaff`, and
/// `manageOwners` to touch owners. The last active owner can be neither demoted nor deactivated,
/// and nobody can deactivate themselves. A password set by an admin must be changed at the next
/// sign-in. Every change is audited.
struct AgentController {
    let database: any Database
    let authenticator: StaffAuthenticator
    let chat: ChatService

    private struct CreateInput: Decodable {
        let email: String
        let displayName: String
        let password: String
        let role: StaffRole?
        let maxConversations: Int?
        let departments: [DepartmentID]?
    }

    private struct UpdateInput: Decodable {
        let displayName: String?
        let role: StaffRole?
        let maxConversations: Int?
        let departments: [DepartmentID]?
        let active: Bool?
        let password: String?
    }

    func addRoutes(to router: RouterGroup<AppRequestContext>) {
        router.get("/agents") { _, context in
            _ = try context.requireStaff(.readDirectory)
            return ListResponse(
                items: try await database.read { store in
                    var views: [AgentView] = []
                    for agent in try await store.agents() { views.append(try await liveView(of: agent, in: store)) }
                    return views
                })
        }
        router.get("/agents/:id") { _, context in
            _ = try context.requireStaff(.readDirectory)
            let id = try context.id("id", as: AgentID.self)
            return try await database.read { store in
                guard let agent = try await store.agent(id: id) else { throw ConfidantError(.notFound, "No such staff account.") }
                return try await liveView(of: agent, in: store)
            }
        }
        router.post("/agents") { request, context -> EditedResponse<AgentView> in
            let actor = try context.requireStaff(.manageStaff)
            let input = try await request.decodeJSON(CreateInput.self, context: context)
            let role = input.role ?? .agent
            if role == .owner { try actor.require(.manageOwners) }
            let email = try TextRules.email(input.email)
            let name = try TextRules.singleLine(input.displayName, field: "displayName")
            let limit = try Self.limit(input.maxConversations ?? 5)
            let hash = try await authenticator.hashNewPassword(input.password, email: email, displayName: name)
            let id = AgentID()
            let view = try await database.transaction { store in
                guard try await store.agent(email: email) == nil else { throw ConfidantError(.conflict, "A staff account with this e-mail exists.") }
                try await store.insertAgent(id: id, email: email, displayName: name, passwordHash: hash, role: role, maxConversations: limit)
                try await Self.setDepartments(input.departments ?? [], of: id, in: store)
                try await store.appendAudit(
                    AuditEvent("agent.created", by: actor, address: context.remoteAddress, target: ("agent", id.rawValue), details: ["role": role.rawValue]))
                return AgentView(try await store.agent(id: id)!, departments: try await store.departments(ofAgent: id))
            }
            return EditedResponse(status: .created, response: view)
        }
        router.patch("/agents/:id") { request, context in
            let actor = try context.requireStaff(.manageStaff)
            let id = try context.id("id", as: AgentID.self)
            return try await update(id, with: try await request.decodeJSON(UpdateInput.self, context: context), by: actor, address: context.remoteAddress)
        }
        router.delete("/agents/:id/sessions") { _, context in
            let actor = try context.requireStaff(.manageStaff)
            let id = try context.id("id", as: AgentID.self)
            try await requireManageable(id, by: actor)
            try await authenticator.endSessions(of: id)
            await authenticator.audit.record(AuditEvent("agent.sessions.revoked", by: actor, address: context.remoteAddress, target: ("agent", id.rawValue)))
            return Response(status: .noContent)
        }
        router.delete("/agents/:id/2fa") { _, context in
            let actor = try context.requireStaff(.manageStaff)
            let id = try context.id("id", as: AgentID.self)
            try await requireManageable(id, by: actor)
            try await authenticator.resetTwoFactor(of: id, by: actor, address: context.remoteAddress)
            return Response(status: .noContent)
        }
        router.delete("/agents/:id") { _, context in
            let actor = try context.requireStaff(.manageStaff)
            let id = try context.id("id", as: AgentID.self)
            _ = try await update(
                id, with: UpdateInput(displayName: nil, role: nil, maxConversations: nil, departments: nil, active: false, password: nil), by: actor,
                address: context.remoteAddress)
            return Response(status: .noContent)
        }
    }

    /// Throws unless `actor` may manage account `id` (owners need `manageOwners`).
    private func requireManageable(_ id: AgentID, by actor: StaffIdentity) async throws {
        guard let target = try await database.read({ try await $0.agent(id: id) }) else { throw ConfidantError(.notFound, "No such staff account.") }
        if target.staffRole == .owner { try actor.require(.manageOwners) }
    }

    private func update(_ id: AgentID, with input: UpdateInput, by actor: StaffIdentity, address: String) async throws -> AgentView {
        if input.role == .owner { try actor.require(.manageOwners) }
        if input.active == false, id == actor.agentID { throw ConfidantError(.invalidRequest, "You cannot deactivate your own account.") }
        let name = try input.displayName.map { (n) throws(ConfidantError) in try TextRules.singleLine(n, field: "displayName") }
        let limit = try input.maxConversations.map { (l) throws(ConfidantError) in try Self.limit(l) }
        let existing = try await database.read { try await $0.agent(id: id) }
        let hash = try await input.password.asyncMap {
            try await authenticator.hashNewPassword($0, email: existing?.email, displayName: name ?? existing?.displayName)
        }
        let (view, wasActive) = try await database.transaction { store -> (AgentView, Bool) in
            guard let current = try await store.agent(id: id) else { throw ConfidantError(.notFound, "No such staff account.") }
            if current.staffRole == .owner { try actor.require(.manageOwners) }
            let role = input.role ?? current.staffRole
            let active = input.active ?? current.isActive
            if current.staffRole == .owner, current.isActive, role != .owner || !active {
                let owners = try await store.agents().filter { $0.staffRole == .owner && $0.isActive }
                guard owners.count > 1 else { throw ConfidantError(.invalidRequest, "The last active owner cannot be demoted or deactivated.") }
            }
            let updated = AgentRecord(
                id: current.id, email: current.email, displayName: name ?? current.displayName, passwordHash: hash ?? current.passwordHash,
                role: role.rawValue, maxConversations: limit ?? current.maxConversations, availability: current.availability,
                active: active ? 1 : 0, lastAssignedAt: current.lastAssignedAt, createdAt: current.createdAt, updatedAt: current.updatedAt,
                mustChangePassword: hash != nil ? 1 : current.mustChangePassword, totpSecretSealed: current.totpSecretSealed,
                totpPendingSealed: current.totpPendingSealed, totpEnabledAt: current.totpEnabledAt, totpLastStep: current.totpLastStep
            )
            try await store.updateAgent(updated)
            if let departments = input.departments { try await Self.setDepartments(departments, of: id, in: store) }
            var details: [String: String] = [:]
            if input.role != nil { details["role"] = role.rawValue }
            if input.departments != nil { details["departments"] = "changed" }
            if input.active != nil { details["active"] = String(active) }
            if hash != nil { details["password"] = "reset" }
            if name != nil { details["displayName"] = "changed" }
            if limit != nil { details["maxConversations"] = String(limit!) }
            try await store.appendAudit(AuditEvent("agent.updated", by: actor, address: address, target: ("agent", id.rawValue), details: details))
            return (AgentView(updated, departments: try await store.departments(ofAgent: id)), current.isActive)
        }
        if (wasActive && !view.active) || hash != nil {
            // Deactivation and a password reset end every session of the account.
            try await authenticator.endSessions(of: id)
        } else if input.role != nil || input.departments != nil {
            // Every request and socket handshake reads the role and departments afresh; open
            // sockets are closed so that they reconnect with the new ones at once.
            await authenticator.refreshSockets(of: id)
        }
        if input.maxConversations != nil { await chat.drainQueue() }
        return view
    }

    /// An account with its departments, whether it is online and its current load.
    private func liveView(of agent: AgentRecord, in store: Store) async throws -> AgentView {
        var view = AgentView(agent, departments: try await store.departments(ofAgent: agent.agentID))
        view.online = try await store.isOnline(agent: agent.agentID, freshAfter: chat.presenceCutoff())
        view.activeConversations = try await store.countActiveConversations(agent: agent.agentID)
        return view
    }

    private static func limit(_ value: Int) throws(ConfidantError) -> Int {
        guard (1...100).contains(value) else { throw ConfidantError(.invalidRequest, "maxConversations must be 1 to 100.") }
        return value
    }

    private static func setDepartments(_ departments: [DepartmentID], of agent: AgentID, in store: Store) async throws {
        for department in departments where try await store.department(id: department) == nil {
            throw ConfidantError(.invalidRequest, "There is no department \(department).")
        }
        try await store.setDepartments(ofAgent: agent, departments)
    }
}

extension Optional {
    /// `map` with an async transform.
    func asyncMap<T>(_ transform: (Wrapped) async throws -> T) async rethrows -> T? {
        guard let value = self else { return nil }
        return try await transform(value)
    }
}
