import Configuration
import Foundation
import Logging
import Testing

@testable import ConfidantServer

@Suite("Configuration: flags, environment, file, defaults")
struct ConfigurationTests {
    @Test("With nothing set: 127.0.0.1:8080, ./confidant-data, SQLite, bcrypt 12")
    func defaults() async throws {
        let configuration = try await ConfidantConfiguration.load(flags: [:], environment: [:])
        #expect(configuration.host == "127.0.0.1")
        #expect(configuration.port == 8080)
        #expect(configuration.dataDirectory == "./confidant-data")
        #expect(configuration.databaseURL == nil)
        #expect(configuration.bcryptCost == 12)
        #expect(configuration.effectivePublicURL == "http://127.0.0.1:8080")
        #expect(configuration.publicOrigin == "http://127.0.0.1:8080")
        #expect(!configuration.isSecure)
    }

    @Test("A flag beats the environment, which beats the file, which beats the default")
    func precedence() async throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("confidant-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: file) }
        try Data(
            #"{"http": {"host": "0.0.0.0", "port": 9000, "publicUrl": "https://chat.example.com"}, "realtime": {"presenceTtlSeconds": 90}, "log": {"level": "debug"}}"#
                .utf8
        )
        .write(to: file)
        let configuration = try await ConfidantConfiguration.load(
            flags: ["http.port": .int(7000)],
            environment: ["CONFIDANT_HTTP_HOST": "10.0.0.5", "CONFIDANT_REALTIME_HEARTBEAT_SECONDS": "20", "CONFIDANT_AUTH_SESSION_IDLE_MINUTES": "15"],
            file: file.path
        )
        #expect(configuration.port == 7000)
        #expect(configuration.host == "10.0.0.5")
        #expect(configuration.effectivePublicURL == "https://chat.example.com")
        #expect(configuration.publicOrigin == "https://chat.example.com")
        #expect(configuration.isSecure)
        #expect(configuration.presenceTTL == .seconds(90))
        #expect(configuration.heartbeatInterval == .seconds(20))
        #expect(configuration.sessionIdleTimeout == .seconds(15 * 60))
        #expect(configuration.logLevel == .debug)
    }

