import ConfidantCore
import Foundation
import HTTPTypes
import NIOCore
import SQLKit
import Testing

@testable import ConfidantServer

/// Access that changes while people are connected, supervisors watching, and API tokens.
@Suite("Live access: role changes on open sockets, silent supervision, API tokens")
struct LiveAccessTests {
    @Test("A role or department change applies at once: the open socket is closed, and the reconnected one has the new rights only")
    func roleChanges() async throws {
        try await TestServer.run(.sqlite) { server in
            let owner = try await server.owner()
            let sales = try await server.department("Sales", by: owner)
            let billing = try await server.department("Billing", by: owner)
            let site = try await server.site(by: owner)
            let agent = try await server.agent("Ervin", by: owner, departments: [sales], maxConversations: 1)
            let (socket, _) = try await server.agentSocket(agent)
            let (_, conversation) = try await RoutingTests.openConversation(server, site, department: sales)
            #expect(conversation.agent?.id == agent.agentId.rawValue)

            let moved = try await server.request(.patch, "/v1/agents/\(agent.agentId)", json: ["departments": [billing]], as: owner)
            #expect(moved.status == .ok)
            #expect(try await socket.closeCode() == 4409, "closed with 'permissions changed' so the console reconnects")
            #expect(try await server.request(.get, "/v1/auth/me", as: agent).status == .ok, "the session itself goes on")
            let (again, welcome) = try await server.agentSocket(agent)
            #expect(welcome.agent?.departments == [billing])

            let demoted = try await server.request(.patch, "/v1/agents/\(agent.agentId)", json: ["role": "auditor"], as: owner)
            #expect(demoted.status == .ok)
            #expect(try await again.closeCode() == 4409)
            let (auditorSocket, _) = try await server.agentSocket(agent, available: false)
            auditorSocket.send(.sync(conversationId: conversation.id, afterSeq: 0), ref: "s")
            #expect(try await auditorSocket.next { $0.ref == "s" }.errorCode == .conversationNotFound, "even their own former conversation")
            auditorSocket.send(.setAvailability(.available), ref: "a")
            #expect(try await auditorSocket.next { $0.ref == "a" }.errorCode == .forbidden)
            #expect(try await server.request(.get, "/v1/conversations/\(conversation.id)", as: agent).status == .forbidden)
            #expect(try await server.request(.get, "/v1/audit", as: agent).status == .ok)
        }
    }

