import ConfidantCore
import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import SQLKit
import Testing

@testable import ConfidantServer

@Suite("Insider alerts: too many transcripts, bulk exports; to the console and a signed webhook")
struct SecurityAlertTests {
    @Test(
        "An agent opening more transcripts than the threshold raises one alert per burst; exports raise one each; only security managers get them",
        arguments: TestBackend.allCases)
    func insiderAlerts(_ backend: TestBackend) async throws {
        try await TestServer.run(
            backend,
            configure: {
                $0.alertTranscriptThreshold = 3
                $0.alertCheckInterval = .milliseconds(200)
            }
        ) { server in
            let owner = try await server.owner()
            let site = try await server.site(by: owner)
            let agent = try await server.agent("Dezső", by: owner)
            let (ownerSocket, _) = try await server.agentSocket(owner, available: false)
            let (agentSocket, _) = try await server.agentSocket(agent)
            let (_, opened) = try await RoutingTests.openConversation(server, site)

            // Three openings are within the threshold: nothing.
            for _ in 0..<3 { #expect(try await server.request(.get, "/v1/conversations/\(opened.id)/transcript", as: agent).status == .ok) }
            try await Task.sleep(for: .milliseconds(800))
            struct Alerts: Decodable { let items: [SecurityAlertPayload] }
            func alerts(_ query: String = "") async throws -> [SecurityAlertPayload] {
                try server.decode(Alerts.self, from: try await server.request(.get, "/v1/security/alerts\(query)", as: owner)).items
            }
            #expect(try await alerts().isEmpty)

            // The fourth crosses it: the owner's console hears at once; more openings add nothing.
            for _ in 0..<3 { _ = try await server.request(.get, "/v1/conversations/\(opened.id)/transcript", as: agent) }
            let frame = try await ownerSocket.next(type: "security.alert", timeout: .seconds(10))
            guard case .securityAlert(let alert) = frame.frame else { Issue.record("not an alert: \(frame.frame)"); return }
            #expect(alert.kind == "insider.transcripts" && alert.actorId == agent.agentId.rawValue && alert.actorName == "Dezső")
            #expect(alert.summary.contains("opened 4 transcripts"))
            try await Task.sleep(for: .milliseconds(800))
            #expect(try await alerts().map(\.id) == [alert.id], "one alert per burst")
            #expect(try await agentSocket.received { $0.frame.type == "security.alert" }.isEmpty, "agents do not get alerts")
            #expect(try await server.request(.get, "/v1/security/alerts", as: agent).status == .forbidden)

            // A bulk export raises its own alert, whoever runs it.
            #expect(try await server.request(.get, "/v1/audit/export", as: owner).status == .ok)
            let export = try await ownerSocket.next(type: "security.alert", timeout: .seconds(10))
            guard case .securityAlert(let exportAlert) = export.frame else { return }
            #expect(exportAlert.kind == "insider.export" && exportAlert.actorId == owner.agentId.rawValue)

            // Acknowledging closes it once; both steps are audited.
            #expect(try await server.request(.post, "/v1/security/alerts/\(alert.id)/acknowledge", as: owner).status == .noContent)
            #expect(try await server.request(.post, "/v1/security/alerts/\(alert.id)/acknowledge", as: owner).status == .notFound)
            #expect(try await alerts("?open=true").map(\.id) == [exportAlert.id])
            let actions = try await server.auditActions(as: owner)
            #expect(actions.filter { $0 == "alert.raised:success" }.count == 2)
            #expect(actions.contains("alert.acknowledged:success"))
            #expect(try await server.runtime.verifyAuditChain().problem == nil)
            ownerSocket.close()
            agentSocket.close()
        }
    }

    @Test("The webhook gets each alert signed with HMAC-SHA256 over timestamp and body, and a refused delivery is retried")
    func signedWebhook() async throws {
        let secret = "a-webhook-secret-of-at-least-32-characters"
        let received = Received()
        let router = Router()
        router.post("/hook") { request, _ -> HTTPResponse.Status in
            let body = try await request.body.collect(upTo: 1 << 20)
            let first = await received.append(signature: request.headers[HTTPField.Name("Confidant-Signature")!], body: Array(buffer: body))
            return first ? .serviceUnavailable : .noContent
        }
        try await Application(router: router).test(.live) { receiver in
            try await TestServer.run(
                .sqlite,
                configure: {
                    $0.alertCheckInterval = .milliseconds(200)
                    $0.alertWebhookURL = "http://127.0.0.1:\(receiver.port!)/hook"
                    $0.alertWebhookSecret = secret
                }
            ) { server in
                let owner = try await server.owner()
                #expect(try await server.request(.get, "/v1/audit/export", as: owner).status == .ok)
                // The first delivery is refused (503); bring its retry forward instead of waiting 5 s.
                try await waitUntil { await received.count == 1 }
                try await server.runtime.database.transaction { try await $0.run("UPDATE security_alerts SET webhook_next_at = 0") }
                try await waitUntil { await received.count >= 2 }
                try await waitUntil {
                    try await server.runtime.database.read {
                        try await $0.scalar("SELECT webhook_delivered_at FROM security_alerts", column: "webhook_delivered_at", as: Int64?.self) ?? nil
                    } != nil
                }

                for (signature, body) in await received.requests {
                    let alert = try JSONDecoder().decode(SecurityAlertPayload.self, from: Data(body))
                    #expect(alert.kind == "insider.export")
                    // What a receiver does: split the header, recompute, compare, check the clock.
                    let parts = Dictionary(
                        uniqueKeysWithValues: (signature ?? "").split(separator: ",").map { $0.split(separator: "=", maxSplits: 1).map(String.init) }
                            .map { ($0[0], $0.count > 1 ? $0[1] : "") })
                    let timestamp = try #require(parts["t"].flatMap(Int64.init))
                    #expect(abs(timestamp - Int64(Date().timeIntervalSince1970)) < 60)
                    let key = SymmetricKey(data: Data(secret.utf8))
                    let expected = HMAC<SHA256>.authenticationCode(for: Array("\(timestamp).".utf8) + body, using: key)
                    #expect(parts["v1"] == expected.map { String(format: "%02x", $0) }.joined())
                    let forged = HMAC<SHA256>.authenticationCode(for: Array("\(timestamp).".utf8) + body + [0x20], using: key)
                    #expect(parts["v1"] != forged.map { String(format: "%02x", $0) }.joined(), "a changed body does not verify")
                }
            }
        }
    }

    @Test("A webhook that never answers is tried 12 times, 5 s apart and doubling up to an hour, then left alone")
    func webhookGivesUp() async throws {
        #expect((1...12).map(AlertWebhook.backoff(afterAttempt:)) == [5, 10, 20, 40, 80, 160, 320, 640, 1280, 2560, 3600, 3600].map { $0 * 1000 })
        // The service's own scan waits an hour: this test drives the webhook by hand.
        try await TestServer.run(.sqlite, configure: { $0.alertCheckInterval = .seconds(3600) }) { server in
            let database = server.runtime.database
            let alert = SecurityAlertPayload(
                id: UUID().uuidString.lowercased(), kind: "insider.export", raisedAt: nowMillis(), actorKind: "cli", actorId: nil, actorName: nil,
                summary: "cli exported the audit log.", auditSeq: 1)
            #expect(try await database.transaction { try await $0.insertSecurityAlert(alert) })
            // Port 1 on loopback refuses every connection.
            var webhook = AlertWebhook(url: "http://127.0.0.1:1/hook", secret: SymmetricKey(size: .bits256), logger: TestServer.logger)
            // The client keeps retrying a refused connection until the deadline: keep it short.
            webhook.timeout = .milliseconds(300)
            struct State: Decodable {
                let webhookAttempts: Int
                let webhookNextAt: Int64?
                let webhookDeliveredAt: Int64?
            }
            func state() async throws -> State {
                try await database.read { try await $0.first("SELECT * FROM security_alerts", as: State.self)! }
            }
            for attempt in 1...13 {
                let before = nowMillis()
                try await webhook.deliverDue(database)
                let now = try await state()
                #expect(now.webhookAttempts == min(attempt, AlertWebhook.maxAttempts) && now.webhookDeliveredAt == nil)
                if attempt <= AlertWebhook.maxAttempts {
                    #expect((now.webhookNextAt ?? 0) >= before + AlertWebhook.backoff(afterAttempt: attempt), "retried no sooner than the backoff")
                }
                // Bring the retry forward instead of waiting for it.
                try await database.transaction { try await $0.run("UPDATE security_alerts SET webhook_next_at = 0") }
            }
        }
    }

    @Test("A first start reads only the last window of the audit log: an old export raises nothing, a new one does")
    func firstStartSkipsHistory() async throws {
        try await TestServer.run(.sqlite, configure: { $0.alertCheckInterval = .seconds(3600) }) { server in
            let database = server.runtime.database
            let audit = AuditLog(database: database, logger: TestServer.logger)
            await audit.record(AuditEvent(at: nowMillis() - 3_600_000, actorKind: .cli, action: "audit.exported"))
            let monitor = SecurityAlertMonitor(
                database: database, hub: Hub(), rules: AlertRules(transcriptThreshold: 3, transcriptWindow: 600_000), webhook: nil,
                interval: .seconds(3600), logger: TestServer.logger)
            let first = try await monitor.scan()
            #expect(first.isEmpty, "history from before the first start")
            await audit.record(AuditEvent(actorKind: .cli, action: "audit.exported"))
            let second = try await monitor.scan()
            #expect(second.map(\.kind) == ["insider.export"])
            let third = try await monitor.scan()
            #expect(third.isEmpty, "read once")
        }
    }

    private func waitUntil(_ condition: @Sendable () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(15)
        while try await !condition() {
            guard ContinuousClock.now < deadline else {
                Issue.record("timed out")
                return
            }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    /// What the webhook receiver got, in order.
    actor Received {
        var requests: [(signature: String?, body: [UInt8])] = []
        var count: Int { requests.count }

        /// Records a request; true when it was the first.
        func append(signature: String?, body: [UInt8]) -> Bool {
            requests.append((signature, body))
            return requests.count == 1
        }
    }
}
