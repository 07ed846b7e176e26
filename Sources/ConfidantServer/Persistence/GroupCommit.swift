import SQLKit
import Synchronization

/// SQLite's write transactions, one at a time, sharing commits when they come in bursts.
///
/// Each transaction body runs inside a savepoint of one open SQLite transaction, in arrival
/// order. When the body is done and others are already waiting, it hands the turn on and waits;
/// the last body of the burst (or the 256th) commits for all of them. Every caller returns only
/// after the COMMIT that holds its writes (`synchronous=FULL` makes that durable), so "an
/// acknowledged message survives a crash" still holds, while a burst of N writes pays one WAL
/// sync instead of N. A body that throws is rolled back to its savepoint alone; a failed COMMIT
/// fails every caller it held. When nobody waits, a transaction commits at once, as before.
///
/// Invariant: when the turn is free, no transaction is open.
final class GroupCommit: Sendable {
    private struct State {
        var busy = false
        var turnWaiters: [CheckedContinuation<Void, Never>] = []
        var open = false
        var batched = 0
        var commitWaiters: [CheckedContinuation<Void, any Error>] = []
    }

    private let state = Mutex(State())
    private static let maxBatch = 256

    /// Runs `body` as one all-or-nothing unit on `store`, the writer connection.
    func transaction<T>(on store: Store, _ body: (Store) async throws -> T) async throws -> T {
        await acquireTurn()
        let outcome: Result<T, any Error>
        do {
            if state.withLock({ $0.open }) == false {
                try await store.run("BEGIN IMMEDIATE")
                state.withLock { $0.open = true }
            }
            try await store.run("SAVEPOINT unit")
            do {
                let result = try await body(store)
                try await store.run("RELEASE unit")
                outcome = .success(result)
            } catch {
                try await store.run("ROLLBACK TO unit")
                try await store.run("RELEASE unit")
                outcome = .failure(error)
            }
        } catch {
            // The transaction itself failed (I/O error, full disk): nothing in it can be kept.
            try? await store.run("ROLLBACK")
            finish(with: error)
            releaseTurn()
            throw error
        }
        let handOn = state.withLock { state in
            state.batched += 1
            return !state.turnWaiters.isEmpty && state.batched < Self.maxBatch
        }
        switch outcome {
        case .success(let result):
            if handOn {
                try await withCheckedThrowingContinuation { continuation in
                    state.withLock { $0.commitWaiters.append(continuation) }
                    releaseTurn()
                }
            } else {
                defer { releaseTurn() }
                try await commitOpenTransaction(on: store)
            }
            return result
        case .failure(let error):
            if !handOn { try? await commitOpenTransaction(on: store) }
            releaseTurn()
            throw error
        }
    }

    /// Runs `body` with the writer to itself and no transaction open (for a WAL checkpoint): a
    /// transaction left open for this caller (it was waiting for the turn) is committed first.
    func exclusive(on store: Store, _ body: () async throws -> Void) async throws {
        await acquireTurn()
        defer { releaseTurn() }
        if state.withLock({ $0.open }) { try await commitOpenTransaction(on: store) }
        try await body()
    }

    /// Commits the open transaction for everyone in it; the caller holds the turn.
    private func commitOpenTransaction(on store: Store) async throws {
        do {
            try await store.run("COMMIT")
            finish(with: nil)
        } catch {
            try? await store.run("ROLLBACK")
            finish(with: error)
            throw error
        }
    }

    /// Ends the open transaction and tells everyone waiting for its commit how it went.
    private func finish(with error: (any Error)?) {
        let waiters = state.withLock { state in
            state.open = false
            state.batched = 0
            defer { state.commitWaiters = [] }
            return state.commitWaiters
        }
        for waiter in waiters {
            if let error { waiter.resume(throwing: error) } else { waiter.resume() }
        }
    }

    private func acquireTurn() async {
        let free = state.withLock { state in
            if state.busy { return false }
            state.busy = true
            return true
        }
        if free { return }
        await withCheckedContinuation { continuation in
            let now = state.withLock { state in
                if state.busy {
                    state.turnWaiters.append(continuation)
                    return false
                }
                state.busy = true
                return true
            }
            if now { continuation.resume() }
        }
    }

    private func releaseTurn() {
        let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if state.turnWaiters.isEmpty {
                state.busy = false
                return nil
            }
            return state.turnWaiters.removeFirst()
        }
        next?.resume()
    }
}
