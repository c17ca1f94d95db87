import DMMCore
import DMMDataPlane
import DMMWire
import Foundation
import DMMTestSupport
import Testing

@testable import DMMLinux

/// Route and rule messages read back as what was written, without a kernel.
struct KernelRuleEncodingTests {
    @Test func seg6EncapsulationLayout() {
        let e = IPv6Address("fc00:2::d6")!
        // mode 3 (encap.red), then an SRH: nexthdr, hdrlen 2, type 4, segments left 0, last entry 0, flags, tag, segment
        #expect(KernelRule.seg6Encap(e, .ipv6InIPv6) == [3, 0, 0, 0, 0, 2, 4, 0, 0, 0, 0, 0] + e.bytes)
        #expect(KernelRule.seg6Encap(e, .srv6).prefix(4) == [1, 0, 0, 0])
    }

    @Test func routesParseBackToWhatWasEncoded() {
        let p = IPv6Prefix("2001:db8:1:6::/64")!, e = IPv6Address("fc00:2::d6")!
        let bpfName = "dmm srv6 \(e) from 2001:db8:ffff::1"
        for kind in [KernelRule.Route.plain, .gateway(IPv6Address("fe80::2")!), .seg6(e, .ipv6InIPv6), .seg6(e, .srv6), .endDT6, .endDX6, .unreachable,
                     .bpf(program: 9, name: bpfName, headroom: 64)] {
            let m = KernelRule.route(.install, destination: p, table: 254, interface: 7, kind: kind, protocolNumber: 188)
            let parsed = KernelRule.parseRoute(m.payload, protocolNumber: 188)
            let expected: KernelRule.KernelRoute = switch kind {
            case .plain: .plain
            case .gateway(let via): .gateway(via)
            case .seg6(let a, let b): .seg6(a, b)
            // The program's route name says what it pushes.
            case .bpf: .seg6(e, .srv6)
            case .endDT6: .endDT6
            case .endDX6: .endDX6
            case .unreachable: .unreachable
            }
            #expect(parsed == KernelRule.DumpedRoute(destination: p, table: 254, interface: kind == .unreachable ? 0 : 7, kind: expected))
            #expect(KernelRule.parseRoute(m.payload, protocolNumber: 4) == nil, "another protocol's route is not ours")
        }
        let r = KernelRule.rule(.install, source: p, interface: "acc1", table: 1000, priority: 1000, protocolNumber: 188)
        #expect(KernelRule.parseRule(r.payload, protocolNumber: 188)
                == KernelRule.DumpedRule(source: p, interface: "acc1", table: 1000, priority: 1000))
    }

    @Test(arguments: [1, 2] as [UInt64]) func malformedRepliesDoNotTrap(seed: UInt64) {
        var g = SplitMix64(seed: seed)
        for _ in 0..<20_000 {
            let bytes = (0..<Int.random(in: 0...96, using: &g)).map { _ in UInt8.random(in: 0...255, using: &g) }
            _ = KernelRule.parseRoute(bytes, protocolNumber: bytes.count > 5 ? bytes[5] : 0)
            _ = KernelRule.parseRule(bytes, protocolNumber: 188)
            _ = NetlinkReply.split(bytes)
        }
    }
}

/// The driver against this machine's kernel, in a namespace of its own.
@Suite(.enabled(if: TestNamespace.available || ProcessInfo.processInfo.environment["CI"] != nil, TestNamespace.skipReason))
struct LinuxDataPlaneTests {
    static let sid1 = IPv6Address("fc00:1::d6")!, sid2 = IPv6Address("fc00:2::d6")!, sid3 = IPv6Address("fc00:3::d6")!
    static let p5 = IPv6Prefix("2001:db8:1:5::/64")!, p6 = IPv6Prefix("2001:db8:1:6::/64")!, p7 = IPv6Prefix("2001:db8:1:7::/64")!
    static let v1 = IPv6Prefix("2001:db8:2:1::/64")!, v2 = IPv6Prefix("2001:db8:3:1::/64")!

