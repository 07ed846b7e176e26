import ConfidantCore
public import Configuration
import Foundation
public import Logging
import SystemPackage

/// Every setting of a Confidant server. docs/configuration.md has the table: each setting's key
/// (for the JSON file), environment variable (`CONFIDANT_` + key in upper snake case), flag and
/// default. Precedence: command-line flag, then environment, then the file, then the default.
public struct ConfidantConfiguration: Sendable {
    /// Address to listen on.
    public var host = "127.0.0.1"
    /// Port to listen on (0 picks a free one).
    public var port = 8080
    /// The URL people use to reach Confidant; its origin is the one staff pages may come from.
    /// Defaults to `http://HOST:PORT`.
    public var publicURL: String?
    /// Where the SQLite database, the key store and the master key live.
    public var dataDirectory = "./confidant-data"
    /// `postgres://…` to use PostgreSQL instead of the embedded SQLite. Secret (may hold a password).
    public var databaseURL: String?
    /// The master key as base64 (from the environment only). Secret.
    public var masterKeyBase64: String?
    /// A file holding the master key as base64; default `<data-dir>/master.key`.
    public var masterKeyFile: String?
    /// bcrypt cost for staff passwords (12 at least).
    public var bcryptCost = 12
    /// The TLS certificate chain (PEM); with `tlsKeyFile`, Confidant serves HTTPS itself.
    public var tlsCertificateFile: String?
    /// The TLS private key (PEM).
    public var tlsKeyFile: String?
    /// With TLS on: a plain-HTTP port whose every request is redirected to the public HTTPS URL.
    public var tlsRedirectPort: Int?
    /// Reverse proxies (CIDR) whose `X-Forwarded-For` is believed; from any other peer it is ignored.
    public var trustedProxies: [String] = []
    /// A staff session unused this long ends.
    public var sessionIdleTimeout: Duration = .seconds(8 * 3600)
    /// A staff session ends this long after sign-in.
    public var sessionAbsoluteTimeout: Duration = .seconds(24 * 3600)
    /// How long a visitor token is valid.
    public var visitorTokenLifetime: Duration = .seconds(30 * 24 * 3600)
    /// How often clients should ping.
    public var heartbeatInterval: Duration = .seconds(25)
    /// A staff member with no socket heartbeat for this long is offline for routing.
    public var presenceTTL: Duration = .seconds(45)
    /// How long a new socket may take to send `hello`.
    public var helloTimeout: Duration = .seconds(10)
    /// Frames that may still be queued for a socket whose buffers are full before it is closed as too slow.
    public var sendQueueLimit = 1024
    /// How often the server pings each WebSocket; one silent for a whole interval is dropped.
    public var pingInterval: Duration = .seconds(30)
    /// An HTTP connection idle this long is closed.
    public var httpIdleTimeout: Duration = .seconds(60)
    /// A new connection must deliver its first request head within this time.
    public var httpHeaderTimeout: Duration = .seconds(10)
    /// Rates that differ from each rule's default (``LimitRule/defaultRate``).
    public var rateLimits: [LimitRule: Rate] = [:]
    /// WebSockets open at once on this node, in all.
    public var socketsTotal = 100_000
    /// WebSockets open at once from one client address.
    public var socketsPerAddress = 200
    /// WebSockets open at once for one visitor.
    public var socketsPerVisitor = 10
    /// Links allowed in one message of a visitor whose identity the site did not sign.
    public var linksPerMessage = 2
    /// A pre-chat or offline form sent sooner than this after it appeared is refused (a bot).
    public var formMinimumFillMs = 1500
    /// Days after closing that agents keep access to a conversation (0: always).
    public var agentClosedAccessDays = 90
    /// How often the retention sweep runs.
    public var retentionInterval: Duration = .seconds(3600)
    /// Security alerts: more than this many transcripts opened by one member within
    /// ``alertTranscriptWindow`` raise an insider alert.
    public var alertTranscriptThreshold = 50
    /// The window of ``alertTranscriptThreshold``.
    public var alertTranscriptWindow: Duration = .seconds(600)
    /// How often the audit log is read for alerts.
    public var alertCheckInterval: Duration = .seconds(2)
    /// Where alerts are POSTed (https, or http to a loopback address); nil: the console only.
    public var alertWebhookURL: String?
    /// The shared secret that signs webhook requests (at least 32 characters).
    public var alertWebhookSecret: String?
    /// How often the audit chain's newest link is written outside the database.
    public var auditHeadInterval: Duration = .seconds(60)
    /// Where the audit chain's newest link is written; nil: `audit-head.json` in the data directory.
    public var auditHeadFile: String?
    /// The audit head file in use.
    public var effectiveAuditHeadFile: String { auditHeadFile ?? dataDirectory + "/audit-head.json" }
    /// The port of the Prometheus metrics listener (`GET /metrics`); nil: no listener.
    public var metricsPort: Int?
    /// The address the metrics listener binds to.
    public var metricsHost = "127.0.0.1"
    /// Log level: trace, debug, info, notice, warning, error, critical.
    public var logLevel: Logger.Level = .info
    /// This process's id among nodes sharing a database.
    public var nodeID = "node-" + UUID().uuidString.prefix(8).lowercased()

