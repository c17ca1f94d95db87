import DMMWire

/// Holding a prefix's packets through a move (RFC 8818 FM-buffer, GL-switch:2,
/// 7 and 10), under either forwarding method. The agent the prefix's packets
/// reach on their way to the node (the serving agent under anchor switching,
/// the anchor under indirection) holds them from the moment the node left,
/// when the controller heard of that first, or else from the start of the
/// move; once every other agent of the move has acknowledged its rules, it
/// gets its own final rules, which release what it held, in order, into them.
///
///     1. the holder buffers the prefix;
///     2. the new serving agent delivers it (and, under anchor switching,
///        the routers get their routes);
///     3. once all of 2 is acknowledged, the holder gets its final rules.
///
/// Without it (`buffering: false`) the holder's rules change with the
/// others', and what reaches it meanwhile goes where its old rules say.
extension Controller {
    /// A move in progress: the agent that buffers the prefix, and the rules
    /// it gets once the others have acknowledged theirs.
    struct Switch: Sendable, Hashable {
        var buffering: IPv6Address
        var final: [ForwardingRule]
    }

    /// The node left the link where the prefix is served, with flows on it
    /// (`anchor` is the prefix's): the agent its packets reach holds them
    /// from now rather than send them after the node (step 1 of the next
    /// move, begun at the departure; that move, or a return to the same
    /// link, releases them).
    public mutating func nodeLeft(_ prefix: IPv6Prefix, anchor: IPv6Address, at now: Instant) {
        guard config.buffering, switches[prefix] == nil else { return }
        let holder = placements[prefix]?.serving?.agent ?? anchor
        guard sessionOf[OwnPrefix(prefix)]?[holder] != nil else { return }
        program([.buffer(prefix)], at: holder, for: prefix, at: now)
    }

    /// Gives each agent its rules in `wanted` for `placement`, made by
    /// `method`. With a `holder`, in the steps above: the holder's rules
    /// become the buffer until step 3, and go out first.
    mutating func carryOut(_ placement: Placement, wanted: [IPv6Address: [ForwardingRule]], holder: IPv6Address?,
                           by method: ForwardingMethod, at now: Instant) {
        let prefix = placement.prefix
        var wanted = wanted
        switches[prefix] = nil
        let move = holder.map { Switch(buffering: $0, final: wanted[$0] ?? []) }
        if let holder {
            wanted[holder] = [.buffer(prefix)]
            program([.buffer(prefix)], at: holder, for: prefix, at: now)
        }
        program(wanted, for: prefix, at: now)
        // The move waits from here: `completeSwitch` runs whenever a session
        // is programmed, and while the agents were given their rules one
        // not yet given them looked done with its part.
        switches[prefix] = move
        if let serving = placement.serving, serving.agent != placement.anchor {
            actions.append(.placed(prefix: prefix, at: serving.agent, by: method))
        }
        completeSwitch(of: prefix, at: now)
    }

    /// Step 3 of a move: once every agent but the buffering one holds what
    /// it is asked, the buffering agent gets its final rules, which release
    /// what it held (FM-buffer:2).
    mutating func completeSwitch(of prefix: IPv6Prefix, at now: Instant) {
        guard let s = switches[prefix] else { return }
        for (agent, seid) in sessionOf[OwnPrefix(prefix)] ?? [:] where agent != s.buffering {
            guard let session = sessions[seid], session.isProgrammed, session.inFlight == nil else { return }
        }
        switches[prefix] = nil
        program(s.final, at: s.buffering, for: prefix, at: now)
    }

    /// The agent asked to deliver the prefix on an access link, if any.
    func deliverer(of prefix: IPv6Prefix) -> IPv6Address? {
        for (agent, seid) in sessionOf[OwnPrefix(prefix)] ?? [:] {
            if sessions[seid]?.wanted.contains(where: { if case .deliver = $0 { true } else { false } }) == true { return agent }
        }
        return nil
    }
}
