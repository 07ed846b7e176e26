import ConfidantCore
import Foundation
import HTTPTypes
import NIOCore
import SQLKit
import Testing

@testable import ConfidantServer

@Suite("Spam and unwanted visitors: blocklists, bans, duplicates, links, form traps")
struct SpamTests {
    @Test("Patterns are globs matched in bounded time, whatever the input")
    func patterns() {
        #expect(SpamGuard.matches(pattern: "casino", in: "Best CASINO bonus"))
        #expect(SpamGuard.matches(pattern: "free*money", in: "get FREE easy money now"))
        #expect(!SpamGuard.matches(pattern: "free*money", in: "money for free"))
        #expect(SpamGuard.matches(pattern: "a.b(c)", in: "x a.b(c) y"), "nothing but * is special")
        #expect(!SpamGuard.matches(pattern: "a.b", in: "axb"))
        let clock = ContinuousClock()
        let start = clock.now
        #expect(!SpamGuard.matches(pattern: "*a*a*a*a*a*a*a*a*a*a*b", in: String(repeating: "a", count: 4000)))
        #expect(clock.now - start < .seconds(2), "the classic catastrophic-backtracking input is quick")
        #expect(SpamGuard.links(in: "see https://www.x.example and http://y.example or www.z.example") == 3)
    }

    @Test("Blocked addresses, patterns and banned visitors get a neutral answer; nothing is stored or queued; expiry lifts an entry")
    func blocklists() async throws {
        try await TestServer.run(.sqlite, configure: { $0.trustedProxies = ["127.0.0.1/32"] }) { server in
            let owner = try await server.owner()
            let site = try await server.site(by: owner)
            let agent = try await server.agent("Bori", by: owner, maxConversations: 10)
            let (agentSocket, _) = try await server.agentSocket(agent)
            func add(_ kind: String, _ value: String) async throws -> HTTPReply {
                try await server.request(.post, "/v1/sites/\(site.id)/blocklist", json: ["kind": kind, "value": value, "reason": "test"], as: owner)
            }
            #expect(try await add("address", "10.9.0.0/16").status == .created)
            #expect(try await add("pattern", "*casino*").status == .created)
            #expect(try await add("address", "not-a-network").status == .badRequest)
            #expect(try await add("pattern", "**").status == .badRequest)
            #expect(try await server.request(.post, "/v1/sites/\(site.id)/blocklist", json: ["kind": "visitor", "value": "x"], as: agent).status == .forbidden)

            let blocked = try await server.visitor(of: site)
            let (blockedSocket, _) = try await server.visitorSocket(blocked, headers: [.init("X-Forwarded-For")!: "10.9.1.2"])
            blockedSocket.send(.openConversation(departmentId: nil, name: nil, email: nil, pageUrl: nil), ref: "o")
            let refused = try await blockedSocket.next { $0.ref == "o" }
            #expect(refused.errorCode == .chatUnavailable)
            if case .error(_, let message, _) = refused.frame { #expect(message == "Chat is not available right now.", "neutral: no word of a block") }
            blockedSocket.send(
                .leaveOfflineMessage(clientId: "off-1", departmentId: nil, name: nil, email: nil, body: "let me in"), ref: "off")
            #expect(try await blockedSocket.next { $0.ref == "off" }.errorCode == .chatUnavailable)

            let (visitor, conversation) = try await RoutingTests.openConversation(server, site)
            visitor.send(.sendMessage(conversationId: conversation.id, clientId: "m1", body: "Play at my CASINO tonight", visibility: .public), ref: "m1")
            #expect(try await visitor.next { $0.ref == "m1" }.errorCode == .chatUnavailable)
            visitor.send(.sendMessage(conversationId: conversation.id, clientId: "m2", body: "Where is my parcel?", visibility: .public), ref: "m2")
            #expect(try await visitor.next { $0.ref == "m2" }.ack != nil)
            _ = try await agentSocket.next(timeout: .seconds(10), "the real message") { $0.message?.body == "Where is my parcel?" }
            #expect(try await agentSocket.received { $0.message?.body.contains("CASINO") == true }.isEmpty, "the agent never saw the spam")

            // An agent bans the visitor in one action: the conversation closes and the visitor is refused from then on.
            let ban = try await server.request(.post, "/v1/conversations/\(conversation.id)/ban", json: ["reason": "abuse"], as: agent)
            #expect(ban.status == .created)
            _ = try await visitor.next(timeout: .seconds(10), "the close") { $0.frame.type == "conversation.closed" }
            visitor.send(.openConversation(departmentId: nil, name: nil, email: nil, pageUrl: nil), ref: "again")
            #expect(try await visitor.next { $0.ref == "again" }.errorCode == .chatUnavailable)

            struct Conversations: Decodable { let items: [ConversationSummary] }
            let all = try server.decode(Conversations.self, from: try await server.request(.get, "/v1/conversations?view=history", as: owner)).items
            #expect(all.count == 1, "the blocked visitor created no conversation")
            let transcript = try server.decode(
                TranscriptBody.self, from: try await server.request(.get, "/v1/conversations/\(conversation.id)/transcript", as: owner))
            #expect(transcript.entries.filter { $0.type == "message" }.count == 1)

            // Expired entries do not count; removed ones stop counting at once.
            try await server.runtime.database.transaction { store in
                try await store.run("UPDATE blocklist_entries SET expires_at = \(bind: nowMillis() - 1) WHERE kind = 'address'")
            }
            struct Entries: Decodable {
                struct Entry: Decodable {
                    let id: String
                    let kind: String
                }
                let items: [Entry]
            }
            let entries = try server.decode(Entries.self, from: try await server.request(.get, "/v1/sites/\(site.id)/blocklist", as: owner)).items
            #expect(Set(entries.map(\.kind)) == ["pattern", "visitor"], "the expired address entry is gone from the list")
            try await Task.sleep(for: .milliseconds(Int(SpamGuard.cacheLifetime) + 200))
            blockedSocket.send(.openConversation(departmentId: nil, name: nil, email: nil, pageUrl: nil), ref: "o2")
            #expect(try await blockedSocket.next { $0.ref == "o2" }.opened != nil, "the expired block no longer applies")
            let pattern = try #require(entries.first { $0.kind == "pattern" })
            #expect(try await server.request(.delete, "/v1/sites/\(site.id)/blocklist/\(pattern.id)", as: owner).status == .noContent)
            let audit = try await server.auditActions(as: owner)
            #expect(
                audit.contains("visitor.banned:success") && audit.contains("site.blocklist.added:success") && audit.contains("site.blocklist.removed:success"))
        }
    }

