import DMMCore
import DMMLinux
import DMMWire

/// `dmm agent --config FILE`: a data-plane agent programmed by the
/// controller over PFCP (docs/architecture.md, central control). Every key,
/// with its default:
///
///     name: ar1                           # in logs and metrics; the pool identity it registers
///     address: 2001:db8:ffff::1           # its Node ID and PFCP address (required)
///     controller: 2001:db8:ffff::100      # (required)
///     pools: [2001:db8:1::/48]            # the prefix blocks it anchors (required; [] for a router; at most ~2,800, one registration)
///     tunnel-endpoint: fc00:1::d6         # where tunnels to it end; not a local address (required with pools)
///     uplink: up0                         # interface toward the core (required)
///     tunnels: automatic                  # seg6, bpf, or automatic: as for dmm mar
///     buffer-packets: 1000                # packets a buffered prefix may hold (anchor switching, FM-buffer),
///     buffer-seconds: 1                   # and for how long; the rest is dropped and counted
///     tunnel-mode: ipv6-in-ipv6           # or srv6; as the controller's
///     t1: 0.5                             # seconds before a request is sent again
///     n1: 3                               # times it is sent again
///     heartbeat-interval: 5               # seconds
///     resynchronization: 2                # with a controller that does not say when it pushed every session
///                                         # again (not this project's): seconds after association, and after
///                                         # each session pushed since, before rules no session asks for go
///     resynchronization-limit: 60         # seconds after association before they go at the latest; with this
///                                         # project's controller, seconds with no session pushed before they go
///     capacity: 10000                     # sessions at which it reports a load of 100
///     reserve-sessions: 0                 # sessions its tables are made for at start (up to 10,000,000),
///                                         # so they do not pause to grow as sessions come (docs/running.md)
///     route-protocol: 177                 # rtm_protocol of what the daemon installs
///     metrics: "[::1]:9470"               # Prometheus endpoint; omit for none
///     control-socket: /run/dmm/ar1.sock   # for dmm ctl
public struct AgentConfig: Sendable {
    public var name: String
    public var agent: DataPlaneAgent.Config
    /// Where tunnels to it end; nil for a router between access routers,
    /// which anchors nothing (anchor switching gives it host routes).
    public var tunnelEndpoint: IPv6Address?
    public var dataPlane: LinuxDataPlane.Config
    public var capacity: Int
    public var metrics: String?
    public var controlSocket: String

    public init(name: String, agent: DataPlaneAgent.Config, tunnelEndpoint: IPv6Address?, dataPlane: LinuxDataPlane.Config,
                capacity: Int = 10000, metrics: String? = nil, controlSocket: String) {
        self.name = name
        self.agent = agent
        self.tunnelEndpoint = tunnelEndpoint
        self.dataPlane = dataPlane
        self.capacity = capacity
        self.metrics = metrics
        self.controlSocket = controlSocket
    }

    public init(yaml: String) throws {
        var r = try ConfigReader(yaml: yaml)
        name = try r.string("name") ?? "agent"
        let address = try r.required("address") { try $0.address($1) }
        let controller = try r.required("controller") { try $0.address($1) }
        let pools = try r.required("pools") { try $0.prefixes($1) }
        tunnelEndpoint = try r.address("tunnel-endpoint")
        if tunnelEndpoint == nil && !pools.isEmpty {
            throw ConfigReader.Invalid(description: "key 'tunnel-endpoint' is required of an agent with pools: tunnels to its prefixes end there")
        }
        guard tunnelEndpoint != address else {
            throw ConfigReader.Invalid(description: "key 'tunnel-endpoint' must differ from 'address': a local address cannot end a tunnel on Linux")
        }
        let tunnelMode = try r.choice("tunnel-mode", TunnelMode.self) ?? .ipv6InIPv6
        let timing = try PFCPTiming(&r)
        let (resynchronization, limit) = try DataPlaneAgent.Config.resynchronization(&r)
        agent = DataPlaneAgent.Config(address: address, controller: controller, pools: pools, poolIdentity: name, tunnelMode: tunnelMode,
                                      timing: timing, resynchronization: resynchronization, resynchronizationLimit: limit,
                                      reservedSessions: try r.reservedSessions())
        guard agent.registrationFits else {
            throw ConfigReader.Invalid(description: "key 'pools' lists \(pools.count) prefix blocks, more than one PFCP Association Setup Request carries (64 KiB)")
        }
        capacity = try r.integer("capacity", in: 1...100_000_000) ?? 10000
        dataPlane = LinuxDataPlane.Config(uplink: try r.required("uplink") { try $0.string($1) })
        dataPlane.routeProtocol = try r.integer("route-protocol", in: UInt8(5)...UInt8(254)) ?? 177
        dataPlane.tunnels = try r.choice("tunnels", TunnelDriver.self) ?? .automatic
        dataPlane.buffer = try PacketBuffer.Limits(&r)
        dataPlane.tunnelSource = address
        metrics = try r.string("metrics")
        controlSocket = try r.string("control-socket") ?? "/run/dmm/\(name).sock"
        try r.finish()
    }

