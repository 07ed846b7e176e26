import ConfidantCore
import NIOCore
import Testing

@testable import confidant_load

/// The load tool's numbers are only as good as its accounting: every frame must be classified
/// right, and every sent message counted once as delivered, lost or duplicated.
@Suite("Load tool: frame classification and message accounting")
struct AccountingTests {
    @Test("Confidant frames: a message and its ack carry the number; errors and other frames are told apart")
    func confidantFrames() {
        let target = ConfidantTarget(host: "127.0.0.1", port: 1, ownerEmail: "o@example.com", ownerPassword: "x")
        func classify(_ text: String) -> Inbound { target.classify(ByteBuffer(string: text)) }
        #expect(classify(#"{"type":"message","conversationId":"c","id":"i","seq":3,"clientId":"m42","body":"hi"}"#) == .message(42))
        #expect(classify(#"{"type":"message.ack","conversationId":"c","clientId":"m42","messageId":"i","seq":3}"#) == .ack(42))
        #expect(classify(#"{"type":"error","code":"invalid_frame","message":"no"}"#) == .error(#"{"type":"error","code":"invalid_frame","message":"no"}"#))
        #expect(classify(#"{"type":"typing","conversationId":"c","active":true}"#) == .other)
        #expect(classify(#"{"type":"message","conversationId":"c","clientId":"c-1","body":"from a person"}"#) == .other)
    }

    @Test("The hand-written message frame is one the server's codec reads")
    func messageFrameDecodes() throws {
        let conversation = ConversationID()
        let text = ConfidantTarget.messageFrame(conversation: conversation, number: 42, body: "abcdefghij")
        #expect(
            try FrameCodec.decodeClientFrame(text).frame
                == .sendMessage(conversationId: conversation, clientId: "m42", body: "abcdefghij", visibility: .public))
    }

    @Test("XMPP stanzas: the message id carries the number, with either quote; error stanzas count as errors")
    func xmppStanzas() {
        let target = XMPPTarget(host: "127.0.0.1", port: 1, path: "/ws", domain: "localhost", password: "x")
        func classify(_ text: String) -> Inbound { target.classify(ByteBuffer(string: text)) }
        #expect(
            classify("<message xmlns='jabber:client' from='a@localhost/load' to='v1@localhost/load' type='chat' id='m7'><body>x</body></message>")
                == .message(7))
        #expect(classify(#"<message type="chat" id="m8" xmlns="jabber:client"><body>x</body><stanza-id id="s1"/></message>"#) == .message(8))
        #expect(classify("<message type='error' id='m9'><error/></message>") == .error("<message type='error' id='m9'><error/></message>"))
        #expect(classify("<presence xmlns='jabber:client' from='a@localhost/load'/>") == .other)
    }

    @Test("Every message of a window is delivered, lost or duplicated exactly once; warm-up and strangers are kept apart")
    func accounting() {
        let recorder = Recorder()
        recorder.reset(first: 10, capacity: 5)
        for number in 10...12 { recorder.sent(number, .toAgent, at: 1_000_000) }
        recorder.received(.message(10), at: 3_000_000)
        recorder.received(.message(10), at: 4_000_000)
        recorder.received(.message(11), at: 2_000_000)
        recorder.received(.message(5), at: 2_000_000)  // a warm-up message arriving late
        recorder.received(.message(13), at: 2_000_000)  // never sent in this window
        recorder.received(.ack(12), at: 1_500_000)
        let summary = recorder.summary()
        #expect(summary.sent == 3)
        #expect(summary.delivered == 2)
        #expect(summary.lost == 1)
        #expect(summary.duplicates == 1)
        #expect(summary.unknown == 1)
        #expect(summary.acked == 1)
        #expect(summary.latency.count == 2)
        #expect(summary.latency.max >= 1.99 && summary.latency.max <= 2.01)  // 2 ms for message 10
        #expect(recorder.outstanding == 1)
    }
}
