import ArgumentParser
import Foundation

/// Scenario 2: visitor–agent pairs chatting at a fixed rate, optionally stepped up to the knee.
struct Steady: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Chat at a fixed rate per pair (open loop); with --step-up, raise the rate until p99 passes the limit or messages are lost.")

    @OptionGroup var options: TargetOptions

    @Option(help: "Visitor–agent pairs (conversations).")
    var pairs = 1000

    @Option(name: .customLong("chats-per-agent"), help: "Conversations each agent holds at once (agents = pairs / this).")
    var chatsPerAgent = 5

    @Option(help: "Messages per second per pair, alternating visitor→agent and agent→visitor.")
    var rate = 1.0

    @Option(help: "Seconds measured per step.")
    var duration = 20.0

    @Option(help: "Seconds of traffic before each step's measurement.")
    var warmup = 3.0

    @Option(name: .customLong("payload-bytes"), help: "Message body length in bytes.")
    var payloadBytes = 100

    @Flag(name: .customLong("step-up"), help: "Multiply the rate by --step-factor after each passing step.")
    var stepUp = false

    @Option(name: .customLong("step-factor"), help: "Rate multiplier between steps.")
    var stepFactor = 1.5

    @Option(name: .customLong("max-steps"), help: "At most this many steps.")
    var maxSteps = 16

    @Option(name: .customLong("p99-limit-ms"), help: "A step fails when p99 exceeds this.")
    var p99LimitMs = 50.0

    struct Step: Codable {
        let targetRate: Double
        let achievedSendRate: Double
        let window: WindowSummary
        let passed: Bool
        let rssKiB: Int?
    }

    struct Result: Codable {
        let pairs: Int
        let agents: Int
        let payloadBytes: Int
        let setupSeconds: Double
        let rssBeforeKiB: Int?
        let rssAfterKiB: Int?
        let steps: [Step]
        /// The highest delivered rate of a passing step.
        let kneeDeliveredPerSecond: Double?
    }

    func run() async throws {
        let target = try options.makeTarget()
        let rssBefore = options.rssKiB
        let setupStart = monotonicNanos()
        try await target.prepare()
        let recorder = Recorder()
        let sink: TextSink = { frame, time in recorder.received(target.classify(frame), at: time) }
        let agentCount = (pairs + chatsPerAgent - 1) / chatsPerAgent
        let chats = chatsPerAgent
        let agentList = try await concurrentMap(0..<agentCount, width: 8) { try await target.connectAgent($0, chats: chats, sink: sink) }
        let agents = Dictionary(uniqueKeysWithValues: agentList)
        let chatPairs = try await concurrentMap(0..<pairs, width: 16) { try await target.connectPair($0, chatsPerAgent: chats, agents: agents, sink: sink) }
        let setupSeconds = Double(monotonicNanos() - setupStart) / 1e9
        note("\(options.name) steady: \(pairs) pairs and \(agentCount) agents ready in \(rounded(setupSeconds)) s")

        let body = String(repeating: "abcdefghij", count: payloadBytes / 10 + 1).prefix(payloadBytes)
        var generator = OpenLoopGenerator(pairs: chatPairs, body: String(body), recorder: recorder)
        var steps: [Step] = []
        var perPair = rate
        for _ in 0..<(stepUp ? maxSteps : 1) {
            let total = perPair * Double(pairs)
            try await generator.run(rate: total, seconds: warmup, measured: false)
            try await generator.run(rate: total, seconds: duration, measured: true)
            let drainUntil = monotonicNanos() + 10_000_000_000
            while recorder.outstanding > 0 && monotonicNanos() < drainUntil { try await Task.sleep(for: .milliseconds(20)) }
            let window = recorder.summary()
            let achieved = Double(window.sent) / duration
            let passed = window.errors == 0 && window.lost == 0 && window.latency.p99 <= p99LimitMs && achieved >= 0.95 * total
            let step = Step(targetRate: total, achievedSendRate: rounded(achieved), window: window, passed: passed, rssKiB: options.rssKiB)
            steps.append(step)
            note(
                "  \(Int(total)) msg/s target: sent \(Int(achieved))/s, delivered \(Int(window.deliveredPerSecond))/s, lost \(window.lost), errors \(window.errors)"
                    + (window.errorSamples.first.map { " (\($0))" } ?? ""))
            note("    latency \(window.latency.line)")
            for (direction, latency) in window.latencyByDirection.sorted(by: { $0.key > $1.key }) { note("    \(direction): \(latency.line)") }
            if let ack = window.ackLatency { note("    ack (stored): \(ack.line)") }
            if !passed { break }
            perPair *= stepFactor
        }
        let knee = steps.filter(\.passed).map(\.window.deliveredPerSecond).max()
        if stepUp { note("  knee: \(knee.map { "\(Int($0)) delivered msg/s" } ?? "no passing step")") }
        let result = Result(
            pairs: pairs, agents: agentCount, payloadBytes: payloadBytes, setupSeconds: rounded(setupSeconds), rssBeforeKiB: rssBefore,
            rssAfterKiB: options.rssKiB, steps: steps, kneeDeliveredPerSecond: knee.map { rounded($0) })
        try options.report(stepUp ? "steady-step-up" : "steady", result)
    }
}

/// Sends messages on schedule, whatever the replies do (open loop), so queueing delay shows in
/// the latencies instead of slowing the sender.
struct OpenLoopGenerator {
    let pairs: [ChatPair]
    let body: String
    let recorder: Recorder
    /// Message numbers are unique across the whole run.
    private var nextNumber = 0

    init(pairs: [ChatPair], body: String, recorder: Recorder) {
        self.pairs = pairs
        self.body = body
        self.recorder = recorder
    }

    /// Sends `rate` messages per second for `seconds`; only a `measured` run is accounted for.
    mutating func run(rate: Double, seconds: Double, measured: Bool) async throws {
        let count = Int(rate * seconds)
        recorder.reset(first: measured ? nextNumber : Int.max / 2, capacity: measured ? count : 0)
        let start = monotonicNanos()
        var sent = 0
        while sent < count {
            let due = min(count, Int(Double(monotonicNanos() - start) / 1e9 * rate) + 1)
            while sent < due {
                let round = sent / pairs.count
                let pair = pairs[sent % pairs.count]
                let direction: Direction = round % 2 == 0 ? .toAgent : .toVisitor
                let number = nextNumber
                // Every body differs (its number first): Confidant refuses a visitor's repeated text.
                let unique = "\(number) \(body)"
                let text = direction == .toAgent ? pair.toAgent(number, unique) : pair.toVisitor(number, unique)
                recorder.sent(number, direction, at: monotonicNanos())
                (direction == .toAgent ? pair.visitor : pair.agent).send(text)
                nextNumber += 1
                sent += 1
            }
            try await Task.sleep(for: .microseconds(500))
        }
    }
}