    @Test("Every environment variable in docs/configuration.md is read")
    func everyEnvironmentVariable() async throws {
        let configuration = try await ConfidantConfiguration.load(
            flags: [:],
            environment: [
                "CONFIDANT_HTTP_HOST": "0.0.0.0", "CONFIDANT_HTTP_PORT": "9090", "CONFIDANT_HTTP_PUBLIC_URL": "https://chat.example.com",
                "CONFIDANT_HTTP_IDLE_TIMEOUT_SECONDS": "30", "CONFIDANT_HTTP_HEADER_TIMEOUT_SECONDS": "5", "CONFIDANT_DATA_DIR": "/srv/confidant",
                "CONFIDANT_HTTP_TRUSTED_PROXIES": "10.0.0.0/8, ::1",
                "CONFIDANT_LIMITS_SIGN_IN_PER_ADDRESS": "1/1s", "CONFIDANT_LIMITS_VISITOR_SESSIONS_PER_ADDRESS": "2/1s",
                "CONFIDANT_LIMITS_CONVERSATIONS_PER_VISITOR": "3/1s", "CONFIDANT_LIMITS_CONVERSATIONS_PER_ADDRESS": "4/1s",
                "CONFIDANT_LIMITS_CONVERSATIONS_PER_SITE": "5/1s", "CONFIDANT_LIMITS_MESSAGES_PER_VISITOR": "6/1s",
                "CONFIDANT_LIMITS_MESSAGES_PER_AGENT": "7/1s", "CONFIDANT_LIMITS_TYPING_PER_SOCKET": "8/1s", "CONFIDANT_LIMITS_FRAMES_PER_SOCKET": "12/1s",
                "CONFIDANT_LIMITS_REST_PER_STAFF": "9/1s",
                "CONFIDANT_LIMITS_REST_PER_API_TOKEN": "10/1s", "CONFIDANT_LIMITS_REST_PER_ADDRESS": "11/1s",
                "CONFIDANT_LIMITS_SOCKETS_TOTAL": "1000", "CONFIDANT_LIMITS_SOCKETS_PER_ADDRESS": "100", "CONFIDANT_LIMITS_SOCKETS_PER_VISITOR": "3",
                "CONFIDANT_LIMITS_LINKS_PER_MESSAGE": "4", "CONFIDANT_LIMITS_FORM_MINIMUM_FILL_MS": "900", "CONFIDANT_METRICS_PORT": "9464",
                "CONFIDANT_METRICS_HOST": "10.0.0.5",
                "CONFIDANT_DATABASE_URL": "postgres://c@db/confidant", "CONFIDANT_KEYS_MASTER_KEY": "a2V5",
                "CONFIDANT_KEYS_MASTER_KEY_FILE": "/run/secrets/confidant-key", "CONFIDANT_AUTH_BCRYPT_COST": "13",
                "CONFIDANT_AUTH_SESSION_IDLE_MINUTES": "30", "CONFIDANT_AUTH_SESSION_ABSOLUTE_HOURS": "12",
                "CONFIDANT_VISITOR_TOKEN_LIFETIME_DAYS": "7", "CONFIDANT_REALTIME_HEARTBEAT_SECONDS": "20",
                "CONFIDANT_REALTIME_PRESENCE_TTL_SECONDS": "60", "CONFIDANT_REALTIME_HELLO_TIMEOUT_SECONDS": "5",
                "CONFIDANT_REALTIME_SEND_QUEUE_LIMIT": "256", "CONFIDANT_LOG_LEVEL": "warning", "CONFIDANT_NODE_ID": "node-a",
                "CONFIDANT_ALERTS_TRANSCRIPT_THRESHOLD": "12", "CONFIDANT_ALERTS_TRANSCRIPT_WINDOW_MINUTES": "30",
                "CONFIDANT_ALERTS_CHECK_INTERVAL_SECONDS": "7", "CONFIDANT_ALERTS_WEBHOOK_URL": "https://siem.example/confidant",
                "CONFIDANT_ALERTS_WEBHOOK_SECRET": String(repeating: "s", count: 32),
            ])
        #expect(configuration.host == "0.0.0.0")
        #expect(configuration.port == 9090)
        #expect(configuration.publicURL == "https://chat.example.com")
        #expect(configuration.httpIdleTimeout == .seconds(30))
        #expect(configuration.httpHeaderTimeout == .seconds(5))
        #expect(configuration.trustedProxies == ["10.0.0.0/8", "::1"])
        for (index, rule) in LimitRule.allCases.enumerated() {
            #expect(configuration.rateLimits[rule] == Rate(index + 1, per: .seconds(1)), "\(rule.configKey)")
        }
        #expect(configuration.socketsTotal == 1000 && configuration.socketsPerAddress == 100 && configuration.socketsPerVisitor == 3)
        #expect(configuration.linksPerMessage == 4 && configuration.formMinimumFillMs == 900)
        #expect(configuration.metricsPort == 9464 && configuration.metricsHost == "10.0.0.5")
        #expect(configuration.dataDirectory == "/srv/confidant")
        #expect(configuration.databaseURL == "postgres://c@db/confidant")
        #expect(configuration.masterKeyBase64 == "a2V5")
        #expect(configuration.masterKeyFile == "/run/secrets/confidant-key")
        #expect(configuration.bcryptCost == 13)
        #expect(configuration.sessionIdleTimeout == .seconds(30 * 60))
        #expect(configuration.sessionAbsoluteTimeout == .seconds(12 * 3600))
        #expect(configuration.visitorTokenLifetime == .seconds(7 * 86400))
        #expect(configuration.heartbeatInterval == .seconds(20))
        #expect(configuration.presenceTTL == .seconds(60))
        #expect(configuration.helloTimeout == .seconds(5))
        #expect(configuration.sendQueueLimit == 256)
        #expect(configuration.logLevel == .warning)
        #expect(configuration.nodeID == "node-a")
        #expect(configuration.alertTranscriptThreshold == 12 && configuration.alertTranscriptWindow == .seconds(30 * 60))
        #expect(configuration.alertCheckInterval == .seconds(7) && configuration.alertWebhookURL == "https://siem.example/confidant")
        #expect(configuration.alertWebhookSecret?.count == 32)
    }

