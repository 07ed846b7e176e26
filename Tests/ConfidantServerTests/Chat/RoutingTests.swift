import ConfidantCore
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

@testable import ConfidantServer

@Suite("Routing: limits, the queue, transfers, offline")
struct RoutingTests {
    /// Opens a conversation for a fresh visitor and returns the visitor socket and its summary.
    static func openConversation(_ server: TestServer, _ site: TestSite, department: DepartmentID? = nil) async throws -> (TestSocket, ConversationSummary) {
        let visitor = try await server.visitor(of: site)
        let (socket, _) = try await server.visitorSocket(visitor)
        socket.send(.openConversation(departmentId: department, name: nil, email: nil, pageUrl: nil), ref: "open")
        let reply = try await socket.next(timeout: .seconds(10), "open reply") { $0.ref == "open" }
        return (socket, try #require(reply.opened, "open failed: \(reply.frame)"))
    }

    @Test("The least-busy agent gets the conversation; at their limits it queues with positions", arguments: TestBackend.allCases)
    func leastBusyThenQueue(_ backend: TestBackend) async throws {
        try await TestServer.run(backend) { server in
            let owner = try await server.owner()
            let site = try await server.site(by: owner)
            let anna = try await server.agent("Anna", by: owner, maxConversations: 2)
            let ben = try await server.agent("Ben", by: owner, maxConversations: 1)
            let (annaSocket, _) = try await server.agentSocket(anna)
            let (benSocket, _) = try await server.agentSocket(ben)

            var assignedTo: [String] = []
            var bensConversation: ConversationID?
            var visitors: [TestSocket] = []
            for _ in 0..<3 {
                let (visitor, summary) = try await Self.openConversation(server, site)
                #expect(summary.state == .active)
                assignedTo.append(summary.agent?.name ?? "")
                if summary.agent?.name == "Ben" { bensConversation = summary.id }
                visitors.append(visitor)
            }
            // Anna and Ben start equal (Anna's id breaks no tie: the one who waited longest wins);
            // after one each, Ben is at his limit of 1, so the third goes to Anna.
            #expect(Set(assignedTo.prefix(2)) == ["Anna", "Ben"])
            #expect(assignedTo[2] == "Anna")

            // Everyone is at their limit now: the next two wait, in order, and are told where.
            let (fourth, fourthSummary) = try await Self.openConversation(server, site)
            #expect(fourthSummary.state == .queued)
            #expect(fourthSummary.queuePosition == 1)
            let (fifth, fifthSummary) = try await Self.openConversation(server, site)
            #expect(fifthSummary.queuePosition == 2)
            #expect(fifthSummary.expectedWaitSeconds == 120, "without waiting history: a minute per place")
            let queue = try await annaSocket.next(timeout: .seconds(10), "queue of 2") {
                if case .queue(nil, let entries) = $0.frame { return entries.count == 2 }
                return false
            }
            guard case .queue(_, let entries) = queue.frame else { return }
            #expect(entries.map(\.conversationId) == [fourthSummary.id, fifthSummary.id])
            #expect(entries.map(\.position) == [1, 2])

            // Accepting beyond the limit is refused.
            benSocket.send(.accept(conversationId: fourthSummary.id), ref: "accept")
            #expect(try await benSocket.next(timeout: .seconds(5), "accept error") { $0.ref == "accept" }.errorCode == .limitReached)

            // Ben closes his conversation: capacity frees up and the oldest waiting one is his.
            benSocket.send(.close(conversationId: try #require(bensConversation)), ref: "close")
            let reassigned = try #require(try await fourth.next(type: "conversation.assigned").event)
            #expect(reassigned.agent?.name == "Ben")
            // The fifth visitor moves up to position 1.
            let moved = try await fifth.next(timeout: .seconds(10), "new position") {
                if case .queuePosition(fifthSummary.id, 1, 1, _) = $0.frame { return true }
                return false
            }
            guard case .queuePosition(_, _, _, let expectedWait) = moved.frame else { return }
            #expect(expectedWait >= 1, "an estimate is always given")
            _ = visitors
        }
    }

    @Test("Away agents, and agents whose sockets closed, get nothing; with nobody online visitors leave offline messages", arguments: TestBackend.allCases)
    func availabilityAndOffline(_ backend: TestBackend) async throws {
        try await TestServer.run(backend) { server in
            let owner = try await server.owner()
            let site = try await server.site(by: owner)
            let anna = try await server.agent("Anna", by: owner)

            // Nobody connected: no conversation, the offline form instead.
            let visitor = try await server.visitor(of: site)
            let (guest, welcome) = try await server.visitorSocket(visitor)
            #expect(welcome.agentsOnline == false)
            guest.send(.openConversation(departmentId: nil, name: nil, email: nil, pageUrl: nil), ref: "open")
            #expect(try await guest.next(timeout: .seconds(5), "refusal") { $0.ref == "open" }.errorCode == .noAgentsOnline)
            let leave = ClientFrame.leaveOfflineMessage(
                clientId: "off-1", departmentId: nil, name: "Vera", email: "vera@example.com", body: "Call me back please")
            guest.send(leave, ref: "leave")
            let ack = try await guest.next(timeout: .seconds(5), "offline ack") { $0.ref == "leave" }
            guard case .offlineAck("off-1", let offlineID) = ack.frame else { Issue.record("no offline ack: \(ack.frame)"); return }
            guest.send(leave, ref: "again")
            #expect(try await guest.next(timeout: .seconds(5), "second ack") { $0.ref == "again" }.frame == .offlineAck(clientId: "off-1", id: offlineID))

            struct Offline: Decodable {
                let id: OfflineMessageID
                let name: String?
                let email: String?
                let body: String
                let handledAt: Int64?
            }
            struct List: Decodable { let items: [Offline] }
            let list = try server.decode(List.self, from: try await server.request(.get, "/v1/offline-messages", as: anna))
            #expect(list.items.count == 1, "a resend with the same client id stores nothing new")
            #expect(list.items.first?.body == "Call me back please")
            #expect(list.items.first?.email == "vera@example.com")
            #expect(try await server.request(.post, "/v1/offline-messages/\(offlineID)/handled", as: anna).status == .noContent)
            #expect(try server.decode(List.self, from: try await server.request(.get, "/v1/offline-messages", as: anna)).items.isEmpty)

            // Connected but away: still offline for visitors.
            let (annaSocket, _) = try await server.agentSocket(anna, available: false)
            guest.send(.openConversation(departmentId: nil, name: nil, email: nil, pageUrl: nil), ref: "open2")
            #expect(try await guest.next(timeout: .seconds(5), "refusal") { $0.ref == "open2" }.errorCode == .noAgentsOnline)

            // Available: routed.
            annaSocket.send(.setAvailability(.available), ref: "on")
            _ = try await annaSocket.next(timeout: .seconds(5), "ok") { $0.ref == "on" }
            guest.send(.openConversation(departmentId: nil, name: nil, email: nil, pageUrl: nil), ref: "open3")
            #expect(try await guest.next(timeout: .seconds(5), "opened") { $0.ref == "open3" }.opened?.state == .active)

            // Her only socket closes: she is offline for routing at once.
            annaSocket.close()
            let (other, _) = try await Self.visitorAfterOffline(server, site)
            _ = other
        }
    }

    /// Waits until a new visitor is refused with `no_agents_online`.
    static func visitorAfterOffline(_ server: TestServer, _ site: TestSite) async throws -> (TestSocket, ErrorCode?) {
        let visitor = try await server.visitor(of: site)
        let (socket, _) = try await server.visitorSocket(visitor)
        for attempt in 0..<50 {
            socket.send(.openConversation(departmentId: nil, name: nil, email: nil, pageUrl: nil), ref: "o\(attempt)")
            let reply = try await socket.next(timeout: .seconds(5), "reply") { $0.ref == "o\(attempt)" }
            if reply.errorCode == .noAgentsOnline { return (socket, reply.errorCode) }
            try await Task.sleep(for: .milliseconds(50))
        }
        Issue.record("the agent still counted as online after her socket closed")
        return (socket, nil)
    }

    @Test("Departments route to their own agents; transfers to an agent or a department", arguments: TestBackend.allCases)
    func departmentsAndTransfers(_ backend: TestBackend) async throws {
        try await TestServer.run(backend) { server in
            let owner = try await server.owner()
            let site = try await server.site(by: owner)
            let sales = try await server.department("Sales", by: owner)
            let billing = try await server.department("Billing", by: owner)
            let anna = try await server.agent("Anna", by: owner, departments: [sales])
            let ben = try await server.agent("Ben", by: owner, departments: [sales])
            let carl = try await server.agent("Carl", by: owner, departments: [billing])
            let (annaSocket, _) = try await server.agentSocket(anna)
            let (benSocket, _) = try await server.agentSocket(ben)
            let (carlSocket, _) = try await server.agentSocket(carl)

            let (guest, summary) = try await Self.openConversation(server, site, department: billing)
            #expect(summary.agent?.name == "Carl")
            #expect(summary.departmentId == billing)
            let conversation = summary.id
            _ = try await carlSocket.next(type: "conversation.assigned")

            // Anna (Sales) may not touch a Billing conversation she is not assigned to.
            annaSocket.send(.sendMessage(conversationId: conversation, clientId: "x", body: "hi", visibility: .internal), ref: "peek")
            #expect(try await annaSocket.next(timeout: .seconds(5), "refusal") { $0.ref == "peek" }.errorCode == .conversationNotFound)

            // Carl transfers to the Sales department: routed to a Sales agent.
            carlSocket.send(.transfer(conversationId: conversation, toAgentId: nil, toDepartmentId: sales), ref: "t1")
            _ = try await carlSocket.next(timeout: .seconds(5), "ok") { $0.ref == "t1" }
            let transferred = try #require(try await guest.next(type: "conversation.transferred").event)
            #expect(transferred.fromAgent?.name == "Carl")
            #expect(transferred.departmentId == sales)
            let assigned = try #require(try await guest.next(type: "conversation.assigned").event)
            let salesAgent = try #require(assigned.agent?.name)
            #expect(["Anna", "Ben"].contains(salesAgent))
            #expect(assigned.seq == transferred.seq + 1)
            let (holder, holderLogin, otherSocket, otherLogin) = salesAgent == "Anna" ? (annaSocket, anna, benSocket, ben) : (benSocket, ben, annaSocket, anna)
            _ = try await holder.next(type: "conversation.assigned")

            // The holder transfers to the other Sales agent directly.
            holder.send(.transfer(conversationId: conversation, toAgentId: otherLogin.agentId, toDepartmentId: nil), ref: "t2")
            _ = try await holder.next(timeout: .seconds(5), "ok") { $0.ref == "t2" }
            let direct = try #require(try await otherSocket.next(type: "conversation.transferred").event)
            #expect(direct.agent?.id == otherLogin.agentId.rawValue)
            #expect(direct.fromAgent?.id == holderLogin.agentId.rawValue)
            // The former holder hears of it too, and may no longer reply.
            _ = try await holder.next(type: "conversation.transferred")
            holder.send(.sendMessage(conversationId: conversation, clientId: "late", body: "still here?", visibility: .public), ref: "late")
            #expect(try await holder.next(timeout: .seconds(5), "refusal") { $0.ref == "late" }.errorCode == .invalidState)

            // A transfer to an agent outside the department, or offline, is refused.
            otherSocket.send(.transfer(conversationId: conversation, toAgentId: carl.agentId, toDepartmentId: nil), ref: "t3")
            #expect(try await otherSocket.next(timeout: .seconds(5), "refusal") { $0.ref == "t3" }.errorCode == .agentUnavailable)

            // The new holder can reply; the visitor gets it.
            otherSocket.send(.sendMessage(conversationId: conversation, clientId: "o-1", body: "I can help with that", visibility: .public))
            #expect(try await guest.next(type: "message").message?.author.id == otherLogin.agentId.rawValue)
        }
    }

    @Test("Agents accept from the queue of their department", arguments: TestBackend.allCases)
    func acceptFromQueue(_ backend: TestBackend) async throws {
        try await TestServer.run(backend) { server in
            let owner = try await server.owner()
            let site = try await server.site(by: owner)
            let anna = try await server.agent("Anna", by: owner, maxConversations: 1)
            let ben = try await server.agent("Ben", by: owner, maxConversations: 1)
            let (annaSocket, _) = try await server.agentSocket(anna)
            let (_, first) = try await Self.openConversation(server, site)
            #expect(first.agent?.name == "Anna")
            let (guest, second) = try await Self.openConversation(server, site)
            #expect(second.state == .queued)

            // Ben connects but stays away; he takes the conversation by hand.
            let (benSocket, benWelcome) = try await server.agentSocket(ben, available: false)
            #expect(benWelcome.queue?.map(\.conversationId) == [second.id])
            benSocket.send(.accept(conversationId: second.id), ref: "take")
            _ = try await benSocket.next(timeout: .seconds(5), "ok") { $0.ref == "take" }
            let assigned = try #require(try await guest.next(type: "conversation.assigned").event)
            #expect(assigned.agent?.name == "Ben")
            #expect(assigned.actor.name == "Ben")
            // Taking it again fails: it left the queue.
            annaSocket.send(.accept(conversationId: second.id), ref: "late")
            #expect(try await annaSocket.next(timeout: .seconds(5), "refusal") { $0.ref == "late" }.errorCode == .invalidState)
        }
    }
}
