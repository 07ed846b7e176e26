import ConfidantCore
import Foundation
import HTTPTypes
import HummingbirdTesting
import PostgresNIO
import SQLKit
import Testing

@testable import ConfidantServer

@Suite("Encryption at rest")
struct EncryptionAtRestTests {
    /// Writes a unique canary into every personal field a visitor can fill, through the real
    /// protocol, and returns the canary and the conversation.
    static func writeCanaries(_ server: TestServer) async throws -> (canary: String, pair: DeliveryTests.Pair) {
        let canary = "CANARY\(UUID().uuidString.replacingOccurrences(of: "-", with: ""))"
        let pair = try await DeliveryTests.pair(
            server, name: "Name \(canary)", email: "\(canary.lowercased())@example.com", pageUrl: "https://shop.example/\(canary)"
        )
        let (guest, agent, conversation) = (pair.guest, pair.agent, pair.conversation)
        guest.send(.sendMessage(conversationId: conversation, clientId: "m1", body: "My card story \(canary)", visibility: .public), ref: "m1")
        _ = try await guest.next(timeout: .seconds(5), "ack") { $0.ref == "m1" }
        agent.send(.sendMessage(conversationId: conversation, clientId: "n1", body: "Note \(canary)", visibility: .internal), ref: "n1")
        _ = try await agent.next(timeout: .seconds(5), "ack") { $0.ref == "n1" }
        agent.send(.close(conversationId: conversation), ref: "close")
        _ = try await guest.next(type: "conversation.closed")
        guest.send(.rate(conversationId: conversation, score: 4, comment: "Comment \(canary)"), ref: "rate")
        _ = try await guest.next(timeout: .seconds(5), "ok") { $0.ref == "rate" }
        guest.send(
            .leaveOfflineMessage(
                clientId: "o1", departmentId: nil, name: "Off \(canary)", email: "off.\(canary.lowercased())@example.com", body: "Offline \(canary)"),
            ref: "off")
        _ = try await guest.next(timeout: .seconds(5), "offline ack") { $0.ref == "off" }
        // Positive control: the canary was stored and reads back through the API.
        let transcript = try await server.request(.get, "/v1/conversations/\(conversation)/transcript", as: pair.agentLogin)
        let text = String(buffer: transcript.body)
        for fragment in ["My card story \(canary)", "Note \(canary)", "Comment \(canary)", "Name \(canary)", "https://shop.example/\(canary)"] {
            #expect(text.contains(fragment), "the transcript shows \(fragment)")
        }
        let offline = try await server.request(.get, "/v1/offline-messages", as: pair.agentLogin)
        #expect(String(buffer: offline.body).contains("Offline \(canary)"))
        return (canary, pair)
    }

    static func contains(_ needle: String, inFile path: String) throws -> Bool {
        guard FileManager.default.fileExists(atPath: path) else { return false }
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        return data.range(of: Data(needle.utf8)) != nil || data.range(of: Data(needle.lowercased().utf8)) != nil
    }

