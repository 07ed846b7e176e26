import ConfidantCore
import Crypto
import Foundation

/// TOTP secrets and recovery codes at rest. Secrets are sealed with AES-GCM under a key derived
/// from the master key (bound to the account's id), so a copy of the database alone cannot mint
/// codes. Recovery codes (10 per enrollment, 80 random bits each, shown once) are stored as
/// HMAC-SHA256 under another derived key and are single-use.
struct TwoFactorVault: Sendable {
    private let sealingKey: SymmetricKey
    private let recoveryKey: SymmetricKey
    /// Recovery codes issued per enrollment.
    static let recoveryCodeCount = 10
    /// The issuer name authenticator apps show.
    let issuer: String

    init(masterKey: MasterKey, issuer: String = "Confidant") {
        self.sealingKey = masterKey.derive("confidant totp-secret v1")
        self.recoveryKey = masterKey.derive("confidant recovery-code v1")
        self.issuer = issuer
    }

    func seal(_ secret: Data, for agent: AgentID) throws -> Data {
        let box = try AES.GCM.seal(secret, using: sealingKey, authenticating: Data("agents.totp_secret|\(agent)".utf8))
        return box.combined!
    }

    func open(_ sealed: Data, for agent: AgentID) throws -> Data {
        try AES.GCM.open(AES.GCM.SealedBox(combined: sealed), using: sealingKey, authenticating: Data("agents.totp_secret|\(agent)".utf8))
    }

    /// Fresh recovery codes (`xxxx-xxxx-xxxx-xxxx`, base32) and their stored hashes.
    func newRecoveryCodes() -> (codes: [String], hashes: [String]) {
        let codes = (0..<Self.recoveryCodeCount).map { _ in
            let text = Base32.encode(SymmetricKey(size: SymmetricKeySize(bitCount: 80)).withUnsafeBytes { Data($0) }).lowercased()
            return stride(from: 0, to: 16, by: 4).map { start in
                String(text[text.index(text.startIndex, offsetBy: start)..<text.index(text.startIndex, offsetBy: start + 4)])
            }.joined(separator: "-")
        }
        return (codes, codes.map(hashRecoveryCode))
    }

    /// The stored form of a recovery code, ignoring case, spaces and dashes as typed.
    func hashRecoveryCode(_ code: String) -> String {
        let normalized = code.lowercased().filter { $0.isLetter || $0.isNumber }
        return HMAC<SHA256>.authenticationCode(for: Data(normalized.utf8), using: recoveryKey).map { String(format: "%02x", $0) }.joined()
    }
}
