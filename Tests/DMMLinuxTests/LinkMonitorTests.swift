import Foundation
import DMMTestSupport
import Testing

@testable import DMMLinux

@Suite(.enabled(if: TestNamespace.available || ProcessInfo.processInfo.environment["CI"] != nil, TestNamespace.skipReason))
struct LinkMonitorTests {
    /// A link is offered for setup when it appears and when it is
    /// administratively up again (its addresses were flushed), not when it
    /// leaves; it is up once it has carrier and the kernel has acted on it.
    @Test func seesLinksComeAndGo() throws {
        let router = try TestNamespace("lm"), node = try TestNamespace("lmn")
        let monitor = try LinkMonitor(namespace: router.name)
        #expect(try monitor.current() == [.needsSetup("lo", index: 1)], "lo is there, and down in a new namespace")
        // Index 7: the two ends' indexes differ, so carrier changes are urgent for the kernel.
        try router.ip(["link", "add", "mn1", "index", "7", "type", "veth", "peer", "name", "eth0", "netns", node.name])
        #expect(try Self.events(monitor) == [.needsSetup("mn1", index: 7)])
        try router.ip(["link", "set", "mn1", "up"])
        #expect(try Self.events(monitor, expected: 1).isEmpty, "no carrier while the node's end is down, and set up already")
        try node.ip(["link", "set", "eth0", "up"])
        #expect(try Self.events(monitor) == [.up("mn1", index: 7)])
        // IPv6 has configured the link by then: a Router Advertisement to
        // ff02::1 has the multicast route it needs.
        #expect(try router.ip(["-6", "route", "show", "table", "local", "dev", "mn1"]).contains("multicast ff00::/8"))
        try node.ip(["link", "set", "eth0", "down"])
        #expect(try Self.events(monitor) == [.down("mn1")])
        try node.ip(["link", "set", "eth0", "up"])
        #expect(try Self.events(monitor) == [.up("mn1", index: 7)])
        try router.ip(["link", "set", "mn1", "down"])
        #expect(try Self.events(monitor) == [.down("mn1")])
        try router.ip(["link", "set", "mn1", "up"])
        #expect(try Self.events(monitor, expected: 2) == [.needsSetup("mn1", index: 7), .up("mn1", index: 7)])
        let elsewhere = try TestNamespace("lmo")
        try router.ip(["link", "set", "mn1", "netns", elsewhere.name])
        #expect(try Self.events(monitor, expected: 3) == [.down("mn1"), .removed("mn1")], "a link leaving is not offered for setup")
    }

    /// Events arrive asynchronously, and a veth's carrier change can come up
    /// to a second late when its two ends have the same interface index
    /// (DESIGN.md): collect for 1.5 s, or until `expected` events came.
    static func events(_ m: LinkMonitor, expected: Int = 1) throws -> [LinkMonitor.Event] {
        var p = pollfd(fd: m.fd, events: Int16(POLLIN), revents: 0)
        var out: [LinkMonitor.Event] = []
        let end = Date().addingTimeInterval(1.5)
        while Date() < end && out.count < expected {
            if poll(&p, 1, 50) > 0 { out += try m.poll() }
        }
        return out
    }
}
