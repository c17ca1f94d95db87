import DMMWire

/// The anchor role (H-MAR, RFC 5213's LMA) for the prefixes this router
/// anchors: those it assigned from its pool, and prefixes of other routers
/// adopted here (anchor switching, RFC 8818 section 5, will move them).
///
///     assigned --node leaves, flows--> left --PBU--> away(binding) --PBU from next MAR--> away
///        |  \                           | ^            | dereg, flows ended / expiry
///        |   node leaves, no flows      | +-- dereg, --+
///        |                              |     node left |
///        |                              | grace ends   v
///        |------------------------------+---------> holdDown --timer--> back in the pool
///     home(link) <--node returns-- away
struct AnchorRole: Sendable {
    struct AnchoredPrefix: Sendable, Equatable {
        var node: MobileNodeID
        var state: State
        /// The newest accepted PBU's timestamp (timestamp freshness).
        var lastTimestamp: Timestamp?
        /// When a binding (`away`) or the wait for one (`left`) runs out.
        var expires: Instant?
        /// The deadline the timer table holds for this prefix. A refresh only
        /// moves `expires` later; the timer, when it fires, re-arms for the
        /// new time. So the common case costs no timer operation.
        var armed: Instant?

        enum State: Sendable, Equatable {
            /// The node is attached here: delivered natively.
            case home(LinkID)
            /// Tunnelled to the visited MAR of the binding.
            case away(Binding)
            /// The node left with flows running; waiting for its next MAR.
            case left
            /// Released; returns to the pool when the hold-down ends.
            case holdDown
        }
    }

    /// A visited MAR's binding. One PBU may carry several prefixes of its
    /// node (RFC 5213 section 5.3.2; a mobile router's prefixes, RFC 3963):
    /// each of them then holds the same binding.
    struct Binding: Sendable, Equatable {
        var visited: IPv6Address
        /// The last accepted sequence number; nil after a restart.
        var sequence: UInt16?
    }

    private(set) var pool: PrefixPool
    var table: AnchorTable<AnchoredPrefix>

    init(config: AccessRouterConfig) {
        pool = PrefixPool(block: config.prefixBlock, prefixLength: config.prefixLength)
        table = AnchorTable(pool: pool)
    }

    subscript(prefix: IPv6Prefix) -> AnchoredPrefix? { table[prefix] }

    func isHome(_ prefix: IPv6Prefix, on link: LinkID) -> Bool { table[prefix]?.state == .home(link) }

    /// Sets when the prefix's binding or grace runs out; nil for never.
    static func setExpiry(_ prefix: IPv6Prefix, _ entry: inout AnchoredPrefix, _ deadline: Instant?, _ c: inout RoleContext) {
        entry.expires = deadline
        if let deadline, entry.armed.map({ deadline < $0 }) ?? true {
            c.timers.set(.bindingExpiry(prefix), at: deadline)
            entry.armed = deadline
        }
    }

    /// A new prefix for a node that has none at home here (seite Figure 5 step 1).
    mutating func assign(to node: MobileNodeID, link: LinkID, at now: Instant, _ c: inout RoleContext) -> IPv6Prefix? {
        guard let prefix = pool.allocate() else {
            c.counters.ignored[.prefixPoolExhausted, default: 0] += 1
            return nil
        }
        table[prefix] = AnchoredPrefix(node: node, state: .home(link))
        c.actions.append(.install(.deliver(prefix, link: link)))
        c.ask(.register(PrefixRecord(mobileNode: node, prefix: prefix, anchor: c.config.address, serving: c.config.address, active: false)),
              at: now)
        return prefix
    }

    /// Anchors here a prefix from outside the pool, its node on `link`.
    /// Returns false if it is in the pool or anchored already.
    mutating func adopt(_ prefix: IPv6Prefix, node: MobileNodeID, link: LinkID, _ c: inout RoleContext) -> Bool {
        guard !pool.contains(prefix), table[prefix] == nil else { return false }
        table[prefix] = AnchoredPrefix(node: node, state: .home(link))
        c.actions.append(.install(.deliver(prefix, link: link)))
        return true
    }