    @Test("The config file can be named by CONFIDANT_CONFIG_FILE; a missing one is an error")
    func configFileFromEnvironment() async throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("confidant-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: file) }
        try Data(#"{"data": {"dir": "/var/lib/confidant"}}"#.utf8).write(to: file)
        #expect(try await ConfidantConfiguration.load(flags: [:], environment: ["CONFIDANT_CONFIG_FILE": file.path]).dataDirectory == "/var/lib/confidant")
        await #expect(throws: ConfigurationError.self) {
            _ = try await ConfidantConfiguration.load(flags: [:], environment: ["CONFIDANT_CONFIG_FILE": "/nonexistent/confidant.json"])
        }
    }

    @Test(
        "Invalid values are refused with a message naming the setting",
        arguments: [
            ["CONFIDANT_HTTP_PORT": "70000"],
            ["CONFIDANT_AUTH_BCRYPT_COST": "11"],
            ["CONFIDANT_HTTP_TRUSTED_PROXIES": "10.0.0.0/33"],
            ["CONFIDANT_LIMITS_MESSAGES_PER_VISITOR": "lots"],
            ["CONFIDANT_LIMITS_SOCKETS_PER_VISITOR": "0"],
            ["CONFIDANT_LOG_LEVEL": "loud"],
            ["CONFIDANT_DATABASE_URL": "mysql://localhost/db"],
            ["CONFIDANT_HTTP_PUBLIC_URL": "ftp://files.example"],
            ["CONFIDANT_REALTIME_PRESENCE_TTL_SECONDS": "5"],
            ["CONFIDANT_REALTIME_SEND_QUEUE_LIMIT": "1"],
            // Webhooks: https only (plain http to loopback only), and never without a long secret.
            ["CONFIDANT_ALERTS_WEBHOOK_URL": "http://siem.example/confidant"],
            ["CONFIDANT_ALERTS_WEBHOOK_URL": "https://siem.example/confidant"],
            ["CONFIDANT_ALERTS_TRANSCRIPT_THRESHOLD": "0"],
        ])
    func invalidValues(_ environment: [String: String]) async throws {
        let error = await #expect(throws: ConfigurationError.self) { _ = try await ConfidantConfiguration.load(flags: [:], environment: environment) }
        let key = environment.keys.first!.dropFirst("CONFIDANT_".count).lowercased().replacingOccurrences(of: "_", with: "")
        let mentioned = error?.description.lowercased().replacingOccurrences(of: ".", with: "") ?? ""
        #expect(mentioned.contains(key.prefix(8)), "\(error?.description ?? "") names \(key)")
    }

    @Test("Secrets never appear in the printed settings")
    func secretsRedacted() async throws {
        let configuration = try await ConfidantConfiguration.load(
            flags: ["database.url": .string("postgres://confidant:Sup3rSecret@db.internal:5432/confidant")],
            environment: [
                "CONFIDANT_KEYS_MASTER_KEY": Data(repeating: 7, count: 32).base64EncodedString(),
                "CONFIDANT_ALERTS_WEBHOOK_URL": "https://hooks.example/services/T0K3N-in-path",
                "CONFIDANT_ALERTS_WEBHOOK_SECRET": "hmac-Sup3rSecret-of-32-characters!",
            ]
        )
        let printed = configuration.redactedSummary.map { "\($0.0)=\($0.1)" }.joined(separator: "\n")
        #expect(!printed.contains("Sup3rSecret"))
        #expect(!printed.contains(Data(repeating: 7, count: 32).base64EncodedString()))
        #expect(printed.contains("db.internal"))
        #expect(!printed.contains("hmac-Sup3rSecret") && !printed.contains("T0K3N") && printed.contains("https://hooks.example"))
        #expect(configuration.databaseURL?.contains("Sup3rSecret") == true)
    }
}
