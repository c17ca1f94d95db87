import DMMCore
import DMMNode
import Foundation

/// A lab scenario, from YAML: which network, how the node moves, what
/// traffic runs. `dmm lab demo` runs the one shipped as `demo.yaml`.
///
///     name: demo
///     topology: star               # a shipped topology (star, pair, tree) or a topology file's path
///     control: distributed         # or central: the location server's node runs the controller, and the
///                                  # access routers report to it and are its data-plane agents over PFCP
///     forwarding: indirection      # or anchor-switching (control: central): a moved prefix's anchoring
///                                  # follows the node, the routers between run agents and get host routes
///     buffering: true              # control: central: through a move, the router the prefix's packets reach
///                                  # (the anchor, or the old serving router when switching) holds them
///                                  # until the new path is in place
///     uplink-mode: direct          # or reverse-tunnel
///     tunnel-mode: ipv6-in-ipv6    # or srv6
///     decapsulation: end.dt6       # or end.dx6 (a SID per binding)
///     node-identity: link-layer-address  # or interface-name (the MAR's end of the node's link)
///     idle-grace: 2                # seconds without flows before a moved prefix is released
///     output: lab-output           # where the results go
///     node:
///       start: mar1                # access routers of the topology
///       moves: [mar2, mar3, mar1]
///       dwell: 3                   # seconds at each access router
///       dnpp: false                # true: each time its link comes up, the node lists its prefixes as its
///                                  # previous ones in a Router Solicitation (I-D.jhlee-dmm-dnpp; control: central)
///     traffic:
///       stream-interval: 0.01      # a TCP message every 10 ms
///       ping-interval: 0.02
///
/// The topology needs one location server (under central control, the
/// controller), one correspondent (the traffic's far end) and one mobile node.
public struct Scenario: Sendable {
    public var name: String
    public var topology: Topology
    /// The topology file's text, which the controller reads too.
    public var topologyText: String
    public var control: ControlPlane
    public var forwarding: ForwardingMethod
    public var buffering: Bool
    public var uplinkMode: UplinkMode
    public var tunnelMode: TunnelMode
    public var decapsulation: Decapsulation
    public var nodeIdentity: MARConfig.NodeIdentity
    public var idleGrace: Double
    public var output: String
    public var start: String
    public var moves: [String]
    public var dwell: Double
    /// The node lists its previous prefixes in a Router Solicitation each
    /// time its link comes up (`dmm lab traffic solicit`).
    public var dnpp: Bool
    public var streamInterval: Double
    public var pingInterval: Double

    /// Reads a scenario; a topology path is taken relative to `directory`.
    public init(yaml: String, directory: String? = nil) throws {
        var r = try ConfigReader(yaml: yaml)
        name = try r.string("name") ?? "scenario"
        topologyText = try Self.topologyText(try r.string("topology") ?? "star", directory: directory)
        topology = try Topology(yaml: topologyText)
        for (kind, what) in [(Topology.Kind.locationServer, "location server"), (.correspondent, "correspondent"), (.mobileNode, "mobile node")]
        where topology.nodes(kind).count != 1 {
            throw ConfigReader.Invalid(description: "topology '\(topology.name)' has \(topology.nodes(kind).count) of kind \(kind.rawValue); the lab needs one \(what)")
        }
        control = try r.choice("control", ControlPlane.self) ?? .distributed
        forwarding = try r.choice("forwarding", ForwardingMethod.self) ?? .indirection
        if forwarding == .anchorSwitching && control != .central {
            throw ConfigReader.Invalid(description: "key 'forwarding': anchor-switching is a method of the central controller; add control: central")
        }
        buffering = try r.bool("buffering") ?? true
        uplinkMode = try r.choice("uplink-mode", UplinkMode.self) ?? .direct
        tunnelMode = try r.choice("tunnel-mode", TunnelMode.self) ?? .ipv6InIPv6
        decapsulation = try r.choice("decapsulation", Decapsulation.self) ?? .endDT6
        if control == .central && decapsulation == .endDX6 {
            throw ConfigReader.Invalid(description: "key 'decapsulation': end.dx6 needs a SID per binding, which only the distributed scheme has; use end.dt6 with control: central")
        }
        nodeIdentity = try r.choice("node-identity", MARConfig.NodeIdentity.self) ?? .linkLayerAddress
        idleGrace = try r.number("idle-grace", in: 0...60) ?? 2
        output = try r.string("output") ?? "lab-output"
        let accessRouters = topology.nodes(.accessRouter).map(\.name)
        guard accessRouters.count >= 2 else {
            throw ConfigReader.Invalid(description: "topology '\(topology.name)' has \(accessRouters.count) access router; a move needs two")
        }
        let (start, moves, dwell, dnpp) = try r.required("node") { r, key in
            try r.section(key) { n -> (String, [String], Double, Bool) in
                let start = try n.string("start") ?? accessRouters[0]
                let moves = try n.required("moves") { try $0.strings($1) }
                let dwell = try n.number("dwell", in: 0.5...600) ?? 3
                for m in [start] + moves where !accessRouters.contains(m) {
                    throw ConfigReader.Invalid(description: "key 'node': '\(m)' is not an access router of the topology (\(accessRouters.joined(separator: ", ")))")
                }
                return (start, moves, dwell, try n.bool("dnpp") ?? false)
            }
        }
        if dnpp && control != .central {
            throw ConfigReader.Invalid(description: "key 'node': dnpp: the listed prefixes are used by the central controller; add control: central")
        }
        self.start = start
        self.moves = moves
        self.dwell = dwell
        self.dnpp = dnpp
        (streamInterval, pingInterval) = try r.section("traffic") { t in
            (try t.number("stream-interval", in: 0.001...1) ?? 0.01, try t.number("ping-interval", in: 0.001...1) ?? 0.02)
        } ?? (0.01, 0.02)
        try r.finish()
    }

    /// The topologies shipped with the project.
    public static let shippedTopologies = ["star", "pair", "tree"]

    /// A shipped topology by name, or a topology file: its text.
    static func topologyText(_ reference: String, directory: String?) throws -> String {
        let text: String
        if shippedTopologies.contains(reference) {
            text = try resource(reference)
        } else {
            let path = reference.hasPrefix("/") || directory == nil ? reference : directory! + "/" + reference
            guard let data = FileManager.default.contents(atPath: path) else {
                throw ConfigReader.Invalid(description: "key 'topology': '\(reference)' is neither a shipped topology (\(shippedTopologies.joined(separator: ", "))) nor a readable file")
            }
            text = String(decoding: data, as: UTF8.self)
        }
        return text
    }

    /// A YAML file shipped in the lab's bundle.
    public static func resource(_ name: String) throws -> String {
        guard let url = Bundle.module.url(forResource: name, withExtension: "yaml") else {
            throw ConfigReader.Invalid(description: "\(name).yaml is missing from this build")
        }
        return try String(contentsOf: url, encoding: .utf8)
    }

    /// The demo shipped with the project.
    public static func demoText() throws -> String { try resource("demo") }
}
