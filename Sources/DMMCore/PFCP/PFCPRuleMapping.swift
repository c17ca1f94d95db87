import DMMWire

/// How forwarding rules travel in PFCP (RFC 8818 FM-cpdp:1): each rule of a
/// session is one PDR (which packets) with one FAR (what to do with them).
/// The controller writes rules this way; the agent reads them back. The PDR
/// and FAR of a rule share an identifier, its slot in the session.
///
///  | rule                          | PDR                                   | FAR                                  |
///  |-------------------------------|---------------------------------------|--------------------------------------|
///  | deliver P on link L           | Core, to P                            | FORW to Access, Network Instance L   |
///  | encapsulate P toward E        | Core, to P                            | FORW to Core, Outer Header IPv6 E    |
///  | unreachable P                 | Core, to P                            | DROP                                 |
///  | reverse tunnel from P on L    | Access, Network Instance L, from P    | FORW to Core, Outer Header IPv6 E    |
///  | forward P via V on L          | Core, to P                            | FORW to Core, Network Instance L,    |
///  |                               |                                       | Next Hop V (enterprise-specific IE)  |
///  | buffer P                      | Core, to P                            | BUFF, BAR 1 (the session's BAR)      |
///
/// Delivering a prefix that another agent anchors means its packets come
/// out of a tunnel: the PDR says so with Outer Header Removal. The agent's
/// tunnel endpoint takes the outer header off every tunnel, so the IE
/// changes no rule; it tells the agent that it is not asked to anchor the
/// prefix (see `AgentPolicy`). The tunnel mode is the agent's own configuration.
public enum PFCPRuleMapping {
    /// The slot of a rule in its session: one route and one source rule per prefix.
    public static func slot(of key: ForwardingRule.Key) -> UInt16 {
        switch key {
        case .route: 1
        case .source: 2
        case .decapsulation: 3
        }
    }

    /// Every slot `slot(of:)` gives, in order.
    static let slots: ClosedRange<UInt16> = 1...3

    /// Precedence: rules about a node's own source first, then routes.
    static func precedence(of key: ForwardingRule.Key) -> UInt32 {
        switch key {
        case .source: 100
        case .route: 200
        case .decapsulation: 300
        }
    }

    /// What a rule's PDR detects: rules of one slot whose detections are
    /// equal have equal PDRs, so that what changed is found without
    /// encoding either.
    struct Detection: Equatable {
        var source: PFCPInterface
        /// The access link packets come in on (Source Interface Access).
        var link: LinkID?
        var prefix: IPv6Prefix
        /// Packets come out of a tunnel (Outer Header Removal).
        var decapsulated = false
    }

    /// What a rule's FAR does with what its PDR detects, the same way.
    struct Treatment: Equatable {
        var action: PFCPApplyAction
        var destination: PFCPInterface?
        /// Network Instance: the link to deliver on, or to the next hop.
        var link: LinkID?
        var tunnel: IPv6Address?
        var via: IPv6Address?

        /// Whether this FAR lacks an IE that `earlier` has (a BAR's ID for
        /// a buffer), which an Update FAR cannot take away.
        func leavesOut(_ earlier: Treatment) -> Bool {
            (earlier.destination != nil && destination == nil) || (earlier.link != nil && link == nil)
                || (earlier.tunnel != nil && tunnel == nil) || (earlier.via != nil && via == nil)
                || (earlier.action == .buffer && action != .buffer)
        }
    }

    /// The rule's detection and treatment; nil for a rule that is not a session's.
    static func parts(of rule: ForwardingRule, anchoredHere: Bool) -> (detection: Detection, treatment: Treatment)? {
        func core(_ p: IPv6Prefix) -> Detection { Detection(source: .core, prefix: p) }
        switch rule {
        case .deliver(let p, let link):
            return (Detection(source: .core, prefix: p, decapsulated: !anchoredHere), Treatment(action: .forward, destination: .access, link: link))
        case .encapsulate(let p, let endpoint, _): return (core(p), Treatment(action: .forward, destination: .core, tunnel: endpoint))
        case .unreachable(let p): return (core(p), Treatment(action: .drop))
        case .reverseTunnel(let p, let link, let endpoint, _):
            return (Detection(source: .access, link: link, prefix: p), Treatment(action: .forward, destination: .core, tunnel: endpoint))
        case .forward(let p, let link, let via): return (core(p), Treatment(action: .forward, destination: .core, link: link, via: via))
        case .buffer(let p): return (core(p), Treatment(action: .buffer))
        case .decapsulate, .crossConnect: return nil
        }
    }

