import Histogram
import NIOCore
import Synchronization

/// Which way a message travels.
enum Direction: Int, Sendable, CaseIterable {
    case toAgent = 0
    case toVisitor = 1

    var label: String { self == .toAgent ? "visitor→agent" : "agent→visitor" }
}

/// What a received frame is, as far as the accounting cares.
enum Inbound: Sendable, Equatable {
    /// A chat message carrying the load tool's message number.
    case message(Int)
    /// The server's acknowledgement that a message was stored.
    case ack(Int)
    /// A refusal; the text is kept for the report.
    case error(String)
    /// Anything else (typing, presence, events).
    case other
}

/// Accounts for every message of a measurement window by its number: when it was sent, which
/// way, whether and when it was delivered and acknowledged, and the latencies as HdrHistograms
/// in microseconds (3 significant digits, up to 10 minutes).
final class Recorder: Sendable {
    private struct Window {
        var first = 0
        var sentAt: [UInt64] = []
        var direction: [UInt8] = []
        var delivered: [UInt8] = []
        var acked: [UInt8] = []
        var latency = Direction.allCases.map { _ in Recorder.histogram() }
        var ackLatency = Recorder.histogram()
        var sent = 0
        var deliveredCount = 0
        var ackCount = 0
        var duplicates = 0
        var unknown = 0
        var errors = 0
        var errorSamples: [String] = []
        var firstSendAt: UInt64 = 0
        var lastDeliveryAt: UInt64 = 0
    }

    private let window = Mutex(Window())

    private static func histogram() -> Histogram<UInt64> {
        Histogram(highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: .three)
    }

    /// Starts a new window for message numbers `first ..< first + capacity`; numbers below it
    /// (warm-up, an earlier step) are ignored from now on.
    func reset(first: Int, capacity: Int) {
        window.withLock { window in
            window = Window()
            window.first = first
            window.sentAt = Array(repeating: 0, count: capacity)
            window.direction = Array(repeating: 0, count: capacity)
            window.delivered = Array(repeating: 0, count: capacity)
            window.acked = Array(repeating: 0, count: capacity)
        }
    }

    /// Records that message `number` left now.
    func sent(_ number: Int, _ direction: Direction, at time: UInt64) {
        window.withLock { window in
            let index = number - window.first
            guard index >= 0, index < window.sentAt.count else { return }
            if window.sent == 0 { window.firstSendAt = time }
            window.sentAt[index] = time
            window.direction[index] = UInt8(direction.rawValue)
            window.sent += 1
        }
    }

    /// Accounts for a received frame.
    func received(_ inbound: Inbound, at time: UInt64) {
        window.withLock { window in
            switch inbound {
            case .message(let number):
                let index = number - window.first
                guard index >= 0 else { return }
                guard index < window.sentAt.count, window.sentAt[index] != 0 else {
                    window.unknown += 1
                    return
                }
                guard window.delivered[index] == 0 else {
                    window.duplicates += 1
                    return
                }
                window.delivered[index] = 1
                window.deliveredCount += 1
                window.lastDeliveryAt = max(window.lastDeliveryAt, time)
                _ = window.latency[Int(window.direction[index])].record((time &- window.sentAt[index]) / 1000)
            case .ack(let number):
                let index = number - window.first
                guard index >= 0, index < window.sentAt.count, window.sentAt[index] != 0, window.acked[index] == 0 else { return }
                window.acked[index] = 1
                window.ackCount += 1
                _ = window.ackLatency.record((time &- window.sentAt[index]) / 1000)
            case .error(let text):
                window.errors += 1
                if window.errorSamples.count < 3 { window.errorSamples.append(String(text.prefix(300))) }
            case .other:
                break
            }
        }
    }

    /// Messages sent in the window that have not been delivered yet.
    var outstanding: Int {
        window.withLock { $0.sent - $0.deliveredCount }
    }

    /// The window's results.
    func summary() -> WindowSummary {
        window.withLock { window in
            let span = window.lastDeliveryAt > window.firstSendAt ? Double(window.lastDeliveryAt - window.firstSendAt) / 1e9 : 0
            var all = Recorder.histogram()
            for histogram in window.latency { all.add(histogram) }
            return WindowSummary(
                sent: window.sent, delivered: window.deliveredCount, lost: window.sent - window.deliveredCount, acked: window.ackCount,
                duplicates: window.duplicates, unknown: window.unknown, errors: window.errors, errorSamples: window.errorSamples,
                deliveredPerSecond: span > 0 ? Double(window.deliveredCount) / span : 0,
                latency: LatencySummary(all),
                latencyByDirection: Dictionary(uniqueKeysWithValues: Direction.allCases.map { ($0.label, LatencySummary(window.latency[$0.rawValue])) }),
                ackLatency: window.ackCount > 0 ? LatencySummary(window.ackLatency) : nil
            )
        }
    }
}

/// Percentiles of one latency histogram, in milliseconds.
struct LatencySummary: Codable, Sendable {
    let count: UInt64
    let p50: Double
    let p90: Double
    let p99: Double
    let p999: Double
    let max: Double

    init(_ histogram: Histogram<UInt64>) {
        func ms(_ micros: UInt64) -> Double { Double(micros) / 1000 }
        count = histogram.totalCount
        p50 = ms(histogram.valueAtPercentile(50))
        p90 = ms(histogram.valueAtPercentile(90))
        p99 = ms(histogram.valueAtPercentile(99))
        p999 = ms(histogram.valueAtPercentile(99.9))
        max = ms(histogram.max)
    }

    var line: String {
        "p50 \(p50) ms, p90 \(p90) ms, p99 \(p99) ms, p99.9 \(p999) ms, max \(max) ms (\(count) samples)"
    }
}

/// The accounting of one measurement window.
struct WindowSummary: Codable, Sendable {
    let sent: Int
    let delivered: Int
    let lost: Int
    let acked: Int
    let duplicates: Int
    let unknown: Int
    let errors: Int
    let errorSamples: [String]
    let deliveredPerSecond: Double
    let latency: LatencySummary
    let latencyByDirection: [String: LatencySummary]
    let ackLatency: LatencySummary?
}

extension ByteBuffer {
    /// The offset (from the reader index) just past the first occurrence of `needle`, if any.
    func offset(after needle: some Collection<UInt8>) -> Int? {
        let view = readableBytesView
        guard let first = needle.first, view.count >= needle.count else { return nil }
        var index = view.startIndex
        let last = view.endIndex - needle.count
        while index <= last {
            if view[index] == first, view[index..<index + needle.count].elementsEqual(needle) {
                return index - view.startIndex + needle.count
            }
            index += 1
        }
        return nil
    }

    /// The decimal number at `offset` (from the reader index), if digits start there.
    func number(at offset: Int) -> Int? {
        let digits = readableBytesView.dropFirst(offset).prefix { (0x30...0x39).contains($0) }
        guard !digits.isEmpty else { return nil }
        return digits.reduce(0) { $0 * 10 + Int($1 - 0x30) }
    }

    /// The number that follows the first occurrence of `marker`.
    func number(after marker: some Collection<UInt8>) -> Int? {
        offset(after: marker).flatMap { number(at: $0) }
    }

    /// Whether the readable bytes start with `prefix`.
    func starts(with prefix: some Collection<UInt8>) -> Bool {
        readableBytesView.starts(with: prefix)
    }
}
