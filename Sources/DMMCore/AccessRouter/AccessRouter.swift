import DMMWire

/// The Mobility-capable Access Router (seite section 4; RFC 8818 section
/// 3.1.1 with CPA and DPA co-located, LMc and FM-CP inside): a pure engine.
/// Hand it events with the time; take the actions it asks for; wake it at
/// `nextDeadline()`. It composes roles, each with its own state, writing
/// their actions, timers and counters into one `RoleContext`:
///
///  - access links (`AccessLinkRole`): attachments, naming nodes, Router
///    Solicitations and Advertisements;
///  - anchor (`AnchorRole`, H-MAR, the LMA role) for the prefixes it anchors;
///  - serving (`ServingRole`, V-MAR, the MAG role) for a node's prefixes
///    anchored elsewhere;
///  - location client (`LocationClient` in the context) toward the location
///    server;
///  - mobile node bindings (`HostBindingRole`): Binding Updates without the
///    proxy flag, for host-based mobility later;
///  - recovery at start (`Recovery`) of what a killed predecessor anchored.
///
/// It makes no decision of its own beyond routing each event to its role
/// and carrying the results from one role to the next.
///
/// Life of a node at a MAR:
///
///     attached --query LMs--> locating --records--> served --link down--> gone
///                                         | assign a prefix if none here is home
///                                         | PBU to the anchor of each prefix in use
///                                         | RA: home prefixes preferred, others deprecated
///
/// With `control: central` it keeps its access links and reports to the
/// controller as its LMc, which decides everything else and programs the
/// forwarding through the router's data-plane agent:
///
///     attached --attached--> locating --advertise--> served --link down: detached--> gone
///     flows on an advertised prefix start or end --update--> (a deprecated one whose flows end is withdrawn)
public struct AccessRouter: Sendable {
    public let config: AccessRouterConfig
    var context: RoleContext
    var accessLinks = AccessLinkRole()
    var anchor: AnchorRole
    var serving = ServingRole()
    var hostBindings = HostBindingRole()
    var recovery: Recovery?

    public init(config: AccessRouterConfig) {
        self.config = config
        context = RoleContext(config: config)
        anchor = AnchorRole(config: config)
    }

    public var counters: Counters { context.counters }
    var isCentral: Bool { config.control == .central }
    public var pool: PrefixPool { anchor.pool }
    var anchored: AnchorTable<AnchorRole.AnchoredPrefix> { anchor.table }
    var visiting: [IPv6Prefix: ServingRole.Visit] { serving.visits }

    // MARK: The engine API

    /// Installs what the MAR needs before any node comes, its tunnel
    /// endpoint and the floor under its block, and recovers the bindings it
    /// anchored before a restart; it says `.recovered` when done.
    public mutating func start(at now: Instant) {
        // Centrally controlled, its agent installs what it needs and the
        // controller keeps what it decided: nothing to recover.
        guard !isCentral else { return }
        context.actions.append(.install(.decapsulate(endpoint: config.tunnelEndpoint)))
        context.actions.append(.install(.unreachable(anchor.pool.block)))
        if config.decapsulation == .endDX6 {
            // Its locator too: a binding's SID that is gone refuses packets.
            context.actions.append(.install(.unreachable(IPv6Prefix(IPv6Address(high: config.tunnelEndpoint.high, low: 0), length: 64))))
        }
        startRecovery(at: now)
    }

