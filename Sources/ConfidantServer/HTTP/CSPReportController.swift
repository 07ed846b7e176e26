import ConfidantCore
import Foundation
import Hummingbird
import SQLKit

/// Content-Security-Policy violation reports: browsers `POST` them to `/v1/csp-reports` (public,
/// counted against the sender's address like every anonymous request), and admins read the
/// newest at `GET /v1/csp-reports` (`manageSecurity`). A report is cut to a few fields of at most
/// 512 characters each, and only the newest ``keep`` are kept, so a flood cannot grow the database.
struct CSPReportController {
    static let path = "/v1/csp-reports"
    /// Reports kept; older ones are deleted as new ones arrive.
    static let keep = 1000
    let database: any Database

    /// The legacy `report-uri` body (`application/csp-report`).
    private struct Envelope: Decodable {
        struct Report: Decodable {
            let documentURI: String?
            let violatedDirective: String?
            let effectiveDirective: String?
            let blockedURI: String?
            let sourceFile: String?
            let lineNumber: Int?

            enum CodingKeys: String, CodingKey {
                case documentURI = "document-uri"
                case violatedDirective = "violated-directive"
                case effectiveDirective = "effective-directive"
                case blockedURI = "blocked-uri"
                case sourceFile = "source-file"
                case lineNumber = "line-number"
            }
        }
        let report: Report

        enum CodingKeys: String, CodingKey {
            case report = "csp-report"
        }
    }

    struct ReportView: ResponseEncodable, Decodable {
        let id: String
        let receivedAt: Int64
        let documentUri: String
        let directive: String
        let blockedUri: String
        let source: String
        let address: String
    }

    func addPublicRoutes(to router: Router<AppRequestContext>) {
        router.post(RouterPath(stringLiteral: Self.path)) { request, context -> Response in
            let report = try await request.decodeJSON(Envelope.self, context: context, accepting: ["application/csp-report", "application/json"]).report
            func cut(_ text: String?) -> String { String((text ?? "").unicodeScalars.filter { $0.value >= 0x20 && $0.value != 0x7f }.prefix(512)) }
            let source = report.sourceFile.map { "\($0)\(report.lineNumber.map { ":\($0)" } ?? "")" }
            let view = ReportView(
                id: UUID().uuidString.lowercased(), receivedAt: nowMillis(), documentUri: cut(report.documentURI),
                directive: cut(report.effectiveDirective ?? report.violatedDirective), blockedUri: cut(report.blockedURI), source: cut(source),
                address: context.remoteAddress)
            try await database.transaction { store in
                try await store.run(
                    """
                    INSERT INTO csp_reports (id, received_at, document_uri, directive, blocked_uri, source, address)
                    VALUES (\(bind: view.id), \(bind: view.receivedAt), \(bind: view.documentUri), \(bind: view.directive), \(bind: view.blockedUri),
                            \(bind: view.source), \(bind: view.address))
                    """)
                try await store.run(
                    """
                    DELETE FROM csp_reports WHERE received_at < (
                        SELECT received_at FROM csp_reports ORDER BY received_at DESC LIMIT 1 OFFSET \(unsafeRaw: String(Self.keep - 1)))
                    """)
            }
            // Reports also come from other sites' pages (a refused framing attempt): let their
            // browsers read the answer.
            return Response(status: .noContent, headers: [.init("Cross-Origin-Resource-Policy")!: "cross-origin"])
        }
    }

    func addRoutes(to router: RouterGroup<AppRequestContext>) {
        router.get("/csp-reports") { request, context in
            _ = try context.requireStaff(.manageSecurity)
            let limit = try request.query("limit") { Int($0).flatMap { (1...Limits.maxPageSize).contains($0) ? $0 : nil } } ?? 50
            let rows = try await database.read { store in
                try await store.all("SELECT * FROM csp_reports ORDER BY received_at DESC, id DESC LIMIT \(unsafeRaw: String(limit))", as: ReportView.self)
            }
            return ListResponse(items: rows)
        }
    }
}
