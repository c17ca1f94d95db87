/// The grouped PFCP IEs that carry forwarding rules and reports (TS 29.244
/// section 7.5). A create and an update IE of the same rule share one type
/// here: an update may leave out what a create must carry, which the decoder
/// checks according to the IE it reads. IEs a group does not know are kept in
/// `unknown` and written back unchanged.

/// A Packet Detection Rule: which packets (PDI), at which precedence, handled
/// by which FAR. Create PDR (type 1) and Update PDR (type 9).
public struct PFCPPDR: Hashable, Sendable {
    public var id: UInt16
    public var precedence: UInt32?
    public var pdi: PFCPPDI?
    public var outerHeaderRemoval: PFCPOuterHeaderRemoval?
    public var farID: UInt32?
    public var unknown: [PFCPRawIE] = []

    public init(id: UInt16, precedence: UInt32?, pdi: PFCPPDI?, outerHeaderRemoval: PFCPOuterHeaderRemoval? = nil,
                farID: UInt32?) {
        self.id = id
        self.precedence = precedence
        self.pdi = pdi
        self.outerHeaderRemoval = outerHeaderRemoval
        self.farID = farID
    }

    static func decode(_ bytes: [UInt8], _ e: PFCPElement, create: Bool) throws(WireError) -> Self {
        var id: UInt16?
        var rule = Self(id: 0, precedence: nil, pdi: nil, farID: nil)
        var it = e.children
        while let c = try it.next(in: bytes) {
            switch c.type {
            case .pdrID: id = try c.integer(bytes, "PDR ID")
            case .precedence: rule.precedence = try c.integer(bytes, "precedence")
            case .pdi: rule.pdi = try PFCPPDI.decode(bytes, c)
            case .outerHeaderRemoval: rule.outerHeaderRemoval = try c.decode(bytes, PFCPOuterHeaderRemoval.decode)
            case .farID: rule.farID = try c.integer(bytes, "FAR ID")
            default: rule.unknown.append(c.raw(in: bytes))
            }
        }
        let what = create ? "Create PDR" : "Update PDR"
        guard let id else { throw missing(.pdrID, in: what, at: e.start) }
        rule.id = id
        if create {
            if rule.precedence == nil { throw missing(.precedence, in: what, at: e.start) }
            if rule.pdi == nil { throw missing(.pdi, in: what, at: e.start) }
        }
        return rule
    }

    func encode(into w: inout ByteWriter) {
        w.ie(.pdrID) { $0.u16(id) }
        if let precedence { w.ie(.precedence) { $0.u32(precedence) } }
        if let pdi { w.ie(.pdi) { pdi.encode(into: &$0) } }
        if let outerHeaderRemoval { w.ie(.outerHeaderRemoval) { outerHeaderRemoval.encode(into: &$0) } }
        if let farID { w.ie(.farID) { $0.u32(farID) } }
        w.ies(unknown)
    }
}

/// Packet Detection Information (type 2): where packets come from and what
/// they match.
public struct PFCPPDI: Hashable, Sendable {
    public var sourceInterface: PFCPInterface
    /// Network Instance: on an access router, the name of the access link.
    public var networkInstance: String?
    /// One per prefix (several for a mobile network, RFC 3963).
    public var ueIPAddresses: [PFCPUEIPAddress]
    public var sdfFilters: [PFCPSDFFilter]
    public var unknown: [PFCPRawIE] = []

    public init(sourceInterface: PFCPInterface, networkInstance: String? = nil, ueIPAddresses: [PFCPUEIPAddress],
                sdfFilters: [PFCPSDFFilter] = []) {
        self.sourceInterface = sourceInterface
        self.networkInstance = networkInstance
        self.ueIPAddresses = ueIPAddresses
        self.sdfFilters = sdfFilters
    }

