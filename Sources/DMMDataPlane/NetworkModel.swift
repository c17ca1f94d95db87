import DMMCore
import DMMWire

/// A whole network held in memory: access routers with the forwarding rules
/// their engines installed, correspondent hosts, mobile nodes on access links,
/// and a core that routes each router's address and prefix block to it. It
/// traces a packet hop by hop through encapsulations and reports where it is
/// delivered, where it is dropped, and loops. Tests and the simulator use it
/// as the data plane; the Linux driver makes the same rules true in a kernel.
public struct NetworkModel: Sendable {
    public struct Router: Sendable {
        public var name: String
        /// Signalling address.
        public var address: IPv6Address
        /// Where tunnels to it end.
        public var endpoint: IPv6Address
        /// The block of prefixes it anchors; the core routes it here.
        public var block: IPv6Prefix
        public var rules = RuleTable()
    }

    public struct MobileNode: Sendable {
        public var name: String
        public var attachment: (router: String, link: LinkID)?
        /// Prefixes the node has addresses in, and whether each is preferred.
        public var prefixes: [IPv6Prefix: Bool] = [:]
    }

    public private(set) var routers: [String: Router] = [:]
    public private(set) var hosts: [String: IPv6Address] = [:]
    public var nodes: [String: MobileNode] = [:]

    public init() {}

    public mutating func addRouter(_ name: String, address: IPv6Address, block: IPv6Prefix, endpoint: IPv6Address? = nil) {
        routers[name] = Router(name: name, address: address, endpoint: endpoint ?? address, block: block)
    }

    public mutating func addHost(_ name: String, address: IPv6Address) { hosts[name] = address }

    public mutating func addNode(_ name: String) { nodes[name] = MobileNode(name: name) }

    /// Applies an engine's rule action at a router, as its rule table decides.
    public mutating func install(_ rule: ForwardingRule, at router: String) {
        _ = routers[router]?.rules.install(rule)
    }

    public mutating func remove(_ rule: ForwardingRule, at router: String) {
        _ = routers[router]?.rules.remove(rule)
    }

    /// Makes a router's rules exactly `rules`, as a reconciliation does.
    public mutating func reconcile(_ router: String, to rules: some Sequence<ForwardingRule>) {
        routers[router]?.rules.replaceAll(with: rules)
    }

    /// Every rule anywhere that mentions `prefix`, as "router: rule".
    public func rules(mentioning prefix: IPv6Prefix) -> [String] {
        routers.values.sorted { $0.name < $1.name }.flatMap { r in
            r.rules.rules.filter { $0.prefix == prefix }.map { "\(r.name): \($0)" }
        }
    }

    // MARK: Tracing

    public struct Trace: Sendable, CustomStringConvertible {
        public var hops: [String]
        public var outcome: Outcome
        /// Tunnels the packet went through, as "from -> to".
        public var tunnels: [String]

        public enum Outcome: Sendable, Equatable {
            case delivered(to: String)
            case blackHole(at: String, reason: String)
            case loop
        }

        public var delivered: Bool { if case .delivered = outcome { true } else { false } }
        public var description: String { hops.joined(separator: " > ") + " : \(outcome)" + (tunnels.isEmpty ? "" : " via \(tunnels)") }
    }

    enum Place: Hashable { case core, router(String, from: LinkID?), host(String), node(String) }

    struct Packet: Hashable {
        var source: IPv6Address
        var destination: IPv6Address
        /// Outer headers, innermost first.
        var outer: [(IPv6Address, IPv6Address)] = []
        var effectiveDestination: IPv6Address { outer.last?.1 ?? destination }
        static func == (a: Packet, b: Packet) -> Bool {
            a.source == b.source && a.destination == b.destination && a.outer.map { [$0.0, $0.1] } == b.outer.map { [$0.0, $0.1] }
        }
        func hash(into h: inout Hasher) {
            h.combine(source)
            h.combine(destination)
            for o in outer { h.combine(o.0); h.combine(o.1) }
        }
    }

    /// A packet from a correspondent host to `destination`.
    public func trace(fromHost host: String, to destination: IPv6Address) -> Trace {
        guard let source = hosts[host] else { return Trace(hops: [host], outcome: .blackHole(at: host, reason: "no such host"), tunnels: []) }
        return walk(Packet(source: source, destination: destination), from: .host(host))
    }

    /// A packet from a mobile node, sourced from `source`, to `destination`.
    public func trace(fromNode node: String, source: IPv6Address, to destination: IPv6Address) -> Trace {
        guard let n = nodes[node] else { return Trace(hops: [node], outcome: .blackHole(at: node, reason: "no such node"), tunnels: []) }
        guard n.prefixes.keys.contains(where: { $0.contains(source) }) else {
            return Trace(hops: [node], outcome: .blackHole(at: node, reason: "node has no address \(source)"), tunnels: [])
        }
        return walk(Packet(source: source, destination: destination), from: .node(node))
    }

