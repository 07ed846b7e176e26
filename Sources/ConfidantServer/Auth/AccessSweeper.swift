import AsyncAlgorithms
import ConfidantCore
import Logging
import ServiceLifecycle

/// Housekeeping of access state, once a minute: ends sessions that expired or went idle (and
/// closes their open sockets, so a timeout ends a live console too), and forgets spent identity
/// nonces and old throttle counts.
struct AccessSweeper: Service {
    let authenticator: StaffAuthenticator
    let interval: Duration

    func run() async throws {
        for await _ in AsyncTimerSequence(interval: interval, clock: .continuous).cancelOnGracefulShutdown() {
            do {
                try await authenticator.sweep()
            } catch {
                authenticator.audit.logger.warning("Sweeping sessions failed", metadata: ["error": "\(error)"])
            }
        }
    }
}

extension StaffAuthenticator {
    /// One sweep (see ``AccessSweeper``).
    func sweep() async throws {
        let now = nowMillis()
        let ended = try await database.transaction { store in
            try await store.deleteExpiredIdentityNonces(before: now)
            try await store.deleteStaleThrottles(before: now - LoginThrottle.resetAfter, now: now)
            return try await store.deleteStaleSessions(now: now, idleCutoff: now - idleTimeoutMilliseconds)
        }
        await closeSockets(of: ended)
    }
}
