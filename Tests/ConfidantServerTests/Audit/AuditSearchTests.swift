import ConfidantCore
import Foundation
import HTTPTypes
import NIOCore
import Testing

@testable import ConfidantServer

@Suite("Searching and exporting the audit log")
struct AuditSearchTests {
    @Test("Filters by action prefix, actor, target and outcome; CSV export is safe from formula injection and audited")
    func searchAndExport() async throws {
        try await TestServer.run(.sqlite) { server in
            let owner = try await server.owner()
            let agent = try await server.agent("Ernő", by: owner)
            _ = try await server.request(.post, "/v1/auth/login", json: ["email": "owner@example.com", "password": "wrong-password-1"])
            // Fields an attacker can fill (an address, a user agent, a typed e-mail) must not run in a spreadsheet.
            let audit = AuditLog(database: server.runtime.database, logger: TestServer.logger)
            await audit.record(
                AuditEvent(
                    actorKind: .anonymous, actorId: "=cmd|' /C calc'!A0", action: "test.hostile", address: "@evil",
                    details: ["email": "+SUM(1,2)", "note": "-2+3", "quote": "a \"b\", c"]))

            struct Page: Decodable { let items: [AuditEvent] }
            func search(_ query: String, as login: StaffLogin) async throws -> [AuditEvent] {
                try server.decode(Page.self, from: try await server.request(.get, "/v1/audit?\(query)", as: login)).items
            }
            let failures = try await search("outcome=failure", as: owner)
            #expect(!failures.isEmpty && failures.allSatisfy { $0.outcome == .failure })
            let signIns = try await search("action=auth.", as: owner)
            #expect(!signIns.isEmpty && signIns.allSatisfy { $0.action.hasPrefix("auth.") })
            let byOwner = try await search("actor=\(owner.agentId)", as: owner)
            #expect(!byOwner.isEmpty && byOwner.allSatisfy { $0.actorId == owner.agentId.rawValue })
            let aboutAgent = try await search("target=\(agent.agentId)", as: owner)
            #expect(aboutAgent.contains { $0.action == "agent.created" })
            #expect(try await server.request(.get, "/v1/audit?outcome=maybe", as: owner).status == .badRequest)
            #expect(try await server.request(.get, "/v1/audit/export", as: agent).status == .forbidden)

            let export = try await server.request(.get, "/v1/audit/export?action=test.hostile", as: owner)
            #expect(export.status == .ok)
            #expect(export.headers[.contentType] == "text/csv; charset=utf-8")
            let csv = String(buffer: export.body)
            let lines = csv.components(separatedBy: "\r\n").filter { !$0.isEmpty }
            #expect(lines.count == 2)
            #expect(lines[0].hasPrefix("at_utc,actor_kind,actor_id,action,outcome"))
            #expect(lines[1].contains(",'=cmd|' /C calc'!A0,test.hostile,"), "\(lines[1])")
            #expect(lines[1].contains(",'@evil,"), "\(lines[1])")
            #expect(lines[1].contains(#""email=+SUM(1,2); note=-2+3; quote=a ""b"", c""#), "\(lines[1])")
            #expect(!lines[1].contains(",=") && !lines[1].contains(",+") && !lines[1].contains(",@"))
            #expect(try await search("action=audit.exported", as: owner).count == 1, "the export is audited")
        }
    }

    @Test("A cell is neutralised only when a spreadsheet would read it as a formula")
    func cells() {
        #expect(AuditCSV.cell("=1+1") == "'=1+1")
        #expect(AuditCSV.cell("-5") == "'-5")
        #expect(AuditCSV.cell("\tx") == "'\tx")
        #expect(AuditCSV.cell("plain") == "plain")
        #expect(AuditCSV.cell("a,b") == "\"a,b\"")
        #expect(AuditCSV.cell("=a,\"b\"") == "\"'=a,\"\"b\"\"\"")
    }
}
