import Testing

@testable import ConfidantCore

@Suite("Policies: routing, permissions, conversation states")
struct PolicyTests {
    static func candidate(_ id: AgentID, active: Int, max: Int, last: Int64) -> RoutingCandidate {
        RoutingCandidate(agentID: id, activeConversations: active, maxConversations: max, lastAssignedAt: last)
    }

    @Test("The least-busy agent under their limit wins; ties go to who waited longest")
    func routing() {
        let a = AgentID(), b = AgentID(), c = AgentID()
        #expect(RoutingPolicy.choose(from: []) == nil)
        #expect(RoutingPolicy.choose(from: [Self.candidate(a, active: 2, max: 2, last: 0)]) == nil)
        #expect(RoutingPolicy.choose(from: [Self.candidate(a, active: 1, max: 5, last: 0), Self.candidate(b, active: 0, max: 1, last: 9)])?.agentID == b)
        #expect(RoutingPolicy.choose(from: [Self.candidate(a, active: 1, max: 5, last: 50), Self.candidate(b, active: 1, max: 5, last: 10)])?.agentID == b)
        let tied = [
            Self.candidate(a, active: 0, max: 1, last: 0), Self.candidate(b, active: 0, max: 1, last: 0), Self.candidate(c, active: 0, max: 1, last: 0),
        ]
        #expect(RoutingPolicy.choose(from: tied)?.agentID.rawValue == [a, b, c].map(\.rawValue).min())
        #expect(RoutingPolicy.choose(from: tied.reversed()) == RoutingPolicy.choose(from: tied), "deterministic whatever the order")
    }

    @Test("The permission matrix: owners everything, admins all but owners, supervisors watch, agents chat, auditors only read")
    func permissions() {
        func granted(_ role: StaffRole) -> Set<Permission> { Set(Permission.allCases.filter { AccessPolicy.allows(role, $0) }) }
        #expect(granted(.owner) == Set(Permission.allCases))
        #expect(granted(.admin) == Set(Permission.allCases).subtracting([.manageOwners]))
        #expect(granted(.supervisor) == [.chat, .monitor, .readDirectory, .readCannedResponses, .handleOfflineMessages, .readReports, .seePersonalData])
        #expect(granted(.agent) == [.chat, .readDirectory, .readCannedResponses, .handleOfflineMessages, .seePersonalData])
        #expect(granted(.auditor) == [.readAudit, .readReports])
    }

    @Test("Personal-data masks keep initials and the top-level domain, nothing more")
    func personalDataMasks() {
        #expect(PersonalDataMask.name("Jane Q. Doe") == "J••• Q••• D•••")
        #expect(PersonalDataMask.name("Ágnes") == "Á•••")
        #expect(PersonalDataMask.name("  ") == "•••")
        #expect(PersonalDataMask.email("jane.doe@example.com") == "j•••@•••.com")
        #expect(PersonalDataMask.email("a@b") == "a•••@•••")
        #expect(PersonalDataMask.email("not an address") == "•••")
        #expect(PersonalDataMask.email("@example.com") == "•••")
        #expect(PersonalDataView.shown.email("jane@example.com") == "jane@example.com")
        #expect(PersonalDataView.masked.email("jane@example.com") == "j•••@•••.com")
    }

    @Test("Object-level access: own, own departments, general; admins all")
    func conversationAccess() {
        let me = AgentID(), sales = DepartmentID(), billing = DepartmentID()
        func agentCan(_ department: DepartmentID?, _ agent: AgentID?) -> Bool {
            AccessPolicy.canAccess(
                permissions: AccessPolicy.permissions(of: .agent), agentID: me, departments: [sales], conversationDepartment: department,
                conversationAgent: agent)
        }
        #expect(agentCan(sales, nil))
        #expect(agentCan(nil, AgentID()))
        #expect(!agentCan(billing, nil))
        #expect(!agentCan(billing, AgentID()))
        #expect(agentCan(billing, me))
        #expect(
            AccessPolicy.canAccess(
                permissions: AccessPolicy.permissions(of: .admin), agentID: me, departments: [], conversationDepartment: billing, conversationAgent: nil))
        #expect(
            !AccessPolicy.canAccess(
                permissions: AccessPolicy.permissions(of: .auditor), agentID: me, departments: [], conversationDepartment: nil, conversationAgent: nil))
        #expect(
            !AccessPolicy.canAccess(permissions: [.readDirectory], agentID: me, departments: [sales], conversationDepartment: sales, conversationAgent: me),
            "a token without the chat scope reads no conversation")
    }

    @Test("Conversation states move queued → active → closed, and back to the queue on transfer")
    func states() {
        #expect(ConversationState.queued.canMove(to: .active))
        #expect(ConversationState.queued.canMove(to: .closed))
        #expect(ConversationState.active.canMove(to: .queued))
        #expect(ConversationState.active.canMove(to: .closed))
        #expect(!ConversationState.closed.canMove(to: .active))
        #expect(!ConversationState.closed.canMove(to: .closed))
        #expect(!ConversationState.closed.isOpen)
    }
}
