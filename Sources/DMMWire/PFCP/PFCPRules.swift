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
    /// The PDI, when `hasDetection`; blank otherwise, held in place as a
    /// FAR holds its parameters (`PFCPFAR.parameters`).
    package var detection: PFCPPDI = .blank
    package var hasDetection = false
    public var outerHeaderRemoval: PFCPOuterHeaderRemoval?
    public var farID: UInt32?
    @NilWhileEmpty public var unknown: [PFCPRawIE] = []

    public init(id: UInt16, precedence: UInt32?, pdi: PFCPPDI?, outerHeaderRemoval: PFCPOuterHeaderRemoval? = nil,
                farID: UInt32?) {
        self.id = id
        self.precedence = precedence
        self.outerHeaderRemoval = outerHeaderRemoval
        self.farID = farID
        self.pdi = pdi
    }

    public var pdi: PFCPPDI? {
        get { hasDetection ? detection : nil }
        set { (detection, hasDetection) = (newValue ?? .blank, newValue != nil) }
    }

    /// Sets the PDI to these IEs alone, where it lies: through `pdi` a PDI
    /// is wrapped, unwrapped and copied (0.6 % of the controller bench),
    /// and one made and assigned is built and the old one taken apart.
    @inline(__always)
    package mutating func setDetection(source: PFCPInterface, networkInstance: PFCPNetworkInstance?, ueIPAddress: PFCPUEIPAddress) {
        detection.set(source: source, networkInstance: networkInstance, ueIPAddress: ueIPAddress)
        hasDetection = true
    }

    /// A rule to fill in place (`read`, and the controller's rule mapping).
    /// Made anew each time, field by field: a blank kept and copied went
    /// through the type's copy function, and with the PDI's and the FAR's
    /// blanks cost 300 to 540 instructions a change (`dmm bench
    /// controller`, stop 33). So for every blank below.
    package static var blank: Self { Self() }
    private init() { id = 0 }

    /// Fills this blank rule from the group `e`, in place: a group decoded
    /// into a value and then stored would be copied whole.
    mutating func read(_ bytes: [UInt8], _ e: PFCPElement, create: Bool) throws(WireError) {
        var hasID = false
        var it = e.children
        while let c = try it.next(in: bytes) {
            switch c.type {
            case .pdrID:
                id = try c.integer(bytes, "PDR ID")
                hasID = true
            case .precedence: precedence = try c.integer(bytes, "precedence")
            case .pdi:
                if hasDetection { detection = .blank }
                hasDetection = true
                try detection.read(bytes, c)
            case .outerHeaderRemoval: outerHeaderRemoval = try c.decode(bytes, PFCPOuterHeaderRemoval.decode)
            case .farID: farID = try c.integer(bytes, "FAR ID")
            default: unknown.append(c.raw(in: bytes))
            }
        }
        let what = create ? "Create PDR" : "Update PDR"
        if !hasID { throw missing(.pdrID, in: what, at: e.start) }
        if create {
            if precedence == nil { throw missing(.precedence, in: what, at: e.start) }
            if !hasDetection { throw missing(.pdi, in: what, at: e.start) }
        }
    }

    func encode(into w: inout ByteWriter) {
        w.ie(.pdrID, id)
        if let precedence { w.ie(.precedence, precedence) }
        if hasDetection { w.ie(.pdi) { detection.encode(into: &$0) } }
        if let outerHeaderRemoval { w.ie(.outerHeaderRemoval) { outerHeaderRemoval.encode(into: &$0) } }
        if let farID { w.ie(.farID, farID) }
        if let unknown = _unknown.stored { w.ies(unknown) }
    }
}

/// Packet Detection Information (type 2): where packets come from and what
/// they match.
public struct PFCPPDI: Hashable, Sendable {
    public var sourceInterface: PFCPInterface
    /// Network Instance: on an access router, the name of the access link.
    public var networkInstance: PFCPNetworkInstance?
    /// The first UE IP Address in place, the others after it: a PDI holds
    /// one (a prefix) but for a mobile network's (RFC 3963), and a list of
    /// one was an allocation in every PDR made and read, and freed after
    /// (BENCHMARKS.md, `dmm bench controller`, stop 30).
    package private(set) var firstUEIPAddress: PFCPUEIPAddress?
    /// What the PDIs of this system never hold (more UE IP Addresses, SDF
    /// filters, IEs it does not know), together, nil while all are empty:
    /// a PDI held three empty lists, three references to count at each of
    /// its copies.
    @NilWhileEmpty private var rare = Rare()

    struct Rare: Hashable, Sendable, MostlyEmpty {
        var moreUEIPAddresses: [PFCPUEIPAddress] = []
        var sdfFilters: [PFCPSDFFilter] = []
        var unknown: [PFCPRawIE] = []

        var isEmpty: Bool { moreUEIPAddresses.isEmpty && sdfFilters.isEmpty && unknown.isEmpty }
    }

