import CNetlink
import DMMCore
import DMMDataPlane
import DMMWire
import Glibc

/// Makes the engine's forwarding rules true in a Linux kernel through
/// rtnetlink (the shapes are in `KernelRule`). It owns what carries its route
/// protocol number, and reads it back to reconcile at start: what it owns and
/// no longer wants goes, what is missing is added. Installing is idempotent,
/// and so is removing what is already gone.
public final class LinuxDataPlane {
    public struct Config: Sendable {
        /// `rtm_protocol` of every route and rule the daemon writes; 177 is
        /// not in iproute2's rt_protos (188 would print as "ospf").
        public var routeProtocol: UInt8 = 177
        /// The interface toward the core: tunnels leave and end there.
        public var uplink: String
        /// A proxy neighbour entry on the uplink for every decapsulation
        /// SID (see `ProxyNeighbour.swift`).
        public var proxyNeighbours = false
        /// The outer source of every encapsulation in the namespace (see
        /// `TunnelSource.swift`); nil leaves it to the kernel.
        public var tunnelSource: IPv6Address?
        /// Reverse tunnels use one routing table per anchor from here up.
        public var reverseTableBase: UInt32 = 1000
        public var rulePriority: UInt32 = 1000
        /// Attempts of a request that fails with ENOMEM (the seg6 code
        /// allocates per-CPU caches from a small atomic pool; DESIGN.md).
        public var attempts = 5
        /// SRv6 or eBPF tunnels; `automatic` takes what the kernel has.
        public var tunnels: TunnelDriver = .automatic
        /// How much a buffered prefix may hold (`PacketBuffer`).
        public var buffer = PacketBuffer.Limits()

        public init(uplink: String) { self.uplink = uplink }
    }

    /// What the rule table decided; the driver makes it true.
    public typealias Change = RuleTable.Change

    public struct Failure: Error, CustomStringConvertible, Hashable {
        public var change: Change
        public var errno: Int32
        public var description: String { "\(change): \(NetlinkSocket.errorText(errno))" }
    }

    let netlink: NetlinkSocket
    public let config: Config
    private(set) var interfaceIndexes: [String: Int32] = [:]
    /// The routing table that sends a reverse tunnel to each anchor endpoint,
    /// and the rules (source prefix, link) that use it.
    private var reverseTables: [IPv6Address: ReverseTable] = [:]
    /// The eBPF tunnels, when the driver is `bpf`.
    private(set) var bpf: BPFTunnels?
    /// The packet buffer, made at the first prefix to buffer.
    public private(set) var buffer: PacketBuffer?
    /// Prefixes whose held packets go once the current batch is applied.
    private var releasing: [IPv6Prefix] = []

    struct ReverseTable {
        var table: UInt32
        var mode: TunnelMode
        var users: Set<String>
    }

    deinit { buffer?.stop() }

    public init(netlink: NetlinkSocket, config: Config) throws {
        self.netlink = netlink
        self.config = config
        try refreshInterfaces()
        guard interfaceIndexes[config.uplink] != nil else {
            throw NetlinkSocket.Failure(description: "uplink interface \(config.uplink) does not exist")
        }
        if config.tunnels.resolved == .bpf {
            let uplink = try index(of: config.uplink)
            guard let source = try config.tunnelSource ?? Self.globalAddress(netlink, interface: uplink) else {
                throw NetlinkSocket.Failure(description: "eBPF tunnels need an outer source: set tunnel-source, or give \(config.uplink) a global address")
            }
            bpf = try inNetworkNamespace(netlink.namespace) { try BPFTunnels(uplink: uplink, source: source) }
            try attachDecapsulator()
        }
        try readReverseTables()
    }

    // MARK: Interfaces

