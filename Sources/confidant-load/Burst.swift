import ArgumentParser
import ConfidantCore
import Foundation
import Histogram

/// Scenario 3: many visitors ask for a conversation at the same moment (routing and the queue
/// under load). Confidant only: the XMPP servers and the relay do not route.
struct Burst: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Many visitors open conversations at once; report routing throughput, latency and the queue.")

    @OptionGroup var options: TargetOptions

    @Option(help: "Visitors that open a conversation at once.")
    var visitors = 2000

    @Option(help: "Agents online.")
    var agents = 100

    @Option(name: .customLong("chats-per-agent"), help: "Each agent's limit; visitors beyond agents × this are queued.")
    var chatsPerAgent = 5

    struct Result: Codable {
        let visitors: Int
        let agents: Int
        let capacity: Int
        let opensPerSecond: Double
        let latency: LatencySummary
        let routed: Int
        let queued: Int
        let failed: Int
        let queuePositionsDistinct: Bool
        let rssBeforeKiB: Int?
        let rssAfterKiB: Int?
    }

    func run() async throws {
        guard case let confidant as ConfidantTarget = try options.makeTarget() else {
            throw ValidationError("The burst scenario needs --target confidant (only Confidant routes conversations).")
        }
        let rssBefore = options.rssKiB
        try await confidant.prepare()
        let recorder = Recorder()
        let sink: TextSink = { frame, time in recorder.received(confidant.classify(frame), at: time) }
        let chats = chatsPerAgent
        let agentSockets = try await concurrentMap(0..<agents, width: 8) { try await confidant.connectAgent($0, chats: chats, sink: sink) }
        let sockets = try await concurrentMap(0..<visitors, width: 64) { try await confidant.openIdleVisitor($0, source: nil, sink: sink) }
        note("\(options.name) burst: \(agents) agents and \(visitors) visitor sockets ready; opening \(visitors) conversations at once")

        let start = monotonicNanos()
        let outcomes = try await concurrentMap(0..<visitors, width: visitors) { index -> (routed: Bool, position: Int?, nanos: UInt64)? in
            let opened = monotonicNanos()
            guard let conversation = try? await confidant.openConversation(on: sockets[index]) else { return nil }
            return (conversation.state == .active, conversation.queuePosition, monotonicNanos() - opened)
        }
        let seconds = Double(monotonicNanos() - start) / 1e9
        var histogram = Histogram<UInt64>(highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: .three)
        for outcome in outcomes.compactMap({ $0 }) { _ = histogram.record(outcome.nanos / 1000) }
        let succeeded = outcomes.compactMap { $0 }
        let positions = succeeded.compactMap(\.position)
        let result = Result(
            visitors: visitors, agents: agents, capacity: agents * chatsPerAgent, opensPerSecond: rounded(Double(succeeded.count) / seconds),
            latency: LatencySummary(histogram), routed: succeeded.filter(\.routed).count, queued: succeeded.filter { !$0.routed }.count,
            failed: visitors - succeeded.count, queuePositionsDistinct: Set(positions).count == positions.count, rssBeforeKiB: rssBefore,
            rssAfterKiB: options.rssKiB)
        note("  \(result.opensPerSecond) opens/s; routed \(result.routed), queued \(result.queued), failed \(result.failed)")
        note("  open latency \(result.latency.line); queue positions distinct: \(result.queuePositionsDistinct)")
        try options.report("burst", result)
        withExtendedLifetime(agentSockets) {}  // the agents stay online for the whole burst
    }
}