    @Test("Duplicate messages and link-stuffed messages from unverified visitors are refused; honeypots and instant forms too")
    func spam() async throws {
        try await TestServer.run(.sqlite) { server in
            let owner = try await server.owner()
            let site = try await server.site(by: owner)
            let agent = try await server.agent("Dani", by: owner, maxConversations: 10)
            let (agentSocket, _) = try await server.agentSocket(agent)
            let (visitor, conversation) = try await RoutingTests.openConversation(server, site)
            func send(_ body: String, _ ref: String) async throws -> ServerEnvelope {
                visitor.send(.sendMessage(conversationId: conversation.id, clientId: ref, body: body, visibility: .public), ref: ref)
                return try await visitor.next { $0.ref == ref }
            }
            #expect(try await send("Hello, anyone there?", "d1").ack != nil)
            #expect(try await send("hello,   ANYONE there?", "d2").errorCode == .duplicateMessage, "the same text, however spaced or cased")
            #expect(try await send("Hello, anyone there? Please.", "d3").ack != nil)
            #expect(try await send("https://a.example https://b.example", "l1").ack != nil, "two links are fine")
            #expect(try await send("https://a.example www.b.example http://c.example", "l2").errorCode == .tooManyLinks)

            // Form traps on the pre-chat and offline forms.
            for (form, why) in [
                (FormSignals(honeypot: "http://spam.example", fillMs: 5000), "honeypot filled"), (FormSignals(honeypot: "", fillMs: 300), "sent in 0.3 s"),
            ] {
                let other = try await server.visitor(of: site)
                let (socket, _) = try await server.visitorSocket(other)
                socket.send(.openConversation(departmentId: nil, name: nil, email: nil, pageUrl: nil, form: form), ref: "f")
                #expect(try await socket.next { $0.ref == "f" }.errorCode == .chatUnavailable, "\(why)")
                socket.send(.leaveOfflineMessage(clientId: "off", departmentId: nil, name: nil, email: nil, body: "hi", form: form), ref: "g")
                #expect(try await socket.next { $0.ref == "g" }.errorCode == .chatUnavailable, "\(why)")
            }
            let person = try await server.visitor(of: site)
            let (socket, _) = try await server.visitorSocket(person)
            socket.send(.openConversation(departmentId: nil, name: nil, email: nil, pageUrl: nil, form: FormSignals(honeypot: "", fillMs: 4200)), ref: "p")
            #expect(try await socket.next { $0.ref == "p" }.opened != nil, "a person who took 4 s")
            withExtendedLifetime(agentSocket) {}
        }
    }

    @Test("Verified visitors may send links")
    func verifiedLinks() async throws {
        try await TestServer.run(.sqlite) { server in
            let owner = try await server.owner()
            let site = try await server.site(by: owner)
            let agent = try await server.agent("Emma", by: owner)
            let (agentSocket, _) = try await server.agentSocket(agent)
            let secret = try await VerifiedVisitorTests.rotate(site, on: server, by: owner)
            let token = try VerifiedVisitorTests.token(VerifiedVisitorTests.claims(site: site), secret: secret)
            let session = try server.decode(
                VerifiedVisitorTests.Session.self,
                from: try await server.request(.post, "/v1/visitor/sessions", json: ["siteKey": site.widgetKey, "identityToken": token]))
            let (socket, _) = try await server.visitorSocket(TestVisitor(token: session.token, visitorId: session.visitorId, siteId: site.id))
            socket.send(.openConversation(departmentId: nil, name: nil, email: nil, pageUrl: nil), ref: "o")
            let conversation = try #require(try await socket.next { $0.ref == "o" }.opened)
            socket.send(
                .sendMessage(
                    conversationId: conversation.id, clientId: "l", body: "https://a.example https://b.example https://c.example", visibility: .public),
                ref: "l")
            #expect(try await socket.next { $0.ref == "l" }.ack != nil)
            withExtendedLifetime(agentSocket) {}
        }
    }
}
