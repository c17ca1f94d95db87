import DMMWire

/// A network as a topology file describes it: nodes by kind and the links
/// between them. The lab builds namespaces from it; the controller will
/// compute from it which routers a move must update (RFC 8818 FM-path-tbl:6);
/// the network model and the simulator will trace packets over it.
///
/// Addresses follow a plan unless a node gives its own: the Nth access
/// router (in file order, from 1) has address 2001:db8:ffff::N, prefix block
/// 2001:db8:N::/48 and tunnel endpoint fc00:N::d6 (its locator fc00:N::/64 is
/// routed to it); the Kth location server 2001:db8:ffff::(100+K-1) in hex
/// digits, the Kth correspondent 2001:db8:cc::K, the Kth router
/// 2001:db8:fffe::K. A mobile node has no links: it attaches to access
/// routers as the scenario says.
public struct Topology: Sendable, Hashable {
    public enum Kind: String, CaseIterable, Sendable {
        case correspondent
        case router
        case accessRouter = "access-router"
        case locationServer = "location-server"
        case mobileNode = "mobile-node"
    }

    public struct Node: Sendable, Hashable {
        public var name: String
        public var kind: Kind
        /// Given in the file; nil takes the plan's.
        public var address: IPv6Address?
        public var prefixBlock: IPv6Prefix?
        public var tunnelEndpoint: IPv6Address?

        public init(name: String, kind: Kind, address: IPv6Address? = nil, prefixBlock: IPv6Prefix? = nil,
                    tunnelEndpoint: IPv6Address? = nil) {
            self.name = name
            self.kind = kind
            self.address = address
            self.prefixBlock = prefixBlock
            self.tunnelEndpoint = tunnelEndpoint
        }
    }

    public struct Link: Sendable, Hashable {
        public var ends: (String, String)
        public var mtu: Int?

        public init(_ a: String, _ b: String, mtu: Int? = nil) {
            ends = (a, b)
            self.mtu = mtu
        }

        public static func == (l: Link, r: Link) -> Bool { l.ends == r.ends && l.mtu == r.mtu }
        public func hash(into h: inout Hasher) {
            h.combine(ends.0)
            h.combine(ends.1)
            h.combine(mtu)
        }
    }

    /// A node's addresses after the plan.
    public struct Addressing: Sendable, Hashable {
        public var address: IPv6Address
        /// Access routers only.
        public var prefixBlock: IPv6Prefix?
        public var tunnelEndpoint: IPv6Address?

        /// What the network routes to the node: its address, and for an
        /// access router its block and its tunnel endpoint's /64.
        public var routed: [IPv6Prefix] {
            [IPv6Prefix(address, length: 128)] + [prefixBlock, tunnelEndpoint.map { IPv6Prefix(covering: $0, length: 64) }].compactMap { $0 }
        }
    }

    public struct Invalid: Error, CustomStringConvertible, Equatable {
        public var description: String
        public init(_ description: String) { self.description = description }
    }

    public let name: String
    public let nodes: [Node]
    public let links: [Link]
    private let addressing: [String: Addressing]
    private let index: [String: Int]