    /// The node is back at the anchor of `prefix`: native delivery again, the
    /// tunnel replaced in one step. Returns false if the prefix is not usable.
    mutating func returnHome(_ prefix: IPv6Prefix, link: LinkID, at now: Instant, _ c: inout RoleContext) -> Bool {
        guard var entry = table[prefix], entry.state != .holdDown else { return false }
        entry.state = .home(link)
        Self.setExpiry(prefix, &entry, nil, &c)
        table[prefix] = entry
        c.actions.append(.install(.deliver(prefix, link: link)))
        c.ask(.update(prefix, serving: c.config.address, active: c.flows(prefix) > 0), at: now)
        return true
    }

    /// The node left the link. Flows still use the prefix: keep it for the
    /// PBU of the next MAR. None do: release it now (GL-mix:4).
    mutating func nodeLeft(_ prefix: IPv6Prefix, link: LinkID, at now: Instant, _ c: inout RoleContext) {
        guard var entry = table[prefix] else { return }
        c.actions.append(.remove(.deliver(prefix, link: link)))
        if c.flows(prefix) > 0 {
            entry.state = .left
            Self.setExpiry(prefix, &entry, now + c.config.detachedGrace, &c)
            table[prefix] = entry
        } else {
            release(prefix, at: now, &c)
        }
    }

    /// The flows on a prefix at home here changed: the location server keeps
    /// whether it is in use.
    func flowsChanged(_ prefix: IPv6Prefix, count: Int, at now: Instant, _ c: inout RoleContext) {
        if let entry = table[prefix], case .home = entry.state {
            c.ask(.update(prefix, serving: c.config.address, active: count > 0), at: now)
        }
    }

    /// Ends the prefix's life here: no rule left, and after the hold-down the
    /// record removed and the prefix back in the pool. Until then the record
    /// says the prefix is idle, so a MAR the node reaches meanwhile tells the
    /// node to stop using it.
    mutating func release(_ prefix: IPv6Prefix, at now: Instant, _ c: inout RoleContext) {
        guard var entry = table[prefix] else { return }
        if case .away(let b) = entry.state {
            c.actions.append(.remove(c.config.tunnel(prefix, to: b.visited)))
        }
        entry.state = .holdDown
        Self.setExpiry(prefix, &entry, nil, &c)
        table[prefix] = entry
        c.flowCounts[prefix] = nil
        c.timers.set(.holdDown(prefix), at: now + c.config.holdDown)
        c.ask(.update(prefix, serving: nil, active: false), at: now)
        c.counters.releases += 1
        c.actions.append(.released(prefix, role: "anchor"))
    }

    mutating func bindingExpired(_ prefix: IPv6Prefix, at now: Instant, _ c: inout RoleContext) {
        guard var entry = table[prefix] else { return }
        entry.armed = nil
        guard let expires = entry.expires else {
            table[prefix] = entry
            return
        }
        if expires <= now {
            table[prefix] = entry
            release(prefix, at: now, &c)
        } else {
            Self.setExpiry(prefix, &entry, expires, &c)  // refreshed since the timer was set
            table[prefix] = entry
        }
    }

    mutating func holdDownEnded(_ prefix: IPv6Prefix, at now: Instant, _ c: inout RoleContext) {
        guard table[prefix]?.state == .holdDown else { return }
        table[prefix] = nil
        pool.release(prefix)
        c.ask(.release(prefix), at: now)
    }

    /// One prefix back in the anchor role after a restart, in the state its
    /// location record gives (see `Recovery`). Returns false for a record
    /// that is not this anchor's.
    mutating func restore(_ record: PrefixRecord, at now: Instant, _ c: inout RoleContext) -> Bool {
        let prefix = record.prefix
        guard record.anchor == c.config.address, table[prefix] == nil, pool.reserve(prefix) else { return false }
        var entry = AnchoredPrefix(node: record.mobileNode, state: .holdDown)
        switch record.serving {
        case nil:
            // Released before the restart: the hold-down runs again in full.
            c.timers.set(.holdDown(prefix), at: now + c.config.holdDown)
        case c.config.address?:
            // The node was here: it is found on its link, or its next MAR's
            // PBU comes, or the grace runs out.
            entry.state = .left
            Self.setExpiry(prefix, &entry, now + c.config.detachedGrace, &c)
        case let visited?:
            // The sequence number is unknown: the next PBU from `visited` sets it.
            entry.state = .away(Binding(visited: visited, sequence: nil))
            Self.setExpiry(prefix, &entry, record.expires ?? now + c.config.detachedGrace, &c)
            c.actions.append(.install(c.config.tunnel(prefix, to: visited)))
        }
        table[prefix] = entry
        return true
    }

