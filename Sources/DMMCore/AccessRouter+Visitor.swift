import DMMWire

/// The visited-MAR role (V-MAR, RFC 5213's MAG) for a node's prefixes that
/// other MARs anchor (seite Figure 5 step 3).
///
///     registering --PBA accepted--> registered --refresh timer--> registering
///        | timeouts double; past the maximum, or a rejection: gone
///        | last flow ends, or the node leaves: deregistering --PBA--> gone
extension AccessRouter {
    struct Visit: Sendable {
        var node: MobileNodeID
        var link: LinkID
        var anchor: IPv6Address
        var state: State
        /// Sequence number and handoff indicator of the PBU awaiting its PBA;
        /// a retransmission repeats the indicator.
        var sequence: UInt16
        var handoff: HandoffIndicator = .handoffSameInterface
        var timeout: Seconds
        /// When the node attached: the start of the handover's signalling.
        var attachedAt: Instant
        /// The PBU in flight re-registers an established binding.
        var refreshing = false

        enum State: Sendable, Equatable { case registering, registered, deregistering }
    }

    /// Serve a prefix anchored elsewhere: deliver it here, and ask its anchor
    /// to tunnel it here.
    mutating func visit(_ record: PrefixRecord, link: LinkID, at now: Instant) {
        let prefix = record.prefix
        visiting[prefix] = Visit(node: record.mobileNode, link: link, anchor: record.anchor, state: .registering,
                                 sequence: 0, timeout: config.initialBindAckTimeout, attachedAt: attachments[link]?.since ?? now)
        attachments[link]?.visited.insert(prefix)
        // The far end goes in first, so the tunnelled packets have somewhere to go.
        if config.decapsulation == .endDX6 {
            actions.append(.install(config.crossConnect(prefix, onto: link)))
        }
        actions.append(.install(.deliver(prefix, link: link)))
        if config.uplink == .reverseTunnel {
            actions.append(.install(.reverseTunnel(from: prefix, link: link, endpoint: config.endpoint(of: record.anchor),
                                                   mode: config.tunnel)))
        }
        sendBindingUpdate(prefix, handoff: .handoffSameInterface, at: now)
        if flowCounts[prefix, default: 0] == 0 { timers.set(.idle(prefix), at: now + config.idleGrace) }
    }

    mutating func idleGraceEnded(_ prefix: IPv6Prefix, at now: Instant) {
        guard let visit = visiting[prefix], visit.state != .deregistering, flowCounts[prefix, default: 0] == 0 else { return }
        release(visiting: prefix, withdrawOn: visit.link, at: now)
    }

    mutating func sendBindingUpdate(_ prefix: IPv6Prefix, handoff: HandoffIndicator, at now: Instant) {
        guard var visit = visiting[prefix] else { return }
        nextSequence &+= 1
        visit.sequence = nextSequence
        visit.handoff = handoff
        visiting[prefix] = visit
        let deregistering = visit.state == .deregistering
        var options: [MobilityOption] = [
            visit.node.option, .homeNetworkPrefix(prefix), .handoffIndicator(handoff),
            .accessTechnologyType(config.accessTechnology),
        ]
        if let linkLayer = attachments[visit.link]?.linkLayer, !linkLayer.isEmpty, !deregistering {
            options.append(.mobileNodeLinkLayerIdentifier(linkLayer))
        }
        if case .timestamps = config.freshness { options.append(.timestamp(Timestamp(unixSeconds: now.seconds))) }
        let lifetime = deregistering ? 0 : UInt16(min(config.bindingLifetime.seconds / 4, Double(UInt16.max)))
        let pbu = BindingUpdate(sequence: visit.sequence, flags: [.acknowledge, .homeRegistration, .proxyRegistration],
                                lifetime: lifetime, options: options)
        actions.append(.sendMobility(MobilityHeader(.bindingUpdate(pbu)), to: visit.anchor))
        counters.pbuSent += 1
        timers.set(.bindAck(prefix), at: now + visit.timeout)
    }

