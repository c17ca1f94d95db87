import DMMWire

/// The controller's location management (RFC 8818 section 3.1.1 with the LM
/// centralized; the access routers report to it as its LMc): the prefixes
/// each node holds, where each is anchored, whether flows use it, and where
/// the node is. From the access routers' reports it decides where each
/// prefix is served (a `Placement`, carried out by `Controller.place`) and
/// which prefixes an access router advertises to its node: mobility only
/// when needed (seite section 4), with indirection.
///
///  | report                         | decision                                                           |
///  |--------------------------------|--------------------------------------------------------------------|
///  | node attached at agent B       | its prefix anchored at B preferred (a new one if it has none;      |
///  |                                | anchored elsewhere if B cannot anchor); prefixes with flows, and   |
///  |                                | those the node listed as its previous ones, follow it, deprecated; |
///  |                                | prefixes without flows are released                                |
///  | flows on a prefix ended        | released, unless it is the preferred prefix where the node is      |
///  | node detached                  | its prefixes without flows released; the others stay until their  |
///  |                                | flows end or the node attaches again (buffered on their way to it, |
///  |                                | with buffering)                                                    |
public struct LocationManagement: Sendable {
    /// A prefix a node holds.
    public struct Held: Sendable, Hashable {
        public var prefix: IPv6Prefix
        public var anchor: IPv6Address
        /// Whether flows use it, as the access router serving it last said.
        public var active: Bool

        public init(prefix: IPv6Prefix, anchor: IPv6Address, active: Bool) {
            self.prefix = prefix
            self.anchor = anchor
            self.active = active
        }
    }

    /// A prefix an access router advertises (RFC 4861 Prefix Information):
    /// a deprecated one keeps working for the flows that use it.
    public struct Advertisement: Sendable, Hashable {
        public var prefix: IPv6Prefix
        public var preferred: Bool

        public init(prefix: IPv6Prefix, preferred: Bool) {
            self.prefix = prefix
            self.preferred = preferred
        }
    }

    /// Each node's prefixes, oldest first.
    public private(set) var nodes: [MobileNodeID: [Held]] = [:]
    /// Where each attached node is.
    public private(set) var attachments: [MobileNodeID: Placement.Attachment] = [:]
    /// How long a released prefix waits before it is handed out again.
    public var holdDown: Seconds
    var owner: [IPv6Prefix: MobileNodeID] = [:]
    /// Each anchor's pools, made from the blocks it registered.
    var pools: [IPv6Address: [PrefixPool]] = [:]
    /// Released prefixes waiting out the hold-down, in the order released.
    public private(set) var holding: [Holding] = []
    /// What became of the prefixes nodes listed in their Router
    /// Solicitations as their previous ones (I-D.jhlee-dmm-dnpp).
    public private(set) var listed = Listed()
    /// The node each prefix in the hold-down was released from as it
    /// moved: listed by that node, it is taken back (`attached`). Not
    /// stored: after a restart such a listing finds the prefix released.
    var releasedFrom: [IPv6Prefix: MobileNodeID] = [:]
    /// Nodes whose prefixes or attachment changed since `takeChanges()`.
    var changedNodes: Set<MobileNodeID> = []
    var holdingChanged = false

    public struct Listed: Sendable, Hashable {
        /// Listed prefixes the node holds: carried to where it is.
        public var used = 0
        /// Listed prefixes the node does not hold: ignored, never advertised.
        public var notTheNodes = 0
    }

    public struct Holding: Sendable, Hashable {
        public var prefix: IPv6Prefix
        public var anchor: IPv6Address
        public var until: Instant

        public init(prefix: IPv6Prefix, anchor: IPv6Address, until: Instant) {
            self.prefix = prefix
            self.anchor = anchor
            self.until = until
        }
    }

    public init(holdDown: Seconds = 10) { self.holdDown = holdDown }

    /// What a controller restarted from its store had: each node's prefixes
    /// and attachment, and the prefixes still held down.
    public struct Node: Sendable, Hashable {
        public var node: MobileNodeID
        public var held: [Held]
        public var attachment: Placement.Attachment?

        public init(node: MobileNodeID, held: [Held], attachment: Placement.Attachment?) {
            self.node = node
            self.held = held
            self.attachment = attachment
        }
    }

