import ConfidantCore
import Foundation
import HTTPTypes
import NIOCore
import Testing

@testable import ConfidantServer

@Suite("Serving the front ends: pages, policies, widget settings")
struct WebFrontEndTests {
    struct SiteWithSettings: Decodable {
        let id: SiteID
        let widgetKey: String
        let settings: SiteSettings
    }

    @Test("Widget settings are validated, stored, and partially updatable")
    func siteSettings() async throws {
        try await TestServer.run(.sqlite) { server in
            let owner = try await server.owner()
            let created = try await server.request(
                .post, "/v1/sites",
                body:
                    ##"{"name":"Shop","allowedOrigins":["https://shop.example"],"settings":{"color":"#FF8800","language":"hu","consent":{"required":true,"privacyPolicyUrl":"https://shop.example/privacy"},"proactive":[{"seconds":20,"urlPattern":"https://shop.example/checkout*","message":"Need help?"}]}}"##,
                as: owner)
            #expect(created.status == .created)
            let site = try server.decode(SiteWithSettings.self, from: created)
            #expect(site.settings.color == "#ff8800")
            #expect(site.settings.language == .hu)
            #expect(site.settings.position == .right, "fields left out keep their defaults")
            #expect(site.settings.proactive.first?.seconds == 20)

            let invalid = [
                #"{"color":"red"}"#, #"{"consent":{"required":true}}"#, #"{"proactive":[{"seconds":0,"urlPattern":"*","message":"hi"}]}"#,
                #"{"proactive":[{"seconds":5,"urlPattern":"has space","message":"hi"}]}"#, #"{"greeting":"\#(String(repeating: "x", count: 201))"}"#,
                #"{"consent":{"required":true,"privacyPolicyUrl":"javascript:alert(1)"}}"#, #"{"language":"de"}"#,
                #"{"proactive":[\#(Array(repeating: #"{"seconds":5,"urlPattern":"*","message":"hi"}"#, count: 11).joined(separator: ","))]}"#,
            ]
            for settings in invalid {
                let response = try await server.request(.patch, "/v1/sites/\(site.id)", body: #"{"settings":\#(settings)}"#, as: owner)
                #expect(response.status == .badRequest, "\(settings)")
            }
            let patched = try await server.request(.patch, "/v1/sites/\(site.id)", body: #"{"settings":{"position":"left"}}"#, as: owner)
            #expect(try server.decode(SiteWithSettings.self, from: patched).settings == SiteSettings(position: .left))

            struct Config: Decodable {
                let siteId: SiteID
                let allowedOrigins: [String]
                let settings: SiteSettings
            }
            let config = try server.decode(Config.self, from: try await server.request(.get, "/v1/widget/config?site=\(site.widgetKey)"))
            #expect(config.siteId == site.id)
            #expect(config.allowedOrigins == ["https://shop.example"])
            #expect(config.settings.position == .left)
            #expect(try await server.request(.get, "/v1/widget/config?site=cf_nope").status == .notFound)
        }
    }

    @Test("The widget frame may be framed only by the site's origins; every other page by nobody")
    func framingPolicies() async throws {
        try await TestServer.run(.sqlite) { server in
            let owner = try await server.owner()
            let site = try await server.site(by: owner, origins: ["https://shop.example", "http://localhost:3000"])
            let frame = try await server.request(.get, "/widget/frame?site=\(site.widgetKey)")
            #expect(frame.status == .ok)
            #expect(frame.headers[.contentType]?.hasPrefix("text/html") == true)
            let policy = try #require(frame.headers[.contentSecurityPolicy])
            #expect(policy.contains("frame-ancestors https://shop.example http://localhost:3000"))
            #expect(policy.contains("script-src 'self'"))
            #expect(!policy.contains("unsafe-inline"))
            #expect(frame.headers[.init("X-Frame-Options")!] == nil)
            #expect(try await server.request(.get, "/widget/frame?site=cf_unknown").status == .notFound)

            let lonely = try await server.site(by: owner, origins: [])
            #expect(
                try await server.request(.get, "/widget/frame?site=\(lonely.widgetKey)").headers[.contentSecurityPolicy]?.contains("frame-ancestors 'none'")
                    == true)

            let console = try await server.request(.get, "/console/")
            #expect(console.status == .ok)
            let consolePolicy = try #require(console.headers[.contentSecurityPolicy])
            #expect(consolePolicy.contains("frame-ancestors 'none'"))
            #expect(consolePolicy.contains("script-src 'self'"))
            #expect(consolePolicy.contains("object-src 'none'"))
            #expect(consolePolicy.contains("base-uri 'none'"))
            #expect(!consolePolicy.contains("unsafe"))
            #expect(console.headers[.init("X-Frame-Options")!] == "DENY")
            #expect(String(buffer: console.body).contains("/console/app.js"))

            let loader = try await server.request(.get, "/widget.js")
            #expect(loader.headers[.contentType]?.hasPrefix("text/javascript") == true)
            #expect(loader.headers[.init("Cross-Origin-Resource-Policy")!] == "cross-origin", "host pages on other origins load it")
            let script = try await server.request(.get, "/shared/chat-socket.js")
            #expect(script.status == .ok)
            #expect(script.headers[.init("Cross-Origin-Resource-Policy")!] == "same-origin")
            #expect(try await server.request(.get, "/").headers[.location] == "/console/")
            for traversal in ["/widget/../../Package.swift", "/widget/%2e%2e/%2e%2e/Package.swift", "/../../../../etc/passwd"] {
                let response = try await server.request(.get, traversal)
                #expect(response.status == .badRequest, "\(traversal)")
                #expect(!String(buffer: response.body).contains("PackageDescription") && !String(buffer: response.body).contains("root:"))
            }
        }
    }

    @Test("Nothing inline anywhere: no inline scripts, styles or handlers, no HTML injection sinks")
    func noInlineCode() throws {
        let root = try #require(PageController.bundledPublicDirectory)
        let files = try #require(FileManager.default.enumerator(atPath: root)).compactMap { $0 as? String }
        #expect(files.contains("widget.js"))
        #expect(files.contains("console/index.html"))
        for file in files where file.hasSuffix(".html") {
            let html = try String(contentsOfFile: "\(root)/\(file)", encoding: .utf8)
            #expect(html.ranges(of: /<script(?![^>]*\bsrc=)[^>]*>/).isEmpty, "\(file) has an inline script")
            #expect(html.ranges(of: /<style/).isEmpty, "\(file) has a style element")
            #expect(html.ranges(of: /\sstyle=/).isEmpty, "\(file) has a style attribute")
            #expect(html.ranges(of: /\son[a-z]+=/).isEmpty, "\(file) has an inline event handler")
        }
        for file in files where file.hasSuffix(".js") {
            let code = try String(contentsOfFile: "\(root)/\(file)", encoding: .utf8)
            for sink in ["innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function", "setAttribute('style'", "localStorage"] {
                #expect(!code.contains(sink), "\(file) uses \(sink)")
            }
        }
    }

    @Test("Consent is required when the site says so, and recorded with the conversation with its language", arguments: TestBackend.allCases)
    func consentAndLanguage(_ backend: TestBackend) async throws {
        try await TestServer.run(backend) { server in
            let owner = try await server.owner()
            let created = try await server.request(
                .post, "/v1/sites", body: #"{"name":"Clinic","settings":{"consent":{"required":true,"privacyPolicyUrl":"https://clinic.example/privacy"}}}"#,
                as: owner)
            let site = try server.decode(TestSite.self, from: created)
            let anna = try await server.agent("Anna", by: owner)
            let (agent, _) = try await server.agentSocket(anna)
            _ = agent
            let (guest, _) = try await server.visitorSocket(try await server.visitor(of: site))
            guest.send(.openConversation(departmentId: nil, name: nil, email: nil, pageUrl: nil, language: "hu", consent: false), ref: "no")
            #expect(try await guest.next(timeout: .seconds(5), "refusal") { $0.ref == "no" }.errorCode == .consentRequired)
            guest.send(.openConversation(departmentId: nil, name: nil, email: nil, pageUrl: nil, language: "hu-HU", consent: true), ref: "yes")
            let opened = try #require(try await guest.next(timeout: .seconds(5), "opened") { $0.ref == "yes" }.opened)
            guest.send(.openConversation(departmentId: nil, name: nil, email: nil, pageUrl: nil, language: "<b>", consent: true), ref: "bad")
            #expect(try await guest.next(timeout: .seconds(5), "refusal") { $0.ref == "bad" }.errorCode == .invalidFrame)

            struct One: Decodable { let conversation: ConversationSummary }
            let summary = try server.decode(One.self, from: try await server.request(.get, "/v1/conversations/\(opened.id)", as: anna)).conversation
            #expect(summary.language == "hu-HU")
            #expect(try #require(summary.consentAt) > 0)
            let policy = try await server.runtime.database.read { try await $0.conversation(id: opened.id)?.consentPolicyUrl }
            #expect(policy == "https://clinic.example/privacy", "the record names the policy the visitor agreed to")

            struct Agents: Decodable {
                struct Agent: Decodable {
                    let displayName: String
                    let online: Bool?
                    let activeConversations: Int?
                }
                let items: [Agent]
            }
            let agents = try server.decode(Agents.self, from: try await server.request(.get, "/v1/agents", as: owner)).items
            let annaRow = try #require(agents.first { $0.displayName == "Anna" })
            #expect(annaRow.online == true)
            #expect(annaRow.activeConversations == 1)
            #expect(agents.first { $0.displayName == "Olga Owner" }?.online == false)
        }
    }
}
