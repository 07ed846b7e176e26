import ConfidantCore
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// An IPv4 or IPv6 network in CIDR notation (`203.0.113.0/24`, `2001:db8::/32`); a bare address
/// is a network of one. IPv4-mapped IPv6 addresses (`::ffff:203.0.113.7`) match IPv4 networks.
struct NetworkRange: Sendable, Hashable, CustomStringConvertible {
    /// The network address's bytes (4 or 16), with host bits cleared.
    let bytes: [UInt8]
    let prefixLength: Int

    /// Parses CIDR text; nil when it is not a valid address or prefix length.
    init?(_ text: String) {
        let parts = text.trimmingWhitespace().split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let address = parts.first.flatMap({ Self.parseAddress(String($0)) }) else { return nil }
        let maximum = address.count * 8
        let length: Int
        if parts.count == 2 {
            guard let parsed = Int(parts[1]), (0...maximum).contains(parsed), parts[1].allSatisfy(\.isNumber) else { return nil }
            length = parsed
        } else {
            length = maximum
        }
        self.prefixLength = length
        self.bytes = Self.masked(address, length)
    }

    /// Whether `address` (textual) lies in this network.
    func contains(_ address: String) -> Bool {
        guard var candidate = Self.parseAddress(address) else { return false }
        if bytes.count == 4, candidate.count == 16, candidate[0..<10].allSatisfy({ $0 == 0 }), candidate[10] == 0xff, candidate[11] == 0xff {
            candidate = Array(candidate[12...])
        }
        guard candidate.count == bytes.count else { return false }
        return Self.masked(candidate, prefixLength) == bytes
    }

    var description: String {
        let family = bytes.count == 4 ? AF_INET : AF_INET6
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        let text = bytes.withUnsafeBytes { raw in inet_ntop(family, raw.baseAddress, &buffer, socklen_t(buffer.count)) }.map { _ in
            String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        return "\(text ?? "?")/\(prefixLength)"
    }

    /// The 4 or 16 bytes of a textual IPv4 or IPv6 address (no zone ids, no brackets).
    static func parseAddress(_ text: String) -> [UInt8]? {
        var v4 = in_addr()
        if text.withCString({ inet_pton(AF_INET, $0, &v4) }) == 1 {
            return withUnsafeBytes(of: &v4) { Array($0) }
        }
        var v6 = in6_addr()
        if text.withCString({ inet_pton(AF_INET6, $0, &v6) }) == 1 {
            return withUnsafeBytes(of: &v6) { Array($0) }
        }
        return nil
    }

    private static func masked(_ address: [UInt8], _ length: Int) -> [UInt8] {
        address.enumerated().map { index, byte in
            let bits = max(0, min(8, length - index * 8))
            return bits == 8 ? byte : byte & UInt8(truncatingIfNeeded: 0xFF << (8 - bits))
        }
    }

    /// Parses a list, naming the first invalid entry in the error.
    static func parseList(_ list: [String], field: String) throws(ConfidantError) -> [NetworkRange] {
        guard list.count <= 200 else { throw ConfidantError(.invalidRequest, "At most 200 networks in \(field).") }
        var ranges: [NetworkRange] = []
        for entry in list {
            guard let range = NetworkRange(entry) else {
                throw ConfidantError(.invalidRequest, "'\(entry.prefix(60))' in \(field) is not an IPv4 or IPv6 address or CIDR network.")
            }
            ranges.append(range)
        }
        return ranges
    }
}

/// Who is on the other end of a request. The peer's address, unless the peer is a trusted
/// reverse proxy: then `X-Forwarded-For` is read from the right, skipping trusted proxies, and
/// the first address that is not one is the client. From an untrusted peer the header is
/// ignored, so nobody can claim an allowed address by sending it.
struct ClientAddressResolver: Sendable {
    let trustedProxies: [NetworkRange]

    func resolve(peer: String, forwardedFor: [String]) -> String {
        guard isTrusted(peer) else { return peer }
        let hops = forwardedFor.flatMap { $0.split(separator: ",") }.map { String($0).trimmingWhitespace() }
        for hop in hops.reversed() {
            guard NetworkRange.parseAddress(hop) != nil else { return peer }  // garbage: believe nothing more
            if !isTrusted(hop) { return hop }
        }
        return hops.first ?? peer
    }

    private func isTrusted(_ address: String) -> Bool {
        trustedProxies.contains { $0.contains(address) }
    }
}
