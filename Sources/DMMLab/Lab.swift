import DMMLinux
import DMMWire
import Foundation
import Glibc

/// A namespace testbed: a core router with, on links of their own, the MARs,
/// the location server and a correspondent; a mobile node whose one link
/// moves between the MARs. The lab builds it with iproute2 (the daemons use
/// rtnetlink and libnftables instead), starts the daemons, and always takes it all
/// down again: on success, on failure and on Ctrl-C.
///
///     cn (2001:db8:cc::1) --- core --- mar1 (2001:db8:ffff::1, block 2001:db8:1::/48, SID fc00:1::d6)
///                              |  \--- mar2 ...            mn: eth0 <-> mnX in the serving MAR
///                             lms (2001:db8:ffff::100)
///
/// With a backbone (the default) every two MARs also share a link of their
/// own (`bbJ` in MAR I leads to MAR J), and each reaches the others' SIDs and
/// addresses over it: a tunnel between two MARs does not pass the core.
public final class Lab {
    public let scenario: Scenario
    public let output: URL
    let tag: String
    let dmm: String
    /// iproute2's `ip` and tshark, as found on PATH.
    let ipCommand: String
    let tshark: String
    private(set) var namespaces: [String] = []
    private var processes: [String: Process] = [:]
    /// Names spawned before: a restart appends to the first run's log.
    private var spawned: Set<String> = []
    public private(set) var timeline: [(time: Double, event: String)] = []
    let started = Traffic.now()

    public struct Failure: Error, CustomStringConvertible { public var description: String }

    /// Labs made by this process: each gets namespace names of its own
    /// (tests build several at once).
    nonisolated(unsafe) static var instances = 0
    static let instancesLock = NSLock()

    public static let cn = IPv6Address("2001:db8:cc::1")!
    public static let lms = IPv6Address("2001:db8:ffff::100")!
    /// The correspondent's echo server.
    public static let echoPort: UInt16 = 7000
    public static func mar(_ i: Int) -> IPv6Address { IPv6Address("2001:db8:ffff::\(i)")! }
    public static func block(_ i: Int) -> String { "2001:db8:\(i)::/48" }
    public static func sid(_ i: Int) -> String { "fc00:\(i)::d6" }

    /// What a lab needs from the machine; checked before anything is built.
    public static let prerequisites: [Prerequisite] = [
        .root, .segmentRouting, .program("ip", package: "iproute2"), .program("sysctl", package: "procps"),
        .program("tshark", package: "tshark"),
    ]

    public init(scenario: Scenario, executable: String) throws {
        try Prerequisite.check(Self.prerequisites)
        self.scenario = scenario
        dmm = executable
        ipCommand = try Command.require("ip")
        tshark = try Command.require("tshark")
        let n = Self.instancesLock.withLock {
            Self.instances += 1
            return Self.instances
        }
        tag = "\(getpid() % 100_000)\(n > 1 ? "x\(n)" : "")"
        output = URL(fileURLWithPath: scenario.output)
        try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
        labInterrupted = 0
        // Children inherit this thread's signal mask; a test runner's worker
        // thread blocks SIGTERM, which would make tshark unstoppable.
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGTERM)
        sigaddset(&set, SIGINT)
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
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

