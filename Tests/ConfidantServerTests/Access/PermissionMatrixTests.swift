import ConfidantCore
import Foundation
import HTTPTypes
import NIOCore
import Testing

@testable import ConfidantServer

/// Every role against every staff endpoint and frame, on a conversation of the member's own
/// department and one of another department. The expectations are written out here, by hand,
/// from the matrix in docs/security.md, not derived from ``AccessPolicy``: the test catches a
/// wrong grant as well as a route that forgets to check.
@Suite("The permission matrix, enforced on every route and frame")
struct PermissionMatrixTests {
    typealias Roles = Set<StaffRole>
    static let everyone: Roles = Set(StaffRole.allCases)
    static let managers: Roles = [.owner, .admin]
    static let chatting: Roles = [.owner, .admin, .supervisor, .agent]

    @Test("Role × endpoint × own or other department: zero mismatches over HTTP and WebSocket")
    func matrix() async throws {
        try await TestServer.run(.sqlite) { server in
            let owner = try await server.owner()
            let own = try await server.department("Own", by: owner)
            let other = try await server.department("Other", by: owner)
            let site = try await server.site(by: owner)
            // Each department's conversation goes to a holder agent, none of the members under test.
            let holderOwn = try await server.agent("HolderOwn", by: owner, departments: [own], maxConversations: 1)
            let holderOther = try await server.agent("HolderOther", by: owner, departments: [other], maxConversations: 1)
            let holders = [try await server.agentSocket(holderOwn).0, try await server.agentSocket(holderOther).0]
            let (_, ownConversation) = try await RoutingTests.openConversation(server, site, department: own)
            let (_, otherConversation) = try await RoutingTests.openConversation(server, site, department: other)
            #expect(ownConversation.agent?.id == holderOwn.agentId.rawValue)
            let throwaway = try await server.agent("Throwaway", by: owner)

            var members: [StaffRole: StaffLogin] = [.owner: owner]
            for role in StaffRole.allCases where role != .owner {
                members[role] = try await server.agent(role.rawValue.capitalized, by: owner, role: role, departments: [own])
            }

            struct Endpoint {
                let method: HTTPRequest.Method
                let path: String
                let body: (StaffRole) -> String?
                let allowed: Roles
            }
            let ownID = ownConversation.id.rawValue
            let otherID = otherConversation.id.rawValue
            let endpoints: [Endpoint] = [
                .init(method: .get, path: "/v1/sites", body: { _ in nil }, allowed: Self.chatting),
                .init(method: .post, path: "/v1/sites", body: { #"{"name":"Site \#($0)"}"# }, allowed: Self.managers),
                .init(method: .post, path: "/v1/sites/\(site.id)/identity-secret", body: { _ in "{}" }, allowed: Self.managers),
                .init(method: .get, path: "/v1/departments", body: { _ in nil }, allowed: Self.chatting),
                .init(method: .post, path: "/v1/departments", body: { #"{"name":"Dept \#($0)"}"# }, allowed: Self.managers),
                .init(method: .patch, path: "/v1/departments/\(own)", body: { _ in #"{"name":"Own"}"# }, allowed: Self.managers),
                .init(method: .get, path: "/v1/agents", body: { _ in nil }, allowed: Self.chatting),
                .init(
                    method: .post, path: "/v1/agents",
                    body: { #"{"email":"new-\#($0)@example.com","displayName":"New","password":"a-long-enough-password","role":"agent"}"# },
                    allowed: Self.managers),
                .init(method: .delete, path: "/v1/agents/\(throwaway.agentId)/sessions", body: { _ in nil }, allowed: Self.managers),
                .init(method: .get, path: "/v1/canned-responses", body: { _ in nil }, allowed: Self.chatting),
                .init(method: .post, path: "/v1/canned-responses", body: { #"{"shortcut":"s-\#($0)","body":"Hello"}"# }, allowed: Self.managers),
                .init(method: .get, path: "/v1/offline-messages", body: { _ in nil }, allowed: Self.chatting),
                .init(method: .get, path: "/v1/conversations?view=history", body: { _ in nil }, allowed: Self.chatting),
                .init(method: .get, path: "/v1/conversations/\(ownID)", body: { _ in nil }, allowed: Self.chatting),
                .init(method: .get, path: "/v1/conversations/\(otherID)", body: { _ in nil }, allowed: Self.managers),
                .init(method: .get, path: "/v1/conversations/\(ownID)/transcript", body: { _ in nil }, allowed: Self.chatting),
                .init(method: .get, path: "/v1/conversations/\(otherID)/transcript", body: { _ in nil }, allowed: Self.managers),
                .init(method: .get, path: "/v1/security/policy", body: { _ in nil }, allowed: Self.managers),
                .init(method: .put, path: "/v1/security/policy", body: { _ in #"{"policy":{}}"# }, allowed: Self.managers),
                .init(method: .get, path: "/v1/audit", body: { _ in nil }, allowed: [.owner, .admin, .auditor]),
                .init(method: .get, path: "/v1/reports/conversations", body: { _ in nil }, allowed: [.owner, .admin, .supervisor, .auditor]),
                .init(method: .get, path: "/v1/api-tokens", body: { _ in nil }, allowed: Self.managers),
                .init(method: .get, path: "/v1/visitors/\(ownConversation.visitorId)/export", body: { _ in nil }, allowed: Self.managers),
                .init(method: .get, path: "/v1/auth/sessions", body: { _ in nil }, allowed: Self.everyone),
                .init(method: .get, path: "/v1/auth/me", body: { _ in nil }, allowed: Self.everyone),
            ]
            var mismatches: [String] = []
            var checked = 0
            for endpoint in endpoints {
                for role in StaffRole.allCases {
                    let login = members[role]!
                    let response = try await server.request(endpoint.method, endpoint.path, body: endpoint.body(role), as: login)
                    let allowed = (200..<300).contains(response.status.code)
                    let expected = endpoint.allowed.contains(role)
                    // A conversation one may not see is "not found" (no existence oracle); anything else is 403.
                    let deniedProperly = response.status == .forbidden || (endpoint.path.contains("/conversations/") && response.status == .notFound)
                    if expected != allowed || (!expected && !deniedProperly) {
                        mismatches.append(
                            "\(role) \(endpoint.method) \(endpoint.path): expected \(expected ? "allowed" : "denied"), got \(response.status.code)")
                    }
                    checked += 1
                }
            }

            struct Frame {
                let name: String
                let frame: ClientFrame
                let allowed: Roles
                let denial: ErrorCode
            }
            let frames: [Frame] = [
                .init(name: "availability.set", frame: .setAvailability(.away), allowed: Self.chatting, denial: .forbidden),
                .init(name: "sync own", frame: .sync(conversationId: ownConversation.id, afterSeq: 0), allowed: Self.chatting, denial: .conversationNotFound),
                .init(
                    name: "sync other", frame: .sync(conversationId: otherConversation.id, afterSeq: 0), allowed: Self.managers, denial: .conversationNotFound),
                .init(name: "watch own", frame: .watch(conversationId: ownConversation.id), allowed: [.owner, .admin, .supervisor], denial: .forbidden),
                .init(name: "watch other", frame: .watch(conversationId: otherConversation.id), allowed: Self.managers, denial: .forbidden),
            ]
            for role in StaffRole.allCases {
                let (socket, welcome) = try await server.agentSocket(members[role]!, available: false)
                if role == .auditor { #expect((welcome.queue ?? []).isEmpty && welcome.conversations.isEmpty, "an auditor sees no conversation") }
                for (index, frame) in frames.enumerated() {
                    let ref = "m\(index)"
                    socket.send(frame.frame, ref: ref)
                    let answer = try await socket.next(timeout: .seconds(10), "answer to \(frame.name)") { $0.ref == ref }
                    let expected = frame.allowed.contains(role)
                    let code = answer.errorCode
                    let acceptable = expected ? code == nil : (code == frame.denial || code == .conversationNotFound || code == .forbidden)
                    if !acceptable {
                        mismatches.append(
                            "\(role) frame \(frame.name): expected \(expected ? "allowed" : "denied"), got \(answer.frame.type) \(code?.rawValue ?? "")")
                    }
                    checked += 1
                }
                socket.close()
            }
            #expect(mismatches.isEmpty, "\(mismatches.count) of \(checked) mismatched:\n\(mismatches.joined(separator: "\n"))")
            withExtendedLifetime(holders) {}
            #expect(checked == endpoints.count * StaffRole.allCases.count + frames.count * StaffRole.allCases.count)
        }
    }

    @Test("docs/security.md prints the permission matrix exactly as enforced")
    func documentedMatrix() throws {
        let docs = try String(
            contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../../docs/security.md"), encoding: .utf8)
        let header = "| Permission | " + StaffRole.allCases.map(\.rawValue).joined(separator: " | ") + " |"
        #expect(docs.contains(header), "the matrix header lists every role")
        for permission in Permission.allCases {
            let cells = StaffRole.allCases.map { AccessPolicy.allows($0, permission) ? "✓" : "—" }
            let row = "| `\(permission.rawValue)` | " + cells.joined(separator: " | ") + " |"
            #expect(docs.contains(row), "docs/security.md row: \(row)")
        }
    }
}
