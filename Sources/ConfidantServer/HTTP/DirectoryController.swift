import ConfidantCore
import Hummingbird

/// Sites and departments: `GET|POST /v1/sites`, `GET|PATCH|DELETE /v1/sites/{id}`,
/// `POST /v1/sites/{id}/identity-secret` (rotate the secret that signs verified visitors; the new
/// one is shown once, the old one keeps working for `graceHours`), and the same under
/// `/v1/departments`. Reading needs `readDirectory`; changing needs `manageSites` /
/// `manageDepartments`. Changes are audited.
struct DirectoryController {
    let database: any Database
    let identities: VisitorIdentityTokens

    private struct SiteInput: Decodable {
        let name: String?
        let allowedOrigins: [String]?
        /// The whole settings object; fields left out keep their defaults.
        let settings: SiteSettings?
        /// Only visitors with a verified identity may chat.
        let requireVerifiedIdentity: Bool?
    }

    private struct RotationInput: Decodable {
        /// How long the previous secret stays valid (0–168 hours; default 24).
        let graceHours: Int?
    }

    private struct RotatedSecret: ResponseEncodable {
        /// The new secret, shown only now: store it in the site's backend configuration.
        let secret: String
        let site: SiteView
    }

    private struct DepartmentInput: Decodable {
        let name: String
    }

