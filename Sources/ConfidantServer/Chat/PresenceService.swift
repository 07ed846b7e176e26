import AsyncAlgorithms
import Logging
import ServiceLifecycle

/// Keeps this node's presence rows fresh while staff sockets are open, so that routing (on any
/// node) sees who is online; a node that dies stops refreshing and its agents expire after the
/// presence TTL. On shutdown it removes this node's rows at once.
struct PresenceService: Service {
    let chat: ChatService

    func run() async throws {
        let timer = AsyncTimerSequence(interval: chat.settings.heartbeatInterval, clock: .continuous)
        for await _ in timer.cancelOnGracefulShutdown() {
            for agent in await chat.hub.connectedAgents().keys {
                do {
                    try await chat.refreshPresence(of: agent)
                } catch {
                    chat.logger.warning("Refreshing presence failed", metadata: ["error": "\(error)"])
                }
            }
        }
        let node = chat.settings.nodeID
        try? await chat.database.transaction { try await $0.deletePresence(node: node) }
    }
}
