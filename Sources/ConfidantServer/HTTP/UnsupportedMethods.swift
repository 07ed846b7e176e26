import ConfidantCore
import HTTPTypes
import Hummingbird

/// Answers a method that a served path does not support with 405 `method_not_allowed` and an
/// `Allow` header listing the methods it does (RFC 9110, section 15.5.6), where the router alone
/// would answer 404. Registered after every route, so it sees the whole route table and runs
/// through the same middleware (headers, rate limits) as the routes themselves.
enum UnsupportedMethods {
    /// The methods answered 405 when a path lacks them. HEAD is left to the framework.
    static let answered: [HTTPRequest.Method] = [.get, .post, .put, .patch, .delete, .options, .trace, HTTPRequest.Method("QUERY")!]

    /// Adds the 405 answers for every path `router` serves.
    static func answer(on router: Router<AppRequestContext>) {
        let routes = router.routes
        var methodsByPath: [String: (path: RouterPath, methods: [HTTPRequest.Method])] = [:]
        for route in routes {
            methodsByPath[route.path.description, default: (route.path, [])].methods.append(route.method)
        }
        for (path, served) in methodsByPath.values {
            let allow = served.map(\.rawValue).sorted().joined(separator: ", ")
            for method in answered where !served.contains(method) {
                router.on(path, method: method) { _, _ -> Response in
                    throw APIError(error: ConfidantError(.methodNotAllowed, "This path serves \(allow) only."), headers: [.allow: allow])
                }
            }
        }
    }
}
