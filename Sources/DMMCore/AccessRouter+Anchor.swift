import DMMWire

/// The anchor role (H-MAR, RFC 5213's LMA) for the prefixes this MAR assigned.
///
///     assigned --node leaves, flows--> left --PBU--> away(binding) --PBU from next MAR--> away
///        |  \                           | ^            | dereg, flows ended / expiry
///        |   node leaves, no flows      | +-- dereg, --+
///        |                              |     node left |
///        |                              | grace ends   v
///        |------------------------------+---------> holdDown --timer--> back in the pool
///     home(link) <--node returns-- away
extension AccessRouter {
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

    struct Binding: Sendable, Equatable {
        var visited: IPv6Address
        /// The last accepted sequence number; nil after a restart.
        var sequence: UInt16?
    }

    /// Sets when the prefix's binding or grace runs out; nil for never.
    static func setExpiry(_ prefix: IPv6Prefix, _ entry: inout AnchoredPrefix, _ deadline: Instant?,
                          timers: inout TimerTable<Timer>) {
        entry.expires = deadline
        if let deadline, entry.armed.map({ deadline < $0 }) ?? true {
            timers.set(.bindingExpiry(prefix), at: deadline)
            entry.armed = deadline
        }
    }

    /// A new prefix for a node that has none at home here (seite Figure 5 step 1).
    mutating func assignPrefix(to node: MobileNodeID, link: LinkID, at now: Instant) {
        guard let prefix = pool.allocate() else {
            counters.ignored["prefix pool exhausted", default: 0] += 1
            return
        }
        anchored[prefix] = AnchoredPrefix(node: node, state: .home(link))
        attachments[link]?.home.insert(prefix)
        actions.append(.install(.deliver(prefix, link: link)))
        sendLocation(.register(PrefixRecord(mobileNode: node, prefix: prefix, anchor: config.address,
                                            serving: config.address, active: false)), at: now)
    }

    /// The node is back at the anchor of `prefix`: native delivery again, the
    /// tunnel replaced in one step. Returns false if the prefix is not usable.
    mutating func returnHome(_ prefix: IPv6Prefix, link: LinkID, at now: Instant) -> Bool {
        guard var entry = anchored[prefix], entry.state != .holdDown else { return false }
        entry.state = .home(link)
        Self.setExpiry(prefix, &entry, nil, timers: &timers)
        anchored[prefix] = entry
        attachments[link]?.home.insert(prefix)
        actions.append(.install(.deliver(prefix, link: link)))
        sendLocation(.update(prefix, serving: config.address, active: flowCounts[prefix, default: 0] > 0), at: now)
        return true
    }

    /// The node left the link. Flows still use the prefix: keep it for the
    /// PBU of the next MAR. None do: release it now (GL-mix:4).
    mutating func nodeLeft(_ prefix: IPv6Prefix, link: LinkID, at now: Instant) {
        guard var entry = anchored[prefix] else { return }
        actions.append(.remove(.deliver(prefix, link: link)))
        if flowCounts[prefix, default: 0] > 0 {
            entry.state = .left
            Self.setExpiry(prefix, &entry, now + config.detachedGrace, timers: &timers)
            anchored[prefix] = entry
        } else {
            releaseAnchored(prefix, at: now)
        }
    }

    /// Ends the prefix's life here: no rule left, and after the hold-down the
    /// record removed and the prefix back in the pool. Until then the record
    /// says the prefix is idle, so a MAR the node reaches meanwhile tells the
    /// node to stop using it.
    mutating func releaseAnchored(_ prefix: IPv6Prefix, at now: Instant) {
        guard var entry = anchored[prefix] else { return }
        if case .away(let b) = entry.state {
            actions.append(.remove(config.tunnel(prefix, to: b.visited)))
        }
        entry.state = .holdDown
        Self.setExpiry(prefix, &entry, nil, timers: &timers)
        anchored[prefix] = entry
        flowCounts[prefix] = nil
        timers.set(.holdDown(prefix), at: now + config.holdDown)
        sendLocation(.update(prefix, serving: nil, active: false), at: now)
        counters.releases += 1
        actions.append(.released(prefix, role: "anchor"))
    }

