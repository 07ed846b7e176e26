import ConfidantCore
import Foundation
import HTTPTypes
public import Logging
import Synchronization

/// One rate: `count` events per `period`, as a token bucket that holds `count` tokens and refills
/// evenly over `period` (so a burst of `count` is allowed, then one event per `period / count`).
public struct Rate: Sendable, Equatable, CustomStringConvertible {
    public let count: Int
    public let period: Duration

    public init(_ count: Int, per period: Duration) {
        self.count = count
        self.period = period
    }

    /// Parses `COUNT/PERIOD` with a period such as `10s`, `1m` or `1h` (`30/1m`); nil if malformed.
    public init?(parsing text: String) {
        let parts = text.trimmingWhitespace().split(separator: "/")
        guard parts.count == 2, let count = Int(parts[0]), count > 0, let unit = parts[1].last, let amount = Int(parts[1].dropLast()), amount > 0 else {
            return nil
        }
        let seconds: Int
        switch unit {
        case "s": seconds = amount
        case "m": seconds = amount * 60
        case "h": seconds = amount * 3600
        default: return nil
        }
        self.init(count, per: .seconds(seconds))
    }

    public var description: String {
        let seconds = period.components.seconds
        if seconds % 3600 == 0 { return "\(count)/\(seconds / 3600)h" }
        if seconds % 60 == 0 { return "\(count)/\(seconds / 60)m" }
        return "\(count)/\(seconds)s"
    }
}

/// What is limited, and per what. Each has a configurable ``Rate`` (docs/configuration.md).
public enum LimitRule: String, Sendable, CaseIterable {
    /// Sign-in attempts per client address (on top of the failure throttling of ``LoginThrottle``).
    case signInPerAddress
    /// Visitor tokens issued per client address.
    case visitorSessionsPerAddress
    /// Conversations opened per visitor.
    case conversationsPerVisitor
    /// Conversations opened per client address.
    case conversationsPerAddress
    /// Conversations opened per site.
    case conversationsPerSite
    /// Messages (and offline messages) sent per visitor.
    case messagesPerVisitor
    /// Messages sent per staff member.
    case messagesPerAgent
    /// Typing frames per socket.
    case typingPerSocket
    /// REST requests per signed-in staff member.
    case restPerStaff
    /// REST requests per API token.
    case restPerApiToken
    /// REST requests per client address without a staff identity (sign-in, widget, visitor sessions).
    case restPerAddress
    /// Frames of any kind per socket, on top of the rule for their kind: most frames cost a
    /// database round trip (a read marker is a write).
    case framesPerSocket

    /// The default rate: generous for people, tight for scripts.
    public var defaultRate: Rate {
        switch self {
        case .signInPerAddress: Rate(20, per: .seconds(60))
        case .visitorSessionsPerAddress: Rate(60, per: .seconds(60))
        case .conversationsPerVisitor: Rate(10, per: .seconds(3600))
        case .conversationsPerAddress: Rate(60, per: .seconds(3600))
        case .conversationsPerSite: Rate(600, per: .seconds(60))
        case .messagesPerVisitor: Rate(30, per: .seconds(60))
        case .messagesPerAgent: Rate(120, per: .seconds(60))
        case .typingPerSocket: Rate(300, per: .seconds(60))
        case .framesPerSocket: Rate(600, per: .seconds(60))
        case .restPerStaff: Rate(600, per: .seconds(60))
        case .restPerApiToken: Rate(300, per: .seconds(60))
        case .restPerAddress: Rate(300, per: .seconds(60))
        }
    }

    /// The configuration key: `limits.<rule>`.
    public var configKey: String { "limits.\(rawValue)" }
}

/// Token buckets in this process's memory, one per (rule, subject). Every path that can be
/// flooded asks here first: the REST middleware, the visitor-session and sign-in routes, and the
/// WebSocket dispatch. Counts are per node: behind a load balancer with N nodes a client gets at
/// most N times the rate. Buckets that refilled completely are forgotten by ``sweep()``, so
/// memory grows only with the subjects active in the last period.
public final class RateLimiter: Sendable {
    private struct Key: Hashable {
        let rule: LimitRule
        let subject: String
    }

    private struct Bucket {
        var tokens: Double
        var updated: ContinuousClock.Instant
        /// When this bucket last reported a trip.
        var tripped: ContinuousClock.Instant?
    }

    /// Called when a limit trips: the first refusal of a subject under a rule within the rule's
    /// period. Trips, not refusals, are what the audit log records, so that a flood cannot flood
    /// the log: at most one per subject, rule and period, and ``maxTripsPerMinute`` in all.
    typealias TripHandler = @Sendable (LimitRule, String) -> Void

