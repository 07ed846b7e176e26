import ConfidantCore
import Foundation
import HTTPTypes
import NIOCore
import SQLKit
import Testing

@testable import ConfidantServer

/// The rights of access and erasure against a `confidant serve` process and its files.
@Suite("GDPR export and erasure (crypto-shredding)")
struct ErasureTests {
    struct Export: Decodable {
        struct Visitor: Decodable {
            let id: String
            let name: String?
            let email: String?
        }
        struct Conversation: Decodable {
            let conversation: ConversationSummary
            let entries: [ServerEnvelope]
        }
        struct Offline: Decodable { let body: String }
        let format: String
        let visitor: Visitor
        let conversations: [Conversation]
        let offlineMessages: [Offline]
    }

    /// Every file of a directory, by name.
    static func files(in directory: String) throws -> [(String, Data)] {
        try FileManager.default.contentsOfDirectory(atPath: directory).sorted().map {
            ($0, try Data(contentsOf: URL(fileURLWithPath: directory).appendingPathComponent($0)))
        }
    }

    /// Copies the named files (those that exist) from one directory to another.
    static func copy(_ names: [String], from source: String, to destination: String) throws {
        try FileManager.default.createDirectory(atPath: destination, withIntermediateDirectories: true)
        for name in names where FileManager.default.fileExists(atPath: source + "/" + name) {
            try FileManager.default.copyItem(atPath: source + "/" + name, toPath: destination + "/" + name)
        }
    }

    /// The bodies of a conversation's messages, read from the stores in `directory`.
    static func readBodies(in directory: String, conversation: ConversationID, visitor: VisitorID) async throws -> [String] {
        var configuration = ConfidantConfiguration()
        configuration.dataDirectory = directory
        let runtime = try await ConfidantRuntime.open(configuration, logger: TestServer.logger)
        return try await runtime.withServices { runtime in
            let rows = try await runtime.database.read { try await $0.messages(conversation: conversation, after: 0, includeInternal: true, limit: 100) }
            let key = try await runtime.keys.dataKey(for: visitor)
            return try rows.map { try FieldCipher.open($0.bodySealed, with: key, as: .messageBody(MessageID(trusted: $0.id))) }
        }
    }

