import Foundation
import Testing

/// Runs a tool installed by `scripts/test` (oathtool, zbarimg): implementations independent of
/// ours that tests check ours against.
enum ExternalTool {
    /// Runs `tool` with `arguments`; returns its exit status and standard output.
    static func run(_ tool: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [tool] + arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// The TOTP code of a base32 secret at a Unix time, computed by oathtool.
    static func oathtoolCode(base32 secret: String, at unixSeconds: Int64) throws -> String {
        let result = try run("oathtool", ["--totp", "--base32", "--now=@\(unixSeconds)", secret])
        try #require(result.status == 0, "oathtool failed (is oath-toolkit installed?)")
        return result.output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The payload zbarimg reads from an image file, or nil if it finds no QR code.
    static func zbarimg(_ path: String) throws -> String? {
        let result = try run("zbarimg", ["--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", path])
        return result.status == 0 ? result.output.trimmingCharacters(in: .newlines) : nil
    }
}
