import ConfidantCore
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

@testable import ConfidantServer

@Suite("Delivery: idempotent resend and resume after reconnect")
struct DeliveryTests {
    /// A site, an available agent and a visitor in an active conversation.
    struct Pair {
        let owner: StaffLogin
        let agentLogin: StaffLogin
        let agent: TestSocket
        let visitor: TestVisitor
        let guest: TestSocket
        let conversation: ConversationID
    }

    static func pair(_ server: TestServer, name: String? = nil, email: String? = nil, pageUrl: String? = nil) async throws -> Pair {
        let owner = try await server.owner()
        let site = try await server.site(by: owner)
        let anna = try await server.agent("Anna", by: owner)
        let (agent, _) = try await server.agentSocket(anna)
        let visitor = try await server.visitor(of: site)
        let (guest, _) = try await server.visitorSocket(visitor)
        guest.send(.openConversation(departmentId: nil, name: name, email: email, pageUrl: pageUrl), ref: "open")
        let summary = try #require(try await guest.next(timeout: .seconds(10), "opened") { $0.ref == "open" }.opened)
        _ = try await agent.next(type: "conversation.assigned")
        return Pair(owner: owner, agentLogin: anna, agent: agent, visitor: visitor, guest: guest, conversation: summary.id)
    }

    static func transcriptMessages(_ server: TestServer, _ pair: Pair) async throws -> [MessagePayload] {
        struct Transcript: Decodable { let entries: [ServerEnvelope] }
        let response = try await server.request(.get, "/v1/conversations/\(pair.conversation)/transcript", as: pair.agentLogin)
        return try server.decode(Transcript.self, from: response).entries.compactMap(\.message)
    }

    @Test("A resend of the same client id returns the original ack and stores nothing twice", arguments: TestBackend.allCases)
    func idempotentResend(_ backend: TestBackend) async throws {
        try await TestServer.run(backend) { server in
            let pair = try await Self.pair(server)
            let send = ClientFrame.sendMessage(conversationId: pair.conversation, clientId: "c-1", body: "Where is my parcel?", visibility: .public)
            pair.guest.send(send, ref: "first")
            let first = try #require(try await pair.guest.next(timeout: .seconds(5), "ack") { $0.ref == "first" }.ack)
            pair.guest.send(send, ref: "second")
            let second = try #require(try await pair.guest.next(timeout: .seconds(5), "ack") { $0.ref == "second" }.ack)
            #expect(second.duplicate)
            #expect(!first.duplicate)
            #expect(second.messageId == first.messageId)
            #expect(second.seq == first.seq)
            #expect(second.createdAt == first.createdAt)

            // The same id with other text is a client bug: refused, nothing stored.
            pair.guest.send(.sendMessage(conversationId: pair.conversation, clientId: "c-1", body: "Something else", visibility: .public), ref: "third")
            #expect(try await pair.guest.next(timeout: .seconds(5), "error") { $0.ref == "third" }.errorCode == .clientIDReused)

            // The agent got it once: a later message marks the end of what could arrive.
            pair.guest.send(.sendMessage(conversationId: pair.conversation, clientId: "c-2", body: "Thanks", visibility: .public))
            _ = try await pair.agent.next(timeout: .seconds(5), "c-2") { $0.message?.clientId == "c-2" }
            #expect(try await pair.agent.received { $0.message?.clientId == "c-1" }.count == 1)

            // A resend after the conversation closed still gets its ack.
            pair.agent.send(.close(conversationId: pair.conversation), ref: "close")
            _ = try await pair.guest.next(type: "conversation.closed")
            pair.guest.send(send, ref: "after-close")
            #expect(try await pair.guest.next(timeout: .seconds(5), "ack") { $0.ref == "after-close" }.ack?.messageId == first.messageId)
            pair.guest.send(.sendMessage(conversationId: pair.conversation, clientId: "c-3", body: "new", visibility: .public), ref: "new")
            #expect(try await pair.guest.next(timeout: .seconds(5), "error") { $0.ref == "new" }.errorCode == .invalidState)

            let stored = try await Self.transcriptMessages(server, pair)
            #expect(stored.map(\.clientId) == ["c-1", "c-2"])
        }
    }

