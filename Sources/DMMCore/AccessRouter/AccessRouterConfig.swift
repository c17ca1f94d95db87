import DMMWire

/// Everything a MAR is told; defaults follow RFC 5213 section 9 and RFC 6275
/// section 12 where those give one.
public struct AccessRouterConfig: Sendable {
    /// The MAR's signalling address (Proxy-CoA when it serves a node, LMAA
    /// when it anchors one).
    public var address: IPv6Address
    /// Where tunnels to this MAR end. On Linux it must not be a local address
    /// (the local table would take the packet before the decapsulation route),
    /// so it is a SID of its own; by default the signalling address.
    public var tunnelEndpoint: IPv6Address
    /// The block it assigns per-node prefixes from.
    public var prefixBlock: IPv6Prefix
    public var prefixLength: UInt8 = 64
    /// The MARs whose PBUs it accepts (RFC 5213 section 5.3.1: the sender must
    /// be authorized).
    public var peers: Set<IPv6Address>
    /// The tunnel endpoints of peers whose endpoint is not their address.
    public var peerEndpoints: [IPv6Address: IPv6Address] = [:]
    /// The location server, or with `control: central` the controller,
    /// to which this router reports as LMc.
    public var locationServer: IPv6Address
    /// Who decides anchoring and forwarding: this router with its peers (the
    /// seite scheme), or a central controller it reports to (RFC 8818
    /// Figure 1), which programs its forwarding through its data-plane agent.
    public var control: ControlPlane = .distributed

    /// Uplink of a node away from a prefix's anchor: straight to the
    /// destination, or reverse-tunnelled to the anchor.
    public var uplink: UplinkMode = .direct
    public var tunnel: TunnelMode = .ipv6InIPv6
    /// How a tunnel ends at a visited MAR; like the tunnel mode, every MAR
    /// must use the same.
    public var decapsulation: Decapsulation = .endDT6
    /// How PBUs are ordered: timestamps (RFC 5213 section 5.5, the default)
    /// or sequence numbers, which an existing PMIPv6 implementation uses.
    public var freshness: Freshness = .timestamps(window: 0.3)

    /// Lifetime a visited MAR asks for, and the most an anchor grants.
    public var bindingLifetime: Seconds = 300
    public var maxBindingLifetime: Seconds = 3600
    /// Re-register when this fraction of the granted lifetime has passed.
    public var refreshFraction = 0.8
    /// PBU retransmission: RFC 6275 INITIAL_BINDACK_TIMEOUT and
    /// MAX_BINDACK_TIMEOUT; the timeout doubles until the maximum, then the
    /// MAR gives up.
    public var initialBindAckTimeout: Seconds = 1
    public var maxBindAckTimeout: Seconds = 32
    /// A released prefix returns to the pool after this (RFC 5213
    /// MinDelayBeforeBCEDelete).
    public var holdDown: Seconds = 10
    /// How long a prefix served away from its anchor may go without flows
    /// before it is released (RFC 8818 FM-path-ind:10); also how long a new
    /// visited MAR waits for the first flow report.
    public var idleGrace: Seconds = 5
    /// How long an anchor keeps a prefix whose node left with flows running
    /// before it gives up waiting for a PBU and releases it.
    public var detachedGrace: Seconds = 30

    public var advertisement = AdvertisementConfig()
    public var accessTechnology: AccessTechnologyType = .ieee8023
    /// How a node on an access link is named (see `AccessLinkRole`).
    public var nodeIdentity: NodeIdentity = .linkLayerAddress

    public init(address: IPv6Address, prefixBlock: IPv6Prefix, peers: Set<IPv6Address>, locationServer: IPv6Address) {
        self.address = address
        self.tunnelEndpoint = address
        self.prefixBlock = prefixBlock
        self.peers = peers
        self.locationServer = locationServer
    }
}

extension AccessRouterConfig {
    /// Where tunnels to the MAR with signalling address `peer` end.
    public func endpoint(of peer: IPv6Address) -> IPv6Address {
        peer == address ? tunnelEndpoint : peerEndpoints[peer] ?? peer
    }

