import ConfidantCore
import Foundation

/// What a new staff password must be (OWASP ASVS V6.2): at least 12 characters, at most bcrypt's
/// 72 bytes (refused, never silently truncated), not one of the most common passwords (nor one
/// dressed up with digits and symbols, or repeated), not built from the account's own e-mail or
/// name, and not a run of a few characters. Checked wherever a password is set: creation,
/// self-service change, admin reset and the CLI.
struct PasswordPolicy: Sendable {
    /// Minimum length in characters.
    static let minimumLength = 12
    /// bcrypt reads at most this many bytes.
    static let maximumBytes = 72
    /// Fewer distinct characters than this is a pattern, not a password.
    static let minimumDistinctCharacters = 5

    private let common: Set<String>

    /// The policy with the bundled list of common passwords.
    static let standard = PasswordPolicy(common: loadBundledList())

    init(common: Set<String>) {
        self.common = common
    }

    /// Throws `weak_password` with the reason when `password` may not be used by this account.
    func validate(_ password: String, email: String? = nil, displayName: String? = nil) throws(ConfidantError) {
        guard password.count >= Self.minimumLength else {
            throw ConfidantError(.weakPassword, "The password must be at least \(Self.minimumLength) characters long.")
        }
        guard password.utf8.count <= Self.maximumBytes else {
            throw ConfidantError(.weakPassword, "The password must be at most \(Self.maximumBytes) bytes long (bcrypt's limit).")
        }
        let lowered = password.lowercased()
        guard Set(lowered).count >= Self.minimumDistinctCharacters else {
            throw ConfidantError(.weakPassword, "The password repeats too few characters; use a longer phrase.")
        }
        if isCommon(lowered) {
            throw ConfidantError(.weakPassword, "This password is one of the most common ones; choose another.")
        }
        let sources: [String] = [email?.split(separator: "@").first.map(String.init), displayName].compactMap { $0?.lowercased() }
        var personal: [String] = []
        for source in sources {
            personal.append(source)
            personal += source.split(whereSeparator: { !$0.isLetter && !$0.isNumber }).map(String.init)
        }
        if personal.contains(where: { $0.count >= 4 && lowered.contains($0) && $0.count * 2 >= lowered.count }) {
            throw ConfidantError(.weakPassword, "The password must not be built from your e-mail address or name.")
        }
    }

    /// Whether the password is a common one, alone, wrapped in digits and symbols
    /// (`Password2024!`), or repeated (`monkeymonkey`).
    private func isCommon(_ lowered: String) -> Bool {
        if common.contains(lowered) { return true }
        let core = String(lowered.drop(while: { !$0.isLetter }).reversed().drop(while: { !$0.isLetter }).reversed())
        if core.isEmpty { return true }  // digits and symbols only: 123456789012
        if common.contains(core) { return true }
        for length in 1...max(1, core.count / 2) where core.count % length == 0 {
            let unit = String(core.prefix(length))
            if String(repeating: unit, count: core.count / length) == core, length < core.count, common.contains(unit) || length <= 3 {
                return true
            }
        }
        return false
    }

    private static func loadBundledList() -> Set<String> {
        guard let url = Bundle.module.url(forResource: "CommonPasswords/common-passwords", withExtension: "txt"),
            let text = try? String(contentsOf: url, encoding: .utf8)
        else { return [] }
        return Set(text.split(separator: "\n").filter { !$0.hasPrefix("#") }.map(String.init))
    }
}