    /// Fills a blank PDR (`PFCPPDR.blank`) for a detection, where it lies:
    /// a rule IE made and then stored is copied whole.
    @inline(__always)
    static func fill(_ p: inout PFCPPDR, _ d: Detection, for key: ForwardingRule.Key) {
        let id = slot(of: key)
        p.id = id
        p.precedence = precedence(of: key)
        p.setDetection(source: d.source, networkInstance: d.link?.networkInstance,
                       ueIPAddress: PFCPUEIPAddress(prefix: d.prefix, isDestination: d.source == .core))
        p.outerHeaderRemoval = d.decapsulated ? .ipv6 : nil
        p.farID = UInt32(id)
    }

    /// Fills a blank FAR (`PFCPFAR.blank`) for a treatment, the same way.
    @inline(__always)
    static func fill(_ f: inout PFCPFAR, _ t: Treatment, for key: ForwardingRule.Key) {
        f.id = UInt32(slot(of: key))
        f.applyAction = t.action
        guard let destination = t.destination else {
            f.barID = t.action == .buffer ? bar.id : nil
            return
        }
        f.hasParameters = true
        f.parameters.destinationInterface = destination
        f.parameters.networkInstance = t.link?.networkInstance
        f.parameters.outerHeaderCreation = t.tunnel.map(PFCPOuterHeaderCreation.ipv6)
        f.parameters.nextHop = t.via
    }

    /// The rule IEs that change a session from `before` to `after`, by slot
    /// (the first rule of a slot counts): only what differs is encoded, a
    /// PDR when it detects other packets, a FAR when it acts otherwise.
    static func describe(from before: [ForwardingRule], to after: [ForwardingRule], anchoredHere: Bool, in m: inout PFCPMessage) {
        // The BAR comes before the FAR that names it and goes after it.
        if buffers(after) && !buffers(before) { m.createBAR = bar }
        if buffers(before) && !buffers(after) { m.removeBAR = PFCPRuleReference(id: UInt32(bar.id)) }
        // Bit s: a rule of slot s is before or after (most sessions use one
        // slot of three, and each slot looked at reads both lists).
        var used: UInt8 = 0
        for r in before { used |= 1 << slot(of: r.key) }
        for r in after { used |= 1 << slot(of: r.key) }
        for slot in slots where used & 1 << slot != 0 {
            /// The slot's first rule, if it is a session's: its key and parts.
            func first(_ rules: [ForwardingRule]) -> (key: ForwardingRule.Key, detection: Detection, treatment: Treatment)? {
                guard let r = rules.first(where: { self.slot(of: $0.key) == slot }), let parts = parts(of: r, anchoredHere: anchoredHere)
                else { return nil }
                return (r.key, parts.detection, parts.treatment)
            }
            switch (first(before), first(after)) {
            case (nil, nil): continue
            case (_?, nil):
                m.removePDR.add(PFCPRuleReference(id: UInt32(slot)))
                m.removeFAR.add(PFCPRuleReference(id: UInt32(slot)))
            case (nil, let new?):
                m.createPDR.add(.blank) { fill(&$0, new.detection, for: new.key) }
                m.createFAR.add(.blank) { fill(&$0, new.treatment, for: new.key) }
            case (let old?, let new?):
                if new.detection != old.detection { m.updatePDR.add(.blank) { fill(&$0, new.detection, for: new.key) } }
                if new.treatment == old.treatment { continue }
                // An Update FAR sets IEs and cannot take one away (the access
                // link of a delivery that becomes a tunnel, the outer header
                // of a tunnel that becomes a delivery, the BAR of a buffer
                // that forwards again): the FAR is then written anew, in the
                // same request.
                if new.treatment.leavesOut(old.treatment) {
                    m.removeFAR.add(PFCPRuleReference(id: UInt32(slot)))
                    m.createFAR.add(.blank) { fill(&$0, new.treatment, for: new.key) }
                } else {
                    m.updateFAR.add(.blank) { fill(&$0, new.treatment, for: new.key) }
                }
            }
        }
    }

    /// The BAR of a session that buffers: one per session, the agent's own
    /// limits bounding what it holds (FM-buffer:1).
    public static let bar = PFCPBAR(id: 1, packetCount: nil)

    /// Whether rules need the session's BAR.
    static func buffers(_ rules: [ForwardingRule]) -> Bool {
        rules.contains { if case .buffer = $0 { true } else { false } }
    }

    /// Rules as the Create PDR, Create FAR and Create BAR IEs of `m` (what
    /// the controller's store keeps of a session).
    public static func write(_ rules: [ForwardingRule], anchoredHere: Bool, into m: inout PFCPMessage) {
        for rule in rules {
            guard let (detection, treatment) = parts(of: rule, anchoredHere: anchoredHere) else { continue }
            m.createPDR.add(.blank) { fill(&$0, detection, for: rule.key) }
            m.createFAR.add(.blank) { fill(&$0, treatment, for: rule.key) }
        }
        if buffers(rules) { m.createBAR = bar }
    }