    /// Starts a long-running command in a namespace, its output in OUTPUT/NAME.log.
    public func spawn(_ name: String, in namespace: String, _ arguments: [String], stdout: URL? = nil) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: ipCommand)
        p.arguments = ["netns", "exec", ns(namespace)] + arguments
        let log = output.appendingPathComponent("\(name).log")
        if spawned.insert(name).inserted { _ = FileManager.default.createFile(atPath: log.path, contents: nil) }
        let logHandle = try FileHandle(forWritingTo: log)
        logHandle.seekToEndOfFile()
        p.standardError = logHandle
        if let stdout {
            _ = FileManager.default.createFile(atPath: stdout.path, contents: nil)
            p.standardOutput = try FileHandle(forWritingTo: stdout)
        } else {
            p.standardOutput = p.standardError
        }
        try p.run()
        processes[name] = p
    }

    func isRunning(_ name: String) -> Bool { processes[name]?.isRunning ?? false }

    /// Stops a spawned process with SIGTERM and waits for it.
    public func stop(_ name: String) {
        guard let p = processes.removeValue(forKey: name), p.isRunning else { return }
        p.terminate()
        let end = Date().addingTimeInterval(5)
        while p.isRunning && Date() < end { Thread.sleep(forTimeInterval: 0.02) }
        if p.isRunning { kill(p.processIdentifier, SIGKILL) }
        p.waitUntilExit()
    }

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
        let hosts = (1...scenario.mars).map { "mar\($0)" } + ["lms", "cn", "mn", "core"]
        for h in hosts {
            try run(["netns", "add", ns(h)])
            namespaces.append(h)
            try run(["sysctl", "-qw", "net.ipv6.conf.default.accept_dad=0", "net.ipv6.conf.all.accept_dad=0"], in: h)
            try ip(h, ["link", "set", "lo", "up"])
        }
        try run(["sysctl", "-qw", "net.ipv6.conf.all.forwarding=1"], in: "core")
        // Each host on a link of its own to the core; link-local next hops.
        var loopbacks: [(String, String, [String])] = [("lms", "\(Self.lms)", []), ("cn", "\(Self.cn)", [])]
        for i in 1...scenario.mars { loopbacks.append(("mar\(i)", "\(Self.mar(i))", [Self.block(i), "fc00:\(i)::/64"])) }
        for (host, address, routed) in loopbacks {
            let uplink = host.hasPrefix("mar") ? "up0" : "eth0"
            try ip("core", ["link", "add", "c-\(host)", "type", "veth", "peer", "name", uplink, "netns", ns(host)])
            try ip("core", ["link", "set", "c-\(host)", "up"])
            try ip(host, ["link", "set", uplink, "up"])
            try ip("core", ["-6", "addr", "add", "fe80::1/64", "dev", "c-\(host)", "nodad"])
            try ip(host, ["-6", "addr", "add", "fe80::2/64", "dev", uplink, "nodad"])
            try ip(host, ["-6", "addr", "add", "\(address)/128", "dev", "lo"])
            try ip(host, ["-6", "route", "add", "default", "via", "fe80::1", "dev", uplink])
            for prefix in [address + "/128"] + routed {
                try ip("core", ["-6", "route", "add", prefix, "via", "fe80::2", "dev", "c-\(host)"])
            }
        }
        for i in 1...scenario.mars {
            // Pings are flows too, and conntrack ends them only by timeout
            // (30 s by default): a shorter one keeps the lab quick.
            try run(["sysctl", "-qw", "net.netfilter.nf_conntrack_icmpv6_timeout=3"], in: "mar\(i)")
        }
        if scenario.backbone { try buildBackbone() }
        // An unmodified host, with optimistic DAD (DESIGN.md).
        try run(["sysctl", "-qw", "net.ipv6.conf.default.optimistic_dad=1", "net.ipv6.conf.default.use_optimistic=1"], in: "mn")
        note("built \(namespaces.count) namespaces: core, \(scenario.mars) MARs, location server, correspondent, mobile node")
    }

    /// A link between every two MARs, link-local next hops (fe80::I for MAR
    /// I), and routes over it to the other's tunnel endpoints and address.
    func buildBackbone() throws {
        for i in 1...scenario.mars {
            for j in (i + 1)..<(scenario.mars + 1) {
                try ip("mar\(i)", ["link", "add", "bb\(j)", "type", "veth", "peer", "name", "bb\(i)", "netns", ns("mar\(j)")])
                for (here, there) in [(i, j), (j, i)] {
                    try ip("mar\(here)", ["link", "set", "bb\(there)", "up"])
                    try ip("mar\(here)", ["-6", "addr", "add", "fe80::\(here)/64", "dev", "bb\(there)", "nodad"])
                    for prefix in ["fc00:\(there)::/64", "\(Self.mar(there))/128"] {
                        try ip("mar\(here)", ["-6", "route", "add", prefix, "via", "fe80::\(there)", "dev", "bb\(there)"])
                    }
                }
            }
        }
    }

    /// Stops every process, deletes every namespace, and reports what it
    /// found left over (nothing, when all went well).
    public func tearDown() -> [String] {
        for name in processes.keys.sorted() { stop(name) }
        var left: [String] = []
        for h in namespaces.reversed() {
            if h.hasPrefix("mar"), let routes = try? ip(h, ["-6", "route", "show", "table", "all", "proto", "177"]), !routes.isEmpty {
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
        try write("lms.yaml", """
            address: \(Self.lms)
            database: \(output.path)/lms.sqlite
            mars: [\((1...scenario.mars).map { "\"\(Self.mar($0))\"" }.joined(separator: ", "))]
            control-socket: \(output.path)/lms.sock
            """)
        try? FileManager.default.removeItem(atPath: output.path + "/lms.sqlite")
        try startLocationServer()
        for i in 1...scenario.mars {
            let peers = (1...scenario.mars).filter { $0 != i }.map { "  - address: \(Self.mar($0))\n    tunnel-endpoint: \(Self.sid($0))" }
            try write("mar\(i).yaml", """
                name: mar\(i)
                address: \(Self.mar(i))
                tunnel-endpoint: \(Self.sid(i))
                prefix-block: \(Self.block(i))
                location-server: \(Self.lms)
                uplink: up0
                access-interfaces: [mn*]
                peers:
                \(peers.joined(separator: "\n"))
                uplink-mode: \(scenario.uplinkMode.rawValue)
                tunnel-mode: \(scenario.tunnelMode.rawValue)
                decapsulation: \(scenario.decapsulation.rawValue)
                node-identity: \(scenario.nodeIdentity.rawValue)
                idle-grace: \(scenario.idleGrace)
                bindack-timeout: 0.2
                control-socket: \(output.path)/mar\(i).sock
                advertisement:
                  retrans-timer: 10
                  link-mtu: 1500
                """)
            try startMAR(i)
        }
        note("started the location server and \(scenario.mars) MARs")
    }

    /// Starts (or restarts) the location server on its database.
    public func startLocationServer() throws {
        try? FileManager.default.removeItem(atPath: output.path + "/lms.sock")
        try spawn("lms", in: "lms", [dmm, "lms", "--config", output.path + "/lms.yaml"])
        try wait("the location server's control socket", seconds: 10) { FileManager.default.fileExists(atPath: output.path + "/lms.sock") }
    }

    /// Starts (or restarts) MAR `i` on its configuration; returns once its
    /// control socket is up.
    public func startMAR(_ i: Int) throws {
        let socket = "\(output.path)/mar\(i).sock"
        try? FileManager.default.removeItem(atPath: socket)
        try spawn("mar\(i)", in: "mar\(i)", [dmm, "mar", "--config", output.path + "/mar\(i).yaml"])
        try wait("mar\(i)'s control socket", seconds: 10) { FileManager.default.fileExists(atPath: socket) }
    }

    /// Kills a spawned process with SIGKILL, as a crash would.
    public func crash(_ name: String) {
        guard let p = processes.removeValue(forKey: name) else { return }
        Glibc.kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
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
        try ip("mn", ["-6", "-o", "addr", "show", "dev", "eth0", "scope", "global"]).split(separator: "\n").compactMap { line in
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
        try ip("mn", ["link", "add", "eth0", "type", "veth", "peer", "name", "mn1", "netns", ns(mar)])
        try ip(mar, ["link", "set", "mn1", "up"])
        try ip("mn", ["link", "set", "eth0", "up"])
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
        let table = try inNetworkNamespace(ns(mar)) { (try? String(contentsOfFile: "/proc/thread-self/net/if_inet6", encoding: .utf8)) ?? "" }
        return table.split(separator: "\n").contains { $0.hasPrefix("fe800000000000000000000000000001 ") && $0.hasSuffix(" mn1") }
    }
}

/// Set by SIGINT or SIGTERM; the lab checks it between steps and tears down.
nonisolated(unsafe) var labInterrupted: Int32 = 0
