import ConfidantCore
import HummingbirdBcrypt
import NIOCore
import NIOPosix

/// bcrypt hashing off the event loops (it is deliberately slow). Passwords longer than bcrypt's
/// 72-byte input never match instead of being silently truncated (``PasswordPolicy`` refuses
/// to set them).
struct PasswordHasher: Sendable {
    /// The bcrypt cost (work factor); 12 at least.
    let cost: Int

    /// bcrypt's own threads, one per core, for the life of the process. Not the shared pool:
    /// there, a burst of sign-ins (an attack spread over many addresses, or a busy morning)
    /// queued every file read behind it, and the console's static files stalled for seconds.
    private static let threads: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: System.coreCount)
        pool.start()
        return pool
    }()

    /// Hashes a password on bcrypt's threads.
    func hash(_ password: String) async throws -> String {
        let cost = UInt8(cost)
        return try await Self.threads.runIfActive { Bcrypt.hash(password, cost: cost) }
    }

    /// Verifies a password on bcrypt's threads. Over-long input never matches.
    func verify(_ password: String, hash: String) async throws -> Bool {
        guard password.utf8.count <= PasswordPolicy.maximumBytes else { return false }
        return try await Self.threads.runIfActive { Bcrypt.verify(password, hash: hash) }
    }
}
