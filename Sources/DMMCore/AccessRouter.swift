import DMMWire

/// The Mobility-capable Access Router (seite section 4; RFC 8818 section
/// 3.1.1 with CPA and DPA co-located, LMc and FM-CP inside): a pure engine.
/// Hand it events with the time; take the actions it asks for; wake it at
/// `nextDeadline()`. It plays two roles per prefix:
///
///  - anchor (H-MAR, the LMA role) for the prefixes it assigned, in
///    `AccessRouter+Anchor.swift`;
///  - visited MAR (V-MAR, the MAG role) for a node's prefixes anchored
///    elsewhere, in `AccessRouter+Visitor.swift`.
///
/// At start it first recovers what a killed predecessor anchored
/// (`AccessRouter+Recovery.swift`).
///
/// Life of a node at a MAR:
///
///     attached --query LMs--> locating --records--> served --link down--> gone
///                                         | assign a prefix if none here is home
///                                         | PBU to the anchor of each prefix in use
///                                         | RA: home prefixes preferred, others deprecated
public struct AccessRouter: Sendable {
    public let config: AccessRouterConfig
    public internal(set) var pool: PrefixPool
    public internal(set) var counters = Counters()

    var attachments: [LinkID: Attachment] = [:]
    var linkOf: [MobileNodeID: LinkID] = [:]
    var anchored: AnchorTable<AnchoredPrefix>
    var visiting: [IPv6Prefix: Visit] = [:]
    var flowCounts: [IPv6Prefix: Int] = [:]
    var pendingLocation: [UInt32: PendingLocation] = [:]
    var recovery: Recovery?
    var timers = TimerTable<Timer>()
    var actions: [AccessRouterAction] = []
    var nextSequence: UInt16 = 0
    var nextLocationID: UInt32 = 0

    public init(config: AccessRouterConfig) {
        self.config = config
        pool = PrefixPool(block: config.prefixBlock, prefixLength: config.prefixLength)
        anchored = AnchorTable(pool: pool)
    }

    // MARK: The engine API

    /// Installs what the MAR needs before any node comes, its tunnel
    /// endpoint and the floor under its block, and recovers the bindings it
    /// anchored before a restart; it says `.recovered` when done.
    public mutating func start(at now: Instant) {
        actions.append(.install(.decapsulate(endpoint: config.tunnelEndpoint)))
        actions.append(.install(.unreachable(pool.block)))
        if config.decapsulation == .endDX6 {
            // Its locator too: a binding's SID that is gone refuses packets.
            actions.append(.install(.unreachable(IPv6Prefix(IPv6Address(high: config.tunnelEndpoint.high, low: 0), length: 64))))
        }
        startRecovery(at: now)
    }

    public mutating func handle(_ event: AccessRouterEvent, at now: Instant) {
        switch event {
        case .attached(let node, let link, let linkLayer): attach(node, link: link, linkLayer: linkLayer, at: now)
        case .detached(let link): detach(link, at: now)
        case .routerSolicitation(let link): if attachments[link]?.isServed == true { advertise(on: link, at: now) }
        case .flows(let prefix, let count): flowsChanged(prefix, count: count, at: now)
        case .mobility(let message, let sender): receive(message, from: sender, at: now)
        case .location(let reply): receive(reply, at: now)
        }
    }

    /// Runs every timer due at `now`; an early or extra call does nothing.
    public mutating func handleTimeout(at now: Instant) {
        for timer in timers.expire(at: now) {
            switch timer {
            case .bindAck(let p): bindAckTimedOut(p, at: now)
            case .refresh(let p): refresh(p, at: now)
            case .bindingExpiry(let p): bindingExpired(p, at: now)
            case .holdDown(let p): holdDownEnded(p, at: now)
            case .idle(let p): idleGraceEnded(p, at: now)
            case .location(let id): locationTimedOut(id, at: now)
            case .advertisement(let link): if attachments[link]?.isServed == true { advertise(on: link, at: now) }
            }
        }
    }