    public init(holdDown: Seconds = 10, restoring nodes: [Node], holding: [Holding]) {
        self.init(holdDown: holdDown)
        for n in nodes {
            if !n.held.isEmpty { self.nodes[n.node] = n.held }
            attachments[n.node] = n.attachment
            for h in n.held { owner[h.prefix] = n.node }
        }
        self.holding = holding.sorted { $0.until < $1.until }
    }

    /// After a restart from the store: each prefix placed again where its
    /// node is, so that the controller knows the placements anchor switching
    /// works from, and a move it died in the middle of finishes (a buffering
    /// router gets its final entries, which release what it held). Rules
    /// that are already right are not sent again.
    public func placeAgain(controller: inout Controller, now: Instant) {
        for node in nodes.keys.sorted() {
            let at = attachments[node]
            for h in nodes[node]! where h.active || h.anchor == at?.agent {
                controller.place(Placement(prefix: h.prefix, anchor: h.anchor, serving: at), at: now)
            }
        }
    }

    /// Every node as the store keeps it, in node order.
    public var stored: [Node] {
        Set(nodes.keys).union(attachments.keys).sorted().map { node(of: $0) }
    }

    func node(of id: MobileNodeID) -> Node { Node(node: id, held: nodes[id] ?? [], attachment: attachments[id]) }

    /// The nodes changed since the last call, each as it is now (no prefix
    /// and no attachment: gone), and the hold-down list if it changed.
    public mutating func takeChanges() -> (nodes: [Node], holding: [Holding]?) {
        defer {
            changedNodes = []
            holdingChanged = false
        }
        return (changedNodes.sorted().map { node(of: $0) }, holdingChanged ? holding : nil)
    }

    /// The node holding `prefix`, if any.
    public func holder(of prefix: IPv6Prefix) -> MobileNodeID? { owner[prefix] }

    // MARK: Reports from the access routers

    /// Node `node` attached at `at`, having listed `previous` as its
    /// previous prefixes: places its prefixes and returns what the access
    /// router advertises to it, the preferred prefix first.
    ///
    /// A listed prefix the node holds is carried even if no flow was seen
    /// on it (the node knows its sessions; the access router's idle grace
    /// still releases it if none shows up), and so is one released from
    /// this node without flows as it moved and still held down (when it
    /// left its last link, or by the report of this attachment that came
    /// before its solicitation); any other is ignored and counted. (A
    /// prefix whose flows ended was withdrawn from the node; Linux keeps
    /// the address for up to two hours, RFC 4862 section 5.5.3 e, and lists
    /// it: not its own any more.)
    public mutating func attached(_ node: MobileNodeID, at: Placement.Attachment, previous: [IPv6Prefix] = [],
                                  controller: inout Controller, now: Instant) -> [Advertisement] {
        var held = nodes[node] ?? []
        for prefix in previous where owner[prefix] == nil && releasedFrom[prefix] == node {
            guard let i = holding.firstIndex(where: { $0.prefix == prefix && $0.until > now }) else { continue }
            held.append(Held(prefix: prefix, anchor: holding.remove(at: i).anchor, active: false))
            releasedFrom[prefix] = nil
            owner[prefix] = node
            holdingChanged = true
        }
        let listed = Set(previous), used = held.filter { listed.contains($0.prefix) }.count
        self.listed.used += used
        self.listed.notTheNodes += listed.count - used
        attachments[node] = at
        changedNodes.insert(node)
        var kept: [Held] = []
        for h in held {
            if h.active || h.anchor == at.agent || listed.contains(h.prefix) {
                controller.place(Placement(prefix: h.prefix, anchor: h.anchor, serving: at), at: now)
                kept.append(h)
            } else {
                release(h, movedAway: true, controller: &controller, now: now)
            }
        }
        var preferred = kept.last { $0.anchor == at.agent }
        if preferred == nil, let anchor = controller.chooseAnchor(preferring: at.agent), let prefix = allocate(at: anchor, controller, now: now) {
            let h = Held(prefix: prefix, anchor: anchor, active: false)
            owner[prefix] = node
            kept.append(h)
            controller.place(Placement(prefix: prefix, anchor: anchor, serving: at), at: now)
            preferred = h
        }
        nodes[node] = kept.isEmpty ? nil : kept
        let rest = kept.filter { $0.prefix != preferred?.prefix }.map { Advertisement(prefix: $0.prefix, preferred: false) }
        return (preferred.map { [Advertisement(prefix: $0.prefix, preferred: true)] } ?? []) + rest
    }

