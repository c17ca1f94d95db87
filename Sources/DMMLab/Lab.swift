import DMMCore
import DMMLinux
import DMMNode
import DMMWire
import Foundation
import Glibc

/// A namespace testbed built from the scenario's topology: a namespace per
/// node, a veth pair per link (a node's Nth link is its interface ethN, with
/// fe80::1 at the link's first end and fe80::2 at its second), each node's
/// addresses on its loopback, and on every node a route to every other
/// node's prefixes along a shortest path. The mobile node's one link moves
/// between the access routers. The lab builds it with iproute2 (the daemons
/// use rtnetlink and libnftables instead), starts the daemons, and always
/// takes it all down again: on success, on failure and on Ctrl-C.
///
///     cn (2001:db8:cc::1) --- core --- mar1 (2001:db8:ffff::1, block 2001:db8:1::/48, SID fc00:1::d6)
///                              |  \--- mar2 ...            mn: eth0 <-> mn1 in the serving MAR
///                             lms (2001:db8:ffff::100)
public final class Lab {
    public let scenario: Scenario
    public let output: URL
    let tag: String
    let dmm: String
    /// iproute2's `ip` and Wireshark's capture program, as found on PATH.
    let ipCommand: String
    let dumpcap: String
    private(set) var namespaces: [String] = []
    private var processes: [String: ChildProcess] = [:]
    /// Names spawned before: a restart appends to the first run's log.
    private var spawned: Set<String> = []
    public private(set) var timeline: [(time: Double, event: String)] = []
    let started = Traffic.now()

    public struct Failure: Error, CustomStringConvertible { public var description: String }

    /// Labs made by this process: each gets namespace names of its own
    /// (tests build several at once).
    nonisolated(unsafe) static var instances = 0
    static let instancesLock = NSLock()

    /// The correspondent's echo server.
    public static let echoPort: UInt16 = 7000

    public var topology: Topology { scenario.topology }
    /// The lab's one correspondent, location server and mobile node, and its
    /// access routers, by name.
    public let correspondent: String, locationServer: String, mobileNode: String
    public let accessRouters: [String]
    /// The routers between the access routers that run a data-plane agent:
    /// all of them under anchor switching, which gives them host routes.
    public var agentRouters: [String] {
        scenario.forwarding == .anchorSwitching ? topology.nodes(.router).map(\.name) : []
    }

    /// A node's address; the names come from the topology.
    public func address(of node: String) -> IPv6Address { topology.addressing(node)!.address }
    public func block(of accessRouter: String) -> IPv6Prefix { topology.addressing(accessRouter)!.prefixBlock! }
    public func tunnelEndpoint(of accessRouter: String) -> IPv6Address { topology.addressing(accessRouter)!.tunnelEndpoint! }
    public var correspondentAddress: IPv6Address { address(of: correspondent) }

    /// What a lab needs from the machine; checked before anything is built.
    public static let prerequisites: [Prerequisite] = [
        .root, .tunnels, .program("ip", package: "iproute2"), .program("sysctl", package: "procps"),
        .program("dumpcap", package: "tshark"),
    ]

    public init(scenario: Scenario, executable: String) throws {
        try Prerequisite.check(Self.prerequisites)
        self.scenario = scenario
        correspondent = scenario.topology.nodes(.correspondent)[0].name
        locationServer = scenario.topology.nodes(.locationServer)[0].name
        mobileNode = scenario.topology.nodes(.mobileNode)[0].name
        accessRouters = scenario.topology.nodes(.accessRouter).map(\.name)
        dmm = executable
        ipCommand = try Command.require("ip")
        dumpcap = try Command.require("dumpcap")
        let n = Self.instancesLock.withLock {
            Self.instances += 1
            return Self.instances
        }
        tag = "\(getpid())\(n > 1 ? "x\(n)" : "")"
        output = URL(fileURLWithPath: scenario.output)
        try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
        labInterrupted = 0
        signal(SIGINT) { _ in labInterrupted = 1 }
        signal(SIGTERM) { _ in labInterrupted = 1 }
    }

    public func ns(_ name: String) -> String { "dmm\(tag)-\(name)" }