    /// The configuration as a file `AgentConfig(yaml:)` reads back unchanged.
    public var yaml: String {
        var w = ConfigWriter()
        w.set("name", name)
        w.set("address", agent.address)
        w.set("controller", agent.controller)
        w.set("pools", list: agent.pools.map { "\($0)" })
        w.set("tunnel-endpoint", tunnelEndpoint)
        w.set("uplink", dataPlane.uplink)
        w.set("tunnels", dataPlane.tunnels.rawValue)
        dataPlane.buffer.write(&w)
        w.set("tunnel-mode", agent.tunnelMode.rawValue)
        agent.timing.write(&w)
        agent.writeResynchronization(&w)
        w.set("capacity", capacity)
        w.set("reserve-sessions", agent.reservedSessions)
        w.set("route-protocol", dataPlane.routeProtocol)
        w.set("metrics", metrics)
        w.set("control-socket", controlSocket)
        return w.text
    }
}

/// `dmm controller --config FILE`: the central controller (FM-CP).
///
///     name: controller
///     address: 2001:db8:ffff::100          # its Node ID and PFCP address (required)
///     database: /var/lib/dmm/controller.sqlite  # associations and sessions (required)
///     agents:                              # the agents that may associate (required)
///       - address: 2001:db8:ffff::1
///         tunnel-endpoint: fc00:1::d6      # where tunnels to it end (required)
///     tunnel-mode: ipv6-in-ipv6            # or srv6; as the agents'
///     uplink-mode: direct                  # or reverse-tunnel: a node away from its prefix's anchor sends through it
///     load-limit: 80                       # no new node is anchored at an agent over this
///     session-window: 64                   # session requests in flight to one agent at most; the others
///                                          # wait for answers (every session pushed again after a restart)
///     session-window-total: 4096           # ...and to all agents at once, whose answers the controller's
///                                          # socket must hold
///     reserve-sessions: 0                  # sessions its tables are made for at start (up to 10,000,000),
///                                          # so they do not pause to grow as sessions come (docs/running.md)
///     forwarding: indirection              # or anchor-switching: a moved prefix's anchoring follows the node,
///                                          # the routers between getting host routes (RFC 8818 5.1, 5.2)
///     topology: /etc/dmm/tree.yaml         # the network, in the lab's topology format: which routers a
///                                          # switch updates (required with anchor-switching); every router
///                                          # and access router of it must run an agent
///     buffering: true                      # through a move, the agent the prefix's packets reach (the
///                                          # anchor, or the old serving router when switching) holds
///                                          # them until the new path is in place
///     t1: 0.5
///     n1: 3
///     heartbeat-interval: 5
///     metrics: "[::1]:9471"
///     control-socket: /run/dmm/controller.sock
public struct ControllerConfig: Sendable {
    public var name: String
    public var controller: Controller.Config
    public var database: String
    public var metrics: String?
    public var controlSocket: String
    /// Where `controller.topology` comes from (`loadTopology`).
    public var topologyFile: String?

    public init(name: String = "controller", controller: Controller.Config, database: String, metrics: String? = nil,
                controlSocket: String, topologyFile: String? = nil) {
        self.name = name
        self.controller = controller
        self.database = database
        self.metrics = metrics
        self.controlSocket = controlSocket
        self.topologyFile = topologyFile
    }

    /// Reads the topology file, if one is named, with `read`.
    public mutating func loadTopology(_ read: (String) throws -> String) throws {
        guard let topologyFile else { return }
        controller.topology = try Topology(yaml: read(topologyFile))
    }