    /// A MAR-like namespace: an uplink and one access link.
    static func router(_ label: String) throws -> TestNamespace {
        let ns = try TestNamespace(label)
        try ns.ip(["link", "add", "up0", "type", "veth", "peer", "name", "core0"])
        try ns.ip(["link", "add", "acc1", "type", "veth", "peer", "name", "mn1"])
        for dev in ["up0", "core0", "acc1", "mn1"] { try ns.ip(["link", "set", dev, "up"]) }
        try ns.ip(["-6", "addr", "add", "2001:db8:ffff::1/64", "dev", "up0", "nodad"])
        return ns
    }

    static let rules: Set<ForwardingRule> = [
        .decapsulate(endpoint: sid1),
        .crossConnect(endpoint: IPv6Address("fc00:1::2001:db8:2:1")!, link: "acc1"),
        .unreachable(IPv6Prefix("2001:db8:1::/48")!),
        .deliver(p5, link: "acc1"),
        .encapsulate(p6, endpoint: sid2, mode: .ipv6InIPv6),
        .encapsulate(p7, endpoint: sid3, mode: .srv6),
        .reverseTunnel(from: v1, link: "acc1", endpoint: sid2, mode: .ipv6InIPv6),
        .reverseTunnel(from: v2, link: "acc1", endpoint: sid2, mode: .ipv6InIPv6),
        // A switched prefix's host route through a neighbour (anchor switching).
        .forward(IPv6Prefix("2001:db8:2:7::/64")!, link: "up0", via: IPv6Address("fe80::2")!),
    ]

    /// A write the kernel refuses is handed back, remembered by the rule
    /// table and made once it can be: here a route on an access link that
    /// does not exist yet (ENODEV), retried after the link appears. A failed
    /// write for a rule no longer wanted is dropped instead.
    @Test func aRefusedWriteIsRetriedUntilItIsMade() throws {
        let ns = try Self.router("retry")
        let dp = try LinuxDataPlane(netlink: NetlinkSocket(namespace: ns.name), config: .init(uplink: "up0"))
        var table = RuleTable()
        let t0 = Instant(seconds: 1000)
        let rule = ForwardingRule.deliver(Self.p5, link: "acc2")
        let change = table.install(rule)
        let failures = try dp.apply([change])
        #expect(failures.map(\.change) == [change] && failures.first?.errno == ENODEV)
        for f in failures { table.failed(f.change, at: t0) }

        // Still missing at the first retry: refused again, backoff doubled.
        let first = table.dueRetries(at: t0 + 0.1)
        #expect(first == [change])
        for f in try dp.apply(first) { table.failed(f.change, at: t0 + 0.1) }
        #expect(table.nextRetry() == t0 + 0.3)

        try ns.ip(["link", "add", "acc2", "type", "veth", "peer", "name", "mn2"])
        try ns.ip(["link", "set", "acc2", "up"])
        let second = table.dueRetries(at: t0 + 0.3)
        #expect(try dp.apply(second).isEmpty)
        for c in second { table.succeeded(c) }
        #expect(table.pendingRetries == 0)
        #expect(try ns.ip(["-6", "route", "show", "proto", "177"]).contains("2001:db8:1:5::/64 dev acc2"))

        // A refused write whose rule is then given up is not retried.
        let other = ForwardingRule.deliver(Self.p6, link: "acc3")
        for f in try dp.apply([table.install(other)]) { table.failed(f.change, at: t0 + 1) }
        #expect(table.pendingRetries == 1)
        _ = table.remove(other)
        #expect(table.pendingRetries == 0 && table.dueRetries(at: t0 + 100).isEmpty)
    }

