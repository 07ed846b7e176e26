import Hummingbird

/// `GET /healthz` (the process answers) and `GET /readyz` (the database answers and every
/// migration is applied). Both are public and reveal nothing else.
struct HealthController {
    let database: any Database
    let keyStore: KeyStore

    func addRoutes(to router: Router<AppRequestContext>) {
        router.get("/healthz") { _, _ in HealthResponse(status: "ok") }
        router.get("/readyz") { _, _ -> EditedResponse<HealthResponse> in
            do {
                let pending = try await Schema.migrator.pending(on: database).count + keyStore.migrator.pending(on: keyStore.database).count
                let ready = pending == 0
                return EditedResponse(
                    status: ready ? .ok : .serviceUnavailable,
                    response: HealthResponse(status: ready ? "ready" : "migrations_pending", database: "ok", pendingMigrations: pending)
                )
            } catch {
                return EditedResponse(status: .serviceUnavailable, response: HealthResponse(status: "not_ready", database: "unreachable"))
            }
        }
    }
}
