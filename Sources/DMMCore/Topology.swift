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
    private let byAddress: [IPv6Address: Int]
    /// Each node's links in file order, as (link index, peer's node index):
    /// its Nth is its interface ethN.
    private let adjacency: [[(link: Int, peer: Int)]]
    /// `firstHops[s][d]`: the position in `adjacency[s]` of the link node s
    /// leaves by toward node d along `path(from:to:)`, `Self.noHop` at d or
    /// with no path. Made once, with a search from every node: the
    /// controller asks on every move (two searches per router each time
    /// took most of a move's time in the controller). n² entries.
    private let firstHops: [[UInt16]]
    private static let noHop = UInt16.max

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
        var byAddress: [IPv6Address: Int] = [:]
        for (i, n) in nodes.enumerated() {
            let a = addressing[n.name]!
            if let other = byAddress.updateValue(i, forKey: a.address) {
                throw Invalid("nodes '\(nodes[other].name)' and '\(n.name)' have the same address \(a.address)")
            }
        }
        self.byAddress = byAddress
        var adjacency = [[(link: Int, peer: Int)]](repeating: [], count: nodes.count)
        for (i, l) in links.enumerated() {
            let a = index[l.ends.0]!, b = index[l.ends.1]!
            adjacency[a].append((i, b))
            adjacency[b].append((i, a))
        }
        self.adjacency = adjacency
        guard adjacency.allSatisfy({ $0.count < Int(Self.noHop) }) else { throw Invalid("a node has \(Self.noHop) links or more") }
        firstHops = nodes.indices.map { Self.firstHops(from: $0, adjacency) }
        if let first = nodes.firstIndex(where: { $0.kind != .mobileNode }),
            let unreachable = nodes.indices.first(where: { $0 != first && nodes[$0].kind != .mobileNode && firstHops[first][$0] == Self.noHop })
        {
            throw Invalid("node '\(nodes[unreachable].name)' is not connected to '\(nodes[first].name)'")
        }
    }

    /// The shortest-path tree from `source`, breadth first through each
    /// node's links in file order (so among equal paths the one through
    /// earlier links): each reached node's predecessor, the source its own,
    /// -1 for a node not reached.
    static func tree(from source: Int, _ adjacency: [[(link: Int, peer: Int)]]) -> [Int] {
        var previous = [Int](repeating: -1, count: adjacency.count)
        previous[source] = source
        var frontier = [source]
        while !frontier.isEmpty {
            var next: [Int] = []
            for n in frontier {
                for (_, peer) in adjacency[n] where previous[peer] < 0 {
                    previous[peer] = n
                    next.append(peer)
                }
            }
            frontier = next
        }
        return previous
    }

    /// A row of `firstHops`: toward each node, the first link along the
    /// tree from `source` that leads to the node's first hop.
    static func firstHops(from source: Int, _ adjacency: [[(link: Int, peer: Int)]]) -> [UInt16] {
        let previous = tree(from: source, adjacency)
        return previous.indices.map { d in
            guard d != source, previous[d] >= 0 else { return noHop }
            var hop = d
            while previous[hop] != source { hop = previous[hop] }
            return UInt16(adjacency[source].firstIndex { $0.peer == hop }!)
        }
    }

    public static func == (a: Self, b: Self) -> Bool { a.name == b.name && a.nodes == b.nodes && a.links == b.links }

    /// The derived tables follow from these.
    public func hash(into h: inout Hasher) {
        h.combine(name)
        h.combine(nodes)
        h.combine(links)
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
        guard let i = index[name] else { return [] }
        return adjacency[i].map { ($0.link, nodes[$0.peer].name) }
    }

    /// The node with this address (after the plan), if any.
    public func name(of address: IPv6Address) -> String? { byAddress[address].map { nodes[$0].name } }

    /// A node's name for its end of link `link`: ethN for its Nth link.
    public func interface(of node: String, link: Int) -> String? {
        index[node].flatMap { i in adjacency[i].firstIndex { $0.link == link } }.map { "eth\($0)" }
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
        guard let s = index[node], let d = index[destination] else { return nil }
        let position = firstHops[s][d]
        guard position != Self.noHop else { return nil }
        let (link, peer) = adjacency[s][Int(position)]
        return ("eth\(position)", linkLocal(of: nodes[peer].name, link: link))
    }

    /// The nodes on a shortest path from one node to another, both included;
    /// among equal paths the one through earlier links. Nil if none.
    public func path(from source: String, to destination: String) -> [String]? {
        guard let s = index[source], let d = index[destination] else { return nil }
        let previous = Self.tree(from: s, adjacency)
        guard previous[d] >= 0 else { return nil }
        var path = [d]
        while path[0] != s { path.insert(previous[path[0]], at: 0) }
        return path.map { nodes[$0].name }
    }
}
