import ConfidantCore
import Foundation
import Hummingbird

/// The security policy: `GET|PUT /v1/security/policy` (`manageSecurity`). Saving a policy whose
/// networks would exclude the admin's own current address is refused with `self_lockout` unless
/// the request says `confirmSelfLockout: true`; the operator's way back in is
/// `confidant access reset-ip-allowlist`. When the policy starts requiring 2FA of a role, that
/// role's members without 2FA have their sockets closed and must enroll before anything else.
struct SecurityPolicyController {
    let authenticator: StaffAuthenticator

    private struct PolicyInput: Decodable {
        let policy: SecurityPolicy
        let confirmSelfLockout: Bool?
    }

    private struct PolicyView: ResponseEncodable {
        let policy: SecurityPolicy
        /// The address this request came from, as Confidant sees it (after trusted proxies).
        let yourAddress: String
    }

    func addRoutes(to router: RouterGroup<AppRequestContext>) {
        router.get("/security/policy") { _, context in
            _ = try context.requireStaff(.manageSecurity)
            return PolicyView(policy: try await authenticator.policies.current(), yourAddress: context.remoteAddress)
        }
        router.put("/security/policy") { request, context in
            let actor = try context.requireStaff(.manageSecurity)
            let input = try await request.decodeJSON(PolicyInput.self, context: context)
            let policy = try input.policy.validated()
            if !policy.allows(actor.role, from: context.remoteAddress), input.confirmSelfLockout != true {
                throw ConfidantError(
                    .selfLockout,
                    "These networks do not include your current address (\(context.remoteAddress)): saving would lock you out. Send confirmSelfLockout to save anyway."
                )
            }
            let before = try await authenticator.policies.current()
            let event = AuditEvent(
                "security.policy.updated", by: actor, address: context.remoteAddress,
                details: [
                    "requireTwoFactor": policy.requireTwoFactor.map(\.rawValue).joined(separator: ","),
                    "staffNetworks": policy.staffNetworks.joined(separator: ","),
                    "roleNetworks": policy.roleNetworks.map { "\($0.key.rawValue)=\($0.value.joined(separator: " "))" }.sorted().joined(separator: ";"),
                    "maskPersonalData": policy.maskPersonalData.map(\.rawValue).joined(separator: ","),
                ])
            try await authenticator.policies.save(policy, audit: event)
            // Sockets of members the new policy affects reconnect and meet it at the handshake.
            let affected = try await authenticator.database.read { try await $0.agents() }.filter { agent in
                (policy.requiresTwoFactor(agent.staffRole) && !before.requiresTwoFactor(agent.staffRole) && !agent.hasTwoFactor)
                    || policy.staffNetworks != before.staffNetworks || policy.roleNetworks[agent.staffRole] != before.roleNetworks[agent.staffRole]
                    || policy.permissions(of: agent.staffRole) != before.permissions(of: agent.staffRole)
            }
            for agent in affected { await authenticator.refreshSockets(of: agent.agentID) }
            return PolicyView(policy: policy, yourAddress: context.remoteAddress)
        }
    }
}

/// The audit log, read-only (`readAudit`): `GET /v1/audit?action=&actor=&target=&outcome=&from=&to=&before=&limit=`,
/// newest first (an `action` ending in `.` matches every action under it), and
/// `GET /v1/audit/export` with the same filters as CSV safe from formula injection (at most
/// ``exportLimit`` rows; the export itself is audited).
struct AuditController {
    static let exportLimit = 10_000
    let database: any Database

    func addRoutes(to router: RouterGroup<AppRequestContext>) {
        router.get("/audit") { request, context in
            _ = try context.requireStaff(.readAudit)
            let filter = try AuditFilter(query: request)
            let limit = try request.query("limit") { Int($0).flatMap { (1...Limits.maxPageSize).contains($0) ? $0 : nil } } ?? 100
            let records = try await database.read { try await $0.auditEvents(matching: filter, limit: limit) }
            let items = records.map(\.event)
            return ListResponse(items: items, nextBefore: items.count == limit ? items.last?.at : nil)
        }
        router.get("/audit/export") { request, context -> Response in
            let staff = try context.requireStaff(.readAudit)
            let filter = try AuditFilter(query: request)
            let records = try await database.read { try await $0.auditEvents(matching: filter, limit: Self.exportLimit, as: ChainedAuditRecord.self) }
            try await database.transaction { store in
                try await store.appendAudit(
                    AuditEvent("audit.exported", by: staff, address: context.remoteAddress, details: ["rows": String(records.count)]))
            }
            return Response(
                status: .ok,
                headers: [.contentType: "text/csv; charset=utf-8", .contentDisposition: "attachment; filename=\"confidant-audit.csv\""],
                body: .init(byteBuffer: ByteBuffer(string: AuditCSV.document(records))))
        }
    }
}

/// Security alerts (`manageSecurity`): `GET /v1/security/alerts?open=true` newest first, and
/// `POST /v1/security/alerts/{id}/acknowledge` (audited). Raised by ``SecurityAlertMonitor``.
struct SecurityAlertController {
    let database: any Database

    func addRoutes(to router: RouterGroup<AppRequestContext>) {
        router.get("/security/alerts") { request, context in
            _ = try context.requireStaff(.manageSecurity)
            let openOnly = try request.query("open", Bool.init) ?? false
            return ListResponse(items: try await database.read { try await $0.securityAlerts(openOnly: openOnly, limit: Limits.maxPageSize) })
        }
        router.post("/security/alerts/:id/acknowledge") { _, context in
            let staff = try context.requireStaff(.manageSecurity)
            let notFound = ConfidantError(.notFound, "No such open alert.")
            guard let id = context.parameters.get("id"), id.utf8.count <= 64 else { throw notFound }
            try await database.transaction { store in
                guard try await store.acknowledgeSecurityAlert(id: id, by: staff.agentID, at: nowMillis()) else { throw notFound }
                try await store.appendAudit(AuditEvent("alert.acknowledged", by: staff, address: context.remoteAddress, target: ("alert", id)))
            }
            return Response(status: .noContent)
        }
    }
}

