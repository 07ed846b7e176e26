import ConfidantCore
import HummingbirdBcrypt
import NIOPosix

/// bcrypt hashing off the event loops (it is deliberately slow). Passwords longer than bcrypt's
/// 72-byte input never match instead of being silently truncated (``PasswordPolicy`` refuses
/// to set them).
struct PasswordHasher: Sendable {
    /// The bcrypt cost (work factor); 12 at least.
    let cost: Int

    /// Hashes a password on the shared thread pool.
    func hash(_ password: String) async throws -> String {
        let cost = UInt8(cost)
        return try await NIOThreadPool.singleton.runIfActive { Bcrypt.hash(password, cost: cost) }
    }

    /// Verifies a password on the shared thread pool. Over-long input never matches.
    func verify(_ password: String, hash: String) async throws -> Bool {
        guard password.utf8.count <= PasswordPolicy.maximumBytes else { return false }
        return try await NIOThreadPool.singleton.runIfActive { Bcrypt.verify(password, hash: hash) }
    }
}