    public mutating func nextDeadline() -> Instant? { timers.next() }

    /// The actions produced since the last call, in order.
    public mutating func pollActions() -> [AccessRouterAction] {
        defer { actions = [] }
        return actions
    }

    /// Hands each action produced since the last call to `perform`, in order,
    /// reusing the engine's buffer: the allocation-free form for hot loops.
    public mutating func pollActions(_ perform: (AccessRouterAction) throws -> Void) rethrows {
        defer { actions.removeAll(keepingCapacity: true) }
        for action in actions { try perform(action) }
    }

    // MARK: Attachment

    mutating func attach(_ node: MobileNodeID, link: LinkID, linkLayer: [UInt8], at now: Instant) {
        // Told twice (its Router Solicitation and the link-up both name it):
        // it is the same attachment.
        if attachments[link]?.node == node { return }
        if let old = linkOf[node], old != link { detach(old, at: now) }
        if attachments[link] != nil { detach(link, at: now) }
        // While recovery reads its pages, a query's answer could not be acted on yet.
        let state: Attachment.State = recovery?.paging == true ? .awaitingRecovery : .locating(sendLocation(.query(node), at: now))
        attachments[link] = Attachment(node: node, linkLayer: linkLayer, state: state, since: now)
        linkOf[node] = link
        counters.attachments += 1
    }

    /// The node's records are in: make each prefix reachable here, or not.
    mutating func located(_ node: MobileNodeID, records: [PrefixRecord], at now: Instant) {
        guard let link = linkOf[node], var attachment = attachments[link], case .locating = attachment.state else { return }
        attachment.state = .served
        attachments[link] = attachment
        var home = false
        for record in records where record.mobileNode == node {
            if record.anchor == config.address {
                if returnHome(record.prefix, link: link, at: now) {
                    home = true
                } else {
                    attachments[link]?.withdrawn.insert(record.prefix)
                }
            } else if record.active || flowCounts[record.prefix, default: 0] > 0 {
                visit(record, link: link, at: now)
            } else {
                // Mobility only when needed (RFC 8818 section 4.1): no flow
                // uses it, so it is not carried here; the node stops using it.
                attachments[link]?.withdrawn.insert(record.prefix)
            }
        }
        if !home { assignPrefix(to: node, link: link, at: now) }
        advertise(on: link, at: now)
    }

    mutating func detach(_ link: LinkID, at now: Instant) {
        guard let attachment = attachments.removeValue(forKey: link) else { return }
        linkOf[attachment.node] = nil
        timers.cancel(.advertisement(link))
        counters.detachments += 1
        // Sorted: the order of PBUs and rules must not depend on hashing.
        for prefix in attachment.visited.sorted(by: { $0.address < $1.address }) where visiting[prefix]?.link == link {
            leaveVisit(prefix, at: now)
        }
        for prefix in attachment.home.sorted(by: { $0.address < $1.address }) where anchored[prefix]?.state == .home(link) {
            nodeLeft(prefix, link: link, at: now)
        }
    }

    // MARK: Router Advertisements (seite section 4.2 step 4)

    mutating func advertise(on link: LinkID, at now: Instant) {
        guard var attachment = attachments[link] else { return }
        let a = config.advertisement
        var prefixes: [NDOption] = []
        for prefix in attachment.home.sorted(by: { $0.address < $1.address }) where anchored[prefix]?.state == .home(link) {
            prefixes.append(.prefixInformation(PrefixInformation(prefix: prefix, validLifetime: a.validLifetime,
                                                                 preferredLifetime: a.preferredLifetime)))
        }
        for prefix in attachment.visited.sorted(by: { $0.address < $1.address }) where visiting[prefix]?.link == link {
            // Anchored elsewhere: usable by the flows that have it, deprecated for new ones.
            prefixes.append(.prefixInformation(PrefixInformation(prefix: prefix, validLifetime: a.validLifetime,
                                                                 preferredLifetime: 0)))
        }
        for prefix in attachment.withdrawn.sorted(by: { $0.address < $1.address }) {
            prefixes.append(.prefixInformation(PrefixInformation(prefix: prefix, validLifetime: 0, preferredLifetime: 0)))
        }
        attachment.withdrawn = []
        attachments[link] = attachment
        var ra = routerAdvertisement
        ra.options += prefixes
        actions.append(.sendRouterAdvertisement(ra, link: link))
        counters.advertisements += 1
        timers.set(.advertisement(link), at: now + a.interval)
    }

