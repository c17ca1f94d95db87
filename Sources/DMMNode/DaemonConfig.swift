import DMMCore
import DMMLinux
import DMMWire

/// `dmm mar --config FILE`: one access router. Every key, with its default:
///
///     name: mar1                          # in logs and metrics
///     address: 2001:db8:ffff::1           # signalling address (required)
///     tunnel-endpoint: fc00:1::d6         # SID where tunnels end; not a local address (required)
///     prefix-block: 2001:db8:1::/48       # per-node /64s come from here (required)
///     location-server: 2001:db8:ffff::100 # with control: central, the controller (required)
///     control: distributed                # or central: the router reports its nodes to the controller
///                                         # (RFC 8818 Figure 1) and is its data-plane agent over PFCP;
///                                         # peers, uplink-mode, decapsulation, freshness and the binding
///                                         # timers are then the controller's business
///     agent:                              # with control: central
///       t1: 0.5                           # PFCP: seconds before a request is sent again
///       n1: 3                             # times it is sent again
///       heartbeat-interval: 5
///       resynchronization: 2              # seconds after association, and after each session pushed since,
///                                         # before rules no session asks for go
///       resynchronization-limit: 60       # seconds after association before they go at the latest
///       capacity: 10000                   # sessions at which it reports a load of 100
///       reserve-sessions: 0               # sessions its tables are made for at start, as dmm agent's
///     uplink: up0                         # interface toward the core (required)
///     tunnels: automatic                  # seg6: the kernel's SRv6 tunnels; bpf: eBPF programs that put the
///                                         # same packets on the wire (BPFTunnels.swift); automatic: seg6
///                                         # where the kernel has it, else bpf
///     buffer-packets: 1000                # packets a prefix the controller has buffered may hold (control:
///     buffer-seconds: 1                   # central, anchor switching), and for how long; the rest is dropped
///     proxy-neighbours: false             # answer neighbour solicitations for the tunnel endpoint SIDs
///                                         # on the uplink: for an uplink on a segment shared with the
///                                         # other MARs, where they resolve SIDs as on-link neighbours
///     tunnel-source: 2001:db8:ffff::1     # outer source of every tunnel this router encapsulates (the
///                                         # namespace's SRv6 tunnel source); by default 'address';
///                                         # kernel: the kernel selects one for each packet
///     access-interfaces: [mn1, mn2]       # or names ending in '*' as prefixes: [mn*] (required)
///     node-identity: link-layer-address   # a node is named by its link-layer address: from its Router
///                                         # Solicitation, or asked for at link up (MARDaemon+Discovery.swift);
///                                         # or interface-name: by its access link, for links that follow their node
///     peers:                              # the other MARs (required, unless control: central)
///       - address: 2001:db8:ffff::2
///         tunnel-endpoint: fc00:2::d6
///     uplink-mode: direct                 # or reverse-tunnel
///     tunnel-mode: ipv6-in-ipv6           # or srv6
///     decapsulation: end.dt6              # or end.dx6: a SID per binding in the tunnel endpoint's /64;
///                                         # every MAR must use the same, as with tunnel-mode
///     freshness: timestamps               # or sequence-numbers
///     timestamp-window: 0.3               # seconds
///     binding-lifetime: 300               # seconds
///     idle-grace: 5                       # seconds without flows before a moved prefix is released
///     hold-down: 10                       # seconds before a released prefix is reused
///     bindack-timeout: 1                  # first PBU retransmission, doubling up to 32
///     route-protocol: 177                 # rtm_protocol of what the daemon installs
///     metrics: "[::1]:9460"               # Prometheus endpoint; omit for none
///     control-socket: /run/dmm/mar1.sock  # for dmm ctl
///     advertisement:
///       router-lifetime: 1800
///       valid-lifetime: 3600
///       preferred-lifetime: 1800
///       interval: 60
///       retrans-timer: 0                  # ms; 10 shortens a node's DAD to about 12 ms
///       link-mtu: 1500                    # the advertised MTU subtracts the tunnel overhead
///       link-local-address: fe80::1       # the same on every MAR (RFC 5213 section 6.8)
///       link-layer-address: "02:00:00:00:d3:01"
public struct MARConfig: Sendable {
    public var name: String
    public var router: AccessRouterConfig
    public var dataPlane: LinuxDataPlane.Config
    public var accessInterfaces: [String]
    public typealias NodeIdentity = DMMCore.NodeIdentity
    public var nodeIdentity: NodeIdentity {
        get { router.nodeIdentity }
        set { router.nodeIdentity = newValue }
    }
    public var metrics: String?
    public var controlSocket: String
    /// With `control: central`: its data-plane agent's PFCP timing, the
    /// resynchronization time, the capacity its load is reckoned against
    /// and the sessions its tables are made for at start.
    public var agentTiming = PFCPTiming()
    public var resynchronization: Seconds = 2
    public var resynchronizationLimit: Seconds = 60
    public var capacity = 10000
    public var reservedSessions = 0