    public mutating func handle(_ event: AccessRouterEvent, at now: Instant) {
        switch event {
        case .linkAppeared(let link): accessLinks.linkAppeared(link, &context)
        case .linkUp(let link):
            if let node = accessLinks.linkUp(link, routerAdvertisement: routerAdvertisement, at: now, &context) {
                attach(node, link: link, linkLayer: [], at: now)
            }
        case .linkRemoved(let link): accessLinks.linkRemoved(link, &context)
        case .frame(let link, let source):
            if let node = accessLinks.frame(on: link, from: source) { attach(node, link: link, linkLayer: source, at: now) }
        case .attached(let node, let link, let linkLayer): attach(node, link: link, linkLayer: linkLayer, at: now)
        case .detached(let link): detach(link, at: now)
        case .routerSolicitation(let link, let hopLimit, let sourceLinkLayer, let source, let listing):
            switch accessLinks.routerSolicitation(on: link, hopLimit: hopLimit, sourceLinkLayer: sourceLinkLayer, source: source,
                                                  listing: listing, &context) {
            case .advertise: advertise(on: link, at: now)
            case .attach(let node, let linkLayer, let previous): attach(node, link: link, linkLayer: linkLayer, previous: previous, at: now)
            case .relist(let previous) where isCentral: relist(previous, on: link, at: now)
            case .relist: if accessLinks[link]?.isServed == true { advertise(on: link, at: now) }
            case .nothing: break
            }
        case .flows(let prefix, let count): flowsChanged(prefix, count: count, at: now)
        case .mobility(let message, let sender): receive(message, from: sender, at: now)
        case .location(let reply): receive(reply, at: now)
        }
    }

    /// Runs every timer due at `now`; an early or extra call does nothing.
    public mutating func handleTimeout(at now: Instant) {
        for timer in context.timers.expire(at: now) {
            switch timer {
            case .bindAck(let p): withdraw(serving.bindAckTimedOut(p, at: now, &context), at: now)
            case .refresh(let p): serving.refresh(p, at: now, &context)
            case .idle(let p) where isCentral: idleGraceEnded(p, at: now)
            case .idle(let p): withdraw(serving.idleGraceEnded(p, at: now, &context), at: now)
            case .bindingExpiry(let p): anchor.bindingExpired(p, at: now, &context)
            case .holdDown(let p): anchor.holdDownEnded(p, at: now, &context)
            case .location(let id): locationTimedOut(id, at: now)
            case .advertisement(let link): if accessLinks[link]?.isServed == true { advertise(on: link, at: now) }
            case .probe(let link): accessLinks.probeDue(link, at: now, &context)
            }
        }
    }

    public mutating func nextDeadline() -> Instant? { context.timers.next() }

    /// The actions produced since the last call, in order.
    public mutating func pollActions() -> [AccessRouterAction] {
        defer { context.actions = [] }
        return context.actions
    }

    /// Hands each action produced since the last call to `perform`, in order,
    /// reusing the engine's buffer: the allocation-free form for hot loops.
    public mutating func pollActions<E: Error>(_ perform: (AccessRouterAction) throws(E) -> Void) throws(E) {
        try context.actions.drain(perform)
    }

    // MARK: Attachment

    /// Previous prefixes the node listed (I-D.jhlee-dmm-dnpp) go to the
    /// central controller; the distributed scheme's location server is
    /// asked by node, and they are not used.
    mutating func attach(_ node: MobileNodeID, link: LinkID, linkLayer: [UInt8], previous: [IPv6Prefix] = [], at now: Instant) {
        if accessLinks[link] != nil, accessLinks[link]?.node != node { detach(link, at: now) }
        // While recovery reads its pages, a query's answer could not be acted on yet.
        let awaiting = recovery?.paging == true
        guard accessLinks.attach(node, link: link, linkLayer: linkLayer, at: now, &context) else { return }
        let request: LocationRequest = isCentral ? .attached(node, link: link, previous: previous) : .query(node)
        if isCentral { accessLinks[link]?.previous = previous }
        if !awaiting { accessLinks.locating(link, query: context.ask(request, at: now)) }
        context.actions.append(.nodeAttached(node, link: link))
    }

    /// The node, named by an earlier frame, listed its previous prefixes:
    /// the controller is told again, and its answer is what the link
    /// advertises. The earlier report, if unanswered, is not sent again:
    /// it would have the controller release what the node listed.
    mutating func relist(_ previous: [IPv6Prefix], on link: LinkID, at now: Instant) {
        guard let a = accessLinks[link] else { return }
        if case .locating(let earlier) = a.state, context.location.answered(earlier) != nil { context.timers.cancel(.location(earlier)) }
        accessLinks[link]?.previous = previous
        accessLinks.locating(link, query: context.ask(.attached(a.node, link: link, previous: previous), at: now))
    }

