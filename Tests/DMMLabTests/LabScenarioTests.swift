import DMMCore
import DMMLinux
import DMMTestSupport
import DMMWire
import Foundation
import Testing

@testable import DMMLab
import DMMNode

struct ScenarioTests {
    @Test func theShippedDemoReads() throws {
        let s = try Scenario(yaml: try Scenario.demoText())
        #expect(s.topology.name == "star" && s.start == "mar1" && s.moves == ["mar2", "mar3", "mar1"])
        #expect(s.topology.nodes(.accessRouter).map(\.name) == ["mar1", "mar2", "mar3"])
    }

    @Test func everyShippedTopologyReads() throws {
        for name in Scenario.shippedTopologies {
            let t = try Topology(yaml: try Scenario.resource(name))
            #expect(t.name == name && t.nodes(.mobileNode).count == 1 && t.nodes(.accessRouter).count >= 2)
        }
    }

    @Test func badScenariosNameTheProblem() {
        #expect(throws: DMMNode.ConfigReader.Invalid(description: "key 'node': 'mar4' is not an access router of the topology (mar1, mar2, mar3)")) {
            try Scenario(yaml: "node:\n  moves: [mar2, mar4]")
        }
        #expect(throws: DMMNode.ConfigReader.Invalid(description: "key 'node' is required")) { try Scenario(yaml: "topology: star") }
        #expect(throws: DMMNode.ConfigReader.Invalid(description: "unknown key 'mars'")) { try Scenario(yaml: "mars: 3\nnode:\n  moves: [mar2]") }
        #expect(throws: DMMNode.ConfigReader.Invalid(
            description: "key 'topology': 'ring' is neither a shipped topology (star, pair, tree) nor a readable file")) {
            try Scenario(yaml: "topology: ring\nnode:\n  moves: [mar2]")
        }
        #expect(throws: DMMNode.ConfigReader.Invalid(
            description: "key 'node': dnpp: the listed prefixes are used by the central controller; add control: central")) {
            try Scenario(yaml: "node:\n  moves: [mar2]\n  dnpp: true")
        }
    }
}

/// The demo scenario, for real, as CI runs it: the daemons on namespaces, a
/// long TCP connection and a ping through three moves and back home; under
/// the distributed scheme and under central control (RFC 8818 Figure 1:
/// the controller decides, the access routers report and carry out).
@Suite(.serialized, .enabled(if: TestNamespace.available || ProcessInfo.processInfo.environment["CI"] != nil, TestNamespace.skipReason))
struct LabDemoTests {
    static let dmm = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("dmm").path

    @Test(arguments: ControlPlane.allCases) func theDemoScenarioPasses(control: ControlPlane) throws {
        var text = try Scenario.demoText()
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("dmm-lab-\(control)-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: output) }
        text = text.replacingOccurrences(of: "output: lab-output", with: "output: \(output)")
            .replacingOccurrences(of: "dwell: 3", with: "dwell: 1.5") + "\ncontrol: \(control)\n"
        let result = LabRun.run(try Scenario(yaml: text), executable: Self.dmm)
        try #require(result.passed, "\(result.summary)\n\(result.timeline.joined(separator: "\n"))")
        #expect(result.moves.count == 3 && result.moves.allSatisfy { $0.newConnectionUsedNewestPrefix })
        #expect(result.moves.allSatisfy { $0.firstEchoMilliseconds != nil && $0.downlinkMilliseconds != nil && $0.uplinkMilliseconds != nil })
        let stream = try #require(result.stream)
        #expect(stream.error == "none" && stream.sent == stream.echoed && stream.sent > 100)
        try result.write(to: URL(fileURLWithPath: output))
        let html = try String(contentsOfFile: output + "/report.html", encoding: .utf8)
        #expect(html.contains("<svg") && html.contains("mar1 &rarr; mar2"))
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: output + "/result.json"))) as? [String: Any]
        #expect(json?["passed"] as? Bool == true)
        // The first prefix, with its flows, served at mar2 from its anchor mar1.
        let atMAR2 = try #require(result.phases.first { $0.label.hasPrefix("at mar2") })
        #expect(atMAR2.prefixes.contains { $0.anchor == "mar1" && $0.servedAt == "mar2" }, "\(atMAR2)")
        guard control == .central else { return }
        // FM-buffer at the anchor through each move: whatever it held went
        // on to the node, nothing dropped.
        for m in result.moves {
            let b = try #require(m.buffered, "move to \(m.to): no buffer counts")
            #expect(b["released", default: 0] == b["held", default: 0] && b["dropped", default: 0] == 0, "move to \(m.to): \(b)")
        }
        // Every forwarding entry came over PFCP, in the ladder diagram too,
        // and Wireshark reads every PFCP packet of the captures.
        for type in ["Session Establishment Request", "Session Modification Request", "Session Deletion Request", "attached"] {
            #expect(result.signalling.contains { $0.label.hasPrefix(type) }, "\(type) in the ladder")
        }
        #expect(!result.signalling.contains { $0.refused })
        for mar in ["mar1", "mar2", "mar3"] {
            let tshark = try Command.run("/usr/bin/tshark", ["-r", output + "/\(mar).pcapng", "-Y", "pfcp", "-T", "fields", "-e", "pfcp.msg_type",
                                                             "-e", "_ws.malformed"])
            let rows = tshark.out.split(separator: "\n")
            #expect(!rows.isEmpty && !rows.contains { $0.split(separator: "\t").count > 1 }, "\(mar): \(tshark.out)\(tshark.err)")
        }
    }
}