    mutating func bindingExpired(_ prefix: IPv6Prefix, at now: Instant) {
        guard var entry = anchored[prefix] else { return }
        entry.armed = nil
        guard let expires = entry.expires else {
            anchored[prefix] = entry
            return
        }
        if expires <= now {
            anchored[prefix] = entry
            releaseAnchored(prefix, at: now)
        } else {
            Self.setExpiry(prefix, &entry, expires, timers: &timers)  // refreshed since the timer was set
            anchored[prefix] = entry
        }
    }

    mutating func holdDownEnded(_ prefix: IPv6Prefix, at now: Instant) {
        guard anchored[prefix]?.state == .holdDown else { return }
        anchored[prefix] = nil
        pool.release(prefix)
        sendLocation(.release(prefix), at: now)
    }

    // MARK: Proxy Binding Update (RFC 5213 section 5.3)

    mutating func receiveBindingUpdate(_ pbu: BindingUpdate, from sender: IPv6Address, at now: Instant) {
        counters.pbuReceived += 1
        let check = validate(pbu, from: sender, at: now)
        guard case .accept(let prefix, var entry, let timestamp, let handoff) = check else {
            if case .reject(let status, let lastAccepted) = check {
                answer(pbu, with: status, lifetime: 0, to: sender, sequence: lastAccepted)
            }
            return
        }
        let previous = entry.state
        if pbu.lifetime == 0 {
            // Deregistration (RFC 5213 section 5.3.5): only the MAR holding
            // the binding ends it; another's is acknowledged and ignored.
            if case .away(let b) = previous, b.visited == sender {
                if handoff == .handoffStateNotChanged {
                    // The node stays, its flows ended (FM-path-ind:10): released.
                    releaseAnchored(prefix, at: now)
                } else {
                    // The node left: no tunnel, and MinDelayBeforeBCEDelete
                    // (the hold-down) to wait for its next MAR's PBU.
                    actions.append(.remove(config.tunnel(prefix, to: b.visited)))
                    entry.state = .left
                    Self.setExpiry(prefix, &entry, now + config.holdDown, timers: &timers)
                    anchored[prefix] = entry
                }
            }
            answer(pbu, with: .accepted, lifetime: 0, to: sender)
            return
        }
        let granted = min(Seconds(Double(pbu.lifetime) * 4), config.maxBindingLifetime)
        if case .home(let link) = previous { attachments[link]?.home.remove(prefix) }
        entry.state = .away(Binding(visited: sender, sequence: pbu.sequence))
        if let timestamp { entry.lastTimestamp = timestamp }
        Self.setExpiry(prefix, &entry, now + granted, timers: &timers)
        anchored[prefix] = entry
        // One route per prefix: the tunnel replaces native delivery or the
        // previous far end in one step; a refresh finds it already right.
        if case .away(let b) = previous, b.visited == sender {
        } else {
            actions.append(.install(config.tunnel(prefix, to: sender)))
        }
        answer(pbu, with: .accepted, lifetime: UInt16(min(granted.seconds / 4, Double(UInt16.max))), to: sender)
    }

    enum Check {
        case accept(IPv6Prefix, AnchoredPrefix, Timestamp?, HandoffIndicator?)
        /// With the last accepted sequence number for status 135.
        case reject(BindingAckStatus, lastAccepted: UInt16? = nil)
    }