    /// The node's records are in: make each prefix reachable on the link it
    /// asked for, or not. A prefix the node uses on another of its links here
    /// stays there.
    mutating func located(query id: UInt32, records: [PrefixRecord], at now: Instant) {
        guard let link = accessLinks.located(query: id), let a = accessLinks[link] else { return }
        let node = a.node
        var home = false
        for record in records where record.mobileNode == node {
            let prefix = record.prefix
            if accessLinks.otherLink(of: node, than: link, where: { anchor.isHome(prefix, on: $0) || serving.serves(prefix, on: $0) }) {
                continue
            }
            if record.anchor == config.address {
                if anchor.returnHome(prefix, link: link, at: now, &context) {
                    accessLinks[link]?.home.insert(prefix)
                    home = true
                } else {
                    accessLinks[link]?.withdrawn.insert(prefix)
                }
            } else if record.active || context.flows(prefix) > 0 {
                serving.visit(record, link: link, linkLayer: a.linkLayer, attachedAt: a.since, at: now, &context)
                accessLinks[link]?.visited.insert(prefix)
            } else {
                // Mobility only when needed (RFC 8818 section 4.1): no flow
                // uses it, so it is not carried here; the node stops using it.
                accessLinks[link]?.withdrawn.insert(prefix)
            }
        }
        if !home, let prefix = anchor.assign(to: node, link: link, at: now, &context) { accessLinks[link]?.home.insert(prefix) }
        advertise(on: link, at: now)
    }

    mutating func detach(_ link: LinkID, at now: Instant) {
        guard let attachment = accessLinks.detach(link, &context) else { return }
        guard !isCentral else {
            _ = context.ask(.detached(attachment.node, link: link), at: now)
            return
        }
        // Sorted: the order of PBUs and rules must not depend on hashing.
        for prefix in attachment.visited.sorted(by: { $0.address < $1.address }) where serving.serves(prefix, on: link) {
            serving.leave(prefix, at: now, &context)
        }
        for prefix in attachment.home.sorted(by: { $0.address < $1.address }) where anchor.isHome(prefix, on: link) {
            anchor.nodeLeft(prefix, link: link, at: now, &context)
        }
    }

    /// Tells the node to stop using a prefix the serving role gave up, if it
    /// is still on the link.
    mutating func withdraw(_ w: ServingRole.Withdrawal?, at now: Instant) {
        guard let w, accessLinks[w.link] != nil else { return }
        accessLinks[w.link]?.withdrawn.insert(w.prefix)
        advertise(on: w.link, at: now)
    }

    mutating func advertise(on link: LinkID, at now: Instant) {
        guard let a = accessLinks[link] else { return }
        // Centrally controlled, the controller said what each prefix is.
        let home = a.home.filter { isCentral || anchor.isHome($0, on: link) }.sorted { $0.address < $1.address }
        let visited = a.visited.filter { isCentral || serving.serves($0, on: link) }.sorted { $0.address < $1.address }
        accessLinks.advertise(on: link, home: home, visited: visited, routerAdvertisement: routerAdvertisement, at: now, &context)
    }

