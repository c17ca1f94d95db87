import DMMCore
import DMMNode
import Foundation

/// A lab scenario, from YAML: how many MARs, how the node moves, what traffic
/// runs. `dmm lab demo` runs the one shipped as `demo.yaml`.
///
///     name: demo
///     mars: 3                      # MAR1..MARn, a location server and a correspondent around a core router
///     backbone: true               # a link between every two MARs, which tunnels and signalling take (false: all through the core)
///     uplink-mode: direct          # or reverse-tunnel
///     tunnel-mode: ipv6-in-ipv6    # or srv6
///     decapsulation: end.dt6       # or end.dx6 (a SID per binding)
///     node-identity: link-layer-address  # or interface-name (the MAR's end of the node's link)
///     idle-grace: 2                # seconds without flows before a moved prefix is released
///     output: lab-output           # where the results go
///     node:
///       start: mar1
///       moves: [mar2, mar3, mar1]
///       dwell: 3                   # seconds at each MAR
///     traffic:
///       stream-interval: 0.01      # a TCP message every 10 ms
///       ping-interval: 0.02
public struct Scenario: Sendable {
    public var name: String
    public var mars: Int
    public var backbone: Bool
    public var uplinkMode: UplinkMode
    public var tunnelMode: TunnelMode
    public var decapsulation: Decapsulation
    public var nodeIdentity: MARConfig.NodeIdentity
    public var idleGrace: Double
    public var output: String
    public var start: String
    public var moves: [String]
    public var dwell: Double
    public var streamInterval: Double
    public var pingInterval: Double

    public init(yaml: String) throws {
        var r = try ConfigReader(yaml: yaml)
        name = try r.string("name") ?? "scenario"
        mars = try r.integer("mars", in: 2...9) ?? 3
        backbone = try r.bool("backbone") ?? true
        uplinkMode = try r.choice("uplink-mode", UplinkMode.self) ?? .direct
        tunnelMode = try r.choice("tunnel-mode", TunnelMode.self) ?? .ipv6InIPv6
        decapsulation = try r.choice("decapsulation", Decapsulation.self) ?? .endDT6
        nodeIdentity = try r.choice("node-identity", MARConfig.NodeIdentity.self) ?? .linkLayerAddress
        idleGrace = try r.number("idle-grace", in: 0...60) ?? 2
        output = try r.string("output") ?? "lab-output"
        let marCount = mars
        let (start, moves, dwell) = try r.required("node") { r, key in
            try r.section(key) { n -> (String, [String], Double) in
                let start = try n.string("start") ?? "mar1"
                let moves = try n.required("moves") { try $0.strings($1) }
                let dwell = try n.number("dwell", in: 0.5...600) ?? 3
                for m in [start] + moves where !(1...marCount).map({ "mar\($0)" }).contains(m) {
                    throw ConfigReader.Invalid(description: "key 'node': '\(m)' is not one of mar1 to mar\(marCount)")
                }
                return (start, moves, dwell)
            }
        }
        self.start = start
        self.moves = moves
        self.dwell = dwell
        (streamInterval, pingInterval) = try r.section("traffic") { t in
            (try t.number("stream-interval", in: 0.001...1) ?? 0.01, try t.number("ping-interval", in: 0.001...1) ?? 0.02)
        } ?? (0.01, 0.02)
        try r.finish()
    }

    /// The demo shipped with the project.
    public static func demoText() throws -> String {
        guard let url = Bundle.module.url(forResource: "demo", withExtension: "yaml") else {
            throw ConfigReader.Invalid(description: "the demo scenario is missing from this build")
        }
        return try String(contentsOf: url, encoding: .utf8)
    }
}