    @Test("Export holds everything; after erasure the canary is in no file or log, and an older copy of the database cannot be read")
    func canary() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("confidant-erasure-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let directory = root + "/data"
        let arguments = ["--data-dir", directory, "--log-level", "trace"]
        let environment = ["CONFIDANT_HTTP_PUBLIC_URL": "http://127.0.0.1", "CONFIDANT_LIMITS_FORM_MINIMUM_FILL_MS": "0"]
        let (process, server, owner) = try await ServerProcess.startWithOwner(arguments, password: "erasure-test-password", environment: environment)
        let site = try await server.site(by: owner)
        let (agentSocket, _) = try await server.agentSocket(owner)
        let visitor = try await server.visitor(of: site)
        let (guest, _) = try await server.visitorSocket(visitor)
        let canary = "CANARY-\(UUID().uuidString)"
        let name = "Vera \(canary.suffix(6))"
        guest.send(.openConversation(departmentId: nil, name: name, email: "vera@example.com", pageUrl: "https://shop.example/cart"), ref: "open")
        let conversation = try #require(try await guest.next(timeout: .seconds(10), "opened") { $0.ref == "open" }.opened).id
        guest.send(.sendMessage(conversationId: conversation, clientId: "c-1", body: "My secret is \(canary)", visibility: .public))
        _ = try await guest.next(type: "message.ack")
        agentSocket.send(.sendMessage(conversationId: conversation, clientId: "a-1", body: "Noted: \(canary)", visibility: .internal))
        _ = try await agentSocket.next(type: "message.ack")
        guest.send(.leaveOfflineMessage(clientId: "off-1", departmentId: nil, name: name, email: nil, body: "Offline \(canary)"), ref: "off")
        _ = try await guest.next(type: "offline.ack")

        // Access: one document with the contact, the conversation (notes included) and the offline message.
        let exported = try await server.request(.get, "/v1/visitors/\(visitor.visitorId)/export", as: owner)
        #expect(exported.status == .ok)
        #expect(exported.headers[.contentDisposition]?.contains("attachment") == true)
        let document = try server.decode(Export.self, from: exported)
        #expect(document.format == "confidant.visitor-export.v1")
        #expect(document.visitor.name == name && document.visitor.email == "vera@example.com")
        let bodies = document.conversations.flatMap(\.entries).compactMap(\.message).map(\.body)
        #expect(bodies.contains("My secret is \(canary)") && bodies.contains("Noted: \(canary)"))
        #expect(document.conversations.first?.conversation.pageUrl == "https://shop.example/cart")
        #expect(document.offlineMessages.map(\.body) == ["Offline \(canary)"])
        // Only those allowed to handle personal data may export or erase.
        let agent = try await server.agent("Andrea", by: owner)
        #expect(try await server.request(.get, "/v1/visitors/\(visitor.visitorId)/export", as: agent).status == .forbidden)
        #expect(try await server.request(.delete, "/v1/visitors/\(visitor.visitorId)", as: agent).status == .forbidden)

        // A copy of the database (and, for the control below, of the key store) before erasure.
        try Self.copy(["confidant.sqlite", "confidant.sqlite-wal", "confidant.sqlite-shm"], from: directory, to: root + "/old-data")
        try Self.copy(["keys.sqlite", "keys.sqlite-wal", "keys.sqlite-shm", "master.key"], from: directory, to: root + "/old-keys")
        let sealedBefore = try await Self.sealedBlobs(in: root + "/old-data", visitor: visitor.visitorId)
        let wrappedKey = try await Self.wrappedKey(in: root + "/old-keys", visitor: visitor.visitorId)
        #expect(sealedBefore.count >= 5, "contact, page, messages, offline message")

        let erased = try await server.request(.delete, "/v1/visitors/\(visitor.visitorId)", as: owner)
        #expect(erased.status == .ok)
        #expect(String(buffer: erased.body).contains(#""keyDestroyed":true"#))
        #expect(try await server.request(.get, "/v1/visitors/\(visitor.visitorId)/export", as: owner).status == .notFound)
        #expect(try await server.request(.get, "/v1/conversations/\(conversation)", as: owner).status == .notFound)
        #expect(try await guest.closeCode() == 4401, "the visitor's open widget is closed")
        process.stop()

        // Nothing of it is left: not the canary, not its ciphertext, not the wrapped key, in any
        // file of the data directory (database, WAL, key store) or the log.
        var haystacks = try Self.files(in: directory)
        haystacks.append(("log", Data(process.log.utf8)))
        for (file, data) in haystacks {
            #expect(data.range(of: Data(canary.utf8)) == nil, "the canary is in \(file)")
            #expect(data.range(of: wrappedKey) == nil, "the wrapped data key is in \(file)")
            for blob in sealedBefore { #expect(data.range(of: blob) == nil, "sealed data of the visitor is in \(file)") }
        }

        // The old copy of the database, read with the key store as it is now, yields nothing;
        // with the key store as it was, it still would (the control).
        try Self.copy(["keys.sqlite", "keys.sqlite-wal", "keys.sqlite-shm", "master.key"], from: directory, to: root + "/old-data")
        await #expect(throws: ConfidantError.self) {
            _ = try await Self.readBodies(in: root + "/old-data", conversation: conversation, visitor: visitor.visitorId)
        }
        try Self.copy(["confidant.sqlite", "confidant.sqlite-wal", "confidant.sqlite-shm"], from: root + "/old-data", to: root + "/old-keys")
        let recovered = try await Self.readBodies(in: root + "/old-keys", conversation: conversation, visitor: visitor.visitorId)
        #expect(recovered.contains("My secret is \(canary)"), "the control: the old copy was readable with the old key store")

        // The erasure is audited, with counts and no personal data.
        let audit = try await ServerProcess.command(["audit", "verify"] + arguments, environment: environment)
        #expect(audit.status == 0, "\(audit.output)")
    }

