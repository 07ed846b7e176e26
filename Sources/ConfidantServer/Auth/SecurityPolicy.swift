import ConfidantCore
import Foundation

/// The organization's access policy, edited by admins (`PUT /v1/security/policy`): which roles
/// must use two factors, from which networks staff may reach the console, the API and the agent
/// WebSocket, and which roles see visitors' personal fields masked. Empty lists allow every
/// address.
struct SecurityPolicy: Codable, Sendable, Equatable {
    /// Roles whose members must enroll in 2FA before they reach anything else.
    var requireTwoFactor: [StaffRole] = []
    /// Networks every staff member must connect from (empty: anywhere).
    var staffNetworks: [String] = [] {
        didSet { parseNetworks() }
    }
    /// Further networks per role: a member of a listed role must also connect from one of them.
    var roleNetworks: [StaffRole: [String]] = [:] {
        didSet { parseNetworks() }
    }
    /// Roles whose members see visitors' names and e-mail addresses masked: they lose
    /// `seePersonalData`. Owners and admins, who export and erase personal data, cannot be listed.
    var maskPersonalData: [StaffRole] = []

    /// Checks every list and normalizes roles' duplicates away.
    func validated() throws(ConfidantError) -> SecurityPolicy {
        _ = try NetworkRange.parseList(staffNetworks, field: "staffNetworks")
        for (role, list) in roleNetworks { _ = try NetworkRange.parseList(list, field: "roleNetworks.\(role.rawValue)") }
        if maskPersonalData.contains(where: { AccessPolicy.allows($0, .managePersonalData) }) {
            throw ConfidantError(.invalidRequest, "maskPersonalData may list supervisor, agent and auditor only.")
        }
        var copy = self
        copy.requireTwoFactor = StaffRole.allCases.filter(requireTwoFactor.contains)
        copy.maskPersonalData = StaffRole.allCases.filter(maskPersonalData.contains)
        copy.roleNetworks = roleNetworks.filter { !$0.value.isEmpty }
        return copy
    }

    /// Whether the console and the staff sign-in may be reached from `address` at all.
    func allowsAnyStaff(from address: String) -> Bool {
        Self.matches(staffRanges, address)
    }

    /// Whether a member of `role` may act from `address`.
    func allows(_ role: StaffRole, from address: String) -> Bool {
        Self.matches(staffRanges, address) && Self.matches(roleRanges[role] ?? [], address)
    }

    /// What a member of `role` may do under this policy: the role's permissions, without
    /// `seePersonalData` if the role is masked. Every staff identity is built from this.
    func permissions(of role: StaffRole) -> Set<Permission> {
        let granted = AccessPolicy.permissions(of: role)
        return maskPersonalData.contains(role) ? granted.subtracting([.seePersonalData]) : granted
    }

    /// Whether `role` must have 2FA.
    func requiresTwoFactor(_ role: StaffRole) -> Bool { requireTwoFactor.contains(role) }

    // The lists parsed once, when set or decoded, not on every request they guard. An entry
    // that does not parse (a policy stored before validation) matches nothing.
    private var staffRanges: [NetworkRange] = []
    private var roleRanges: [StaffRole: [NetworkRange]] = [:]

    private mutating func parseNetworks() {
        staffRanges = staffNetworks.compactMap(NetworkRange.init)
        roleRanges = roleNetworks.mapValues { $0.compactMap(NetworkRange.init) }
    }

    /// Whether `address` is in one of `ranges`; an empty list allows every address.
    private static func matches(_ ranges: [NetworkRange], _ address: String) -> Bool {
        ranges.isEmpty || ranges.contains { $0.contains(address) }
    }

    enum CodingKeys: String, CodingKey {
        case requireTwoFactor, staffNetworks, roleNetworks, maskPersonalData
    }

    init(
        requireTwoFactor: [StaffRole] = [], staffNetworks: [String] = [], roleNetworks: [StaffRole: [String]] = [:], maskPersonalData: [StaffRole] = []
    ) {
        self.requireTwoFactor = requireTwoFactor
        self.staffNetworks = staffNetworks
        self.roleNetworks = roleNetworks
        self.maskPersonalData = maskPersonalData
        parseNetworks()  // property observers do not run in an initializer
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let byName = try container.decodeIfPresent([String: [String]].self, forKey: .roleNetworks) ?? [:]
        var byRole: [StaffRole: [String]] = [:]
        for (name, list) in byName {
            guard let role = StaffRole(rawValue: name) else {
                throw DecodingError.dataCorruptedError(forKey: .roleNetworks, in: container, debugDescription: "'\(name.prefix(40))' is not a role.")
            }
            byRole[role] = list
        }
        self.init(
            requireTwoFactor: try container.decodeIfPresent([StaffRole].self, forKey: .requireTwoFactor) ?? [],
            staffNetworks: try container.decodeIfPresent([String].self, forKey: .staffNetworks) ?? [], roleNetworks: byRole,
            maskPersonalData: try container.decodeIfPresent([StaffRole].self, forKey: .maskPersonalData) ?? [])
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(requireTwoFactor, forKey: .requireTwoFactor)
        try container.encode(staffNetworks, forKey: .staffNetworks)
        try container.encode(Dictionary(uniqueKeysWithValues: roleNetworks.map { ($0.key.rawValue, $0.value) }), forKey: .roleNetworks)
        try container.encode(maskPersonalData, forKey: .maskPersonalData)
    }
}

/// The current ``SecurityPolicy``, cached. A change made on this node applies at once; one made
/// elsewhere (another node, or `confidant access reset-ip-allowlist` on a running server)
/// within ``refreshInterval``.
actor SecurityPolicyStore {
    static let key = "policy"
    /// How long a cached policy is trusted before it is read again.
    static let refreshInterval: Int64 = 2_000
    private let database: any Database
    private var cached: (policy: SecurityPolicy, loadedAt: Int64)?

    init(database: any Database) {
        self.database = database
    }

    /// The policy in force.
    func current() async throws -> SecurityPolicy {
        let now = nowMillis()
        if let cached, now - cached.loadedAt < Self.refreshInterval { return cached.policy }
        let text = try await database.read { try await $0.securitySetting(Self.key) }
        let policy = text.flatMap { Store.decodeJSON(SecurityPolicy.self, from: $0) } ?? SecurityPolicy()
        cached = (policy, now)
        return policy
    }

    /// Stores a validated policy with its audit record, in one transaction.
    func save(_ policy: SecurityPolicy, audit: AuditEvent) async throws {
        try await database.transaction { store in
            try await store.setSecuritySetting(Self.key, Store.json(policy))
            try await store.appendAudit(audit)
        }
        cached = (policy, nowMillis())
    }
}
