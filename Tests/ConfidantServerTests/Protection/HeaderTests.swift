import ConfidantCore
import Foundation
import HTTPTypes
import NIOCore
import SQLKit
import Testing

@testable import ConfidantServer

@Suite("Security headers on every response type; CSP violation reports")
struct HeaderTests {
    @Test("Pages, the widget frame, static files, API answers and errors all carry the headers; HSTS only over HTTPS")
    func headers() async throws {
        try await TestServer.run(.sqlite) { server in
            let owner = try await server.owner()
            let site = try await server.site(by: owner)
            let responses: [(String, HTTPReply)] = [
                ("console page", try await server.request(.get, "/console/")),
                ("widget frame", try await server.request(.get, "/widget/frame?site=\(site.widgetKey)")),
                ("static script", try await server.request(.get, "/widget.js")),
                ("API answer", try await server.request(.get, "/v1/sites", as: owner)),
                ("API error", try await server.request(.get, "/v1/sites")),
                ("not found", try await server.request(.get, "/nothing-here")),
                ("health", try await server.request(.get, "/healthz")),
            ]
            for (what, response) in responses {
                let headers = response.headers
                #expect(headers[.xContentTypeOptions] == "nosniff", "\(what)")
                #expect(headers[.init("Referrer-Policy")!] == "no-referrer", "\(what)")
                #expect(headers[.init("Permissions-Policy")!]?.contains("camera=()") == true, "\(what)")
                #expect(headers[.init("Permissions-Policy")!]?.contains("geolocation=()") == true, "\(what)")
                #expect(headers[.init("Cross-Origin-Opener-Policy")!] == "same-origin", "\(what)")
                #expect(headers[.init("Cross-Origin-Resource-Policy")!] != nil, "\(what)")
                #expect(headers[.strictTransportSecurity] == nil, "\(what): no HSTS over plain HTTP")
                let policy = try #require(headers[.contentSecurityPolicy], "\(what)")
                #expect(!policy.contains("unsafe"), "\(what)")
                if headers[.contentType]?.hasPrefix("text/html") == true {
                    for directive in [
                        "default-src 'none'", "script-src 'self'", "object-src 'none'", "base-uri 'none'", "form-action 'self'", "report-uri /v1/csp-reports",
                    ] {
                        #expect(policy.contains(directive), "\(what): \(directive)")
                    }
                } else {
                    #expect(policy.hasPrefix("default-src 'none'"), "\(what)")
                }
            }
            #expect(responses[3].1.headers[.cacheControl] == "no-store", "API answers with personal data are not cached")
            #expect(responses[0].1.headers[.contentSecurityPolicy]?.contains("frame-ancestors 'none'") == true)
            #expect(responses[1].1.headers[.contentSecurityPolicy]?.contains("frame-ancestors https://shop.example") == true)
        }
        try await TestServer.run(.sqlite, configure: { $0.publicURL = "https://chat.example" }) { server in
            let health = try await server.request(.get, "/healthz")
            #expect(health.headers[.strictTransportSecurity] == "max-age=63072000")
        }
    }

    @Test("CSP reports: stored cut to size, shown to admins only, counted against the sender's address, the newest 1,000 kept")
    func cspReports() async throws {
        try await TestServer.run(.sqlite, configure: { $0.rateLimits[.restPerAddress] = Rate(1_000_000, per: .seconds(1)) }) { server in
            let owner = try await server.owner()
            let agent = try await server.agent("Csilla", by: owner)
            func report(_ blocked: String) -> String {
                #"{"csp-report":{"document-uri":"http://127.0.0.1/console/","violated-directive":"script-src-elem","effective-directive":"script-src-elem","blocked-uri":"\#(blocked)","source-file":"http://127.0.0.1/console/app.js","line-number":7}}"#
            }
            let long = String(repeating: "x", count: 2000)
            let sent = try await server.request(
                .post, "/v1/csp-reports", body: report("inline\\u0007" + long), headers: [.contentType: "application/csp-report"])
            #expect(sent.status == .noContent)
            #expect(try await server.request(.post, "/v1/csp-reports", body: "{nope").status == .badRequest)
            #expect(try await server.request(.get, "/v1/csp-reports", as: agent).status == .forbidden)
            struct Reports: Decodable {
                struct Item: Decodable {
                    let directive: String
                    let blockedUri: String
                    let source: String
                    let address: String
                }
                let items: [Item]
            }
            let listed = try server.decode(Reports.self, from: try await server.request(.get, "/v1/csp-reports", as: owner)).items
            #expect(listed.count == 1)
            #expect(listed.first?.directive == "script-src-elem")
            #expect(listed.first?.blockedUri.count == 512 && listed.first?.blockedUri.hasPrefix("inlinexxx") == true, "control characters dropped, cut to 512")
            #expect(listed.first?.source == "http://127.0.0.1/console/app.js:7")
            #expect(listed.first?.address == "127.0.0.1")
            for index in 0..<1003 { _ = try await server.request(.post, "/v1/csp-reports", body: report("r\(index)")) }
            let count = try await server.runtime.database.read { try await $0.scalar("SELECT count(*) AS n FROM csp_reports", column: "n", as: Int.self) }
            #expect(count == CSPReportController.keep)
        }
        try await TestServer.run(.sqlite, configure: { $0.rateLimits[.restPerAddress] = Rate(3, per: .seconds(3600)) }) { server in
            let body = #"{"csp-report":{"blocked-uri":"inline"}}"#
            let statuses = try await (0..<4).asyncMap { _ in try await server.request(.post, "/v1/csp-reports", body: body).status }
            #expect(statuses == [.noContent, .noContent, .noContent, .tooManyRequests], "a flood of reports is refused like any anonymous flood")
        }
    }
}

extension Sequence {
    /// `map` with an async transform, in order.
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var result: [T] = []
        for element in self { result.append(try await transform(element)) }
        return result
    }
}