    // MARK: Proxy Binding Update (RFC 5213 section 5.3)

    mutating func receive(_ pbu: BindingUpdate, from sender: IPv6Address, at now: Instant, _ c: inout RoleContext) {
        c.counters.pbuReceived += 1
        let check = validate(pbu, from: sender, at: now, c.config)
        guard case .accept(let prefixes, let timestamp, let handoff) = check else {
            if case .reject(let status, let lastAccepted) = check {
                c.acknowledge(pbu, with: status, lifetime: 0, to: sender, sequence: lastAccepted)
            }
            return
        }
        if pbu.lifetime == 0 {
            // Deregistration (RFC 5213 section 5.3.5): only the MAR holding
            // the binding ends it; another's is acknowledged and ignored.
            deregister(prefixes.first, from: sender, handoff: handoff, at: now, &c)
            for p in prefixes.more { deregister(p, from: sender, handoff: handoff, at: now, &c) }
            c.acknowledge(pbu, with: .accepted, lifetime: 0, to: sender)
            return
        }
        let granted = min(Seconds(Double(pbu.lifetime) * 4), c.config.maxBindingLifetime)
        bind(prefixes.first, to: sender, sequence: pbu.sequence, timestamp: timestamp, until: now + granted, &c)
        for p in prefixes.more { bind(p, to: sender, sequence: pbu.sequence, timestamp: timestamp, until: now + granted, &c) }
        c.acknowledge(pbu, with: .accepted, lifetime: UInt16(min(granted.seconds / 4, Double(UInt16.max))), to: sender)
    }

    /// One prefix of an accepted PBU: tunnelled to `sender` until `expiry`.
    /// The entry is changed in place: this is the path of every PBU.
    mutating func bind(_ prefix: IPv6Prefix, to sender: IPv6Address, sequence: UInt16, timestamp: Timestamp?, until expiry: Instant,
                       _ c: inout RoleContext) {
        let moved = table.update(prefix) { entry -> Bool in
            // A refresh from the same far end finds its tunnel already right.
            let refresh = if case .away(let b) = entry.state, b.visited == sender { true } else { false }
            entry.state = .away(Binding(visited: sender, sequence: sequence))
            if let timestamp { entry.lastTimestamp = timestamp }
            Self.setExpiry(prefix, &entry, expiry, &c)
            return !refresh
        }
        // One route per prefix: the tunnel replaces native delivery or the
        // previous far end in one step.
        if moved == true { c.actions.append(.install(c.config.tunnel(prefix, to: sender))) }
    }

    mutating func deregister(_ prefix: IPv6Prefix, from sender: IPv6Address, handoff: HandoffIndicator?, at now: Instant,
                             _ c: inout RoleContext) {
        guard var entry = table[prefix], case .away(let b) = entry.state, b.visited == sender else { return }
        if handoff == .handoffStateNotChanged {
            // The node stays, its flows ended (FM-path-ind:10): released.
            release(prefix, at: now, &c)
        } else {
            // The node left: no tunnel, and MinDelayBeforeBCEDelete (the
            // hold-down) to wait for its next MAR's PBU.
            c.actions.append(.remove(c.config.tunnel(prefix, to: b.visited)))
            entry.state = .left
            Self.setExpiry(prefix, &entry, now + c.config.holdDown, &c)
            table[prefix] = entry
        }
    }

    /// The prefixes of one PBU: nearly always one, so the first is held
    /// apart and the array, usually empty, costs no allocation.
    struct Prefixes {
        var first: IPv6Prefix
        var more: [IPv6Prefix] = []

