import DMMWire
import Foundation
import DMMTestSupport
import Testing

@testable import DMMLinux

/// Raw Mobility Header and ICMPv6 sockets between two namespaces.
@Suite(.enabled(if: TestNamespace.available || ProcessInfo.processInfo.environment["CI"] != nil, TestNamespace.skipReason))
struct RawSocketTests {
    static let a = IPv6Address("2001:db8:ab::1")!, b = IPv6Address("2001:db8:ab::2")!

    /// Two namespaces joined by a veth pair, addresses usable at once.
    static func pair(_ label: String) throws -> (TestNamespace, TestNamespace) {
        let na = try TestNamespace(label + "a"), nb = try TestNamespace(label + "b")
        for ns in [na, nb] {
            try TestNamespace.run("/usr/sbin/ip", ["netns", "exec", ns.name, "sysctl", "-qw", "net.ipv6.conf.default.accept_dad=0"])
        }
        // B is a router: only routers join ff02::2, where solicitations go.
        try TestNamespace.run("/usr/sbin/ip", ["netns", "exec", nb.name, "sysctl", "-qw", "net.ipv6.conf.all.forwarding=1"])
        try na.ip(["link", "add", "a0", "type", "veth", "peer", "name", "b0", "netns", nb.name])
        try na.ip(["link", "set", "a0", "up"])
        try nb.ip(["link", "set", "b0", "up"])
        try na.ip(["-6", "addr", "add", "\(a)/64", "dev", "a0", "nodad"])
        try nb.ip(["-6", "addr", "add", "\(b)/64", "dev", "b0", "nodad"])
        return (na, nb)
    }

    @Test func mobilityHeaderTravelsWithItsAddresses() throws {
        let (na, nb) = try Self.pair("mh")
        let sender = try RawSocket(protocol: MobilityHeader.protocolNumber, namespace: na.name)
        let receiver = try RawSocket(protocol: MobilityHeader.protocolNumber, namespace: nb.name, bindTo: Self.b)
        let pbu = MobilityHeader(.bindingUpdate(BindingUpdate(sequence: 9, flags: [.acknowledge, .proxyRegistration], lifetime: 60,
                                                              options: [.homeNetworkPrefix(IPv6Prefix("2001:db8:1:1::/64")!)])))
        try sender.send(try pbu.encode(source: Self.a, destination: Self.b), to: Self.b, from: Self.a)
        try #require(receiver.readable(within: 2))
        let d = try receiver.receive()
        #expect(d.source == Self.a && d.destination == Self.b && d.interface > 0)
        #expect(try MobilityHeader.decode(d.bytes, checksum: .verify(source: d.source, destination: d.destination)) == pbu)
        // A corrupted checksum reaches the daemon, which can count it.
        var bad = try pbu.encode(source: Self.a, destination: Self.b)
        bad[4] ^= 0xff
        try sender.send(bad, to: Self.b, from: Self.a)
        try #require(receiver.readable(within: 2))
        let d2 = try receiver.receive()
        #expect(throws: WireError.self) { try MobilityHeader.decode(d2.bytes, checksum: .verify(source: d2.source, destination: d2.destination)) }
    }

    /// A step's datagrams leave in one call; one that cannot be sent (too
    /// long for UDP) is reported by its index and the others still go, in order.
    @Test func udpDatagramsGoTogetherAndAFailureIsNamed() throws {
        let (na, nb) = try Self.pair("ud")
        let sender = try UDPSocket(bindTo: Self.a, port: 8805, namespace: na.name)
        let receiver = try UDPSocket(bindTo: Self.b, port: 8805, namespace: nb.name)
        let failures = sender.send([([1, 2, 3], Self.b), ([UInt8](repeating: 0, count: 70_000), Self.b), ([4, 5], Self.b)], port: 8805)
        #expect(failures.map(\.index) == [1], "\(failures)")
        #expect(failures.first?.error.description.contains("send to [\(Self.b)]:8805") == true)
        var got: [[UInt8]] = []
        while isReadable(receiver.fd, within: 2) {
            let d = try receiver.receive()
            #expect(d.source == Self.a && d.destination == Self.b && d.sourcePort == 8805)
            got.append(d.bytes)
            if got.count == 2 { break }
        }
        #expect(got == [[1, 2, 3], [4, 5]])
        #expect(sender.send([], port: 8805).isEmpty)
    }

    /// A burst of 5,000 PFCP-sized datagrams at a socket nobody reads yet
    /// (a controller's answers from many agents' windows, say) waits whole:
    /// with Linux's default receive buffer, 256 of them did.
    @Test func aBurstOfDatagramsWaitsWholeForItsReader() throws {
        let (na, nb) = try Self.pair("ub")
        let sender = try UDPSocket(bindTo: Self.a, port: 8805, namespace: na.name)
        let receiver = try UDPSocket(bindTo: Self.b, port: 8805, namespace: nb.name)
        let burst = (0..<5000).map { i in ([UInt8](repeating: UInt8(truncatingIfNeeded: i), count: 150), Self.b) }
        #expect(sender.send(burst, port: 8805).isEmpty)
        var count = 0
        while isReadable(receiver.fd, within: 1) {
            let d = try receiver.receive()
            #expect(d.bytes == burst[count].0)
            count += 1
            if count == burst.count { break }
        }
        #expect(count == 5000)
    }

    @Test func routerSolicitationsComeWithTheirHopLimit() throws {
        let (na, nb) = try Self.pair("nd")
        let router = try RawSocket(protocol: ICMPv6Message.protocolNumber, namespace: nb.name, icmpTypes: [133])
        let host = try RawSocket(protocol: ICMPv6Message.protocolNumber, namespace: na.name, icmpTypes: [134])
        let index = try Self.interfaceIndex("a0", in: na)
        let rs = try ICMPv6Message.routerSolicitation(RouterSolicitation()).encode(source: .unspecified, destination: .unspecified)
        try host.send(rs, to: IPv6Address("ff02::2")!, interface: index, hopLimit: 255)
        try #require(router.readable(within: 2))
        let d = try router.receive()
        #expect(d.hopLimit == 255 && d.destination == IPv6Address("ff02::2")! && d.source.isLinkLocal)
        #expect(try ICMPv6Message.decode(d.bytes, checksum: .verify(source: d.source, destination: d.destination))
                == .routerSolicitation(RouterSolicitation()))
        // One that a router one hop away could have forwarded: the daemon drops it (RFC 4861 section 6.1.1).
        try host.send(rs, to: IPv6Address("ff02::2")!, interface: index, hopLimit: 64)
        try #require(router.readable(within: 2))
        #expect(try router.receive().hopLimit == 64)
        // The answer goes back out of the interface it came in on.
        let ra = ICMPv6Message.routerAdvertisement(RouterAdvertisement(routerLifetime: 1800, options: [.mtu(1460)]))
        try router.send(try ra.encode(source: .unspecified, destination: .unspecified), to: d.source, interface: d.interface, hopLimit: 255)
        try #require(host.readable(within: 2))
        let answer = try host.receive()
        #expect(answer.hopLimit == 255)
        #expect(try ICMPv6Message.decode(answer.bytes, checksum: .skip) == ra)
    }

    static func interfaceIndex(_ name: String, in ns: TestNamespace) throws -> Int32 {
        let line = try ns.ip(["-o", "link", "show", name])
        return Int32(line.split(separator: ":").first.map(String.init) ?? "") ?? 0
    }
}
