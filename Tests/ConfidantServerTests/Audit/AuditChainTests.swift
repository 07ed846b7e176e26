import ConfidantCore
import Foundation
import HTTPTypes
import SQLKit
import Testing

@testable import ConfidantServer

/// The audit log's hash chain against the three ways to tamper with it: change an entry, delete
/// one from the middle, delete the newest.
@Suite("Tamper-evident audit log")
struct AuditChainTests {
    enum Tampering: String, CaseIterable, CustomTestStringConvertible {
        case flipAByte, deleteAMiddleEntry, deleteTheNewestEntries
        var testDescription: String { rawValue }
    }

    /// A server with a dozen real audit entries (sign-ins, failures, directory changes) and the
    /// head written outside the database.
    static func withAuditedServer(_ backend: TestBackend, _ body: @Sendable @escaping (TestServer, URL, Int64) async throws -> Void) async throws {
        let headFile = FileManager.default.temporaryDirectory.appendingPathComponent("audit-head-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: headFile) }
        try await TestServer.run(backend, configure: { $0.auditHeadFile = headFile.path }) { server in
            let owner = try await server.owner()
            for attempt in 0..<3 {
                _ = try await server.request(.post, "/v1/auth/login", json: ["email": "owner@example.com", "password": "wrong-\(attempt)-password"])
            }
            for name in ["Sales", "Support", "Billing"] { _ = try await server.request(.post, "/v1/departments", json: ["name": name], as: owner) }
            let site = try await server.site(by: owner)
            _ = try await server.request(.post, "/v1/sites/\(site.id)/blocklist", json: ["kind": "address", "value": "203.0.113.0/24"], as: owner)
            let writer = AuditHeadWriter(database: server.runtime.database, file: headFile, interval: .seconds(60), logger: TestServer.logger)
            let written = try await writer.writeIfMoved(since: -1)
            try #require(written >= 5, "enough entries to tamper with in the middle")
            let intact = try await AuditChain.verify(server.runtime.database, against: try AuditChain.readHead(at: headFile))
            #expect(intact.problem == nil, "\(intact.problem ?? "")")
            #expect(intact.entries == Int(written))
            try await body(server, headFile, written)
        }
    }

    @Test("Each tampering is detected and the first broken entry named", arguments: TestBackend.allCases, Tampering.allCases)
    func tamperingIsDetected(_ backend: TestBackend, _ tampering: Tampering) async throws {
        try await Self.withAuditedServer(backend) { server, headFile, last in
            let database = server.runtime.database
            let middle = last / 2
            switch tampering {
            case .flipAByte:
                // One entry's action gains a character (auth.login → auth.loginx).
                try await database.transaction {
                    try await $0.run("UPDATE audit_events SET action = action || 'x' WHERE seq = \(bind: middle)")
                }
            case .deleteAMiddleEntry:
                try await database.transaction { try await $0.run("DELETE FROM audit_events WHERE seq = \(bind: middle)") }
            case .deleteTheNewestEntries:
                try await database.transaction { try await $0.run("DELETE FROM audit_events WHERE seq > \(bind: last - 2)") }
            }
            let report = try await AuditChain.verify(database, against: try AuditChain.readHead(at: headFile))
            let problem = try #require(report.problem, "\(tampering) went unnoticed")
            switch tampering {
            case .flipAByte: #expect(problem.hasPrefix("Entry \(middle) ") && problem.contains("altered"), "\(problem)")
            case .deleteAMiddleEntry: #expect(problem.hasPrefix("Entry \(middle) is missing"), "\(problem)")
            case .deleteTheNewestEntries:
                #expect(problem.contains("newest entries are missing") && problem.contains("\(last)"), "\(problem)")
                // Without the head kept outside, a shortened chain is indistinguishable from a short one.
                #expect(try await AuditChain.verify(database, against: nil).problem == nil)
            }
        }
    }

    @Test("Rewriting the chain from an entry on, hashes and all, no longer matches the head")
    func rewrittenChainDoesNotMatchTheHead() async throws {
        try await Self.withAuditedServer(.sqlite) { server, headFile, last in
            let database = server.runtime.database
            // A careful forger changes an entry and recomputes every hash after it.
            try await database.transaction { store in
                try await store.run("UPDATE audit_events SET address = '198.51.100.7' WHERE seq = 2")
                struct HashRow: Decodable { let hash: String }
                var previous = try #require(try await store.first("SELECT hash FROM audit_events WHERE seq = 1", as: HashRow.self)).hash
                for seq in Int64(2)...last {
                    let row = try #require(try await store.first("SELECT * FROM audit_events WHERE seq = \(bind: seq)", as: AuditRecord.self))
                    let hash = AuditChain.hash(seq: seq, previous: previous, fields: AuditChain.fields(of: row))
                    try await store.run("UPDATE audit_events SET prev_hash = \(bind: previous), hash = \(bind: hash) WHERE seq = \(bind: seq)")
                    previous = hash
                }
            }
            #expect(try await AuditChain.verify(database, against: nil).problem == nil, "internally consistent again")
            let report = try await AuditChain.verify(database, against: try AuditChain.readHead(at: headFile))
            #expect(report.problem?.contains("differs from the head") == true, "\(report.problem ?? "")")
        }
    }

    @Test("Entries written before the chain existed are chained once, in time order; later, an unchained entry is damage")
    func legacyEntriesAreAdopted() async throws {
        try await TestServer.run(.sqlite) { server in
            let database = server.runtime.database
            try await database.transaction { store in
                try await store.run("DELETE FROM audit_events")
                for (index, action) in ["legacy.third", "legacy.first", "legacy.second"].enumerated() {
                    let at: Int64 = [3000, 1000, 2000][index]
                    try await store.run(
                        """
                        INSERT INTO audit_events (id, at, actor_kind, action, outcome, details)
                        VALUES (\(bind: "legacy-\(index)"), \(bind: at), 'cli', \(bind: action), 'success', '{}')
                        """)
                }
            }
            try await AuditChain.adoptUnchainedEntries(database)
            let adopted = try await AuditChain.verify(database, against: nil)
            #expect(adopted.problem == nil && adopted.entries == 3, "\(adopted.problem ?? "")")
            struct Row: Decodable { let action: String }
            let order = try await database.read { try await $0.all("SELECT action FROM audit_events ORDER BY seq", as: Row.self) }.map(\.action)
            #expect(order == ["legacy.first", "legacy.second", "legacy.third"])

            try await database.transaction { store in
                try await store.run(
                    "INSERT INTO audit_events (id, at, actor_kind, action, outcome, details) VALUES ('smuggled', 4000, 'cli', 'legacy.late', 'success', '{}')")
            }
            try await AuditChain.adoptUnchainedEntries(database)
            let report = try await AuditChain.verify(database, against: nil)
            #expect(report.problem?.contains("smuggled is outside the chain") == true, "\(report.problem ?? "")")
        }
    }

    @Test("Concurrent appends take distinct, gap-free places", arguments: TestBackend.allCases)
    func concurrentAppendsStayChained(_ backend: TestBackend) async throws {
        try await TestServer.run(backend) { server in
            let audit = AuditLog(database: server.runtime.database, logger: TestServer.logger)
            let before = try await AuditChain.verify(server.runtime.database, against: nil).entries
            await withTaskGroup(of: Void.self) { group in
                for index in 0..<40 {
                    group.addTask { await audit.record(AuditEvent(actorKind: .cli, action: "test.concurrent", details: ["n": String(index)])) }
                }
            }
            let report = try await AuditChain.verify(server.runtime.database, against: nil)
            #expect(report.problem == nil, "\(report.problem ?? "")")
            #expect(report.entries == before + 40)
        }
    }

    @Test("confidant audit verify: intact after a server's life (head written at shutdown), broken after a deletion")
    func commandLine() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("confidant-audit-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let arguments = ["--data-dir", directory]
        // The head every second, so that the running server is seen writing it, not only at shutdown.
        let environment = ["CONFIDANT_HTTP_PUBLIC_URL": "http://127.0.0.1", "CONFIDANT_AUDIT_HEAD_INTERVAL_SECONDS": "1"]
        let (process, server, owner) = try await ServerProcess.startWithOwner(arguments, password: "audit-test-password", environment: environment)
        for name in ["Sales", "Support"] { _ = try await server.request(.post, "/v1/departments", json: ["name": name], as: owner) }
        _ = try await server.request(.post, "/v1/auth/login", json: ["email": "owner@example.com", "password": "not-the-password"])
        let headFile = URL(fileURLWithPath: directory).appendingPathComponent("audit-head.json")
        // Six entries: the master key registered and the owner created (by `admin create`), the
        // owner's sign-in, two departments, the failed sign-in.
        for _ in 0..<50 where try AuditChain.readHead(at: headFile)?.seq != 6 { try await Task.sleep(for: .milliseconds(100)) }
        #expect(try AuditChain.readHead(at: headFile)?.seq == 6, "the head of all six entries, written while the server runs")
        process.stop()
        #expect(process.log.contains("Audit chain head"), "the head is in the log stream too")

        let intact = try ServerProcess.command(["audit", "verify"] + arguments, environment: environment)
        #expect(intact.status == 0, "\(intact.output)")
        #expect(intact.output.contains("The audit chain is intact: "), "\(intact.output)")

        // Delete the newest entry behind the server's back.
        var configuration = ConfidantConfiguration()
        configuration.dataDirectory = directory
        let runtime = try await ConfidantRuntime.open(configuration, logger: TestServer.logger)
        try await runtime.withServices { runtime in
            try await runtime.database.transaction { try await $0.run("DELETE FROM audit_events WHERE seq = (SELECT MAX(seq) FROM audit_events)") }
        }
        let broken = try ServerProcess.command(["audit", "verify"] + arguments, environment: environment)
        #expect(broken.status == 1, "\(broken.output)")
        #expect(broken.output.contains("BROKEN") && broken.output.contains("newest entries are missing"), "\(broken.output)")
    }
}