    static func decode(_ bytes: [UInt8], _ e: PFCPElement) throws(WireError) -> Self {
        var source: PFCPInterface?
        var pdi = Self(sourceInterface: .access, ueIPAddresses: [])
        var it = e.children
        while let c = try it.next(in: bytes) {
            switch c.type {
            case .sourceInterface: source = PFCPInterface(rawValue: try c.integer(bytes, "source interface"))
            case .networkInstance: pdi.networkInstance = try c.decode(bytes, networkInstanceText)
            case .ueIPAddress: pdi.ueIPAddresses.append(try c.decode(bytes, PFCPUEIPAddress.decode))
            case .sdfFilter: pdi.sdfFilters.append(try c.decode(bytes, PFCPSDFFilter.decode))
            default: pdi.unknown.append(c.raw(in: bytes))
            }
        }
        guard let source else { throw missing(.sourceInterface, in: "PDI", at: e.start) }
        pdi.sourceInterface = source
        return pdi
    }

    func encode(into w: inout ByteWriter) {
        w.ie(.sourceInterface) { $0.u8(sourceInterface.rawValue) }
        if let networkInstance { w.ie(.networkInstance) { $0.append(networkInstance.utf8) } }
        for address in ueIPAddresses { w.ie(.ueIPAddress) { address.encode(into: &$0) } }
        for filter in sdfFilters { w.ie(.sdfFilter) { filter.encode(into: &$0) } }
        w.ies(unknown)
    }
}

/// Network Instance (section 8.2.4) is an octet string, which peers may fill
/// with a name in DNS labels (TS 23.003 section 9.1, as an APN: "\u{4}acc0"
/// for "acc0"). This system writes plain text; it reads either, taking a
/// value that starts with a control character and splits exactly into
/// labels as labels.
func networkInstanceText(_ r: inout ByteReader) throws(WireError) -> String {
    let text = try r.text(r.remaining, "network instance")
    return dnsLabels(text) ?? text
}

/// `text` as dotted DNS labels, or nil if it is not a sequence of them.
func dnsLabels(_ text: String) -> String? {
    let bytes = Array(text.utf8)
    guard let first = bytes.first, first < 0x20 else { return nil }
    var labels: [String] = [], i = 0
    while i < bytes.count {
        let length = Int(bytes[i])
        guard length > 0, i + 1 + length <= bytes.count else { return nil }
        let label = bytes[(i + 1)..<(i + 1 + length)]
        guard label.allSatisfy({ $0 >= 0x20 && $0 != 0x7F }) else { return nil }
        labels.append(String(decoding: label, as: UTF8.self))
        i += 1 + length
    }
    return labels.joined(separator: ".")
}

/// A Forwarding Action Rule: what happens to the packets of the PDRs that
/// name it. Create FAR (type 3, with Forwarding Parameters) and Update FAR
/// (type 10, with Update Forwarding Parameters).
public struct PFCPFAR: Hashable, Sendable {
    public var id: UInt32
    public var applyAction: PFCPApplyAction?
    public var forwarding: PFCPForwardingParameters?
    /// The BAR that bounds buffering when the action is BUFF.
    public var barID: UInt8?
    public var unknown: [PFCPRawIE] = []

    public init(id: UInt32, applyAction: PFCPApplyAction?, forwarding: PFCPForwardingParameters? = nil, barID: UInt8? = nil) {
        self.id = id
        self.applyAction = applyAction
        self.forwarding = forwarding
        self.barID = barID
    }

    static func decode(_ bytes: [UInt8], _ e: PFCPElement, create: Bool) throws(WireError) -> Self {
        var id: UInt32?
        var rule = Self(id: 0, applyAction: nil)
        let parameters: PFCPIEType = create ? .forwardingParameters : .updateForwardingParameters
        var it = e.children
        while let c = try it.next(in: bytes) {
            switch c.type {
            case .farID: id = try c.integer(bytes, "FAR ID")
            case .applyAction: rule.applyAction = try c.decode(bytes, PFCPApplyAction.decode)
            case parameters: rule.forwarding = try PFCPForwardingParameters.decode(bytes, c, create: create)
            case .barID: rule.barID = try c.integer(bytes, "BAR ID")
            default: rule.unknown.append(c.raw(in: bytes))
            }
        }
        let what = create ? "Create FAR" : "Update FAR"
        guard let id else { throw missing(.farID, in: what, at: e.start) }
        rule.id = id
        if create && rule.applyAction == nil { throw missing(.applyAction, in: what, at: e.start) }
        return rule
    }

