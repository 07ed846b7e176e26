import ConfidantCore
import Foundation
import HTTPTypes
import Testing

@Suite("Durability: an acknowledged message survives SIGKILL")
struct KillTests {
    @Test("Kill the server mid-stream: every acknowledged message is there exactly once after restart", arguments: TestBackend.allCases)
    func acknowledgedMessagesSurviveSIGKILL(_ backend: TestBackend) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("confidant-kill-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var arguments = ["--data-dir", directory]
        if let url = try await backend.freshDatabaseURL() { arguments += ["--database-url", url] }
        let environment = ServerProcess.streamingEnvironment

        let password = "kill-test-password"
        let created = try ServerProcess.command(
            ["admin", "create", "--email", "owner@example.com", "--password-stdin"] + arguments, stdin: password + "\n", environment: environment)
        try #require(created.status == 0, "admin create failed: \(created.output)")

        // First life: a visitor streams 3000 messages without waiting; kill after 100 acks. (A fast
        // machine stored all of 300 before the kill landed; 3000 keeps the kill mid-stream.)
        let first = try await ServerProcess.start(arguments, environment: environment)
        var server = first.client(backend: backend)
        let owner = try await server.login(email: "owner@example.com", password: password)
        let site = try await server.site(by: owner)
        let (agent, _) = try await server.agentSocket(owner)
        let visitor = try await server.visitor(of: site)
        let (guest, _) = try await server.visitorSocket(visitor)
        guest.send(.openConversation(departmentId: nil, name: nil, email: nil, pageUrl: nil), ref: "open")
        let conversation = try #require(try await guest.next(timeout: .seconds(10), "opened") { $0.ref == "open" }.opened).id
        let total = 3000
        for index in 0..<total {
            guest.send(.sendMessage(conversationId: conversation, clientId: "m-\(index)", body: "message \(index)", visibility: .public))
        }
        var acked: [String: MessageAck] = [:]
        while acked.count < 100 {
            let ack = try #require(try await guest.next(type: "message.ack").ack)
            acked[ack.clientId] = ack
        }
        first.kill()
        // Acks that were already on the wire when the process died count too.
        for envelope in try await guest.received(where: { $0.ack != nil }) { acked[envelope.ack!.clientId] = envelope.ack! }
        _ = agent

        // Second life: every acknowledged message is stored, once, with its sequence number.
        let second = try await ServerProcess.start(arguments, environment: environment)
        defer { second.stop() }
        server = second.client(backend: backend)
        let again = try await server.login(email: "owner@example.com", password: password)
        struct Transcript: Decodable { let entries: [ServerEnvelope] }
        let transcript = try server.decode(Transcript.self, from: try await server.request(.get, "/v1/conversations/\(conversation)/transcript", as: again))
        let stored = transcript.entries.compactMap(\.message)
        let storedByClient = Dictionary(grouping: stored, by: \.clientId)
        #expect(acked.count >= 100)
        #expect(acked.count < total, "the kill must land mid-stream for this test to mean anything")
        for (clientId, ack) in acked {
            #expect(storedByClient[clientId]?.count == 1, "\(clientId) was acknowledged but is stored \(storedByClient[clientId]?.count ?? 0) times")
            #expect(storedByClient[clientId]?.first?.seq == ack.seq)
            #expect(storedByClient[clientId]?.first?.id == ack.messageId)
        }
        #expect(Set(stored.map(\.seq)).count == stored.count, "no sequence number is used twice")

        // The visitor resends everything up to 100 past the last message stored (nothing later
        // reached the server's disk): acknowledged ones come back as duplicates, the rest are
        // stored now; in the end each message up to there exists exactly once.
        let lastStored = stored.compactMap { Int($0.clientId.dropFirst(2)) }.max() ?? -1
        let resent = min(total, lastStored + 101)
        let (resender, _) = try await server.visitorSocket(visitor)
        for index in 0..<resent {
            resender.send(.sendMessage(conversationId: conversation, clientId: "m-\(index)", body: "message \(index)", visibility: .public))
        }
        var duplicates = 0
        for _ in 0..<resent {
            let ack = try #require(try await resender.next(type: "message.ack").ack)
            if let earlier = acked[ack.clientId] {
                #expect(ack.duplicate && ack.seq == earlier.seq)
                duplicates += 1
            }
        }
        #expect(duplicates == acked.count)
        let final = try server.decode(Transcript.self, from: try await server.request(.get, "/v1/conversations/\(conversation)/transcript", as: again))
        #expect(final.entries.compactMap(\.message).map(\.clientId).sorted() == (0..<resent).map { "m-\($0)" }.sorted())
    }
}
