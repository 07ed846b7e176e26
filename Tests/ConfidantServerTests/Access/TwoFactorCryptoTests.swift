import Foundation
import Testing

@testable import ConfidantServer

@Suite("2FA building blocks: TOTP against oathtool, QR codes against zbarimg")
struct TwoFactorCryptoTests {
    @Test("TOTP codes equal oathtool's for many moments; the RFC 6238 vector holds; the window is ±1 step")
    func totpMatchesOathtool() throws {
        // RFC 6238 appendix B, SHA-1, T = 59 s: 94287082 (8 digits) → 287082 with 6.
        let rfc = TOTP(secret: Data("12345678901234567890".utf8))
        #expect(rfc.code(step: TOTP.step(at: 59)) == "287082")
        for _ in 0..<5 {
            let totp = TOTP(secret: TOTP.generateSecret())
            let secret = Base32.encode(totp.secret)
            for moment in [Int64(0), 59, 1_111_111_109, 2_000_000_000, nowSeconds()] {
                #expect(totp.code(step: TOTP.step(at: moment)) == (try ExternalTool.oathtoolCode(base32: secret, at: moment)))
            }
            let now = nowSeconds()
            let step = TOTP.step(at: now)
            for offset in Int64(-1)...1 {
                #expect(totp.matchingStep(try ExternalTool.oathtoolCode(base32: secret, at: now + offset * 30), at: now) == step + offset)
            }
            #expect(totp.matchingStep(try ExternalTool.oathtoolCode(base32: secret, at: now - 90), at: now) == nil, "two steps old is refused")
            #expect(totp.matchingStep("12345", at: now) == nil)
            #expect(totp.matchingStep("12345a", at: now) == nil)
        }
    }

    /// Lengths that land in versions 1, 2, 4, 6, 7 (version bits), 9, 10 (16-bit counts), 14, 15.
    @Test("QR codes of every size class decode with zbarimg to exactly what was encoded", arguments: [1, 20, 60, 100, 130, 170, 200, 330, 412])
    func qrDecodes(length: Int) throws {
        let alphabet = Array("otpauth://totp/Confidant:someone@example.com?secret=ABCDEFGHIJKLMNOP&issuer=Confidant")
        let trimmed = String((0..<length).map { alphabet[$0 % alphabet.count] })
        let code = try QRCode(trimmed)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("qr-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let pbm = directory.appendingPathComponent("code.pbm")
        try Self.pbm(code, scale: 4).write(to: pbm, atomically: true, encoding: .ascii)
        #expect(try ExternalTool.zbarimg(pbm.path) == trimmed, "version for \(trimmed.utf8.count) bytes, size \(code.size)")
    }

    @Test("UTF-8 text survives (an e-mail address with accents in the label)")
    func qrUTF8() throws {
        let text = "otpauth://totp/Confidant:józsef.öröm@példa.hu?secret=JBSWY3DPEHPK3PXP&issuer=Confidant"
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("qr-\(UUID().uuidString).pbm")
        defer { try? FileManager.default.removeItem(at: directory) }
        try Self.pbm(try QRCode(text), scale: 4).write(to: directory, atomically: true, encoding: .ascii)
        let decoded = try ExternalTool.zbarimg(directory.path)
        #expect(decoded == text, "zbarimg read \(decoded ?? "nothing")")
    }

    @Test("Too long for version 15 is refused, not silently cut")
    func qrTooLong() {
        #expect(throws: QRCode.EncodingError.self) { try QRCode(String(repeating: "x", count: QRCode.capacity + 1)) }
        #expect(throws: Never.self) { try QRCode(String(repeating: "x", count: QRCode.capacity)) }
    }

    /// The code as a plain PBM image with a 4-module quiet zone, `scale` pixels per module.
    static func pbm(_ code: QRCode, scale: Int) -> String {
        let border = 4
        let width = (code.size + 2 * border) * scale
        var lines = ["P1", "\(width) \(width)"]
        for y in 0..<(code.size + 2 * border) * scale {
            let row = y / scale - border
            let pixels = (0..<width).map { x -> String in
                let column = x / scale - border
                let dark = (0..<code.size).contains(row) && (0..<code.size).contains(column) && code.modules[row][column]
                return dark ? "1" : "0"
            }
            lines.append(pixels.joined(separator: " "))
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