    /// RFC 5213 sections 5.3.1 and 5.5: the sender is a known MAR, the PBU has
    /// the options a PBU must have, the node owns the prefix, and the PBU is
    /// fresh. Nothing changes state before this says accept.
    func validate(_ pbu: BindingUpdate, from sender: IPv6Address, at now: Instant) -> Check {
        guard config.peers.contains(sender) else { return .reject(.magNotAuthorizedForProxyRegistration) }
        guard pbu.flags.contains(.proxyRegistration) else { return .reject(.proxyRegistrationNotEnabled) }
        var node: MobileNodeID?, prefix: IPv6Prefix?, prefixCount = 0, hi: HandoffIndicator?, att = false, timestamp: Timestamp?
        for option in pbu.options {
            switch option {
            case .mobileNodeIdentifier(let m): node = MobileNodeID(identifier: m.identifier)
            case .homeNetworkPrefix(let p):
                prefix = p
                prefixCount += 1
            case .handoffIndicator(let h): hi = h
            case .accessTechnologyType: att = true
            case .timestamp(let t): timestamp = t
            default: break
            }
        }
        guard let node else { return .reject(.missingMNIdentifierOption) }
        guard let prefix else { return .reject(.missingHomeNetworkPrefixOption) }
        // One binding per prefix: each prefix lives and dies on its own.
        guard prefixCount == 1 else { return .reject(.bcePBUPrefixSetDoNotMatch) }
        guard hi != nil || pbu.lifetime == 0 else { return .reject(.missingHandoffIndicatorOption) }
        guard att || pbu.lifetime == 0 else { return .reject(.missingAccessTechTypeOption) }
        guard pool.contains(prefix) else { return .reject(.notLMAForThisMobileNode) }
        guard let entry = anchored[prefix], entry.node == node, entry.state != .holdDown else {
            return .reject(.notAuthorizedForHomeNetworkPrefix)
        }
        switch config.freshness {
        case .timestamps(let window):
            guard let timestamp else { return .reject(.timestampMismatch) }
            guard abs(timestamp.unixSeconds - now.seconds) <= window.seconds else { return .reject(.timestampMismatch) }
            if let last = entry.lastTimestamp, timestamp <= last { return .reject(.timestampLowerThanPreviousAccepted) }
        case .sequenceNumbers:
            // RFC 6275 section 9.5.1: status 135 carries the last accepted number.
            if case .away(let b) = entry.state, b.visited == sender, let last = b.sequence, !Self.isNewer(pbu.sequence, than: last) {
                return .reject(.sequenceNumberOutOfWindow, lastAccepted: last)
            }
        }
        return .accept(prefix, entry, timestamp, hi)
    }

    /// RFC 6275 section 9.5.1: sequence numbers compare modulo 2^16, newer
    /// meaning less than half the space ahead.
    static func isNewer(_ a: UInt16, than b: UInt16) -> Bool {
        a != b && a &- b < 0x8000
    }

    /// A PBA echoing the PBU's sequence number (or the one given) and
    /// identifying options (RFC 5213 section 5.3.6).
    mutating func answer(_ pbu: BindingUpdate, with status: BindingAckStatus, lifetime: UInt16, to sender: IPv6Address,
                         sequence: UInt16? = nil) {
        if !status.isAccepted { counters.rejected[status, default: 0] += 1 }
        func echoes(_ o: MobilityOption) -> Bool {
            switch o {
            case .mobileNodeIdentifier, .homeNetworkPrefix, .handoffIndicator, .accessTechnologyType,
                .mobileNodeLinkLayerIdentifier, .linkLocalAddress, .timestamp: true
            default: false
            }
        }
        // Usually every option is echoed: share the PBU's array then.
        let echoed = pbu.options.allSatisfy(echoes) ? pbu.options : pbu.options.filter(echoes)
        let pba = BindingAcknowledgement(status: status, flags: .proxyRegistration, sequence: sequence ?? pbu.sequence,
                                         lifetime: status.isAccepted ? lifetime : 0, options: echoed)
        actions.append(.sendMobility(MobilityHeader(.bindingAcknowledgement(pba)), to: sender))
        counters.pbaSent += 1
    }
}
