import ArgumentParser
import ConfidantCore
import Foundation
import NIOCore
import Synchronization

/// Scenario 4 (Confidant only): one abusive visitor sends messages as fast as its connection
/// takes them, reconnecting whenever it is disconnected, while a legitimate visitor–agent pair
/// chats at a human pace. The pair's latency is measured first alone, then during the flood.
struct Flood: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "A legitimate pair's latency alone and while one abusive visitor floods (Confidant with its default limits).")

    @OptionGroup var options: TargetOptions

    @Option(help: "Messages per second of the legitimate pair, alternating visitor→agent and agent→visitor.")
    var rate = 2.0

    @Option(help: "Seconds measured alone, and again during the flood.")
    var duration = 20.0

    /// What the flood did and got.
    struct FloodSummary: Codable {
        let framesSent: Int
        let framesPerSecond: Double
        let acked: Int
        let refusedRateLimited: Int
        let refusedOther: Int
        let disconnects: Int
        let reconnectsRefused: Int
    }

    struct Result: Codable {
        let alone: WindowSummary
        let duringFlood: WindowSummary
        let flood: FloodSummary
    }

    func run() async throws {
        guard options.target == .confidant else { throw ValidationError("The flood scenario drives Confidant only.") }
        let target = try options.makeTarget()
        guard let confidant = target as? ConfidantTarget else { throw ValidationError("The flood scenario drives Confidant only.") }
        try await confidant.prepare()
        let recorder = Recorder()
        let sink: TextSink = { frame, time in recorder.received(confidant.classify(frame), at: time) }
        let (agentID, agent) = try await confidant.connectAgent(0, chats: 5, sink: sink)
        let pair = try await confidant.connectPair(0, chatsPerAgent: 5, agents: [agentID: agent], sink: sink)
        note("\(options.name) flood: the legitimate pair is ready")

        var generator = OpenLoopGenerator(pairs: [pair], body: "Where is my order? It was due yesterday.", recorder: recorder)
        let alone = try await measure(&generator, recorder: recorder)
        report("alone", alone)

        let state = FloodState()
        let flooder = Task { await flood(confidant, state: state) }
        try await Task.sleep(for: .seconds(2))
        let start = monotonicNanos()
        let during = try await measure(&generator, recorder: recorder)
        let seconds = Double(monotonicNanos() - start) / 1e9
        state.stop.store(true, ordering: .relaxed)
        // The flooder may sit on a socket the server stopped reading; it is not waited for.
        flooder.cancel()
        report("during the flood", during)
        let tally = state.counts.withLock { $0 }
        let summary = FloodSummary(
            framesSent: tally.sent, framesPerSecond: rounded(Double(tally.sent) / (seconds + 2)), acked: tally.acked, refusedRateLimited: tally.rateLimited,
            refusedOther: tally.otherErrors, disconnects: tally.disconnects, reconnectsRefused: tally.reconnectsRefused)
        note(
            "  flood: \(summary.framesSent) frames (\(Int(summary.framesPerSecond))/s), \(summary.acked) stored, \(summary.refusedRateLimited) refused by rate limits, "
                + "\(summary.refusedOther) other refusals, \(summary.disconnects) disconnects, \(summary.reconnectsRefused) reconnects refused")
        try options.report("flood", Result(alone: alone, duringFlood: during, flood: summary))
    }

    private func measure(_ generator: inout OpenLoopGenerator, recorder: Recorder) async throws -> WindowSummary {
        try await generator.run(rate: rate, seconds: duration, measured: true)
        let drainUntil = monotonicNanos() + 10_000_000_000
        while recorder.outstanding > 0 && monotonicNanos() < drainUntil { try await Task.sleep(for: .milliseconds(20)) }
        return recorder.summary()
    }

    private func report(_ label: String, _ window: WindowSummary) {
        note("  \(label): sent \(window.sent), delivered \(window.delivered), lost \(window.lost), errors \(window.errors); latency \(window.latency.line)")
    }

    /// Shared between the flooding task and the report.
    final class FloodState: Sendable {
        let counts = Mutex(FloodCounts())
        let stop = Atomic<Bool>(false)
    }

    struct FloodCounts {
        var sent = 0
        var acked = 0
        var rateLimited = 0
        var otherErrors = 0
        var disconnects = 0
        var reconnectsRefused = 0
    }

    /// Floods from fresh visitors until told to stop: every frame as soon as the connection takes it.
    private func flood(_ target: ConfidantTarget, state: FloodState) async {
        let sink: TextSink = { frame, _ in
            let text = String(buffer: frame)
            state.counts.withLock { counts in
                if text.contains(#""type":"message.ack""#) {
                    counts.acked += 1
                } else if text.contains(#""code":"rate_limited""#) {
                    counts.rateLimited += 1
                } else if text.contains(#""type":"error""#) {
                    counts.otherErrors += 1
                }
            }
        }
        var number = 10_000_000
        // Multiples of 4 pick the HTTP connection the set-up used: the other three were opened at
        // the start and the server closed them when no request came within its head timeout.
        var index = 4
        while !state.stop.load(ordering: .relaxed) {
            let socket: LoadSocket
            let conversation: ConversationSummary
            do {
                socket = try await target.openIdleVisitor(index, source: nil, sink: sink)
                conversation = try await target.openConversation(on: socket, name: "Flooder")
            } catch {
                state.counts.withLock { $0.reconnectsRefused += 1 }
                try? await Task.sleep(for: .milliseconds(200))
                continue
            }
            index += 4
            while socket.isOpen && !state.stop.load(ordering: .relaxed) {
                if socket.isWritable {
                    // Distinct bodies, so that the rate limits, not the duplicate rule, meet the flood.
                    socket.send(ConfidantTarget.messageFrame(conversation: conversation.id, number: number, body: "BUY NOW \(number) cheap followers"))
                    number += 1
                    state.counts.withLock { $0.sent += 1 }
                    await Task.yield()
                } else {
                    try? await Task.sleep(for: .milliseconds(1))
                    if Task.isCancelled { return }
                }
            }
            if !socket.isOpen {
                state.counts.withLock { $0.disconnects += 1 }
            } else {
                await socket.close()
            }
        }
    }
}
