import DMMWire

/// Indirection as the controller's forwarding method (RFC 8818 section 3.1.1
/// with FM-CP centralized, FM-path-ind): a prefix stays anchored where it was
/// assigned, and while its node is elsewhere a tunnel from the anchor follows
/// it, the outcome of the seite scheme with every entry pushed over PFCP.
///
///  | where the node is           | anchor's rules            | serving agent's rules                     |
///  |-----------------------------|---------------------------|-------------------------------------------|
///  | on a link of the anchor     | deliver on the link       | -                                         |
///  | on a link of another agent  | encapsulate toward it     | deliver on the link (and with             |
///  |                             |                           | `reverse-tunnel`, the uplink back to it)  |
///  | nowhere, or no flow uses it | -                         | -                                         |
public struct Placement: Sendable, Hashable {
    public var prefix: IPv6Prefix
    public var anchor: IPv6Address
    /// The agent and access link the node is on, while flows use the prefix.
    public var serving: Attachment?

    public struct Attachment: Sendable, Hashable {
        public var agent: IPv6Address
        public var link: LinkID
        public init(agent: IPv6Address, link: LinkID) {
            self.agent = agent
            self.link = link
        }
    }

    public init(prefix: IPv6Prefix, anchor: IPv6Address, serving: Attachment?) {
        self.prefix = prefix
        self.anchor = anchor
        self.serving = serving
    }

    /// The rules at each agent involved, by the table above.
    public func rules(endpoint: (IPv6Address) -> IPv6Address, mode: TunnelMode, uplink: UplinkMode) -> [IPv6Address: [ForwardingRule]] {
        guard let serving else { return [:] }
        guard serving.agent != anchor else { return [anchor: [.deliver(prefix, link: serving.link)]] }
        let back: [ForwardingRule] = uplink == .reverseTunnel
            ? [.reverseTunnel(from: prefix, link: serving.link, endpoint: endpoint(anchor), mode: mode)] : []
        return [
            anchor: [.encapsulate(prefix, endpoint: endpoint(serving.agent), mode: mode)],
            serving.agent: [.deliver(prefix, link: serving.link)] + back,
        ]
    }
}

extension Controller {
    /// Where tunnels to `agent` end: as configured, else its address.
    public func endpoint(of agent: IPv6Address) -> IPv6Address { config.endpoints[agent] ?? agent }

    /// Makes the agents' rules for a prefix those of `placement`, by the
    /// configured forwarding method.
    public mutating func place(_ placement: Placement, at now: Instant) {
        switch config.forwarding {
        case .indirection: placeByIndirection(placement, at: now)
        case .anchorSwitching: placeBySwitching(placement, at: now)
        }
    }

    /// Places the prefix by indirection (the configured method, or a move
    /// that anchor switching could not make or that lost an agent on the
    /// way: its switched entries go). The anchor receives the prefix's
    /// packets: with buffering it holds them while the node moves to another
    /// agent than the one delivering it (`MoveBuffering.swift`).
    mutating func placeByIndirection(_ placement: Placement, at now: Instant) {
        let prefix = placement.prefix
        placements[prefix] = nil
        var holder: IPv6Address?
        if config.buffering, let new = placement.serving?.agent, new != placement.anchor, deliverer(of: prefix) != new,
            sessionOf[OwnPrefix(prefix)]?[placement.anchor] != nil {
            holder = placement.anchor
        }
        carryOut(placement, wanted: placement.rules(endpoint: endpoint(of:), mode: config.tunnelMode, uplink: config.uplink),
                 holder: holder, by: .indirection, at: now)
    }

    /// Makes the rules for `prefix` at each agent `wanted`: the agents it
    /// names get their rules, an agent it leaves out loses its session for
    /// the prefix. Each agent's session changes in one request.
    mutating func program(_ wanted: [IPv6Address: [ForwardingRule]], for prefix: IPv6Prefix, at now: Instant) {
        let involved = Set(sessionOf[OwnPrefix(prefix)]?.agents ?? [])
        for agent in involved.union(wanted.keys).sorted() {
            program(wanted[agent] ?? [], at: agent, for: prefix, at: now)
        }
    }
}
