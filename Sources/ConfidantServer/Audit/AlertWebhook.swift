import AsyncHTTPClient
import ConfidantCore
import Crypto
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import SQLKit

/// Sends security alerts to the operator's endpoint (`alerts.webhookUrl`): a JSON POST of the
/// alert, signed so the receiver can tell it came from this Confidant and was not replayed.
///
/// `Confidant-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`: the
/// receiver recomputes the HMAC over the timestamp and the raw body with the shared secret,
/// compares in constant time, and refuses timestamps far from its clock. Delivery is
/// at-least-once (an alert id may arrive twice: dedupe on it); failures are retried with growing
/// delays, up to ``maxAttempts`` times.
struct AlertWebhook: Sendable {
    let url: String
    let secret: SymmetricKey
    let logger: Logger
    var timeout: TimeAmount = .seconds(10)

    /// The webhook `configuration` sets up; nil when it names none.
    init?(_ configuration: ConfidantConfiguration, logger: Logger) {
        guard let url = configuration.alertWebhookURL, let secret = configuration.alertWebhookSecret else { return nil }
        self.init(url: url, secret: SymmetricKey(data: Data(secret.utf8)), logger: logger)
    }

    init(url: String, secret: SymmetricKey, logger: Logger) {
        self.url = url
        self.secret = secret
        self.logger = logger
    }

    static let maxAttempts = 12
    static let signatureHeader = "Confidant-Signature"

    /// The signature header's value for `body` sent at `timestamp` (Unix seconds).
    static func signature(body: [UInt8], timestamp: Int64, secret: SymmetricKey) -> String {
        var signed = Array("\(timestamp).".utf8)
        signed += body
        let mac = HMAC<SHA256>.authenticationCode(for: signed, using: secret)
        return "t=\(timestamp),v1=" + mac.map { String(format: "%02x", $0) }.joined()
    }

    /// The wait before retry number `attempt` (1-based): 5 s, doubling, at most an hour.
    static func backoff(afterAttempt attempt: Int) -> Int64 {
        min(5_000 << Int64(min(attempt - 1, 20)), 3_600_000)
    }

    /// Sends every alert that is due (never delivered, attempts left, retry time reached).
    func deliverDue(_ database: any Database) async throws {
        let now = nowMillis()
        let due = try await database.read { store in
            try await store.all(
                """
                SELECT * FROM security_alerts WHERE webhook_delivered_at IS NULL AND webhook_attempts < \(bind: Self.maxAttempts)
                AND (webhook_next_at IS NULL OR webhook_next_at <= \(bind: now)) ORDER BY raised_at LIMIT 20
                """, as: DueAlert.self)
        }
        for row in due {
            let delivered = await send(row.alert)
            let attempts = row.webhookAttempts + 1
            try await database.transaction { store in
                if delivered {
                    try await store.run("UPDATE security_alerts SET webhook_delivered_at = \(bind: nowMillis()) WHERE id = \(bind: row.alert.id)")
                } else {
                    try await store.run(
                        """
                        UPDATE security_alerts SET webhook_attempts = \(bind: attempts),
                        webhook_next_at = \(bind: nowMillis() + Self.backoff(afterAttempt: attempts)) WHERE id = \(bind: row.alert.id)
                        """)
                }
            }
        }
    }

    /// One POST; true when the endpoint answered 2xx.
    private func send(_ alert: SecurityAlertPayload) async -> Bool {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        do {
            let body = Array(try encoder.encode(alert))
            var request = HTTPClientRequest(url: url)
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            request.headers.add(name: "User-Agent", value: "Confidant/\(ConfidantVersion.current)")
            request.headers.add(name: Self.signatureHeader, value: Self.signature(body: body, timestamp: nowMillis() / 1000, secret: secret))
            request.body = .bytes(ByteBuffer(bytes: body))
            let response = try await HTTPClient.shared.execute(request, timeout: timeout)
            _ = try await response.body.collect(upTo: 64 * 1024)
            guard (200..<300).contains(response.status.code) else {
                logger.warning("The alert webhook refused an alert", metadata: ["alert": "\(alert.id)", "status": "\(response.status.code)"])
                return false
            }
            return true
        } catch {
            logger.warning("The alert webhook could not be reached", metadata: ["alert": "\(alert.id)", "error": "\(error)"])
            return false
        }
    }

    private struct DueAlert: Decodable {
        let alert: SecurityAlertPayload
        let webhookAttempts: Int

        enum CodingKeys: String, CodingKey { case webhookAttempts }

        init(from decoder: any Decoder) throws {
            alert = try SecurityAlertPayload(from: decoder)
            webhookAttempts = try decoder.container(keyedBy: CodingKeys.self).decode(Int.self, forKey: .webhookAttempts)
        }
    }
}