    func walk(_ start: Packet, from origin: Place) -> Trace {
        var packet = start, place = origin
        var hops: [String] = [], tunnels: [String] = []
        var seen: Set<[AnyHashable]> = []
        func stop(_ at: String, _ reason: String) -> Trace { Trace(hops: hops, outcome: .blackHole(at: at, reason: reason), tunnels: tunnels) }
        while true {
            hops.append(Self.name(of: place))
            guard seen.insert([AnyHashable(place), AnyHashable(packet)]).inserted, hops.count < 64 else {
                return Trace(hops: hops, outcome: .loop, tunnels: tunnels)
            }
            switch place {
            case .host(let h):
                if hops.count > 1 {
                    guard packet.outer.isEmpty, hosts[h] == packet.destination else { return stop(h, "host got a packet not for it") }
                    return Trace(hops: hops, outcome: .delivered(to: h), tunnels: tunnels)
                }
                place = .core
            case .node(let n):
                if hops.count > 1 {
                    guard packet.outer.isEmpty else { return stop(n, "encapsulated packet reached the node") }
                    guard nodes[n]?.prefixes.keys.contains(where: { $0.contains(packet.destination) }) == true else {
                        return stop(n, "node has no address \(packet.destination)")
                    }
                    return Trace(hops: hops, outcome: .delivered(to: n), tunnels: tunnels)
                }
                guard let a = nodes[n]?.attachment else { return stop(n, "node is not attached") }
                place = .router(a.router, from: a.link)
            case .core:
                let d = packet.effectiveDestination
                if let h = hosts.first(where: { $0.value == d })?.key {
                    place = .host(h)
                } else if let r = routers.values.first(where: { $0.address == d || $0.endpoint == d || $0.rules[.decapsulation(d)] != nil })
                    ?? routers.values
                    .filter({ $0.block.contains(d) }).max(by: { $0.block.length < $1.block.length })
                {
                    place = .router(r.name, from: nil)
                } else {
                    return stop("core", "no route to \(d)")
                }
            case .router(let name, let link):
                guard let r = routers[name] else { return stop(name, "no such router") }
                switch forward(&packet, at: r, arrivedOn: link, tunnels: &tunnels) {
                case .next(let p): place = p
                case .drop(let reason): return stop(name, reason)
                }
            }
        }
    }

    enum Step { case next(Place), drop(String) }

    /// One router's forwarding decision, in the order a Linux router takes it:
    /// decapsulation at its endpoint, source rules for packets from an access
    /// link, then the longest matching route, then the default toward the core.
    func forward(_ packet: inout Packet, at r: Router, arrivedOn link: LinkID?, tunnels: inout [String]) -> Step {
        // Tunnels end at the router's endpoint or at a binding's SID (End.DX6).
        if let top = packet.outer.last, top.1 == r.endpoint || r.rules[.decapsulation(top.1)] != nil {
            switch r.rules[.decapsulation(top.1)] {
            case .decapsulate?:
                packet.outer.removeLast()
                return .next(.router(r.name, from: nil))
            case .crossConnect(_, let l)?:
                packet.outer.removeLast()
                return deliver(on: l, at: r)
            default:
                return .drop("no decapsulation at \(top.1)")
            }
        }
        let d = packet.effectiveDestination
        if let link, packet.outer.isEmpty {
            for rule in r.rules.rules {
                if case .reverseTunnel(let p, let l, let endpoint, _) = rule, l == link, p.contains(packet.source) {
                    packet.outer.append((r.endpoint, endpoint))
                    tunnels.append("\(r.name) -> \(endpoint)")
                    return .next(.core)
                }
            }
        }
        // The destination routes (deliver, encapsulate), longest prefix first.
        let routes = r.rules.rules.filter { if case .route(let p) = $0.key { p.contains(d) } else { false } }
        if let best = routes.max(by: { $0.prefix!.length < $1.prefix!.length }) {
            switch best {
            case .deliver(_, let l):
                return deliver(on: l, at: r)
            case .encapsulate(_, let endpoint, _):
                packet.outer.append((r.endpoint, endpoint))
                tunnels.append("\(r.name) -> \(endpoint)")
                return .next(.core)
            case .unreachable(let p):
                return .drop("unreachable: \(d) is in \(p)")
            case .buffer(let p):
                return .drop("held: \(p) is buffered here")
            case .forward(let p, _, _):
                // The model's core routes by block, with no routers between.
                return .drop("host route for \(p): the model has no routers between access routers")
            default: break
            }
        }
        if link == nil && packet.outer.isEmpty && r.address == d { return .drop("packet for the router itself") }
        return .next(.core)
    }

    func deliver(on link: LinkID, at r: Router) -> Step {
        guard let node = nodes.values.first(where: { $0.attachment?.router == r.name && $0.attachment?.link == link }) else {
            return .drop("nothing attached on \(link)")
        }
        return .next(.node(node.name))
    }

    static func name(of place: Place) -> String {
        switch place {
        case .core: "core"
        case .router(let n, _), .host(let n), .node(let n): n
        }
    }
}
