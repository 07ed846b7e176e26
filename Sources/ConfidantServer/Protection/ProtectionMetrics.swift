import Hummingbird
import Logging
import Prometheus

/// What the protections refused, as Prometheus counters: rate limits by rule, connection caps,
/// spam refusals by reason, sign-in failures and lockouts; and the sockets open now. Served in the
/// Prometheus text format by ``metricsApplication(host:port:logger:)`` on a listener of its own
/// (`metrics.port`, on 127.0.0.1 unless `metrics.host` says otherwise), never on the public port.
public final class ProtectionMetrics: Sendable {
    let registry: PrometheusCollectorRegistry
    private let limited: [LimitRule: Counter]
    private let capRefusals: [String: Counter]
    private let spamRefusals: [String: Counter]
    private let signInFailures: Counter
    private let lockouts: Counter
    private let openSockets: Gauge

    /// Spam refusal reasons, as labels.
    static let spamReasons = ["blocklist", "duplicate", "links", "form"]
    /// Connection caps, as labels.
    static let caps = ["total", "address", "visitor"]

    public init() {
        let registry = PrometheusCollectorRegistry()
        self.registry = registry
        limited = Dictionary(
            uniqueKeysWithValues: LimitRule.allCases.map {
                (
                    $0,
                    registry.makeCounter(
                        name: "confidant_rate_limited_total", labels: [("rule", $0.rawValue)], help: "Requests and frames refused by a rate limit.")
                )
            })
        capRefusals = Dictionary(
            uniqueKeysWithValues: Self.caps.map {
                ($0, registry.makeCounter(name: "confidant_connections_refused_total", labels: [("cap", $0)], help: "WebSockets refused by a connection cap."))
            })
        spamRefusals = Dictionary(
            uniqueKeysWithValues: Self.spamReasons.map {
                (
                    $0,
                    registry.makeCounter(
                        name: "confidant_spam_refused_total", labels: [("reason", $0)], help: "Visitor frames refused as spam or from a blocked visitor.")
                )
            })
        signInFailures = registry.makeCounter(name: "confidant_sign_in_failures_total", help: "Failed staff sign-ins and second factors.")
        lockouts = registry.makeCounter(name: "confidant_lockouts_total", help: "Sign-in blocks that started (throttling).")
        openSockets = registry.makeGauge(name: "confidant_websockets_open", help: "WebSockets open on this node.")
    }

    func rateLimited(_ rule: LimitRule) { limited[rule]?.increment() }
    func connectionRefused(_ cap: String) { capRefusals[cap]?.increment() }
    func spamRefused(_ reason: String) { spamRefusals[reason]?.increment() }
    func socketsOpen(_ count: Int) { openSockets.set(Double(count)) }
    func signInFailed(startingLockout: Bool) {
        signInFailures.increment()
        if startingLockout { lockouts.increment() }
    }

    /// Everything in the Prometheus text exposition format.
    func exposition() -> String { registry.emitToString() }

    /// A listener that serves `GET /metrics` and nothing else.
    func metricsApplication(host: String, port: Int, logger: Logger) -> some ApplicationProtocol {
        let responder = CallbackResponder<BasicRequestContext> { [self] request, _ in
            guard request.method == .get, request.uri.path == "/metrics" else { return Response(status: .notFound) }
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8", .cacheControl: "no-store"],
                body: .init(byteBuffer: .init(string: exposition())))
        }
        return Application(responder: responder, configuration: .init(address: .hostname(host, port: port), serverName: nil), logger: logger)
    }
}