    @Test func installsReadsBackAndRemovesEveryKindOfRule() throws {
        let ns = try Self.router("dp")
        let dp = try LinuxDataPlane(netlink: NetlinkSocket(namespace: ns.name), config: .init(uplink: "up0"))
        #expect(try dp.apply(Self.rules.sorted { "\($0)" < "\($1)" }.map { .install($0) }).isEmpty)
        #expect(try dp.installed() == Self.rules)

        // iproute2 sees the same, in the shapes of DESIGN.md (or of BPFTunnels
        // on a kernel without seg6 tunnels, whose decapsulations are map entries).
        let routes = try ns.ip(["-6", "route", "show", "proto", "177"])
        let table = try ns.ip(["-6", "route", "show", "table", "1000"])
        if dp.bpf != nil {
            #expect(routes.contains("2001:db8:1:6::/64  encap bpf xmit dmm ipv6-in-ipv6 fc00:2::d6 from 2001:db8:ffff::1"), "\(routes)")
            #expect(routes.contains("2001:db8:1:7::/64  encap bpf xmit dmm srv6 fc00:3::d6 from 2001:db8:ffff::1"), "\(routes)")
            #expect(table.contains("default  encap bpf xmit dmm ipv6-in-ipv6 fc00:2::d6 from 2001:db8:ffff::1"), "\(table)")
            #expect(dp.bpf?.endpoints() == [Self.sid1: 0, IPv6Address("fc00:1::2001:db8:2:1")!: try dp.index(of: "acc1")])
            // Tunnels may arrive on any link: every one but loopback decapsulates.
            #expect(dp.bpf?.attached == Set(try ["up0", "core0", "acc1", "mn1"].map { try dp.index(of: $0) }))
        } else {
            #expect(routes.contains("2001:db8:1:6::/64  encap seg6 mode encap.red segs 1 [ fc00:2::d6 ] dev up0"), "\(routes)")
            #expect(routes.contains("2001:db8:1:7::/64  encap seg6 mode encap segs 1 [ fc00:3::d6 ] dev up0"), "\(routes)")
            #expect(routes.contains("fc00:1::d6  encap seg6local action End.DT6 table main dev up0"), "\(routes)")
            #expect(routes.contains("fc00:1::2001:db8:2:1  encap seg6local action End.DX6 nh6 :: dev acc1"), "\(routes)")
            #expect(table.contains("default  encap seg6 mode encap.red segs 1 [ fc00:2::d6 ] dev up0"), "\(table)")
        }
        #expect(routes.contains("2001:db8:1:5::/64 dev acc1"), "\(routes)")
        #expect(routes.contains("2001:db8:2:7::/64 via fe80::2 dev up0"), "\(routes)")
        #expect(routes.contains("unreachable 2001:db8:1::/48"), "\(routes)")
        let rules = try ns.ip(["-6", "rule", "show"])
        #expect(rules.contains("1000:\tfrom 2001:db8:2:1::/64 iif acc1 lookup 1000 proto 177"), "\(rules)")
        #expect(rules.contains("1000:\tfrom 2001:db8:3:1::/64 iif acc1 lookup 1000 proto 177"), "\(rules)")

        // Installing again changes nothing; a new far end replaces the old one.
        #expect(try dp.apply(Self.rules.map { .install($0) }).isEmpty)
        #expect(try dp.apply([.install(.encapsulate(Self.p6, endpoint: Self.sid3, mode: .ipv6InIPv6))]).isEmpty)
        var expected = Self.rules
        expected.remove(.encapsulate(Self.p6, endpoint: Self.sid2, mode: .ipv6InIPv6))
        expected.insert(.encapsulate(Self.p6, endpoint: Self.sid3, mode: .ipv6InIPv6))
        #expect(try dp.installed() == expected)

        // The anchor's table goes with its last rule; removing twice is fine.
        #expect(try dp.apply([.remove(.reverseTunnel(from: Self.v1, link: "acc1", endpoint: Self.sid2, mode: .ipv6InIPv6))]).isEmpty)
        #expect(try ns.ip(["-6", "route", "show", "table", "1000"]).contains("default"))
        #expect(try dp.apply(expected.map { .remove($0) }).isEmpty)
        #expect(try dp.installed().isEmpty)
        #expect(try ns.ip(["-6", "route", "show", "proto", "177"]).isEmpty)
        #expect(try ns.ip(["-6", "route", "show", "table", "1000"]).isEmpty)
        #expect(!(try ns.ip(["-6", "rule", "show"]).contains("proto 177")))
    }

