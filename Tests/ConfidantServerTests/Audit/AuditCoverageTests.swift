import ConfidantCore
import Foundation
import HTTPTypes
import Testing

@testable import ConfidantServer

@Suite("What the audit log records")
struct AuditCoverageTests {
    @Test("Every opening of a transcript by staff is recorded: who, which conversation, from where")
    func transcriptOpenings() async throws {
        try await TestServer.run(.sqlite) { server in
            let owner = try await server.owner()
            let site = try await server.site(by: owner)
            let agent = try await server.agent("Tamas", by: owner)
            let (socket, _) = try await server.agentSocket(agent)
            let (_, conversation) = try await RoutingTests.openConversation(server, site)
            for reader in [owner, agent, owner] {
                #expect(try await server.request(.get, "/v1/conversations/\(conversation.id)/transcript", as: reader).status == .ok)
            }
            let openings = try await server.runtime.database.read { try await $0.auditEvents(before: nil, action: "transcript.opened", limit: 10) }
                .map(\.event)
            #expect(openings.count == 3)
            #expect(openings.map { $0.actorId ?? "" }.sorted() == [owner, owner, agent].map(\.agentId.rawValue).sorted())
            #expect(openings.allSatisfy { $0.targetId == conversation.id.rawValue && $0.address == "127.0.0.1" })
            socket.close()
        }
    }
}