    func encode(into w: inout ByteWriter, create: Bool) {
        w.ie(.farID) { $0.u32(id) }
        if let applyAction { w.ie(.applyAction) { applyAction.encode(into: &$0) } }
        if let forwarding {
            w.ie(create ? .forwardingParameters : .updateForwardingParameters) { forwarding.encode(into: &$0) }
        }
        if let barID { w.ie(.barID) { $0.u8(barID) } }
        w.ies(unknown)
    }
}

/// Forwarding Parameters (type 4) and Update Forwarding Parameters (type 11).
public struct PFCPForwardingParameters: Hashable, Sendable {
    public var destinationInterface: PFCPInterface?
    /// Network Instance: on an access router, the access link to deliver on.
    public var networkInstance: String?
    public var outerHeaderCreation: PFCPOuterHeaderCreation?
    /// The neighbour to forward to, in this project's enterprise-specific
    /// Next Hop IE: TS 29.244 has no IE for a plain IPv6 next hop (a UPF
    /// routes by its own tables, or by a Forwarding Policy configured
    /// beforehand), and anchor switching moves a prefix by giving routers a
    /// host route through a chosen neighbour (RFC 8818 FM-path-tbl:4).
    public var nextHop: IPv6Address?
    public var unknown: [PFCPRawIE] = []

    public init(destinationInterface: PFCPInterface?, networkInstance: String? = nil,
                outerHeaderCreation: PFCPOuterHeaderCreation? = nil, nextHop: IPv6Address? = nil) {
        self.destinationInterface = destinationInterface
        self.networkInstance = networkInstance
        self.outerHeaderCreation = outerHeaderCreation
        self.nextHop = nextHop
    }

    static func decode(_ bytes: [UInt8], _ e: PFCPElement, create: Bool) throws(WireError) -> Self {
        var p = Self(destinationInterface: nil)
        var it = e.children
        while let c = try it.next(in: bytes) {
            switch c.type {
            case .destinationInterface:
                p.destinationInterface = PFCPInterface(rawValue: try c.integer(bytes, "destination interface"))
            case .networkInstance: p.networkInstance = try c.decode(bytes, networkInstanceText)
            case .outerHeaderCreation: p.outerHeaderCreation = try c.decode(bytes, PFCPOuterHeaderCreation.decode)
            case .nextHop where c.enterpriseID == dmmEnterpriseID:
                p.nextHop = try c.decode(bytes) { r throws(WireError) in try r.address("next hop") }
            default: p.unknown.append(c.raw(in: bytes))
            }
        }
        if create && p.destinationInterface == nil { throw missing(.destinationInterface, in: "Forwarding Parameters", at: e.start) }
        return p
    }

    func encode(into w: inout ByteWriter) {
        if let destinationInterface { w.ie(.destinationInterface) { $0.u8(destinationInterface.rawValue) } }
        if let networkInstance { w.ie(.networkInstance) { $0.append(networkInstance.utf8) } }
        if let outerHeaderCreation { w.ie(.outerHeaderCreation) { outerHeaderCreation.encode(into: &$0) } }
        if let nextHop { w.ie(.nextHop) { $0.address(nextHop) } }
        w.ies(unknown)
    }
}

/// A Buffering Action Rule: how much a buffering FAR may hold. Create BAR
/// (type 85) and Update BAR (type 86).
public struct PFCPBAR: Hashable, Sendable {
    public var id: UInt8
    /// Suggested Buffering Packets Count (section 8.2.107).
    public var packetCount: UInt8?
    public var unknown: [PFCPRawIE] = []

