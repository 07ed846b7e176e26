import ConfidantCore
import Crypto
import Foundation
import SQLKit
import Testing

@testable import ConfidantServer

/// The store layer, run identically on SQLite and PostgreSQL.
@Suite("Store: the same behaviour on SQLite and PostgreSQL")
struct StoreTests {
    /// Opens a fresh, migrated runtime for `backend` and runs `body` with its services running.
    static func withStore(_ backend: TestBackend, _ body: @Sendable (ConfidantRuntime) async throws -> Void) async throws {
        let configuration = try await TestServer.configuration(for: backend)
        defer { try? FileManager.default.removeItem(atPath: configuration.dataDirectory) }
        let runtime = try await ConfidantRuntime.open(configuration, logger: TestServer.logger)
        try await runtime.withServices { runtime in
            try await runtime.prepare()
            try await body(runtime)
        }
    }

    /// A site, a visitor and a conversation.
    static func seedConversation(_ store: Store, department: DepartmentID? = nil, at time: Int64 = nowMillis()) async throws -> (
        SiteID, VisitorID, ConversationID
    ) {
        let site = SiteID()
        try await store.insertSite(id: site, widgetKey: "cf_\(site.rawValue.prefix(8))", name: "Shop", allowedOrigins: [])
        let visitor = VisitorID()
        try await store.insertVisitor(id: visitor, site: site)
        let conversation = ConversationID()
        try await store.insertConversation(id: conversation, site: site, department: department, visitor: visitor, pageURLSealed: nil, at: time)
        return (site, visitor, conversation)
    }

    @Test("Migrations are recorded and a second run applies nothing", arguments: TestBackend.allCases)
    func migrationsAreIdempotent(_ backend: TestBackend) async throws {
        try await Self.withStore(backend) { runtime in
            #expect(try await runtime.prepare() == 0)
            #expect(try await Schema.migrator.pending(on: runtime.database).isEmpty)
            let versions = try await runtime.database.read { try await $0.all("SELECT version AS id FROM schema_migrations", as: VersionRow.self) }
            #expect(versions.map(\.id) == Schema.migrator.migrations.map(\.version))
        }
    }

    struct VersionRow: Decodable { let id: Int }

    @Test("Concurrent writers get distinct, gap-free sequence numbers", arguments: TestBackend.allCases)
    func sequenceNumbersUnderConcurrency(_ backend: TestBackend) async throws {
        try await Self.withStore(backend) { runtime in
            let database = runtime.database
            let (_, _, conversation) = try await database.transaction { try await Self.seedConversation($0) }
            let seqs = try await withThrowingTaskGroup(of: Int64.self) { group in
                for _ in 0..<40 {
                    group.addTask { try await database.transaction { try await $0.nextSequence(conversation: conversation) } }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(seqs.sorted() == Array(1...40))
            #expect(try await database.read { try await $0.conversation(id: conversation)?.lastSeq } == 40)
        }
    }

    @Test(
        "Among concurrent writes (one shared commit on SQLite), a failing one rolls back alone; the rest are durable when they return",
        arguments: TestBackend.allCases)
    func concurrentFailuresRollBackAlone(_ backend: TestBackend) async throws {
        try await Self.withStore(backend) { runtime in
            let database = runtime.database
            let (_, visitor, conversation) = try await database.transaction { try await Self.seedConversation($0) }
            struct Boom: Error {}
            let outcomes = await withTaskGroup(of: (Int, Int64?).self) { group in
                for index in 0..<60 {
                    group.addTask {
                        do {
                            let seq = try await database.transaction { store in
                                let seq = try await store.nextSequence(conversation: conversation)
                                try await store.insertMessage(
                                    id: MessageID(), conversation: conversation, seq: seq, clientId: "c\(index)", authorKind: .visitor,
                                    authorId: visitor.rawValue, visibility: .public, bodySealed: Data([1]), at: 1)
                                if index % 3 == 0 { throw Boom() }
                                return seq
                            }
                            // Committed by the time the transaction returns: another connection sees it.
                            let stored = try await database.read {
                                try await $0.message(conversation: conversation, authorKind: .visitor, authorId: visitor.rawValue, clientId: "c\(index)")
                            }
                            return (index, stored?.seq == seq ? seq : -1)
                        } catch {
                            return (index, nil)
                        }
                    }
                }
                return await group.reduce(into: [(Int, Int64?)]()) { $0.append($1) }
            }
            #expect(outcomes.filter { $0.1 == nil }.map(\.0).sorted() == Array(stride(from: 0, to: 60, by: 3)))
            #expect(outcomes.compactMap(\.1).sorted() == Array(1...40))
            #expect(try await database.read { try await $0.conversation(id: conversation)?.lastSeq } == 40)
            #expect(try await database.read { try await $0.messages(conversation: conversation, after: 0, includeInternal: true, limit: 100) }.count == 40)
        }
    }

    @Test("A failed transaction leaves nothing behind; a client id is unique per author", arguments: TestBackend.allCases)
    func rollbackAndUniqueness(_ backend: TestBackend) async throws {
        try await Self.withStore(backend) { runtime in
            let database = runtime.database
            let (_, visitor, conversation) = try await database.transaction { try await Self.seedConversation($0) }
            struct Boom: Error {}
            await #expect(throws: Boom.self) {
                try await database.transaction { store in
                    let seq = try await store.nextSequence(conversation: conversation)
                    try await store.insertMessage(
                        id: MessageID(), conversation: conversation, seq: seq, clientId: "c", authorKind: .visitor, authorId: visitor.rawValue,
                        visibility: .public, bodySealed: Data([1, 2, 3]), at: 1
                    )
                    throw Boom()
                }
            }
            #expect(try await database.read { try await $0.messages(conversation: conversation, after: 0, includeInternal: true, limit: 10) }.isEmpty)
            #expect(try await database.read { try await $0.conversation(id: conversation)?.lastSeq } == 0)

            try await database.transaction { store in
                try await store.insertMessage(
                    id: MessageID(), conversation: conversation, seq: 1, clientId: "c", authorKind: .visitor, authorId: visitor.rawValue,
                    visibility: .public, bodySealed: Data([1]), at: 1
                )
            }
            await #expect(throws: (any Error).self) {
                try await database.transaction { store in
                    try await store.insertMessage(
                        id: MessageID(), conversation: conversation, seq: 2, clientId: "c", authorKind: .visitor, authorId: visitor.rawValue,
                        visibility: .public, bodySealed: Data([2]), at: 2
                    )
                }
            }
            // The same client id from another author is a different message.
            try await database.transaction { store in
                try await store.insertMessage(
                    id: MessageID(), conversation: conversation, seq: 2, clientId: "c", authorKind: .agent, authorId: AgentID().rawValue,
                    visibility: .internal, bodySealed: Data([3]), at: 3
                )
            }
            let found = try await database.read {
                try await $0.message(conversation: conversation, authorKind: .visitor, authorId: visitor.rawValue, clientId: "c")
            }
            #expect(found?.seq == 1)
            #expect(try await database.read { try await $0.messages(conversation: conversation, after: 0, includeInternal: false, limit: 10) }.count == 1)
        }
    }

