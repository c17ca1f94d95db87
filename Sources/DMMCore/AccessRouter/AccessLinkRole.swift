import DMMWire

/// The access-link role: the nodes on the router's access links, how each is
/// named when it appears, Router Solicitations and Router Advertisements
/// (RFC 4861; seite section 4.2 step 4). A node on two links at once is two
/// attachments, each with its own prefixes.
///
/// Naming a node by its link-layer address (the default): a node that boots
/// sends a Router Solicitation with its address in it. A node that moves does
/// not: when carrier returns on an interface it has configured, Linux only
/// repeats its MLD reports. So the router watches the frames on each access
/// link with no node, and the first frame's source names it. Frames come only
/// while the link has carrier, so what arrives once it is up is the new
/// node's: usually its answer to the link-up Router Advertisement. A node
/// with nothing to send is asked for a frame:
///
///     appeared --watch frames--> watching --link up: RA, probe due--> probing(n)
///        probing(n) --Echo Request to ff02::1, every 10 ms, 100 in all--> given up
///        any of them --first frame, or a Router Solicitation--> attached
struct AccessLinkRole: Sendable {
    struct Attachment: Sendable {
        var node: MobileNodeID
        var linkLayer: [UInt8]
        var state: State
        var since: Instant
        /// Prefixes to advertise once with valid lifetime 0.
        var withdrawn: Set<IPv6Prefix> = []
        /// The prefixes the node listed in its Router Solicitation as its
        /// previous ones (I-D.jhlee-dmm-dnpp), told to the controller.
        var previous: [IPv6Prefix] = []
        /// Prefixes anchored here and delivered on this link, and prefixes
        /// served here for other anchors; each checked against the anchor or
        /// serving role on use, so a member that moved on is skipped.
        var home: Set<IPv6Prefix> = []
        var visited: Set<IPv6Prefix> = []
        enum State: Sendable, Equatable { case awaitingRecovery, locating(UInt32), served }
        var isServed: Bool { state == .served }
    }

    /// A link with no node yet, watched for its node's first frame.
    enum Discovery: Sendable, Equatable {
        case watching
        /// Echo Requests sent so far.
        case probing(sent: Int)
    }

    static let probeInterval: Seconds = 0.01
    static let probeCount = 100

    private(set) var attachments: [LinkID: Attachment] = [:]
    /// The links each node is on, in the order it attached.
    private(set) var links: [MobileNodeID: [LinkID]] = [:]
    private(set) var discovery: [LinkID: Discovery] = [:]
    /// The link each outstanding location query is for.
    private var queries: [UInt32: LinkID] = [:]

    subscript(link: LinkID) -> Attachment? {
        get { attachments[link] }
        set { attachments[link] = newValue }
    }

    /// Another link the node is on where `isHere` holds, if any.
    func otherLink(of node: MobileNodeID, than link: LinkID, where isHere: (LinkID) -> Bool) -> Bool {
        (links[node] ?? []).contains { $0 != link && attachments[$0] != nil && isHere($0) }
    }

    /// Records the attachment, waiting for recovery until `locating` is
    /// called; returns false if the node is already the one on the link
    /// (told twice: its Router Solicitation and its first frame).
    mutating func attach(_ node: MobileNodeID, link: LinkID, linkLayer: [UInt8], at now: Instant, _ c: inout RoleContext) -> Bool {
        if attachments[link]?.node == node { return false }
        endDiscovery(link, &c)
        attachments[link] = Attachment(node: node, linkLayer: linkLayer, state: .awaitingRecovery, since: now)
        links[node, default: []].append(link)
        c.counters.attachments += 1
        return true
    }

    /// The node on `link` waits for the answer to location query `id`,
    /// not to any earlier one (a report made again replaces it).
    mutating func locating(_ link: LinkID, query id: UInt32) {
        if case .locating(let earlier) = attachments[link]?.state { queries[earlier] = nil }
        attachments[link]?.state = .locating(id)
        queries[id] = link
    }

