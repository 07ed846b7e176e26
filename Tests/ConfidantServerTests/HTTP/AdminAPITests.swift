import ConfidantCore
import Foundation
import HTTPTypes
import NIOCore
import Testing

@testable import ConfidantServer

@Suite("REST API: directory, staff, canned responses, permissions")
struct AdminAPITests {
    struct Item: Decodable {
        let id: String
        let name: String?
        let shortcut: String?
        let active: Bool?
        let role: StaffRole?
    }
    struct Items: Decodable { let items: [Item] }

    @Test("Sites and departments: CRUD by admins, read-only for agents, validated", arguments: TestBackend.allCases)
    func directory(_ backend: TestBackend) async throws {
        try await TestServer.run(backend) { server in
            let owner = try await server.owner()
            let agent = try await server.agent("Anna", by: owner)
            let site = try await server.site(by: owner, origins: ["HTTPS://Shop.Example:443/", "http://localhost:3000"])
            #expect(site.allowedOrigins == ["https://shop.example", "http://localhost:3000"])
            #expect(site.widgetKey.hasPrefix("cf_"))

            #expect(try await server.request(.post, "/v1/sites", json: ["name": "X"], as: agent).status == .forbidden)
            #expect(try await server.request(.get, "/v1/sites", as: agent).status == .ok)
            let badOrigin = try await server.request(
                .post, "/v1/sites", json: ["name": "Bad", "allowedOrigins": ["javascript:alert(1)"]] as [String: AnyEncodable], as: owner)
            #expect(badOrigin.status == .badRequest)

            let renamed = try await server.request(.patch, "/v1/sites/\(site.id)", json: ["name": "Renamed"], as: owner)
            #expect(try server.decode(Item.self, from: renamed).name == "Renamed")
            #expect(try await server.request(.delete, "/v1/sites/\(site.id)", as: agent).status == .forbidden)
            #expect(try await server.request(.delete, "/v1/sites/\(site.id)", as: owner).status == .noContent)
            #expect(try await server.request(.get, "/v1/sites/\(site.id)", as: owner).status == .notFound)

            let sales = try await server.department("Sales", by: owner)
            #expect(try await server.request(.post, "/v1/departments", json: ["name": "Sales"], as: owner).status == .conflict)
            #expect(try await server.request(.patch, "/v1/departments/\(sales)", json: ["name": "Revenue"], as: agent).status == .forbidden)
            #expect(try await server.request(.patch, "/v1/departments/\(sales)", json: ["name": "Revenue"], as: owner).status == .ok)
            let list = try server.decode(Items.self, from: try await server.request(.get, "/v1/departments", as: agent))
            #expect(list.items.map(\.name) == ["Revenue"])
        }
    }

    @Test("Staff accounts: roles, owners, deactivation ends sessions and sockets", arguments: TestBackend.allCases)
    func staff(_ backend: TestBackend) async throws {
        try await TestServer.run(backend) { server in
            let owner = try await server.owner()
            let admin = try await server.agent("Adam", by: owner, role: .admin)
            let anna = try await server.agent("Anna", by: admin)

            struct NewAgent: Encodable {
                let email: String
                let displayName: String
                let password: String
                let role: StaffRole?
            }
            let weak = try await server.request(
                .post, "/v1/agents", json: NewAgent(email: "w@example.com", displayName: "W", password: "short", role: nil), as: admin)
            #expect(weak.status == .badRequest)
            let long = String(repeating: "ü", count: 40)
            #expect(
                try await server.request(.post, "/v1/agents", json: NewAgent(email: "l@example.com", displayName: "L", password: long, role: nil), as: admin)
                    .status == .badRequest)
            let duplicate = try await server.request(
                .post, "/v1/agents", json: NewAgent(email: anna.email.uppercased(), displayName: "A2", password: "long enough password", role: nil), as: admin)
            #expect(duplicate.status == .conflict)
            let makeOwner = try await server.request(
                .post, "/v1/agents", json: NewAgent(email: "o2@example.com", displayName: "O2", password: "long enough password", role: .owner), as: admin)
            #expect(makeOwner.status == .forbidden)
            #expect(try await server.request(.patch, "/v1/agents/\(owner.agentId)", json: ["displayName": "Hacked"], as: admin).status == .forbidden)
            #expect(
                try await server.request(
                    .post, "/v1/agents", json: NewAgent(email: "x@example.com", displayName: "X", password: "long enough password", role: nil), as: anna
                ).status == .forbidden)

            // The last owner cannot be demoted or deactivated; nobody deactivates themselves.
            #expect(try await server.request(.patch, "/v1/agents/\(owner.agentId)", json: ["role": "admin"], as: owner).status == .badRequest)
            #expect(try await server.request(.delete, "/v1/agents/\(admin.agentId)", as: admin).status == .badRequest)

