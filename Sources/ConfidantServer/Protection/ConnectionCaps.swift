import ConfidantCore
import Synchronization

/// How many WebSockets may be open at once: in total, per client address, and per visitor. The
/// address and total caps are checked at the handshake (refused with HTTP 429 before a socket
/// exists); the visitor cap at `hello`, once the token names the visitor (error
/// `too_many_connections`, close 1008). Counts are per node.
final class ConnectionCaps: Sendable {
    let total: Int
    let perAddress: Int
    let perVisitor: Int

    private struct Counts {
        var total = 0
        var byAddress: [String: Int] = [:]
        var byVisitor: [VisitorID: Int] = [:]
    }

    private let counts = Mutex(Counts())
    private let metrics: ProtectionMetrics?

    init(total: Int, perAddress: Int, perVisitor: Int, metrics: ProtectionMetrics? = nil) {
        self.total = total
        self.perAddress = perAddress
        self.perVisitor = perVisitor
        self.metrics = metrics
    }

    /// Counts a new socket from `address`; false (and nothing counted) when a cap is reached.
    func admit(address: String) -> Bool {
        let (refused, open) = counts.withLock { counts -> (String?, Int) in
            if counts.total >= total { return ("total", counts.total) }
            if counts.byAddress[address, default: 0] >= perAddress { return ("address", counts.total) }
            counts.total += 1
            counts.byAddress[address, default: 0] += 1
            return (nil, counts.total)
        }
        if let refused { metrics?.connectionRefused(refused) }
        metrics?.socketsOpen(open)
        return refused == nil
    }

    /// Forgets a socket from `address` that closed.
    func release(address: String) {
        let open = counts.withLock { counts in
            counts.total -= 1
            let left = counts.byAddress[address, default: 1] - 1
            counts.byAddress[address] = left > 0 ? left : nil
            return counts.total
        }
        metrics?.socketsOpen(open)
    }

    /// Counts a socket of `visitor`; false (and nothing counted) at the cap.
    func admit(visitor: VisitorID) -> Bool {
        let admitted = counts.withLock { counts in
            guard counts.byVisitor[visitor, default: 0] < perVisitor else { return false }
            counts.byVisitor[visitor, default: 0] += 1
            return true
        }
        if !admitted { metrics?.connectionRefused("visitor") }
        return admitted
    }

    /// Forgets a socket of `visitor` that closed.
    func release(visitor: VisitorID) {
        counts.withLock { counts in
            let left = counts.byVisitor[visitor, default: 1] - 1
            counts.byVisitor[visitor] = left > 0 ? left : nil
        }
    }

}