    /// A restarted driver finds what its predecessor left and makes the
    /// kernel hold exactly what is wanted now, strays included.
    @Test func reconcilesAfterARestart() throws {
        let ns = try Self.router("rc")
        do {
            let before = try LinuxDataPlane(netlink: NetlinkSocket(namespace: ns.name), config: .init(uplink: "up0"))
            #expect(try before.apply(Self.rules.map { .install($0) }).isEmpty)
        }
        try ns.ip(["-6", "route", "add", "2001:db8:9::/64", "dev", "acc1", "proto", "177"])
        try ns.ip(["-6", "route", "add", "2001:db8:8::/64", "dev", "acc1", "proto", "static"])
        // A shape no version of the driver writes, under its protocol.
        try ns.ip(["-6", "route", "add", "blackhole", "fc00:1::99", "proto", "177"])
        let wanted: Set<ForwardingRule> = [
            .decapsulate(endpoint: Self.sid1),
            .deliver(Self.p7, link: "acc1"),
            .reverseTunnel(from: Self.v1, link: "acc1", endpoint: Self.sid3, mode: .ipv6InIPv6),
        ]
        let after = try LinuxDataPlane(netlink: NetlinkSocket(namespace: ns.name), config: .init(uplink: "up0"))
        let result = try after.reconcile(wanted)
        #expect(result.failures.isEmpty)
        #expect(try after.installed() == wanted)
        let routes = try ns.ip(["-6", "route", "show"])
        #expect(!routes.contains("2001:db8:9::/64"), "an owned stray goes")
        #expect(!routes.contains("fc00:1::99"), "an owned route of an unknown shape goes")
        #expect(routes.contains("2001:db8:8::/64"), "a route we do not own stays")
        let tables = try ns.ip(["-6", "route", "show", "table", "all", "proto", "177"])
        #expect(!tables.contains("fc00:2::d6"), "the table of an anchor no rule uses is gone: \(tables)")
    }

    /// On an uplink shared with a peer, the proxy entries make the router
    /// answer neighbour solicitations for its SIDs, so the peer reaches them
    /// as on-link neighbours; reconciling removes the ones no SID needs.
    @Test func proxyNeighboursAnswerForTheSIDs() throws {
        let ns = try Self.router("px"), peer = try TestNamespace("pxpeer")
        try ns.ip(["link", "set", "core0", "netns", peer.name])
        try peer.ip(["link", "set", "core0", "up"])
        try peer.ip(["-6", "addr", "add", "2001:db8:ffff::2/64", "dev", "core0", "nodad"])
        try peer.ip(["-6", "route", "add", "fc00:1::/64", "dev", "core0"])  // SIDs are on-link on the segment
        try ns.exec(["sysctl", "-qw", "net.ipv6.conf.all.forwarding=1", "net.ipv6.conf.up0.proxy_ndp=1", "net.ipv6.neigh.up0.proxy_delay=0"])
        var config = LinuxDataPlane.Config(uplink: "up0")
        config.proxyNeighbours = true
        let dp = try LinuxDataPlane(netlink: NetlinkSocket(namespace: ns.name), config: config)
        let binding = IPv6Address("fc00:1::2001:db8:2:1")!
        #expect(try dp.apply([.install(.decapsulate(endpoint: Self.sid1)), .install(.crossConnect(endpoint: binding, link: "acc1"))]).isEmpty)
        let up0 = try dp.index(of: "up0")
        #expect(try Set(dp.proxiedAddresses().filter { $0.interface == up0 }.map(\.address)) == [Self.sid1, binding])

        // The peer resolves both SIDs to the router's uplink.
        let mac = try ns.ip(["link", "show", "up0"]).components(separatedBy: "link/ether ")[1].prefix(17)
        for sid in [Self.sid1, binding] {
            _ = try? peer.exec(["python3", "-c", "import socket; socket.socket(socket.AF_INET6, socket.SOCK_DGRAM).sendto(b'x', ('\(sid)', 9))"])
            var entry = ""
            for _ in 0..<100 where !entry.contains("lladdr") {
                Thread.sleep(forTimeInterval: 0.03)
                entry = try peer.ip(["-6", "neigh", "show", "\(sid)", "dev", "core0"])
            }
            #expect(entry.contains("lladdr \(mac)"), "\(sid): \(entry)")
        }

        // Reconciling: a stray entry of ours goes, someone else's stays, and
        // a SID no longer wanted loses its entry with its route.
        try ns.ip(["-6", "neigh", "add", "proxy", "fc00:1::77", "dev", "up0", "proto", "177"])
        try ns.ip(["-6", "neigh", "add", "proxy", "fc00:1::78", "dev", "up0"])
        #expect(try dp.reconcile([.decapsulate(endpoint: Self.sid1)]).failures.isEmpty)
        #expect(try dp.proxiedAddresses().map(\.address) == [Self.sid1])
        let proxies = try ns.ip(["-6", "neigh", "show", "proxy"])
        #expect(proxies.contains("fc00:1::78") && !proxies.contains("fc00:1::77") && !proxies.contains("\(binding)"), "\(proxies)")
    }

