import Crypto
import Foundation

/// The key-encryption key (KEK) that wraps every data key. 32 random bytes, never logged.
///
/// Where it comes from, first match wins: the `CONFIDANT_KEYS_MASTER_KEY` environment variable
/// (base64), the file named by `keys.masterKeyFile`, or `<data-dir>/master.key`, which is created
/// with mode 0600 on first run. A key file readable by group or others is refused, like ssh does.
public struct MasterKey: Sendable {
    /// The key itself.
    let key: SymmetricKey
    /// A short public fingerprint (not secret) that detects a wrong key at start-up.
    public let fingerprint: String

    /// Wraps raw key bytes; they must be exactly 32.
    public init(bytes: [UInt8]) throws {
        guard bytes.count == 32 else { throw ConfigurationError("The master key must be exactly 32 bytes (base64 of 32 random bytes).") }
        self.key = SymmetricKey(data: bytes)
        let digest = SHA256.hash(data: Data("confidant master-key fingerprint v1".utf8) + Data(bytes))
        self.fingerprint = digest.prefix(8).map { String(format: "%02x", $0) }.joined()
    }

    /// Derives a separate key for one purpose (HKDF-SHA256 with a distinct label), so that no two
    /// features ever share key material.
    func derive(_ purpose: String) -> SymmetricKey {
        HKDF<SHA256>.deriveKey(inputKeyMaterial: key, salt: Data("confidant".utf8), info: Data(purpose.utf8), outputByteCount: 32)
    }

    /// Loads the key from base64 text (environment), a file, or creates `defaultPath`.
    public static func load(base64: String?, file: String?, defaultPath: String) throws -> MasterKey {
        if let base64 {
            guard let bytes = Data(base64Encoded: base64.trimmingCharacters(in: .whitespacesAndNewlines)) else {
                throw ConfigurationError("CONFIDANT_KEYS_MASTER_KEY is not valid base64.")
            }
            return try MasterKey(bytes: Array(bytes))
        }
        let path = file ?? defaultPath
        if FileManager.default.fileExists(atPath: path) {
            return try read(path)
        }
        if file != nil { throw ConfigurationError("The master key file \(path) does not exist.") }
        return try create(path)
    }

    private static func read(_ path: String) throws -> MasterKey {
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        if let mode = attributes[.posixPermissions] as? Int, mode & 0o077 != 0 {
            throw ConfigurationError("The master key file \(path) is readable by other users (mode \(String(mode, radix: 8))); run: chmod 600 \(path)")
        }
        let contents = try String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        guard let bytes = Data(base64Encoded: contents) else {
            throw ConfigurationError("The master key file \(path) must hold the base64 of 32 random bytes.")
        }
        return try MasterKey(bytes: Array(bytes))
    }

    private static func create(_ path: String) throws -> MasterKey {
        let key = SymmetricKey(size: .bits256)
        let bytes = key.withUnsafeBytes { Array($0) }
        let text = Data(bytes).base64EncodedString() + "\n"
        // Created with 0600 in one step, so there is no moment when the key is readable by others.
        guard FileManager.default.createFile(atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600]) else {
            throw ConfigurationError("Cannot create the master key file \(path).")
        }
        return try MasterKey(bytes: bytes)
    }
}