    /// Interface names and indexes of the socket's namespace (RTM_GETLINK),
    /// not the calling thread's, which if_nametoindex would read.
    public func refreshInterfaces() throws {
        var w = NetlinkWriter()
        w.u8(UInt8(AF_UNSPEC))
        w.bytes += [UInt8](repeating: 0, count: 15)
        var names: [String: Int32] = [:]
        for reply in try netlink.dump(NetlinkMessage(type: UInt16(RTM_GETLINK), flags: 0, payload: w.bytes))
        where reply.type == UInt16(RTM_NEWLINK) && reply.payload.count >= 16 {
            let p = reply.payload
            let index = interfaceIndex(in: p)
            if let name = NetlinkAttributes(p, from: 16).string(c16(IFLA_IFNAME)) { names[name] = index }
        }
        interfaceIndexes = names
        if bpf != nil { try attachDecapsulator() }
    }

    /// With eBPF tunnels, every interface but loopback and the buffer's
    /// decapsulates (tunnels may come in on any link).
    func attachDecapsulator() throws {
        guard let bpf else { return }
        let interfaces = Set(interfaceIndexes.filter { $0.key != "lo" && $0.key != PacketBuffer.deviceName }.values)
        try inNetworkNamespace(netlink.namespace) { bpf.attach(to: interfaces) }
    }

    /// The first global IPv6 address on an interface (RTM_GETADDR).
    static func globalAddress(_ netlink: NetlinkSocket, interface: Int32) throws -> IPv6Address? {
        var w = NetlinkWriter()
        w.u8(UInt8(AF_INET6))
        w.bytes += [UInt8](repeating: 0, count: 7)
        for reply in try netlink.dump(NetlinkMessage(type: UInt16(RTM_GETADDR), flags: 0, payload: w.bytes))
        where reply.type == UInt16(RTM_NEWADDR) && reply.payload.count >= 8 && interfaceIndex(in: reply.payload) == interface
            && reply.payload[3] == c8(RT_SCOPE_UNIVERSE) {
            if let a = NetlinkAttributes(reply.payload, from: 8).address(c16(IFA_ADDRESS)) { return a }
        }
        return nil
    }

    var interfaceNames: [Int32: String] { Dictionary(interfaceIndexes.map { ($0.value, $0.key) }, uniquingKeysWith: { a, _ in a }) }

    public func index(of name: String) throws -> Int32 {
        if let i = interfaceIndexes[name] { return i }
        try refreshInterfaces()
        guard let i = interfaceIndexes[name] else { throw NetlinkSocket.Failure(description: "no interface \(name)") }
        return i
    }

    // MARK: Applying

    /// Applies changes in order, in batches; returns the ones the kernel
    /// refused. Requests refused with ENOMEM are retried.
    @discardableResult
    public func apply(_ changes: [Change]) throws -> [Failure] {
        var pending: [(change: Change, message: NetlinkMessage)] = []
        var failures: [Failure] = []
        for change in changes {
            do {
                let removing = if case .remove = change { true } else { false }
                if let code = try decapsulationEntry(change), !Self.succeeded(code, removing: removing) {
                    failures.append(Failure(change: change, errno: code))
                }
                pending += try messages(for: change).map { (change, $0) }
            } catch {
                failures.append(Failure(change: change, errno: ENODEV))
            }
        }
        for _ in 0..<config.attempts where !pending.isEmpty {
            let results = try netlink.transact(pending.map(\.message))
            var retry: [(change: Change, message: NetlinkMessage)] = []
            for (item, code) in zip(pending, results) where !Self.succeeded(code, item.message) {
                if code == ENOMEM { retry.append(item) } else { failures.append(Failure(change: item.change, errno: code)) }
            }
            pending = retry
        }
        failures += pending.map { Failure(change: $0.change, errno: ENOMEM) }
        // Held packets go once the route that replaced the buffer is in.
        for prefix in releasing { buffer?.release(prefix) }
        releasing = []
        return failures
    }

