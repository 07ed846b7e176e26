import Foundation
import Testing

@testable import ConfidantCore

@Suite("Frame codec")
struct FrameCodecTests {
    static let conversation = ConversationID()

    static let everyClientFrame: [ClientFrame] = [
        .hello(protocolVersion: 1, token: "v1.abc.def", resume: [ResumePoint(conversationId: conversation, afterSeq: 3)]),
        .ping(t: 42),
        .openConversation(
            departmentId: DepartmentID(), name: "Vera", email: "vera@example.com", pageUrl: "https://shop.example/cart", language: "hu", consent: true),
        .sendMessage(conversationId: conversation, clientId: "c-1", body: "Hello", visibility: .public),
        .typing(conversationId: conversation, active: true, visibility: .internal),
        .read(conversationId: conversation, seq: 7),
        .sync(conversationId: conversation, afterSeq: 0),
        .setAvailability(.available),
        .accept(conversationId: conversation),
        .transfer(conversationId: conversation, toAgentId: AgentID(), toDepartmentId: nil),
        .close(conversationId: conversation),
        .rate(conversationId: conversation, score: 5, comment: "Great"),
        .leaveOfflineMessage(clientId: "o-1", departmentId: nil, name: nil, email: "a@b.co", body: "Call me"),
    ]

    @Test("Every client frame survives encode → decode", arguments: everyClientFrame)
    func clientRoundTrip(_ frame: ClientFrame) throws {
        let text = FrameCodec.encode(ClientEnvelope(ref: "r-1", frame))
        #expect(text.contains(#""type":"\#(frame.type)""#))
        #expect(try FrameCodec.decodeClientFrame(text) == ClientEnvelope(ref: "r-1", frame))
    }

    static let everyServerFrame: [ServerFrame] = [
        .welcome(Welcome(protocol: 1, visitorId: VisitorID(), agent: nil, conversations: [], queue: nil, agentsOnline: true, heartbeatSeconds: 25)),
        .pong(t: 1),
        .messageAck(MessageAck(conversationId: conversation, clientId: "c", messageId: MessageID(), seq: 2, createdAt: 3, duplicate: false)),
        .message(
            MessagePayload(conversationId: conversation, id: MessageID(), seq: 2, clientId: "c", author: .system, body: "b", visibility: .public, createdAt: 3)),
        .event(
            ConversationEventPayload(conversationId: conversation, id: EventID(), seq: 4, kind: .rated, actor: .system, score: 5, comment: "ok", createdAt: 5)),
        .typing(conversationId: conversation, author: Author(kind: .visitor, id: "v"), active: false),
        .read(conversationId: conversation, reader: Author(kind: .agent, id: "a", name: "Anna"), seq: 9),
        .availability(agentId: AgentID(), name: "Anna", availability: .away, online: true),
        .queue(
            departmentId: nil,
            entries: [
                QueueEntry(
                    conversationId: conversation, siteId: SiteID(), departmentId: nil, visitorId: VisitorID(), queuedAt: 1, position: 1, expectedWaitSeconds: 60
                )
            ]),
        .queuePosition(conversationId: conversation, position: 2, queueLength: 5, expectedWaitSeconds: 120),
        .syncDone(conversationId: conversation, lastSeq: 10),
        .offlineAck(clientId: "o", id: OfflineMessageID()),
        .ok,
        .error(code: .forbidden, message: "no", conversationId: conversation),
    ]

    @Test("Every server frame survives encode → decode", arguments: everyServerFrame)
    func serverRoundTrip(_ frame: ServerFrame) throws {
        let text = FrameCodec.encode(ServerEnvelope(ref: "x", frame))
        #expect(try FrameCodec.decodeServerFrame(text) == ServerEnvelope(ref: "x", frame))
    }

    @Test("Errors name the problem and keep the ref when it is readable")
    func decodingErrors() {
        func failure(_ text: String) -> FrameCodec.Failure? {
            do {
                _ = try FrameCodec.decodeClientFrame(text)
                return nil
            } catch {
                return error
            }
        }
        #expect(failure("{")?.error.code == .invalidJSON)
        #expect(failure("\"just a string\"")?.error.code == .invalidFrame)
        #expect(failure(#"{"type":"nope","ref":"a1"}"#)?.error.code == .unknownFrameType)
        #expect(failure(#"{"type":"nope","ref":"a1"}"#)?.ref == "a1")
        let missing = failure(#"{"type":"message.send","ref":"m","conversationId":"\#(Self.conversation)","clientId":"c"}"#)
        #expect(missing?.error == ConfidantError(.invalidFrame, "Missing field 'body'."))
        #expect(missing?.ref == "m")
        #expect(failure(#"{"type":"read","conversationId":"\#(Self.conversation)","seq":"7"}"#)?.error.message == "Field 'seq' has the wrong type.")
        #expect(failure(#"{"type":"sync","conversationId":"nope","afterSeq":1}"#)?.error.message == "Field 'conversationId' is not valid.")
        #expect(failure(#"{"type":"<script>alert(1)</script>"}"#)?.error.message == "Unknown frame type 'scriptalert1script'.")
        #expect(failure(#"{"type":"conversation.transfer","conversationId":"\#(Self.conversation)"}"#)?.error.code == .invalidFrame)
        let resume = (0...Limits.maxResumeEntries).map { _ in #"{"conversationId":"\#(Self.conversation)","afterSeq":0}"# }.joined(separator: ",")
        #expect(failure(#"{"type":"hello","protocol":1,"resume":[\#(resume)]}"#)?.error.code == .invalidFrame)
    }

    @Test("Message text rules: blank, too long, control characters; emoji count as one character")
    func textRules() throws {
        #expect(throws: ConfidantError(.emptyMessage, "The body is empty.")) { try TextRules.messageBody(" \n\t") }
        #expect(throws: ConfidantError.self) { try TextRules.messageBody(String(repeating: "a", count: Limits.maxBodyCharacters + 1)) }
        #expect(try TextRules.messageBody(String(repeating: "👩‍👩‍👧", count: Limits.maxBodyCharacters)).count == Limits.maxBodyCharacters)
        #expect(throws: ConfidantError.self) { try TextRules.messageBody("null\u{0}byte") }
        #expect(throws: ConfidantError.self) { try TextRules.messageBody("c1\u{85}control") }
        #expect(try TextRules.messageBody("line one\r\nline two\tend") == "line one\r\nline two\tend")
        #expect(try TextRules.email(" Vera@Example.COM ") == "vera@example.com")
        for bad in ["vera", "vera@", "@example.com", "a b@example.com", "vera@example", "vera@.com", "a@b@c.com"] {
            #expect(throws: ConfidantError.self, "\(bad)") { try TextRules.email(bad) }
        }
        #expect(throws: ConfidantError.self) { try TextRules.clientToken("", field: "clientId") }
        #expect(throws: ConfidantError.self) { try TextRules.clientToken(String(repeating: "a", count: 65), field: "clientId") }
        #expect(try TextRules.clientToken("Abc-1_2.3:4", field: "clientId") == "Abc-1_2.3:4")
        #expect(throws: ConfidantError.self) { try TextRules.singleLine("two\nlines", field: "name") }
    }

    @Test("Identifiers accept only UUIDs and normalize case")
    func identifiers() {
        #expect(ConversationID("not-a-uuid") == nil)
        #expect(ConversationID("6F9619FF-8B86-D011-B42D-00C04FC964FF")?.rawValue == "6f9619ff-8b86-d011-b42d-00c04fc964ff")
        #expect(ConversationID() != ConversationID())
    }
}
