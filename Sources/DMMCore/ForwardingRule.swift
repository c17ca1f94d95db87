import DMMWire

/// The forwarding state an engine asks for, in one vocabulary for every data
/// plane: the Linux driver turns rules into routes and policy rules, the
/// network model traces packets through them. Each rule has a key; installing
/// a rule replaces the rule with the same key, so a prefix is delivered or
/// tunnelled, never both, and a tunnel moves from one far end to the next in
/// one step (seite section 4.1: the tunnel end moves, never two at once).
public enum ForwardingRule: Hashable, Sendable, CustomStringConvertible {
    /// Deliver packets for `prefix` on an access link.
    case deliver(IPv6Prefix, link: LinkID)
    /// Encapsulate packets for `prefix` toward the far end `endpoint`
    /// (FM-path-ind:9): IPv6-in-IPv6, or SRv6 with a segment list.
    case encapsulate(IPv6Prefix, endpoint: IPv6Address, mode: TunnelMode)
    /// Decapsulate packets addressed to `endpoint` and route the inner packet.
    case decapsulate(endpoint: IPv6Address)
    /// Decapsulate packets addressed to a binding's `endpoint` and send the
    /// inner packet to the node on `link`.
    case crossConnect(endpoint: IPv6Address, link: LinkID)
    /// Refuse packets for `prefix` (ICMPv6 destination unreachable): the
    /// MAR's own block, so that a packet for one of its prefixes that it
    /// neither delivers nor tunnels ends here rather than bouncing between
    /// the MAR and the core, which routes the whole block to it.
    case unreachable(IPv6Prefix)
    /// Uplink reverse tunnel: packets from `prefix` arriving on `link` are
    /// encapsulated toward the anchor's `endpoint`.
    case reverseTunnel(from: IPv6Prefix, link: LinkID, endpoint: IPv6Address, mode: TunnelMode)
    /// Route packets for `prefix` to the neighbour `via` on `link`: a
    /// host-prefix route for a prefix whose anchoring moved (anchor
    /// switching, FM-path-tbl:4 and 5), more specific than the block the
    /// network routes toward the prefix's home.
    case forward(IPv6Prefix, link: LinkID, via: IPv6Address)
    /// Hold packets for `prefix` (FM-buffer:1). When the rule is replaced or
    /// removed, what it held is released in order into what then forwards
    /// the prefix (FM-buffer:2).
    case buffer(IPv6Prefix)

    public enum Key: Hashable, Sendable {
        /// The route for a destination prefix: deliver, encapsulate,
        /// forward or buffer.
        case route(IPv6Prefix)
        case decapsulation(IPv6Address)
        case source(IPv6Prefix)
    }

    public var key: Key {
        switch self {
        case .deliver(let p, _), .encapsulate(let p, _, _), .unreachable(let p), .forward(let p, _, _), .buffer(let p): .route(p)
        case .decapsulate(let e), .crossConnect(let e, _): .decapsulation(e)
        case .reverseTunnel(let p, _, _, _): .source(p)
        }
    }

    /// The prefix the rule is about, if any.
    public var prefix: IPv6Prefix? {
        switch self {
        case .deliver(let p, _), .encapsulate(let p, _, _), .reverseTunnel(let p, _, _, _), .unreachable(let p), .forward(let p, _, _),
            .buffer(let p): p
        case .decapsulate, .crossConnect: nil
        }
    }

    public var description: String {
        switch self {
        case .deliver(let p, let l): "deliver \(p) on \(l)"
        case .encapsulate(let p, let e, let m): "encapsulate \(p) toward \(e) (\(m))"
        case .decapsulate(let e): "decapsulate at \(e)"
        case .unreachable(let p): "unreachable \(p)"
        case .crossConnect(let e, let l): "decapsulate at \(e) onto \(l)"
        case .reverseTunnel(let p, let l, let e, let m): "from \(p) on \(l) encapsulate toward \(e) (\(m))"
        case .forward(let p, let l, let v): "forward \(p) via \(v) on \(l)"
        case .buffer(let p): "buffer \(p)"
        }
    }
}

/// How a tunnel is built on the wire.
public enum TunnelMode: String, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    /// IPv6-in-IPv6 (RFC 2473), as PMIPv6 uses; SRv6 reduced encapsulation
    /// with one segment on Linux.
    case ipv6InIPv6 = "ipv6-in-ipv6"
    /// SRv6 with a Segment Routing Header.
    case srv6
    public var description: String { rawValue }

    /// Bytes the tunnel adds to each packet.
    public var overhead: Int { self == .ipv6InIPv6 ? 40 : 40 + 8 + 16 }
}
