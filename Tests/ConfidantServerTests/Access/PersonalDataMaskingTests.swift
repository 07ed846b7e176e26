import ConfidantCore
import Foundation
import HTTPTypes
import NIOCore
import Testing

@testable import ConfidantServer

@Suite("Personal fields masked for roles without seePersonalData")
struct PersonalDataMaskingTests {
    @Test(
        "A masked role never receives a visitor's name or e-mail (REST lists, details, transcripts, offline messages, socket welcome); others do",
        arguments: TestBackend.allCases)
    func maskedRolesGetInitialsOnly(_ backend: TestBackend) async throws {
        try await TestServer.run(backend) { server in
            let owner = try await server.owner()
            let site = try await server.site(by: owner)
            let agent = try await server.agent("Klara", by: owner)
            let supervisor = try await server.agent("Szilvia", by: owner, role: .supervisor)
            let (agentSocket, _) = try await server.agentSocket(agent)
            let visitor = try await server.visitor(of: site)
            let (guest, _) = try await server.visitorSocket(visitor)
            guest.send(.openConversation(departmentId: nil, name: "Jane Doe", email: "jane.doe@example.com", pageUrl: nil), ref: "open")
            let id = try #require(try await guest.next(timeout: .seconds(10), "opened") { $0.ref == "open" }.opened).id
            guest.send(.leaveOfflineMessage(clientId: "off-1", departmentId: nil, name: "Jane Doe", email: "jane.doe@example.com", body: "Call me"))
            _ = try await guest.next(type: "offline.ack")

            /// Every staff response that can carry the visitor's fields, as one text.
            func everything(as login: StaffLogin? = nil, headers: HTTPFields = [:]) async throws -> String {
                var text = ""
                for path in ["/v1/conversations?view=mine", "/v1/conversations?view=history", "/v1/conversations/\(id)", "/v1/conversations/\(id)/transcript"] {
                    let reply = try await server.request(.get, path, as: login, headers: headers)
                    #expect(reply.status == .ok, "\(path): \(reply.status)")
                    text += String(buffer: reply.body)
                }
                let offline = try await server.request(.get, "/v1/offline-messages", as: login, headers: headers)
                #expect(offline.status == .ok || offline.status == .forbidden)
                return text + String(buffer: offline.body)
            }
            // JSON escapes nothing in these strings, so a plain search finds every copy.
            let name = "Jane Doe", email = "jane.doe@example.com", maskedName = "J••• D•••", maskedEmail = "j•••@•••.com"

            let before = try await everything(as: agent)
            #expect(before.contains(name) && before.contains(email) && !before.contains(maskedName), "agents see personal data by default")

            // Mask agents: their socket reconnects (4409), and every path gives initials only.
            let saved = try await server.request(.put, "/v1/security/policy", json: ["policy": ["maskPersonalData": ["agent"]]], as: owner)
            #expect(saved.status == .ok, "\(String(buffer: saved.body))")
            #expect(try await agentSocket.closeCode() == CloseCode.permissionsChanged)
            let masked = try await everything(as: agent)
            #expect(!masked.contains("Jane") && !masked.contains("jane.doe") && !masked.contains("example.com"))
            #expect(masked.contains(maskedName) && masked.contains(maskedEmail))
            let (again, welcome) = try await server.agentSocket(agent)
            let summary = try #require(welcome.conversations.first { $0.id == id })
            #expect(summary.visitorName == maskedName && summary.visitorEmail == maskedEmail)
            struct Me: Decodable { let permissions: [Permission] }
            #expect(try !server.decode(Me.self, from: try await server.request(.get, "/v1/auth/me", as: agent)).permissions.contains(.seePersonalData))

            // Other roles are untouched.
            for login in [supervisor, owner] {
                let text = try await everything(as: login)
                #expect(text.contains(name) && text.contains(email) && !text.contains(maskedEmail))
            }

            // An API token without the seePersonalData scope reads masked fields; with it, real ones.
            struct NewToken: Encodable {
                let name = "CRM"
                let scopes: [Permission]
                let expiresInDays = 1
            }
            struct Created: Decodable { let token: String }
            func bearer(_ scopes: [Permission]) async throws -> HTTPFields {
                let created = try server.decode(
                    Created.self, from: try await server.request(.post, "/v1/api-tokens", json: NewToken(scopes: scopes), as: owner))
                return [.authorization: "Bearer \(created.token)"]
            }
            let narrow = try await everything(headers: try await bearer([.chat, .allDepartments, .handleOfflineMessages]))
            #expect(!narrow.contains(email) && narrow.contains(maskedEmail))
            let wide = try await everything(headers: try await bearer([.chat, .allDepartments, .handleOfflineMessages, .seePersonalData]))
            #expect(wide.contains(email) && !wide.contains(maskedEmail))

            // Owners and admins export and erase personal data: they cannot be masked.
            let refused = try await server.request(.put, "/v1/security/policy", json: ["policy": ["maskPersonalData": ["admin"]]], as: owner)
            #expect(server.errorCode(refused) == "invalid_request")
            #expect(try await server.auditActions(as: owner).contains("security.policy.updated:success"))
            again.close()
        }
    }
}
