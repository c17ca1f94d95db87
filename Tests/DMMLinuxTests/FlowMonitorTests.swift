import DMMWire
import Foundation
import DMMTestSupport
import Testing

@testable import DMMLinux

struct FlowCounterTests {
    static let p1 = IPv6Prefix("2001:db8:1:1::/64")!, p2 = IPv6Prefix("2001:db8:2:1::/64")!
    static func flow(_ s: String, _ d: String, _ tuple: UInt8) -> FlowMonitor.Flow {
        FlowMonitor.Flow(source: IPv6Address(s)!, destination: IPv6Address(d)!, protocolNumber: 6, tuple: [tuple])
    }
    static func prefixOf(_ a: IPv6Address) -> IPv6Prefix? { [p1, p2].first { $0.contains(a) } }

    @Test func countsEachFlowOncePerPrefix() {
        var c = FlowCounter()
        let f1 = Self.flow("2001:db8:1:1::1", "2001:db8:cc::1", 1), f2 = Self.flow("2001:db8:cc::1", "2001:db8:1:1::1", 2)
        let f3 = Self.flow("2001:db8:1:1::1", "2001:db8:2:1::1", 3)
        #expect(c.apply(.started(f1), prefixOf: Self.prefixOf) == [Self.p1])
        #expect(c.apply(.started(f1), prefixOf: Self.prefixOf).isEmpty, "a repeated event counts once")
        _ = c.apply(.started(f2), prefixOf: Self.prefixOf)
        #expect(Set(c.apply(.started(f3), prefixOf: Self.prefixOf)) == [Self.p1, Self.p2])
        #expect(c.count(Self.p1) == 3 && c.count(Self.p2) == 1)
        for f in [f1, f2, f3, f3] { _ = c.apply(.ended(f), prefixOf: Self.prefixOf) }
        #expect(c.counts.isEmpty)
    }

    /// A dump corrects missed or late events.
    @Test func aDumpCorrectsTheCounts() {
        var c = FlowCounter()
        let f1 = Self.flow("2001:db8:1:1::1", "2001:db8:cc::1", 1), f2 = Self.flow("2001:db8:2:1::1", "2001:db8:cc::1", 2)
        _ = c.apply(.started(f1), prefixOf: Self.prefixOf)
        #expect(Set(c.reconcile(present: [.started(f2)], prefixOf: Self.prefixOf)) == [Self.p1, Self.p2])
        #expect(c.count(Self.p1) == 0 && c.count(Self.p2) == 1)
        #expect(c.reconcile(present: [.started(f2)], prefixOf: Self.prefixOf).isEmpty)
    }

    /// A dump read off the daemon's thread may predate the events applied
    /// while it ran: a flow that started or ended meanwhile keeps what its
    /// event said, and the next dump settles it.
    @Test func eventsDuringADumpOutweighIt() {
        var c = FlowCounter()
        let old = Self.flow("2001:db8:1:1::1", "2001:db8:cc::1", 1), new = Self.flow("2001:db8:2:1::1", "2001:db8:cc::1", 2)
        _ = c.apply(.started(old), prefixOf: Self.prefixOf)
        c.beginScan()
        _ = c.apply(.ended(old), prefixOf: Self.prefixOf)
        _ = c.apply(.started(new), prefixOf: Self.prefixOf)
        // The dump saw the old flow and not yet the new one.
        #expect(c.reconcile(present: [.started(old)], prefixOf: Self.prefixOf).isEmpty)
        #expect(c.count(Self.p1) == 0 && c.count(Self.p2) == 1)
        // Without a scan under way, a dump is the truth again.
        #expect(Set(c.reconcile(present: [.started(old)], prefixOf: Self.prefixOf)) == [Self.p1, Self.p2])
        #expect(c.count(Self.p1) == 1 && c.count(Self.p2) == 0)
    }
}

@Suite(.enabled(if: TestNamespace.available || ProcessInfo.processInfo.environment["CI"] != nil, TestNamespace.skipReason))
struct FlowMonitorTests {
    /// A TCP connection to the router: started with its first packet, ended
    /// as soon as it closes.
    @Test func followsATCPConnection() throws {
        let node = try TestNamespace("fmn"), router = try TestNamespace("fmr")
        try node.ip(["link", "add", "eth0", "type", "veth", "peer", "name", "mn1", "netns", router.name])
        try node.ip(["link", "set", "eth0", "up"])
        try router.ip(["link", "set", "mn1", "up"])
        try node.ip(["-6", "addr", "add", "2001:db8:1:1::1/64", "dev", "eth0", "nodad"])
        try router.ip(["-6", "addr", "add", "2001:db8:1:1::2/64", "dev", "mn1", "nodad"])
        // Connection tracking runs only where a rule uses it.
        try TestNamespace.run("/usr/sbin/ip", ["netns", "exec", router.name, "nft",
                                               "add table inet dmm; add chain inet dmm in { type filter hook input priority 0; }; add rule inet dmm in ct state new counter"])
        let monitor = try FlowMonitor(namespace: router.name)
        let server = Process()
        server.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        server.arguments = ["netns", "exec", router.name, "python3", "-c", """
            import socket
            s = socket.socket(socket.AF_INET6); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("2001:db8:1:1::2", 7777)); s.listen(1); s.settimeout(10)
            c, _ = s.accept(); c.recv(10); c.sendall(b"bye"); c.close()
            """]
        try server.run()
        defer { if server.isRunning { server.terminate() } }
        Thread.sleep(forTimeInterval: 0.5)
        try TestNamespace.run("/usr/sbin/ip", ["netns", "exec", node.name, "python3", "-c", """
            import socket
            c = socket.create_connection(("2001:db8:1:1::2", 7777), timeout=5); c.sendall(b"hi"); c.recv(10); c.close()
            """])
        server.waitUntilExit()
        // The closed connection's entry lingers in TIME_WAIT: a full read finds it.
        let scanner = try FlowScanner(namespace: router.name)
        defer { scanner.stop() }
        scanner.request()
        var ready = pollfd(fd: scanner.fd, events: Int16(POLLIN), revents: 0)
        #expect(poll(&ready, 1, 5000) == 1, "the scanner answers within 5 s")
        let scanned = try scanner.take()?.get() ?? []
        var events: [FlowMonitor.Event] = []
        var p = pollfd(fd: monitor.fd, events: Int16(POLLIN), revents: 0)
        for _ in 0..<20 where poll(&p, 1, 50) > 0 || events.isEmpty { events += try monitor.poll() }
        let tcp = events.filter {
            switch $0 {
            case .started(let f), .ended(let f): f.protocolNumber == 6 && f.source == IPv6Address("2001:db8:1:1::1")!
            }
        }
        #expect(tcp.first.map { if case .started = $0 { true } else { false } } == true, "\(events)")
        #expect(tcp.last.map { if case .ended = $0 { true } else { false } } == true, "\(events)")
        #expect(scanned.contains { if case .ended(let f) = $0 { f.protocolNumber == 6 && f.source == IPv6Address("2001:db8:1:1::1")! } else { false } },
                "the scanner's dump holds the closed connection, as ended: \(scanned)")
        var counter = FlowCounter()
        for e in tcp { _ = counter.apply(e) { IPv6Prefix("2001:db8:1:1::/64")!.contains($0) ? IPv6Prefix("2001:db8:1:1::/64")! : nil } }
        #expect(counter.counts.isEmpty, "the flow started and ended")
    }
}
