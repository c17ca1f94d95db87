import DMMWire

/// Recovery at start. A MAR cannot tell a first start from a restart after a
/// crash, so it always asks: the location server holds a record for every
/// prefix the MAR anchors, with the MAR serving it, while the kernel still
/// forwards with the rules the old process left. From those records it
/// rebuilds its anchor role: tunnels of bindings held by other MARs, prefixes
/// whose node was here, prefixes in hold-down, and their places in the pool.
/// Nodes that attach meanwhile wait and PBUs are held back. Then the nodes on
/// its links are located as at any attachment, which restores the visited
/// role by registering again. Only then does it say `.recovered`, so the
/// daemon swaps the kernel's rules for the wanted ones in one reconciliation
/// and a surviving flow sees no gap.
///
///     paging --last page, refusal, or no server--> locating the nodes on its links --all answered--> .recovered
extension AccessRouter {
    struct Recovery: Sendable {
        /// Still reading the records, a page at a time.
        var paging = true
        /// The location requests recovery still waits for.
        var outstanding: Set<UInt32> = []
        /// PBUs that came while paging, handled once the anchor role is back.
        var deferred: [(MobilityHeader, IPv6Address)] = []
        var restored = 0
        /// Beyond this many, a held-back PBU is dropped; its sender retransmits.
        static let deferredLimit = 4096
    }

    mutating func startRecovery(at now: Instant) {
        // Request ids continue from the clock, so that a reply meant for a
        // killed predecessor matches no request of this process.
        context.location.nextID = UInt32(truncatingIfNeeded: now.nanoseconds / 1000)
        recovery = Recovery()
        let id = context.ask(.recover(after: nil), at: now)
        recovery?.outstanding.insert(id)
    }

    /// Holds back a PBU until the anchor role is restored; answering it now
    /// would reject a binding that is only not read back yet.
    mutating func deferDuringRecovery(_ message: MobilityHeader, from sender: IPv6Address) -> Bool {
        guard case .bindingUpdate = message.message, let held = recovery?.deferred.count else { return false }
        if held < Recovery.deferredLimit {
            recovery?.deferred.append((message, sender))
            context.counters.heldBack += 1
        } else {
            context.counters.ignored[.pbuDuringRecoveryBacklogFull, default: 0] += 1
        }
        return true
    }

    mutating func restore(page records: [PrefixRecord], next: IPv6Prefix?, at now: Instant) {
        for record in records {
            if anchor.restore(record, at: now, &context) {
                recovery?.restored += 1
            } else {
                context.counters.ignored[.recoveredRecordNotThisAnchors, default: 0] += 1
            }
        }
        if let next {
            let id = context.ask(.recover(after: next), at: now)
            recovery?.outstanding.insert(id)
        } else {
            endPaging(at: now)
        }
    }

    /// The anchor role is back (or cannot be): locate the nodes that
    /// attached meanwhile, then answer the held-back PBUs.
    mutating func endPaging(at now: Instant) {
        guard recovery?.paging == true else { return }
        recovery?.paging = false
        let deferred = recovery?.deferred ?? []
        recovery?.deferred = []
        for (link, attachment) in accessLinks.attachments.sorted(by: { $0.key < $1.key }) where attachment.state == .awaitingRecovery {
            let id = context.ask(.query(attachment.node), at: now)
            accessLinks.locating(link, query: id)
            recovery?.outstanding.insert(id)
        }
        for (message, sender) in deferred { receive(message, from: sender, at: now) }
    }

    /// A location request was answered or given up.
    mutating func settleRecovery(answered id: UInt32) {
        guard recovery?.outstanding.remove(id) != nil, let r = recovery, !r.paging, r.outstanding.isEmpty else { return }
        recovery = nil
        context.actions.append(.recovered(anchored: r.restored))
    }
}