    /// The Router Advertisement without prefixes: the router's lifetime, its
    /// link-layer address (RFC 4861 section 4.2, which lets the node use
    /// optimistic DAD), and the MTU that leaves room for a tunnel (RFC 4861
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
        guard !isCentral else {
            context.counters.ignored[.unexpectedMessage, default: 0] += 1
            return
        }
        if recovery?.paging == true, deferDuringRecovery(message, from: sender) { return }
        switch message.message {
        case .bindingUpdate(let bu) where bu.flags.contains(.proxyRegistration): anchor.receive(bu, from: sender, at: now, &context)
        case .bindingUpdate(let bu): hostBindings.receive(bu, from: sender, &context)
        case .bindingAcknowledgement(let pba): withdraw(serving.receive(pba, from: sender, at: now, &context), at: now)
        default: context.counters.ignored[.unexpectedMessage, default: 0] += 1
        }
    }

    // MARK: Central control: reports to the controller (LMc)

    /// The controller's answer to an attachment: what the link advertises.
    mutating func advertised(query id: UInt32, _ prefixes: [LocationManagement.Advertisement], at now: Instant) {
        guard let link = accessLinks.located(query: id) else { return }
        accessLinks[link]?.home = Set(prefixes.filter(\.preferred).map(\.prefix))
        accessLinks[link]?.visited = Set(prefixes.filter { !$0.preferred }.map(\.prefix))
        // A deprecated prefix is here for flows the node had elsewhere; if
        // none shows up here within the idle grace, it goes (FM-path-ind:10).
        for p in prefixes where !p.preferred && context.flows(p.prefix) == 0 {
            context.timers.set(.idle(p.prefix), at: now + config.idleGrace)
        }
        advertise(on: link, at: now)
    }

    /// No flow on a deprecated prefix since the node came: as if its flows
    /// had ended here.
    mutating func idleGraceEnded(_ prefix: IPv6Prefix, at now: Instant) {
        guard context.flows(prefix) == 0 else { return }
        reportFlows(prefix, active: false, at: now)
    }

    /// Flows on a prefix advertised here started or all ended: the
    /// controller is told. A deprecated prefix whose flows end is released
    /// by the controller, so the node is told to stop using it.
    mutating func reportFlows(_ prefix: IPv6Prefix, active: Bool, at now: Instant) {
        let links = accessLinks.attachments.filter { $0.value.home.contains(prefix) || $0.value.visited.contains(prefix) }.keys.sorted()
        guard !links.isEmpty else { return }
        _ = context.ask(.update(prefix, serving: config.address, active: active), at: now)
        for link in links where !active && accessLinks[link]!.visited.contains(prefix) {
            accessLinks[link]?.visited.remove(prefix)
            accessLinks[link]?.withdrawn.insert(prefix)
            advertise(on: link, at: now)
        }
    }

    // MARK: Flows (RFC 8818 section 4: mobility only when needed)

    mutating func flowsChanged(_ prefix: IPv6Prefix, count: Int, at now: Instant) {
        let before = context.flows(prefix)
        context.flowCounts[prefix] = count > 0 ? count : nil
        guard (before > 0) != (count > 0) else { return }
        guard !isCentral else {
            reportFlows(prefix, active: count > 0, at: now)
            return
        }
        if !serving.flowsChanged(prefix, count: count, at: now, &context) {
            anchor.flowsChanged(prefix, count: count, at: now, &context)
        }
    }

    // MARK: Location client (LMc)

    mutating func receive(_ reply: LocationEnvelope<LocationReply>, at now: Instant) {
        guard let request = context.location.answered(reply.id) else {
            context.counters.ignored[.locationReplyWithNoRequest, default: 0] += 1
            return
        }
        context.timers.cancel(.location(reply.id))
        switch reply.body {
        case .records(let node, let records):
            if case .query(let asked) = request, asked == node { located(query: reply.id, records: records, at: now) }
        case .page(let records, let next):
            if case .recover = request { restore(page: records, next: next, at: now) }
        case .advertise(let prefixes):
            if case .attached = request { advertised(query: reply.id, prefixes, at: now) }
        case .done: break
        case .refused:
            context.counters.ignored[.locationServerRefused, default: 0] += 1
            if case .recover = request { endPaging(at: now) }
        }
        settleRecovery(answered: reply.id)
    }

    mutating func locationTimedOut(_ id: UInt32, at now: Instant) {
        switch context.location.timedOut(id, maximum: config.maxBindAckTimeout) {
        case nil: return
        case .again(let request, let timeout)?:
            context.actions.append(.location(LocationEnvelope(id: id, request)))
            context.timers.set(.location(id), at: now + timeout)
        case .givenUp(let request)?:
            context.counters.ignored[.locationRequestUnanswered, default: 0] += 1
            switch request {
            case .query: located(query: id, records: [], at: now)  // no location server: a prefix of its own
            case .recover: endPaging(at: now)
            default: break
            }
            settleRecovery(answered: id)
        }
    }
}

