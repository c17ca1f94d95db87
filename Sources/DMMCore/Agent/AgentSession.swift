import DMMWire

/// One PFCP session at an agent: the PDRs and FARs the controller set, as
/// the agent holds them (`HeldPDR`, `HeldFAR`), each PDR with the
/// forwarding rule it makes with its FAR. A change is kept only when every
/// rule of the result can be carried out, so a refused request changes
/// nothing (TS 29.244 section 7.5.2: the request is rejected whole). The
/// agent keeps one more, its draft, to work out each change in (`apply`).
struct AgentSession: Sendable, Hashable {
    /// The controller's end of the session.
    var controller: PFCPFSEID
    /// In ID order. A session holds a rule or two: arrays searched in place
    /// cost less than dictionaries, which a request copied whole.
    private(set) var pdrs: [HeldPDR] = []
    private(set) var fars: [HeldFAR] = []
    var bar: PFCPBAR?

    /// The rules the PDRs and FARs make, ordered by PDR ID. Kept in the
    /// PDRs: a list of their own was an allocation for every session, and
    /// memory to free and find again at its end.
    var rules: [ForwardingRule] { pdrs.compactMap(\.rule) }

    init(controller: PFCPFSEID) { self.controller = controller }

    /// A session's two lists, emptied with their storage kept, for the
    /// draft of a session set up later: each session set up otherwise
    /// allocated two, and each one ended freed them (`DataPlaneAgent.spareLists`).
    struct Lists: Sendable {
        var pdrs: [HeldPDR] = []
        var fars: [HeldFAR] = []

        /// Lists with room for a PDR and a FAR, made now.
        static func made() -> Lists {
            var l = Lists()
            l.pdrs.reserveCapacity(1)
            l.fars.reserveCapacity(1)
            return l
        }
    }

    /// Its lists, emptied: the session is gone.
    consuming func emptied() -> Lists {
        pdrs.clear()
        fars.clear()
        return Lists(pdrs: pdrs, fars: fars)
    }

    /// Whether it has lists with storage to work a change out in (a
    /// draft that gave its lists to the last session set up has none).
    var hasLists: Bool { pdrs.capacity > 0 && fars.capacity > 0 }

    /// Takes `lists` (emptied) to work changes out in.
    mutating func use(_ lists: consuming Lists) {
        pdrs = lists.pdrs
        fars = lists.fars
    }

    /// Carries out a modification request, worked out in `draft` (see
    /// `apply`): the controller's end of the session, the PDRs after, and
    /// the refusal that left the session as it was, if any. The PDRs
    /// before are then `draft.pdrs`. One call on the session where it lies
    /// in its table: reading a field there copies it whole.
    mutating func modify(_ m: PFCPMessage, policy: AgentPolicy, draft: inout AgentSession)
        -> (controller: PFCPFSEID, after: [HeldPDR], refusal: PFCPRuleMapping.Refusal?) {
        let refusal = apply(m, policy: policy, draft: &draft)
        return (controller, pdrs, refusal)
    }

    /// Applies the rule IEs of an establishment or modification request.
    /// The result is worked out in `draft`, a copy of this session's PDRs
    /// and FARs, and taken over only whole: a refused request changes nothing.
    /// The lists are exchanged, not copied: the draft keeps this session's
    /// old ones (its PDRs hold the rules before) and fills them again at
    /// the next request, so that a change allocates nothing.
    mutating func apply(_ m: PFCPMessage, policy: AgentPolicy, draft: inout AgentSession) -> PFCPRuleMapping.Refusal? {
        draft.pdrs.clear()
        for pdr in pdrs { draft.pdrs.add(pdr) }
        draft.fars.clear()
        for far in fars { draft.fars.add(far) }
        draft.bar = bar
        if let refusal = draft.change(by: m, policy: policy) { return refusal }
        swap(&pdrs, &draft.pdrs)
        swap(&fars, &draft.fars)
        bar = draft.bar
        return nil
    }

