import ArgumentParser
import ConfidantServer
import Configuration
import Foundation
import Hummingbird
import Logging

@main
struct Confidant: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "confidant",
        abstract: "Confidant: self-hosted, security-first live chat for customer support.",
        version: ConfidantVersion.current,
        subcommands: [Serve.self, Migrate.self, Admin.self, Access.self, Audit.self, VisitorCommand.self, Version.self]
    )
}

/// Options shared by every command that opens the stores.
struct StorageOptions: ParsableArguments {
    @Option(name: .customLong("data-dir"), help: "Data directory (SQLite files and master key). Default ./confidant-data.")
    var dataDir: String?

    @Option(name: .customLong("database-url"), help: "postgres://user:password@host:5432/db to use PostgreSQL instead of SQLite.")
    var databaseURL: String?

    @Option(name: .customLong("master-key-file"), help: "File holding the base64 master key. Default <data-dir>/master.key.")
    var masterKeyFile: String?

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: String?

    @Option(name: .customLong("config"), help: "A JSON configuration file (see docs/configuration.md).")
    var config: String?

    /// The flags that were given, as configuration keys.
    var flags: [String: ConfigContent] {
        var flags: [String: ConfigContent] = [:]
        if let dataDir { flags["data.dir"] = .string(dataDir) }
        if let databaseURL { flags["database.url"] = .string(databaseURL) }
        if let masterKeyFile { flags["keys.masterKeyFile"] = .string(masterKeyFile) }
        if let logLevel { flags["log.level"] = .string(logLevel) }
        return flags
    }

    /// Loads the configuration, starts logging and opens the stores.
    func open(extraFlags: [String: ConfigContent] = [:]) async throws -> ConfidantRuntime {
        let configuration = try await ConfidantConfiguration.load(flags: flags.merging(extraFlags) { $1 }, file: config)
        return try await ConfidantRuntime.open(configuration, logger: Logging.start(level: configuration.logLevel))
    }
}

enum Logging {
    /// Logs go to standard error, so standard output stays for what commands print.
    static func start(level: Logger.Level) -> Logger {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        var logger = Logger(label: "confidant")
        logger.logLevel = level
        return logger
    }
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the HTTP and WebSocket server.")

    @Option(help: "Address to listen on. Default 127.0.0.1.")
    var host: String?

    @Option(help: "Port to listen on (0 picks a free one). Default 8080.")
    var port: Int?

    @Option(name: .customLong("public-url"), help: "The URL people reach Confidant at. Default http://HOST:PORT.")
    var publicURL: String?

    @OptionGroup var storage: StorageOptions

    func run() async throws {
        var flags: [String: ConfigContent] = [:]
        if let host { flags["http.host"] = .string(host) }
        if let port { flags["http.port"] = .int(port) }
        if let publicURL { flags["http.publicUrl"] = .string(publicURL) }
        let runtime = try await storage.open(extraFlags: flags)
        let configuration = runtime.configuration
        let app = try await buildApplication(runtime) { port in
            var lines = ["Confidant \(ConfidantVersion.current) listening on \(configuration.servesTLS ? "https" : "http")://\(configuration.host):\(port)"]
            lines += configuration.redactedSummary.map { "  \($0.0): \($0.1)" }
            if (try? await runtime.staffCount()) == 0 {
                lines += [
                    "", "First step: create the owner account (a password is generated and shown once):",
                    "  swift run confidant admin create --email you@example.com --name \"Your Name\" --data-dir \(configuration.dataDirectory)",
                    "Then open \(configuration.effectivePublicURL)/ and sign in to the console.",
                ]
            }
            FileHandle.standardOutput.write(Data((lines.joined(separator: "\n") + "\n").utf8))
        }
        try await app.runService()
    }
}

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Apply pending database migrations and exit.")

    @OptionGroup var storage: StorageOptions

    func run() async throws {
        let runtime = try await storage.open()
        let applied = try await runtime.withServices { try await $0.prepare() }
        print(applied == 0 ? "The database is up to date." : "Applied \(applied) migration(s).")
    }
}