public enum AccessRouterEvent: Sendable {
    /// An access link appeared, or was set up again: its node will be named.
    case linkAppeared(LinkID)
    /// The access link has carrier and the kernel has configured it.
    case linkUp(LinkID)
    /// The access link is gone.
    case linkRemoved(LinkID)
    /// A frame on an access link being watched, from this link-layer address.
    case frame(link: LinkID, source: [UInt8])
    /// A node came up on an access link, named by other means.
    case attached(MobileNodeID, link: LinkID, linkLayerAddress: [UInt8])
    /// The access link went down.
    case detached(LinkID)
    /// A Router Solicitation arrived with this hop limit, source link-layer
    /// address option (if any), source address, and the prefixes of its
    /// Prefix Information options: the node's previous prefixes, as
    /// I-D.jhlee-dmm-dnpp has a node list them (none from an unmodified host).
    case routerSolicitation(link: LinkID, hopLimit: UInt8, sourceLinkLayerAddress: [UInt8]?, source: IPv6Address, listing: [IPv6Prefix] = [])
    /// The data plane counts `count` flows using `prefix` now.
    case flows(IPv6Prefix, count: Int)
    case mobility(MobilityHeader, from: IPv6Address)
    case location(LocationEnvelope<LocationReply>)
}

public enum AccessRouterAction: Hashable, Sendable {
    case sendMobility(MobilityHeader, to: IPv6Address)
    case sendRouterAdvertisement(RouterAdvertisement, link: LinkID)
    /// An ICMPv6 Echo Request to all nodes on the link, to hear from its node.
    case sendEchoRequest(link: LinkID, sequence: UInt16)
    /// Start, or stop, reporting the frames that arrive on the link (`.frame`).
    case watchFrames(LinkID)
    case stopWatchingFrames(LinkID)
    case install(ForwardingRule)
    case remove(ForwardingRule)
    /// To the configured location server.
    case location(LocationEnvelope<LocationRequest>)
    /// A node is attached on the link (for logs and metrics).
    case nodeAttached(MobileNodeID, link: LinkID)
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
        case location(UInt32), advertisement(LinkID), probe(LinkID)
    }

    /// Why an input changed nothing: a closed set, so that it can label a
    /// metric. The details go to the counters' callers' logs, not here.
    public enum Ignored: String, CaseIterable, Sendable {
        case unexpectedMessage = "unexpected message"
        case pbaMatchingNoPendingPBU = "PBA matching no pending PBU"
        case bindingRefused = "binding refused by the anchor"
        case pbuUnanswered = "PBU unanswered, given up"
        case locationReplyWithNoRequest = "location reply with no request"
        case locationServerRefused = "location server refused"
        case locationRequestUnanswered = "location request unanswered, given up"
        case recoveredRecordNotThisAnchors = "recovered record not this anchor's"
        case pbuDuringRecoveryBacklogFull = "PBU during recovery, backlog full"
        case prefixPoolExhausted = "prefix pool exhausted"
        case nodeNeverAnswered = "node on a link never answered"
        case routerSolicitationHopLimit = "Router Solicitation with hop limit not 255"
        case previousPrefixUnusable = "previous prefix listed in a Router Solicitation not global unicast, or one too many"
    }

    public struct Counters: Sendable, Hashable {
        public var attachments = 0, detachments = 0, advertisements = 0
        public var pbuSent = 0, pbuReceived = 0, pbaSent = 0, pbaReceived = 0, retransmissions = 0
        /// Binding Updates this MAR answered with a rejection, by status.
        public var rejected: [BindingAckStatus: Int] = [:]
        /// Messages, replies and events that changed nothing, by reason.
        public var ignored: [Ignored: Int] = [:]
        public var bindingsEstablished = 0, releases = 0
        /// PBUs held back while recovery read the records (answered after).
        public var heldBack = 0
    }
}