        var hasDuplicates: Bool {
            guard !more.isEmpty else { return false }
            let all = [first] + more
            return all.indices.contains { i in all[(i + 1)...].contains(all[i]) }
        }
    }

    enum Check {
        case accept(Prefixes, Timestamp?, HandoffIndicator?)
        /// With the last accepted sequence number for status 135.
        case reject(BindingAckStatus, lastAccepted: UInt16? = nil)
    }


    /// RFC 5213 sections 5.3.1 and 5.5: the sender is a known MAR, the PBU has
    /// the options a PBU must have, the node owns every prefix, and the PBU
    /// is fresh for each. Nothing changes state before this says accept.
    func validate(_ pbu: BindingUpdate, from sender: IPv6Address, at now: Instant, _ config: AccessRouterConfig) -> Check {
        guard config.peers.contains(sender) else { return .reject(.magNotAuthorizedForProxyRegistration) }
        guard pbu.flags.contains(.proxyRegistration) else { return .reject(.proxyRegistrationNotEnabled) }
        var node: MobileNodeID?, first: IPv6Prefix?, more: [IPv6Prefix] = [], hi: HandoffIndicator?, att = false, timestamp: Timestamp?
        for option in pbu.options {
            switch option {
            case .mobileNodeIdentifier(let m): node = MobileNodeID(identifier: m.identifier)
            case .homeNetworkPrefix(let p): if first == nil { first = p } else { more.append(p) }
            case .handoffIndicator(let h): hi = h
            case .accessTechnologyType: att = true
            case .timestamp(let t): timestamp = t
            default: break
            }
        }
        guard let node else { return .reject(.missingMNIdentifierOption) }
        guard let first else { return .reject(.missingHomeNetworkPrefixOption) }
        let prefixes = Prefixes(first: first, more: more)
        guard !prefixes.hasDuplicates else { return .reject(.bcePBUPrefixSetDoNotMatch) }
        guard hi != nil || pbu.lifetime == 0 else { return .reject(.missingHandoffIndicatorOption) }
        guard att || pbu.lifetime == 0 else { return .reject(.missingAccessTechTypeOption) }
        if let refusal = check(first, of: node, pbu, from: sender, timestamp: timestamp, at: now, config) { return refusal }
        for p in more {
            if let refusal = check(p, of: node, pbu, from: sender, timestamp: timestamp, at: now, config) { return refusal }
        }
        return .accept(prefixes, timestamp, hi)
    }

    /// One prefix of a PBU: the node's, not held down, and the PBU fresh
    /// for it. Nil when it passes; the entry is read in place.
    func check(_ prefix: IPv6Prefix, of node: MobileNodeID, _ pbu: BindingUpdate, from sender: IPv6Address, timestamp: Timestamp?,
               at now: Instant, _ config: AccessRouterConfig) -> Check? {
        let freshness = config.freshness  // captured alone: capturing the configuration copies it
        let verdict = table.read(prefix) { entry -> Check? in
            guard entry.node == node, entry.state != .holdDown else { return .reject(.notAuthorizedForHomeNetworkPrefix) }
            switch freshness {
            case .timestamps(let window):
                guard let timestamp, abs(timestamp.unixSeconds - now.seconds) <= window.seconds else { return .reject(.timestampMismatch) }
                if let last = entry.lastTimestamp, timestamp <= last { return .reject(.timestampLowerThanPreviousAccepted) }
            case .sequenceNumbers:
                // RFC 6275 section 9.5.1: status 135 carries the last accepted number.
                if case .away(let b) = entry.state, b.visited == sender, let last = b.sequence, !Self.isNewer(pbu.sequence, than: last) {
                    return .reject(.sequenceNumberOutOfWindow, lastAccepted: last)
                }
            }
            return nil
        }
        guard let verdict else {
            return .reject(pool.contains(prefix) ? .notAuthorizedForHomeNetworkPrefix : .notLMAForThisMobileNode)
        }
        return verdict
    }

    /// RFC 6275 section 9.5.1: sequence numbers compare modulo 2^16, newer
    /// meaning less than half the space ahead.
    static func isNewer(_ a: UInt16, than b: UInt16) -> Bool {
        a != b && a &- b < 0x8000
    }
}