    @Test("Erasing a visitor whose data is gone still destroys a key that came back (a restored key-store backup)")
    func erasingAgainDestroysARestoredKey() async throws {
        try await TestServer.run(.sqlite) { server in
            let owner = try await server.owner()
            let visitor = try await server.visitor(of: try await server.site(by: owner))
            // The rows are gone (erased earlier), the key is back.
            try await server.runtime.database.transaction { try await $0.run("DELETE FROM visitors WHERE id = \(bind: visitor.visitorId.rawValue)") }
            let erased = try await server.request(.delete, "/v1/visitors/\(visitor.visitorId)", as: owner)
            #expect(erased.status == .ok)
            #expect(String(buffer: erased.body).contains(#""keyDestroyed":true"#))
            await #expect(throws: ConfidantError.self) { _ = try await server.runtime.keys.dataKey(for: visitor.visitorId) }
            #expect(try await server.request(.delete, "/v1/visitors/\(visitor.visitorId)", as: owner).status == .notFound)
        }
    }

    @Test("confidant visitor export and erase: the operator's way; the audit chain still verifies")
    func commandLine() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("confidant-visitor-cli-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let arguments = ["--data-dir", directory]
        let environment = ["CONFIDANT_HTTP_PUBLIC_URL": "http://127.0.0.1"]
        let (process, server, owner) = try await ServerProcess.startWithOwner(arguments, password: "visitor-cli-password", environment: environment)
        let visitor = try await server.visitor(of: try await server.site(by: owner))
        process.stop()

        let exported = try ServerProcess.command(["visitor", "export", "--id", visitor.visitorId.rawValue] + arguments, environment: environment)
        #expect(exported.status == 0, "\(exported.output)")
        #expect(exported.output.contains(#""format" : "confidant.visitor-export.v1""#) && exported.output.contains(visitor.visitorId.rawValue))
        let erased = try ServerProcess.command(["visitor", "erase", "--id", visitor.visitorId.rawValue] + arguments, environment: environment)
        #expect(erased.status == 0, "\(erased.output)")
        #expect(erased.output.contains("Erased visitor \(visitor.visitorId): 0 conversations, 0 messages, 0 offline messages; data key destroyed."))
        let again = try ServerProcess.command(["visitor", "export", "--id", visitor.visitorId.rawValue] + arguments, environment: environment)
        #expect(again.status != 0 && again.output.contains("No such visitor"), "\(again.output)")
        let audit = try ServerProcess.command(["audit", "verify"] + arguments, environment: environment)
        #expect(audit.status == 0, "\(audit.output)")
    }

    /// Reads one SQLite file directly (no runtime, so nothing is created beside it).
    static func withSQLite<T: Sendable>(_ path: String, _ body: @Sendable @escaping (Store) async throws -> T) async throws -> T {
        let database = try await SQLiteDatabase.open(path: path, readerCount: 1, logger: TestServer.logger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await database.run() }
            defer { group.cancelAll() }
            return try await database.read(body)
        }
    }

    /// The sealed values of a visitor in a copy of the database.
    static func sealedBlobs(in directory: String, visitor: VisitorID) async throws -> [Data] {
        struct Blob: Decodable { let blob: Data? }
        let id = visitor.rawValue
        return try await withSQLite(directory + "/confidant.sqlite") { store in
            try await store.all(
                """
                SELECT name_sealed AS blob FROM visitors WHERE id = \(bind: id)
                UNION ALL SELECT email_sealed FROM visitors WHERE id = \(bind: id)
                UNION ALL SELECT page_url_sealed FROM conversations WHERE visitor_id = \(bind: id)
                UNION ALL SELECT body_sealed FROM messages WHERE conversation_id IN (SELECT id FROM conversations WHERE visitor_id = \(bind: id))
                UNION ALL SELECT body_sealed FROM offline_messages WHERE visitor_id = \(bind: id)
                """, as: Blob.self
            ).compactMap(\.blob)
        }
    }

    /// The visitor's wrapped data key in a copy of the key store.
    static func wrappedKey(in directory: String, visitor: VisitorID) async throws -> Data {
        let id = visitor.rawValue
        let wrapped = try await withSQLite(directory + "/keys.sqlite") { store in
            try await store.scalar("SELECT wrapped FROM data_keys WHERE owner_id = \(bind: id)", column: "wrapped", as: Data.self)
        }
        return try #require(wrapped)
    }
}