            // Deactivating Anna ends her session and closes her socket at once.
            let (socket, _) = try await server.agentSocket(anna)
            #expect(try await server.request(.delete, "/v1/agents/\(anna.agentId)", as: admin).status == .noContent)
            #expect(try await socket.closeCode() == 4401)
            #expect(try await server.request(.get, "/v1/auth/me", as: anna).status == .unauthorized)
            let relogin = try await server.request(.post, "/v1/auth/login", json: ["email": anna.email, "password": anna.password])
            #expect(relogin.status == .unauthorized)
            let agents = try server.decode(Items.self, from: try await server.request(.get, "/v1/agents", as: admin))
            #expect(agents.items.first { $0.id == anna.agentId.rawValue }?.active == false)
            // Password hashes never leave the server.
            #expect(!String(buffer: try await server.request(.get, "/v1/agents", as: admin).body).contains("$2"))
        }
    }

    @Test("Canned responses: global and per department, visible by scope, validated", arguments: TestBackend.allCases)
    func cannedResponses(_ backend: TestBackend) async throws {
        try await TestServer.run(backend) { server in
            let owner = try await server.owner()
            let sales = try await server.department("Sales", by: owner)
            let billing = try await server.department("Billing", by: owner)
            let anna = try await server.agent("Anna", by: owner, departments: [sales])
            struct Canned: Encodable {
                let shortcut: String
                let body: String
                let departmentId: DepartmentID?
            }
            #expect(
                try await server.request(
                    .post, "/v1/canned-responses", json: Canned(shortcut: "hello", body: "Hello! How can I help?", departmentId: nil), as: owner
                ).status == .created)
            #expect(
                try await server.request(
                    .post, "/v1/canned-responses", json: Canned(shortcut: "refund", body: "Refunds take 5 days.", departmentId: billing), as: owner
                ).status == .created)
            #expect(
                try await server.request(.post, "/v1/canned-responses", json: Canned(shortcut: "deal", body: "10% off today.", departmentId: sales), as: owner)
                    .status == .created)
            #expect(
                try await server.request(.post, "/v1/canned-responses", json: Canned(shortcut: "Hello", body: "again", departmentId: nil), as: owner).status
                    == .conflict)
            #expect(
                try await server.request(.post, "/v1/canned-responses", json: Canned(shortcut: "two words", body: "x", departmentId: nil), as: owner).status
                    == .badRequest)
            #expect(
                try await server.request(.post, "/v1/canned-responses", json: Canned(shortcut: "mine", body: "x", departmentId: nil), as: anna).status
                    == .forbidden)

            let visible = try server.decode(Items.self, from: try await server.request(.get, "/v1/canned-responses", as: anna))
            #expect(Set(visible.items.compactMap(\.shortcut)) == ["hello", "deal"])
            let all = try server.decode(Items.self, from: try await server.request(.get, "/v1/canned-responses", as: owner))
            #expect(all.items.count == 3)
            let hello = try #require(all.items.first { $0.shortcut == "hello" })
            #expect(
                try await server.request(.patch, "/v1/canned-responses/\(hello.id)", json: Canned(shortcut: "hi", body: "Hi!", departmentId: nil), as: owner)
                    .status == .ok)
            #expect(try await server.request(.delete, "/v1/canned-responses/\(hello.id)", as: owner).status == .noContent)
            #expect(try await server.request(.delete, "/v1/canned-responses/\(hello.id)", as: owner).status == .notFound)
        }
    }

    @Test("Conversation lists: queue, mine, history, scoped to the agent's departments", arguments: TestBackend.allCases)
    func conversationLists(_ backend: TestBackend) async throws {
        try await TestServer.run(backend) { server in
            let owner = try await server.owner()
            let site = try await server.site(by: owner)
            let sales = try await server.department("Sales", by: owner)
            let billing = try await server.department("Billing", by: owner)
            let anna = try await server.agent("Anna", by: owner, departments: [sales], maxConversations: 1)
            let carl = try await server.agent("Carl", by: owner, departments: [billing])
            let (annaSocket, _) = try await server.agentSocket(anna)
            let (_, mine) = try await RoutingTests.openConversation(server, site, department: sales)
            let (_, waiting) = try await RoutingTests.openConversation(server, site, department: sales)
            #expect(mine.agent?.name == "Anna")
            #expect(waiting.state == .queued)
            _ = annaSocket

            struct Page: Decodable {
                let items: [ConversationSummary]
                let nextBefore: Int64?
            }
            func list(_ query: String, as login: StaffLogin) async throws -> [ConversationID] {
                try server.decode(Page.self, from: try await server.request(.get, "/v1/conversations\(query)", as: login)).items.map(\.id)
            }
            #expect(try await list("?view=mine", as: anna) == [mine.id])
            #expect(try await list("?view=queue", as: anna) == [waiting.id])
            #expect(try await list("?view=history&department=\(sales)", as: owner) == [waiting.id, mine.id])
            #expect(try await list("?view=history&agent=\(anna.agentId)", as: owner) == [mine.id])
            #expect(try await list("?view=history&state=active", as: owner) == [mine.id])
            #expect(try await list("?view=history&site=\(site.id)&limit=1", as: owner) == [waiting.id])
            // Carl (Billing) sees none of Sales' conversations, and cannot open their transcript.
            #expect(try await list("?view=history", as: carl).isEmpty)
            #expect(try await server.request(.get, "/v1/conversations/\(mine.id)/transcript", as: carl).status == .notFound)
            #expect(try await server.request(.get, "/v1/conversations/\(mine.id)", as: anna).status == .ok)
        }
    }

    @Test("Sessions: a new id at every sign-in, strict cookies, __Host- over HTTPS")
    func sessionCookies() async throws {
        try await TestServer.run(.sqlite) { server in
            let owner = try await server.owner()
            let second = try await server.login(email: owner.email, password: owner.password)
            #expect(second.cookie != owner.cookie)
            // A failed sign-in with a session in hand leaves that session alone.
            let failed = try await server.request(.post, "/v1/auth/login", json: ["email": owner.email, "password": "not-the-password"], as: second)
            #expect(failed.status == .unauthorized)
            #expect(try await server.request(.get, "/v1/auth/me", as: second).status == .ok)
            let response = try await server.request(.post, "/v1/auth/login", json: ["email": owner.email, "password": owner.password], as: second)
            let cookie = try #require(response.headers[.setCookie])
            #expect(cookie.contains("HttpOnly"))
            #expect(cookie.contains("SameSite=Strict"))
            #expect(cookie.contains("Path=/"))
            #expect(!cookie.contains("Secure"), "plain HTTP in this test")
            // Signing in with a session in hand ends that session (no fixation).
            #expect(try await server.request(.get, "/v1/auth/me", as: second).status == .unauthorized)
            #expect(try await server.request(.get, "/v1/auth/me", as: owner).status == .ok)
        }
        try await TestServer.run(.sqlite, configure: { $0.publicURL = "https://chat.example.test" }) { server in
            let owner = try await server.owner()
            _ = owner
            let response = try await server.request(.post, "/v1/auth/login", json: ["email": "owner@example.com", "password": owner.password])
            let cookie = try #require(response.headers[.setCookie])
            #expect(cookie.hasPrefix("__Host-confidant_session="))
            #expect(cookie.contains("Secure"))
        }
    }

    @Test("Visitor sessions: allowed origins only; a valid token keeps the same visitor")
    func visitorSessions() async throws {
        try await TestServer.run(.sqlite) { server in
            let owner = try await server.owner()
            let site = try await server.site(by: owner, origins: ["https://shop.example"])
            let allowed = try await server.request(.post, "/v1/visitor/sessions", json: ["siteKey": site.widgetKey], headers: [.origin: "https://shop.example"])
            #expect(allowed.status == .created)
            let visitor = try server.decode(TestVisitor.self, from: allowed)
            let widget = try await server.request(.post, "/v1/visitor/sessions", json: ["siteKey": site.widgetKey], headers: [.origin: "http://127.0.0.1"])
            #expect(widget.status == .created, "Confidant's own origin (the widget frame) is always allowed")
            let evil = try await server.request(.post, "/v1/visitor/sessions", json: ["siteKey": site.widgetKey], headers: [.origin: "https://evil.example"])
            #expect(evil.status == .forbidden)
            let again = try await server.request(.post, "/v1/visitor/sessions", json: ["siteKey": site.widgetKey, "token": visitor.token])
            #expect(again.status == .ok)
            #expect(try server.decode(TestVisitor.self, from: again).visitorId == visitor.visitorId)
            let other = try await server.site(by: owner)
            let crossSite = try await server.request(.post, "/v1/visitor/sessions", json: ["siteKey": other.widgetKey, "token": visitor.token])
            #expect(try server.decode(TestVisitor.self, from: crossSite).visitorId != visitor.visitorId, "a token is only good for its own site")
        }
    }

    @Test("Health: /healthz and /readyz answer JSON", arguments: TestBackend.allCases)
    func health(_ backend: TestBackend) async throws {
        try await TestServer.run(backend) { server in
            let live = try await server.request(.get, "/healthz")
            #expect(live.status == .ok)
            #expect(String(buffer: live.body) == #"{"status":"ok"}"#)
            let ready = try await server.request(.get, "/readyz")
            #expect(ready.status == .ok)
            struct Ready: Decodable {
                let status: String
                let pendingMigrations: Int
            }
            let body = try server.decode(Ready.self, from: ready)
            #expect(body.status == "ready")
            #expect(body.pendingMigrations == 0)
        }
    }
}

/// Lets tests build heterogeneous JSON bodies.
struct AnyEncodable: Encodable, ExpressibleByStringLiteral, ExpressibleByArrayLiteral {
    let encode: @Sendable (any Encoder) throws -> Void
    init(stringLiteral value: String) { encode = { try value.encode(to: $0) } }
    init(arrayLiteral elements: String...) { encode = { try elements.encode(to: $0) } }
    func encode(to encoder: any Encoder) throws { try encode(encoder) }
}