    public func note(_ event: String) {
        let t = Traffic.now()
        timeline.append((t, event))
        print(String(format: "%7.3f s  %@", t - started, event))
        fflush(nil)  // a timeline piped to a file or tee is read as it happens
    }

    // MARK: Commands

    @discardableResult
    public func run(_ arguments: [String], in namespace: String? = nil) throws -> String {
        let r = try Command.run(ipCommand, namespace.map { ["netns", "exec", ns($0)] + arguments } ?? arguments)
        guard r.status == 0 else {
            throw Failure(description: "\((namespace.map { "[\($0)] " } ?? "") + arguments.joined(separator: " ")): \(r.err)")
        }
        return r.out
    }

    @discardableResult
    public func ip(_ namespace: String, _ arguments: [String]) throws -> String { try run(["-n", ns(namespace)] + arguments) }

    /// Starts a long-running command in a namespace, its output in
    /// OUTPUT/NAME.log (or standard output in `stdout`). It dies with the lab,
    /// however the lab ends (`ChildProcess`).
    public func spawn(_ name: String, in namespace: String, _ arguments: [String], stdout: URL? = nil) throws {
        let log = output.appendingPathComponent("\(name).log")
        // A restart appends to the first run's log.
        let logFlags = O_WRONLY | O_CREAT | O_CLOEXEC | (spawned.insert(name).inserted ? O_TRUNC : O_APPEND)
        let err = open(log.path, logFlags, 0o644)
        guard err >= 0 else { throw Failure(description: "cannot write \(log.path): \(String(cString: strerror(errno)))") }
        defer { close(err) }
        let out = stdout.map { open($0.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644) } ?? err
        guard out >= 0 else { throw Failure(description: "cannot write \(stdout!.path): \(String(cString: strerror(errno)))") }
        defer { if out != err { close(out) } }
        processes[name] = try ChildProcess.spawn(ipCommand, ["netns", "exec", ns(namespace)] + arguments, output: out, error: err)
    }

    func isRunning(_ name: String) -> Bool { processes[name]?.isRunning ?? false }

    /// Stops a spawned process with SIGTERM and waits for it.
    public func stop(_ name: String) { processes.removeValue(forKey: name)?.stop() }

    public func wait(_ what: String, seconds: Double, _ condition: () throws -> Bool) throws {
        guard try holds(within: seconds, condition) else { throw Failure(description: "timed out after \(seconds) s waiting for \(what)") }
    }

    /// Whether `condition` comes true within `seconds`, checked every `interval`.
    func holds(within seconds: Double, every interval: Double = 0.01, _ condition: () throws -> Bool) throws -> Bool {
        let end = Date().addingTimeInterval(seconds)
        while Date() < end {
            try checkInterrupt()
            if try condition() { return true }
            Thread.sleep(forTimeInterval: interval)
        }
        return false
    }

    public func sleep(_ seconds: Double) throws {
        let end = Date().addingTimeInterval(seconds)
        while Date() < end {
            try checkInterrupt()
            Thread.sleep(forTimeInterval: min(0.05, max(0, end.timeIntervalSinceNow)))
        }
    }

    func checkInterrupt() throws {
        if labInterrupted != 0 { throw Failure(description: "interrupted") }
    }

    // MARK: Building and tearing down