/// End.DX6: the far end of each binding is a SID of its own, cross-connected
/// to the node's link, and a TCP stream goes through two moves with it. The
/// MARs name the node by its link here, the other lab tests by its
/// link-layer address (the default).
@Suite(.serialized, .enabled(if: TestNamespace.available || ProcessInfo.processInfo.environment["CI"] != nil, TestNamespace.skipReason))
struct EndDX6LabTests {
    @Test func eachBindingEndsAtItsOwnSID() throws {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("dmm-dx6-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: output) }
        let (lab, hnp1) = try Lab.withNode("decapsulation: end.dx6\nnode-identity: interface-name\nnode:\n  moves: [mar2, mar3]",
                                           output: output)
        defer { #expect(lab.tearDown().isEmpty) }
        try lab.startStream()
        // Only a prefix whose flows the anchor reported follows the node;
        // on a loaded machine the report can come after the stream's start.
        try lab.wait("the stream's flow reported to the location server", seconds: 10) {
            (try lab.state(lab.locationServer)["updates"] as? Int ?? 0) >= 1
        }
        for i in 1...3 where !tunnelsAreBPF {
            #expect(try lab.ip("mar\(i)", ["sr", "tunsrc", "show"]).contains("tunsrc addr \(lab.address(of: "mar\(i)"))"), "tunnels leave from the MAR's address")
        }
        // The binding's SID: the visited MAR's locator, the prefix as function.
        func sid(_ mar: Int) -> String { IPv6Address(high: lab.tunnelEndpoint(of: "mar\(mar)").high, low: hnp1.address.high).description }
        _ = try lab.move(from: "mar1", to: "mar2")
        try lab.wait("mar1's tunnel toward mar2's SID for the binding", seconds: 10) {
            try lab.ownedRoutes("mar1").contains { encapsulates($0, toward: "\(sid(2))") && (!tunnelsAreBPF || $0.contains("from \(lab.address(of: "mar1"))")) }
        }
        let mar2 = try lab.ownedRoutes("mar2")
        // eBPF tunnels keep the SID in a map (LinuxDataPlaneTests reads it);
        // the stream below crossing it is the check here.
        #expect(tunnelsAreBPF || mar2.contains { $0.hasPrefix("\(sid(2))  encap seg6local action End.DX6 nh6 :: dev mn1") }, "\(mar2)")
        _ = try lab.move(from: "mar2", to: "mar3")
        try lab.wait("mar1's tunnel toward mar3's SID for the binding", seconds: 10) {
            try lab.ownedRoutes("mar1").contains { encapsulates($0, toward: "\(sid(3))") }
        }
        try lab.wait("mar2's SID for the binding to go", seconds: 5) { !(try lab.ownedRoutes("mar2").contains { $0.contains(sid(2)) }) }
        try lab.expectStreamIntact()
    }
}

/// By default a MAR names the node by its link-layer address, which it asks
/// for at link up (the node does not solicit again after a move).
@Suite(.serialized, .enabled(if: TestNamespace.available || ProcessInfo.processInfo.environment["CI"] != nil, TestNamespace.skipReason))
struct NodeIdentityLabTests {
    @Test func theNodeIsNamedByItsLinkLayerAddress() throws {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("dmm-identity-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: output) }
        let (lab, _) = try Lab.withNode("topology: pair\nnode:\n  moves: [mar2]", output: output)
        defer { #expect(lab.tearDown().isEmpty) }
        let mac = String(try lab.ip("mn", ["link", "show", "eth0"]).components(separatedBy: "link/ether ")[1].prefix(17))
        func node(at mar: String) throws -> String? {
            (try lab.state(mar)["attachments"] as? [[String: Any]])?.first?["node"] as? String
        }
        #expect(try node(at: "mar1") == mac)
        _ = try lab.move(from: "mar1", to: "mar2")
        try lab.wait("mar2 to name the node", seconds: 5) { try node(at: "mar2") != nil }
        #expect(try node(at: "mar2") == mac, "found again after the move, with no Router Solicitation")
    }

    /// A move's interruption is counted from the moment the link comes up:
    /// the time the lab gives a move is not later than the new MAR's own
    /// record of the link coming up (it was, by up to 50 ms, while the lab
    /// timed the end of an `ip` process).
    @Test func aMoveIsTimedFromTheLinkComingUp() throws {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("dmm-movetime-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: output) }
        let (lab, _) = try Lab.withNode("topology: pair\nnode:\n  moves: [mar2]", output: output)
        defer { #expect(lab.tearDown().isEmpty) }
        let t = try lab.move(from: "mar1", to: "mar2")
        func linkUp() throws -> Double? {
            let log = try String(contentsOfFile: output + "/mar2.log", encoding: .utf8)
            return log.split(separator: "\n").first { $0.contains("event=link-up") }
                .flatMap { $0.split(separator: " ").first?.dropFirst("time=".count) }.flatMap { Double($0) }
        }
        try lab.wait("mar2 to log the link coming up", seconds: 5) { try linkUp() != nil }
        let up = try #require(try linkUp())
        #expect(t <= up, "the move is timed \(String(format: "%.3f", (t - up) * 1000)) ms after mar2 saw the link come up")
    }
}

/// `dmm lab` names every missing prerequisite with the package that brings
/// it, exits non-zero and builds nothing. Here the programs are hidden by an
/// empty PATH; root and the kernel's SRv6 are what CI has.
struct PrerequisiteTests {
    @Test func theLabRefusesToStartWithoutItsPrograms() throws {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("dmm-prereq-\(getpid())").path
        let file = output + ".yaml"
        try "name: prereq\noutput: \(output)\nnode:\n  moves: [mar2]\n".write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let r = try Command.run("/usr/bin/env", ["PATH=/var/empty", LabDemoTests.dmm, "lab", "run", file])
        #expect(r.status == 1)
        #expect(r.err.contains("the program ip: Debian package iproute2"), "\(r.err)")
        #expect(r.err.contains("the program dumpcap: Debian package tshark"), "\(r.err)")
        #expect(r.err.contains("scripts/setup"))
        #expect(r.err.contains("the program sysctl: Debian package procps"))
        #expect(!FileManager.default.fileExists(atPath: output), "nothing was built")
    }
}

/// The flat scheme on the tree topology: moves under one aggregation router
/// and across to the other, whose tunnels cross the border router; under
/// each control plane.
@Suite(.serialized, .enabled(if: TestNamespace.available || ProcessInfo.processInfo.environment["CI"] != nil, TestNamespace.skipReason))
struct TreeTopologyLabTests {
    /// The node moves ar1 -> ar2 (the same aggregation router) -> ar3 (the
    /// other) -> ar1.
    static func scenario(_ control: ControlPlane, _ forwarding: ForwardingMethod = .indirection, output: String) throws -> Scenario {
        try Scenario(yaml: """
            name: tree-\(control)-\(forwarding.rawValue)
            topology: tree
            control: \(control)
            forwarding: \(forwarding.rawValue)
            idle-grace: 1
            output: \(output)
            node:
              start: ar1
              moves: [ar2, ar3, ar1]
              dwell: 1.5
            """)
    }

    @Test(arguments: ControlPlane.allCases) func theFlatSchemeRunsOnTheTree(control: ControlPlane) throws {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("dmm-tree-\(control)-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: output) }
        let scenario = try Self.scenario(control, output: output)
        #expect(scenario.topology.path(from: "ar2", to: "ar3") == ["ar2", "agg1", "border", "agg2", "ar3"])
        let result = LabRun.run(scenario, executable: LabDemoTests.dmm)
        try #require(result.passed, "\(result.summary)\n\(result.timeline.joined(separator: "\n"))")
        #expect(result.moves.map(\.to) == ["ar2", "ar3", "ar1"] && result.moves.allSatisfy(\.newConnectionUsedNewestPrefix))
        #expect(result.moves.allSatisfy { $0.signallingMessages > 0 && $0.downlinkMilliseconds != nil })
        let stream = try #require(result.stream)
        #expect(stream.error == "none" && stream.sent == stream.echoed && stream.sent > 100)
    }

    /// RFC 8818 sections 5.1 and 5.2 on the tree, against indirection for
    /// the same moves: with anchor switching the moved flow takes the direct
    /// path (its hop count at the node is the direct path's), exactly the
    /// routers whose next hop changed are updated, and once the flows end no
    /// host route is left (`LabRun` checks each and fails the run otherwise).
    @Test func anchorSwitchingTakesTheDirectPathWhereIndirectionStretchesIt() throws {
        func run(_ forwarding: ForwardingMethod) throws -> LabRun.Result {
            let output = FileManager.default.temporaryDirectory.appendingPathComponent("dmm-tree-\(forwarding)-\(getpid())").path
            defer { try? FileManager.default.removeItem(atPath: output) }
            return LabRun.run(try Self.scenario(.central, forwarding, output: output), executable: LabDemoTests.dmm)
        }
        let switched = try run(.anchorSwitching)
        try #require(switched.passed, "\(switched.summary)\n\(switched.timeline.joined(separator: "\n"))")
        #expect(switched.moves.map { $0.hops } == [3, 3, 3] && switched.moves.allSatisfy { $0.hops == $0.directHops })
        // Figure 10: under one aggregation router the paths meet at agg1.
        #expect(switched.moves[0].routersUpdated == ["agg1", "ar1", "ar2"])
        #expect(switched.moves.allSatisfy { $0.routersUpdated == $0.nextHopChanged })
        // The report's path of the moved prefix, read from the kernels.
        let phase = try #require(switched.phases.first { $0.label.hasPrefix("at ar3") })
        #expect(phase.prefixes.first { $0.anchor == "ar1" }?.path == ["cn", "border", "agg2", "ar3", "mn"])

        let indirect = try run(.indirection)
        try #require(indirect.passed, "\(indirect.summary)")
        // Through ar1 and a tunnel: ar1, then ar2 (or ar3) after decapsulation.
        #expect(indirect.moves.map { $0.hops } == [4, 4, 3], "\(indirect.summary)")
    }
}

/// A node that lists its previous prefixes in its Router Solicitation
/// (I-D.jhlee-dmm-dnpp), as `dmm lab traffic solicit` makes it do each time
/// its link comes up: the access router reports them and the controller
/// uses them (`LabRun` fails a move where it used none), and Wireshark
/// reads the solicitation with its Prefix Information option.
@Suite(.serialized, .enabled(if: TestNamespace.available || ProcessInfo.processInfo.environment["CI"] != nil, TestNamespace.skipReason))
struct PreviousPrefixesLabTests {
    @Test func theControllerUsesThePrefixesTheNodeLists() throws {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("dmm-dnpp-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: output) }
        let scenario = try Scenario(yaml: """
            name: dnpp
            topology: pair
            control: central
            idle-grace: 1
            output: \(output)
            node:
              start: mar1
              moves: [mar2, mar1]
              dwell: 1.5
              dnpp: true
            """)
        let result = LabRun.run(scenario, executable: LabDemoTests.dmm)
        try #require(result.passed, "\(result.summary)\n\(result.timeline.joined(separator: "\n"))")
        let p1 = try #require(result.stream.flatMap { IPv6Address($0.source) }.map { IPv6Prefix(covering: $0, length: 64) })
        #expect(result.moves[0].listed == ["\(p1)"] && result.moves[0].listedUsed == 1, "\(result.summary)")
        #expect(result.signalling.contains { $0.label.contains("listing \(p1)") })
        let tshark = try Command.run("/usr/bin/tshark", ["-r", output + "/mar2.pcapng", "-Y", "icmpv6.type == 133", "-T", "fields",
                                                         "-e", "icmpv6.opt.prefix", "-e", "icmpv6.opt.prefix.length", "-e", "_ws.malformed"])
        #expect(tshark.out.split(separator: "\n").contains("\(p1.address)\t64\t"), "\(tshark.out)\(tshark.err)")
    }
}