    /// Trips reported per minute at most, whatever the number of subjects; the rest are counted
    /// in the metrics and logged only.
    static let maxTripsPerMinute = 100

    private let rates: [LimitRule: Rate]
    private let buckets = Mutex<[Key: Bucket]>([:])
    private let tripBudget = Mutex<(since: ContinuousClock.Instant?, reported: Int)>((nil, 0))
    private let metrics: ProtectionMetrics?
    private let logger: Logger?
    private let onTrip: TripHandler?

    /// A limiter with these rates (rules left out use their defaults), counting refusals in
    /// `metrics` and logging them (rule and subject, never content) to `logger`.
    public convenience init(rates: [LimitRule: Rate] = [:], metrics: ProtectionMetrics? = nil, logger: Logger? = nil) {
        self.init(rates: rates, metrics: metrics, logger: logger, onTrip: nil)
    }

    /// A limiter that also reports trips to `onTrip` (the audit log).
    init(rates: [LimitRule: Rate], metrics: ProtectionMetrics?, logger: Logger?, onTrip: TripHandler?) {
        self.rates = Dictionary(uniqueKeysWithValues: LimitRule.allCases.map { ($0, rates[$0] ?? $0.defaultRate) })
        self.metrics = metrics
        self.logger = logger
        self.onTrip = onTrip
    }

    /// The rate in force for a rule.
    public func rate(_ rule: LimitRule) -> Rate { rates[rule]! }

    /// Takes one token for `subject` under `rule`: nil if allowed, otherwise how long until a
    /// token is back.
    public func take(_ rule: LimitRule, _ subject: String, now: ContinuousClock.Instant = .now) -> Duration? {
        let rate = rates[rule]!
        let capacity = Double(rate.count)
        let perSecond = capacity / (Double(rate.period.components.seconds) + Double(rate.period.components.attoseconds) / 1e18)
        let (wait, tripped) = buckets.withLock { buckets -> (Duration?, Bool) in
            let key = Key(rule: rule, subject: subject)
            var bucket = buckets[key] ?? Bucket(tokens: capacity, updated: now)
            let elapsed = bucket.updated.duration(to: now)
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            bucket.tokens = min(capacity, bucket.tokens + max(0, seconds) * perSecond)
            bucket.updated = now
            if bucket.tokens >= 1 {
                bucket.tokens -= 1
                buckets[key] = bucket
                return (nil, false)
            }
            let trips = bucket.tripped.map { $0.duration(to: now) >= rate.period } ?? true
            if trips { bucket.tripped = now }
            buckets[key] = bucket
            return (.milliseconds(Int64(((1 - bucket.tokens) / perSecond * 1000).rounded(.up))), trips)
        }
        if wait != nil {
            metrics?.rateLimited(rule)
            logger?.notice("Rate limit", metadata: ["rule": "\(rule.rawValue)", "subject": "\(subject)"])
        }
        if tripped, let onTrip, withinTripBudget(now: now) { onTrip(rule, subject) }
        return wait
    }

    private func withinTripBudget(now: ContinuousClock.Instant) -> Bool {
        tripBudget.withLock { budget in
            if let since = budget.since, since.duration(to: now) < .seconds(60) {
                guard budget.reported < Self.maxTripsPerMinute else { return false }
                budget.reported += 1
            } else {
                budget = (now, 1)
            }
            return true
        }
    }

    /// Throws `rate_limited` (HTTP 429 with `Retry-After`) when the rule's bucket for `subject` is empty.
    func enforce(_ rule: LimitRule, _ subject: String) throws {
        if let wait = take(rule, subject) { throw Self.limited(rule, retryAfter: wait) }
    }

    /// The error for an exceeded limit.
    static func limited(_ rule: LimitRule, retryAfter wait: Duration) -> APIError {
        let seconds = max(1, wait.components.seconds + (wait.components.attoseconds > 0 ? 1 : 0))
        return APIError(
            error: ConfidantError(.rateLimited, "Too many requests. Try again in \(seconds) seconds."), headers: [.retryAfter: String(seconds)])
    }

    /// Forgets buckets that are full again; returns how many remain.
    @discardableResult
    public func sweep(now: ContinuousClock.Instant = .now) -> Int {
        buckets.withLock { buckets in
            buckets = buckets.filter { key, bucket in
                let rate = rates[key.rule]!
                return bucket.updated.duration(to: now) < rate.period
            }
            return buckets.count
        }
    }
}
