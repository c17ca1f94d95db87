import DMMWire

/// The serving role (V-MAR, RFC 5213's MAG) for a node's prefixes that other
/// access routers anchor (seite Figure 5 step 3): the far end here, and a
/// binding with the anchor.
///
///     registering --PBA accepted--> registered --refresh timer--> refreshing --PBA--> registered
///        | timeouts double; past the maximum, or a rejection: gone
///        | last flow ends, or the node leaves: deregistering --PBA--> gone
struct ServingRole: Sendable {
    struct Visit: Sendable {
        var node: MobileNodeID
        var link: LinkID
        var linkLayer: [UInt8]
        var anchor: IPv6Address
        /// When the node attached: the start of the handover's signalling.
        var attachedAt: Instant
        var state: State

        enum State: Sendable, Equatable {
            /// A new binding: its first PBU in flight.
            case registering(Pending)
            case registered
            /// An established binding, its refresh in flight.
            case refreshing(Pending)
            /// Ending it: a PBU with lifetime 0 in flight.
            case deregistering(Pending)

            /// The PBU in flight; setting it keeps the case (a registered
            /// binding has none and stays as it is).
            var pending: Pending? {
                get {
                    switch self {
                    case .registering(let p), .refreshing(let p), .deregistering(let p): p
                    case .registered: nil
                    }
                }
                set {
                    guard let p = newValue else { return }
                    switch self {
                    case .registering: self = .registering(p)
                    case .refreshing: self = .refreshing(p)
                    case .deregistering: self = .deregistering(p)
                    case .registered: break
                    }
                }
            }

            var name: String {
                switch self {
                case .registering: "registering"
                case .registered: "registered"
                case .refreshing: "refreshing"
                case .deregistering: "deregistering"
                }
            }
        }

        /// The PBU awaiting its PBA: a retransmission repeats its handoff
        /// indicator with the timeout doubled.
        struct Pending: Sendable, Equatable {
            var sequence: UInt16
            var handoff: HandoffIndicator
            var timeout: Seconds
        }
    }

    /// A prefix given up: the node on `link` is to be told to stop using it.
    struct Withdrawal: Sendable {
        var prefix: IPv6Prefix
        var link: LinkID
    }

    private(set) var visits: [IPv6Prefix: Visit] = [:]
    /// The sequence number of the last PBU sent.
    private var sequence: UInt16 = 0

    subscript(prefix: IPv6Prefix) -> Visit? { visits[prefix] }

    func serves(_ prefix: IPv6Prefix, on link: LinkID) -> Bool { visits[prefix]?.link == link }

    /// Serve a prefix anchored elsewhere: deliver it here, and ask its anchor
    /// to tunnel it here.
    mutating func visit(_ record: PrefixRecord, link: LinkID, linkLayer: [UInt8], attachedAt: Instant, at now: Instant,
                        _ c: inout RoleContext) {
        let prefix = record.prefix
        // The far end goes in first, so the tunnelled packets have somewhere to go.
        if c.config.decapsulation == .endDX6 {
            c.actions.append(.install(c.config.crossConnect(prefix, onto: link)))
        }
        c.actions.append(.install(.deliver(prefix, link: link)))
        if c.config.uplink == .reverseTunnel {
            c.actions.append(.install(.reverseTunnel(from: prefix, link: link, endpoint: c.config.endpoint(of: record.anchor),
                                                     mode: c.config.tunnel)))
        }
        visits[prefix] = Visit(node: record.mobileNode, link: link, linkLayer: linkLayer, anchor: record.anchor, attachedAt: attachedAt,
                               state: .registering(.init(sequence: 0, handoff: .handoffSameInterface, timeout: c.config.initialBindAckTimeout)))
        sendBindingUpdate(prefix, at: now, &c)
        if c.flows(prefix) == 0 { c.timers.set(.idle(prefix), at: now + c.config.idleGrace) }
    }