    public init(yaml: String) throws {
        var r = try ConfigReader(yaml: yaml)
        name = try r.string("name") ?? "controller"
        let address = try r.required("address") { try $0.address($1) }
        database = try r.required("database") { try $0.string($1) }
        let agents = try r.required("agents") { r, key in
            try r.list(key) { a in
                (try a.required("address") { try $0.address($1) }, try a.required("tunnel-endpoint") { try $0.address($1) })
            }
        }
        controller = Controller.Config(
            address: address, timing: try PFCPTiming(&r), loadLimit: try r.integer("load-limit", in: UInt8(0)...UInt8(100)) ?? 80,
            tunnelMode: try r.choice("tunnel-mode", TunnelMode.self) ?? .ipv6InIPv6,
            endpoints: Dictionary(agents) { a, _ in a }, agents: Set(agents.map(\.0)),
            uplink: try r.choice("uplink-mode", UplinkMode.self) ?? .direct,
            forwarding: try r.choice("forwarding", ForwardingMethod.self) ?? .indirection, buffering: try r.bool("buffering") ?? true,
            window: try r.integer("session-window", in: 1...65536) ?? 64,
            totalWindow: try r.integer("session-window-total", in: 1...1_048_576) ?? 4096,
            reservedSessions: try r.reservedSessions())
        topologyFile = try r.string("topology")
        if controller.forwarding == .anchorSwitching && topologyFile == nil {
            throw ConfigReader.Invalid(description: "key 'topology': anchor-switching needs the network's topology file")
        }
        metrics = try r.string("metrics")
        controlSocket = try r.string("control-socket") ?? "/run/dmm/\(name).sock"
        try r.finish()
    }

    /// The configuration as a file `ControllerConfig(yaml:)` reads back unchanged.
    public var yaml: String {
        var w = ConfigWriter()
        w.set("name", name)
        w.set("address", controller.address)
        w.set("database", database)
        w.set("agents", sections: controller.agents.sorted().map { agent in
            var a = ConfigWriter()
            a.set("address", agent)
            a.set("tunnel-endpoint", controller.endpoints[agent] ?? agent)
            return a
        })
        w.set("tunnel-mode", controller.tunnelMode.rawValue)
        w.set("uplink-mode", controller.uplink.rawValue)
        w.set("load-limit", controller.loadLimit)
        w.set("session-window", controller.window)
        w.set("session-window-total", controller.totalWindow)
        w.set("reserve-sessions", controller.reservedSessions)
        w.set("forwarding", controller.forwarding.rawValue)
        w.set("topology", topologyFile)
        w.set("buffering", controller.buffering)
        controller.timing.write(&w)
        w.set("metrics", metrics)
        w.set("control-socket", controlSocket)
        return w.text
    }
}

extension PFCPTiming {
    /// Reads `t1`, `n1` and `heartbeat-interval`.
    init(_ r: inout ConfigReader) throws {
        let d = PFCPTiming()
        self.init(t1: Seconds(try r.number("t1", in: 0.001...60) ?? d.t1.seconds), n1: try r.integer("n1", in: 0...10) ?? d.n1,
                  heartbeatInterval: Seconds(try r.number("heartbeat-interval", in: 0.01...3600) ?? d.heartbeatInterval.seconds))
    }

    func write(_ w: inout ConfigWriter) {
        w.set("t1", t1)
        w.set("n1", n1)
        w.set("heartbeat-interval", heartbeatInterval)
    }
}

extension ConfigReader {
    /// Reads `reserve-sessions`, the controller's and the agent's alike.
    mutating func reservedSessions() throws -> Int { try integer("reserve-sessions", in: 0...10_000_000) ?? 0 }
}

extension DataPlaneAgent.Config {
    /// Reads `resynchronization` and `resynchronization-limit`.
    static func resynchronization(_ r: inout ConfigReader) throws -> (Seconds, Seconds) {
        let wait = try r.number("resynchronization", in: 0...3600) ?? 2
        let limit = try r.number("resynchronization-limit", in: 0...86400) ?? 60
        guard limit >= wait else {
            throw ConfigReader.Invalid(description: "key 'resynchronization-limit' (\(limit)) is under 'resynchronization' (\(wait))")
        }
        return (Seconds(wait), Seconds(limit))
    }

    func writeResynchronization(_ w: inout ConfigWriter) {
        w.set("resynchronization", resynchronization)
        w.set("resynchronization-limit", resynchronizationLimit)
    }
}

extension PacketBuffer.Limits {
    /// Reads `buffer-packets` and `buffer-seconds`: how much a prefix the
    /// controller has buffered (anchor switching) may hold.
    init(_ r: inout ConfigReader) throws {
        let d = Self()
        self.init(packets: try r.integer("buffer-packets", in: 1...1_000_000) ?? d.packets,
                  seconds: try r.number("buffer-seconds", in: 0.001...60) ?? d.seconds)
    }

    func write(_ w: inout ConfigWriter) {
        w.set("buffer-packets", packets)
        w.set("buffer-seconds", seconds)
    }
}