    /// Installing what exists and removing what is gone both count as done.
    static func succeeded(_ code: Int32, _ message: NetlinkMessage) -> Bool {
        let removing = switch Int32(message.type) {
        case Int32(RTM_DELROUTE), Int32(RTM_DELRULE), Int32(RTM_DELNEIGH): true
        default: false
        }
        return succeeded(code, removing: removing)
    }

    static func succeeded(_ code: Int32, removing: Bool) -> Bool {
        code == 0 || (removing ? (code == ESRCH || code == ENOENT) : code == EEXIST)
    }

    /// With eBPF tunnels, a decapsulation is an entry in the SID map, made
    /// here; returns its result, or nil for any other change.
    func decapsulationEntry(_ change: Change) throws -> Int32? {
        guard let bpf else { return nil }
        switch (change, change.rule) {
        case (.install, .decapsulate(let e)): return bpf.setEndpoint(e, interface: 0)
        case (.install, .crossConnect(let e, let link)): return bpf.setEndpoint(e, interface: try index(of: link.name))
        case (.remove, .decapsulate(let e)), (.remove, .crossConnect(let e, _)): return bpf.removeEndpoint(e)
        default: return nil
        }
    }

    /// The route that encapsulates toward `endpoint`, by the driver in use.
    /// A route is removed by its destination, so no program is made for
    /// that (and no seg6 attributes sent, which such a kernel refuses).
    func tunnel(_ op: KernelRule.Operation, _ endpoint: IPv6Address, _ mode: TunnelMode) throws -> KernelRule.Route {
        guard let bpf else { return .seg6(endpoint, mode) }
        guard op == .install else { return .plain }
        let e = try bpf.encapsulator(endpoint, mode)
        return .bpf(program: e.program, name: e.name, headroom: e.headroom)
    }

    /// The buffer's device, made and set up at the first use, or before
    /// (an access router under central control makes it at start: made at
    /// a move's first buffer, it took 0.5 to 0.7 ms of that agent's CPU in
    /// the middle of the move).
    @discardableResult
    public func bufferDevice() throws -> Int32 {
        if buffer == nil {
            buffer = try PacketBuffer(namespace: netlink.namespace, limits: config.buffer)
            try netlink.setUp(link: PacketBuffer.deviceName)
        }
        return try index(of: PacketBuffer.deviceName)
    }

    func messages(for change: Change) throws -> [NetlinkMessage] {
        let p = config.routeProtocol
        let uplink = try index(of: config.uplink)
        // Any change to a buffered prefix's route but the buffer's own
        // install (a route replacing it, or its removal) releases what it held.
        if let prefix = change.rule.prefix, change.rule.key == .route(prefix), change != .install(.buffer(prefix)),
            buffer?.isHolding(prefix) == true
        {
            releasing.append(prefix)
        }
        switch change {
        case .install(let rule), .remove(let rule):
            let op: KernelRule.Operation = if case .install = change { .install } else { .remove }
            switch rule {
            case .deliver(let prefix, let link):
                return [KernelRule.route(op, destination: prefix, table: KernelRule.mainTable, interface: try index(of: link.name),
                                         kind: .plain, protocolNumber: p)]
            case .encapsulate(let prefix, let endpoint, let mode):
                return [KernelRule.route(op, destination: prefix, table: KernelRule.mainTable, interface: uplink,
                                         kind: try tunnel(op, endpoint, mode), protocolNumber: p)]
            case .decapsulate(let endpoint) where bpf != nil, .crossConnect(let endpoint, _) where bpf != nil:
                return proxy(op, endpoint, uplink)
            case .decapsulate(let endpoint):
                return [KernelRule.route(op, destination: IPv6Prefix(endpoint, length: 128), table: KernelRule.mainTable,
                                         interface: uplink, kind: .endDT6, protocolNumber: p)] + proxy(op, endpoint, uplink)
            case .crossConnect(let endpoint, let link):
                return [KernelRule.route(op, destination: IPv6Prefix(endpoint, length: 128), table: KernelRule.mainTable,
                                         interface: try index(of: link.name), kind: .endDX6, protocolNumber: p)] + proxy(op, endpoint, uplink)
            case .unreachable(let prefix):
                return [KernelRule.route(op, destination: prefix, table: KernelRule.mainTable, interface: 0, kind: .unreachable,
                                         protocolNumber: p)]
            case .reverseTunnel(let prefix, let link, let endpoint, let mode):
                return try reverseTunnel(op, prefix: prefix, link: link.name, endpoint: endpoint, mode: mode, uplink: uplink)
            case .forward(let prefix, let link, let via):
                return [KernelRule.route(op, destination: prefix, table: KernelRule.mainTable, interface: try index(of: link.name),
                                         kind: .gateway(via), protocolNumber: p)]
            case .buffer(let prefix):
                let device = try bufferDevice()
                if op == .install { buffer?.hold(prefix) }
                return [KernelRule.route(op, destination: prefix, table: KernelRule.mainTable, interface: device, kind: .plain,
                                         protocolNumber: p)]
            }
        }
    }