    /// The flows on a served prefix changed: released only after the idle
    /// grace, so a flow that restarts at once does not lose its prefix.
    /// Returns false for a prefix not served here.
    mutating func flowsChanged(_ prefix: IPv6Prefix, count: Int, at now: Instant, _ c: inout RoleContext) -> Bool {
        guard visits[prefix] != nil else { return false }
        if count == 0 { c.timers.set(.idle(prefix), at: now + c.config.idleGrace) } else { c.timers.cancel(.idle(prefix)) }
        return true
    }

    /// Returns the withdrawal, if the prefix was released.
    mutating func idleGraceEnded(_ prefix: IPv6Prefix, at now: Instant, _ c: inout RoleContext) -> Withdrawal? {
        guard let visit = visits[prefix], c.flows(prefix) == 0 else { return nil }
        if case .deregistering = visit.state { return nil }
        return release(prefix, at: now, &c)
    }

    /// Sends the PBU the visit's state calls for, with a new sequence number
    /// and the pending PBU's handoff indicator and timeout.
    mutating func sendBindingUpdate(_ prefix: IPv6Prefix, at now: Instant, _ c: inout RoleContext) {
        guard var visit = visits[prefix], var pending = visit.state.pending else { return }
        sequence &+= 1
        pending.sequence = sequence
        visit.state.pending = pending
        visits[prefix] = visit
        let deregistering = if case .deregistering = visit.state { true } else { false }
        var options: [MobilityOption] = [
            visit.node.option, .homeNetworkPrefix(prefix), .handoffIndicator(pending.handoff),
            .accessTechnologyType(c.config.accessTechnology),
        ]
        if !visit.linkLayer.isEmpty, !deregistering { options.append(.mobileNodeLinkLayerIdentifier(visit.linkLayer)) }
        if case .timestamps = c.config.freshness { options.append(.timestamp(Timestamp(unixSeconds: now.seconds))) }
        let lifetime = deregistering ? 0 : UInt16(min(c.config.bindingLifetime.seconds / 4, Double(UInt16.max)))
        let pbu = BindingUpdate(sequence: pending.sequence, flags: [.acknowledge, .homeRegistration, .proxyRegistration],
                                lifetime: lifetime, options: options)
        c.actions.append(.sendMobility(MobilityHeader(.bindingUpdate(pbu)), to: visit.anchor))
        c.counters.pbuSent += 1
        c.timers.set(.bindAck(prefix), at: now + pending.timeout)
    }

    /// Returns the withdrawal, if the PBA ended the visit with a rejection.
    mutating func receive(_ pba: BindingAcknowledgement, from sender: IPv6Address, at now: Instant, _ c: inout RoleContext) -> Withdrawal? {
        c.counters.pbaReceived += 1
        let prefix = pba.options.lazy.compactMap { if case .homeNetworkPrefix(let p) = $0 { p } else { nil } }.first
        if pba.status == .sequenceNumberOutOfWindow, let prefix, let visit = visits[prefix], visit.anchor == sender {
            // The anchor holds a newer number than ours, which restarted with
            // this process (RFC 6275 section 11.7.1): continue after it. Sent
            // as a retransmission, so a peer that keeps refusing is given up.
            sequence = pba.sequence
            return bindAckTimedOut(prefix, at: now, &c)
        }
        guard let prefix, var visit = visits[prefix], visit.anchor == sender, let pending = visit.state.pending,
            pending.sequence == pba.sequence
        else {
            c.counters.ignored[.pbaMatchingNoPendingPBU, default: 0] += 1
            return nil
        }
        c.timers.cancel(.bindAck(prefix))
        switch (visit.state, pba.status.isAccepted) {
        case (.deregistering, _):
            visits[prefix] = nil
        case (_, false):
            c.counters.ignored[.bindingRefused, default: 0] += 1
            return release(prefix, deregister: false, at: now, &c)
        case (let state, true):
            if case .registering = state {
                c.counters.bindingsEstablished += 1
                c.actions.append(.bindingEstablished(prefix, anchor: sender, signalling: now - visit.attachedAt))
            }
            visit.state = .registered
            visits[prefix] = visit
            let granted = Seconds(Double(pba.lifetime) * 4)
            c.timers.set(.refresh(prefix), at: now + granted * c.config.refreshFraction)
            c.ask(.update(prefix, serving: c.config.address, active: true, expires: now + granted), at: now)
        }
        return nil
    }

