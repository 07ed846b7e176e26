import ConfidantCore
import Hummingbird

/// A visitor's rights of access and erasure (`managePersonalData`): `GET /v1/visitors/{id}/export`
/// answers everything held about them as one JSON document; `DELETE /v1/visitors/{id}` erases it
/// for good (their data key is destroyed first) and answers what was removed. Both are audited.
struct PrivacyController {
    let visitors: VisitorData

    func addRoutes(to router: RouterGroup<AppRequestContext>) {
        router.get("/visitors/:id/export") { request, context -> Response in
            let staff = try context.requireStaff(.managePersonalData)
            let id = try context.id("id", as: VisitorID.self, notFound: ConfidantError(.notFound, "No such visitor."))
            var response = try await visitors.export(id, for: .staff(staff, address: context.remoteAddress)).response(from: request, context: context)
            response.headers[.contentDisposition] = "attachment; filename=\"visitor-\(id).json\""
            return response
        }
        router.delete("/visitors/:id") { _, context in
            let staff = try context.requireStaff(.managePersonalData)
            let id = try context.id("id", as: VisitorID.self, notFound: ConfidantError(.notFound, "No such visitor."))
            return try await visitors.erase(id, for: .staff(staff, address: context.remoteAddress))
        }
    }
}