    /// FM-buffer in the kernel path: packets for a buffered prefix are held
    /// (none reaches the node), and released in order into the route that
    /// replaces the buffer; over the packet limit, the excess is dropped and
    /// counted.
    @Test func aBufferedPrefixIsHeldAndReleasedInOrder() throws {
        let ns = try Self.router("bf")
        let node = try TestNamespace("bfn")
        try ns.ip(["link", "set", "mn1", "netns", node.name])
        try node.ip(["link", "set", "mn1", "up"])
        try node.ip(["-6", "addr", "add", "2001:db8:1:5::2/64", "dev", "mn1", "nodad"])
        try ns.ip(["-6", "addr", "add", "fe80::1/64", "dev", "acc1", "nodad"])
        try node.ip(["-6", "route", "add", "default", "via", "fe80::1", "dev", "mn1"])
        _ = try ns.exec(["sysctl", "-qw", "net.ipv6.conf.all.forwarding=1"])
        var config = LinuxDataPlane.Config(uplink: "up0")
        config.buffer = PacketBuffer.Limits(packets: 8, seconds: 5)
        let dp = try LinuxDataPlane(netlink: NetlinkSocket(namespace: ns.name), config: config)
        defer { dp.buffer?.stop() }
        #expect(try dp.apply([.install(.buffer(Self.p5))]).isEmpty)
        #expect(try dp.installed() == [.buffer(Self.p5)])
        #expect(try ns.ip(["-6", "route", "show", "proto", "177"]).contains("2001:db8:1:5::/64 dev dmmbuf"))

        // The node listens; ten datagrams numbered 0 to 9 go to it.
        let listener = Process()
        listener.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        listener.arguments = ["netns", "exec", node.name, "python3", "-c", Self.receiver]
        let output = Pipe()
        listener.standardOutput = output
        try listener.run()
        defer { if listener.isRunning { listener.terminate() } }
        Thread.sleep(forTimeInterval: 0.5)  // python starts and binds
        _ = try ns.exec(["python3", "-c", Self.sender])
        for _ in 0..<100 where dp.buffer?.holding(Self.p5) != 8 { Thread.sleep(forTimeInterval: 0.02) }
        #expect(dp.buffer?.holding(Self.p5) == 8)
        #expect(dp.buffer?.counters.dropped == 2, "two over the limit of 8")

        // Delivery replaces the buffer: the eight come out in order.
        #expect(try dp.apply([.install(.deliver(Self.p5, link: "acc1"))]).isEmpty)
        #expect(dp.buffer?.holding(Self.p5) == 0 && dp.buffer?.counters.released == 8)
        listener.waitUntilExit()
        let received = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(received == "0 1 2 3 4 5 6 7\n", "the datagrams in the order sent")
    }

    static let receiver = """
        import socket
        s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        s.bind(("2001:db8:1:5::2", 9999))
        s.settimeout(3)
        got = []
        try:
            while len(got) < 10:
                got.append(s.recv(100).decode())
        except socket.timeout:
            pass
        print(" ".join(got), flush=True)
        """

    static let sender = """
        import socket
        s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        for i in range(10):
            s.sendto(str(i).encode(), ("2001:db8:1:5::2", 9999))
        """

    @Test func refusalsAreReportedNotThrown() throws {
        let ns = try Self.router("rf")
        let dp = try LinuxDataPlane(netlink: NetlinkSocket(namespace: ns.name), config: .init(uplink: "up0"))
        let failures = try dp.apply([.install(.deliver(Self.p5, link: "nosuchlink")), .install(.deliver(Self.p6, link: "acc1"))])
        #expect(failures.count == 1 && failures[0].change == .install(.deliver(Self.p5, link: "nosuchlink")))
        #expect(try dp.installed() == [.deliver(Self.p6, link: "acc1")])
        #expect(throws: NetlinkSocket.Failure.self) { try NetlinkSocket(namespace: "dmmt-no-such-namespace") }
    }
}