    mutating func refresh(_ prefix: IPv6Prefix, at now: Instant, _ c: inout RoleContext) {
        guard var visit = visits[prefix], visit.state == .registered else { return }
        visit.state = .refreshing(.init(sequence: 0, handoff: .handoffStateNotChanged, timeout: c.config.initialBindAckTimeout))
        visits[prefix] = visit
        sendBindingUpdate(prefix, at: now, &c)
    }

    /// No PBA in time: send again with the timeout doubled (RFC 6275 section
    /// 11.8), up to the maximum; then give the prefix up. Returns the
    /// withdrawal, if it was given up.
    mutating func bindAckTimedOut(_ prefix: IPv6Prefix, at now: Instant, _ c: inout RoleContext) -> Withdrawal? {
        guard var visit = visits[prefix], var pending = visit.state.pending else { return nil }
        pending.timeout = pending.timeout * 2
        guard pending.timeout <= c.config.maxBindAckTimeout else {
            c.counters.ignored[.pbuUnanswered, default: 0] += 1
            if case .deregistering = visit.state {
                visits[prefix] = nil
                return nil
            }
            return release(prefix, deregister: false, at: now, &c)
        }
        visit.state.pending = pending
        visits[prefix] = visit
        c.counters.retransmissions += 1
        sendBindingUpdate(prefix, at: now, &c)
        return nil
    }

    /// The node left this MAR: remove the far end and deregister (RFC 5213
    /// section 6.9.1.2), handoff state unknown, so that the anchor stops
    /// tunnelling here and waits for the next MAR's PBU (seite section 4.1);
    /// without it, packets would go round between here and the anchor until
    /// that PBU or the binding's end.
    mutating func leave(_ prefix: IPv6Prefix, at now: Instant, _ c: inout RoleContext) {
        guard var visit = visits[prefix] else { return }
        removeFarEnd(prefix, visit: visit, &c)
        c.timers.cancel(.refresh(prefix))
        c.timers.cancel(.idle(prefix))
        visit.state = .deregistering(.init(sequence: 0, handoff: .handoffStateUnknown, timeout: c.config.initialBindAckTimeout))
        visits[prefix] = visit
        sendBindingUpdate(prefix, at: now, &c)
    }

    /// The last flow on a prefix away from home ended (FM-path-ind:10): tell
    /// the anchor, remove the far end; returns the withdrawal, for the node
    /// on the link to stop using the prefix.
    mutating func release(_ prefix: IPv6Prefix, deregister: Bool = true, at now: Instant, _ c: inout RoleContext) -> Withdrawal? {
        guard var visit = visits[prefix] else { return nil }
        removeFarEnd(prefix, visit: visit, &c)
        c.timers.cancel(.refresh(prefix))
        c.timers.cancel(.idle(prefix))
        c.flowCounts[prefix] = nil
        if deregister {
            visit.state = .deregistering(.init(sequence: 0, handoff: .handoffStateNotChanged, timeout: c.config.initialBindAckTimeout))
            visits[prefix] = visit
            sendBindingUpdate(prefix, at: now, &c)
        } else {
            visits[prefix] = nil
            c.timers.cancel(.bindAck(prefix))
        }
        c.counters.releases += 1
        c.actions.append(.released(prefix, role: "visited"))
        return Withdrawal(prefix: prefix, link: visit.link)
    }

    func removeFarEnd(_ prefix: IPv6Prefix, visit: Visit, _ c: inout RoleContext) {
        if c.config.decapsulation == .endDX6 {
            c.actions.append(.remove(c.config.crossConnect(prefix, onto: visit.link)))
        }
        c.actions.append(.remove(.deliver(prefix, link: visit.link)))
        if c.config.uplink == .reverseTunnel {
            c.actions.append(.remove(.reverseTunnel(from: prefix, link: visit.link, endpoint: c.config.endpoint(of: visit.anchor),
                                                    mode: c.config.tunnel)))
        }
    }
}