    public func build() throws {
        for removed in try Self.removeLeftovers() { note(removed) }
        for n in topology.nodes {
            try run(["netns", "add", ns(n.name)])
            namespaces.append(n.name)
            try run(["sysctl", "-qw", "net.ipv6.conf.default.accept_dad=0", "net.ipv6.conf.all.accept_dad=0"], in: n.name)
            try ip(n.name, ["link", "set", "lo", "up"])
        }
        for (i, link) in topology.links.enumerated() {
            let (a, b) = link.ends
            let (ia, ib) = (interface(of: a, link: i), interface(of: b, link: i))
            try ip(a, ["link", "add", ia, "type", "veth", "peer", "name", ib, "netns", ns(b)])
            for (node, name) in [(a, ia), (b, ib)] {
                if let mtu = link.mtu { try ip(node, ["link", "set", name, "mtu", "\(mtu)"]) }
                try ip(node, ["link", "set", name, "up"])
                try ip(node, ["-6", "addr", "add", "\(linkLocal(of: node, link: i))/64", "dev", name, "nodad"])
            }
        }
        for n in topology.nodes where n.kind != .mobileNode {
            // Even on lo an address is tentative until the kernel's DAD work
            // has run, and a daemon binding it meanwhile fails (errno 99; 12
            // of 1,500 binds at once after adding one, none with nodad).
            try ip(n.name, ["-6", "addr", "add", "\(address(of: n.name))/128", "dev", "lo", "nodad"])
            if n.kind == .router { try run(["sysctl", "-qw", "net.ipv6.conf.all.forwarding=1"], in: n.name) }
            for (prefix, interface, via) in routes(from: n.name) {
                try ip(n.name, ["-6", "route", "add", "\(prefix)", "via", via, "dev", interface])
            }
        }
        for mar in accessRouters {
            // Pings are flows too, and conntrack ends them only by timeout
            // (30 s by default): a shorter one keeps the lab quick.
            try run(["sysctl", "-qw", "net.netfilter.nf_conntrack_icmpv6_timeout=3"], in: mar)
        }
        // An unmodified host, with optimistic DAD (DESIGN.md).
        try run(["sysctl", "-qw", "net.ipv6.conf.default.optimistic_dad=1", "net.ipv6.conf.default.use_optimistic=1"], in: mobileNode)
        note("built \(namespaces.count) namespaces from topology \(topology.name): \(topology.nodes.map(\.name).joined(separator: ", "))")
    }

    /// A node's address on link `link` (`Topology.linkLocal`).
    func linkLocal(of node: String, link: Int) -> String { "\(topology.linkLocal(of: node, link: link))" }

    /// A node's name for its end of link `link`: ethN for its Nth link.
    func interface(of node: String, link: Int) -> String { topology.interface(of: node, link: link)! }

    /// The routes a node needs: every other node's prefixes, through the
    /// first hop of a shortest path, as (prefix, interface, next hop).
    func routes(from node: String) -> [(IPv6Prefix, String, String)] {
        topology.nodes.filter { $0.name != node && $0.kind != .mobileNode }.flatMap { d -> [(IPv6Prefix, String, String)] in
            guard let hop = topology.nextHop(from: node, to: d.name) else { return [] }
            return topology.addressing(d.name)!.routed.map { ($0, hop.interface, "\(hop.via)") }
        }
    }

    /// Namespaces (and the processes in them) that a lab killed before it
    /// could tear down left behind: those named dmmPID-... whose process PID
    /// is gone or is no longer a dmm program. Returns what it removed.
    public static func removeLeftovers() throws -> [String] {
        let ip = try Command.require("ip")
        var removed: [String] = []
        for line in try Command.output(ip, ["netns", "list"]).split(separator: "\n") {
            let name = String(line.split(separator: " ")[0])
            guard name.hasPrefix("dmm"), let dash = name.firstIndex(of: "-"),
                let owner = Int32(name[name.index(name.startIndex, offsetBy: 3)..<dash].prefix { $0.isNumber }), !isLab(owner)
            else { continue }
            // Another lab starting now may be removing the same ones.
            guard let pids = try? Command.output(ip, ["netns", "pids", name]).split(separator: "\n").compactMap({ Int32($0) }) else { continue }
            for pid in pids { kill(pid, SIGKILL) }
            guard (try? Command.output(ip, ["netns", "del", name])) != nil else { continue }
            removed.append("removed namespace \(name), left by a lab (pid \(owner)) that is gone\(pids.isEmpty ? "" : ", and killed its processes \(pids.map(String.init).joined(separator: ", "))")")
        }
        return removed
    }

