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
/// A move is made in the steps of `MoveBuffering.swift`, the agent that
/// served the prefix buffering it; its final rule forwards toward the new
/// one, or is none.
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
            guard node.kind == .router || node.kind == .accessRouter, let address = topology.addressing(node.name)?.address,
                  let link = LinkID(hop.interface) else { return nil }
            rules[address] = [.forward(prefix, link: link, via: hop.via)]
        }
        return rules
    }
}

extension Controller {
    /// Places the prefix by anchor switching, or by indirection where that
    /// cannot be done.
    mutating func placeBySwitching(_ placement: Placement, at now: Instant) {
        let prefix = placement.prefix
        let previous = placements[prefix]
        guard let wanted = config.topology.flatMap(placement.switchedRules(in:)),
            wanted.keys.allSatisfy({ associations[$0]?.status == .up })
        else {
            placeByIndirection(placement, at: now)
            return
        }
        placements[prefix] = placement.serving == nil ? nil : placement
        var holder: IPv6Address?
        if config.buffering, let old = previous?.serving?.agent, let new = placement.serving?.agent, old != new { holder = old }
        carryOut(placement, wanted: wanted, holder: holder, by: .anchorSwitching, at: now)
    }

    /// An agent stopped answering during a move or while a prefix was
    /// switched: the prefix is placed by indirection from then on. In a
    /// move made by indirection, only its last step is left: the anchor
    /// sends what it held after the node, answered or not.
    mutating func switchLost(_ prefix: IPv6Prefix, at now: Instant) {
        guard let placement = placements[prefix] else {
            if let s = switches.removeValue(forKey: prefix) { program(s.final, at: s.buffering, for: prefix, at: now) }
            return
        }
        counters.switchesByIndirection += 1
        placeByIndirection(placement, at: now)
    }
}
