import DMMTestSupport
import DMMWire
import Foundation
import Testing
import DMMLinux

@testable import DMMLab

/// What the lab tests share: a lab with the node on its first prefix, and a
/// long TCP stream from the node that must lose nothing.
extension Lab {
    /// Builds the lab from scenario YAML, starts the daemons and attaches
    /// the node to mar1; returns its prefix there.
    static func withNode(_ yaml: String, output: String) throws -> (Lab, IPv6Prefix) {
        let lab = try Lab(scenario: try Scenario(yaml: yaml + "\noutput: \(output)"), executable: LabDemoTests.dmm)
        try lab.build()
        try lab.startDaemons()
        try lab.attach(to: "mar1")
        try lab.wait("the node's prefix", seconds: 10) { try lab.preferred() != nil }
        return (lab, IPv6Prefix(covering: try lab.preferred()!, length: 64))
    }

    /// An echo server at the correspondent and a stream to it from the node.
    func startStream(interval: Double = 0.02) throws {
        try spawn("echo-server", in: "cn", [dmm, "lab", "traffic", "serve", "--address", "\(correspondentAddress)", "--port", "\(Lab.echoPort)"])
        try sleep(0.3)
        try? FileManager.default.removeItem(atPath: output.path + "/stop-traffic")
        try spawn("stream", in: "mn", [dmm, "lab", "traffic", "stream", "--to", "\(correspondentAddress)", "--port", "\(Lab.echoPort)", "--interval", "\(interval)",
                                       "--duration", "600", "--stop-file", output.path + "/stop-traffic"],
                  stdout: output.appendingPathComponent("stream.json"))
        try sleep(0.5)
    }

    /// Stops the stream and checks that it lost nothing.
    func expectStreamIntact(sourceLocation: SourceLocation = #_sourceLocation) throws {
        _ = FileManager.default.createFile(atPath: output.path + "/stop-traffic", contents: nil)
        try wait("the stream to stop", seconds: 10) { !isRunning("stream") }
        let s = try JSONDecoder().decode(Traffic.StreamLog.self, from: Data(contentsOf: output.appendingPathComponent("stream.json")))
        #expect(s.error == "none" && s.sent == s.echoed && s.sent > 10, "\(s.error): \(s.echoed)/\(s.sent)", sourceLocation: sourceLocation)
    }

    /// The routes a MAR's daemon owns, one per line, sorted.
    func ownedRoutes(_ mar: String) throws -> [String] {
        try ip(mar, ["-6", "route", "show", "table", "all", "proto", "177"]).split(separator: "\n").map(String.init).sorted()
    }
}

/// Whether a route line encapsulates toward `endpoint`, in the seg6 driver's
/// shape or in `BPFTunnels`' (whose route name says mode, far end and source).
func encapsulates(_ route: String, toward endpoint: String) -> Bool {
    route.contains("segs 1 [ \(endpoint) ]") || route.contains(" \(endpoint) from ") && route.contains("encap bpf xmit dmm ")
}

/// The kernel has no seg6 tunnels: decapsulations are map entries, not routes.
let tunnelsAreBPF = TunnelDriver.available == .bpf