    @Test("Routing candidates: active, available, present, in the department, with their load", arguments: TestBackend.allCases)
    func routingCandidates(_ backend: TestBackend) async throws {
        try await Self.withStore(backend) { runtime in
            let database = runtime.database
            let sales = DepartmentID()
            let now = nowMillis()
            func agent(_ name: String, available: Bool = true, present: Int64? = now, departments: [DepartmentID] = [], active: Bool = true) async throws
                -> AgentID
            {
                let id = AgentID()
                try await database.transaction { store in
                    try await store.insertAgent(id: id, email: "\(name)@example.com", displayName: name, passwordHash: "x", role: .agent, maxConversations: 2)
                    if available { try await store.setAvailability(agent: id, .available) }
                    if let present { try await store.upsertPresence(agent: id, node: "n1", connections: 1, at: present) }
                    try await store.setDepartments(ofAgent: id, departments)
                    if !active, var record = try await store.agent(id: id) {
                        record = AgentRecord(
                            id: record.id, email: record.email, displayName: record.displayName, passwordHash: record.passwordHash, role: record.role,
                            maxConversations: record.maxConversations, availability: record.availability, active: 0, lastAssignedAt: 0,
                            createdAt: record.createdAt, updatedAt: record.updatedAt
                        )
                        try await store.updateAgent(record)
                    }
                }
                return id
            }
            try await database.transaction { try await $0.insertDepartment(id: sales, name: "Sales") }
            let anna = try await agent("anna", departments: [sales])
            let ben = try await agent("ben")
            _ = try await agent("away", available: false)
            _ = try await agent("stale", present: now - 120_000)
            _ = try await agent("gone", present: nil)
            _ = try await agent("disabled", active: false)
            let (_, _, conversation) = try await database.transaction { try await Self.seedConversation($0) }
            try await database.transaction { try await $0.assign(conversation: conversation, to: anna, at: now) }

            let cutoff = now - 45_000
            let general = try await database.read { try await $0.routingCandidates(department: nil, presenceCutoff: cutoff) }
            #expect(Set(general.map(\.agentID)) == [anna, ben])
            #expect(general.first { $0.agentID == anna }?.activeConversations == 1)
            #expect(general.first { $0.agentID == anna }?.lastAssignedAt == now)
            let inSales = try await database.read { try await $0.routingCandidates(department: sales, presenceCutoff: cutoff) }
            #expect(inSales.map(\.agentID) == [anna])
            #expect(RoutingPolicy.choose(from: general)?.agentID == ben)
        }
    }

