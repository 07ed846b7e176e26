import ArgumentParser
import Foundation

/// The load generator. Each subcommand is one scenario of docs/benchmarks.md.
@main
struct LoadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "confidant-load",
        abstract: "Drives Confidant, an XMPP server or the raw relay through its real protocol and reports throughput, latency, losses and memory.",
        subcommands: [Idle.self, Steady.self, Burst.self, Flood.self]
    )
}

/// Which kind of server is under load.
enum TargetKind: String, ExpressibleByArgument, Codable, Sendable {
    case confidant, xmpp, relay
}

/// Where the server is and how to sign in to it.
struct TargetOptions: ParsableArguments {
    @Option(help: "confidant, xmpp or relay.")
    var target: TargetKind = .confidant

    @Option(help: "The name of the server in the results (for example ejabberd).")
    var label: String?

    @Option(help: "The server's address.")
    var host = "127.0.0.1"

    @Option(help: "The server's port.")
    var port: Int

    @Option(name: .customLong("server-pid"), help: "The server's process id, to read its memory from /proc.")
    var serverPID: Int32?

    @Option(name: .customLong("owner-email"), help: "Confidant: an owner account that creates the site and agents.")
    var ownerEmail = "load@load.test"

    @Option(name: .customLong("owner-password"), help: "Confidant: the owner's password (default: $CONFIDANT_LOAD_OWNER_PASSWORD).")
    var ownerPassword: String?

    @Option(name: .customLong("xmpp-path"), help: "XMPP: the WebSocket path (/ws for ejabberd, /xmpp-websocket for Prosody).")
    var xmppPath = "/ws"

    @Option(name: .customLong("xmpp-domain"), help: "XMPP: the virtual host.")
    var xmppDomain = "localhost"

    @Option(name: .customLong("results"), help: "Append the result as one JSON line to this file.")
    var resultsFile: String?

    var name: String { label ?? target.rawValue }

    func makeTarget() throws -> any ChatTarget {
        switch target {
        case .confidant:
            guard let password = ownerPassword ?? ProcessInfo.processInfo.environment["CONFIDANT_LOAD_OWNER_PASSWORD"] else {
                throw ValidationError("Confidant needs --owner-password or CONFIDANT_LOAD_OWNER_PASSWORD.")
            }
            return ConfidantTarget(host: host, port: port, ownerEmail: ownerEmail, ownerPassword: password)
        case .xmpp:
            return XMPPTarget(host: host, port: port, path: xmppPath, domain: xmppDomain, password: "load-password")
        case .relay:
            return RelayTarget(host: host, port: port)
        }
    }

    var rssKiB: Int? { residentKiB(of: serverPID) }

    /// Prints the result and appends it to the results file.
    func report<Result: Encodable>(_ scenario: String, _ result: Result) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let line = ResultLine(scenario: scenario, target: name, date: ISO8601DateFormatter().string(from: Date()), result: result)
        let data = try encoder.encode(line) + Data("\n".utf8)
        if let resultsFile {
            if !FileManager.default.fileExists(atPath: resultsFile) { _ = FileManager.default.createFile(atPath: resultsFile, contents: nil) }
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: resultsFile))
            try handle.seekToEnd()
            try handle.write(contentsOf: data)
            try handle.close()
        }
    }
}

/// One line of the results file.
struct ResultLine<Result: Encodable>: Encodable {
    let scenario: String
    let target: String
    let date: String
    let result: Result
}

/// Prints a progress line to standard error.
func note(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

/// Rounds for display.
func rounded(_ value: Double, _ places: Int = 1) -> Double {
    let scale = pow(10, Double(places))
    return (value * scale).rounded() / scale
}
