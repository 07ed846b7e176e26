import ConfidantCore
import Foundation
import HTTPTypes
import NIOCore
import Testing

@testable import ConfidantServer

/// Staff network allowlists, attacked from a second loopback address (127.0.0.2) and with a
/// forged `X-Forwarded-For`.
@Suite("Staff network allowlists and trusted proxies")
struct NetworkAllowlistTests {
    static let origin = ("Origin", "http://127.0.0.1")

    @Test("CIDR matching: IPv4, IPv6, IPv4-mapped IPv6; garbage refused")
    func ranges() throws {
        let v4 = try #require(NetworkRange("10.1.0.0/16"))
        #expect(v4.contains("10.1.255.3"))
        #expect(!v4.contains("10.2.0.1"))
        #expect(v4.contains("::ffff:10.1.2.3"))
        let v6 = try #require(NetworkRange("2001:db8::/32"))
        #expect(v6.contains("2001:db8:ffff::1"))
        #expect(!v6.contains("2001:db9::1"))
        #expect(!v6.contains("10.1.2.3"))
        #expect(NetworkRange("::1")?.contains("::1") == true)
        #expect(NetworkRange("127.0.0.1")?.description == "127.0.0.1/32")
        for bad in ["10.0.0.0/33", "10.0.0/8", "hello", "2001:db8::/129", "10.0.0.0/-1", "10.0.0.0/8/8", ""] {
            #expect(NetworkRange(bad) == nil, "\(bad)")
        }
    }