    /// The defaults.
    public init() {}

    /// Reads every setting from `reader`, validating each.
    public init(reader: ConfigReader) throws {
        host = reader.string(forKey: "http.host", default: host)
        port = reader.int(forKey: "http.port", default: port)
        publicURL = reader.string(forKey: "http.publicUrl")
        httpIdleTimeout = .seconds(reader.int(forKey: "http.idleTimeoutSeconds", default: 60))
        httpHeaderTimeout = .seconds(reader.int(forKey: "http.headerTimeoutSeconds", default: 10))
        tlsCertificateFile = reader.string(forKey: "tls.certificateFile")
        tlsKeyFile = reader.string(forKey: "tls.keyFile")
        tlsRedirectPort = reader.int(forKey: "tls.redirectHttpPort")
        trustedProxies = reader.string(forKey: "http.trustedProxies", default: "").split(separator: ",").map { String($0).trimmingWhitespace() }
            .filter { !$0.isEmpty }
        dataDirectory = reader.string(forKey: "data.dir", default: dataDirectory)
        databaseURL = reader.string(forKey: "database.url", isSecret: true)
        masterKeyBase64 = reader.string(forKey: "keys.masterKey", isSecret: true)
        masterKeyFile = reader.string(forKey: "keys.masterKeyFile")
        bcryptCost = reader.int(forKey: "auth.bcryptCost", default: bcryptCost)
        sessionIdleTimeout = .seconds(60 * reader.int(forKey: "auth.sessionIdleMinutes", default: 480))
        sessionAbsoluteTimeout = .seconds(3600 * reader.int(forKey: "auth.sessionAbsoluteHours", default: 24))
        visitorTokenLifetime = .seconds(86400 * reader.int(forKey: "visitor.tokenLifetimeDays", default: 30))
        heartbeatInterval = .seconds(reader.int(forKey: "realtime.heartbeatSeconds", default: 25))
        presenceTTL = .seconds(reader.int(forKey: "realtime.presenceTtlSeconds", default: 45))
        helloTimeout = .seconds(reader.int(forKey: "realtime.helloTimeoutSeconds", default: 10))
        sendQueueLimit = reader.int(forKey: "realtime.sendQueueLimit", default: sendQueueLimit)
        pingInterval = .seconds(reader.int(forKey: "realtime.pingIntervalSeconds", default: 30))
        nodeID = reader.string(forKey: "node.id", default: nodeID)
        for rule in LimitRule.allCases {
            guard let text = reader.string(forKey: ConfigKey(rule.configKey)) else { continue }
            guard let rate = Rate(parsing: text) else {
                throw ConfigurationError("\(rule.configKey) must look like 30/1m (a count, then a period in s, m or h); got '\(text.prefix(40))'.")
            }
            rateLimits[rule] = rate
        }
        socketsTotal = reader.int(forKey: "limits.socketsTotal", default: socketsTotal)
        socketsPerAddress = reader.int(forKey: "limits.socketsPerAddress", default: socketsPerAddress)
        socketsPerVisitor = reader.int(forKey: "limits.socketsPerVisitor", default: socketsPerVisitor)
        linksPerMessage = reader.int(forKey: "limits.linksPerMessage", default: linksPerMessage)
        formMinimumFillMs = reader.int(forKey: "limits.formMinimumFillMs", default: formMinimumFillMs)
        auditHeadInterval = .seconds(reader.int(forKey: "audit.headIntervalSeconds", default: 60))
        retentionInterval = .seconds(60 * reader.int(forKey: "retention.intervalMinutes", default: 60))
        agentClosedAccessDays = reader.int(forKey: "access.agentClosedConversationDays", default: agentClosedAccessDays)
        auditHeadFile = reader.string(forKey: "audit.headFile")
        alertTranscriptThreshold = reader.int(forKey: "alerts.transcriptThreshold", default: alertTranscriptThreshold)
        alertTranscriptWindow = .seconds(60 * reader.int(forKey: "alerts.transcriptWindowMinutes", default: 10))
        alertCheckInterval = .seconds(reader.int(forKey: "alerts.checkIntervalSeconds", default: 2))
        alertWebhookURL = reader.string(forKey: "alerts.webhookUrl")
        alertWebhookSecret = reader.string(forKey: "alerts.webhookSecret", isSecret: true)
        metricsPort = reader.int(forKey: "metrics.port")
        metricsHost = reader.string(forKey: "metrics.host", default: metricsHost)
        let level = reader.string(forKey: "log.level", default: "info")
        guard let parsed = Logger.Level(rawValue: level) else {
            throw ConfigurationError("log.level must be one of trace, debug, info, notice, warning, error, critical (got '\(level)').")
        }
        logLevel = parsed
        try validate()
    }

