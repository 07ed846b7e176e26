import ConfidantCore
import Foundation
import HTTPTypes
import Testing

@testable import ConfidantServer

@Suite("Retention")
struct RetentionTests {
    @Test(
        "On the site's schedule, closed conversations go and a visitor left with none is erased; open ones stay; each run is audited",
        arguments: TestBackend.allCases)
    func deletesOnSchedule(_ backend: TestBackend) async throws {
        try await TestServer.run(backend) { server in
            let owner = try await server.owner()
            let site = try await server.site(by: owner)
            #expect(try await server.request(.patch, "/v1/sites/\(site.id)", json: ["settings": ["retentionDays": 30]], as: owner).status == .ok)
            let (agent, _) = try await server.agentSocket(owner)
            let (closing, closed) = try await RoutingTests.openConversation(server, site)
            closing.send(.sendMessage(conversationId: closed.id, clientId: "c-1", body: "Thanks, that was all.", visibility: .public))
            _ = try await closing.next(type: "message.ack")
            closing.send(.close(conversationId: closed.id), ref: "close")
            _ = try await closing.next(timeout: .seconds(10), "closed") { $0.ref == "close" }
            let (_, open) = try await RoutingTests.openConversation(server, site)

            let sweeper = RetentionSweeper(
                database: server.runtime.database, visitors: try await ApplicationParts(server.runtime).visitors, interval: .seconds(3600),
                logger: TestServer.logger)
            let day: Int64 = 86_400_000
            // 29 days on: nothing is due.
            #expect(try await sweeper.sweep(now: nowMillis() + 29 * day) == RetentionReport())
            #expect(try await server.request(.get, "/v1/conversations/\(closed.id)", as: owner).status == .ok)

            // 31 days on: the closed conversation and its visitor go; the open one stays.
            let report = try await sweeper.sweep(now: nowMillis() + 31 * day)
            #expect(report == RetentionReport(conversations: 1, messages: 1, offlineMessages: 0, visitorsErased: 1))
            #expect(try await server.request(.get, "/v1/conversations/\(closed.id)", as: owner).status == .notFound)
            #expect(try await server.request(.get, "/v1/conversations/\(open.id)", as: owner).status == .ok)
            await #expect(throws: ConfidantError.self) { _ = try await server.runtime.keys.dataKey(for: closed.visitorId) }
            _ = try await server.runtime.keys.dataKey(for: open.visitorId)

            let audit = try await server.runtime.database.read { try await $0.auditEvents(before: nil, action: nil, limit: 50) }.map(\.event)
            let run = try #require(audit.first { $0.action == "retention.run" })
            #expect(run.actorKind == .system && run.details["conversations"] == "1" && run.details["visitorsErased"] == "1")
            #expect(audit.contains { $0.action == "visitor.erased" && $0.actorKind == .system && $0.targetId == closed.visitorId.rawValue })
            #expect(audit.filter { $0.action == "retention.run" }.count == 1, "a run that removed nothing leaves no entry")
            #expect(try await AuditChain.verify(server.runtime.database, against: nil).problem == nil)
            agent.close()
        }
    }
}