struct Admin: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Manage staff accounts.", subcommands: [Create.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create an owner account.",
            discussion: "The password is read from standard input with --password-stdin; otherwise a strong one is generated and printed once."
        )

        @Option(help: "The owner's e-mail address (their sign-in name).")
        var email: String

        @Option(help: "The owner's display name.")
        var name: String = "Owner"

        @Flag(name: .customLong("password-stdin"), help: "Read the password (12–72 bytes) from the first line of standard input.")
        var passwordFromStandardInput = false

        @OptionGroup var storage: StorageOptions

        func run() async throws {
            let password: String
            if passwordFromStandardInput {
                guard let line = readLine(strippingNewline: true), !line.isEmpty else {
                    throw ValidationError("No password on standard input.")
                }
                password = line
            } else {
                password = Self.generatePassword()
            }
            let runtime = try await storage.open()
            try await runtime.withServices { runtime in
                try await runtime.prepare()
                try await runtime.createOwner(email: email, displayName: name, password: password)
            }
            print("Created owner \(email).")
            if !passwordFromStandardInput {
                print("Password (shown only now; store it in your password manager): \(password)")
            }
        }

        /// 20 characters from a 56-symbol alphabet without look-alikes: about 116 bits.
        static func generatePassword() -> String {
            let alphabet = Array("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789")
            var generator = SystemRandomNumberGenerator()
            return String((0..<20).map { _ in alphabet[Int(generator.next(upperBound: UInt64(alphabet.count)))] })
        }
    }
}

struct Access: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Operator's access controls.", subcommands: [ResetIPAllowlist.self])

    struct ResetIPAllowlist: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "reset-ip-allowlist",
            abstract: "Remove every staff network allowlist (break-glass when admins locked themselves out).",
            discussion: "A running server picks the change up within seconds. The reset is recorded in the audit log."
        )

        @OptionGroup var storage: StorageOptions

        func run() async throws {
            let runtime = try await storage.open()
            let removed = try await runtime.withServices { runtime in
                try await runtime.prepare()
                return try await runtime.resetIPAllowlist()
            }
            print(removed.isEmpty ? "No staff network allowlist was set." : "Removed the staff network allowlists: \(removed.joined(separator: ", ")).")
        }
    }
}

struct Audit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "The tamper-evident audit log.", subcommands: [Verify.self])

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Recompute the audit log's hash chain and name the first broken entry.",
            discussion: """
                Checks every entry's hash, that no place in the chain is missing, and that the chain reaches the head the server \
                last wrote outside the database (audit.headFile), so deleting the newest entries shows too. Exits 1 when the chain is broken.
                """
        )

        @OptionGroup var storage: StorageOptions

        func run() async throws {
            let runtime = try await storage.open()
            let result = try await runtime.withServices { runtime in
                try await runtime.prepare()
                return try await runtime.verifyAuditChain()
            }
            let head = result.headSeq.map { "the head file names entry \($0)" } ?? "no head file yet"
            if let problem = result.problem {
                print("The audit chain is BROKEN. \(problem)")
                throw ExitCode(1)
            }
            print("The audit chain is intact: \(result.entries) entries, the newest is \(result.lastSeq.map(String.init) ?? "none"); \(head).")
        }
    }
}

struct VisitorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "visitor", abstract: "A visitor's rights of access and erasure (GDPR).", subcommands: [Export.self, Erase.self])

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print everything held about a visitor as one JSON document (audited).")

        @Option(help: "The visitor's id.") var id: String
        @Option(help: "Write the document to this file instead of standard output.") var output: String?
        @OptionGroup var storage: StorageOptions

        func run() async throws {
            let runtime = try await storage.open()
            let document = try await runtime.withServices { runtime in
                try await runtime.prepare()
                return try await runtime.exportVisitor(id)
            }
            if let output {
                try document.write(to: URL(fileURLWithPath: output), options: .atomic)
            } else {
                FileHandle.standardOutput.write(document + Data("\n".utf8))
            }
        }
    }

    struct Erase: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Erase a visitor for good: destroy their data key, delete their data (audited).",
            discussion: "Every copy of their data, backups and old copies of the database included, becomes unreadable.")

        @Option(help: "The visitor's id.") var id: String
        @OptionGroup var storage: StorageOptions

        func run() async throws {
            let runtime = try await storage.open()
            let account = try await runtime.withServices { runtime in
                try await runtime.prepare()
                return try await runtime.eraseVisitor(id)
            }
            print(account)
        }
    }
}

struct Version: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the version.")

    func run() {
        print("confidant \(ConfidantVersion.current)")
    }
}
