/// An asynchronous mutual-exclusion lock per key, FIFO among waiters. Actors are re-entrant at
/// every `await`, so work that spans several awaits (a database transaction followed by the
/// fan-out of its result) needs this to stay ordered.
actor KeyedLock<Key: Hashable & Sendable> {
    /// Keys currently held, each with the continuations waiting for it.
    private var waiters: [Key: [CheckedContinuation<Void, Never>]] = [:]

    /// Runs `body` while holding the lock for `key`.
    nonisolated func withLock<T: Sendable>(_ key: Key, _ body: () async throws -> T) async throws -> T {
        await lock(key)
        do {
            let result = try await body()
            await unlock(key)
            return result
        } catch {
            await unlock(key)
            throw error
        }
    }

    private func lock(_ key: Key) async {
        if waiters[key] == nil {
            waiters[key] = []
            return
        }
        await withCheckedContinuation { waiters[key, default: []].append($0) }
    }

    private func unlock(_ key: Key) {
        guard var queue = waiters[key] else { return }
        if queue.isEmpty {
            waiters[key] = nil
        } else {
            let next = queue.removeFirst()
            waiters[key] = queue
            next.resume()
        }
    }
}
