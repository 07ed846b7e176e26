import ConfidantCore
import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOSSL
import ServiceLifecycle
import Synchronization
import UnixSignals

/// The server's TLS settings, from its certificate chain and key files (PEM). TLS 1.2 and 1.3
/// only; for TLS 1.2 only ECDHE key exchange with AEAD ciphers (Mozilla's "intermediate"
/// profile); TLS 1.3's suites are all AEAD.
struct TLSFiles: Sendable {
    let certificateFile: String
    let keyFile: String

    /// TLS 1.2 suites: forward secrecy and AEAD only.
    static let tls12CipherSuites = [
        "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384",
        "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305",
    ].joined(separator: ":")

    /// Reads the files and builds a context; throws with the file's name when one is unusable.
    func makeContext() throws -> NIOSSLContext {
        let chain: [NIOSSLCertificate]
        let key: NIOSSLPrivateKey
        do {
            chain = try NIOSSLCertificate.fromPEMFile(certificateFile)
        } catch {
            throw ConfigurationError("tls.certificateFile \(certificateFile) is not a readable PEM certificate chain: \(error)")
        }
        do {
            key = try NIOSSLPrivateKey(file: keyFile, format: .pem)
        } catch {
            throw ConfigurationError("tls.keyFile \(keyFile) is not a readable PEM private key: \(error)")
        }
        guard !chain.isEmpty else { throw ConfigurationError("tls.certificateFile \(certificateFile) holds no certificate.") }
        var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        configuration.minimumTLSVersion = .tlsv12
        configuration.cipherSuites = Self.tls12CipherSuites
        configuration.applicationProtocols = ["http/1.1"]
        return try NIOSSLContext(configuration: configuration)
    }
}

/// The TLS context in use. `reload()` reads the files again (on SIGHUP); new connections get the
/// new certificate, open ones keep theirs, and a broken file leaves the old context in place.
final class TLSContextStore: Sendable {
    let files: TLSFiles
    private let context: Mutex<NIOSSLContext>

    init(files: TLSFiles) throws {
        self.files = files
        self.context = Mutex(try files.makeContext())
    }

    var current: NIOSSLContext { context.withLock { $0 } }

    /// Replaces the context with one read from the files now.
    func reload() throws {
        let fresh = try files.makeContext()
        context.withLock { $0 = fresh }
    }
}

/// Terminates TLS in front of another child channel: every new connection gets the context that
/// is current when it arrives.
struct TLSTerminatingChannel<Base: ServerChildChannel>: ServerChildChannel {
    let base: Base
    let contexts: TLSContextStore

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Base.Value> {
        channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: contexts.current))
        }.flatMap { base.setup(channel: channel, logger: logger) }
    }

    func handle(value: Base.Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}

/// Reloads the certificate and key when the process gets SIGHUP (after a renewal).
struct TLSReloadService: Service {
    let contexts: TLSContextStore
    let logger: Logger

    func run() async throws {
        for await _ in await UnixSignalsSequence(trapping: .sighup).cancelOnGracefulShutdown() {
            do {
                try contexts.reload()
                logger.notice("Reloaded the TLS certificate and key", metadata: ["certificate": "\(contexts.files.certificateFile)"])
            } catch {
                logger.error("Could not reload the TLS certificate; the previous one stays in use", metadata: ["error": "\(error)"])
            }
        }
    }
}

/// A plain-HTTP listener that sends every request to the same path on the public HTTPS URL
/// (308, so methods and bodies are kept). It serves nothing else.
enum HTTPSRedirect {
    static func application(host: String, port: Int, publicURL: String, logger: Logger) -> some ApplicationProtocol {
        let base = publicURL.hasSuffix("/") ? String(publicURL.dropLast()) : publicURL
        let responder = CallbackResponder<BasicRequestContext> { request, _ in
            let target = base + request.uri.path + (request.uri.query.map { "?\($0)" } ?? "")
            return Response(
                status: .permanentRedirect,
                headers: [
                    .location: target, .contentLength: "0", .cacheControl: "no-store", .strictTransportSecurity: "max-age=63072000",
                    .xContentTypeOptions: "nosniff",
                ])
        }
        return Application(responder: responder, configuration: .init(address: .hostname(host, port: port), serverName: nil), logger: logger)
    }
}