    /// The rule, and the table's default route when the first rule for an
    /// anchor comes or the last one goes.
    func reverseTunnel(_ op: KernelRule.Operation, prefix: IPv6Prefix, link: String, endpoint: IPv6Address, mode: TunnelMode,
                       uplink: Int32) throws -> [NetlinkMessage] {
        let p = config.routeProtocol
        var entry = reverseTables[endpoint] ?? ReverseTable(table: nextReverseTable(), mode: mode, users: [])
        let user = "\(prefix) \(link)"
        let defaultRoute = { (o: KernelRule.Operation) in
            KernelRule.route(o, destination: IPv6Prefix(.unspecified, length: 0), table: entry.table, interface: uplink,
                             kind: try self.tunnel(o, endpoint, entry.mode), protocolNumber: p)
        }
        let rule = KernelRule.rule(op, source: prefix, interface: link, table: entry.table, priority: config.rulePriority,
                                   protocolNumber: p)
        if op == .install {
            let first = entry.users.isEmpty
            entry.users.insert(user)
            reverseTables[endpoint] = entry
            return first ? [try defaultRoute(.install), rule] : [rule]
        }
        guard entry.users.remove(user) != nil else { return [rule] }
        reverseTables[endpoint] = entry.users.isEmpty ? nil : entry
        return entry.users.isEmpty ? [rule, try defaultRoute(.remove)] : [rule]
    }

    func nextReverseTable() -> UInt32 {
        let used = Set(reverseTables.values.map(\.table))
        var t = config.reverseTableBase
        while used.contains(t) { t += 1 }
        return t
    }

    // MARK: Reading back and reconciling

    /// Routes and rules carrying our protocol number, read in one dump each.
    struct Owned {
        var routes: [KernelRule.DumpedRoute]
        var rules: [KernelRule.DumpedRule]
    }

    func dumpOwned() throws -> Owned {
        let request = KernelRule.routeHeader(prefixLength: 0, protocolNumber: 0).bytes
        let routes = try netlink.dump(NetlinkMessage(type: UInt16(RTM_GETROUTE), flags: 0, payload: request))
            .compactMap { KernelRule.parseRoute($0.payload, protocolNumber: config.routeProtocol) }
        var ruleRequest = NetlinkWriter()
        ruleRequest.u8(UInt8(AF_INET6))
        ruleRequest.bytes += [UInt8](repeating: 0, count: 11)
        let rules = try netlink.dump(NetlinkMessage(type: UInt16(RTM_GETRULE), flags: 0, payload: ruleRequest.bytes))
            .compactMap { KernelRule.parseRule($0.payload, protocolNumber: config.routeProtocol) }
        return Owned(routes: routes, rules: rules)
    }

    /// Every rule the kernel holds with our protocol number.
    public func installed() throws -> Set<ForwardingRule> { rules(in: try dumpOwned()) }