    public init(name: String, nodes: [Node], links: [Link]) throws {
        self.name = name
        self.nodes = nodes
        self.links = links
        var index: [String: Int] = [:]
        for (i, n) in nodes.enumerated() {
            guard !n.name.isEmpty, n.name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" }), n.name.utf8.count <= 12 else {
                throw Invalid("node '\(n.name)': a name is 1 to 12 letters, digits or '-'")
            }
            guard index.updateValue(i, forKey: n.name) == nil else { throw Invalid("node '\(n.name)' is named twice") }
        }
        self.index = index
        for (i, l) in links.enumerated() {
            for end in [l.ends.0, l.ends.1] {
                guard let n = index[end] else { throw Invalid("link \(i + 1): no node '\(end)'") }
                if nodes[n].kind == .mobileNode { throw Invalid("link \(i + 1): mobile node '\(end)' has no fixed links; the scenario moves it") }
            }
            guard l.ends.0 != l.ends.1 else { throw Invalid("link \(i + 1) joins '\(l.ends.0)' to itself") }
            if let mtu = l.mtu, !(1280...65535).contains(mtu) { throw Invalid("link \(i + 1): MTU \(mtu) is not from 1280 to 65535") }
        }
        addressing = Self.plan(nodes)
        var seen: [IPv6Address: String] = [:]
        for n in nodes {
            let a = addressing[n.name]!
            if let other = seen.updateValue(n.name, forKey: a.address) { throw Invalid("nodes '\(other)' and '\(n.name)' have the same address \(a.address)") }
        }
        let fixed = nodes.filter { $0.kind != .mobileNode }
        if let unreachable = fixed.first(where: { path(from: fixed[0].name, to: $0.name) == nil }) {
            throw Invalid("node '\(unreachable.name)' is not connected to '\(fixed[0].name)'")
        }
    }

    static func plan(_ nodes: [Node]) -> [String: Addressing] {
        var counts: [Kind: Int] = [:]
        var result: [String: Addressing] = [:]
        for n in nodes {
            counts[n.kind, default: 0] += 1
            let k = counts[n.kind]!
            switch n.kind {
            case .accessRouter:
                result[n.name] = Addressing(address: n.address ?? IPv6Address("2001:db8:ffff::\(k)")!,
                                            prefixBlock: n.prefixBlock ?? IPv6Prefix("2001:db8:\(k)::/48")!,
                                            tunnelEndpoint: n.tunnelEndpoint ?? IPv6Address("fc00:\(k)::d6")!)
            case .locationServer:
                result[n.name] = Addressing(address: n.address ?? IPv6Address("2001:db8:ffff::\(String(0x100 + k - 1, radix: 16))")!)
            case .correspondent: result[n.name] = Addressing(address: n.address ?? IPv6Address("2001:db8:cc::\(k)")!)
            case .router: result[n.name] = Addressing(address: n.address ?? IPv6Address("2001:db8:fffe::\(k)")!)
            case .mobileNode: result[n.name] = Addressing(address: n.address ?? IPv6Address("2001:db8:eeee::\(k)")!)
            }
        }
        return result
    }

    // MARK: Looking up

    public func node(_ name: String) -> Node? { index[name].map { nodes[$0] } }

    public func nodes(_ kind: Kind) -> [Node] { nodes.filter { $0.kind == kind } }

    /// A node's addresses; nil for a name not in the topology.
    public func addressing(_ name: String) -> Addressing? { addressing[name] }

    /// The node's links in file order, each as the link's index and the node
    /// at the other end. A node's Nth link is its interface ethN in the lab.
    public func links(of name: String) -> [(link: Int, peer: String)] {
        links.enumerated().compactMap { i, l in
            l.ends.0 == name ? (i, l.ends.1) : l.ends.1 == name ? (i, l.ends.0) : nil
        }
    }

    /// The node with this address (after the plan), if any.
    public func name(of address: IPv6Address) -> String? {
        nodes.first { addressing[$0.name]?.address == address }?.name
    }

    /// A node's name for its end of link `link`: ethN for its Nth link.
    public func interface(of node: String, link: Int) -> String? {
        links(of: node).firstIndex { $0.link == link }.map { "eth\($0)" }
    }

    /// A node's link-local address on link `link`: fe80::1 at the link's
    /// first end, fe80::2 at its second.
    public func linkLocal(of node: String, link: Int) -> IPv6Address {
        IPv6Address(high: 0xfe80_0000_0000_0000, low: links[link].ends.0 == node ? 1 : 2)
    }

    /// The first hop from `node` toward `destination` along `path(from:to:)`:
    /// the interface it leaves by and the neighbour's link-local address.
    /// Nil at the destination itself, or with no path. Every router of the
    /// network routes by it (the lab installs these routes), so it is also
    /// how the controller knows which routers a switched prefix changes.
    public func nextHop(from node: String, to destination: String) -> (interface: String, via: IPv6Address)? {
        guard let path = path(from: node, to: destination), path.count > 1,
            let link = links(of: node).first(where: { $0.peer == path[1] })?.link, let interface = interface(of: node, link: link)
        else { return nil }
        return (interface, linkLocal(of: path[1], link: link))
    }

    /// The nodes on a shortest path from one node to another, both included;
    /// among equal paths the one through earlier links. Nil if none.
    public func path(from source: String, to destination: String) -> [String]? {
        guard index[source] != nil, index[destination] != nil else { return nil }
        var previous: [String: String] = [source: source]
        var frontier = [source]
        while !frontier.isEmpty, previous[destination] == nil {
            var next: [String] = []
            for n in frontier {
                for (_, peer) in links(of: n) where previous[peer] == nil {
                    previous[peer] = n
                    next.append(peer)
                }
            }
            frontier = next
        }
        guard previous[destination] != nil else { return nil }
        var path = [destination]
        while path[0] != source { path.insert(previous[path[0]]!, at: 0) }
        return path
    }
}
