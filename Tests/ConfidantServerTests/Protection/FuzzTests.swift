import Crypto
import Foundation
import TestSupport
import Testing

@testable import ConfidantCore
@testable import ConfidantServer

/// A randomized, mutation-based fuzzer for every parser that reads untrusted text: client and
/// server frames, visitor identity tokens, CIDR networks, origins, rates and visitor tokens.
/// Inputs start from valid examples and are mutated (bit flips, inserted bytes and hostile
/// snippets, deletions, duplications, splices, truncations, deep nesting). Each parser must
/// answer or refuse with its own error, never crash, and never take longer than a second; a frame
/// that decodes must encode and decode to the same value.
///
/// The suite runs 20,000 inputs. For a long run: `CONFIDANT_FUZZ_INPUTS=1000000 swift test
/// --filter FuzzTests` (and `CONFIDANT_FUZZ_SEED=n` to vary or replay it); docs/security.md
/// records the last long run.
@Suite("Fuzzing the parsers of untrusted input")
struct FuzzTests {
    static let snippets: [[UInt8]] = [
        "\"", "\\", "{", "}", "[", "]", ":", ",", "null", "true", "1e309", "-0", "99999999999999999999999", "\u{0000}", "\u{FFFF}", "\u{1F600}",
        "\\u0000", "\\ud800", "../", "/", "%00", "<script>", "'; DROP TABLE messages; --", "\"type\":\"hello\"", "\"ref\":", String(repeating: "a", count: 300),
        "::", "/129", "255.255.255.256", "0x7f", "1/0s", "v1.", ".", "=", "\u{202E}",
    ].map { Array($0.utf8) }

    static func mutate(_ input: [UInt8], corpus: [[UInt8]], using random: inout SeededGenerator) -> [UInt8] {
        var bytes = input
        for _ in 0..<Int.random(in: 1...4, using: &random) {
            let position = bytes.isEmpty ? 0 : Int.random(in: 0...bytes.count, using: &random)
            switch Int.random(in: 0..<8, using: &random) {
            case 0 where !bytes.isEmpty:
                let index = Int.random(in: 0..<bytes.count, using: &random)
                bytes[index] ^= UInt8(1) << UInt8.random(in: 0..<8, using: &random)
            case 1:
                bytes.insert(UInt8.random(in: 0...255, using: &random), at: position)
            case 2:
                bytes.insert(contentsOf: snippets.randomElement(using: &random)!, at: position)
            case 3 where !bytes.isEmpty:
                let start = Int.random(in: 0..<bytes.count, using: &random)
                bytes.removeSubrange(start..<min(bytes.count, start + Int.random(in: 1...16, using: &random)))
            case 4 where !bytes.isEmpty:
                let start = Int.random(in: 0..<bytes.count, using: &random)
                let piece = bytes[start..<min(bytes.count, start + Int.random(in: 1...32, using: &random))]
                bytes.insert(contentsOf: piece, at: position)
            case 5:
                let other = corpus.randomElement(using: &random)!
                let cut = other.isEmpty ? 0 : Int.random(in: 0..<other.count, using: &random)
                bytes = Array(bytes.prefix(position)) + other[cut...]
            case 6 where !bytes.isEmpty:
                bytes.removeLast(Int.random(in: 1...bytes.count, using: &random))
            default:
                let depth = Int.random(in: 1...300, using: &random)
                bytes = Array(String(repeating: "[", count: depth).utf8) + bytes + Array(String(repeating: "]", count: depth).utf8)
            }
        }
        return Array(bytes.prefix(40_000))
    }

