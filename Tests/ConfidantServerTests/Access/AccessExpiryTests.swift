import ConfidantCore
import Foundation
import HTTPTypes
import SQLKit
import Testing

@testable import ConfidantServer

@Suite("Time-bounded access to closed conversations")
struct AccessExpiryTests {
    @Test("Agents lose a closed conversation after the configured days; supervisors and owners keep it", arguments: TestBackend.allCases)
    func agentsLoseOldClosedConversations(_ backend: TestBackend) async throws {
        try await TestServer.run(backend, configure: { $0.agentClosedAccessDays = 30 }) { server in
            let owner = try await server.owner()
            let site = try await server.site(by: owner)
            let agent = try await server.agent("Klara", by: owner)
            let supervisor = try await server.agent("Szilvia", by: owner, role: .supervisor)
            let (agentSocket, _) = try await server.agentSocket(agent)
            let (guest, opened) = try await RoutingTests.openConversation(server, site)
            let id = opened.id
            #expect(opened.agent?.id == agent.agentId.rawValue)
            guest.send(.close(conversationId: id), ref: "close")
            _ = try await guest.next(timeout: .seconds(10), "closed") { $0.ref == "close" }

            struct Page: Decodable { let items: [ConversationSummary] }
            func visible(to login: StaffLogin) async throws -> (transcript: HTTPResponse.Status, listed: Bool) {
                let transcript = try await server.request(.get, "/v1/conversations/\(id)/transcript", as: login).status
                let page = try server.decode(Page.self, from: try await server.request(.get, "/v1/conversations?view=history", as: login))
                return (transcript, page.items.contains { $0.id == id })
            }
            // Closed 29 days ago: the agent still has it.
            try await server.runtime.database.transaction {
                try await $0.run("UPDATE conversations SET closed_at = \(bind: nowMillis() - 29 * 86_400_000) WHERE id = \(bind: id.rawValue)")
            }
            #expect(try await visible(to: agent) == (.ok, true))
            // Closed 31 days ago: gone for the agent, as if it did not exist; kept for the others.
            try await server.runtime.database.transaction {
                try await $0.run("UPDATE conversations SET closed_at = \(bind: nowMillis() - 31 * 86_400_000) WHERE id = \(bind: id.rawValue)")
            }
            #expect(try await visible(to: agent) == (.notFound, false))
            #expect(try await server.request(.get, "/v1/conversations/\(id)", as: agent).status == .notFound)
            #expect(try await visible(to: supervisor) == (.ok, true))
            #expect(try await visible(to: owner) == (.ok, true))
            agentSocket.close()
        }
    }
}