    func rules(in owned: Owned) -> Set<ForwardingRule> {
        let names = interfaceNames
        var out = Set(owned.routes.lazy.filter { $0.table == KernelRule.mainTable }.compactMap { self.rule(for: $0, names: names) })
        for (endpoint, t) in reverseTables(in: owned) {
            for rule in owned.rules where rule.table == t.table {
                out.insert(.reverseTunnel(from: rule.source, link: LinkID(interface: rule.interface), endpoint: endpoint, mode: t.mode))
            }
        }
        for (endpoint, interface) in bpf?.endpoints() ?? [:] {
            if interface == 0 {
                out.insert(.decapsulate(endpoint: endpoint))
            } else if let link = names[interface] {
                out.insert(.crossConnect(endpoint: endpoint, link: LinkID(interface: link)))
            }
        }
        return out
    }

    /// The rule one of our main-table routes stands for; nil for a shape
    /// this version does not write (an older one's, or a damaged one).
    func rule(for r: KernelRule.DumpedRoute, names: [Int32: String]) -> ForwardingRule? {
        let link = names[r.interface].map { LinkID(interface: $0) }
        switch r.kind {
        case .plain where link?.name == PacketBuffer.deviceName: return .buffer(r.destination)
        case .plain: return link.map { .deliver(r.destination, link: $0) }
        case .gateway(let via): return link.map { .forward(r.destination, link: $0, via: via) }
        case .seg6(let e, let mode): return .encapsulate(r.destination, endpoint: e, mode: mode)
        case .unreachable: return .unreachable(r.destination)
        case .endDT6 where r.destination.length == 128: return .decapsulate(endpoint: r.destination.address)
        case .endDX6 where r.destination.length == 128: return link.map { .crossConnect(endpoint: r.destination.address, link: $0) }
        default: return nil
        }
    }

    /// The table-per-anchor map as the kernel holds it, tables without rules included.
    func reverseTables(in owned: Owned) -> [IPv6Address: ReverseTable] {
        var tables: [IPv6Address: ReverseTable] = [:]
        for r in owned.routes where r.table != KernelRule.mainTable && r.destination.length == 0 {
            if case .seg6(let e, let mode) = r.kind {
                let users = owned.rules.filter { $0.table == r.table }.map { "\($0.source) \($0.interface)" }
                tables[e] = ReverseTable(table: r.table, mode: mode, users: Set(users))
            }
        }
        return tables
    }

    /// Rebuilds the table-per-anchor map from the kernel (after a restart).
    func readReverseTables() throws { reverseTables = reverseTables(in: try dumpOwned()) }

    /// Makes the kernel hold exactly `desired` among what we own, and drops
    /// owned routes that no rule explains (tables no rule uses, shapes this
    /// version does not write).
    public func reconcile(_ desired: Set<ForwardingRule>) throws -> (added: Int, removed: Int, failures: [Failure]) {
        try refreshInterfaces()
        let before = try dumpOwned()
        reverseTables = reverseTables(in: before)
        let current = rules(in: before)
        let stale = current.subtracting(desired), missing = desired.subtracting(current)
        var failures = try apply(stale.map { .remove($0) })
        failures += try apply(missing.map { .install($0) })
        // Tables left without rules: removed, and forgotten.
        let after = try dumpOwned()
        let used = Set(after.rules.map(\.table))
        let names = interfaceNames
        let stray = after.routes.filter { $0.table == KernelRule.mainTable ? rule(for: $0, names: names) == nil : !used.contains($0.table) }
        _ = try netlink.transact(stray.map { r in
            KernelRule.route(.remove, destination: r.destination, table: r.table, interface: r.interface, kind: .plain,
                             protocolNumber: config.routeProtocol)
        })
        reverseTables = reverseTables(in: after).filter { !$0.value.users.isEmpty }
        failures += try reconcileProxies(desired)
        return (missing.count, stale.count, failures)
    }

}
