import ConfidantCore
import Foundation
import HTTPTypes

/// Slows guessing of passwords and second-factor codes (ASVS V6.3, anti-automation) without
/// letting an attacker lock a victim out:
///
/// - **account and address**: after 3 failures, each further failure blocks that pair for 1 s,
///   2 s, 4 s … up to 15 minutes. This is what stops a brute force from one source.
/// - **address**: after 20 failures across any accounts (password spraying), the same growth
///   up to an hour.
/// - **account, from any address** (a distributed attack): after 10 failures, blocks of up to
///   60 seconds. They do not apply to an address the account signed in from in the last 30
///   days, so the victim's own network keeps working while an attack goes on.
///
/// A blocked attempt is refused (429, `Retry-After`) before the password is checked, for known
/// and unknown accounts alike (keys use the e-mail as typed, normalized), so blocking reveals
/// nothing about which accounts exist. Counts reset after an hour without failures, and a
/// successful sign-in clears the account's counts. State lives in the database, so every node
/// sees the same counts.
struct LoginThrottle: Sendable {
    /// One rule: how many failures are free, and the longest block.
    struct Rule: Sendable {
        let prefix: String
        let freeFailures: Int
        let maximumBlock: Int64
    }

    static let accountAndAddress = Rule(prefix: "pair", freeFailures: 3, maximumBlock: 15 * 60_000)
    static let address = Rule(prefix: "addr", freeFailures: 20, maximumBlock: 60 * 60_000)
    static let account = Rule(prefix: "acct", freeFailures: 10, maximumBlock: 60_000)
    /// Second-factor codes, per account: 5 free, then growing up to 15 minutes.
    static let secondFactor = Rule(prefix: "2fa", freeFailures: 5, maximumBlock: 15 * 60_000)
    /// Failures older than this no longer count.
    static let resetAfter: Int64 = 60 * 60_000
    /// An address the account signed in from this recently is exempt from the account rule.
    static let knownAddressWindow: Int64 = 30 * 24 * 3_600_000

    let database: any Database

    /// The keys of a sign-in attempt.
    static func signInKeys(email: String, address: String, knownAddress: Bool) -> [(Rule, String)] {
        var keys: [(Rule, String)] = [(accountAndAddress, "\(email)|\(address)"), (Self.address, address)]
        if !knownAddress { keys.append((account, email)) }
        return keys
    }

    /// Throws `too_many_attempts` with `Retry-After` while any key is blocked.
    func check(_ keys: [(Rule, String)]) async throws {
        let now = nowMillis()
        var until: Int64 = 0
        try await database.read { store in
            for (rule, key) in keys {
                if let record = try await store.throttle(key: "\(rule.prefix):\(key)") { until = max(until, record.blockedUntil) }
            }
        }
        if until > now {
            let seconds = (until - now + 999) / 1000
            throw APIError(
                error: ConfidantError(.tooManyAttempts, "Too many failed attempts. Try again in \(seconds) seconds."),
                headers: [.retryAfter: String(seconds)])
        }
    }

    /// Counts a failure under every key; returns the keys that became blocked (lockouts, audited).
    @discardableResult
    func recordFailure(_ keys: [(Rule, String)]) async throws -> [String] {
        let now = nowMillis()
        return try await database.transaction { store in
            var blocked: [String] = []
            for (rule, key) in keys {
                let id = "\(rule.prefix):\(key)"
                let previous = try await store.throttle(key: id)
                let failures = (previous.map { now - $0.lastFailureAt < Self.resetAfter } == true ? previous!.failures : 0) + 1
                var blockedUntil = previous?.blockedUntil ?? 0
                if failures > rule.freeFailures {
                    let exponent = min(failures - rule.freeFailures - 1, 30)
                    if blockedUntil <= now { blocked.append(id) }
                    blockedUntil = now + min(1000 << exponent, rule.maximumBlock)
                }
                try await store.saveThrottle(ThrottleRecord(key: id, failures: failures, lastFailureAt: now, blockedUntil: blockedUntil))
            }
            return blocked
        }
    }

    /// Forgets the failures under these keys (after a success).
    func clear(_ keys: [(Rule, String)]) async throws {
        try await database.transaction { store in
            for (rule, key) in keys { try await store.clearThrottle(key: "\(rule.prefix):\(key)") }
        }
    }
}