    public var sdfFilters: [PFCPSDFFilter] {
        get { _rare.stored?.sdfFilters ?? [] }
        _modify { yield &rare.sdfFilters }
    }

    public var unknown: [PFCPRawIE] {
        get { _rare.stored?.unknown ?? [] }
        _modify { yield &rare.unknown }
    }

    public init(sourceInterface: PFCPInterface, networkInstance: PFCPNetworkInstance? = nil, ueIPAddresses: [PFCPUEIPAddress],
                sdfFilters: [PFCPSDFFilter] = []) {
        self.sourceInterface = sourceInterface
        self.networkInstance = networkInstance
        self.sdfFilters = sdfFilters
        for address in ueIPAddresses { add(address) }
    }

    /// Makes this a PDI with these IEs alone (the rule mapping's), in place.
    @inline(__always)
    package mutating func set(source: PFCPInterface, networkInstance: PFCPNetworkInstance?, ueIPAddress: PFCPUEIPAddress) {
        sourceInterface = source
        self.networkInstance = networkInstance
        firstUEIPAddress = ueIPAddress
        // Set only if there: setting releases what was there, a call even for nothing.
        if _rare.stored != nil { rare = Rare() }
    }

    /// One per prefix (several for a mobile network, RFC 3963).
    public var ueIPAddresses: [PFCPUEIPAddress] {
        get { firstUEIPAddress.map { [$0] + rare.moreUEIPAddresses } ?? [] }
        set {
            firstUEIPAddress = nil
            if _rare.stored != nil { rare.moreUEIPAddresses = [] }
            for address in newValue { add(address) }
        }
    }

    package var ueIPAddressCount: Int { firstUEIPAddress == nil ? 0 : 1 + (_rare.stored?.moreUEIPAddresses.count ?? 0) }

    /// Adds a UE IP Address after those there.
    package mutating func add(_ address: PFCPUEIPAddress) {
        if firstUEIPAddress == nil { firstUEIPAddress = address } else { rare.moreUEIPAddresses.append(address) }
    }

    package static var blank: Self { Self() }
    private init() { sourceInterface = .access }

    /// Fills this blank PDI from the group `e`, in place.
    mutating func read(_ bytes: [UInt8], _ e: PFCPElement) throws(WireError) {
        var hasSource = false
        var it = e.children
        while let c = try it.next(in: bytes) {
            switch c.type {
            case .sourceInterface:
                sourceInterface = PFCPInterface(rawValue: try c.integer(bytes, "source interface"))
                hasSource = true
            case .networkInstance: networkInstance = PFCPNetworkInstance(bytes, c)
            case .ueIPAddress: add(try c.decode(bytes, PFCPUEIPAddress.decode))
            case .sdfFilter: sdfFilters.append(try c.decode(bytes, PFCPSDFFilter.decode))
            default: unknown.append(c.raw(in: bytes))
            }
        }
        if !hasSource { throw missing(.sourceInterface, in: "PDI", at: e.start) }
    }

    func encode(into w: inout ByteWriter) {
        w.ie(.sourceInterface, sourceInterface.rawValue)
        if let networkInstance { w.ie(.networkInstance) { networkInstance.encode(into: &$0) } }
        if let firstUEIPAddress { w.ie(.ueIPAddress) { firstUEIPAddress.encode(into: &$0) } }
        guard let rare = _rare.stored else { return }
        for address in rare.moreUEIPAddresses { w.ie(.ueIPAddress) { address.encode(into: &$0) } }
        for filter in rare.sdfFilters { w.ie(.sdfFilter) { filter.encode(into: &$0) } }
        w.ies(rare.unknown)
    }
}

/// A Forwarding Action Rule: what happens to the packets of the PDRs that
/// name it. Create FAR (type 3, with Forwarding Parameters) and Update FAR
/// (type 10, with Update Forwarding Parameters).
public struct PFCPFAR: Hashable, Sendable {
    public var id: UInt32
    public var applyAction: PFCPApplyAction?
    /// The Forwarding Parameters, when `hasParameters`; blank otherwise,
    /// so that an absent group reads as parameters with no IE. Held in
    /// place rather than as an optional: an optional group that holds
    /// references is set and dropped through the run time's generic path
    /// (about 180 instructions even when absent), and a FAR is filled in,
    /// read and changed several times a change.
    package var parameters: PFCPForwardingParameters = .blank
    package var hasParameters = false
    /// The BAR that bounds buffering when the action is BUFF.
    public var barID: UInt8?
    @NilWhileEmpty public var unknown: [PFCPRawIE] = []

    public init(id: UInt32, applyAction: PFCPApplyAction?, forwarding: PFCPForwardingParameters? = nil, barID: UInt8? = nil) {
        self.id = id
        self.applyAction = applyAction
        self.barID = barID
        self.forwarding = forwarding
    }