    mutating func receiveBindingAcknowledgement(_ pba: BindingAcknowledgement, from sender: IPv6Address, at now: Instant) {
        counters.pbaReceived += 1
        let prefix = pba.options.lazy.compactMap { if case .homeNetworkPrefix(let p) = $0 { p } else { nil } }.first
        if pba.status == .sequenceNumberOutOfWindow, let prefix, let visit = visiting[prefix], visit.anchor == sender {
            // The anchor holds a newer number than ours, which restarted with
            // this process (RFC 6275 section 11.7.1): continue after it. Sent
            // as a retransmission, so a peer that keeps refusing is given up.
            nextSequence = pba.sequence
            bindAckTimedOut(prefix, at: now)
            return
        }
        guard let prefix, var visit = visiting[prefix], visit.anchor == sender, visit.sequence == pba.sequence else {
            counters.ignored["PBA matching no pending PBU", default: 0] += 1
            return
        }
        timers.cancel(.bindAck(prefix))
        switch (visit.state, pba.status.isAccepted) {
        case (.deregistering, _):
            visiting[prefix] = nil
        case (_, false):
            counters.ignored["binding refused: \(pba.status.name)", default: 0] += 1
            release(visiting: prefix, withdrawOn: visit.link, deregister: false, at: now)
        case (_, true):
            if !visit.refreshing {
                counters.bindingsEstablished += 1
                actions.append(.bindingEstablished(prefix, anchor: sender, signalling: now - visit.attachedAt))
            }
            visit.state = .registered
            visit.refreshing = false
            visit.timeout = config.initialBindAckTimeout
            visiting[prefix] = visit
            let granted = Seconds(Double(pba.lifetime) * 4)
            timers.set(.refresh(prefix), at: now + granted * config.refreshFraction)
            sendLocation(.update(prefix, serving: config.address, active: true, expires: now + granted), at: now)
        }
    }

    mutating func refresh(_ prefix: IPv6Prefix, at now: Instant) {
        guard var visit = visiting[prefix], visit.state == .registered else { return }
        visit.state = .registering
        visit.refreshing = true
        visiting[prefix] = visit
        sendBindingUpdate(prefix, handoff: .handoffStateNotChanged, at: now)
    }

    /// No PBA in time: send again with the timeout doubled (RFC 6275 section
    /// 11.8), up to the maximum; then give the prefix up.
    mutating func bindAckTimedOut(_ prefix: IPv6Prefix, at now: Instant) {
        guard var visit = visiting[prefix] else { return }
        visit.timeout = visit.timeout * 2
        guard visit.timeout <= config.maxBindAckTimeout else {
            counters.ignored["PBU unanswered, given up", default: 0] += 1
            if visit.state == .deregistering {
                visiting[prefix] = nil
            } else {
                release(visiting: prefix, withdrawOn: visit.link, deregister: false, at: now)
            }
            return
        }
        visiting[prefix] = visit
        counters.retransmissions += 1
        sendBindingUpdate(prefix, handoff: visit.handoff, at: now)
    }

    /// The node left this MAR: remove the far end and deregister (RFC 5213
    /// section 6.9.1.2), handoff state unknown, so that the anchor stops
    /// tunnelling here and waits for the next MAR's PBU (seite section 4.1);
    /// without it, packets would go round between here and the anchor until
    /// that PBU or the binding's end.
    mutating func leaveVisit(_ prefix: IPv6Prefix, at now: Instant) {
        guard var visit = visiting[prefix] else { return }
        removeFarEnd(prefix, visit: visit)
        timers.cancel(.refresh(prefix))
        timers.cancel(.idle(prefix))
        visit.state = .deregistering
        visit.timeout = config.initialBindAckTimeout
        visiting[prefix] = visit
        sendBindingUpdate(prefix, handoff: .handoffStateUnknown, at: now)
    }

    /// The last flow on a prefix away from home ended (FM-path-ind:10): tell
    /// the anchor, remove the far end, and tell the node to stop using it.
    mutating func release(visiting prefix: IPv6Prefix, withdrawOn link: LinkID, deregister: Bool = true, at now: Instant) {
        guard var visit = visiting[prefix] else { return }
        removeFarEnd(prefix, visit: visit)
        timers.cancel(.refresh(prefix))
        timers.cancel(.idle(prefix))
        flowCounts[prefix] = nil
        if deregister {
            visit.state = .deregistering
            visit.timeout = config.initialBindAckTimeout
            visiting[prefix] = visit
            sendBindingUpdate(prefix, handoff: .handoffStateNotChanged, at: now)
        } else {
            visiting[prefix] = nil
            timers.cancel(.bindAck(prefix))
        }
        counters.releases += 1
        actions.append(.released(prefix, role: "visited"))
        if attachments[link] != nil {
            attachments[link]?.withdrawn.insert(prefix)
            advertise(on: link, at: now)
        }
    }

    mutating func removeFarEnd(_ prefix: IPv6Prefix, visit: Visit) {
        attachments[visit.link]?.visited.remove(prefix)
        if config.decapsulation == .endDX6 {
            actions.append(.remove(config.crossConnect(prefix, onto: visit.link)))
        }
        actions.append(.remove(.deliver(prefix, link: visit.link)))
        if config.uplink == .reverseTunnel {
            actions.append(.remove(.reverseTunnel(from: prefix, link: visit.link, endpoint: config.endpoint(of: visit.anchor),
                                                  mode: config.tunnel)))
        }
    }
}