    @Test("No plaintext canary in the SQLite file or its WAL, before and after a checkpoint; the key store holds no data")
    func sqliteCanary() async throws {
        try await TestServer.run(.sqlite) { server in
            let (canary, _) = try await Self.writeCanaries(server)
            let directory = server.runtime.configuration.dataDirectory
            let files = ["confidant.sqlite", "confidant.sqlite-wal", "keys.sqlite", "keys.sqlite-wal"].map { "\(directory)/\($0)" }
            // Control: the scan does read the files (a plaintext column is found).
            #expect(try Self.contains("owner@example.com", inFile: files[0]) || Self.contains("owner@example.com", inFile: files[1]))
            for file in files { #expect(try !Self.contains(canary, inFile: file), "\(file) holds plaintext") }
            let database = try #require(server.runtime.database as? SQLiteDatabase)
            try await database.checkpoint()
            try await #require(server.runtime.keyDatabase as? SQLiteDatabase).checkpoint()
            for file in files { #expect(try !Self.contains(canary, inFile: file), "\(file) holds plaintext after a checkpoint") }
            // Data keys live only in the key store, never next to the data.
            let tables = try await database.read { store in
                try await store.all("SELECT name AS id FROM sqlite_master WHERE type = 'table'", as: IDRow.self).map(\.id)
            }
            #expect(!tables.contains("data_keys"))
            #expect(try Data(contentsOf: URL(fileURLWithPath: "\(directory)/master.key")).count == 45)
            let mode = try FileManager.default.attributesOfItem(atPath: "\(directory)/master.key")[.posixPermissions] as? Int
            #expect(mode == 0o600)
        }
    }

    @Test("No plaintext canary in any PostgreSQL row")
    func postgresCanary() async throws {
        try await TestServer.run(.postgres) { server in
            let (canary, _) = try await Self.writeCanaries(server)
            let hex = canary.utf8.map { String(format: "%02x", $0) }.joined()
            let dump = try await server.runtime.database.read { store in
                let tables = try await store.all(
                    "SELECT table_schema || '.' || table_name AS id FROM information_schema.tables WHERE table_schema IN ('public', 'confidant_keys')",
                    as: IDRow.self
                )
                var text = ""
                for table in tables {
                    for row in try await store.all("SELECT row_to_json(t)::text AS id FROM \(unsafeRaw: table.id) t", as: IDRow.self) { text += row.id + "\n" }
                }
                return text
            }
            #expect(dump.contains("owner@example.com"), "control: the dump covers the tables")
            #expect(!dump.lowercased().contains(canary.lowercased()))
            #expect(!dump.contains(hex))
        }
    }

    @Test("A ciphertext moved to another row does not open", arguments: TestBackend.allCases)
    func ciphertextIsBoundToItsRow(_ backend: TestBackend) async throws {
        try await TestServer.run(backend) { server in
            let pair = try await DeliveryTests.pair(server)
            for index in 1...2 {
                pair.guest.send(
                    .sendMessage(conversationId: pair.conversation, clientId: "m\(index)", body: "message \(index)", visibility: .public), ref: "m\(index)")
                _ = try await pair.guest.next(timeout: .seconds(5), "ack") { $0.ref == "m\(index)" }
            }
            #expect(try await server.request(.get, "/v1/conversations/\(pair.conversation)/transcript", as: pair.agentLogin).status == .ok)
            // An attacker with write access to the database swaps two sealed bodies.
            try await server.runtime.database.transaction { store in
                let rows = try await store.all("SELECT * FROM messages ORDER BY seq", as: MessageRecord.self)
                try await store.run("UPDATE messages SET body_sealed = \(bind: rows[1].bodySealed) WHERE id = \(bind: rows[0].id)")
            }
            let response = try await server.request(.get, "/v1/conversations/\(pair.conversation)/transcript", as: pair.agentLogin)
            #expect(response.status == .internalServerError)
            #expect(!String(buffer: response.body).contains("message 2"))
        }
    }

    @Test("A different master key is refused at start-up; a readable key file is refused")
    func masterKeyChecks() async throws {
        var configuration = try await TestServer.configuration(for: .sqlite)
        defer { try? FileManager.default.removeItem(atPath: configuration.dataDirectory) }
        let first = try await ConfidantRuntime.open(configuration, logger: TestServer.logger)
        _ = try await first.withServices { try await $0.prepare() }

        configuration.masterKeyBase64 = Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
        let wrong = try await ConfidantRuntime.open(configuration, logger: TestServer.logger)
        await #expect(throws: ConfigurationError.self) { try await wrong.withServices { try await $0.prepare() } }

        configuration.masterKeyBase64 = nil
        let keyFile = configuration.dataDirectory + "/master.key"
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: keyFile)
        await #expect(throws: ConfigurationError.self) { _ = try await ConfidantRuntime.open(configuration, logger: TestServer.logger) }
    }
}
