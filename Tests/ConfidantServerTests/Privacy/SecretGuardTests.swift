import ConfidantCore
import Foundation
import HTTPTypes
import Testing

@testable import ConfidantServer

@Suite("The guard against asking visitors for secrets")
struct SecretGuardTests {
    @Test("A reply asking for a password is held, noted for staff and audited; a supervisor's exception lets one through", arguments: TestBackend.allCases)
    func heldThenAllowedOnce(_ backend: TestBackend) async throws {
        try await TestServer.run(backend) { server in
            let owner = try await server.owner()
            let site = try await server.site(by: owner)
            let agent = try await server.agent("Gabor", by: owner)
            let (agentSocket, _) = try await server.agentSocket(agent)
            let (guest, opened) = try await RoutingTests.openConversation(server, site)
            let conversation = opened.id
            #expect(opened.agent?.id == agent.agentId.rawValue)

            agentSocket.send(
                .sendMessage(conversationId: conversation, clientId: "a-1", body: "To verify you, please tell me your password.", visibility: .public),
                ref: "ask")
            // The note reaches staff first, then the refusal.
            let note = try #require(try await agentSocket.next(type: "message").message)
            let refusal = try await agentSocket.next(timeout: .seconds(10), "the refusal") { $0.ref == "ask" }
            #expect(refusal.errorCode == .secretRequested)
            #expect(note.visibility == .internal && note.author.kind == .system && note.body.contains("asked the visitor for a password"))
            #expect(!note.body.contains("tell me your password"), "the held reply itself is stored nowhere")

            // The next reply the visitor sees is an ordinary one: the held one never reached them.
            agentSocket.send(.sendMessage(conversationId: conversation, clientId: "a-2", body: "Which order is it about?", visibility: .public))
            #expect(try await guest.next(type: "message").message?.body == "Which order is it about?")

            // An agent cannot grant the exception; a supervisor (here the owner) can, for one reply.
            #expect(try await server.request(.post, "/v1/conversations/\(conversation)/guard-exception", as: agent).status == .forbidden)
            #expect(try await server.request(.post, "/v1/conversations/\(conversation)/guard-exception", as: owner).status == .created)
            agentSocket.send(
                .sendMessage(
                    conversationId: conversation, clientId: "a-3", body: "Please type the one-time code shown in your bank's app.", visibility: .public))
            #expect(try await guest.next(type: "message").message?.body == "Please type the one-time code shown in your bank's app.")
            agentSocket.send(.sendMessage(conversationId: conversation, clientId: "a-4", body: "And what's your PIN?", visibility: .public), ref: "again")
            #expect(try await agentSocket.next(timeout: .seconds(10), "the second refusal") { $0.ref == "again" }.errorCode == .secretRequested)
            // Internal notes are not guarded: staff may discuss anything among themselves.
            agentSocket.send(
                .sendMessage(conversationId: conversation, clientId: "n-1", body: "Visitor asked what a PIN is.", visibility: .internal), ref: "note")
            #expect(try await agentSocket.next(timeout: .seconds(10), "note ack") { $0.ref == "note" }.frame.type == "message.ack")

            let actions = try await server.runtime.database.read { try await $0.auditEvents(before: nil, action: nil, limit: 100) }.map(\.action)
            #expect(actions.filter { $0 == "guard.held" }.count == 2)
            #expect(actions.contains("guard.exception.granted") && actions.contains("guard.overridden"))
        }
    }

    @Test("Supervisors who may see the conversation hear of a hold at once, watching or not; others do not", arguments: TestBackend.allCases)
    func supervisorsHearOfHolds(_ backend: TestBackend) async throws {
        try await TestServer.run(backend) { server in
            let owner = try await server.owner()
            let site = try await server.site(by: owner)
            let billing = try await server.department("Billing", by: owner)
            let sales = try await server.department("Sales", by: owner)
            let agent = try await server.agent("Gabor", by: owner, departments: [billing])
            let ownSupervisor = try await server.agent("Szandra", by: owner, role: .supervisor, departments: [billing])
            let otherSupervisor = try await server.agent("Sanyi", by: owner, role: .supervisor, departments: [sales])
            let (agentSocket, _) = try await server.agentSocket(agent)
            let (ownSocket, _) = try await server.agentSocket(ownSupervisor, available: false)
            let (otherSocket, _) = try await server.agentSocket(otherSupervisor, available: false)
            let (ownerSocket, _) = try await server.agentSocket(owner, available: false)
            let (_, opened) = try await RoutingTests.openConversation(server, site, department: billing)
            #expect(opened.agent?.id == agent.agentId.rawValue)

            agentSocket.send(
                .sendMessage(conversationId: opened.id, clientId: "a-1", body: "What is the CVV on the back of your card?", visibility: .public), ref: "ask")
            #expect(try await agentSocket.next(timeout: .seconds(10), "the refusal") { $0.ref == "ask" }.errorCode == .secretRequested)
            for socket in [ownSocket, ownerSocket] {
                guard case .guardHeld(let conversation, let who, let secret) = try await socket.next(type: "guard.held").frame else { continue }
                #expect(conversation == opened.id && secret == "cvv")
                #expect(who.id == agent.agentId.rawValue && who.name == "Gabor")
            }
            try await Task.sleep(for: .milliseconds(300))
            #expect(try await otherSocket.received { $0.frame.type == "guard.held" }.isEmpty, "another department's supervisor is not told")
            #expect(try await agentSocket.received { $0.frame.type == "guard.held" }.isEmpty, "agents are not told (they got the refusal)")
            for socket in [agentSocket, ownSocket, otherSocket, ownerSocket] { socket.close() }
        }
    }
}
