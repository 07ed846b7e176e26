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

    @Test("Key operations are recorded: the master key registered with a new key store, each data key destroyed by an erasure")
    func keyOperations() async throws {
        try await TestServer.run(.sqlite) { server in
            let owner = try await server.owner()
            let site = try await server.site(by: owner)
            let (agentSocket, _) = try await server.agentSocket(try await server.agent("Kornél", by: owner))
            let (guest, opened) = try await RoutingTests.openConversation(server, site)
            guest.send(.sendMessage(conversationId: opened.id, clientId: "m", body: "hello", visibility: .public))
            _ = try await guest.next(type: "message.ack")
            #expect(try await server.request(.delete, "/v1/visitors/\(opened.visitorId)", as: owner).status == .ok)
            let events = try await server.runtime.database.read { try await $0.auditEvents(before: nil, action: "key.", limit: 10) }.map(\.event)
            let registered = events.filter { $0.action == "key.master.registered" }
            #expect(registered.count == 1 && registered.first?.details["fingerprint"] == server.runtime.masterKey.fingerprint)
            let destroyed = events.filter { $0.action == "key.destroyed" }
            #expect(destroyed.count == 1 && destroyed.first?.targetId == opened.visitorId.rawValue && destroyed.first?.actorId == owner.agentId.rawValue)
            // A second start with the same key store registers nothing new.
            try await server.runtime.prepare()
            #expect(try await server.runtime.database.read { try await $0.auditEvents(before: nil, action: "key.master.registered", limit: 10) }.count == 1)
            agentSocket.close()
        }
    }

    @Test("Site and department changes are recorded with who made them")
    func directoryChanges() async throws {
        try await TestServer.run(.sqlite) { server in
            let owner = try await server.owner()
            let site = try await server.site(by: owner)
            let department = try await server.department("Billing", by: owner)
            #expect(try await server.request(.patch, "/v1/departments/\(department)", json: ["name": "Invoices"], as: owner).status == .ok)
            #expect(try await server.request(.delete, "/v1/departments/\(department)", as: owner).status == .noContent)
            #expect(try await server.request(.delete, "/v1/sites/\(site.id)", as: owner).status == .noContent)
            let events = try await server.runtime.database.read { try await $0.auditEvents(before: nil, action: nil, limit: 50) }.map(\.event)
            for (action, target) in [
                ("site.created", site.id.rawValue), ("site.deleted", site.id.rawValue), ("department.created", department.rawValue),
                ("department.renamed", department.rawValue), ("department.deleted", department.rawValue),
            ] {
                #expect(events.contains { $0.action == action && $0.targetId == target && $0.actorId == owner.agentId.rawValue }, "\(action)")
            }
        }
    }
}