    @Test("After a reconnect a client receives exactly what it missed", arguments: TestBackend.allCases)
    func resumeAfterReconnect(_ backend: TestBackend) async throws {
        try await TestServer.run(backend) { server in
            let pair = try await Self.pair(server)
            for index in 1...2 {
                pair.agent.send(.sendMessage(conversationId: pair.conversation, clientId: "a-\(index)", body: "before \(index)", visibility: .public))
            }
            let seen = try await pair.guest.next(timeout: .seconds(5), "a-2") { $0.message?.clientId == "a-2" }
            let lastSeen = try #require(seen.message?.seq)
            pair.guest.close()
            _ = try await pair.guest.closeCode()

            // While the visitor is away: two replies and a note.
            pair.agent.send(.sendMessage(conversationId: pair.conversation, clientId: "a-3", body: "missed 3", visibility: .public))
            pair.agent.send(.sendMessage(conversationId: pair.conversation, clientId: "a-note", body: "note while away", visibility: .internal))
            pair.agent.send(.sendMessage(conversationId: pair.conversation, clientId: "a-4", body: "missed 4", visibility: .public))
            let lastAck = try #require(try await pair.agent.next(timeout: .seconds(5), "ack of a-4") { $0.ack?.clientId == "a-4" }.ack?.seq)

            let (guest, welcome) = try await server.visitorSocket(pair.visitor, resume: [ResumePoint(conversationId: pair.conversation, afterSeq: lastSeen)])
            #expect(welcome.conversations.map(\.id) == [pair.conversation])
            let done = try await guest.next(type: "sync.done")
            #expect(done.frame == .syncDone(conversationId: pair.conversation, lastSeq: lastAck))
            let replayed = try await guest.received { $0.message != nil }.compactMap(\.message)
            #expect(replayed.map(\.body) == ["missed 3", "missed 4"], "exactly the missed public messages, in order, no note, no repeats")

            // Live delivery continues after the catch-up.
            pair.agent.send(.sendMessage(conversationId: pair.conversation, clientId: "a-5", body: "live again", visibility: .public))
            #expect(try await guest.next(type: "message").message?.body == "live again")

            // An explicit sync returns what was asked for, even if this socket saw it already.
            guest.send(.sync(conversationId: pair.conversation, afterSeq: lastSeen), ref: "again")
            let again = try await guest.next(timeout: .seconds(5), "sync.done") { $0.ref == "again" }
            guard case .syncDone(_, let lastSeq) = again.frame else { Issue.record("expected sync.done, got \(again.frame)"); return }
            let bodies = try await guest.received { $0.message != nil }.compactMap(\.message?.body)
            #expect(bodies == ["missed 3", "missed 4", "live again", "missed 3", "missed 4", "live again"])
            #expect(lastSeq == lastAck + 1)
        }
    }

    @Test("A catch-up racing live messages loses nothing and repeats nothing", arguments: TestBackend.allCases)
    func catchUpRacesLiveTraffic(_ backend: TestBackend) async throws {
        // A burst of 70 messages from one visitor is what this test needs and what the default
        // message limit (30 a minute) refuses: raise it here.
        try await TestServer.run(
            backend, configure: { $0.rateLimits = [.messagesPerVisitor: Rate(1000, per: .seconds(1)), .framesPerSocket: Rate(1000, per: .seconds(1))] }
        ) { server in
            let pair = try await Self.pair(server)
            for index in 1...30 {
                pair.guest.send(.sendMessage(conversationId: pair.conversation, clientId: "early-\(index)", body: "early \(index)", visibility: .public))
            }
            _ = try await pair.agent.next(timeout: .seconds(10), "early-30") { $0.message?.clientId == "early-30" }
            pair.agent.close()
            _ = try await pair.agent.closeCode()

            // The agent reconnects from the start while the visitor keeps sending.
            let sender = Task {
                for index in 1...40 {
                    pair.guest.send(.sendMessage(conversationId: pair.conversation, clientId: "live-\(index)", body: "live \(index)", visibility: .public))
                    try await Task.sleep(for: .milliseconds(2))
                }
            }
            let (agent, _) = try await server.agentSocket(
                pair.agentLogin, resume: [ResumePoint(conversationId: pair.conversation, afterSeq: 0)], available: false)
            try await sender.value
            _ = try await agent.next(timeout: .seconds(15), "live-40") { $0.message?.clientId == "live-40" }
            let seqs = try await agent.received { $0.message?.conversationId == pair.conversation || $0.event?.conversationId == pair.conversation }
                .compactMap { $0.message?.seq ?? $0.event?.seq }
            #expect(seqs == Array(1...Int64(seqs.count)), "every entry once, in order")
            #expect(seqs.count == 71, "the assignment, 30 early and 40 live messages")
        }
    }
}