    @Test("A supervisor watches a conversation of their department live, silently; not another department's")
    func silentSupervision() async throws {
        try await TestServer.run(.sqlite) { server in
            let owner = try await server.owner()
            let sales = try await server.department("Sales", by: owner)
            let billing = try await server.department("Billing", by: owner)
            let site = try await server.site(by: owner)
            let agent = try await server.agent("Ervin", by: owner, departments: [sales])
            let (agentSocket, _) = try await server.agentSocket(agent)
            let (visitor, conversation) = try await RoutingTests.openConversation(server, site, department: sales)
            visitor.send(.sendMessage(conversationId: conversation.id, clientId: "v1", body: "My order is late", visibility: .public), ref: "v1")
            _ = try await visitor.next { $0.ref == "v1" }

            let supervisor = try await server.agent("Szilvia", by: owner, role: .supervisor, departments: [sales])
            let (watcher, _) = try await server.agentSocket(supervisor, available: false)
            watcher.send(.watch(conversationId: conversation.id), ref: "w")
            let history = try await watcher.next(timeout: .seconds(10), "the conversation so far") { $0.message?.body == "My order is late" }
            #expect(history.message?.author.kind == .visitor)
            #expect(try await watcher.next { $0.ref == "w" }.frame.type == "sync.done")

            agentSocket.send(.sendMessage(conversationId: conversation.id, clientId: "a1", body: "Let me check", visibility: .public), ref: "a1")
            #expect(try await watcher.next(timeout: .seconds(10), "the agent's reply, live") { $0.message?.body == "Let me check" }.message != nil)
            watcher.send(.sendMessage(conversationId: conversation.id, clientId: "n1", body: "Offer a voucher", visibility: .internal), ref: "n1")
            #expect(try await watcher.next { $0.ref == "n1" }.ack != nil, "a whisper to the agent")
            #expect(try await agentSocket.next(timeout: .seconds(10), "the whisper") { $0.message?.body == "Offer a voucher" }.message?.visibility == .internal)
            try await Task.sleep(for: .milliseconds(500))
            let visitorFrames = try await visitor.received { _ in true }
            #expect(visitorFrames.contains { $0.message?.body == "Let me check" })
            #expect(!visitorFrames.contains { $0.message?.body == "Offer a voucher" }, "the visitor never sees the whisper")
            let supervisorID = supervisor.agentId.rawValue
            #expect(
                !visitorFrames.contains { $0.event?.actor.id == supervisorID || $0.event?.agent?.id == supervisorID || $0.frame.type == "typing" },
                "nor any sign of being watched")

            let (billingSocket, _) = try await server.agentSocket(try await server.agent("Bea", by: owner, departments: [billing]))
            let (_, elsewhere) = try await RoutingTests.openConversation(server, site, department: billing)
            withExtendedLifetime(billingSocket) {}
            watcher.send(.watch(conversationId: elsewhere.id), ref: "w2")
            #expect(try await watcher.next { $0.ref == "w2" }.errorCode == .conversationNotFound)
            let (agentWatcher, _) = try await server.agentSocket(try await server.agent("Aron", by: owner, departments: [sales]), available: false)
            agentWatcher.send(.watch(conversationId: conversation.id), ref: "w3")
            #expect(try await agentWatcher.next { $0.ref == "w3" }.errorCode == .forbidden, "agents cannot watch")
            #expect(try await server.auditActions(as: owner).contains("conversation.watched:success"))
        }
    }

    @Test("API tokens: shown once, scoped, no escalation, limited to networks, revocable, and cannot make more tokens")
    func apiTokens() async throws {
        try await TestServer.run(.sqlite) { server in
            let owner = try await server.owner()
            let admin = try await server.agent("Adel", by: owner, role: .admin)
            struct Created: Decodable {
                let id: String
                let token: String?
            }
            func create(_ body: String, as login: StaffLogin) async throws -> HTTPReply {
                try await server.request(.post, "/v1/api-tokens", body: body, as: login)
            }
            let escalation = try await create(#"{"name":"x","scopes":["manageOwners"],"expiresInDays":30}"#, as: admin)
            #expect(server.errorCode(escalation) == "invalid_request", "an admin cannot grant what they lack")
            #expect(server.errorCode(try await create(#"{"name":"x","scopes":["readDirectory"],"expiresInDays":400}"#, as: admin)) == "invalid_request")
            let agent = try await server.agent("Andi", by: owner)
            #expect(try await create(#"{"name":"x","scopes":["chat"],"expiresInDays":30}"#, as: agent).status == .forbidden)

            let created = try await create(#"{"name":"CRM sync","scopes":["readDirectory"],"expiresInDays":30}"#, as: admin)
            #expect(created.status == .created)
            let token = try server.decode(Created.self, from: created)
            let secret = try #require(token.token)
            #expect(secret.hasPrefix("cft_"))
            let listed = String(buffer: try await server.request(.get, "/v1/api-tokens", as: admin).body)
            #expect(!listed.contains(secret), "shown once: the list never carries it")
            let bearer: HTTPFields = [.authorization: "Bearer \(secret)"]
            #expect(try await server.request(.get, "/v1/agents", headers: bearer).status == .ok)
            #expect(try await server.request(.get, "/v1/security/policy", headers: bearer).status == .forbidden, "outside its scope")
            #expect(try await server.request(.post, "/v1/departments", json: ["name": "Nope"], headers: bearer).status == .forbidden)
            #expect(
                try await server.request(.post, "/v1/api-tokens", body: #"{"name":"y","scopes":["readDirectory"],"expiresInDays":1}"#, headers: bearer)
                    .status == .forbidden, "a token cannot mint tokens")
            #expect(try await server.request(.get, "/v1/agents", headers: [.authorization: "Bearer cft_forged"]).status == .unauthorized)

            let fenced = try server.decode(
                Created.self,
                from: try await create(#"{"name":"VPN only","scopes":["readDirectory"],"expiresInDays":1,"allowedNetworks":["10.0.0.0/8"]}"#, as: admin))
            #expect(try await server.request(.get, "/v1/agents", headers: [.authorization: "Bearer \(fenced.token!)"]).status == .forbidden)

            #expect(try await server.request(.delete, "/v1/api-tokens/\(token.id)", as: agent).status == .forbidden)
            #expect(try await server.request(.delete, "/v1/api-tokens/\(token.id)", as: admin).status == .noContent)
            #expect(try await server.request(.get, "/v1/agents", headers: bearer).status == .unauthorized, "revoked")

            // Expiry, and the owner's deactivation, end a token too.
            let expiring = try server.decode(Created.self, from: try await create(#"{"name":"short","scopes":["readDirectory"],"expiresInDays":1}"#, as: admin))
            try await server.runtime.database.transaction { store in
                try await store.run("UPDATE api_tokens SET expires_at = \(bind: nowMillis() - 1) WHERE id = \(bind: expiring.id)")
            }
            #expect(try await server.request(.get, "/v1/agents", headers: [.authorization: "Bearer \(expiring.token!)"]).status == .unauthorized)
            let lasting = try server.decode(Created.self, from: try await create(#"{"name":"long","scopes":["readDirectory"],"expiresInDays":90}"#, as: admin))
            #expect(try await server.request(.delete, "/v1/agents/\(admin.agentId)", as: owner).status == .noContent)
            #expect(try await server.request(.get, "/v1/agents", headers: [.authorization: "Bearer \(lasting.token!)"]).status == .unauthorized)
            let audit = try await server.auditActions(as: owner)
            #expect(audit.contains("api_token.created:success"))
            #expect(audit.contains("api_token.revoked:success"))
        }
    }
}