    /// The advertisement of the router alone, which every RA starts with. A
    /// MAR also sends it the moment an access link comes up: the node's
    /// neighbour cache was flushed when carrier went, and the source
    /// link-layer address gives it its router's entry at once (RFC 4861
    /// section 6.3.4), so its first packets need no Neighbor Solicitation.
    public var routerAdvertisement: RouterAdvertisement {
        let a = config.advertisement
        return RouterAdvertisement(
            curHopLimit: 64, routerLifetime: a.routerLifetime, reachableTime: a.reachableTime, retransTimer: a.retransTimer,
            options: [.sourceLinkLayerAddress(a.linkLayerAddress), .mtu(advertisedMTU)])
    }

    var advertisedMTU: UInt32 {
        UInt32(max(1280, Int(config.advertisement.linkMTU) - config.tunnel.overhead))
    }

    mutating func receive(_ message: MobilityHeader, from sender: IPv6Address, at now: Instant) {
        if recovery?.paging == true, deferDuringRecovery(message, from: sender) { return }
        switch message.message {
        case .bindingUpdate(let pbu): receiveBindingUpdate(pbu, from: sender, at: now)
        case .bindingAcknowledgement(let pba): receiveBindingAcknowledgement(pba, from: sender, at: now)
        default: counters.ignored["unexpected \(message.message.name)", default: 0] += 1
        }
    }

    // MARK: Flows (RFC 8818 section 4: mobility only when needed)

    mutating func flowsChanged(_ prefix: IPv6Prefix, count: Int, at now: Instant) {
        let before = flowCounts[prefix, default: 0]
        flowCounts[prefix] = count > 0 ? count : nil
        guard (before > 0) != (count > 0) else { return }
        if visiting[prefix] != nil {
            // Released only after the idle grace, so a flow that restarts at
            // once does not lose its prefix.
            if count == 0 { timers.set(.idle(prefix), at: now + config.idleGrace) } else { timers.cancel(.idle(prefix)) }
            return
        }
        if let entry = anchored[prefix], case .home = entry.state {
            sendLocation(.update(prefix, serving: config.address, active: count > 0), at: now)
        }
    }

    // MARK: Location client (LMc)

    @discardableResult
    mutating func sendLocation(_ request: LocationRequest, at now: Instant) -> UInt32 {
        nextLocationID &+= 1
        let id = nextLocationID
        pendingLocation[id] = PendingLocation(request: request, timeout: config.initialBindAckTimeout)
        actions.append(.location(LocationEnvelope(id: id, request)))
        timers.set(.location(id), at: now + config.initialBindAckTimeout)
        return id
    }

    mutating func receive(_ reply: LocationEnvelope<LocationReply>, at now: Instant) {
        guard let pending = pendingLocation.removeValue(forKey: reply.id) else {
            counters.ignored["location reply with no request", default: 0] += 1
            return
        }
        timers.cancel(.location(reply.id))
        switch reply.body {
        case .records(let node, let records):
            if case .query(let asked) = pending.request, asked == node { located(node, records: records, at: now) }
        case .page(let records, let next):
            if case .recover = pending.request { restore(page: records, next: next, at: now) }
        case .done: break
        case .refused(let reason):
            counters.ignored["location server refused: \(reason)", default: 0] += 1
            if case .recover = pending.request { endPaging(at: now) }
        }
        settleRecovery(answered: reply.id)
    }