    /// Loads the configuration from flags (already parsed into config keys), the process
    /// environment and, if named by `--config` or `CONFIDANT_CONFIG_FILE`, a JSON file.
    public static func load(flags: [String: ConfigContent], environment: [String: String]? = nil, file: String? = nil) async throws -> ConfidantConfiguration {
        let environment = environment ?? ProcessInfo.processInfo.environment
        let secrets = SecretsSpecifier<String, String>.specific(["CONFIDANT_DATABASE_URL", "CONFIDANT_KEYS_MASTER_KEY"])
        var providers: [any ConfigProvider] = [
            InMemoryProvider(
                name: "flags",
                values: Dictionary(
                    uniqueKeysWithValues: flags.map { (AbsoluteConfigKey(ConfigKey($0.key)), ConfigValue($0.value, isSecret: $0.key == "database.url")) })),
            EnvironmentVariablesProvider(environmentVariables: environment, secretsSpecifier: secrets).prefixKeys(with: "confidant"),
        ]
        if let path = file ?? environment["CONFIDANT_CONFIG_FILE"] {
            do {
                providers.append(try await FileProvider<JSONSnapshot>(filePath: .init(path)))
            } catch {
                throw ConfigurationError("Cannot read the configuration file \(path): \(error)")
            }
        }
        return try ConfidantConfiguration(reader: ConfigReader(providers: providers))
    }

    /// Checks ranges and formats.
    public func validate() throws {
        guard (0...65535).contains(port) else { throw ConfigurationError("http.port must be 0–65535.") }
        guard (12...31).contains(bcryptCost) else { throw ConfigurationError("auth.bcryptCost must be 12–31.") }
        guard (tlsCertificateFile == nil) == (tlsKeyFile == nil) else {
            throw ConfigurationError("tls.certificateFile and tls.keyFile go together: set both to serve HTTPS, or neither.")
        }
        if let tlsRedirectPort {
            guard tlsCertificateFile != nil else { throw ConfigurationError("tls.redirectHttpPort needs TLS (tls.certificateFile and tls.keyFile).") }
            guard (1...65535).contains(tlsRedirectPort), tlsRedirectPort != port else {
                throw ConfigurationError("tls.redirectHttpPort must be 1–65535 and differ from http.port.")
            }
        }
        if tlsCertificateFile != nil, let publicURL, !publicURL.lowercased().hasPrefix("https://") {
            throw ConfigurationError("With TLS on, http.publicUrl must be an https:// URL.")
        }
        for proxy in trustedProxies where NetworkRange(proxy) == nil {
            throw ConfigurationError("http.trustedProxies: '\(proxy)' is not an IPv4 or IPv6 address or CIDR network.")
        }
        guard sendQueueLimit >= 16 else { throw ConfigurationError("realtime.sendQueueLimit must be at least 16.") }
        for (name, value) in [
            ("limits.socketsTotal", socketsTotal), ("limits.socketsPerAddress", socketsPerAddress), ("limits.socketsPerVisitor", socketsPerVisitor),
        ]
        where value < 1 {
            throw ConfigurationError("\(name) must be at least 1.")
        }
        guard (0...36500).contains(agentClosedAccessDays) else { throw ConfigurationError("access.agentClosedConversationDays must be 0–36500.") }
        guard linksPerMessage >= 0 else { throw ConfigurationError("limits.linksPerMessage must not be negative.") }
        guard (0...60_000).contains(formMinimumFillMs) else { throw ConfigurationError("limits.formMinimumFillMs must be 0–60000.") }
        if let metricsPort, !(1...65535).contains(metricsPort) || metricsPort == port {
            throw ConfigurationError("metrics.port must be 1–65535 and differ from http.port.")
        }
        guard presenceTTL > heartbeatInterval else { throw ConfigurationError("realtime.presenceTtlSeconds must exceed realtime.heartbeatSeconds.") }
        for (name, value) in [
            ("auth.sessionIdleMinutes", sessionIdleTimeout), ("auth.sessionAbsoluteHours", sessionAbsoluteTimeout),
            ("visitor.tokenLifetimeDays", visitorTokenLifetime), ("realtime.heartbeatSeconds", heartbeatInterval),
            ("realtime.helloTimeoutSeconds", helloTimeout), ("realtime.pingIntervalSeconds", pingInterval),
            ("http.idleTimeoutSeconds", httpIdleTimeout), ("http.headerTimeoutSeconds", httpHeaderTimeout),
            ("audit.headIntervalSeconds", auditHeadInterval), ("retention.intervalMinutes", retentionInterval),
            ("alerts.transcriptWindowMinutes", alertTranscriptWindow), ("alerts.checkIntervalSeconds", alertCheckInterval),
        ] where value <= .zero {
            throw ConfigurationError("\(name) must be positive.")
        }
        guard alertTranscriptThreshold >= 1 else { throw ConfigurationError("alerts.transcriptThreshold must be at least 1.") }
        if let alertWebhookURL {
            guard let url = URLComponents(string: alertWebhookURL), let host = url.host, !host.isEmpty,
                url.scheme == "https" || (url.scheme == "http" && ["127.0.0.1", "::1", "localhost"].contains(host))
            else {
                throw ConfigurationError("alerts.webhookUrl must be an https URL (http only to a loopback address).")
            }
            guard (alertWebhookSecret?.count ?? 0) >= 32 else {
                throw ConfigurationError("alerts.webhookSecret must be set, at least 32 characters, when alerts.webhookUrl is.")
            }
        }
        if let databaseURL, !databaseURL.hasPrefix("postgres://"), !databaseURL.hasPrefix("postgresql://") {
            throw ConfigurationError("database.url must start with postgres:// (leave it unset for the embedded SQLite).")
        }
        if let publicURL, Self.origin(of: publicURL) == nil {
            throw ConfigurationError("http.publicUrl must be an http(s) URL such as https://chat.example.com.")
        }
    }

