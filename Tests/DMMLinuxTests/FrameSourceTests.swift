import DMMWire
import Foundation
import DMMTestSupport
import Testing

@testable import DMMLinux

/// The link-layer source of the frames that arrive on an interface: how a
/// MAR names a node from its first frame.
@Suite(.enabled(if: TestNamespace.available || ProcessInfo.processInfo.environment["CI"] != nil, TestNamespace.skipReason))
struct FrameSourceTests {
    @Test func namesTheSenderOfAnArrivingFrameAndNotItself() throws {
        let (host, router) = try RawSocketTests.pair("fs")
        let frames = try FrameSource(interface: try RawSocketTests.interfaceIndex("b0", in: router), namespace: router.name)
        let echo = try ICMPv6Message.other(type: 128, code: 0, body: [0, 1, 0, 0]).encode(source: .unspecified, destination: .unspecified)
        // The router's own frame out of the interface is not a sender.
        let fromRouter = try RawSocket(protocol: ICMPv6Message.protocolNumber, namespace: router.name, icmpTypes: [])
        try fromRouter.send(echo, to: IPv6Address("ff02::1")!, interface: try RawSocketTests.interfaceIndex("b0", in: router), hopLimit: 255)
        // The host's answer (an Echo Reply from its kernel) and its own request are.
        let fromHost = try RawSocket(protocol: ICMPv6Message.protocolNumber, namespace: host.name, icmpTypes: [])
        try fromHost.send(echo, to: IPv6Address("ff02::1")!, interface: try RawSocketTests.interfaceIndex("a0", in: host), hopLimit: 255)
        try #require(isReadable(frames.fd, within: 2))
        let mac = try #require(frames.nextSender())
        #expect(mac == Self.macAddress("a0", in: host))
        var others: [[UInt8]] = []
        while let sender = frames.nextSender() { others.append(sender) }
        #expect(others.allSatisfy { $0 == mac }, "every sender named is the host, never the router itself")
    }

    static func macAddress(_ link: String, in ns: TestNamespace) -> [UInt8]? {
        guard let text = try? ns.ip(["-o", "link", "show", link]), let range = text.range(of: "link/ether ") else { return nil }
        return text[range.upperBound...].prefix(17).split(separator: ":").compactMap { UInt8($0, radix: 16) }
    }
}
