import Benchmark
import ConfidantCore
import ConfidantServer
import Crypto
import Foundation

/// The per-message steps of Confidant's hot path, measured one at a time: decoding a client
/// frame, sealing and opening a body, encoding the fan-out frame, and the routing decision.
/// Redaction and the audit chain join here when they exist (issue #7).
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.throughput, .wallClock, .mallocCountTotal, .peakMemoryResident],
        warmupIterations: 1000,
        scalingFactor: .kilo,
        maxDuration: .seconds(3),
        maxIterations: 1_000_000
    )

    let conversation = ConversationID()
    let body = String(repeating: "Where is my order? ", count: 5)  // 95 bytes, a typical chat line
    let sendFrame = #"{"type":"message.send","ref":"m1","conversationId":"\#(conversation)","clientId":"c-1","body":"\#(body)"}"#

    Benchmark("Decode and validate a message.send frame") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try FrameCodec.decodeClientFrame(sendFrame))
        }
    }

    let payload = MessagePayload(
        conversationId: conversation, id: MessageID(), seq: 42, clientId: "c-1", author: Author(kind: .visitor, id: VisitorID().rawValue), body: body,
        visibility: .public, createdAt: 1_795_309_401_076)
    Benchmark("Encode the message frame for fan-out") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(FrameCodec.encode(ServerEnvelope(.message(payload))))
        }
    }

    let key = SymmetricKey(size: .bits256)
    let messageID = MessageID()
    Benchmark("Seal a message body (AES-256-GCM)") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try FieldCipher.seal(body, with: key, as: .messageBody(messageID)))
        }
    }

    let sealed = try! FieldCipher.seal(body, with: key, as: .messageBody(messageID))
    Benchmark("Open a message body") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try FieldCipher.open(sealed, with: key, as: .messageBody(messageID)))
        }
    }

    let candidates = (0..<200).map { index in
        RoutingCandidate(agentID: AgentID(), activeConversations: index % 5, maxConversations: 5, lastAssignedAt: Int64(index * 7919 % 1000))
    }
    Benchmark("Routing decision among 200 agents") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(RoutingPolicy.choose(from: candidates))
        }
    }
}