    /// The link whose node query `id` located, now served; nil if the node
    /// left meanwhile.
    mutating func located(query id: UInt32) -> LinkID? {
        guard let link = queries.removeValue(forKey: id), attachments[link]?.state == .locating(id) else { return nil }
        attachments[link]?.state = .served
        return link
    }

    /// The link went down: its attachment, which the other roles wind up.
    mutating func detach(_ link: LinkID, _ c: inout RoleContext) -> Attachment? {
        if discovery[link] != nil {
            // No frame comes without carrier: no more probes until it is up.
            discovery[link] = .watching
            c.timers.cancel(.probe(link))
        }
        guard let attachment = attachments.removeValue(forKey: link) else { return nil }
        if case .locating(let id) = attachment.state { queries[id] = nil }
        links[attachment.node]?.removeAll { $0 == link }
        if links[attachment.node]?.isEmpty == true { links[attachment.node] = nil }
        c.timers.cancel(.advertisement(link))
        c.counters.detachments += 1
        return attachment
    }

    // MARK: Naming the node

    /// A new access link, or one set up again: watch it for its node.
    mutating func linkAppeared(_ link: LinkID, _ c: inout RoleContext) {
        guard c.config.nodeIdentity == .linkLayerAddress, attachments[link] == nil else { return }
        discovery[link] = .watching
        c.actions.append(.watchFrames(link))
    }

    /// The link is up: the router's address to the node at once (a Router
    /// Advertisement with no prefix: the node's uplink works from here),
    /// then the node is named. Returns the node to attach when the link
    /// names it.
    mutating func linkUp(_ link: LinkID, routerAdvertisement: RouterAdvertisement, at now: Instant, _ c: inout RoleContext) -> MobileNodeID? {
        if c.config.nodeIdentity == .linkLayerAddress, attachments[link] == nil, discovery[link] == nil {
            discovery[link] = .watching
            c.actions.append(.watchFrames(link))
        }
        c.actions.append(.sendRouterAdvertisement(routerAdvertisement, link: link))
        if c.config.nodeIdentity == .interfaceName { return MobileNodeID(link.name) }
        if discovery[link] != nil {
            // The node usually answers the advertisement with frames that
            // name it before the first probe is due.
            discovery[link] = .probing(sent: 0)
            c.timers.set(.probe(link), at: now)
        }
        return nil
    }

    mutating func linkRemoved(_ link: LinkID, _ c: inout RoleContext) { endDiscovery(link, &c) }

    /// A frame from `source` on a link being watched: its node, if this
    /// names one.
    func frame(on link: LinkID, from source: [UInt8]) -> MobileNodeID? {
        guard discovery[link] != nil, attachments[link] == nil, source.count == 6 else { return nil }
        return MobileNodeID(linkLayerAddress: source)
    }

    /// The next Echo Request of a link being probed, or the end of probing.
    mutating func probeDue(_ link: LinkID, at now: Instant, _ c: inout RoleContext) {
        guard case .probing(let sent) = discovery[link], attachments[link] == nil else { return }
        guard sent < Self.probeCount else {
            c.counters.ignored[.nodeNeverAnswered, default: 0] += 1
            endDiscovery(link, &c)
            return
        }
        c.actions.append(.sendEchoRequest(link: link, sequence: UInt16(truncatingIfNeeded: sent)))
        discovery[link] = .probing(sent: sent + 1)
        c.timers.set(.probe(link), at: now + Self.probeInterval)
    }

    mutating func endDiscovery(_ link: LinkID, _ c: inout RoleContext) {
        guard discovery.removeValue(forKey: link) != nil else { return }
        c.timers.cancel(.probe(link))
        c.actions.append(.stopWatchingFrames(link))
    }