    public init(id: UInt8, packetCount: UInt8?) {
        self.id = id
        self.packetCount = packetCount
    }

    static func decode(_ bytes: [UInt8], _ e: PFCPElement) throws(WireError) -> Self {
        var id: UInt8?
        var bar = Self(id: 0, packetCount: nil)
        var it = e.children
        while let c = try it.next(in: bytes) {
            switch c.type {
            case .barID: id = try c.integer(bytes, "BAR ID")
            case .suggestedBufferingPacketsCount: bar.packetCount = try c.integer(bytes, "packet count")
            default: bar.unknown.append(c.raw(in: bytes))
            }
        }
        guard let id else { throw missing(.barID, in: e.type.name, at: e.start) }
        bar.id = id
        return bar
    }

    func encode(into w: inout ByteWriter) {
        w.ie(.barID) { $0.u8(id) }
        if let packetCount { w.ie(.suggestedBufferingPacketsCount) { $0.u8(packetCount) } }
        w.ies(unknown)
    }
}

/// Remove PDR (type 15), Remove FAR (type 16), Remove BAR (type 87) and
/// Created PDR (type 8): a group around one rule identifier.
public struct PFCPRuleReference: Hashable, Sendable {
    public var id: UInt32
    public var unknown: [PFCPRawIE] = []

    public init(id: UInt32) { self.id = id }

    /// The identifier IE each group holds and its width in octets.
    static func identifier(of group: PFCPIEType) -> (PFCPIEType, Int) {
        switch group {
        case .removeFAR: (.farID, 4)
        case .removeBAR: (.barID, 1)
        default: (.pdrID, 2)
        }
    }

    static func decode(_ bytes: [UInt8], _ e: PFCPElement) throws(WireError) -> Self {
        let (type, width) = identifier(of: e.type)
        var id: UInt32?
        var ref = Self(id: 0)
        var it = e.children
        while let c = try it.next(in: bytes) {
            if c.type == type {
                id = try c.decode(bytes) { r throws(WireError) in
                    switch width {
                    case 1: UInt32(try r.u8(type.name))
                    case 2: UInt32(try r.u16(type.name))
                    default: try r.u32(type.name)
                    }
                }
            } else {
                ref.unknown.append(c.raw(in: bytes))
            }
        }
        guard let id else { throw missing(type, in: e.type.name, at: e.start) }
        ref.id = id
        return ref
    }

    func encode(into w: inout ByteWriter, group: PFCPIEType) {
        let (type, width) = Self.identifier(of: group)
        w.ie(type) { w in
            switch width {
            case 1: w.u8(UInt8(truncatingIfNeeded: id))
            case 2: w.u16(UInt16(truncatingIfNeeded: id))
            default: w.u32(id)
            }
        }
        w.ies(unknown)
    }
}

/// Load Control Information (type 51, section 7.5.3.3): the sender's load,
/// 0 to 100, with a sequence number that orders the reports.
public struct PFCPLoadControl: Hashable, Sendable {
    public var sequence: UInt32
    public var metric: UInt8
    public var unknown: [PFCPRawIE] = []

    public init(sequence: UInt32, metric: UInt8) {
        self.sequence = sequence
        self.metric = metric
    }

    static func decode(_ bytes: [UInt8], _ e: PFCPElement) throws(WireError) -> Self {
        var sequence: UInt32?
        var metric: UInt8?
        var unknown: [PFCPRawIE] = []
        var it = e.children
        while let c = try it.next(in: bytes) {
            switch c.type {
            case .sequenceNumber: sequence = try c.integer(bytes, "sequence number")
            case .metric:
                metric = try c.decode(bytes) { r throws(WireError) in
                    let m = try r.u8("metric")
                    if m > 100 { throw WireError(.badValue, "load metric \(m) over 100", at: r.offset - 1) }
                    return m
                }
            default: unknown.append(c.raw(in: bytes))
            }
        }
        guard let sequence else { throw missing(.sequenceNumber, in: "Load Control Information", at: e.start) }
        guard let metric else { throw missing(.metric, in: "Load Control Information", at: e.start) }
        var lci = Self(sequence: sequence, metric: metric)
        lci.unknown = unknown
        return lci
    }