    public init(yaml: String) throws {
        var r = try ConfigReader(yaml: yaml)
        name = try r.string("name") ?? "mar"
        let address = try r.required("address") { try $0.address($1) }
        let block = try r.required("prefix-block") { try $0.prefix($1) }
        guard block.length <= 56 else { throw ConfigReader.Invalid(description: "key 'prefix-block': '\(block)' leaves fewer than 256 /64s; use /56 or shorter") }
        let lms = try r.required("location-server") { try $0.address($1) }
        let control = try r.choice("control", ControlPlane.self) ?? .distributed
        func peerList(_ r: inout ConfigReader, _ key: String) throws -> [(IPv6Address, IPv6Address?)]? {
            try r.list(key) { p in (try p.required("address") { try $0.address($1) }, try p.address("tunnel-endpoint")) }
        }
        // Under central control the controller knows the other routers.
        let peers = control == .central ? try peerList(&r, "peers") ?? [] : try r.required("peers", peerList)
        var config = AccessRouterConfig(address: address, prefixBlock: block, peers: Set(peers.map(\.0) + [address]),
                                        locationServer: lms)
        config.tunnelEndpoint = try r.required("tunnel-endpoint") { try $0.address($1) }
        guard config.tunnelEndpoint != address else {
            throw ConfigReader.Invalid(description: "key 'tunnel-endpoint' must differ from 'address': a local address cannot end a tunnel on Linux")
        }
        for case let (peer, endpoint?) in peers { config.peerEndpoints[peer] = endpoint }
        config.uplink = try r.choice("uplink-mode", UplinkMode.self) ?? .direct
        config.tunnel = try r.choice("tunnel-mode", TunnelMode.self) ?? .ipv6InIPv6
        config.decapsulation = try r.choice("decapsulation", Decapsulation.self) ?? .endDT6
        let freshness = try r.choice("freshness", FreshnessName.self) ?? .timestamps
        let window = try r.number("timestamp-window", in: 0.001...3600) ?? 0.3
        config.freshness = freshness == .timestamps ? .timestamps(window: Seconds(window)) : .sequenceNumbers
        config.bindingLifetime = Seconds(try r.number("binding-lifetime", in: 4...262_140) ?? 300)
        config.idleGrace = Seconds(try r.number("idle-grace", in: 0...86400) ?? 5)
        config.holdDown = Seconds(try r.number("hold-down", in: 0...86400) ?? 10)
        config.initialBindAckTimeout = Seconds(try r.number("bindack-timeout", in: 0.01...32) ?? 1)
        if let a = try r.section("advertisement", { try Self.advertisement(&$0) }) { config.advertisement = a }
        config.control = control
        router = config
        if let agent = try r.section("agent", { a in
            (try PFCPTiming(&a), try DataPlaneAgent.Config.resynchronization(&a), try a.integer("capacity", in: 1...100_000_000) ?? 10000,
             try a.reservedSessions())
        }) {
            (agentTiming, (resynchronization, resynchronizationLimit), capacity, reservedSessions) = agent
        }
        dataPlane = LinuxDataPlane.Config(uplink: try r.required("uplink") { try $0.string($1) })
        dataPlane.routeProtocol = try r.integer("route-protocol", in: UInt8(5)...UInt8(254)) ?? 177
        dataPlane.tunnels = try r.choice("tunnels", TunnelDriver.self) ?? .automatic
        dataPlane.buffer = try PacketBuffer.Limits(&r)
        dataPlane.proxyNeighbours = try r.bool("proxy-neighbours") ?? false
        switch try r.string("tunnel-source") {
        case nil: dataPlane.tunnelSource = address
        case "kernel": dataPlane.tunnelSource = nil
        case let text?:
            guard let source = IPv6Address(text), source != .unspecified, !source.isMulticast else {
                throw ConfigReader.Invalid(description: "key 'tunnel-source': '\(text)' is not a unicast IPv6 address or 'kernel'")
            }
            dataPlane.tunnelSource = source
        }
        accessInterfaces = try r.required("access-interfaces") { try $0.strings($1) }
        router.nodeIdentity = try r.choice("node-identity", NodeIdentity.self) ?? .linkLayerAddress
        metrics = try r.string("metrics")
        controlSocket = try r.string("control-socket") ?? "/run/dmm/\(name).sock"
        try r.finish()
    }

