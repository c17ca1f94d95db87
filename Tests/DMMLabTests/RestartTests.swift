import DMMTestSupport
import DMMWire
import Foundation
import Testing

@testable import DMMLab

/// The location server killed with SIGKILL and started again loses no
/// session: the node's prefix is still known, and a later move still finds it.
@Suite(.serialized, .enabled(if: TestNamespace.available || ProcessInfo.processInfo.environment["CI"] != nil, TestNamespace.skipReason))
struct RestartTests {
    @Test func theLocationServerSurvivesACrash() throws {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("dmm-restart-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: output) }
        let lab = try Lab(scenario: try Scenario(yaml: "mars: 2\nidle-grace: 30\noutput: \(output)\nnode:\n  moves: [mar2]"),
                          executable: LabDemoTests.dmm)
        defer { #expect(lab.tearDown().isEmpty) }
        try lab.build()
        try lab.startDaemons()
        try lab.attach(to: "mar1")
        try lab.wait("the node's prefix", seconds: 10) { try lab.preferred() != nil }
        let hnp1 = try lab.preferred()!
        try lab.wait("the registration in the database", seconds: 5) { (try lab.state("lms")["records"] as? Int) == 1 }
        // A flow on the first prefix, so that it moves with the node.
        try lab.spawn("echo-server", in: "cn", [LabDemoTests.dmm, "lab", "traffic", "serve", "--address", "\(Lab.cn)", "--port", "7000"])
        try lab.sleep(0.3)
        try lab.spawn("stream", in: "mn", [LabDemoTests.dmm, "lab", "traffic", "stream", "--to", "\(Lab.cn)", "--port", "7000",
                                           "--interval", "0.05", "--duration", "600"])
        try lab.sleep(0.5)
        lab.crash("lms")
        try lab.startLocationServer()
        #expect((try lab.state("lms")["records"] as? Int) == 1, "the record survived the crash")
        _ = try lab.move(from: "mar1", to: "mar2")
        try lab.wait("MAR1's tunnel toward MAR2 for the first prefix", seconds: 10) {
            try lab.ip("mar1", ["-6", "route", "show", "proto", "177"]).contains("segs 1 [ \(Lab.sid(2)) ]")
        }
        #expect(try lab.addresses().contains { $0.0 == hnp1 && $0.1 }, "the first prefix is still the node's, deprecated")
    }
}
