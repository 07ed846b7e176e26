import ConfidantCore
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

@testable import ConfidantServer

@Suite("A visitor and an agent chat over real WebSockets")
struct ChatFlowTests {
    @Test("The full conversation: open, route, messages both ways, note, typing, read, close, rate", arguments: TestBackend.allCases)
    func fullConversation(_ backend: TestBackend) async throws {
        try await TestServer.run(backend) { server in
            let owner = try await server.owner()
            let site = try await server.site(by: owner)
            let anna = try await server.agent("Anna", by: owner)
            let (agent, agentWelcome) = try await server.agentSocket(anna)
            #expect(agentWelcome.agent?.id == anna.agentId)
            #expect(agentWelcome.conversations.isEmpty)

            let visitor = try await server.visitor(of: site)
            let (guest, welcome) = try await server.visitorSocket(visitor)
            #expect(welcome.visitorId == visitor.visitorId)
            #expect(welcome.agentsOnline == true)

            guest.send(.openConversation(departmentId: nil, name: "Vera", email: "Vera@Example.com", pageUrl: "https://shop.example/cart"), ref: "open")
            let openedFrame = try await guest.next(type: "conversation.opened")
            #expect(openedFrame.ref == "open")
            let opened = try #require(openedFrame.opened)
            #expect(opened.state == .active)
            #expect(opened.agent?.id == anna.agentId.rawValue)
            #expect(opened.visitorName == nil, "visitors never get the staff-only fields")
            let conversation = opened.id

            let assigned = try #require(try await agent.next(type: "conversation.assigned").event)
            #expect(assigned.conversationId == conversation)
            #expect(assigned.agent?.name == "Anna")
            #expect(assigned.seq == 1)

            // Visitor → agent.
            guest.send(.sendMessage(conversationId: conversation, clientId: "v-1", body: "Hello, my order is late", visibility: .public))
            let visitorAck = try #require(try await guest.next(type: "message.ack").ack)
            #expect(visitorAck.seq == 2)
            #expect(!visitorAck.duplicate)
            let delivered = try #require(try await agent.next(type: "message").message)
            #expect(delivered.body == "Hello, my order is late")
            #expect(delivered.seq == visitorAck.seq)
            #expect(delivered.author.kind == .visitor)
            #expect(delivered.clientId == "v-1")

            // Agent → visitor.
            agent.send(.sendMessage(conversationId: conversation, clientId: "a-1", body: "Sorry! Let me check.", visibility: .public))
            let agentAck = try #require(try await agent.next(type: "message.ack").ack)
            let reply = try #require(try await guest.next(type: "message").message)
            #expect(reply.seq == agentAck.seq)
            #expect(reply.author == Author(kind: .agent, id: anna.agentId.rawValue, name: "Anna"))

            // An internal note is acknowledged but never reaches the visitor.
            agent.send(.sendMessage(conversationId: conversation, clientId: "a-note", body: "Customer seems upset", visibility: .internal))
            let noteAck = try #require(try await agent.next(type: "message.ack").ack)
            #expect(noteAck.seq == agentAck.seq + 1)

            // Typing and read receipts. Typing a note is not shown to the visitor.
            agent.send(.typing(conversationId: conversation, active: false, visibility: .internal))
            agent.send(.typing(conversationId: conversation, active: true, visibility: .public))
            let typing = try await guest.next(type: "typing")
            #expect(typing.frame == .typing(conversationId: conversation, author: Author(kind: .agent, id: anna.agentId.rawValue, name: "Anna"), active: true))
            guest.send(.typing(conversationId: conversation, active: true, visibility: .public))
            _ = try await agent.next(type: "typing")
            guest.send(.read(conversationId: conversation, seq: reply.seq), ref: "read")
            _ = try await guest.next(timeout: .seconds(5), "ok") { $0.ref == "read" }
            let read = try await agent.next(type: "read")
            #expect(read.frame == .read(conversationId: conversation, reader: Author(kind: .visitor, id: visitor.visitorId.rawValue), seq: reply.seq))

            // Close (agent) and rate (visitor).
            agent.send(.close(conversationId: conversation), ref: "close")
            let closed = try #require(try await guest.next(type: "conversation.closed").event)
            #expect(closed.actor.id == anna.agentId.rawValue)
            guest.send(.rate(conversationId: conversation, score: 5, comment: "Quick and kind"), ref: "rate")
            _ = try await guest.next(timeout: .seconds(5), "ok") { $0.ref == "rate" }
            let rated = try #require(try await agent.next(type: "conversation.rated").event)
            #expect(rated.score == 5)
            #expect(rated.comment == "Quick and kind")
            guest.send(.rate(conversationId: conversation, score: 1, comment: nil), ref: "again")
            #expect(try await guest.next(timeout: .seconds(5), "error") { $0.ref == "again" }.errorCode == .alreadyRated)

            // The note never reached the visitor: not its text, not its sequence number.
            let visitorFrames = await guest.receivedTexts()
            #expect(!visitorFrames.contains { $0.contains("Customer seems upset") })
            #expect(try await guest.received { $0.message?.seq == noteAck.seq }.isEmpty)

            // Staff see the whole transcript, note and contact details included.
            struct Transcript: Decodable {
                let conversation: ConversationSummary
                let entries: [ServerEnvelope]
            }
            let response = try await server.request(.get, "/v1/conversations/\(conversation)/transcript", as: anna)
            #expect(response.status == .ok)
            let transcript = try server.decode(Transcript.self, from: response)
            #expect(transcript.conversation.visitorName == "Vera")
            #expect(transcript.conversation.visitorEmail == "vera@example.com")
            #expect(transcript.conversation.pageUrl == "https://shop.example/cart")
            #expect(transcript.conversation.state == .closed)
            #expect(transcript.conversation.rating == 5)
            #expect(transcript.conversation.visitorReadSeq == reply.seq, "read receipts are kept for clients that reconnect")
            #expect(
                transcript.entries.map(\.frame.type) == [
                    "conversation.assigned", "message", "message", "message", "conversation.closed", "conversation.rated",
                ])
            let bodies = transcript.entries.compactMap { $0.message?.body }
            #expect(bodies.contains("Customer seems upset"))
            #expect(transcript.entries.compactMap { $0.message?.seq ?? $0.event?.seq } == Array(1...6))
            guest.close()
            agent.close()
        }
    }
}