    /// What a Router Solicitation means (RFC 4861 section 6.2.6): an
    /// advertisement for the node on the link, or, on a link with no node
    /// yet, the node named by its link-layer address (or, without one, by
    /// its interface identifier). Returns the node to attach, if any, with
    /// the previous prefixes it listed (`listing`); from the node already
    /// on the link, a listing it had not made yet (it was named by an
    /// earlier frame).
    enum Solicited { case advertise, attach(MobileNodeID, linkLayer: [UInt8], previous: [IPv6Prefix]), relist([IPv6Prefix]), nothing }

    /// At most this many previous prefixes are taken from a solicitation.
    static let previousLimit = 16

    func routerSolicitation(on link: LinkID, hopLimit: UInt8, sourceLinkLayer: [UInt8]?, source: IPv6Address,
                            listing: [IPv6Prefix], _ c: inout RoleContext) -> Solicited {
        // RFC 4861 section 6.1.1: a solicitation not from the link is dropped.
        guard hopLimit == 255 else {
            c.counters.ignored[.routerSolicitationHopLimit, default: 0] += 1
            return .nothing
        }
        let previous = Self.previous(listing, &c)
        if let a = attachments[link] {
            if !previous.isEmpty, previous != a.previous, sourceLinkLayer.map({ $0 == a.linkLayer }) ?? true { return .relist(previous) }
            return a.isServed ? .advertise : .nothing
        }
        guard c.config.nodeIdentity == .linkLayerAddress else { return .nothing }
        let mac = sourceLinkLayer ?? []
        return .attach(MobileNodeID(linkLayerAddress: mac.isEmpty ? Array(source.bytes.suffix(8)) : mac), linkLayer: mac, previous: previous)
    }

    /// The prefixes a solicitation lists that can be a node's: global
    /// unicast, each once, at most `previousLimit` (the rest counted),
    /// sorted so that a listing repeated in another order is the same.
    static func previous(_ listing: [IPv6Prefix], _ c: inout RoleContext) -> [IPv6Prefix] {
        var usable: Set<IPv6Prefix> = []
        for p in listing {
            let canonical = IPv6Prefix(covering: p.address, length: p.length)
            guard 1...128 ~= p.length, !p.address.isLinkLocal, !p.address.isMulticast,
                usable.contains(canonical) || usable.count < previousLimit
            else {
                c.counters.ignored[.previousPrefixUnusable, default: 0] += 1
                continue
            }
            usable.insert(canonical)
        }
        return usable.sorted { ($0.address, $0.length) < ($1.address, $1.length) }
    }

    // MARK: Router Advertisements (seite section 4.2 step 4)

    /// Home prefixes preferred, prefixes anchored elsewhere deprecated, and
    /// withdrawn ones (once) with valid lifetime 0.
    mutating func advertise(on link: LinkID, home: [IPv6Prefix], visited: [IPv6Prefix], routerAdvertisement: RouterAdvertisement,
                            at now: Instant, _ c: inout RoleContext) {
        guard var attachment = attachments[link] else { return }
        let a = c.config.advertisement
        var prefixes: [NDOption] = []
        for prefix in home {
            prefixes.append(.prefixInformation(PrefixInformation(prefix: prefix, validLifetime: a.validLifetime,
                                                                 preferredLifetime: a.preferredLifetime)))
        }
        for prefix in visited {
            // Anchored elsewhere: usable by the flows that have it, deprecated for new ones.
            prefixes.append(.prefixInformation(PrefixInformation(prefix: prefix, validLifetime: a.validLifetime, preferredLifetime: 0)))
        }
        for prefix in attachment.withdrawn.sorted(by: { $0.address < $1.address }) {
            prefixes.append(.prefixInformation(PrefixInformation(prefix: prefix, validLifetime: 0, preferredLifetime: 0)))
        }
        attachment.withdrawn = []
        attachments[link] = attachment
        var ra = routerAdvertisement
        ra.options += prefixes
        c.actions.append(.sendRouterAdvertisement(ra, link: link))
        c.counters.advertisements += 1
        c.timers.set(.advertisement(link), at: now + a.interval)
    }
}
