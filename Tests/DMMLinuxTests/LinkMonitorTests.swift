import Foundation
import DMMTestSupport
import Testing

@testable import DMMLinux

@Suite(.enabled(if: TestNamespace.available || ProcessInfo.processInfo.environment["CI"] != nil, TestNamespace.skipReason))
struct LinkMonitorTests {
    /// Carrier up and down, and a link moved away to another namespace.
    @Test func seesLinksComeAndGo() throws {
        let router = try TestNamespace("lm"), node = try TestNamespace("lmn")
        let monitor = try LinkMonitor(namespace: router.name)
        let initial = try monitor.current()
        #expect(initial == [], "lo is down in a new namespace")
        try router.ip(["link", "add", "mn1", "type", "veth", "peer", "name", "eth0", "netns", node.name])
        try router.ip(["link", "set", "mn1", "up"])
        let early = try Self.events(monitor, expected: 1)
        #expect(early.isEmpty, "no carrier while the node's end is down")
        try node.ip(["link", "set", "eth0", "up"])
        let up = try Self.events(monitor)
        #expect(up.count == 1)
        guard case .up("mn1", let index)? = up.first else { Issue.record("\(up)"); return }
        #expect(index > 0)
        try node.ip(["link", "set", "eth0", "down"])
        #expect(try Self.events(monitor) == [.down("mn1")])
        try node.ip(["link", "set", "eth0", "up"])
        #expect(try Self.events(monitor).count == 1)
        let elsewhere = try TestNamespace("lmo")
        try router.ip(["link", "set", "mn1", "netns", elsewhere.name])
        #expect(try Self.events(monitor) == [.down("mn1")])
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
