import ConfidantCore
import HummingbirdBcrypt
import NIOPosix

/// bcrypt hashing off the event loops (it is deliberately slow). Passwords longer than bcrypt's
/// 72-byte input are refused instead of being silently truncated.
struct PasswordHasher: Sendable {
    /// The bcrypt cost (work factor); 12 by default.
    let cost: Int
    /// Minimum password length in characters.
    static let minimumLength = 12
    /// bcrypt reads at most this many bytes.
    static let maximumBytes = 72

    /// Checks a new password against the length rules.
    static func validate(_ password: String) throws(ConfidantError) {
        guard password.count >= minimumLength else {
            throw ConfidantError(.invalidRequest, "The password must be at least \(minimumLength) characters long.")
        }
        guard password.utf8.count <= maximumBytes else {
            throw ConfidantError(.invalidRequest, "The password must be at most \(maximumBytes) bytes long (bcrypt's limit).")
        }
    }

    /// Hashes a password on the shared thread pool.
    func hash(_ password: String) async throws -> String {
        let cost = UInt8(cost)
        return try await NIOThreadPool.singleton.runIfActive { Bcrypt.hash(password, cost: cost) }
    }

    /// Verifies a password on the shared thread pool. Over-long input never matches.
    func verify(_ password: String, hash: String) async throws -> Bool {
        guard password.utf8.count <= Self.maximumBytes else { return false }
        return try await NIOThreadPool.singleton.runIfActive { Bcrypt.verify(password, hash: hash) }
    }
}
