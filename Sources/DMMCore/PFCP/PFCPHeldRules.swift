import DMMWire

/// A PDR as an agent holds it between requests: what the rule mapping
/// reads of it, its PDI checked when it came in. Holding the wire IEs, an
/// agent copied each PDR and FAR of a session, lists, texts and unknown IEs
/// with them, into its draft at every request and read texts back into
/// link names at every change (BENCHMARKS.md, `dmm bench controller`, stop 30).
struct HeldPDR: Hashable, Sendable {
    var id: UInt16
    var precedence: UInt32?
    var source: PFCPInterface
    /// The access link packets come in on: the PDI's Network Instance,
    /// read for Source Interface Access only.
    var link: LinkID?
    var prefix: IPv6Prefix
    /// Outer Header Removal: the packets come out of a tunnel.
    var decapsulated: Bool
    var farID: UInt32?
    /// The rule it makes with its FAR, once made (`PFCPRuleMapping.makeRules`).
    var rule: ForwardingRule?

    /// The PDR a Create PDR makes, or why none.
    init(_ pdr: borrowing PFCPPDR) throws(PFCPRuleMapping.Refusal) {
        // The decoder requires a PDI in a Create PDR; a PDR made otherwise may lack it.
        guard pdr.hasDetection else { throw PFCPRuleMapping.refusal(.pdi, "PDR \(pdr.id): no PDI") }
        (id, precedence, decapsulated, farID) = (pdr.id, pdr.precedence, pdr.outerHeaderRemoval != nil, pdr.farID)
        (source, link, prefix) = try Self.detection(pdr.detection, of: pdr.id)
    }

    /// Takes what an Update PDR sets, a PDI whole.
    mutating func update(by u: borrowing PFCPPDR) throws(PFCPRuleMapping.Refusal) {
        if let p = u.precedence { precedence = p }
        if u.hasDetection { (source, link, prefix) = try Self.detection(u.detection, of: id) }
        if u.outerHeaderRemoval != nil { decapsulated = true }
        if let f = u.farID { farID = f }
    }

    /// What a PDI detects, if the mapping carries it out: one IPv6 prefix,
    /// no SDF filter, and from Access the link as Network Instance.
    static func detection(_ pdi: borrowing PFCPPDI, of id: UInt16) throws(PFCPRuleMapping.Refusal)
        -> (source: PFCPInterface, link: LinkID?, prefix: IPv6Prefix) {
        guard pdi.ueIPAddressCount == 1, let address = pdi.firstUEIPAddress, let prefix = address.prefix, address.ipv4 == nil else {
            throw PFCPRuleMapping.refusal(.ueIPAddress, "PDR \(id): needs exactly one IPv6 UE IP Address")
        }
        guard pdi.sdfFilters.isEmpty else { throw PFCPRuleMapping.refusal(.sdfFilter, "PDR \(id): SDF filters are not carried out yet") }
        let source = pdi.sourceInterface
        guard source == .access, let name = pdi.networkInstance else { return (source, nil, prefix) }
        guard let link = LinkID(name) else {
            throw PFCPRuleMapping.refusal(.networkInstance, "PDR \(id): Network Instance '\(name)' \(LinkID.misfit)")
        }
        return (source, link, prefix)
    }
}

/// A FAR as an agent holds it: what the rule mapping reads of it, plain
/// values only. Only the PDRs that name a FAR say which of its IEs must
/// make sense (its Network Instance is read from Core only), so faults are
/// kept and found when a rule is made, as they were on the wire IEs.
struct HeldFAR: Hashable, Sendable {
    var id: UInt32
    var action: PFCPApplyAction?
    var destination: PFCPInterface?
    /// The Network Instance as a link name.
    var link: LinkID?
    /// A Network Instance that names no interface (too long, or with a
    /// zero octet), refused by the PDRs that read it. The name itself is
    /// not kept: a text would make every copy of the FAR count references.
    var unnamedLink = false
    var tunnel: PFCPOuterHeaderCreation?
    var via: IPv6Address?
    var barID: UInt8?

    /// The FAR a Create FAR makes.
    init(_ far: borrowing PFCPFAR) {
        id = far.id
        update(by: far)
    }

    /// Takes what an Update FAR sets (a Create FAR sets all it has).
    mutating func update(by u: borrowing PFCPFAR) {
        if let a = u.applyAction { action = a }
        if u.hasParameters {
            if let d = u.parameters.destinationInterface { destination = d }
            if let n = u.parameters.networkInstance {
                link = LinkID(n)
                unnamedLink = link == nil
            }
            if let o = u.parameters.outerHeaderCreation { tunnel = o }
            if let h = u.parameters.nextHop { via = h }
        }
        if let b = u.barID { barID = b }
    }

    /// The link, for PDR `pdr`, which reads it.
    func link(for pdr: UInt16) throws(PFCPRuleMapping.Refusal) -> LinkID? {
        guard !unnamedLink else { throw PFCPRuleMapping.refusal(.networkInstance, "PDR \(pdr): the Network Instance of FAR \(id) \(LinkID.misfit)") }
        return link
    }
}
