import ConfidantCore
import Foundation
import Hummingbird

/// Conversation lists and transcripts for staff:
/// `GET /v1/conversations?view=queue|mine|history&state=&site=&department=&agent=&from=&to=&before=&limit=`,
/// `GET /v1/conversations/{id}`, `GET /v1/conversations/{id}/transcript`, and
/// `POST /v1/conversations/{id}/guard-exception` (`monitor`: let the next reply that asks for a
/// secret through once, within 10 minutes). Object-level access is
/// the same check as on the WebSocket (``ChatService/mayAccess(_:_:)``).
struct ConversationController {
    let chat: ChatService

    /// A supervisor's one-time exception to the secret request guard.
    struct GuardException: ResponseEncodable {
        let conversationId: ConversationID
        let expiresAt: Int64
    }

    func addRoutes(to router: RouterGroup<AppRequestContext>) {
        router.get("/conversations") { request, context in
            let staff = try context.requireStaff(.chat)
            var filter = ConversationFilter()
            switch request.uri.queryParameters["view"].map(String.init) ?? "history" {
            case "queue": filter.states = [.queued]
            case "mine":
                filter.states = [.active]
                filter.agent = staff.agentID
            case "history": break
            default: throw ConfidantError(.invalidRequest, "view must be queue, mine or history.")
            }
            if let state = try request.query("state", ConversationState.init(rawValue:)) { filter.states = [state] }
            filter.site = try request.query("site", SiteID.init)
            filter.department = try request.query("department", DepartmentID.init)
            filter.agent = try request.query("agent", AgentID.init) ?? filter.agent
            filter.createdFrom = try request.query("from", Int64.init)
            filter.createdTo = try request.query("to", Int64.init)
            filter.before = try request.query("before", Int64.init)
            filter.limit = try request.query("limit") { Int($0).flatMap { (1...Limits.maxPageSize).contains($0) ? $0 : nil } } ?? 50
            if !staff.allows(.allDepartments) {
                filter.scope = (staff.agentID, Array(staff.departments))
            }
            filter.closedAfter = chat.settings.closedAccessCutoff(for: staff)
            let summaries = try await chat.database.read { store in
                var summaries: [ConversationSummary] = []
                for record in try await store.conversations(matching: filter) {
                    summaries.append(try await chat.summary(of: record, for: .staff(staff), in: store))
                }
                return summaries
            }
            return ListResponse(items: summaries, nextBefore: summaries.count == filter.limit ? summaries.last?.createdAt : nil)
        }
        router.get("/conversations/:id") { _, context in
            let staff = try context.requireStaff(.chat)
            let id = try context.id("id", as: ConversationID.self, notFound: .conversationNotFound)
            let record = try await chat.readAccessibleConversation(id, for: .staff(staff))
            return ConversationResponse(conversation: try await chat.database.read { try await chat.summary(of: record, for: .staff(staff), in: $0) })
        }
        router.post("/conversations/:id/guard-exception") { _, context -> EditedResponse<GuardException> in
            let staff = try context.requireStaff(.monitor)
            let id = try context.id("id", as: ConversationID.self, notFound: .conversationNotFound)
            let expiresAt = try await chat.allowGuardedReply(in: id, by: staff, address: context.remoteAddress)
            return EditedResponse(status: .created, response: GuardException(conversationId: id, expiresAt: expiresAt))
        }
        router.get("/conversations/:id/transcript") { _, context in
            let staff = try context.requireStaff(.chat)
            let id = try context.id("id", as: ConversationID.self, notFound: .conversationNotFound)
            let record = try await chat.readAccessibleConversation(id, for: .staff(staff))
            let (entries, _) = try await chat.timeline(.staff(staff), conversation: id, after: 0)
            let summary = try await chat.database.read { try await chat.summary(of: record, for: .staff(staff), in: $0) }
            // Every opening of a whole transcript by staff is evidence of who read what.
            try await chat.database.transaction { store in
                try await store.appendAudit(
                    AuditEvent("transcript.opened", by: staff, address: context.remoteAddress, target: ("conversation", id.rawValue)))
            }
            return TranscriptResponse(conversation: summary, entries: entries.map { ServerEnvelope($0.frame) })
        }
    }
}

/// Canned responses: `GET|POST /v1/canned-responses`, `PATCH|DELETE /v1/canned-responses/{id}`.
/// Agents read the global ones and their departments'; `manageCannedResponses` changes them.
struct CannedResponseController {
    let database: any Database

    private struct Input: Decodable {
        let shortcut: String
        let body: String
        let departmentId: DepartmentID?
    }

