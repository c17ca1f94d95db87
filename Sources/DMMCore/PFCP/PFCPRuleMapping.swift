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

    /// The PDR and FAR of a rule at an agent that anchors the rule's prefix
    /// or not, or nil for a rule that is not a session's (the agent's own
    /// tunnel endpoints).
    public static func encode(_ rule: ForwardingRule, anchoredHere: Bool) -> (PFCPPDR, PFCPFAR)? {
        let id = slot(of: rule.key)
        func pdr(_ source: PFCPInterface, _ link: LinkID?, _ prefix: IPv6Prefix) -> PFCPPDR {
            PFCPPDR(id: id, precedence: precedence(of: rule.key),
                    pdi: PFCPPDI(sourceInterface: source, networkInstance: link?.name,
                                 ueIPAddresses: [PFCPUEIPAddress(prefix: prefix, isDestination: source == .core)]),
                    farID: UInt32(id))
        }
        func forward(_ destination: PFCPInterface, link: LinkID? = nil, tunnel: IPv6Address? = nil) -> PFCPFAR {
            PFCPFAR(id: UInt32(id), applyAction: .forward, forwarding: PFCPForwardingParameters(
                destinationInterface: destination, networkInstance: link?.name, outerHeaderCreation: tunnel.map(PFCPOuterHeaderCreation.ipv6)))
        }
        switch rule {
        case .deliver(let p, let link):
            var delivery = pdr(.core, nil, p)
            if !anchoredHere { delivery.outerHeaderRemoval = .ipv6 }
            return (delivery, forward(.access, link: link))
        case .encapsulate(let p, let endpoint, _): return (pdr(.core, nil, p), forward(.core, tunnel: endpoint))
        case .unreachable(let p): return (pdr(.core, nil, p), PFCPFAR(id: UInt32(id), applyAction: .drop))
        case .reverseTunnel(let p, let link, let endpoint, _): return (pdr(.access, link, p), forward(.core, tunnel: endpoint))
        case .forward(let p, let link, let via):
            var far = forward(.core, link: link)
            far.forwarding?.nextHop = via
            return (pdr(.core, nil, p), far)
        case .buffer(let p): return (pdr(.core, nil, p), PFCPFAR(id: UInt32(id), applyAction: .buffer, barID: bar.id))
        case .decapsulate, .crossConnect: return nil
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
        for (pdr, far) in rules.compactMap({ encode($0, anchoredHere: anchoredHere) }) {
            m.createPDR.append(pdr)
            m.createFAR.append(far)
        }
        if buffers(rules) { m.createBAR = bar }
    }

    /// The rules the PDRs make with the FARs they name, one for each PDR in
    /// its order; a FAR ID given twice names the first.
    public static func rules(pdrs: [PFCPPDR], fars: [PFCPFAR], tunnelMode: TunnelMode) -> Result<[ForwardingRule], Refusal> {
        var made: [ForwardingRule] = []
        made.reserveCapacity(pdrs.count)
        for pdr in pdrs {
            guard let farID = pdr.farID, let far = fars.first(where: { $0.id == farID }) else {
                return .failure(Refusal(cause: .mandatoryIEIncorrect, offendingIE: .farID, reason: "PDR \(pdr.id) names no FAR of the session"))
            }
            switch decode(pdr, far, tunnelMode: tunnelMode) {
            case .success(let rule): made.append(rule)
            case .failure(let refusal): return .failure(refusal)
            }
        }
        return .success(made)
    }

    /// Why a PDR and its FAR make no rule this system can carry out: the
    /// Cause to answer with and the IE at fault.
    public struct Refusal: Error, Hashable, Sendable {
        public var cause: PFCPCause
        public var offendingIE: PFCPIEType
        public var reason: String
    }

    /// The rule a PDR and its FAR ask for.
    public static func decode(_ pdr: PFCPPDR, _ far: PFCPFAR, tunnelMode: TunnelMode) -> Result<ForwardingRule, Refusal> {
        func refuse(_ ie: PFCPIEType, _ reason: String) -> Result<ForwardingRule, Refusal> {
            .failure(Refusal(cause: .ruleCreationModificationFailure, offendingIE: ie, reason: "PDR \(pdr.id): \(reason)"))
        }
        guard let pdi = pdr.pdi else { return refuse(.pdi, "no PDI") }
        guard pdi.ueIPAddresses.count == 1, let prefix = pdi.ueIPAddresses[0].prefix, pdi.ueIPAddresses[0].ipv4 == nil else {
            return refuse(.ueIPAddress, "needs exactly one IPv6 UE IP Address")
        }
        guard pdi.sdfFilters.isEmpty else { return refuse(.sdfFilter, "SDF filters are not carried out yet") }
        guard let action = far.applyAction else { return refuse(.applyAction, "FAR \(far.id) has no Apply Action") }
        let forwarding = far.forwarding
        let tunnel = forwarding?.outerHeaderCreation
        if let tunnel, tunnel.description != PFCPOuterHeaderCreation.plainIPv6 || tunnel.ipv6 == nil {
            return refuse(.outerHeaderCreation, "only an IPv6 outer header is carried out")
        }
        let link = (pdi.sourceInterface == .access ? pdi.networkInstance : forwarding?.networkInstance).map { LinkID($0) }
        switch (pdi.sourceInterface, action) {
        case (.core, .drop):
            return .success(.unreachable(prefix))
        case (.core, .buffer):
            return .success(.buffer(prefix))
        case (.core, .forward):
            if let endpoint = tunnel?.ipv6 { return .success(.encapsulate(prefix, endpoint: endpoint, mode: tunnelMode)) }
            if let via = forwarding?.nextHop {
                guard forwarding?.destinationInterface == .core, let link = forwarding?.networkInstance else {
                    return refuse(.forwardingParameters, "a next hop needs Destination Interface Core and its link as Network Instance")
                }
                return .success(.forward(prefix, link: LinkID(link), via: via))
            }
            guard forwarding?.destinationInterface == .access, let link else {
                return refuse(.forwardingParameters, "forwarding from Core needs an outer header or an access link")
            }
            return .success(.deliver(prefix, link: link))
        case (.access, .forward):
            guard let link, let endpoint = tunnel?.ipv6 else {
                return refuse(.forwardingParameters, "forwarding from Access needs its link and an outer header")
            }
            return .success(.reverseTunnel(from: prefix, link: link, endpoint: endpoint, mode: tunnelMode))
        default:
            return refuse(.applyAction, "Apply Action \(action.rawValue) from \(pdi.sourceInterface.name) is not carried out")
        }
    }
}
