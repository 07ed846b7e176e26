import ConfidantCore
import Foundation
import HTTPTypes
import Testing

@testable import ConfidantServer

@Suite("The confidant command")
struct CommandLineTests {
    @Test("version, migrate, admin create with a generated password that signs in")
    func commands() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("confidant-cli-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let environment = ["CONFIDANT_HTTP_PUBLIC_URL": "http://127.0.0.1"]

        let version = try ServerProcess.command(["version"])
        #expect(version.status == 0)
        #expect(version.output.trimmingCharacters(in: .whitespacesAndNewlines) == "confidant 0.1.0")

        let migrate = try ServerProcess.command(["migrate", "--data-dir", directory], environment: environment)
        // Every data-store migration plus the key store's one.
        #expect(migrate.output.contains("Applied \(Schema.migrator.migrations.count + 1) migration(s)."), "\(migrate.output)")
        #expect(try ServerProcess.command(["migrate", "--data-dir", directory], environment: environment).output.contains("up to date"))

        let created = try ServerProcess.command(
            ["admin", "create", "--email", "boss@example.com", "--name", "Boss", "--data-dir", directory], environment: environment)
        #expect(created.status == 0)
        let password = try #require(created.output.split(separator: "\n").first { $0.hasPrefix("Password") }?.split(separator: " ").last.map(String.init))
        #expect(password.count == 20)
        let again = try ServerProcess.command(
            ["admin", "create", "--email", "BOSS@example.com", "--password-stdin", "--data-dir", directory], stdin: "another long password\n",
            environment: environment)
        #expect(again.status != 0)
        #expect(again.output.contains("conflict"))
        let weak = try ServerProcess.command(
            ["admin", "create", "--email", "weak@example.com", "--password-stdin", "--data-dir", directory], stdin: "short\n", environment: environment)
        #expect(weak.status != 0)
        #expect(weak.output.contains("at least 12 characters"))

        let server = try await ServerProcess.start(["--data-dir", directory], environment: environment)
        defer { server.stop() }
        let client = server.client(backend: .sqlite)
        let login = try await client.login(email: "boss@example.com", password: password)
        #expect(try await client.request(.get, "/v1/auth/me", as: login).status == .ok)
        #expect(!server.log.contains(password), "the password is never logged")

        // Break-glass: the owner locks everyone out on purpose; the operator's command undoes it
        // on the running server.
        let lockout = PolicyInput(policy: .init(staffNetworks: ["192.0.2.0/24"]), confirmSelfLockout: true)
        #expect(try await client.request(.put, "/v1/security/policy", json: lockout, as: login).status == .ok)
        #expect(try await client.request(.get, "/v1/auth/me", as: login).status == .forbidden)
        let reset = try ServerProcess.command(["access", "reset-ip-allowlist", "--data-dir", directory], environment: environment)
        #expect(reset.status == 0)
        #expect(reset.output.contains("Removed the staff network allowlists: 192.0.2.0/24."), "\(reset.output)")
        try await Task.sleep(for: .seconds(3))
        #expect(try await client.request(.get, "/v1/auth/me", as: login).status == .ok)
        #expect(try ServerProcess.command(["access", "reset-ip-allowlist", "--data-dir", directory], environment: environment).output.contains("No staff"))
    }

    @Test("serve with no configuration listens on 127.0.0.1:8080, keeps data in ./confidant-data and says what to do first")
    func zeroConfiguration() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("confidant-zero-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let server = try await ServerProcess.start([], workingDirectory: directory, fixedPort: true)
        defer { server.stop() }
        #expect(server.port == 8080)
        #expect(server.log.contains("admin create"))
        #expect(FileManager.default.fileExists(atPath: directory.appendingPathComponent("confidant-data/confidant.sqlite").path))
        #expect(FileManager.default.fileExists(atPath: directory.appendingPathComponent("confidant-data/keys.sqlite").path))
        let mode = try FileManager.default.attributesOfItem(atPath: directory.appendingPathComponent("confidant-data").path)[.posixPermissions] as? Int
        #expect(mode == 0o700)
        #expect(try await server.client(backend: .sqlite).request(.get, "/readyz").status == .ok)
    }

    @Test("Neither the master key nor the database password reaches the output", arguments: [TestBackend.postgres])
    func secretsStayOutOfLogs(_ backend: TestBackend) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("confidant-secret-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let fresh = try #require(try await backend.freshDatabaseURL())
        var url = try #require(URLComponents(string: fresh))
        url.password = "DbPassw0rdCanary"
        let masterKey = Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
        let server = try await ServerProcess.start(
            ["--data-dir", directory, "--database-url", url.string ?? fresh, "--log-level", "trace"],
            environment: ["CONFIDANT_KEYS_MASTER_KEY": masterKey]
        )
        _ = try await server.client(backend: backend).request(.get, "/readyz")
        server.stop()
        #expect(server.log.contains("<redacted>"))
        #expect(!server.log.contains("DbPassw0rdCanary"))
        #expect(!server.log.contains(masterKey))
    }
}