    /// Whether `pid` is a live dmm program (the command or a test runner).
    static func isLab(_ pid: Int32) -> Bool {
        guard let cmdline = try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8) else { return false }
        return cmdline.split(separator: "\0").first?.contains("dmm") ?? false
    }

    /// Stops every process, deletes every namespace, and reports what it
    /// found left over (nothing, when all went well).
    public func tearDown() -> [String] {
        for name in processes.keys.sorted() { stop(name) }
        var left: [String] = []
        for h in namespaces.reversed() {
            if accessRouters.contains(h) || agentRouters.contains(h), let routes = try? ip(h, ["-6", "route", "show", "table", "all", "proto", "177"]), !routes.isEmpty {
                left.append("\(h): routes left by the daemon: \(routes)")
            }
            _ = try? run(["netns", "del", ns(h)])
        }
        namespaces = []
        if let remaining = try? run(["netns", "list"]), remaining.contains("dmm\(tag)-") {
            left.append("namespaces left: \(remaining)")
        }
        return left
    }

    // MARK: Daemons

    public func startDaemons() throws {
        let database = "\(output.path)/\(locationServer).sqlite", socket = "\(output.path)/\(locationServer).sock"
        switch scenario.control {
        case .distributed:
            let lms = LMSConfig(name: locationServer, address: address(of: locationServer), database: database,
                                mars: accessRouters.map { address(of: $0) }, controlSocket: socket)
            try write("\(locationServer).yaml", lms.yaml)
        case .central:
            let agents = (accessRouters + agentRouters).map { address(of: $0) }
            try write("topology.yaml", scenario.topologyText)
            let controller = ControllerConfig(
                name: locationServer,
                controller: Controller.Config(address: address(of: locationServer), tunnelMode: scenario.tunnelMode,
                                              endpoints: Dictionary(uniqueKeysWithValues: accessRouters.map { (address(of: $0), tunnelEndpoint(of: $0)) }),
                                              agents: Set(agents), uplink: scenario.uplinkMode, forwarding: scenario.forwarding,
                                              buffering: scenario.buffering),
                database: database, controlSocket: socket,
                topologyFile: scenario.forwarding == .anchorSwitching ? "\(output.path)/topology.yaml" : nil)
            try write("\(locationServer).yaml", controller.yaml)
        }
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: database + suffix) }
        try startLocationServer()
        for mar in accessRouters {
            try write("\(mar).yaml", accessRouterConfig(mar).yaml)
            try startAccessRouter(mar)
        }
        for router in agentRouters {
            try write("\(router).yaml", routerAgentConfig(router).yaml)
            try startDaemon(router, command: "agent")
        }
        note("started the \(scenario.control == .central ? "controller" : "location server") and \(accessRouters.count) access routers"
             + (agentRouters.isEmpty ? "" : ", and agents at \(agentRouters.count) routers"))
    }

    /// A router's agent in this lab: no pools, no tunnel endpoint, its
    /// first link as uplink.
    func routerAgentConfig(_ router: String) -> AgentConfig {
        let agent = DataPlaneAgent.Config(address: address(of: router), controller: address(of: locationServer), pools: [],
                                          poolIdentity: router, tunnelMode: scenario.tunnelMode)
        return AgentConfig(name: router, agent: agent, tunnelEndpoint: nil,
                           dataPlane: LinuxDataPlane.Config(uplink: interface(of: router, link: topology.links(of: router)[0].link)),
                           controlSocket: "\(output.path)/\(router).sock")
    }

    /// An access router's configuration in this lab: its uplink is its
    /// first link, its peers every other access router.
    func accessRouterConfig(_ mar: String) -> MARConfig {
        var router = AccessRouterConfig(address: address(of: mar), prefixBlock: block(of: mar),
                                        peers: Set(accessRouters.map { address(of: $0) }), locationServer: address(of: locationServer))
        router.tunnelEndpoint = tunnelEndpoint(of: mar)
        for peer in accessRouters where peer != mar { router.peerEndpoints[address(of: peer)] = tunnelEndpoint(of: peer) }
        router.uplink = scenario.uplinkMode
        router.tunnel = scenario.tunnelMode
        router.decapsulation = scenario.decapsulation
        router.control = scenario.control
        router.idleGrace = Seconds(scenario.idleGrace)
        router.initialBindAckTimeout = 0.2
        router.advertisement.retransTimer = 10
        var dataPlane = LinuxDataPlane.Config(uplink: interface(of: mar, link: topology.links(of: mar)[0].link))
        dataPlane.tunnelSource = router.address
        return MARConfig(name: mar, router: router, dataPlane: dataPlane, accessInterfaces: ["mn*"], nodeIdentity: scenario.nodeIdentity,
                         controlSocket: "\(output.path)/\(mar).sock")
    }

    /// Starts (or restarts) the location server, or the controller, on its database.
    public func startLocationServer() throws {
        try startDaemon(locationServer, command: scenario.control == .central ? "controller" : "lms")
    }

    /// Starts (or restarts) an access router on its configuration; returns
    /// once its control socket is up.
    public func startAccessRouter(_ name: String) throws { try startDaemon(name, command: "mar") }

    func startDaemon(_ name: String, command: String) throws {
        let socket = "\(output.path)/\(name).sock"
        try? FileManager.default.removeItem(atPath: socket)
        try spawn(name, in: name, [dmm, command, "--config", "\(output.path)/\(name).yaml"])
        try wait("\(name)'s control socket", seconds: 10) { FileManager.default.fileExists(atPath: socket) }
    }

    /// Kills a spawned process with SIGKILL, as a crash would.
    public func crash(_ name: String) {
        guard let p = processes.removeValue(forKey: name) else { return }
        p.signal(SIGKILL)
        p.wait()
    }

    func write(_ file: String, _ text: String) throws {
        try text.write(to: output.appendingPathComponent(file), atomically: true, encoding: .utf8)
    }

    /// A daemon's state, from its control socket.
    public func state(_ daemon: String) throws -> [String: Any] {
        let text = try run([dmm, "ctl", "--socket", "\(output.path)/\(daemon).sock", "--json"], in: daemon)
        return (try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]) ?? [:]
    }

    // MARK: The node

    /// The node's global addresses, and whether each is deprecated.
    public func addresses() throws -> [(IPv6Address, Bool)] {
        try ip(mobileNode, ["-6", "-o", "addr", "show", "dev", "eth0", "scope", "global"]).split(separator: "\n").compactMap { line in
            let f = line.split(separator: " ")
            guard let i = f.firstIndex(of: "inet6"), let a = IPv6Address(f[i + 1].split(separator: "/")[0]) else { return nil }
            return (a, line.contains("deprecated"))
        }
    }

    /// The one preferred address, if there is exactly one.
    public func preferred() throws -> IPv6Address? {
        let p = try addresses().filter { !$0.1 }
        return p.count == 1 ? p[0].0 : nil
    }

    public func attach(to mar: String) throws {
        try ip(mobileNode, ["link", "add", "eth0", "type", "veth", "peer", "name", "mn1", "netns", ns(mar)])
        try ip(mar, ["link", "set", "mn1", "up"])
        try ip(mobileNode, ["link", "set", "eth0", "up"])
        note("node link up at \(mar)")
    }

    /// Moves the MAR end of the node's link to another MAR; returns when it
    /// came up there. The link is set up through rtnetlink and timed just
    /// before the request: timing the end of an `ip` process instead would
    /// be late by up to 50 ms (Foundation polls for a child's exit).
    public func move(from: String, to: String) throws -> Double {
        try ip(from, ["link", "set", "mn1", "netns", ns(to)])
        // A router's access link is there and configured before a node's
        // carrier comes; here it arrives with the node. So the lab lets the
        // MAR configure it first (as it does any link that appears), or its
        // netlink work would share the kernel's locks with the link-up.
        if try !holds(within: 2, every: 0.002, { try accessLinkConfigured(at: to) }) {
            note("\(to) has not configured the node's link after 2 s; bringing it up anyway")
        }
        let netlink = try NetlinkSocket(namespace: ns(to))
        let t = Traffic.now()
        try netlink.setUp(link: "mn1")
        note("node link up at \(to) (moved from \(from))")
        return t
    }
}

extension Lab {
    /// Whether the MAR's end of the node's link has the link-local address
    /// every MAR shares (fe80::1 by default), read from the namespace's
    /// /proc/net/if_inet6.
    func accessLinkConfigured(at mar: String) throws -> Bool {
        let shared = IPv6Address("fe80::1")!
        return try inNetworkNamespace(ns(mar)) { InterfaceAddress.current() }.contains { $0.interface == "mn1" && $0.address == shared }
    }
}

/// Set by SIGINT or SIGTERM; the lab checks it between steps and tears down.
nonisolated(unsafe) var labInterrupted: Int32 = 0
