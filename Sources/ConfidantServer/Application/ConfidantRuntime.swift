import ConfidantCore
public import Foundation
public import Logging
public import ServiceLifecycle

/// Opened storage and keys for a configuration: what `serve`, `migrate` and `admin create`
/// share. The data directory is created with mode 0700.
public struct ConfidantRuntime: Sendable {
    /// The configuration it was opened with.
    public let configuration: ConfidantConfiguration
    /// The data store.
    public let database: any Database
    /// The key store's database: its own SQLite file, or the same PostgreSQL.
    public let keyDatabase: any Database
    let keys: KeyStore
    let masterKey: MasterKey
    let logger: Logger

    /// Opens (creating on first run) the data directory, the master key and both stores. On
    /// PostgreSQL the pool only connects once ``services`` run.
    public static func open(_ configuration: ConfidantConfiguration, logger: Logger) async throws -> ConfidantRuntime {
        let directory = configuration.dataDirectory
        if !FileManager.default.fileExists(atPath: directory) {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
        let masterKey = try MasterKey.load(
            base64: configuration.masterKeyBase64, file: configuration.masterKeyFile, defaultPath: directory + "/master.key"
        )
        let database: any Database
        let keyDatabase: any Database
        if let url = configuration.databaseURL {
            database = try PostgresDatabase(url: url, logger: logger)
            keyDatabase = database
        } else {
            database = try await SQLiteDatabase.open(path: directory + "/confidant.sqlite", logger: logger)
            keyDatabase = try await SQLiteDatabase.open(path: directory + "/keys.sqlite", readerCount: 1, logger: logger)
        }
        return ConfidantRuntime(
            configuration: configuration, database: database, keyDatabase: keyDatabase,
            keys: KeyStore(database: keyDatabase, masterKey: masterKey), masterKey: masterKey, logger: logger
        )
    }

    /// The services that keep the stores open: run them (in a service group) while using them.
    public var services: [any Service] {
        database.kind == .postgres ? [database] : [database, keyDatabase]
    }

    /// Applies pending migrations to both stores and checks the master key; returns how many
    /// migrations ran.
    @discardableResult
    public func prepare() async throws -> Int {
        let applied = try await Schema.migrator.migrate(database).count + keys.migrator.migrate(keyDatabase).count
        let registered = try await keys.verifyMasterKey()
        try await AuditChain.adoptUnchainedEntries(database)
        if registered {
            try await database.transaction { store in
                try await store.appendAudit(
                    AuditEvent(actorKind: .system, action: "key.master.registered", details: ["fingerprint": masterKey.fingerprint]))
            }
        }
        return applied
    }

    /// Runs `body` with the stores' services running (for one-shot commands), then stops them.
    public func withServices<T: Sendable>(_ body: @Sendable (ConfidantRuntime) async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for service in services { group.addTask { try await service.run() } }
            defer { group.cancelAll() }
            return try await body(self)
        }
    }

    /// Creates a staff account with the owner role (the first account of a deployment).
    public func createOwner(email: String, displayName: String, password: String) async throws {
        let email = try TextRules.email(email)
        let name = try TextRules.singleLine(displayName, field: "display name")
        try PasswordPolicy.standard.validate(password, email: email, displayName: name)
        let hash = try await PasswordHasher(cost: configuration.bcryptCost).hash(password)
        let id = AgentID()
        try await database.transaction { store in
            guard try await store.agent(email: email) == nil else { throw ConfidantError(.conflict, "A staff account with this e-mail exists.") }
            try await store.insertAgent(id: id, email: email, displayName: name, passwordHash: hash, role: .owner, maxConversations: 5)
            try await store.appendAudit(
                AuditEvent(actorKind: .cli, action: "agent.created", targetKind: "agent", targetId: id.rawValue, details: ["role": "owner"]))
        }
    }

    /// The operator's break-glass: empties every staff network allowlist (a running server
    /// applies it within seconds). Returns the lists that were removed, for the operator's record.
    public func resetIPAllowlist() async throws -> [String] {
        try await database.transaction { store in
            var policy =
                try await store.securitySetting(SecurityPolicyStore.key).flatMap { Store.decodeJSON(SecurityPolicy.self, from: $0) } ?? SecurityPolicy()
            let removed =
                policy.staffNetworks
                + policy.roleNetworks.sorted { $0.key.rawValue < $1.key.rawValue }.flatMap { role, list in list.map { "\(role.rawValue): \($0)" } }
            policy.staffNetworks = []
            policy.roleNetworks = [:]
            try await store.setSecuritySetting(SecurityPolicyStore.key, Store.json(policy))
            try await store.appendAudit(
                AuditEvent(actorKind: .cli, action: "security.ip_allowlist.reset", details: ["removed": removed.joined(separator: ", ")]))
            return removed
        }
    }

    /// What `confidant audit verify` reports.
    public struct AuditVerification: Sendable {
        /// Entries whose links were checked.
        public let entries: Int
        /// The newest entry's place in the chain.
        public let lastSeq: Int64?
        /// The place recorded by the head file, if one was written.
        public let headSeq: Int64?
        /// The first problem, naming the entry; nil when the chain is intact.
        public let problem: String?
    }

    /// Recomputes the audit log's hash chain and compares its end with the head written outside
    /// the database (`audit.headFile`).
    public func verifyAuditChain() async throws -> AuditVerification {
        let head = try AuditChain.readHead(at: URL(fileURLWithPath: configuration.effectiveAuditHeadFile))
        let report = try await AuditChain.verify(database, against: head)
        return AuditVerification(entries: report.entries, lastSeq: report.last?.seq, headSeq: head?.seq, problem: report.problem)
    }

    /// Everything held about a visitor as one JSON document (`confidant visitor export`); audited.
    public func exportVisitor(_ id: String) async throws -> Data {
        guard let visitor = VisitorID(id) else { throw ConfidantError(.notFound, "No such visitor.") }
        let export = try await ApplicationParts(self).visitors.export(visitor, for: .cli)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(export)
    }

    /// Erases a visitor for good (`confidant visitor erase`); audited. Returns a one-line account.
    public func eraseVisitor(_ id: String) async throws -> String {
        guard let visitor = VisitorID(id) else { throw ConfidantError(.notFound, "No such visitor.") }
        let report = try await ApplicationParts(self).visitors.erase(visitor, for: .cli)
        return
            "Erased visitor \(id): \(report.conversations) conversations, \(report.messages) messages, \(report.offlineMessages) offline messages; data key \(report.keyDestroyed ? "destroyed" : "already gone")."
    }

    /// How many staff accounts exist (zero on a fresh deployment).
    public func staffCount() async throws -> Int {
        try await database.read { try await $0.countAgents() }
    }
}