    /// Flows on `prefix` started or all ended, as the access router serving
    /// it counts them.
    public mutating func flows(_ prefix: IPv6Prefix, active: Bool, controller: inout Controller, now: Instant) {
        guard let node = owner[prefix], var held = nodes[node], let i = held.firstIndex(where: { $0.prefix == prefix }) else { return }
        held[i].active = active
        nodes[node] = held
        changedNodes.insert(node)
        let isPreferred = attachments[node].map { $0.agent == held[i].anchor } ?? false
        if !active && !isPreferred { release(held[i], movedAway: false, controller: &controller, now: now) }
    }

    /// Node `node` left `from` (a later attachment elsewhere counts, not this).
    public mutating func detached(_ node: MobileNodeID, from: Placement.Attachment, controller: inout Controller, now: Instant) {
        guard attachments[node] == from else { return }
        attachments[node] = nil
        changedNodes.insert(node)
        for h in nodes[node] ?? [] {
            if h.active { controller.nodeLeft(h.prefix, anchor: h.anchor, at: now) } else { release(h, movedAway: true, controller: &controller, now: now) }
        }
    }

    /// An access router's report in the location protocol, from `agent`:
    /// what the controller answers. Only associated agents are heard.
    public mutating func answer(_ request: LocationRequest, from agent: IPv6Address, controller: inout Controller,
                                now: Instant) -> LocationReply {
        guard controller.associations[agent] != nil else { return .refused("\(agent) is not an associated agent") }
        switch request {
        case .attached(let node, let link, let previous):
            return .advertise(attached(node, at: Placement.Attachment(agent: agent, link: link), previous: previous,
                                       controller: &controller, now: now))
        case .detached(let node, let link):
            detached(node, from: Placement.Attachment(agent: agent, link: link), controller: &controller, now: now)
            return .done
        case .update(let prefix, _, let active, _):
            guard holder(of: prefix) != nil else { return .refused("no node holds \(prefix)") }
            flows(prefix, active: active, controller: &controller, now: now)
            return .done
        case .query, .register, .release, .recover:
            return .refused("a central controller takes attached, detached and update")
        }
    }

    // MARK: Prefixes

    /// Releases a prefix; `movedAway`: because the node moved without
    /// flows on it, not because its flows ended (the node was told to stop
    /// using those), so that the node can list it back (`attached`).
    mutating func release(_ h: Held, movedAway: Bool, controller: inout Controller, now: Instant) {
        guard let node = owner.removeValue(forKey: h.prefix) else { return }
        controller.place(Placement(prefix: h.prefix, anchor: h.anchor, serving: nil), at: now)
        nodes[node]?.removeAll { $0.prefix == h.prefix }
        if nodes[node]?.isEmpty == true { nodes[node] = nil }
        changedNodes.insert(node)
        releasedFrom[h.prefix] = movedAway ? node : nil
        holding.append(Holding(prefix: h.prefix, anchor: h.anchor, until: now + holdDown))
        holdingChanged = true
    }

    /// A free prefix of `anchor`'s pools, as registered with the controller.
    mutating func allocate(at anchor: IPv6Address, _ controller: Controller, now: Instant) -> IPv6Prefix? {
        // Prefixes whose hold-down is over go back to their pools first.
        while let first = holding.first, first.until <= now {
            holding.removeFirst()
            releasedFrom[first.prefix] = nil
            holdingChanged = true
            for i in pools[first.anchor, default: []].indices where pools[first.anchor]![i].contains(first.prefix) {
                pools[first.anchor]![i].release(first.prefix)
            }
        }
        // Blocks longer than /64 hold no /64 to hand out.
        let registered: [IPv6Prefix] = (controller.associations[anchor]?.pools ?? []).flatMap { $0.prefixes }
        let blocks = registered.filter { $0.length <= 64 }.map { IPv6Prefix($0.address.masked(to: Int($0.length)), length: $0.length) }
        if (pools[anchor] ?? []).map({ $0.block }) != blocks {
            var made: [PrefixPool] = []
            for block in blocks {
                var pool = PrefixPool(block: block)
                for p in owner.keys where pool.contains(p) { _ = pool.reserve(p) }
                for h in holding where pool.contains(h.prefix) { _ = pool.reserve(h.prefix) }
                made.append(pool)
            }
            pools[anchor] = made
        }
        // None registered (a block longer than /64 is none): nothing to hand out.
        for i in (pools[anchor] ?? []).indices {
            if let p = pools[anchor]![i].allocate() { return p }
        }
        return nil
    }
}