    mutating func locationTimedOut(_ id: UInt32, at now: Instant) {
        guard var pending = pendingLocation[id] else { return }
        pending.timeout = pending.timeout * 2
        guard pending.timeout <= config.maxBindAckTimeout else {
            pendingLocation[id] = nil
            counters.ignored["location request given up", default: 0] += 1
            switch pending.request {
            case .query(let node): located(node, records: [], at: now)  // no location server: a prefix of its own
            case .recover: endPaging(at: now)
            default: break
            }
            settleRecovery(answered: id)
            return
        }
        pendingLocation[id] = pending
        actions.append(.location(LocationEnvelope(id: id, pending.request)))
        timers.set(.location(id), at: now + pending.timeout)
    }
}

public enum AccessRouterEvent: Sendable {
    /// A node came up on an access link (link up, or first packet).
    case attached(MobileNodeID, link: LinkID, linkLayerAddress: [UInt8])
    /// The access link went down.
    case detached(LinkID)
    case routerSolicitation(link: LinkID)
    /// The data plane counts `count` flows using `prefix` now.
    case flows(IPv6Prefix, count: Int)
    case mobility(MobilityHeader, from: IPv6Address)
    case location(LocationEnvelope<LocationReply>)
}

public enum AccessRouterAction: Hashable, Sendable {
    case sendMobility(MobilityHeader, to: IPv6Address)
    case sendRouterAdvertisement(RouterAdvertisement, link: LinkID)
    case install(ForwardingRule)
    case remove(ForwardingRule)
    /// To the configured location server.
    case location(LocationEnvelope<LocationRequest>)
    /// A visited MAR's binding with an anchor is in place: `signalling` is
    /// the time from the node's attachment to the PBA.
    case bindingEstablished(IPv6Prefix, anchor: IPv6Address, signalling: Seconds)
    /// The MAR stopped serving a prefix (role "visited") or released one it
    /// anchors (role "anchor"): for logs and metrics.
    case released(IPv6Prefix, role: String)
    /// Start-up recovery is over, with `anchored` prefixes restored: the
    /// rules asked for since start are all the MAR wants, and any other rule
    /// of its own in the data plane is stale.
    case recovered(anchored: Int)
}

extension AccessRouter {
    enum Timer: Hashable, Sendable {
        case bindAck(IPv6Prefix), refresh(IPv6Prefix), bindingExpiry(IPv6Prefix), holdDown(IPv6Prefix), idle(IPv6Prefix)
        case location(UInt32), advertisement(LinkID)
    }

    struct Attachment: Sendable {
        var node: MobileNodeID
        var linkLayer: [UInt8]
        var state: State
        var since: Instant
        /// Prefixes to advertise once with valid lifetime 0.
        var withdrawn: Set<IPv6Prefix> = []
        /// Prefixes anchored here and delivered on this link, and prefixes
        /// served here for other anchors; each checked against `anchored` or
        /// `visiting` on use, so a member that moved on is skipped.
        var home: Set<IPv6Prefix> = []
        var visited: Set<IPv6Prefix> = []
        enum State: Sendable, Equatable { case awaitingRecovery, locating(UInt32), served }
        var isServed: Bool { state == .served }
    }

    struct PendingLocation: Sendable {
        var request: LocationRequest
        var timeout: Seconds
    }

    public struct Counters: Sendable, Hashable {
        public var attachments = 0, detachments = 0, advertisements = 0
        public var pbuSent = 0, pbuReceived = 0, pbaSent = 0, pbaReceived = 0, retransmissions = 0
        /// PBUs this MAR answered with a rejection, by status.
        public var rejected: [BindingAckStatus: Int] = [:]
        /// Messages or replies dropped, by reason.
        public var ignored: [String: Int] = [:]
        public var bindingsEstablished = 0, releases = 0
        /// PBUs held back while recovery read the records (answered after).
        public var heldBack = 0
    }
}