    @Test(
        "An allowlist shuts out other addresses from sign-in, the console, the API and the agent socket; a forged X-Forwarded-For changes nothing; the operator can reset it"
    )
    func allowlist() async throws {
        try await TestServer.run(.sqlite) { server in
            let owner = try await server.owner()
            let agent = try await server.agent("Nora", by: owner)
            let site = try await server.site(by: owner)
            let lockout = try await server.request(.put, "/v1/security/policy", json: PolicyInput(policy: .init(staffNetworks: ["10.0.0.0/8"])), as: owner)
            #expect(lockout.status == .conflict)
            #expect(server.errorCode(lockout) == "self_lockout", "a list without the admin's own address needs confirmation")
            let saved = try await server.request(.put, "/v1/security/policy", json: PolicyInput(policy: .init(staffNetworks: ["127.0.0.1/32"])), as: owner)
            #expect(saved.status == .ok)

            let login = #"{"email":"\#(agent.email)","password":"\#(agent.password)"}"#
            let outside = try await SourceBoundHTTP.send(from: "127.0.0.2", port: server.port, "POST", "/v1/auth/login", headers: [Self.origin], body: login)
            #expect(outside.status == 403)
            #expect(outside.body.contains("network_not_allowed"))
            let spoofed = try await SourceBoundHTTP.send(
                from: "127.0.0.2", port: server.port, "POST", "/v1/auth/login", headers: [Self.origin, ("X-Forwarded-For", "127.0.0.1")], body: login)
            #expect(spoofed.status == 403, "X-Forwarded-For from an untrusted peer is ignored")
            let inside = try await SourceBoundHTTP.send(from: "127.0.0.1", port: server.port, "POST", "/v1/auth/login", headers: [Self.origin], body: login)
            #expect(inside.status == 200)

            #expect(try await SourceBoundHTTP.send(from: "127.0.0.2", port: server.port, "GET", "/console/").status == 403)
            #expect(try await SourceBoundHTTP.send(from: "127.0.0.1", port: server.port, "GET", "/console/").status == 200)
            let stolenCookie = [("Cookie", agent.cookie)]
            #expect(try await SourceBoundHTTP.send(from: "127.0.0.2", port: server.port, "GET", "/v1/auth/me", headers: stolenCookie).status == 403)
            #expect(try await SourceBoundHTTP.send(from: "127.0.0.1", port: server.port, "GET", "/v1/auth/me", headers: stolenCookie).status == 200)
            let handshake = SourceBoundHTTP.webSocketHandshake + [Self.origin]
            #expect(
                try await SourceBoundHTTP.send(from: "127.0.0.2", port: server.port, "GET", "/v1/ws/agent", headers: handshake + stolenCookie).status == 400)
            #expect(
                try await SourceBoundHTTP.send(from: "127.0.0.1", port: server.port, "GET", "/v1/ws/agent", headers: handshake + stolenCookie).status == 101)
            let visitor = try await SourceBoundHTTP.send(
                from: "127.0.0.2", port: server.port, "POST", "/v1/visitor/sessions", body: #"{"siteKey":"\#(site.widgetKey)"}"#)
            #expect(visitor.status == 201, "visitors are not staff: the allowlist does not apply to them")

            // Per role: agents only from 127.0.0.2, everyone from loopback.
            let perRole = PolicyInput(policy: .init(staffNetworks: ["127.0.0.0/8"], roleNetworks: ["agent": ["127.0.0.2/32"]]))
            #expect(try await server.request(.put, "/v1/security/policy", json: perRole, as: owner).status == .ok)
            #expect(
                try await SourceBoundHTTP.send(from: "127.0.0.1", port: server.port, "POST", "/v1/auth/login", headers: [Self.origin], body: login).status
                    == 403)
            #expect(
                try await SourceBoundHTTP.send(from: "127.0.0.2", port: server.port, "POST", "/v1/auth/login", headers: [Self.origin], body: login).status
                    == 200)
            #expect(try await server.request(.get, "/v1/auth/me", as: owner).status == .ok, "owners are not limited to the agents' network")

            // Locked out on purpose, then the operator's break-glass.
            let confirmed = PolicyInput(policy: .init(staffNetworks: ["10.0.0.0/8"]), confirmSelfLockout: true)
            #expect(try await server.request(.put, "/v1/security/policy", json: confirmed, as: owner).status == .ok)
            #expect(try await server.request(.get, "/v1/auth/me", as: owner).status == .forbidden)
            let removed = try await server.runtime.resetIPAllowlist()
            #expect(removed == ["10.0.0.0/8"], "the last saved policy had one list")
            try await Task.sleep(for: .milliseconds(Int(SecurityPolicyStore.refreshInterval) + 200))
            #expect(try await server.request(.get, "/v1/auth/me", as: owner).status == .ok, "a running server applies the reset")
            let audit = try await server.auditActions(as: owner)
            #expect(audit.contains("security.ip_allowlist.reset:success"))
            #expect(audit.filter { $0 == "security.policy.updated:success" }.count == 3)
        }
    }

    @Test("Behind a trusted proxy the forwarded address decides; the proxy's own address and unlisted clients do not get in")
    func trustedProxy() async throws {
        try await TestServer.run(.sqlite, configure: { $0.trustedProxies = ["127.0.0.2/32"] }) { server in
            let owner = try await server.owner()
            let policy = PolicyInput(policy: .init(staffNetworks: ["127.0.0.1/32", "198.51.100.0/24", "2001:db8::/32"]))
            #expect(try await server.request(.put, "/v1/security/policy", json: policy, as: owner).status == .ok)
            let login = #"{"email":"owner@example.com","password":"\#(owner.password)"}"#
            func viaProxy(_ forwarded: String?) async throws -> Int {
                var headers = [Self.origin]
                if let forwarded { headers.append(("X-Forwarded-For", forwarded)) }
                return try await SourceBoundHTTP.send(from: "127.0.0.2", port: server.port, "POST", "/v1/auth/login", headers: headers, body: login).status
            }
            #expect(try await viaProxy("198.51.100.7") == 200)
            #expect(try await viaProxy("2001:db8::7") == 200)
            #expect(try await viaProxy("203.0.113.5") == 403)
            #expect(try await viaProxy(nil) == 403, "the proxy itself is not an allowed client")
            #expect(try await viaProxy("198.51.100.7, 127.0.0.2") == 200, "trusted hops are skipped from the right")
            #expect(try await viaProxy("198.51.100.7, 203.0.113.5") == 403, "the client is the rightmost untrusted hop, not the leftmost claim")
        }
    }
}