    @Test("Mutated inputs never crash, hang or decode to something that does not round-trip")
    func fuzz() throws {
        let environment = ProcessInfo.processInfo.environment
        let inputs = environment["CONFIDANT_FUZZ_INPUTS"].flatMap(Int.init) ?? 20_000
        var random = SeededGenerator(seed: environment["CONFIDANT_FUZZ_SEED"].flatMap(UInt64.init) ?? 20_261_122)

        let masterKey = try MasterKey(bytes: Array(repeating: 7, count: 32))
        let identities = VisitorIdentityTokens(masterKey: masterKey)
        let siteID = SiteID()
        let (secret, sealed) = try identities.newSecret(for: siteID)
        let site = SiteRecord(
            id: siteID.rawValue, widgetKey: "cf_fuzz", name: "Fuzz", allowedOrigins: "[]", settings: "{}", createdAt: 0, updatedAt: 0,
            identitySecretSealed: sealed)
        let visitorTokens = VisitorTokens(masterKey: masterKey, lifetime: .seconds(3600))
        func sign(_ payload: String) -> String {
            let body = Base64URL.encode(Data(payload.utf8))
            return body + "." + Base64URL.encode(Data(HMAC<SHA256>.authenticationCode(for: Data(body.utf8), using: SymmetricKey(data: Data(secret.utf8)))))
        }

        let conversation = ConversationID()
        let frames: [ClientFrame] = [
            .hello(protocolVersion: 1, token: "v1.abc.def", resume: [ResumePoint(conversationId: conversation, afterSeq: 3)]), .ping(t: 5),
            .openConversation(
                departmentId: DepartmentID(), name: "Vera", email: "vera@example.com", pageUrl: "https://shop.example/", language: "hu", consent: true),
            .sendMessage(conversationId: conversation, clientId: "c-1", body: "Hello 👋", visibility: .internal),
            .typing(conversationId: conversation, active: true, visibility: .public), .read(conversationId: conversation, seq: 9),
            .sync(conversationId: conversation, afterSeq: 0), .setAvailability(.available), .accept(conversationId: conversation),
            .transfer(conversationId: conversation, toAgentId: AgentID(), toDepartmentId: nil), .close(conversationId: conversation),
            .rate(conversationId: conversation, score: 4, comment: "ok"),
            .leaveOfflineMessage(clientId: "o-1", departmentId: nil, name: "A", email: "a@b.co", body: "Call me"), .watch(conversationId: conversation),
        ]
        let frameCorpus = frames.map { Array(String(decoding: try! JSONEncoder().encode(ClientEnvelope(ref: "r1", $0)), as: UTF8.self).utf8) }
        let serverCorpus = [
            ServerEnvelope(ref: "r", .ok), ServerEnvelope(.error(ConfidantError.forbidden)), ServerEnvelope(.pong(t: 1)),
            ServerEnvelope(.syncDone(conversationId: conversation, lastSeq: 4)),
        ].map { Array(FrameCodec.encode($0).utf8) }
        let tokenCorpus = [
            #"{"site":"cf_fuzz","sub":"user-1","email":"a@b.co","name":"Ann","exp":\#(nowSeconds() + 600),"nonce":"abcdefghijklmnopqrstuvwx"}"#,
            #"{"site":"cf_fuzz","sub":"u","exp":\#(nowSeconds() + 60),"nonce":"0123456789abcdef"}"#,
        ].map { Array(sign($0).utf8) }
        let payloadCorpus = [#"{"site":"cf_fuzz","sub":"user-1","exp":\#(nowSeconds() + 600),"nonce":"abcdefghijklmnopqrstuvwx"}"#].map { Array($0.utf8) }
        let textCorpus = ["10.0.0.0/8", "2001:db8::/32", "::ffff:10.1.2.3", "127.0.0.1", "https://shop.example:8443", "30/1m", "5/10s"].map { Array($0.utf8) }
        let visitorCorpus = [Array(visitorTokens.issue(visitor: VisitorID(), site: siteID).token.utf8)]
        let redactionCorpus = [
            "My card is 4111 1111 1111 1111, cvv 123", "5555-5555-5555-4444 exp 12/27", "378282246310005", "SSN 123-45-6789",
            "IBAN HU42 1177 3016 1111 1018 0000 0000", "GB82WEST12345698765432 ok", "policy POL-123456 👋🏽", "call +36 30 123 4567",
        ].map { Array($0.utf8) }
        let redactor = Redactor(patterns: [RedactionPattern("POL-######")!, RedactionPattern("@@??-####")!])
        let corpus = frameCorpus + serverCorpus + tokenCorpus + payloadCorpus + textCorpus + visitorCorpus + redactionCorpus

        var slowest: (Duration, String) = (.zero, "")
        var decodedFrames = 0
        let clock = ContinuousClock()
        for index in 0..<inputs {
            let kind = index % 7
            let seed: [UInt8]
            switch kind {
            case 0: seed = frameCorpus.randomElement(using: &random)!
            case 1: seed = serverCorpus.randomElement(using: &random)!
            case 2: seed = tokenCorpus.randomElement(using: &random)!
            case 3: seed = payloadCorpus.randomElement(using: &random)!
            case 4: seed = visitorCorpus.randomElement(using: &random)!
            case 5: seed = redactionCorpus.randomElement(using: &random)!
            default: seed = textCorpus.randomElement(using: &random)!
            }
            let text = String(decoding: Self.mutate(seed, corpus: corpus, using: &random), as: UTF8.self)
            let start = clock.now
            switch kind {
            case 0:
                if let envelope = try? FrameCodec.decodeClientFrame(text) {
                    decodedFrames += 1
                    let again = try FrameCodec.decodeClientFrame(String(decoding: try JSONEncoder().encode(envelope), as: UTF8.self))
                    #expect(again == envelope, "round trip of \(text.prefix(200))")
                }
            case 1:
                _ = try? FrameCodec.decodeServerFrame(text)
            case 2:
                do {
                    _ = try identities.verify(text, site: site)
                } catch let error as ConfidantError {
                    #expect(error.code == .invalidIdentityToken || error.code == .invalidRequest, "\(error)")
                }
            case 3:
                do {
                    _ = try identities.verify(sign(text), site: site)
                } catch let error as ConfidantError {
                    #expect(error.code == .invalidIdentityToken || error.code == .invalidRequest, "\(error)")
                }
            case 4:
                _ = visitorTokens.verify(text)
            case 5:
                // Masking keeps the text's length and shape; every mark lies inside it; of every
                // card number in the input, at most 10 digits are left.
                let (redacted, marks) = redactor.redact(text)
                let output = Array(redacted)
                #expect(output.count == text.count, "\(text.prefix(200))")
                #expect(marks.allSatisfy { $0.start >= 0 && $0.length > 0 && $0.start + $0.length <= redacted.utf16.count }, "\(text.prefix(200))")
                for card in Redactor.cardNumbers(in: Array(text)) {
                    #expect(output[card.range].filter(\.isNumber).count <= 10, "\(text.prefix(200))")
                }
            default:
                if let range = NetworkRange(text) { _ = range.contains(text) }
                _ = NetworkRange.parseAddress(text)
                _ = OriginPolicy.normalize(text)
                _ = Rate(parsing: text)
            }
            let elapsed = clock.now - start
            if elapsed > slowest.0 { slowest = (elapsed, String(text.prefix(120))) }
        }
        #expect(slowest.0 < .seconds(1), "slowest input took \(slowest.0): \(slowest.1)")
        #expect(decodedFrames > 0, "the mutations reach the decoder's success path too")
        print("fuzz: \(inputs) inputs, \(decodedFrames) frames decoded and round-tripped, slowest \(slowest.0)")
    }
}