    func addRoutes(to router: RouterGroup<AppRequestContext>) {
        router.get("/canned-responses") { _, context in
            let staff = try context.requireStaff(.readCannedResponses)
            let all = try await database.read { try await $0.cannedResponses() }
            let visible = all.filter { staff.canAccess(department: $0.scope.isEmpty ? nil : DepartmentID(trusted: $0.scope), agent: nil) }
            return ListResponse(items: visible.map(CannedResponseView.init))
        }
        router.post("/canned-responses") { request, context -> EditedResponse<CannedResponseView> in
            _ = try context.requireStaff(.manageCannedResponses)
            let input = try await validated(request, context)
            let id = CannedResponseID()
            let record = try await database.transaction { store in
                try await requireDepartment(input.departmentId, in: store)
                try await requireUnique(input, except: nil, in: store)
                try await store.insertCannedResponse(id: id, scope: input.departmentId, shortcut: input.shortcut, body: input.body)
                return try await store.cannedResponse(id: id)!
            }
            return EditedResponse(status: .created, response: CannedResponseView(record))
        }
        router.patch("/canned-responses/:id") { request, context in
            _ = try context.requireStaff(.manageCannedResponses)
            let id = try context.id("id", as: CannedResponseID.self)
            let input = try await validated(request, context)
            return try await database.transaction { store in
                try await requireDepartment(input.departmentId, in: store)
                try await requireUnique(input, except: id, in: store)
                guard try await store.updateCannedResponse(id: id, scope: input.departmentId, shortcut: input.shortcut, body: input.body) else {
                    throw ConfidantError(.notFound, "No such canned response.")
                }
                return CannedResponseView(try await store.cannedResponse(id: id)!)
            }
        }
        router.delete("/canned-responses/:id") { _, context in
            _ = try context.requireStaff(.manageCannedResponses)
            let id = try context.id("id", as: CannedResponseID.self)
            guard try await database.transaction({ try await $0.deleteCannedResponse(id: id) }) else {
                throw ConfidantError(.notFound, "No such canned response.")
            }
            return Response(status: .noContent)
        }
    }

    /// Shortcuts are 1–32 characters of a–z, 0–9, `-` and `_` (typed after `/` in the console).
    private func validated(_ request: Request, _ context: AppRequestContext) async throws -> Input {
        let input = try await request.decodeJSON(Input.self, context: context)
        let shortcut = input.shortcut.lowercased()
        guard (1...32).contains(shortcut.count),
            shortcut.unicodeScalars.allSatisfy({ CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyz0123456789-_").contains($0) })
        else {
            throw ConfidantError(.invalidRequest, "The shortcut must be 1–32 characters of a–z, 0–9, - and _.")
        }
        return Input(shortcut: shortcut, body: try TextRules.messageBody(input.body), departmentId: input.departmentId)
    }

    private func requireDepartment(_ department: DepartmentID?, in store: Store) async throws {
        if let department, try await store.department(id: department) == nil { throw ConfidantError(.invalidRequest, "There is no such department.") }
    }

    private func requireUnique(_ input: Input, except id: CannedResponseID?, in store: Store) async throws {
        let clash = try await store.cannedResponses().contains {
            $0.shortcut == input.shortcut && $0.scope == (input.departmentId?.rawValue ?? "") && $0.id != id?.rawValue
        }
        if clash { throw ConfidantError(.conflict, "This shortcut is already used in this scope.") }
    }
}

/// Messages left while nobody was online: `GET /v1/offline-messages?includeHandled=true`,
/// `POST /v1/offline-messages/{id}/handled`. Agents see those of their departments and general ones.
struct OfflineMessageController {
    let database: any Database
    let keys: KeyStore

    func addRoutes(to router: RouterGroup<AppRequestContext>) {
        router.get("/offline-messages") { request, context in
            let staff = try context.requireStaff(.handleOfflineMessages)
            let includeHandled = try request.query("includeHandled", Bool.init) ?? false
            let records = try await database.read { try await $0.offlineMessages(includeHandled: includeHandled, limit: Limits.maxPageSize) }
            var views: [OfflineMessageView] = []
            for record in records where staff.canAccess(department: record.departmentId.map(DepartmentID.init(trusted:)), agent: nil) {
                views.append(try await OfflineMessageView(opening: record, keys: keys, personalData: staff.personalData))
            }
            return ListResponse(items: views)
        }
        router.post("/offline-messages/:id/handled") { _, context in
            let staff = try context.requireStaff(.handleOfflineMessages)
            let id = try context.id("id", as: OfflineMessageID.self)
            try await database.transaction { store in
                guard let record = try await store.offlineMessage(id: id),
                    staff.canAccess(department: record.departmentId.map(DepartmentID.init(trusted:)), agent: nil)
                else { throw ConfidantError(.notFound, "No such offline message.") }
                try await store.markOfflineMessageHandled(id: id, by: staff.agentID)
            }
            return Response(status: .noContent)
        }
    }
}