    /// Changes the rule IEs as `m` asks, then makes the rules they ask for.
    private mutating func change(by m: PFCPMessage, policy: AgentPolicy) -> PFCPRuleMapping.Refusal? {
        let refuse = PFCPRuleMapping.refusal
        // Each list and rule IE read where it lies in the message: a list
        // taken out, or iterated, is retained, and its elements copied whole.
        for r in m.removePDR.indices {
            let id = m.removePDR[r].id
            guard pdrs.remove(id: UInt16(truncatingIfNeeded: id)) else { return refuse(.removePDR, "no PDR \(id)") }
        }
        for r in m.removeFAR.indices {
            let id = m.removeFAR[r].id
            guard fars.remove(id: id) else { return refuse(.removeFAR, "no FAR \(id)") }
        }
        if let r = m.removeBAR {
            guard bar?.id == UInt8(truncatingIfNeeded: r.id) else { return refuse(.removeBAR, "no BAR \(r.id)") }
            bar = nil
        }
        // Lent where they lie (`lend`): read by subscript, each was
        // copied. Only lists that hold some: lending one retains it.
        if !m.createPDR.isEmpty, let refusal = m.createPDR.lend({ pdr -> PFCPRuleMapping.Refusal? in
            do throws(PFCPRuleMapping.Refusal) {
                return pdrs.insert(try HeldPDR(pdr)) ? nil : refuse(.createPDR, "PDR \(pdr.id) exists")
            } catch { return error }
        }) { return refusal }
        if !m.createFAR.isEmpty,
           let refusal = m.createFAR.lend({ far in fars.insert(HeldFAR(far)) ? nil : refuse(.createFAR, "FAR \(far.id) exists") }) {
            return refusal
        }
        if let created = m.createBAR { bar = created }
        for u in m.updatePDR.indices {
            guard let i = pdrs.index(id: m.updatePDR[u].id) else { return refuse(.updatePDR, "no PDR \(m.updatePDR[u].id)") }
            do { try pdrs[i].update(by: m.updatePDR[u]) } catch { return error }
        }
        for u in m.updateFAR.indices {
            guard let i = fars.index(id: m.updateFAR[u].id) else { return refuse(.updateFAR, "no FAR \(m.updateFAR[u].id)") }
            fars[i].update(by: m.updateFAR[u])
        }
        if let update = m.updateBAR {
            guard bar?.id == update.id else { return refuse(.updateBAR, "no BAR \(update.id)") }
            bar = update
        }
        if let refusal = PFCPRuleMapping.makeRules(&pdrs, fars: fars, tunnelMode: policy.tunnelMode) { return refusal }
        for pdr in pdrs {
            if let rule = pdr.rule, let refusal = policy.check(rule, pdr: pdr) { return refusal }
        }
        return nil
    }
}

/// What an agent may be asked to do.
struct AgentPolicy: Sendable {
    var tunnelMode: TunnelMode
    /// The prefix blocks it anchors.
    var pools: [IPv6Prefix]

    /// An agent anchors only prefixes of its own pools: it tunnels, refuses
    /// or delivers as anchor only those. A prefix anchored elsewhere reaches
    /// it out of a tunnel (Outer Header Removal) and may be delivered.
    func check(_ rule: ForwardingRule, pdr: HeldPDR) -> PFCPRuleMapping.Refusal? {
        let prefix = rule.prefix!
        let anchoring: Bool
        switch rule {
        case .encapsulate, .unreachable: anchoring = true
        case .deliver: anchoring = !pdr.decapsulated
        default: anchoring = false
        }
        if anchoring && !pools.contains(where: { $0.contains(prefix) }) {
            return PFCPRuleMapping.refusal(.ueIPAddress, "PDR \(pdr.id): \(prefix) is not anchored here")
        }
        return nil
    }
}

/// A PDR or a FAR: a rule IE named by its ID within its session.
protocol PFCPIdentifiedRule {
    associatedtype ID: Comparable
    var id: ID { get }
}

extension HeldPDR: PFCPIdentifiedRule {}
extension HeldFAR: PFCPIdentifiedRule {}

extension Array where Element: PFCPIdentifiedRule {
    func index(id: Element.ID) -> Int? { firstIndex { $0.id == id } }

    /// Inserts `rule` in ID order; false if its ID is taken.
    mutating func insert(_ rule: Element) -> Bool {
        let i = firstIndex { $0.id >= rule.id } ?? count
        if i < count && self[i].id == rule.id { return false }
        // At the end (most often: rules come in ID order) by `add`:
        // `insert(_:at:)` replaces a subrange, at several times the cost.
        if i == count { add(rule) } else { insert(rule, at: i) }
        return true
    }

    /// False if no rule has the ID.
    mutating func remove(id: Element.ID) -> Bool {
        guard let i = index(id: id) else { return false }
        remove(at: i)
        return true
    }
}