    public var forwarding: PFCPForwardingParameters? {
        get { hasParameters ? parameters : nil }
        set { (parameters, hasParameters) = (newValue ?? .blank, newValue != nil) }
    }

    package static var blank: Self { Self() }
    private init() { id = 0 }

    /// Fills this blank rule from the group `e`, in place.
    mutating func read(_ bytes: [UInt8], _ e: PFCPElement, create: Bool) throws(WireError) {
        var hasID = false
        let parametersType: PFCPIEType = create ? .forwardingParameters : .updateForwardingParameters
        var it = e.children
        while let c = try it.next(in: bytes) {
            switch c.type {
            case .farID:
                id = try c.integer(bytes, "FAR ID")
                hasID = true
            case .applyAction: applyAction = try c.decode(bytes, PFCPApplyAction.decode)
            case parametersType:
                if hasParameters { parameters = .blank }
                hasParameters = true
                try parameters.read(bytes, c, create: create)
            case .barID: barID = try c.integer(bytes, "BAR ID")
            default: unknown.append(c.raw(in: bytes))
            }
        }
        let what = create ? "Create FAR" : "Update FAR"
        if !hasID { throw missing(.farID, in: what, at: e.start) }
        if create && applyAction == nil { throw missing(.applyAction, in: what, at: e.start) }
    }

    func encode(into w: inout ByteWriter, create: Bool) {
        w.ie(.farID, id)
        if let applyAction { w.ie(.applyAction) { applyAction.encode(into: &$0) } }
        if hasParameters {
            w.ie(create ? .forwardingParameters : .updateForwardingParameters) { parameters.encode(into: &$0) }
        }
        if let barID { w.ie(.barID, barID) }
        if let unknown = _unknown.stored { w.ies(unknown) }
    }
}

/// Forwarding Parameters (type 4) and Update Forwarding Parameters (type 11).
public struct PFCPForwardingParameters: Hashable, Sendable {
    public var destinationInterface: PFCPInterface?
    /// Network Instance: on an access router, the access link to deliver on.
    public var networkInstance: PFCPNetworkInstance?
    public var outerHeaderCreation: PFCPOuterHeaderCreation?
    /// The neighbour to forward to, in this project's enterprise-specific
    /// Next Hop IE: TS 29.244 has no IE for a plain IPv6 next hop (a UPF
    /// routes by its own tables, or by a Forwarding Policy configured
    /// beforehand), and anchor switching moves a prefix by giving routers a
    /// host route through a chosen neighbour (RFC 8818 FM-path-tbl:4).
    public var nextHop: IPv6Address?
    @NilWhileEmpty public var unknown: [PFCPRawIE] = []

    public init(destinationInterface: PFCPInterface?, networkInstance: PFCPNetworkInstance? = nil,
                outerHeaderCreation: PFCPOuterHeaderCreation? = nil, nextHop: IPv6Address? = nil) {
        self.destinationInterface = destinationInterface
        self.networkInstance = networkInstance
        self.outerHeaderCreation = outerHeaderCreation
        self.nextHop = nextHop
    }

    package static var blank: Self { Self() }
    private init() {}

    /// Fills these blank parameters from the group `e`, in place.
    mutating func read(_ bytes: [UInt8], _ e: PFCPElement, create: Bool) throws(WireError) {
        var it = e.children
        while let c = try it.next(in: bytes) {
            switch c.type {
            case .destinationInterface:
                destinationInterface = PFCPInterface(rawValue: try c.integer(bytes, "destination interface"))
            case .networkInstance: networkInstance = PFCPNetworkInstance(bytes, c)
            case .outerHeaderCreation: outerHeaderCreation = try c.decode(bytes, PFCPOuterHeaderCreation.decode)
            case .nextHop where c.enterpriseID == dmmEnterpriseID:
                nextHop = try c.decode(bytes) { r throws(WireError) in try r.address("next hop") }
            default: unknown.append(c.raw(in: bytes))
            }
        }
        if create && destinationInterface == nil { throw missing(.destinationInterface, in: "Forwarding Parameters", at: e.start) }
    }

    func encode(into w: inout ByteWriter) {
        if let destinationInterface { w.ie(.destinationInterface, destinationInterface.rawValue) }
        if let networkInstance { w.ie(.networkInstance) { networkInstance.encode(into: &$0) } }
        if let outerHeaderCreation { w.ie(.outerHeaderCreation) { outerHeaderCreation.encode(into: &$0) } }
        if let nextHop { w.ie(.nextHop) { $0.address(nextHop) } }
        if let unknown = _unknown.stored { w.ies(unknown) }
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
        w.ie(.barID, id)
        if let packetCount { w.ie(.suggestedBufferingPacketsCount, packetCount) }
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
        w.ie(.sequenceNumber, sequence)
        w.ie(.metric, metric)
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
        for id in pdrIDs { w.ie(.pdrID, id) }
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
