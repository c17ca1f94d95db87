import DMMWire

/// Anchor switching as the controller's second forwarding method (RFC 8818
/// sections 5.1 and 5.2, Figures 8 to 10): instead of a tunnel from the
/// prefix's home anchor, the anchoring of the prefix moves to the node's new
/// access router, and the routers whose next hop for the prefix changes get
/// a host route for it (FM-path-tbl:4 to 6). The far end thereby moves
/// upstream to where the old and the direct path meet (FM-DPA:3 and 4), and
/// the correspondent's packets take the direct path.
///
///  | where the node is              | rules                                                                   |
///  |--------------------------------|-------------------------------------------------------------------------|
///  | on a link of the home anchor H | H delivers on the link                                                  |
///  | on a link of another agent S   | S delivers on the link; every router R whose first hop toward S differs |
///  |                                | from its first hop toward H forwards the prefix through the former (H,  |
///  |                                | whose own is "here", among them)                                        |
///  | nowhere, or no flow uses it    | none: the prefix is home again, in H's pool (FM-path-tbl:7)             |
///
/// A move is made in steps (FM-buffer, GL-switch:2, 7 and 10):
///
///     1. the agent that served the prefix buffers it (from the moment the
///        node left it, when the controller heard of that first);
///     2. the new serving agent delivers it, the routers get their routes;
///     3. once all of 2 is acknowledged, the old serving agent gets its final
///        rule (forward toward the new one, or none), which releases what it
///        buffered, in order, into that forwarding.
///
/// The routers' next hops come from the topology in the controller's
/// configuration (the file the lab builds the network from), not from the
/// agents. A move the topology cannot explain (a node that is not in it, or
/// a router to update that is no associated agent, or is down) is made by
/// indirection instead, and so is a move during which an agent stops
/// answering (`ControllerAction.placed` says which).
public enum ForwardingMethod: String, Sendable, Hashable, CaseIterable {
    case indirection
    case anchorSwitching = "anchor-switching"
}

extension Placement {
    /// The rules at each agent when the prefix's anchoring moves to the
    /// serving agent, by the table above; nil when the topology cannot say
    /// (an agent that is not in it, or a node to update that runs no agent).
    public func switchedRules(in topology: Topology) -> [IPv6Address: [ForwardingRule]]? {
        guard let serving else { return [:] }
        guard serving.agent != anchor else { return [anchor: [.deliver(prefix, link: serving.link)]] }
        guard let home = topology.name(of: anchor), let to = topology.name(of: serving.agent) else { return nil }
        var rules: [IPv6Address: [ForwardingRule]] = [serving.agent: [.deliver(prefix, link: serving.link)]]
        for node in topology.nodes where node.kind != .mobileNode && node.name != to {
            guard let hop = topology.nextHop(from: node.name, to: to) else { continue }
            if node.name != home, let before = topology.nextHop(from: node.name, to: home), before == hop { continue }
            guard node.kind == .router || node.kind == .accessRouter, let address = topology.addressing(node.name)?.address else { return nil }
            rules[address] = [.forward(prefix, link: LinkID(hop.interface), via: hop.via)]
        }
        return rules
    }
}

extension Controller {
    /// A move in progress: the agent that buffers the prefix, and the rules
    /// it gets once the others have acknowledged theirs.
    struct Switch: Sendable, Hashable {
        var buffering: IPv6Address
        var final: [ForwardingRule]
    }

    /// Places the prefix by anchor switching, or by indirection where that
    /// cannot be done.
    mutating func placeBySwitching(_ placement: Placement, at now: Instant) {
        let prefix = placement.prefix
        let previous = placements[prefix]
        guard var wanted = config.topology.flatMap(placement.switchedRules(in:)),
            wanted.keys.allSatisfy({ associations[$0]?.status == .up })
        else {
            placeByIndirection(placement, at: now)
            return
        }
        placements[prefix] = placement.serving == nil ? nil : placement
        switches[prefix] = nil
        if config.buffering, let old = previous?.serving?.agent, let new = placement.serving?.agent, old != new {
            switches[prefix] = Switch(buffering: old, final: wanted[old] ?? [])
            wanted[old] = [.buffer(prefix)]
            // Step 1 goes out first.
            program([.buffer(prefix)], at: old, for: prefix, at: now)
        }
        program(wanted, for: prefix, at: now)
        if let serving = placement.serving, serving.agent != placement.anchor {
            actions.append(.placed(prefix: prefix, at: serving.agent, by: .anchorSwitching))
        }
        completeSwitch(of: prefix, at: now)
    }

    /// The node left the link where the prefix is served, with flows on
    /// it: with buffering, the serving agent holds the prefix's packets
    /// from now rather than drop them until the node is somewhere again
    /// (step 1 of the next move, begun at the departure; that move, or a
    /// return to the same link, releases them). Under indirection nothing
    /// changes.
    public mutating func nodeLeft(_ prefix: IPv6Prefix, at now: Instant) {
        guard config.forwarding == .anchorSwitching, config.buffering, switches[prefix] == nil,
            let serving = placements[prefix]?.serving
        else { return }
        program([.buffer(prefix)], at: serving.agent, for: prefix, at: now)
    }

    /// Places the prefix by indirection (a move that anchor switching could
    /// not make, or that lost an agent on the way): its switched entries go.
    mutating func placeByIndirection(_ placement: Placement, at now: Instant) {
        placements[placement.prefix] = nil
        switches[placement.prefix] = nil
        program(placement.rules(endpoint: endpoint(of:), mode: config.tunnelMode, uplink: config.uplink), for: placement.prefix, at: now)
        if let serving = placement.serving, serving.agent != placement.anchor {
            actions.append(.placed(prefix: placement.prefix, at: serving.agent, by: .indirection))
        }
    }

    /// Step 3 of a move: once every agent but the buffering one holds what
    /// it is asked, the buffering agent gets its final rules, which release
    /// what it held (FM-buffer:2).
    mutating func completeSwitch(of prefix: IPv6Prefix, at now: Instant) {
        guard let s = switches[prefix] else { return }
        for (agent, seid) in sessionOf[prefix] ?? [:] where agent != s.buffering {
            guard let session = sessions[seid], session.isProgrammed, session.inFlight == nil else { return }
        }
        switches[prefix] = nil
        program(s.final, at: s.buffering, for: prefix, at: now)
    }

    /// An agent stopped answering during a move or while a prefix was
    /// switched: the prefix is placed by indirection from then on.
    mutating func switchLost(_ prefix: IPv6Prefix, at now: Instant) {
        guard let placement = placements[prefix] else { return }
        counters.switchesByIndirection += 1
        placeByIndirection(placement, at: now)
    }
}