    /// The rules the PDRs make with the FARs they name, one for each PDR in
    /// its order; a FAR ID given twice names the first.
    public static func rules(pdrs: [PFCPPDR], fars: [PFCPFAR], tunnelMode: TunnelMode) -> Result<[ForwardingRule], Refusal> {
        var held: [HeldPDR] = []
        for pdr in pdrs {
            do { held.append(try HeldPDR(pdr)) } catch { return .failure(error) }
        }
        if let refusal = makeRules(&held, fars: fars.map { HeldFAR($0) }, tunnelMode: tunnelMode) { return .failure(refusal) }
        return .success(held.compactMap(\.rule))
    }

    /// The same from the IEs as an agent holds them, each PDR's rule set in
    /// it: nil, or the refusal, the PDRs before it then holding their rules.
    static func makeRules(_ pdrs: inout [HeldPDR], fars: [HeldFAR], tunnelMode: TunnelMode) -> Refusal? {
        // Read where they lie: iterating or searching the arrays, or passing
        // an element on, copies each whole.
        return pdrs.withUnsafeMutableBufferPointer { pdrs in
            fars.withUnsafeBufferPointer { fars in
                for p in pdrs.indices {
                    guard let farID = pdrs[p].farID, let f = fars.firstIndex(where: { $0.id == farID }) else {
                        return Refusal(cause: .mandatoryIEIncorrect, offendingIE: .farID, reason: "PDR \(pdrs[p].id) names no FAR of the session")
                    }
                    switch rule(UnsafePointer(pdrs.baseAddress! + p), fars.baseAddress! + f, tunnelMode: tunnelMode) {
                    case .success(let rule): pdrs[p].rule = rule
                    case .failure(let refusal): return refusal
                    }
                }
                return nil
            }
        }
    }

    /// Why a PDR and its FAR make no rule this system can carry out: the
    /// Cause to answer with and the IE at fault.
    public struct Refusal: Error, Hashable, Sendable {
        public var cause: PFCPCause
        public var offendingIE: PFCPIEType
        public var reason: String
    }

    /// A refusal of a rule IE the agent cannot carry out (Cause 73, Rule
    /// Creation/Modification Failure), naming the IE at fault.
    static func refusal(_ ie: PFCPIEType, _ reason: String) -> Refusal {
        Refusal(cause: .ruleCreationModificationFailure, offendingIE: ie, reason: reason)
    }

    /// The rule a PDR and its FAR ask for, each read where it lies (the
    /// PDR's PDI was checked when it came in).
    static func rule(_ pdr: UnsafePointer<HeldPDR>, _ far: UnsafePointer<HeldFAR>, tunnelMode: TunnelMode) -> Result<ForwardingRule, Refusal> {
        let id = pdr.pointee.id
        func refuse(_ ie: PFCPIEType, _ reason: String) -> Result<ForwardingRule, Refusal> { .failure(refusal(ie, "PDR \(id): \(reason)")) }
        let prefix = pdr.pointee.prefix
        let source = pdr.pointee.source
        guard let action = far.pointee.action else { return refuse(.applyAction, "FAR \(far.pointee.id) has no Apply Action") }
        let tunnel = far.pointee.tunnel
        if let tunnel, tunnel.description != PFCPOuterHeaderCreation.plainIPv6 || tunnel.ipv6 == nil {
            return refuse(.outerHeaderCreation, "only an IPv6 outer header is carried out")
        }
        let link: LinkID?
        if source == .access {
            link = pdr.pointee.link
        } else {
            do { link = try far.pointee.link(for: id) } catch { return .failure(error) }
        }
        switch (source, action) {
        case (.core, .drop):
            return .success(.unreachable(prefix))
        case (.core, .buffer):
            return .success(.buffer(prefix))
        case (.core, .forward):
            if let endpoint = tunnel?.ipv6 { return .success(.encapsulate(prefix, endpoint: endpoint, mode: tunnelMode)) }
            let destination = far.pointee.destination
            if let via = far.pointee.via {
                guard destination == .core, let link else {
                    return refuse(.forwardingParameters, "a next hop needs Destination Interface Core and its link as Network Instance")
                }
                return .success(.forward(prefix, link: link, via: via))
            }
            guard destination == .access, let link else {
                return refuse(.forwardingParameters, "forwarding from Core needs an outer header or an access link")
            }
            return .success(.deliver(prefix, link: link))
        case (.access, .forward):
            guard let link, let endpoint = tunnel?.ipv6 else {
                return refuse(.forwardingParameters, "forwarding from Access needs its link and an outer header")
            }
            return .success(.reverseTunnel(from: prefix, link: link, endpoint: endpoint, mode: tunnelMode))
        default:
            return refuse(.applyAction, "Apply Action \(action.rawValue) from \(source.name) is not carried out")
        }
    }
}
