import DMMTestSupport
import DMMWire
import Foundation
import Testing

@testable import DMMLab

/// Daemons killed with SIGKILL mid-scenario and started again: the location
/// server loses no session; a MAR recovers its bindings, removes what is
/// stale, and the node's long TCP connection never notices.
@Suite(.serialized, .enabled(if: TestNamespace.available || ProcessInfo.processInfo.environment["CI"] != nil, TestNamespace.skipReason))
struct RestartTests {
    /// Kills the MAR, leaves a stale route of its own in the kernel (one a
    /// binding that ended meanwhile would leave), starts it again, and checks
    /// that it holds exactly the routes it held before.
    func crashAndRestart(_ lab: Lab, _ i: Int) throws {
        let before = try lab.ownedRoutes("mar\(i)")
        lab.crash("mar\(i)")
        lab.note("mar\(i) killed with SIGKILL")
        try lab.ip("mar\(i)", ["-6", "route", "add", "2001:db8:\(i):ff::/64", "dev", "eth0", "proto", "177"])
        try lab.sleep(0.5)  // the kernel forwards on its own meanwhile
        try lab.startAccessRouter("mar\(i)")
        try lab.wait("mar\(i) to recover", seconds: 10) { try lab.state("mar\(i)")["recovering"] as? Bool == false }
        lab.note("mar\(i) restarted and recovered")
        #expect(try lab.ownedRoutes("mar\(i)") == before, "mar\(i): every route restored, the stale one removed")
    }

    @Test func aMARKilledMidScenarioRecoversItsBindings() throws {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("dmm-mar-restart-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: output) }
        let (lab, hnp1) = try Lab.withNode("idle-grace: 30\nnode:\n  moves: [mar2, mar3]", output: output)
        defer { #expect(lab.tearDown().isEmpty) }
        try lab.startStream()

        // The anchor of the stream's prefix dies while the node is away.
        _ = try lab.move(from: "mar1", to: "mar2")
        try lab.wait("mar1's tunnel toward mar2", seconds: 10) { try lab.ownedRoutes("mar1").contains { encapsulates($0, toward: "\(lab.tunnelEndpoint(of: "mar2"))") } }
        try crashAndRestart(lab, 1)
        let anchored = try lab.state("mar1")["anchored"] as? [[String: Any]] ?? []
        #expect(anchored.contains { $0["prefix"] as? String == "\(hnp1)" && $0["state"] as? String == "tunnelled to \(lab.address(of: "mar2"))" },
                "\(anchored)")

        // The restored binding moves on with the node: the next MAR's PBU is accepted.
        _ = try lab.move(from: "mar2", to: "mar3")
        try lab.wait("mar1's tunnel toward mar3", seconds: 10) { try lab.ownedRoutes("mar1").contains { encapsulates($0, toward: "\(lab.tunnelEndpoint(of: "mar3"))") } }
        // The MAR serving the node dies: back, it registers the node's prefixes again.
        try crashAndRestart(lab, 3)
        try lab.sleep(0.5)
        try lab.expectStreamIntact()
        for i in 1...3 {
            let rejected = try lab.state("mar\(i)")["rejected"] as? [String: Int] ?? [:]
            #expect(rejected.isEmpty, "mar\(i) rejected \(rejected)")
        }
    }

    @Test func theLocationServerSurvivesACrash() throws {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("dmm-restart-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: output) }
        let (lab, hnp1) = try Lab.withNode("topology: pair\nidle-grace: 30\nnode:\n  moves: [mar2]", output: output)
        defer { #expect(lab.tearDown().isEmpty) }
        try lab.wait("the registration in the database", seconds: 5) { (try lab.state("lms")["records"] as? Int) == 1 }
        // A flow on the first prefix, so that it moves with the node.
        try lab.startStream(interval: 0.05)
        lab.crash("lms")
        try lab.startLocationServer()
        #expect((try lab.state("lms")["records"] as? Int) == 1, "the record survived the crash")
        _ = try lab.move(from: "mar1", to: "mar2")
        try lab.wait("MAR1's tunnel toward MAR2 for the first prefix", seconds: 10) {
            try lab.ownedRoutes("mar1").contains { encapsulates($0, toward: "\(lab.tunnelEndpoint(of: "mar2"))") }
        }
        #expect(try lab.addresses().contains { hnp1.contains($0.0) && $0.1 }, "the first prefix is still the node's, deprecated")
        try lab.expectStreamIntact()
    }
}