    enum FreshnessName: String, CaseIterable { case timestamps, sequenceNumbers = "sequence-numbers" }

    static func advertisement(_ r: inout ConfigReader) throws -> AdvertisementConfig {
        var a = AdvertisementConfig()
        a.routerLifetime = try r.integer("router-lifetime", in: UInt16(0)...UInt16(9000)) ?? a.routerLifetime
        a.validLifetime = try r.integer("valid-lifetime", in: UInt32(1)...UInt32.max) ?? a.validLifetime
        a.preferredLifetime = try r.integer("preferred-lifetime", in: UInt32(0)...UInt32.max) ?? a.preferredLifetime
        a.interval = Seconds(try r.number("interval", in: 1...1800) ?? a.interval.seconds)
        a.retransTimer = try r.integer("retrans-timer", in: UInt32(0)...UInt32(3_600_000)) ?? a.retransTimer
        a.reachableTime = try r.integer("reachable-time", in: UInt32(0)...UInt32(3_600_000)) ?? a.reachableTime
        a.linkMTU = try r.integer("link-mtu", in: UInt32(1280)...UInt32(65535)) ?? a.linkMTU
        a.linkLocalAddress = try r.address("link-local-address") ?? a.linkLocalAddress
        guard a.linkLocalAddress.isLinkLocal else {
            throw ConfigReader.Invalid(description: "key 'advertisement.link-local-address': '\(a.linkLocalAddress)' is not link-local")
        }
        if let mac = try r.string("link-layer-address") {
            let parts = mac.split(separator: ":").compactMap { UInt8($0, radix: 16) }
            guard parts.count == 6, mac.split(separator: ":").count == 6 else {
                throw ConfigReader.Invalid(description: "key 'advertisement.link-layer-address': '\(mac)' is not a MAC address such as 02:00:00:00:d3:01")
            }
            a.linkLayerAddress = parts
        }
        guard a.preferredLifetime <= a.validLifetime else {
            throw ConfigReader.Invalid(description: "key 'advertisement.preferred-lifetime': \(a.preferredLifetime) exceeds valid-lifetime \(a.validLifetime)")
        }
        return a
    }

    /// With `control: central`, its data-plane agent: its pool registered
    /// under its name, the controller at the location server's address.
    public var agent: DataPlaneAgent.Config {
        DataPlaneAgent.Config(address: router.address, controller: router.locationServer, pools: [router.prefixBlock],
                              poolIdentity: name, tunnelMode: router.tunnel, timing: agentTiming, resynchronization: resynchronization,
                              resynchronizationLimit: resynchronizationLimit, reservedSessions: reservedSessions)
    }

    /// Whether an interface is one of the access links.
    public func isAccess(_ name: String) -> Bool {
        accessInterfaces.contains { $0.hasSuffix("*") ? name.hasPrefix($0.dropLast()) : $0 == name }
    }
}

/// `dmm lms --config FILE`: the location server.
///
///     name: lms
///     address: 2001:db8:ffff::100          # (required)
///     database: /var/lib/dmm/lms.sqlite    # SQLite file, created if missing (required)
///     mars: [2001:db8:ffff::1, ...]        # MARs it answers (required)
///     metrics: "[::1]:9461"
///     control-socket: /run/dmm/lms.sock
public struct LMSConfig: Sendable {
    public var name: String
    public var address: IPv6Address
    public var database: String
    public var mars: [IPv6Address]
    public var metrics: String?
    public var controlSocket: String

