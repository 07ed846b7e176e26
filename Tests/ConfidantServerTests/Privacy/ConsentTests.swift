import ConfidantCore
import Foundation
import HTTPTypes
import NIOCore
import SQLKit
import Testing

@testable import ConfidantServer

@Suite("Consent records and withdrawal; visitors deleting their own conversations")
struct ConsentTests {
    struct Settings: Encodable {
        struct Consent: Encodable {
            let required = true
            let privacyPolicyUrl = "https://shop.example/privacy"
            let text: String?
            let version: String
        }
        let consent: Consent
        var visitorsMayDeleteConversations = false
    }

    @Test(
        "Consent is asked once per version, recorded with what was shown, exported, and withdrawn from the widget (ending the open conversation)",
        arguments: TestBackend.allCases)
    func consentLifecycle(_ backend: TestBackend) async throws {
        try await TestServer.run(backend) { server in
            let owner = try await server.owner()
            let site = try await server.site(by: owner)
            let (agentSocket, _) = try await server.agentSocket(try await server.agent("Kata", by: owner))
            func configure(version: String) async throws {
                let settings = Settings(consent: .init(text: "I agree to Shop's data processing.", version: version))
                #expect(try await server.request(.patch, "/v1/sites/\(site.id)", json: ["settings": settings], as: owner).status == .ok)
            }
            try await configure(version: "2")
            let visitor = try await server.visitor(of: site)
            var (socket, welcome) = try await server.visitorSocket(visitor)
            #expect(welcome.consent == nil)
            func open(consent: Bool, ref: String) async throws -> ServerEnvelope {
                socket.send(.openConversation(departmentId: nil, name: nil, email: nil, pageUrl: nil, language: "hu", consent: consent), ref: ref)
                return try await socket.next(timeout: .seconds(10), ref) { $0.ref == ref }
            }
            #expect(try await open(consent: false, ref: "o1").errorCode == .consentRequired)
            let first = try #require(try await open(consent: true, ref: "o2").opened)
            let records = try await server.runtime.database.read { try await $0.consentRecords(visitor: visitor.visitorId) }
            #expect(records.count == 1)
            #expect(records.first?.version == "2" && records.first?.text == "I agree to Shop's data processing." && records.first?.language == "hu")
            #expect(records.first?.privacyPolicyUrl == "https://shop.example/privacy" && records.first?.withdrawnAt == nil)

            // Back later: the same version is not asked again.
            socket.send(.close(conversationId: first.id), ref: "c1")
            _ = try await socket.next(timeout: .seconds(10), "closed") { $0.ref == "c1" }
            (socket, welcome) = try await server.visitorSocket(visitor)
            #expect(welcome.consent?.version == "2")
            let second = try #require(try await open(consent: false, ref: "o3").opened)

            // Withdrawal from the widget: the open conversation ends, the record says when.
            socket.send(.withdrawConsent, ref: "w")
            #expect(try await socket.next(timeout: .seconds(10), "withdrawn") { $0.ref == "w" }.frame == .ok)
            // The close comes before the ok (so `next` skipped it): look at everything received.
            #expect(try await !socket.received { $0.frame.type == "conversation.closed" && $0.event?.conversationId == second.id }.isEmpty)
            let withdrawn = try await server.runtime.database.read { try await $0.consentRecords(visitor: visitor.visitorId) }
            #expect(withdrawn.count == 1 && withdrawn.first?.withdrawnAt != nil)
            #expect(try await open(consent: false, ref: "o4").errorCode == .consentRequired, "asked again after withdrawal")
            (socket, welcome) = try await server.visitorSocket(visitor)
            #expect(welcome.consent == nil)

            // A new version asks everyone again.
            _ = try #require(try await open(consent: true, ref: "o5").opened)
            try await configure(version: "3")
            (socket, welcome) = try await server.visitorSocket(visitor)
            #expect(welcome.consent?.version == "2", "what is in force is what was agreed")

            // The export carries every record; staff cannot withdraw for the visitor over the socket.
            struct Export: Decodable { let consents: [ConsentRecord] }
            let export = try server.decode(Export.self, from: try await server.request(.get, "/v1/visitors/\(visitor.visitorId)/export", as: owner))
            #expect(export.consents.count == 2 && export.consents.filter { $0.withdrawnAt != nil }.count == 1)
            agentSocket.send(.withdrawConsent, ref: "sw")
            #expect(try await agentSocket.next(timeout: .seconds(10), "refused") { $0.ref == "sw" }.errorCode == .forbidden)
            let actions = try await server.auditActions(as: owner)
            #expect(actions.contains("consent.withdrawn:success"))
            socket.close()
            agentSocket.close()
        }
    }

    @Test("A visitor deletes a closed conversation of theirs only where the site allows it; nobody else's", arguments: TestBackend.allCases)
    func visitorDeletesConversation(_ backend: TestBackend) async throws {
        try await TestServer.run(backend) { server in
            let owner = try await server.owner()
            let site = try await server.site(by: owner)
            let (agentSocket, _) = try await server.agentSocket(try await server.agent("Kata", by: owner))
            let (guest, opened) = try await RoutingTests.openConversation(server, site)
            guest.send(.sendMessage(conversationId: opened.id, clientId: "m1", body: "delete-me-canary", visibility: .public))
            _ = try await guest.next(type: "message.ack")
            func delete(_ id: ConversationID, on socket: TestSocket, ref: String) async throws -> ServerEnvelope {
                socket.send(.deleteConversation(conversationId: id), ref: ref)
                return try await socket.next(timeout: .seconds(10), ref) { $0.ref == ref }
            }
            #expect(try await delete(opened.id, on: guest, ref: "d1").errorCode == .forbidden, "the site does not allow it yet")
            let allow = Settings(consent: .init(text: nil, version: "1"), visitorsMayDeleteConversations: true)
            #expect(try await server.request(.patch, "/v1/sites/\(site.id)", json: ["settings": allow], as: owner).status == .ok)
            #expect(try await delete(opened.id, on: guest, ref: "d2").errorCode == .invalidState, "open conversations are ended first")
            guest.send(.close(conversationId: opened.id), ref: "c")
            _ = try await guest.next(timeout: .seconds(10), "closed") { $0.ref == "c" }

            let (stranger, _) = try await server.visitorSocket(try await server.visitor(of: site))
            #expect(try await delete(opened.id, on: stranger, ref: "d3").errorCode == .conversationNotFound, "someone else's looks missing")
            #expect(try await delete(opened.id, on: guest, ref: "d4").frame == .ok)
            #expect(try await server.request(.get, "/v1/conversations/\(opened.id)/transcript", as: owner).status == .notFound)
            let left = try await server.runtime.database.read {
                try await $0.scalar("SELECT COUNT(*) AS n FROM messages WHERE conversation_id = \(bind: opened.id.rawValue)", column: "n", as: Int.self)
            }
            #expect(left == 0)
            #expect(try await server.auditActions(as: owner).contains("conversation.deleted:success"))
            guest.close()
            stranger.close()
            agentSocket.close()
        }
    }
}
