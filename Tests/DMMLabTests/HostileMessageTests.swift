import DMMLinux
import DMMTestSupport
import DMMWire
import Foundation
import Testing

@testable import DMMLab

/// Malformed and hostile messages sent at a running MAR: each is refused and
/// counted, and the kernel's forwarding state does not change.
@Suite(.serialized, .enabled(if: TestNamespace.available || ProcessInfo.processInfo.environment["CI"] != nil, TestNamespace.skipReason))
struct HostileMessageTests {
    @Test func aRunningMARRefusesAndCountsThem() throws {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("dmm-hostile-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: output) }
        let scenario = try Scenario(yaml: "topology: pair\noutput: \(output)\nnode:\n  moves: [mar2]")
        let lab = try Lab(scenario: scenario, executable: LabDemoTests.dmm)
        defer { #expect(lab.tearDown().isEmpty) }
        try lab.build()
        try lab.startDaemons()
        try lab.attach(to: "mar1")
        try lab.wait("the node's prefix", seconds: 10) { try lab.preferred() != nil }
        let hnp = IPv6Prefix(covering: try lab.preferred()!, length: 64)
        let mar1 = lab.address(of: "mar1"), mar2 = lab.address(of: "mar2"), cn = lab.correspondentAddress
        let routesBefore = try lab.ip("mar1", ["-6", "route", "show", "table", "all", "proto", "177"])

        func pbu(_ node: String, _ prefix: IPv6Prefix) -> MobilityHeader {
            MobilityHeader(.bindingUpdate(BindingUpdate(sequence: 1, flags: [.acknowledge, .homeRegistration, .proxyRegistration],
                                                        lifetime: 75, options: [
                .mobileNodeIdentifier(.nai(node)), .homeNetworkPrefix(prefix), .handoffIndicator(.handoffSameInterface),
                .accessTechnologyType(.ieee8023), .timestamp(Timestamp(unixSeconds: Date().timeIntervalSince1970)),
            ])))
        }
        let fromCN = try RawSocket(protocol: MobilityHeader.protocolNumber, namespace: lab.ns("cn"))
        let fromMAR2 = try RawSocket(protocol: MobilityHeader.protocolNumber, namespace: lab.ns("mar2"))
        var good = try pbu("mn1", hnp).encode(source: cn, destination: mar1)
        // A Header Len that claims more than arrives.
        var long = good
        long[1] = 40
        try fromCN.send(long, to: mar1, from: cn)
        // A bad checksum.
        good[20] ^= 0x55
        try fromCN.send(good, to: mar1, from: cn)
        // Not even a Mobility Header.
        try fromCN.send([0x3b, 0, 0, 0], to: mar1, from: cn)
        // A well-formed PBU from a MAR it does not know.
        try fromCN.send(try pbu("mn1", hnp).encode(source: cn, destination: mar1), to: mar1, from: cn)
        // A known MAR claiming the node's prefix for another node.
        try fromMAR2.send(try pbu("intruder", hnp).encode(source: mar2, destination: mar1), to: mar1, from: mar2)

        try lab.wait("the MAR to count all five", seconds: 5) {
            let s = try lab.state("mar1")
            let malformed = (s["malformed"] as? [String: Int]) ?? [:], rejected = (s["rejected"] as? [String: Int]) ?? [:]
            return malformed.values.reduce(0, +) == 3 && rejected.values.reduce(0, +) == 2
        }
        let s = try lab.state("mar1")
        #expect((s["malformed"] as? [String: Int])?["bad checksum"] == 1, "\(s)")
        #expect((s["rejected"] as? [String: Int]) == ["MAG_NOT_AUTHORIZED_FOR_PROXY_REG": 1, "NOT_AUTHORIZED_FOR_HOME_NETWORK_PREFIX": 1], "\(s)")
        #expect(try lab.ip("mar1", ["-6", "route", "show", "table", "all", "proto", "177"]) == routesBefore)
        #expect(try lab.preferred().map { hnp.contains($0) } == true, "the node keeps its prefix")
    }

    /// A packet for a prefix of a MAR's block that nobody holds is refused
    /// there (ICMPv6 destination unreachable), not bounced between the MAR and
    /// the core until its hop limit runs out.
    @Test func packetsForAnUnusedPrefixAreRefusedNotLooped() throws {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("dmm-unreachable-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: output) }
        let (lab, _) = try Lab.withNode("topology: pair\nnode:\n  moves: [mar2]", output: output)
        defer { #expect(lab.tearDown().isEmpty) }
        let ping = try Command.run("/usr/sbin/ip", ["netns", "exec", lab.ns("cn"), "ping", "-c", "1", "-W", "2", "2001:db8:1:ff::1"])
        #expect(ping.out.contains("From \(lab.address(of: "mar1")) icmp_seq=1 Destination unreachable"), "\(ping.out)\(ping.err)")
    }
}
