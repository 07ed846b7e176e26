import Crypto
import Foundation

/// Time-based one-time passwords (RFC 6238 over RFC 4226): HMAC-SHA1, 6 digits, 30-second steps,
/// the parameters every authenticator app supports.
struct TOTP: Sendable {
    /// The shared secret (160 bits, as RFC 4226 recommends).
    let secret: Data
    static let digits = 6
    static let period: Int64 = 30
    /// Steps accepted either side of now, for clock drift (ASVS: at most one).
    static let window: Int64 = 1

    /// A new random secret.
    static func generateSecret() -> Data {
        SymmetricKey(size: SymmetricKeySize(bitCount: 160)).withUnsafeBytes { Data($0) }
    }

    /// The time step of a moment (Unix seconds).
    static func step(at unixSeconds: Int64) -> Int64 { unixSeconds / period }

    /// The code of one time step.
    func code(step: Int64) -> String {
        var counter = UInt64(step).bigEndian
        let mac = Array(HMAC<Insecure.SHA1>.authenticationCode(for: Data(bytes: &counter, count: 8), using: SymmetricKey(data: secret)))
        let offset = Int(mac[mac.count - 1] & 0x0f)
        let binary = (UInt32(mac[offset] & 0x7f) << 24) | (UInt32(mac[offset + 1]) << 16) | (UInt32(mac[offset + 2]) << 8) | UInt32(mac[offset + 3])
        let value = binary % 1_000_000
        return String(repeating: "0", count: Self.digits - String(value).count) + String(value)
    }

    /// The step whose code `candidate` is, within the window around `unixSeconds`, or nil. Every
    /// step in the window is computed and compared in constant time, so timing reveals nothing.
    func matchingStep(_ candidate: String, at unixSeconds: Int64) -> Int64? {
        let digitsOnly = candidate.filter { !$0.isWhitespace }
        guard digitsOnly.count == Self.digits, digitsOnly.allSatisfy(\.isASCII), digitsOnly.allSatisfy(\.isNumber) else { return nil }
        let now = Self.step(at: unixSeconds)
        var found: Int64?
        for step in (now - Self.window)...(now + Self.window) where constantTimeEquals(code(step: step), digitsOnly) {
            found = step
        }
        return found
    }

    /// The `otpauth://` URI authenticator apps read from the QR code.
    func provisioningURI(account: String, issuer: String) -> String {
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-._~@"))
        let label = "\(issuer):\(account)".addingPercentEncoding(withAllowedCharacters: allowed.union(CharacterSet(charactersIn: ":"))) ?? account
        let issuerParameter = issuer.addingPercentEncoding(withAllowedCharacters: allowed) ?? issuer
        return "otpauth://totp/\(label)?secret=\(Base32.encode(secret))&issuer=\(issuerParameter)&algorithm=SHA1&digits=\(Self.digits)&period=\(Self.period)"
    }
}

/// Compares two strings without an early exit on the first difference.
func constantTimeEquals(_ a: String, _ b: String) -> Bool {
    let x = Array(a.utf8)
    let y = Array(b.utf8)
    guard x.count == y.count else { return false }
    var difference: UInt8 = 0
    for index in x.indices { difference |= x[index] ^ y[index] }
    return difference == 0
}

/// RFC 4648 base32 (A–Z, 2–7) without padding, as authenticator apps expect secrets.
enum Base32 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")

    static func encode(_ data: Data) -> String {
        var output = ""
        var buffer = 0
        var bits = 0
        for byte in data {
            buffer = (buffer << 8) | Int(byte)
            bits += 8
            while bits >= 5 {
                output.append(alphabet[(buffer >> (bits - 5)) & 31])
                bits -= 5
            }
        }
        if bits > 0 { output.append(alphabet[(buffer << (5 - bits)) & 31]) }
        return output
    }
}