    /// Where the anchor tunnels `prefix` while MAR `visited` serves it: the
    /// visited MAR's endpoint, or with End.DX6 the binding's own SID, which
    /// is the endpoint's /64 (its locator) with the prefix's 64 bits as the
    /// function, so both ends know it without signalling it.
    public func downlinkEndpoint(of visited: IPv6Address, for prefix: IPv6Prefix) -> IPv6Address {
        let e = endpoint(of: visited)
        return decapsulation == .endDX6 ? IPv6Address(high: e.high, low: prefix.address.high) : e
    }

    /// The anchor's tunnel for `prefix` while MAR `visited` serves it.
    func tunnel(_ prefix: IPv6Prefix, to visited: IPv6Address) -> ForwardingRule {
        .encapsulate(prefix, endpoint: downlinkEndpoint(of: visited, for: prefix), mode: tunnel)
    }

    /// This MAR's End.DX6 SID for `prefix`, onto the node's `link`.
    func crossConnect(_ prefix: IPv6Prefix, onto link: LinkID) -> ForwardingRule {
        .crossConnect(endpoint: downlinkEndpoint(of: address, for: prefix), link: link)
    }
}

/// The SRv6 behaviour that ends a tunnel at a visited MAR (RFC 8986 section 4).
public enum Decapsulation: String, Sendable, Hashable, CaseIterable {
    /// One SID per MAR; the inner packet is routed by its destination
    /// (section 4.8).
    case endDT6 = "end.dt6"
    /// One SID per binding, cross-connected to the node's access link
    /// (section 4.5).
    case endDX6 = "end.dx6"
}

public enum ControlPlane: String, Sendable, Hashable, CaseIterable {
    case distributed, central
}

public enum UplinkMode: String, Sendable, Hashable, CaseIterable {
    case direct
    case reverseTunnel = "reverse-tunnel"
}

public enum Freshness: Sendable, Hashable {
    /// Accept a PBU whose timestamp is within `window` of the anchor's clock
    /// and newer than the last accepted one for the prefix.
    case timestamps(window: Seconds)
    /// Accept a PBU whose sequence number is newer than the last one from the
    /// same MAR for the prefix (RFC 6275 section 9.5.1). A PBU from another
    /// MAR starts a new binding: sequence numbers do not order across MARs.
    case sequenceNumbers
}

/// Router Advertisement contents (RFC 4861 section 6.2.1). Every MAR sends
/// the same link-local and link-layer address (RFC 5213 sections 6.8 and
/// 6.9.3) so a moving node keeps its default router.
public struct AdvertisementConfig: Sendable, Hashable {
    public var routerLifetime: UInt16 = 1800
    public var reachableTime: UInt32 = 0
    /// Milliseconds; a small value shortens DAD on the node.
    public var retransTimer: UInt32 = 0
    public var validLifetime: UInt32 = 3600
    public var preferredLifetime: UInt32 = 1800
    /// Unsolicited advertisements on each access link with a node.
    public var interval: Seconds = 60
    public var linkLocalAddress = IPv6Address("fe80::1")!
    public var linkLayerAddress: [UInt8] = [0x02, 0x00, 0x00, 0x00, 0xd3, 0x01]
    /// MTU of the access links; the advertised MTU subtracts the tunnel
    /// overhead so no packet is too big for the tunnel (DESIGN.md: a larger
    /// packet is dropped and the Packet Too Big goes to the tunnel entry).
    public var linkMTU: UInt32 = 1500

    public init() {}
}

/// How a MAR names the node on an access link (the MN-Identifier of RFC 5213
/// section 2.2): by the link itself, on point-to-point links that follow
/// their node, so attachment starts at link up; or by its link-layer
/// address, from its first frame or Router Solicitation.
public enum NodeIdentity: String, CaseIterable, Sendable {
    case interfaceName = "interface-name"
    case linkLayerAddress = "link-layer-address"
}
