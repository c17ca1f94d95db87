import DMMWire

/// One PFCP session at an agent: the PDRs and FARs the controller set, and
/// the forwarding rules they make. Changes are made on a copy and kept only
/// when every rule of the result can be carried out, so a refused request
/// changes nothing (TS 29.244 section 7.5.2: the request is rejected whole).
struct AgentSession: Sendable, Hashable {
    /// The controller's end of the session.
    var controller: PFCPFSEID
    /// In ID order. A session holds a rule or two: arrays searched in place
    /// cost less than dictionaries, which a request copied whole.
    private(set) var pdrs: [PFCPPDR] = []
    private(set) var fars: [PFCPFAR] = []
    var bar: PFCPBAR?
    /// The rules the PDRs and FARs make, ordered by PDR ID.
    private(set) var rules: [ForwardingRule] = []

    init(controller: PFCPFSEID) { self.controller = controller }

    /// Carries out a modification request, if `policy` is given (the
    /// agent is associated): the controller's end of the session, the rules
    /// before and after, and the refusal that left the session as it was,
    /// if any.
    mutating func modify(_ m: PFCPMessage, policy: AgentPolicy?)
        -> (controller: PFCPFSEID, before: [ForwardingRule], after: [ForwardingRule], refusal: PFCPRuleMapping.Refusal?) {
        let before = rules
        let refusal = policy.flatMap { apply(m, policy: $0) }
        return (controller, before, rules, refusal)
    }

    /// Applies the rule IEs of an establishment or modification request.
    mutating func apply(_ m: PFCPMessage, policy: AgentPolicy) -> PFCPRuleMapping.Refusal? {
        func refuse(_ ie: PFCPIEType, _ reason: String, cause: PFCPCause = .ruleCreationModificationFailure) -> PFCPRuleMapping.Refusal {
            PFCPRuleMapping.Refusal(cause: cause, offendingIE: ie, reason: reason)
        }
        var next = self
        for r in m.removePDR {
            guard next.pdrs.remove(id: UInt16(truncatingIfNeeded: r.id)) else { return refuse(.removePDR, "no PDR \(r.id)") }
        }
        for r in m.removeFAR {
            guard next.fars.remove(id: r.id) else { return refuse(.removeFAR, "no FAR \(r.id)") }
        }
        if let r = m.removeBAR {
            guard next.bar?.id == UInt8(truncatingIfNeeded: r.id) else { return refuse(.removeBAR, "no BAR \(r.id)") }
            next.bar = nil
        }
        for pdr in m.createPDR {
            guard next.pdrs.insert(pdr) else { return refuse(.createPDR, "PDR \(pdr.id) exists") }
        }
        for far in m.createFAR {
            guard next.fars.insert(far) else { return refuse(.createFAR, "FAR \(far.id) exists") }
        }
        if let bar = m.createBAR { next.bar = bar }
        for update in m.updatePDR {
            guard let i = next.pdrs.index(id: update.id) else { return refuse(.updatePDR, "no PDR \(update.id)") }
            if let p = update.precedence { next.pdrs[i].precedence = p }
            if let p = update.pdi { next.pdrs[i].pdi = p }
            if let o = update.outerHeaderRemoval { next.pdrs[i].outerHeaderRemoval = o }
            if let f = update.farID { next.pdrs[i].farID = f }
        }
        for update in m.updateFAR {
            guard let i = next.fars.index(id: update.id) else { return refuse(.updateFAR, "no FAR \(update.id)") }
            if let a = update.applyAction { next.fars[i].applyAction = a }
            if let u = update.forwarding {
                var f = next.fars[i].forwarding ?? PFCPForwardingParameters(destinationInterface: nil)
                if let d = u.destinationInterface { f.destinationInterface = d }
                if let n = u.networkInstance { f.networkInstance = n }
                if let o = u.outerHeaderCreation { f.outerHeaderCreation = o }
                if let h = u.nextHop { f.nextHop = h }
                next.fars[i].forwarding = f
            }
            if let b = update.barID { next.fars[i].barID = b }
        }
        if let update = m.updateBAR {
            guard next.bar?.id == update.id else { return refuse(.updateBAR, "no BAR \(update.id)") }
            next.bar = update
        }
        switch PFCPRuleMapping.rules(pdrs: next.pdrs, fars: next.fars, tunnelMode: policy.tunnelMode) {
        case .success(let rules):
            for (pdr, rule) in zip(next.pdrs, rules) { if let refusal = policy.check(rule, pdr: pdr) { return refusal } }
            next.rules = rules
        case .failure(let refusal): return refusal
        }
        self = next
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
    func check(_ rule: ForwardingRule, pdr: PFCPPDR) -> PFCPRuleMapping.Refusal? {
        let prefix = rule.prefix!
        let anchoring: Bool
        switch rule {
        case .encapsulate, .unreachable: anchoring = true
        case .deliver: anchoring = pdr.outerHeaderRemoval == nil
        default: anchoring = false
        }
        if anchoring && !pools.contains(where: { $0.contains(prefix) }) {
            return PFCPRuleMapping.Refusal(cause: .ruleCreationModificationFailure, offendingIE: .ueIPAddress,
                                           reason: "PDR \(pdr.id): \(prefix) is not anchored here")
        }
        return nil
    }
}

/// A PDR or a FAR: a rule IE named by its ID within its session.
protocol PFCPIdentifiedRule {
    associatedtype ID: Comparable
    var id: ID { get }
}

extension PFCPPDR: PFCPIdentifiedRule {}
extension PFCPFAR: PFCPIdentifiedRule {}

extension Array where Element: PFCPIdentifiedRule {
    func index(id: Element.ID) -> Int? { firstIndex { $0.id == id } }

    /// Inserts `rule` in ID order; false if its ID is taken.
    mutating func insert(_ rule: Element) -> Bool {
        let i = firstIndex { $0.id >= rule.id } ?? count
        if i < count && self[i].id == rule.id { return false }
        insert(rule, at: i)
        return true
    }

    /// False if no rule has the ID.
    mutating func remove(id: Element.ID) -> Bool {
        guard let i = index(id: id) else { return false }
        remove(at: i)
        return true
    }
}
