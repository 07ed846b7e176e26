import ConfidantCore
import Foundation
import HTTPTypes
import Hummingbird
import Testing

@testable import ConfidantServer

/// docs/openapi.yaml describes exactly the routes the server serves. Schemathesis
/// (Tests/e2e/test_openapi.py) checks that what it describes is true; this checks that nothing
/// served is missing from it.
@Suite("docs/openapi.yaml covers the REST API")
struct OpenAPIDocumentTests {
    /// Routes that serve pages and scripts to browsers, not the REST API.
    static let pages: Set<String> = ["GET /", "GET /widget.js", "GET /widget/frame"]

    static let document: String = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../../docs/openapi.yaml")
        return (try? String(contentsOf: url, encoding: .utf8)) ?? ""
    }()

    /// `METHOD /path/{param}` for every operation of the document. The file keeps one layout:
    /// paths two spaces in under `paths:`, methods four spaces in under their path.
    static func documentedOperations() -> Set<String> {
        var operations: Set<String> = []
        var inPaths = false
        var path: String?
        for line in document.split(separator: "\n", omittingEmptySubsequences: false) {
            if !line.isEmpty, !line.hasPrefix(" ") { inPaths = line == "paths:" }
            guard inPaths else { continue }
            if line.hasPrefix("  /"), !line.hasPrefix("   "), line.hasSuffix(":") {
                path = String(line.dropFirst(2).dropLast())
            } else if let path, line.hasPrefix("    "), !line.hasPrefix("     "), line.hasSuffix(":") {
                let key = line.dropFirst(4).dropLast()
                if ["get", "put", "post", "patch", "delete"].contains(key) { operations.insert("\(key.uppercased()) \(path)") }
            }
        }
        return operations
    }

    @Test("Every route the server serves is described, and nothing else")
    func routesMatchTheDocument() async throws {
        let configuration = try await TestServer.configuration(for: .sqlite)
        defer { try? FileManager.default.removeItem(atPath: configuration.dataDirectory) }
        let runtime = try await ConfidantRuntime.open(configuration, logger: TestServer.logger)
        let served = try await runtime.withServices { runtime in
            let router = try buildRouter(runtime, try await ApplicationParts(runtime))
            return Set(
                router.routes.map { route in
                    // `:id` in the router is `{id}` in OpenAPI.
                    let path = route.path.description.split(separator: "/", omittingEmptySubsequences: false).map { segment in
                        segment.hasPrefix(":") ? "{\(segment.dropFirst())}" : String(segment)
                    }
                    return "\(route.method.rawValue) \(path.joined(separator: "/"))"
                })
        }
        let documented = Self.documentedOperations()
        #expect(documented.count > 40, "the document was read")
        #expect(served.subtracting(Self.pages).subtracting(documented).sorted() == [], "served but not in docs/openapi.yaml")
        #expect(documented.subtracting(served).sorted() == [], "in docs/openapi.yaml but not served")
    }

    @Test("Every error code is in the document's error schema and in docs/protocol.md")
    func errorCodesAreDocumented() throws {
        let protocolDocs = try String(
            contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../../docs/protocol.md"), encoding: .utf8)
        for code in ErrorCode.allCases {
            #expect(Self.document.range(of: "[\\[ ]\(code.rawValue)[,\\]]", options: .regularExpression) != nil, "openapi.yaml: \(code.rawValue)")
            #expect(protocolDocs.contains("| `\(code.rawValue)` |"), "protocol.md: \(code.rawValue)")
        }
    }
}