    @Test("Queue order, read markers that never move back, presence per node", arguments: TestBackend.allCases)
    func queueMarkersPresence(_ backend: TestBackend) async throws {
        try await Self.withStore(backend) { runtime in
            let database = runtime.database
            let (_, visitor, first) = try await database.transaction { try await Self.seedConversation($0, at: 2000) }
            let (_, _, second) = try await database.transaction { try await Self.seedConversation($0, at: 1000) }
            #expect(try await database.read { try await $0.queuedConversations() }.map(\.id) == [second.rawValue, first.rawValue])

            try await database.transaction { try await $0.markRead(conversation: first, readerKind: .visitor, readerId: visitor.rawValue, seq: 5) }
            try await database.transaction { try await $0.markRead(conversation: first, readerKind: .visitor, readerId: visitor.rawValue, seq: 3) }
            #expect(try await database.read { try await $0.readMarkers(conversation: first) }.map(\.seq) == [5])

            let agent = AgentID()
            try await database.transaction { store in
                try await store.insertAgent(id: agent, email: "p@example.com", displayName: "P", passwordHash: "x", role: .agent, maxConversations: 1)
                try await store.upsertPresence(agent: agent, node: "a", connections: 1, at: 10)
                try await store.upsertPresence(agent: agent, node: "a", connections: 2, at: 20)
                try await store.upsertPresence(agent: agent, node: "b", connections: 1, at: 30)
            }
            #expect(try await database.read { try await $0.isOnline(agent: agent, freshAfter: 25) })
            try await database.transaction { try await $0.deletePresence(node: "b") }
            #expect(try await database.read { try await $0.isOnline(agent: agent, freshAfter: 25) } == false)
            #expect(try await database.read { try await $0.isOnline(agent: agent, freshAfter: 15) })
        }
    }

    @Test("Conversation filters: state, site, department, agent, dates, scope", arguments: TestBackend.allCases)
    func conversationFilters(_ backend: TestBackend) async throws {
        try await Self.withStore(backend) { runtime in
            let database = runtime.database
            let sales = DepartmentID()
            let agent = AgentID()
            let (site, _, inSales, general, closed) = try await database.transaction { store in
                try await store.insertDepartment(id: sales, name: "Sales")
                try await store.insertAgent(id: agent, email: "a@example.com", displayName: "A", passwordHash: "x", role: .agent, maxConversations: 5)
                let (site, _, inSales) = try await Self.seedConversation(store, department: sales, at: 1000)
                let (_, _, general) = try await Self.seedConversation(store, at: 2000)
                let (_, _, closed) = try await Self.seedConversation(store, department: DepartmentID?.none, at: 3000)
                try await store.assign(conversation: closed, to: agent, at: 3000)
                try await store.close(conversation: closed, at: 3500)
                return (site, (), inSales, general, closed)
            }
            func ids(_ filter: ConversationFilter) async throws -> [ConversationID] {
                try await database.read { try await $0.conversations(matching: filter) }.map(\.conversationID)
            }
            #expect(try await ids(ConversationFilter()) == [closed, general, inSales])
            #expect(try await ids(ConversationFilter(states: [.closed])) == [closed])
            #expect(try await ids(ConversationFilter(site: site)) == [inSales])
            #expect(try await ids(ConversationFilter(department: sales)) == [inSales])
            #expect(try await ids(ConversationFilter(agent: agent)) == [closed])
            #expect(try await ids(ConversationFilter(createdFrom: 1500, createdTo: 2500)) == [general])
            #expect(try await ids(ConversationFilter(before: 2500, limit: 1)) == [general])
            // An agent outside Sales sees the general ones and their own, not Sales'.
            #expect(try await ids(ConversationFilter(scope: (AgentID(), []))) == [closed, general])
            #expect(try await ids(ConversationFilter(scope: (AgentID(), [sales]))) == [closed, general, inSales])
        }
    }

    @Test("The key store wraps keys under the master key and returns the same key later", arguments: TestBackend.allCases)
    func keyStore(_ backend: TestBackend) async throws {
        try await Self.withStore(backend) { runtime in
            let visitor = VisitorID()
            let created = try await runtime.keys.createDataKey(for: visitor)
            let fresh = KeyStore(database: runtime.keyDatabase, masterKey: runtime.masterKey)
            let loaded = try await fresh.dataKey(for: visitor)
            #expect(created.withUnsafeBytes { Data($0) } == loaded.withUnsafeBytes { Data($0) })
            await #expect(throws: ConfidantError.self) { try await fresh.dataKey(for: VisitorID()) }
            let sealed = try FieldCipher.seal("secret", with: loaded, as: .visitorName(visitor))
            #expect(try FieldCipher.open(sealed, with: created, as: .visitorName(visitor)) == "secret")
            #expect(throws: (any Error).self) { try FieldCipher.open(sealed, with: created, as: .visitorEmail(visitor)) }
        }
    }
}