/// API tokens for integrations: `GET|POST /v1/api-tokens`, `DELETE /v1/api-tokens/{id}`
/// (`manageAPITokens`, from a browser session only: a token cannot mint tokens). A token acts as
/// its creator, narrowed to its scopes (which must be a subset of the creator's permissions),
/// expires (1–365 days), may be limited to networks, is shown once and stored as a SHA-256 hash.
struct APITokenController {
    let authenticator: StaffAuthenticator

    private struct CreateInput: Decodable {
        let name: String
        let scopes: [Permission]
        let expiresInDays: Int
        let allowedNetworks: [String]?
    }

    private struct TokenView: ResponseEncodable {
        let id: String
        let name: String
        let scopes: [Permission]
        let allowedNetworks: [String]
        let createdAt: Int64
        let expiresAt: Int64
        let lastUsedAt: Int64?
        let revokedAt: Int64?
        /// Only in the answer to creation: the token itself, never shown again.
        var token: String?

        init(_ record: APITokenRecord, token: String? = nil) {
            id = record.id
            name = record.name
            scopes = Permission.allCases.filter(record.scopeSet.contains)
            allowedNetworks = record.networks
            createdAt = record.createdAt
            expiresAt = record.expiresAt
            lastUsedAt = record.lastUsedAt
            revokedAt = record.revokedAt
            self.token = token
        }
    }

    func addRoutes(to router: RouterGroup<AppRequestContext>) {
        router.get("/api-tokens") { _, context in
            let staff = try context.requireStaff(.manageAPITokens)
            return ListResponse(items: try await authenticator.database.read { try await $0.apiTokens(ofAgent: staff.agentID) }.map { TokenView($0) })
        }
        router.post("/api-tokens") { request, context -> EditedResponse<TokenView> in
            let staff = try context.requireStaff(.manageAPITokens)
            guard staff.sessionHash != nil else { throw ConfidantError(.forbidden, "API tokens cannot create API tokens.") }
            let input = try await request.decodeJSON(CreateInput.self, context: context)
            let name = try TextRules.singleLine(input.name, field: "name")
            guard !input.scopes.isEmpty, input.scopes.allSatisfy(staff.allows) else {
                throw ConfidantError(.invalidRequest, "Scopes must be a non-empty subset of your own permissions.")
            }
            guard (1...365).contains(input.expiresInDays) else { throw ConfidantError(.invalidRequest, "expiresInDays must be 1 to 365.") }
            let networks = try NetworkRange.parseList(input.allowedNetworks ?? [], field: "allowedNetworks").map(\.description)
            let token = APITokens.prefix + Base64URL.random(bytes: 32)
            let id = UUID().uuidString.lowercased()
            let record = try await authenticator.database.transaction { store in
                try await store.insertAPIToken(
                    id: id, agent: staff.agentID, name: name, tokenHash: StaffAuthenticator.hash(token), scopes: input.scopes, networks: networks,
                    expiresAt: nowMillis() + Int64(input.expiresInDays) * 86_400_000)
                try await store.appendAudit(
                    AuditEvent(
                        "api_token.created", by: staff, address: context.remoteAddress, target: ("api_token", id),
                        details: ["scopes": input.scopes.map(\.rawValue).joined(separator: ","), "expiresInDays": String(input.expiresInDays)]))
                return try await store.apiToken(id: id)!
            }
            return EditedResponse(status: .created, response: TokenView(record, token: token))
        }
        router.delete("/api-tokens/:id") { _, context in
            let staff = try context.requireStaff(.manageAPITokens)
            guard let id = context.parameters.get("id"), id.utf8.count <= 64 else { throw ConfidantError(.notFound, "No such API token.") }
            try await authenticator.database.transaction { store in
                guard let record = try await store.apiToken(id: id), record.agentId == staff.agentID.rawValue || staff.allows(.manageStaff),
                    try await store.revokeAPIToken(id: id)
                else { throw ConfidantError(.notFound, "No such API token.") }
                try await store.appendAudit(AuditEvent("api_token.revoked", by: staff, address: context.remoteAddress, target: ("api_token", id)))
            }
            return Response(status: .noContent)
        }
    }
}

/// API token format: `cft_` and 256 random bits, base64url.
enum APITokens {
    static let prefix = "cft_"
}

extension ConversationReport: ResponseEncodable {}

/// Reports: `GET /v1/reports/conversations?from=&to=` (`readReports`; Unix ms, default the last
/// 30 days). Supervisors see their departments (and conversations of none); owners, admins and
/// auditors see all.
struct ReportController {
    let database: any Database

    func addRoutes(to router: RouterGroup<AppRequestContext>) {
        router.get("/reports/conversations") { request, context -> ConversationReport in
            let staff = try context.requireStaff(.readReports)
            let to = try request.query("to", Int64.init) ?? nowMillis()
            let from = try request.query("from", Int64.init) ?? (to - 30 * 86_400_000)
            guard from < to else { throw ConfidantError(.invalidRequest, "'from' must be before 'to'.") }
            let wholeOrganization = staff.allows(.allDepartments) || staff.role == .auditor
            return try await database.read {
                try await $0.conversationReport(from: from, to: to, departments: wholeOrganization ? nil : Array(staff.departments))
            }
        }
    }
}