    /// The public URL, defaulting to `http(s)://HOST:PORT`.
    public var effectivePublicURL: String {
        publicURL ?? "\(servesTLS ? "https" : "http")://\(host.contains(":") ? "[\(host)]" : host):\(port)"
    }

    /// Whether Confidant terminates TLS itself.
    public var servesTLS: Bool { tlsCertificateFile != nil && tlsKeyFile != nil }

    /// The origin (`scheme://host[:port]`) of the public URL.
    var publicOrigin: String {
        Self.origin(of: effectivePublicURL) ?? "http://127.0.0.1:\(port)"
    }

    /// The normalized origin of a URL, or nil if it is not an http(s) URL.
    static func origin(of url: String) -> String? {
        guard var components = URLComponents(string: url) else { return nil }
        components.path = ""
        components.query = nil
        components.fragment = nil
        return components.string.flatMap(OriginPolicy.normalize)
    }

    /// Whether the public URL is HTTPS (cookies become `__Host-` and Secure).
    var isSecure: Bool { effectivePublicURL.lowercased().hasPrefix("https://") }

    /// The settings for logs and `confidant serve` output, secrets replaced by `<redacted>`.
    public var redactedSummary: [(String, String)] {
        [
            ("http.host", host), ("http.port", String(port)), ("http.publicUrl", effectivePublicURL), ("data.dir", dataDirectory),
            ("database", databaseURL.map(Self.redactPassword) ?? "sqlite (\(dataDirectory)/confidant.sqlite)"),
            ("keys.masterKey", masterKeyBase64 == nil ? "file \(masterKeyFile ?? dataDirectory + "/master.key")" : "<redacted> (environment)"),
            ("http.trustedProxies", trustedProxies.isEmpty ? "none" : trustedProxies.joined(separator: ",")),
            ("tls", servesTLS ? "on (\(tlsCertificateFile!))\(tlsRedirectPort.map { ", http://…:\($0) redirects" } ?? "")" : "off"),
            ("metrics", metricsPort.map { "http://\(metricsHost):\($0)/metrics" } ?? "off"),
            // The webhook's origin only: its path and query often carry a secret of their own.
            (
                "alerts",
                "more than \(alertTranscriptThreshold) transcripts in \(alertTranscriptWindow.components.seconds / 60) min; webhook \(alertWebhookURL.map { Self.origin(of: $0) ?? "<redacted>" } ?? "off")"
            ),
            ("node.id", nodeID), ("log.level", logLevel.rawValue),
        ]
    }

    /// `postgres://user:<redacted>@host/db`.
    static func redactPassword(_ url: String) -> String {
        guard var components = URLComponents(string: url) else { return "<redacted>" }
        if components.password != nil { components.password = "<redacted>" }
        return components.string ?? "<redacted>"
    }
}
