import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The `confidant` executable, run as a separate process the way operators run it.
struct ServerProcess: Sendable {
    let process: Process
    let port: Int
    let output: URL

    /// The built `confidant` binary: `CONFIDANT_BINARY`, or the one next to the test bundle.
    static var binary: URL {
        if let path = ProcessInfo.processInfo.environment["CONFIDANT_BINARY"] { return URL(fileURLWithPath: path) }
        let candidates = [
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("confidant"),
            URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent(".build/debug/confidant"),
        ]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) } ?? candidates[1]
    }

    /// The environment of a server whose test streams messages far faster than a person types:
    /// the per-visitor message limit and the per-socket frame limit lifted.
    static let streamingEnvironment = [
        "CONFIDANT_HTTP_PUBLIC_URL": "http://127.0.0.1", "CONFIDANT_LIMITS_MESSAGES_PER_VISITOR": "100000/1s",
        "CONFIDANT_LIMITS_FRAMES_PER_SOCKET": "100000/1s",
    ]

    /// Runs a one-shot command (`admin create`, `migrate`, ...) and returns its exit code and output.
    @discardableResult
    static func command(_ arguments: [String], stdin: String? = nil, environment: [String: String] = [:]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        let input = Pipe()
        process.standardInput = input
        try process.run()
        if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
        try input.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// Creates the owner `owner@example.com` with `password` (`admin create`), starts
    /// `confidant serve` on SQLite with `arguments`, and signs the owner in.
    static func startWithOwner(_ arguments: [String], password: String, environment: [String: String] = [:]) async throws
        -> (process: ServerProcess, server: TestServer, owner: StaffLogin)
    {
        let created = try command(
            ["admin", "create", "--email", "owner@example.com", "--password-stdin"] + arguments, stdin: password + "\n", environment: environment)
        try #require(created.status == 0, "admin create failed: \(created.output)")
        let process = try await start(arguments, environment: environment)
        let server = process.client(backend: .sqlite)
        return (process, server, try await server.login(email: "owner@example.com", password: password))
    }

    /// Starts `confidant serve` (with `--port 0` unless `fixedPort`) and waits until it prints
    /// the port it listens on.
    static func start(_ arguments: [String], environment: [String: String] = [:], workingDirectory: URL? = nil, fixedPort: Bool = false) async throws
        -> ServerProcess
    {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("confidant-serve-\(UUID().uuidString).log")
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        let handle = try FileHandle(forWritingTo: output)
        let process = Process()
        process.executableURL = binary
        process.arguments = ["serve"] + (fixedPort ? [] : ["--port", "0"]) + arguments
        if let workingDirectory { process.currentDirectoryURL = workingDirectory }
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            let text = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
            if let range = text.range(of: #"listening on http://127\.0\.0\.1:(\d+)"#, options: .regularExpression),
                let port = Int(text[range].split(separator: ":").last ?? "")
            {
                return ServerProcess(process: process, port: port, output: output)
            }
            guard process.isRunning else { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        process.terminate()
        let text = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
        Issue.record("confidant serve did not start: \(text)")
        throw CancellationError()
    }

    /// Kills the process without warning (SIGKILL): no shutdown code runs.
    func kill() {
        Glibc.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// Asks the process to stop (SIGTERM) and waits.
    func stop() {
        process.terminate()
        process.waitUntilExit()
    }

    /// Everything the process printed.
    var log: String { (try? String(contentsOf: output, encoding: .utf8)) ?? "" }

    /// A ``TestServer`` view of this process for the HTTP and WebSocket helpers.
    func client(backend: TestBackend) -> TestServer {
        let port = port
        let transport: HTTPTransport = { method, path, headers, body in
            let client = TestClient(host: "127.0.0.1", port: port)
            client.connect()
            defer { Task { try? await client.shutdown() } }
            var headers = headers
            headers[.connection] = "close"
            let response = try await client.execute(TestClient.Request(path, method: method, authority: "127.0.0.1", headers: headers, body: body))
            return HTTPReply(status: response.status, headers: response.headers, body: response.body ?? ByteBuffer())
        }
        return TestServer(backend: backend, port: port, runtime: nil, transport: transport)
    }
}