    public init(yaml: String) throws {
        var r = try ConfigReader(yaml: yaml)
        name = try r.string("name") ?? "lms"
        address = try r.required("address") { try $0.address($1) }
        database = try r.required("database") { try $0.string($1) }
        mars = try r.required("mars") { try $0.addresses($1) }
        metrics = try r.string("metrics")
        controlSocket = try r.string("control-socket") ?? "/run/dmm/\(name).sock"
        try r.finish()
    }
}

extension MARConfig {
    public init(name: String, router: AccessRouterConfig, dataPlane: LinuxDataPlane.Config, accessInterfaces: [String],
                nodeIdentity: NodeIdentity = .linkLayerAddress, metrics: String? = nil, controlSocket: String) {
        self.name = name
        self.router = router
        self.dataPlane = dataPlane
        self.accessInterfaces = accessInterfaces
        self.router.nodeIdentity = nodeIdentity
        self.metrics = metrics
        self.controlSocket = controlSocket
    }

    /// The configuration as a file `MARConfig(yaml:)` reads back unchanged.
    public var yaml: String {
        let c = router
        var w = ConfigWriter()
        w.set("name", name)
        w.set("address", c.address)
        w.set("tunnel-endpoint", c.tunnelEndpoint)
        w.set("prefix-block", c.prefixBlock)
        w.set("location-server", c.locationServer)
        w.set("uplink", dataPlane.uplink)
        w.set("tunnels", dataPlane.tunnels.rawValue)
        dataPlane.buffer.write(&w)
        w.set("proxy-neighbours", dataPlane.proxyNeighbours)
        w.set("tunnel-source", dataPlane.tunnelSource.map { "\($0)" } ?? "kernel")
        w.set("access-interfaces", list: accessInterfaces)
        w.set("node-identity", nodeIdentity.rawValue)
        w.set("peers", sections: c.peers.subtracting([c.address]).sorted { $0 < $1 }.map { peer in
            var p = ConfigWriter()
            p.set("address", peer)
            p.set("tunnel-endpoint", c.peerEndpoints[peer])
            return p
        })
        w.set("control", c.control.rawValue)
        var agent = ConfigWriter()
        agentTiming.write(&agent)
        self.agent.writeResynchronization(&agent)
        agent.set("capacity", capacity)
        agent.set("reserve-sessions", reservedSessions)
        w.set("agent", section: agent)
        w.set("uplink-mode", c.uplink.rawValue)
        w.set("tunnel-mode", c.tunnel.rawValue)
        w.set("decapsulation", c.decapsulation.rawValue)
        switch c.freshness {
        case .timestamps(let window):
            w.set("freshness", FreshnessName.timestamps.rawValue)
            w.set("timestamp-window", window)
        case .sequenceNumbers: w.set("freshness", FreshnessName.sequenceNumbers.rawValue)
        }
        w.set("binding-lifetime", c.bindingLifetime)
        w.set("idle-grace", c.idleGrace)
        w.set("hold-down", c.holdDown)
        w.set("bindack-timeout", c.initialBindAckTimeout)
        w.set("route-protocol", dataPlane.routeProtocol)
        w.set("metrics", metrics)
        w.set("control-socket", controlSocket)
        let a = c.advertisement
        var ad = ConfigWriter()
        ad.set("router-lifetime", a.routerLifetime)
        ad.set("valid-lifetime", a.validLifetime)
        ad.set("preferred-lifetime", a.preferredLifetime)
        ad.set("interval", a.interval)
        ad.set("retrans-timer", a.retransTimer)
        ad.set("reachable-time", a.reachableTime)
        ad.set("link-mtu", a.linkMTU)
        ad.set("link-local-address", a.linkLocalAddress)
        ad.set("link-layer-address", a.linkLayerAddress.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined(separator: ":"))
        w.set("advertisement", section: ad)
        return w.text
    }
}

extension LMSConfig {
    public init(name: String = "lms", address: IPv6Address, database: String, mars: [IPv6Address], metrics: String? = nil, controlSocket: String) {
        self.name = name
        self.address = address
        self.database = database
        self.mars = mars
        self.metrics = metrics
        self.controlSocket = controlSocket
    }

    /// The configuration as a file `LMSConfig(yaml:)` reads back unchanged.
    public var yaml: String {
        var w = ConfigWriter()
        w.set("name", name)
        w.set("address", address)
        w.set("database", database)
        w.set("mars", list: mars.map { "\($0)" })
        w.set("metrics", metrics)
        w.set("control-socket", controlSocket)
        return w.text
    }
}
