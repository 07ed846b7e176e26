import ArgumentParser
import Foundation

/// Scenario 1: many open widgets that do not chat. Memory per connection and connects per second.
struct Idle: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Open idle visitor sockets in steps; report the server's memory per connection and connects per second.")

    @OptionGroup var options: TargetOptions

    @Option(parsing: .upToNextOption, help: "Total open sockets after each step.")
    var counts: [Int] = [1000, 5000]

    @Option(parsing: .upToNextOption, help: "Loopback source addresses to spread client sockets over (ports run short on one).")
    var sources: [String] = ["127.0.0.1"]

    @Option(help: "Connections being set up at once.")
    var width = 64

    @Option(help: "Seconds to wait after each step before reading memory.")
    var settle = 3.0

    struct Step: Codable {
        let connections: Int
        let rssKiB: Int?
        let kibPerConnection: Double?
        let slopeKiBPerConnection: Double?
        let connectsPerSecond: Double
    }

    struct Result: Codable {
        let baselineRSSKiB: Int?
        let steps: [Step]
        let estimatedRSSAt100kMiB: Double?
        let receivedErrors: Int
    }

    func run() async throws {
        let target = try options.makeTarget()
        try await target.prepare()
        let recorder = Recorder()
        let sink: TextSink = { frame, time in recorder.received(target.classify(frame), at: time) }
        let baseline = options.rssKiB
        note("\(options.name) idle: baseline RSS \(baseline.map { "\($0) KiB" } ?? "unknown")")
        var sockets: [LoadSocket] = []
        var steps: [Step] = []
        var previous: (count: Int, rss: Int?) = (0, baseline)
        for count in counts.sorted() where count > sockets.count {
            let start = monotonicNanos()
            let first = sockets.count
            let sources = self.sources
            sockets += try await concurrentMap(first..<count, width: width) { index in
                try await target.openIdleVisitor(index, source: sources[index % sources.count], sink: sink)
            }
            let seconds = Double(monotonicNanos() - start) / 1e9
            try await Task.sleep(for: .seconds(settle))
            let rss = options.rssKiB
            let perConnection = kibPer(connections: count, from: baseline, to: rss)
            let slope = kibPer(connections: count - previous.count, from: previous.rss, to: rss)
            let step = Step(
                connections: count, rssKiB: rss, kibPerConnection: perConnection.map { rounded($0, 2) }, slopeKiBPerConnection: slope.map { rounded($0, 2) },
                connectsPerSecond: rounded(Double(count - first) / seconds))
            steps.append(step)
            previous = (count, rss)
            note(
                "  \(count) open: RSS \(rss.map { "\($0) KiB" } ?? "?"), \(step.kibPerConnection.map { "\($0) KiB" } ?? "?") per connection"
                    + " (slope \(step.slopeKiBPerConnection.map { "\($0)" } ?? "?") KiB), \(step.connectsPerSecond) connects/s")
        }
        var estimate: Double?
        if let baseline, let slope = steps.last?.slopeKiBPerConnection { estimate = rounded((Double(baseline) + slope * 100_000) / 1024) }
        if let estimate { note("  estimated RSS with 100,000 open: \(estimate) MiB (baseline + last slope × 100,000)") }
        let result = Result(baselineRSSKiB: baseline, steps: steps, estimatedRSSAt100kMiB: estimate, receivedErrors: recorder.summary().errors)
        try options.report("idle", result)
        for socket in sockets { await socket.close() }
    }
}

/// KiB of resident memory per connection between two readings.
func kibPer(connections: Int, from before: Int?, to after: Int?) -> Double? {
    guard let before, let after, connections > 0 else { return nil }
    return Double(after - before) / Double(connections)
}