    func addRoutes(to router: RouterGroup<AppRequestContext>) {
        router.get("/sites") { _, context in
            _ = try context.requireStaff(.readDirectory)
            return ListResponse(items: try await database.read { try await $0.sites() }.map(SiteView.init))
        }
        router.post("/sites") { request, context -> EditedResponse<SiteView> in
            let staff = try context.requireStaff(.manageSites)
            let input = try await request.decodeJSON(SiteInput.self, context: context)
            guard let rawName = input.name else { throw ConfidantError(.invalidRequest, "Missing field 'name'.") }
            let name = try TextRules.singleLine(rawName, field: "name")
            let origins = try Self.origins(input.allowedOrigins ?? [])
            let settings = try (input.settings ?? SiteSettings()).validated()
            let id = SiteID()
            let site = try await database.transaction { store in
                try await store.insertSite(id: id, widgetKey: "cf_" + Base64URL.random(bytes: 18), name: name, allowedOrigins: origins, settings: settings)
                try await store.appendAudit(AuditEvent("site.created", by: staff, address: context.remoteAddress, target: ("site", id.rawValue)))
                return try await store.site(id: id)!
            }
            return EditedResponse(status: .created, response: SiteView(site))
        }
        router.get("/sites/:id") { _, context in
            _ = try context.requireStaff(.readDirectory)
            let id = try context.id("id", as: SiteID.self)
            guard let site = try await database.read({ try await $0.site(id: id) }) else { throw ConfidantError(.notFound, "No such site.") }
            return SiteView(site)
        }
        router.patch("/sites/:id") { request, context in
            let staff = try context.requireStaff(.manageSites)
            let id = try context.id("id", as: SiteID.self)
            let input = try await request.decodeJSON(SiteInput.self, context: context)
            let name = try input.name.map { (n) throws(ConfidantError) in try TextRules.singleLine(n, field: "name") }
            let origins = try input.allowedOrigins.map { (o) throws(ConfidantError) in try Self.origins(o) }
            let settings = try input.settings.map { (s) throws(ConfidantError) in try s.validated() }
            return try await database.transaction { store in
                guard let site = try await store.site(id: id) else { throw ConfidantError(.notFound, "No such site.") }
                _ = try await store.updateSite(
                    id: id, name: name ?? site.name, allowedOrigins: origins ?? site.origins, settings: settings ?? site.siteSettings)
                if let required = input.requireVerifiedIdentity {
                    guard !required || site.identitySecretSealed != nil else {
                        throw ConfidantError(.invalidState, "Create the site's identity secret before requiring verified visitors.")
                    }
                    try await store.setRequireVerified(site: id, required)
                }
                try await store.appendAudit(
                    AuditEvent(
                        "site.updated", by: staff, address: context.remoteAddress, target: ("site", id.rawValue),
                        details: input.requireVerifiedIdentity.map { ["requireVerifiedIdentity": String($0)] } ?? [:]))
                return SiteView(try await store.site(id: id)!)
            }
        }
        router.post("/sites/:id/identity-secret") { request, context -> RotatedSecret in
            let staff = try context.requireStaff(.manageSites)
            let id = try context.id("id", as: SiteID.self)
            let grace = try await request.decodeJSON(RotationInput.self, context: context).graceHours ?? 24
            guard (0...168).contains(grace) else { throw ConfidantError(.invalidRequest, "graceHours must be 0 to 168.") }
            let (secret, sealed) = try identities.newSecret(for: id)
            let site = try await database.transaction { store in
                guard let site = try await store.site(id: id) else { throw ConfidantError(.notFound, "No such site.") }
                let keepPrevious = grace > 0 && site.identitySecretSealed != nil
                try await store.setIdentitySecrets(
                    site: id, current: sealed, previous: keepPrevious ? site.identitySecretSealed : nil,
                    previousExpiresAt: keepPrevious ? nowMillis() + Int64(grace) * 3_600_000 : nil)
                try await store.appendAudit(
                    AuditEvent(
                        "site.identity_secret.rotated", by: staff, address: context.remoteAddress, target: ("site", id.rawValue),
                        details: ["graceHours": String(grace)]))
                return try await store.site(id: id)!
            }
            return RotatedSecret(secret: secret, site: SiteView(site))
        }
        router.delete("/sites/:id") { _, context in
            let staff = try context.requireStaff(.manageSites)
            let id = try context.id("id", as: SiteID.self)
            try await database.transaction { store in
                guard try await store.deleteSite(id: id) else { throw ConfidantError(.notFound, "No such site.") }
                try await store.appendAudit(AuditEvent("site.deleted", by: staff, address: context.remoteAddress, target: ("site", id.rawValue)))
            }
            return Response(status: .noContent)
        }

        router.get("/departments") { _, context in
            _ = try context.requireStaff(.readDirectory)
            return ListResponse(items: try await database.read { try await $0.departments() }.map(DepartmentView.init))
        }
        router.post("/departments") { request, context -> EditedResponse<DepartmentView> in
            let staff = try context.requireStaff(.manageDepartments)
            let name = try TextRules.singleLine(try await request.decodeJSON(DepartmentInput.self, context: context).name, field: "name")
            let id = DepartmentID()
            let department = try await database.transaction { store in
                guard try await !store.departments().contains(where: { $0.name == name }) else {
                    throw ConfidantError(.conflict, "A department with this name exists.")
                }
                try await store.insertDepartment(id: id, name: name)
                try await store.appendAudit(
                    AuditEvent("department.created", by: staff, address: context.remoteAddress, target: ("department", id.rawValue), details: ["name": name]))
                return try await store.department(id: id)!
            }
            return EditedResponse(status: .created, response: DepartmentView(department))
        }
        router.patch("/departments/:id") { request, context in
            let staff = try context.requireStaff(.manageDepartments)
            let id = try context.id("id", as: DepartmentID.self)
            let name = try TextRules.singleLine(try await request.decodeJSON(DepartmentInput.self, context: context).name, field: "name")
            return try await database.transaction { store in
                guard try await !store.departments().contains(where: { $0.name == name && $0.id != id.rawValue }) else {
                    throw ConfidantError(.conflict, "A department with this name exists.")
                }
                guard try await store.renameDepartment(id: id, name: name) else { throw ConfidantError(.notFound, "No such department.") }
                try await store.appendAudit(
                    AuditEvent("department.renamed", by: staff, address: context.remoteAddress, target: ("department", id.rawValue), details: ["name": name]))
                return DepartmentView(try await store.department(id: id)!)
            }
        }
        router.delete("/departments/:id") { _, context in
            let staff = try context.requireStaff(.manageDepartments)
            let id = try context.id("id", as: DepartmentID.self)
            try await database.transaction { store in
                guard try await store.deleteDepartment(id: id) else { throw ConfidantError(.notFound, "No such department.") }
                try await store.appendAudit(AuditEvent("department.deleted", by: staff, address: context.remoteAddress, target: ("department", id.rawValue)))
            }
            return Response(status: .noContent)
        }
    }

    /// Validates and normalizes allowed origins (`https://shop.example`), at most 50.
    static func origins(_ list: [String]) throws(ConfidantError) -> [String] {
        guard list.count <= 50 else { throw ConfidantError(.invalidRequest, "At most 50 allowed origins.") }
        var result: [String] = []
        for origin in list {
            guard let normalized = OriginPolicy.normalize(origin) else {
                throw ConfidantError(.invalidRequest, "'\(origin.prefix(100))' is not an origin like https://shop.example.")
            }
            if !result.contains(normalized) { result.append(normalized) }
        }
        return result
    }
}
