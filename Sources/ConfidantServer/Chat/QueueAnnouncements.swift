import ConfidantCore
import Synchronization

/// Which departments' queues changed since they were last announced, and what each waiting
/// visitor was last told. One announcing task at a time drains the changes, a short delay after
/// the first, so announcements stay in order and many changes make one.
final class QueueAnnouncements: Sendable {
    /// How long changes gather before they are announced.
    static let delay: Duration = .milliseconds(100)

    private struct State {
        var changed: Set<DepartmentID?> = []
        var announcing = false
        /// Per queued conversation: what its visitor last heard.
        var told: [ConversationID: Heard] = [:]
    }

    private struct Heard: Equatable {
        var department: DepartmentID?
        var position: Int
        var queueLength: Int
        var wait: Int
    }

    private let state = Mutex(State())

    /// Records a change; true when the caller must start the announcing task.
    func markChanged(_ department: DepartmentID?) -> Bool {
        state.withLock { state in
            state.changed.insert(department)
            defer { state.announcing = true }
            return !state.announcing
        }
    }

    /// After the delay, the departments to announce; nil (ending the task) when nothing changed.
    func nextBatch() async -> Set<DepartmentID?>? {
        try? await Task.sleep(for: Self.delay)
        return state.withLock { state in
            guard !state.changed.isEmpty else {
                state.announcing = false
                return nil
            }
            defer { state.changed = [] }
            return state.changed
        }
    }

    /// The entries whose visitor has not heard their current place yet; forgets the conversations
    /// that left `department`'s queue.
    func changedPositions(_ entries: [QueueEntry], department: DepartmentID?) -> [QueueEntry] {
        state.withLock { state in
            var changed: [QueueEntry] = []
            var current: Set<ConversationID> = []
            for entry in entries {
                current.insert(entry.conversationId)
                let heard = Heard(department: department, position: entry.position, queueLength: entries.count, wait: entry.expectedWaitSeconds)
                if state.told[entry.conversationId] != heard {
                    state.told[entry.conversationId] = heard
                    changed.append(entry)
                }
            }
            state.told = state.told.filter { $0.value.department != department || current.contains($0.key) }
            return changed
        }
    }
}
