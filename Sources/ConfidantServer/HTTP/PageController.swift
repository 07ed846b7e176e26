import ConfidantCore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The web front ends' entry points. Static files (scripts, styles, translations, the console)
/// are served from the `Public` resources by `FileMiddleware`; this controller adds what needs a
/// decision per request:
///
/// - `GET /widget/frame?site=KEY`: the widget's iframe page, which only the site's allowed
///   origins may frame (`frame-ancestors`); every other page refuses to be framed at all.
/// - `GET /widget.js`: the loader, loadable from any origin (`Cross-Origin-Resource-Policy`).
/// - `GET /v1/widget/config?site=KEY`: the site's public widget settings for the frame.
/// - `GET /`: to the console (`/console/`, a static page).
struct PageController {
    let database: any Database
    let frameHTML: ByteBuffer
    let loaderScript: ByteBuffer

    init(database: any Database, publicDirectory: String) throws {
        self.database = database
        // Read once at start-up, never on an event loop.
        self.frameHTML = ByteBuffer(bytes: try Data(contentsOf: URL(fileURLWithPath: publicDirectory + "/widget/frame.html")))
        self.loaderScript = ByteBuffer(bytes: try Data(contentsOf: URL(fileURLWithPath: publicDirectory + "/widget.js")))
    }

    /// The `Public` folder shipped as a resource of this module.
    static var bundledPublicDirectory: String? {
        Bundle.module.resourceURL?.appendingPathComponent("Public").path
    }

    private struct WidgetConfig: ResponseEncodable {
        let siteId: SiteID
        let name: String
        let allowedOrigins: [String]
        let settings: SiteSettings
    }

    func addRoutes(to router: Router<AppRequestContext>) {
        router.get("/") { _, _ in Response(status: .found, headers: [.location: "/console/"]) }
        router.get("/widget.js") { _, _ in
            Response(
                status: .ok,
                headers: [
                    .contentType: "text/javascript; charset=utf-8", .cacheControl: "no-cache",
                    .init("Cross-Origin-Resource-Policy")!: "cross-origin",
                ],
                body: .init(byteBuffer: loaderScript)
            )
        }
        router.get("/widget/frame") { request, _ in
            let site = try await site(for: request)
            let ancestors = site.origins.isEmpty ? "'none'" : site.origins.joined(separator: " ")
            return Response(
                status: .ok,
                headers: [
                    .contentType: "text/html; charset=utf-8", .contentSecurityPolicy: ContentSecurityPolicy.page(frameAncestors: ancestors),
                ],
                body: .init(byteBuffer: frameHTML)
            )
        }
        router.get("/v1/widget/config") { request, _ in
            let site = try await site(for: request)
            return WidgetConfig(siteId: SiteID(trusted: site.id), name: site.name, allowedOrigins: site.origins, settings: site.siteSettings)
        }
    }

    private func site(for request: Request) async throws -> SiteRecord {
        guard let key = request.uri.queryParameters["site"].map(String.init), key.utf8.count <= 64,
            let site = try await database.read({ try await $0.site(widgetKey: key) })
        else { throw ConfidantError(.notFound, "No site has this widget key.") }
        return site
    }
}
