import DMMWire

/// One PFCP session at an agent: the PDRs and FARs the controller set, and
/// the forwarding rules they make. Changes are made on a copy and kept only
/// when every rule of the result can be carried out, so a refused request
/// changes nothing (TS 29.244 section 7.5.2: the request is rejected whole).
struct AgentSession: Sendable, Hashable {
    /// The controller's end of the session.
    var controller: PFCPFSEID
    var pdrs: [UInt16: PFCPPDR] = [:]
    var fars: [UInt32: PFCPFAR] = [:]
    var bar: PFCPBAR?
    /// The rules the PDRs and FARs make, ordered by PDR ID.
    private(set) var rules: [ForwardingRule] = []

    init(controller: PFCPFSEID) { self.controller = controller }

    /// Applies the rule IEs of an establishment or modification request.
    mutating func apply(_ m: PFCPMessage, policy: AgentPolicy) -> PFCPRuleMapping.Refusal? {
        func refuse(_ ie: PFCPIEType, _ reason: String, cause: PFCPCause = .ruleCreationModificationFailure) -> PFCPRuleMapping.Refusal {
            PFCPRuleMapping.Refusal(cause: cause, offendingIE: ie, reason: reason)
        }
        var next = self
        for r in m.removePDR {
            guard next.pdrs.removeValue(forKey: UInt16(truncatingIfNeeded: r.id)) != nil else { return refuse(.removePDR, "no PDR \(r.id)") }
        }
        for r in m.removeFAR {
            guard next.fars.removeValue(forKey: r.id) != nil else { return refuse(.removeFAR, "no FAR \(r.id)") }
        }
        if let r = m.removeBAR {
            guard next.bar?.id == UInt8(truncatingIfNeeded: r.id) else { return refuse(.removeBAR, "no BAR \(r.id)") }
            next.bar = nil
        }
        for pdr in m.createPDR {
            guard next.pdrs[pdr.id] == nil else { return refuse(.createPDR, "PDR \(pdr.id) exists") }
            next.pdrs[pdr.id] = pdr
        }
        for far in m.createFAR {
            guard next.fars[far.id] == nil else { return refuse(.createFAR, "FAR \(far.id) exists") }
            next.fars[far.id] = far
        }
        if let bar = m.createBAR { next.bar = bar }
        for update in m.updatePDR {
            guard var pdr = next.pdrs[update.id] else { return refuse(.updatePDR, "no PDR \(update.id)") }
            if let p = update.precedence { pdr.precedence = p }
            if let p = update.pdi { pdr.pdi = p }
            if let o = update.outerHeaderRemoval { pdr.outerHeaderRemoval = o }
            if let f = update.farID { pdr.farID = f }
            next.pdrs[update.id] = pdr
        }
        for update in m.updateFAR {
            guard var far = next.fars[update.id] else { return refuse(.updateFAR, "no FAR \(update.id)") }
            if let a = update.applyAction { far.applyAction = a }
            if let u = update.forwarding {
                var f = far.forwarding ?? PFCPForwardingParameters(destinationInterface: nil)
                if let d = u.destinationInterface { f.destinationInterface = d }
                if let n = u.networkInstance { f.networkInstance = n }
                if let o = u.outerHeaderCreation { f.outerHeaderCreation = o }
                if let h = u.nextHop { f.nextHop = h }
                far.forwarding = f
            }
            if let b = update.barID { far.barID = b }
            next.fars[update.id] = far
        }
        if let update = m.updateBAR {
            guard next.bar?.id == update.id else { return refuse(.updateBAR, "no BAR \(update.id)") }
            next.bar = update
        }
        let rules: [ForwardingRule]
        switch PFCPRuleMapping.rules(pdrs: next.pdrs.values, fars: next.fars, tunnelMode: policy.tunnelMode) {
        case .success(let made):
            for (pdr, rule) in made { if let refusal = policy.check(rule, pdr: pdr) { return refusal } }
            rules = made.map(\.rule)
        case .failure(let refusal): return refusal
        }
        next.rules = rules
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