    func encode(into w: inout ByteWriter) {
        w.ie(.sequenceNumber) { $0.u32(sequence) }
        w.ie(.metric) { $0.u8(metric) }
        w.ies(unknown)
    }
}

/// Downlink Data Report (type 83): the PDRs whose buffering FARs received
/// downlink packets.
public struct PFCPDownlinkDataReport: Hashable, Sendable {
    public var pdrIDs: [UInt16]
    public var unknown: [PFCPRawIE] = []

    public init(pdrIDs: [UInt16]) { self.pdrIDs = pdrIDs }

    static func decode(_ bytes: [UInt8], _ e: PFCPElement) throws(WireError) -> Self {
        var report = Self(pdrIDs: [])
        var it = e.children
        while let c = try it.next(in: bytes) {
            if c.type == .pdrID {
                report.pdrIDs.append(try c.integer(bytes, "PDR ID"))
            } else {
                report.unknown.append(c.raw(in: bytes))
            }
        }
        if report.pdrIDs.isEmpty { throw missing(.pdrID, in: "Downlink Data Report", at: e.start) }
        return report
    }

    func encode(into w: inout ByteWriter) {
        for id in pdrIDs { w.ie(.pdrID) { $0.u16(id) } }
        w.ies(unknown)
    }
}

/// UE IP address Pool Information (type 233): a pool the sender serves. The
/// standard names a pool only by its identity; the prefixes it holds go in
/// this project's enterprise-specific Pool Prefix IE (type 0x8001: prefix
/// length, then the 16 octets of the address), so that a controller learns
/// which prefixes an agent anchors when it registers (RFC 8818 FM-find:2).
public struct PFCPPoolInformation: Hashable, Sendable {
    public var identity: String
    public var prefixes: [IPv6Prefix]
    public var unknown: [PFCPRawIE] = []

    public init(identity: String, prefixes: [IPv6Prefix]) {
        self.identity = identity
        self.prefixes = prefixes
    }

    static func decode(_ bytes: [UInt8], _ e: PFCPElement) throws(WireError) -> Self {
        var identity: String?
        var pool = Self(identity: "", prefixes: [])
        var it = e.children
        while let c = try it.next(in: bytes) {
            switch c.type {
            case .ueIPAddressPoolIdentity:
                identity = try c.decode(bytes) { r throws(WireError) in
                    let length = Int(try r.u16("pool identity length"))
                    return try r.text(length, "pool identity")
                }
            case .poolPrefix where c.enterpriseID == dmmEnterpriseID:
                pool.prefixes.append(try c.decode(bytes) { r throws(WireError) in
                    let at = r.offset
                    let length = try r.u8("pool prefix length")
                    if length > 128 { throw WireError(.badValue, "pool prefix length \(length)", at: at) }
                    return IPv6Prefix(covering: try r.address("pool prefix"), length: length)
                })
            default: pool.unknown.append(c.raw(in: bytes))
            }
        }
        guard let identity else { throw missing(.ueIPAddressPoolIdentity, in: "UE IP address Pool Information", at: e.start) }
        pool.identity = identity
        return pool
    }

    func encode(into w: inout ByteWriter) {
        w.ie(.ueIPAddressPoolIdentity) { w in
            let bytes = Array(identity.utf8.prefix(0xFFFF))
            w.u16(UInt16(bytes.count))
            w.append(bytes)
        }
        for prefix in prefixes {
            w.ie(.poolPrefix) { w in
                w.u8(prefix.length)
                w.address(prefix.address)
            }
        }
        w.ies(unknown)
    }
}
