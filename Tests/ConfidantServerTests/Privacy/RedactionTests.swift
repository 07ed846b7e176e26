import ConfidantCore
import Foundation
import HTTPTypes
import Testing

/// Redaction on arrival, end to end against a `confidant serve` process: what a visitor types
/// reaches the agent, the transcript, the database files and the log only masked.
@Suite("Redaction on arrival")
struct RedactionTests {
    /// Card numbers as visitors type them (published test numbers of five schemes).
    static let cards = ["4111 1111 1111 1111", "5555-5555-5555-4444", "378282246310005", "6011 0009 9013 9424", "3530111333300000"]
    /// Numbers that must survive: a phone number, an order number, a date, a Luhn failure.
    static let survivors = ["+36 30 123 4567", "order 100200300401", "2026-11-22", "4111 1111 1111 1112"]

    @Test("No card number reaches the agent, the transcript, the database files or the log; other numbers survive")
    func cardsNeverReachDiskOrOtherClients() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("confidant-redaction-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let arguments = ["--data-dir", directory, "--log-level", "trace"]
        let environment = ServerProcess.streamingEnvironment
        let (process, server, owner) = try await ServerProcess.startWithOwner(arguments, password: "redaction-test-password", environment: environment)
        let site = try await server.site(by: owner)
        let patched = try await server.request(.patch, "/v1/sites/\(site.id)", json: ["settings": ["redactionPatterns": ["POL-######"]]], as: owner)
        #expect(patched.status == .ok)
        let (agent, _) = try await server.agentSocket(owner)
        let visitor = try await server.visitor(of: site)
        let (guest, _) = try await server.visitorSocket(visitor)
        guest.send(.openConversation(departmentId: nil, name: nil, email: nil, pageUrl: nil), ref: "open")
        let conversation = try #require(try await guest.next(timeout: .seconds(10), "opened") { $0.ref == "open" }.opened).id

        let typed = Self.cards.map { "My card is \($0), cvv 321" } + Self.survivors.map { "Call me at \($0)" } + ["My policy is POL-123456"]
        for (index, text) in typed.enumerated() {
            guest.send(.sendMessage(conversationId: conversation, clientId: "m-\(index)", body: text, visibility: .public))
            let ack = try #require(try await guest.next(type: "message.ack").ack)
            let delivered = try #require(try await agent.next(type: "message").message)
            if index < Self.cards.count || index == typed.count - 1 {
                // The sender is told what was stored, and shows that instead of what was typed.
                #expect(ack.body == delivered.body && delivered.redactions?.isEmpty == false, "\(text)")
                #expect(!delivered.body.contains(index < Self.cards.count ? Self.cards[index] : "123456"), "\(delivered.body)")
                #expect(!delivered.body.contains("321"), "the CVV beside the card: \(delivered.body)")
            } else {
                #expect(ack.body == nil && delivered.redactions == nil && delivered.body == text, "\(text) must survive")
            }
        }
        // Staff notes and offline messages go through the same redaction.
        agent.send(.accept(conversationId: conversation), ref: "accept")
        agent.send(.sendMessage(conversationId: conversation, clientId: "note", body: "Visitor said 4111111111111111", visibility: .internal))
        #expect(try await agent.next(type: "message.ack").ack?.body == "Visitor said 411111••••••1111")
        guest.send(.leaveOfflineMessage(clientId: "off", departmentId: nil, name: nil, email: nil, body: "Card 5555555555554444"), ref: "off")
        _ = try await guest.next(type: "offline.ack")

        struct Transcript: Decodable { let entries: [ServerEnvelope] }
        let transcript = try server.decode(Transcript.self, from: try await server.request(.get, "/v1/conversations/\(conversation)/transcript", as: owner))
        let bodies = transcript.entries.compactMap(\.message).map(\.body)
        #expect(bodies.count == typed.count + 1)
        for survivor in Self.survivors { #expect(bodies.contains("Call me at \(survivor)")) }
        struct Offline: Decodable { let items: [OfflineItem] }
        struct OfflineItem: Decodable { let body: String }
        let offline = try server.decode(Offline.self, from: try await server.request(.get, "/v1/offline-messages", as: owner))
        #expect(offline.items.map(\.body) == ["Card 555555••••••4444"])

        process.stop()
        // Every file the server wrote (database, WAL, key store) and everything it logged at
        // trace level: no card number in any typed form, nor its bare digits.
        var haystacks: [(String, Data)] = [("log", Data(process.log.utf8))]
        for file in try FileManager.default.contentsOfDirectory(atPath: directory) {
            haystacks.append((file, try Data(contentsOf: URL(fileURLWithPath: directory).appendingPathComponent(file))))
        }
        #expect(haystacks.count >= 3)
        for card in Self.cards + ["4111111111111111", "5555555555554444", "POL-123456"] {
            let needles = [card, card.filter(\.isNumber)].map { Data($0.utf8) }
            for (name, data) in haystacks {
                for needle in needles { #expect(data.range(of: needle) == nil, "\(card) found in \(name)") }
            }
        }
    }
}
