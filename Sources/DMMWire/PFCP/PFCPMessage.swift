/// The PFCP message header (TS 29.244 section 7.2.2), sent over UDP port 8805:
///
///    octet 1      Version (3 bits, 1) | spare | FO | MP | S
///    octet 2      Message Type
///    octets 3-4   Message Length: the octets after octet 4
///    octets 5-12  SEID, when S is set (session messages)
///    then 3       Sequence Number
///    then 1       Message Priority in the high 4 bits when MP is set
public struct PFCPHeader: Hashable, Sendable {
    public static let udpPort: UInt16 = 8805
    public static let version: UInt8 = 1

    public var version: UInt8
    public var type: PFCPMessageType
    public var seid: UInt64?
    /// 24 bits.
    public var sequence: UInt32
    public var priority: UInt8?

    /// Reads the header's fields alone, of any version and whatever its
    /// Message Length says, so that a receiver can answer a message whose
    /// body or length it refuses (or a version it does not speak); with
    /// them, the octets of the whole message that Message Length gives.
    public static func read(_ bytes: [UInt8]) throws(WireError) -> (PFCPHeader, length: Int) {
        var r = ByteReader(bytes)
        let flags = try r.u8("PFCP flags")
        let type = PFCPMessageType(rawValue: try r.u8("message type"))
        let length = Int(try r.u16("message length")) + 4
        let seid = flags & 0x01 != 0 ? try r.u64("SEID") : nil
        let sequence = try r.u32("sequence number and priority")
        let header = PFCPHeader(version: flags >> 5, type: type, seid: seid, sequence: sequence >> 8,
                                priority: flags & 0x02 != 0 ? UInt8(truncatingIfNeeded: sequence) >> 4 : nil)
        return (header, length)
    }

    /// The header, with its Message Length checked against `bytes`.
    public static func decode(_ bytes: [UInt8]) throws(WireError) -> (PFCPHeader, length: Int) {
        let (header, length) = try read(bytes)
        if length > bytes.count {
            throw WireError(.truncated, "message length says \(length) bytes, only \(bytes.count) present", at: 2)
        }
        if length < header.encodedLength {
            throw WireError(.badLength, "message length \(length - 4) is shorter than the header", at: 2)
        }
        return (header, length)
    }

    /// Octets of the header before the first IE.
    var encodedLength: Int { seid == nil ? 8 : 16 }

    /// The Message Type of an encoded message (its second octet); nil for
    /// fewer octets.
    public static func type(of datagram: [UInt8]) -> PFCPMessageType? {
        datagram.count < 2 ? nil : PFCPMessageType(rawValue: datagram[1])
    }
}

/// A PFCP message: its header and the IEs this system reads, each in its own
/// field; IEs it does not read, or that the message type does not carry, are
/// kept in `unknown` in order and written back unchanged.
public struct PFCPMessage: Hashable, Sendable {
    public var header: PFCPHeader

    /// The one IE most messages carry, or carry alone (an answer to a
    /// session request that was carried out).
    public var cause: PFCPCause?

    /// The other IEs, behind one shared box copied on write: the engines
    /// keep, queue and answer messages, and a copy then retains one box, not
    /// every list and group; and a message moved or copied is small.
    struct Contents: Hashable, Sendable {
        var nodeID: PFCPNodeID?
        var offendingIE: PFCPIEType?
        /// Seconds since 1900 (NTP era 0) when the sender last started.
        var recoveryTimeStamp: UInt32?
        var fSEID: PFCPFSEID?
        var nodeReportType: PFCPNodeReportType?
        var reportType: PFCPReportType?
        var removePDR: [PFCPRuleReference] = []
        var removeFAR: [PFCPRuleReference] = []
        var removeBAR: PFCPRuleReference?
        var createPDR: [PFCPPDR] = []
        var createFAR: [PFCPFAR] = []
        var createBAR: PFCPBAR?
        var updatePDR: [PFCPPDR] = []
        var updateFAR: [PFCPFAR] = []
        var updateBAR: PFCPBAR?
        var createdPDR: [PFCPRuleReference] = []
        var downlinkDataReport: PFCPDownlinkDataReport?
        var loadControl: PFCPLoadControl?
        var poolInformation: [PFCPPoolInformation] = []
        var resynchronization: UInt32?
        var unknown: [PFCPRawIE] = []

        /// Takes every IE away, in place, the lists keeping their storage
        /// (`PFCPMessage.read` and `reset`). Every field is named here: one left out
        /// would carry an IE over into the next message read.
        mutating func empty() {
            // An IE that holds references is set to nil only if present:
            // setting it releases what it held, at the cost of a call even
            // when nothing is there, and most are absent.
            if nodeID != nil { nodeID = nil }
            offendingIE = nil
            recoveryTimeStamp = nil
            fSEID = nil
            nodeReportType = nil
            reportType = nil
            removePDR.clear()
            removeFAR.clear()
            if removeBAR != nil { removeBAR = nil }
            createPDR.clear()
            createFAR.clear()
            if createBAR != nil { createBAR = nil }
            updatePDR.clear()
            updateFAR.clear()
            if updateBAR != nil { updateBAR = nil }
            createdPDR.clear()
            if downlinkDataReport != nil { downlinkDataReport = nil }
            if loadControl != nil { loadControl = nil }
            poolInformation.clear()
            resynchronization = nil
            unknown.clear()
        }
    }

    final class Box: @unchecked Sendable {
        // Mutated only while uniquely referenced (`contents`), so never while shared.
        var contents: Contents
        /// Whether this is `empty`, told by a field of its own: compared with
        /// `empty`, a static, each look went through its initialization
        /// check, a call (about 70 instructions a change through a
        /// controller and an agent).
        let isSharedEmpty: Bool
        init(_ contents: Contents, sharedEmpty: Bool = false) {
            self.contents = contents
            isSharedEmpty = sharedEmpty
        }
        /// What a new message shares until it is given an IE besides Cause.
        static let empty = Box(Contents(), sharedEmpty: true)

        /// A copy to change. Out of line: inlined into `contents`' `_modify`,
        /// it made the coroutine's frame too big for its inline buffer, and
        /// every access allocated one.
        @inline(never)
        func unshared() -> Box {
            // A first IE in the box starts from empty contents: copying the
            // shared empty ones retains each of their lists.
            isSharedEmpty ? Box(Contents()) : Box(contents)
        }
    }

    private var box = Box.empty

    private var contents: Contents {
        get { box.contents }
        _modify {
            if !isKnownUniquelyReferenced(&box) { box = box.unshared() }
            yield &box.contents
        }
    }

    /// Sets an optional IE in the box. Setting one that is absent to
    /// nothing leaves the shared empty box alone: an answer whose load, say,
    /// is not known would otherwise get a box of its own for no IE.
    @inline(__always)
    private mutating func set<T>(_ field: WritableKeyPath<Contents, T?>, _ value: T?) {
        if value == nil && box.isSharedEmpty { return }
        contents[keyPath: field] = value
    }

    public var nodeID: PFCPNodeID? {
        get { box.contents.nodeID }
        set { set(\.nodeID, newValue) }
        _modify { yield &contents.nodeID }
    }
    public var offendingIE: PFCPIEType? {
        get { box.contents.offendingIE }
        set { set(\.offendingIE, newValue) }
        _modify { yield &contents.offendingIE }
    }
    /// Seconds since 1900 (NTP era 0) when the sender last started.
    public var recoveryTimeStamp: UInt32? {
        get { box.contents.recoveryTimeStamp }
        set { set(\.recoveryTimeStamp, newValue) }
        _modify { yield &contents.recoveryTimeStamp }
    }
    public var fSEID: PFCPFSEID? {
        get { box.contents.fSEID }
        set { set(\.fSEID, newValue) }
        _modify { yield &contents.fSEID }
    }
    public var nodeReportType: PFCPNodeReportType? {
        get { box.contents.nodeReportType }
        set { set(\.nodeReportType, newValue) }
        _modify { yield &contents.nodeReportType }
    }
    public var reportType: PFCPReportType? {
        get { box.contents.reportType }
        set { set(\.reportType, newValue) }
        _modify { yield &contents.reportType }
    }
    public var removePDR: [PFCPRuleReference] {
        _read { yield box.contents.removePDR }
        _modify { yield &contents.removePDR }
    }
    public var removeFAR: [PFCPRuleReference] {
        _read { yield box.contents.removeFAR }
        _modify { yield &contents.removeFAR }
    }
    public var removeBAR: PFCPRuleReference? {
        get { box.contents.removeBAR }
        set { set(\.removeBAR, newValue) }
        _modify { yield &contents.removeBAR }
    }
    public var createPDR: [PFCPPDR] {
        _read { yield box.contents.createPDR }
        _modify { yield &contents.createPDR }
    }
    public var createFAR: [PFCPFAR] {
        _read { yield box.contents.createFAR }
        _modify { yield &contents.createFAR }
    }
    public var createBAR: PFCPBAR? {
        get { box.contents.createBAR }
        set { set(\.createBAR, newValue) }
        _modify { yield &contents.createBAR }
    }
    public var updatePDR: [PFCPPDR] {
        _read { yield box.contents.updatePDR }
        _modify { yield &contents.updatePDR }
    }
    public var updateFAR: [PFCPFAR] {
        _read { yield box.contents.updateFAR }
        _modify { yield &contents.updateFAR }
    }
    public var updateBAR: PFCPBAR? {
        get { box.contents.updateBAR }
        set { set(\.updateBAR, newValue) }
        _modify { yield &contents.updateBAR }
    }
    public var createdPDR: [PFCPRuleReference] {
        _read { yield box.contents.createdPDR }
        _modify { yield &contents.createdPDR }
    }
    public var downlinkDataReport: PFCPDownlinkDataReport? {
        get { box.contents.downlinkDataReport }
        set { set(\.downlinkDataReport, newValue) }
        _modify { yield &contents.downlinkDataReport }
    }
    public var loadControl: PFCPLoadControl? {
        get { box.contents.loadControl }
        set { set(\.loadControl, newValue) }
        _modify { yield &contents.loadControl }
    }
    public var poolInformation: [PFCPPoolInformation] {
        _read { yield box.contents.poolInformation }
        _modify { yield &contents.poolInformation }
    }
    /// This project's IE (`PFCPIEType.resynchronization`): the Sequence
    /// Number of the Association Setup Request. In the controller's
    /// Association Setup Response it says that the controller will tell
    /// when it has pushed every session again after this association; in
    /// its Association Update Request, that it has; in its session
    /// requests until then, that they belong to this association, so that
    /// the agent can refuse one sent before it. Standard PFCP has no
    /// such notice: a UP function that keeps its sessions across a CP
    /// function's restart is this system's choice (docs/architecture.md).
    public var resynchronization: UInt32? {
        get { box.contents.resynchronization }
        set { set(\.resynchronization, newValue) }
        _modify { yield &contents.resynchronization }
    }
    public var unknown: [PFCPRawIE] {
        _read { yield box.contents.unknown }
        _modify { yield &contents.unknown }
    }

    public static func == (a: Self, b: Self) -> Bool {
        a.header == b.header && a.cause == b.cause && (a.box === b.box || a.box.contents == b.box.contents)
    }

    public func hash(into h: inout Hasher) {
        h.combine(header)
        h.combine(cause)
        h.combine(box.contents)
    }

    /// A message with no IEs yet; `seid` is required of session messages.
    public init(_ type: PFCPMessageType, sequence: UInt32, seid: UInt64? = nil) {
        header = Self.header(type, sequence: sequence, seid: seid)
    }

    /// Makes this a message with no IEs, as `init` does, in place: a box it
    /// holds alone is emptied and kept, with its lists' storage, so that a
    /// sender writing every message in one allocates for neither.
    public mutating func reset(_ type: PFCPMessageType, sequence: UInt32, seid: UInt64? = nil) {
        header = Self.header(type, sequence: sequence, seid: seid)
        cause = nil
        _ = emptyOwnBox()
    }

    /// Empties the box in place, keeping its lists' storage, if this
    /// message holds it alone, and says so; otherwise leaves the box to its
    /// other holders and takes the shared empty one. Inlined: as a call it
    /// took 1.3 % more instructions over the controller bench.
    @inline(__always)
    private mutating func emptyOwnBox() -> Bool {
        guard !box.isSharedEmpty, isKnownUniquelyReferenced(&box) else {
            box = Box.empty
            return false
        }
        box.contents.empty()
        return true
    }

    private static func header(_ type: PFCPMessageType, sequence: UInt32, seid: UInt64?) -> PFCPHeader {
        PFCPHeader(version: PFCPHeader.version, type: type, seid: type.isSessionMessage ? seid ?? 0 : nil,
                   sequence: sequence & 0xFF_FFFF, priority: nil)
    }

    public var type: PFCPMessageType { header.type }
    public var sequence: UInt32 { header.sequence }
    public var seid: UInt64? { header.seid }

    // MARK: Which IEs each message carries (sections 7.4 and 7.5)

    /// The IEs this system reads in each message type; the first ones, up to
    /// the count in `mandatory`, must be present.
    static func elements(of type: PFCPMessageType) -> (mandatory: Int, all: [PFCPIEType]) {
        elementsByType[Int(type.rawValue)]
    }

    /// `elements(of:)` made once for every message type value, so that
    /// decoding allocates no list.
    private static let elementsByType = (0...255).map { listed(PFCPMessageType(rawValue: UInt8($0))) }

    private static func listed(_ type: PFCPMessageType) -> (mandatory: Int, all: [PFCPIEType]) {
        switch type {
        case .heartbeatRequest, .heartbeatResponse: (1, [.recoveryTimeStamp])
        case .associationSetupRequest: (2, [.nodeID, .recoveryTimeStamp, .ueIPAddressPoolInformation])
        case .associationSetupResponse: (3, [.nodeID, .cause, .recoveryTimeStamp, .ueIPAddressPoolInformation, .resynchronization])
        case .associationUpdateRequest: (1, [.nodeID, .ueIPAddressPoolInformation, .resynchronization])
        case .associationUpdateResponse, .associationReleaseResponse: (2, [.nodeID, .cause, .offendingIE])
        case .associationReleaseRequest: (1, [.nodeID])
        // Load Control Information in a Node Report is this system's way of
        // reporting load without a session (RFC 8818 FM-cpdp:2); the standard
        // carries it only in session messages.
        case .nodeReportRequest: (2, [.nodeID, .nodeReportType, .loadControlInformation])
        case .nodeReportResponse: (2, [.nodeID, .cause, .offendingIE])
        // The Resynchronization IE in session requests: see `resynchronization`.
        case .sessionEstablishmentRequest: (4, [.nodeID, .fSEID, .createPDR, .createFAR, .createBAR, .resynchronization])
        case .sessionEstablishmentResponse:
            (2, [.nodeID, .cause, .offendingIE, .fSEID, .createdPDR, .loadControlInformation])
        case .sessionModificationRequest:
            (0, [.fSEID, .removePDR, .removeFAR, .removeBAR, .createPDR, .createFAR, .createBAR, .updatePDR, .updateFAR, .updateBAR,
                 .resynchronization])
        case .sessionDeletionRequest: (0, [.resynchronization])
        case .sessionModificationResponse, .sessionDeletionResponse:
            (1, [.cause, .offendingIE, .createdPDR, .loadControlInformation])
        case .sessionReportRequest: (1, [.reportType, .downlinkDataReport, .loadControlInformation])
        case .sessionReportResponse: (1, [.cause, .offendingIE])
        default: (0, [])
        }
    }

    // MARK: Encoding

    public func encode() throws(WireError) -> [UInt8] {
        var bytes: [UInt8] = []
        try encode(into: &bytes)
        return bytes
    }

    /// Encodes the message into `datagram`, in place of what it held, using
    /// its storage where it can (`ByteWriter.collect(capacity:into:_:)`).
    public func encode(into datagram: inout [UInt8]) throws(WireError) {
        ByteWriter.collect(capacity: 256, into: &datagram) { write(into: &$0) }
        guard datagram.count - 4 <= 0xFFFF else {
            throw WireError(.tooLong, "PFCP message of \(datagram.count) bytes exceeds the 16-bit length", at: 2)
        }
    }

    /// The message; its Message Length is wrong if it is over 65,539 octets.
    private func write(into w: inout ByteWriter) {
        w.u8(Self.flags(header))
        w.u8(header.type.rawValue)
        w.u16(0)  // Message Length, set below
        if let seid = header.seid { w.u64(seid) }
        w.u32(header.sequence << 8 | UInt32((header.priority ?? 0) << 4))
        if box.isSharedEmpty {
            // Its Cause alone (most answers): the box's IEs are not looked at.
            if let cause { w.ie(.cause, cause.rawValue) }
        } else {
            writeContents(into: &w)
        }
        w.set16(UInt16(truncatingIfNeeded: w.count - 4), at: 2)
    }

    /// The IEs, Cause among them in its place, of a message with a box.
    private func writeContents(into w: inout ByteWriter) {
        Self.write(&box.contents, cause: cause, into: &w)
    }

    /// The box's IEs read where they lie (`inout` for that alone: reading
    /// each through the message's property retained and released the box
    /// and each list, 18 pairs a message).
    private static func write(_ c: inout Contents, cause: PFCPCause?, into w: inout ByteWriter) {
        if let nodeID = c.nodeID { w.ie(.nodeID) { nodeID.encode(into: &$0) } }
        if let cause { w.ie(.cause, cause.rawValue) }
        if let offendingIE = c.offendingIE { w.ie(.offendingIE, offendingIE.rawValue) }
        if let recoveryTimeStamp = c.recoveryTimeStamp { w.ie(.recoveryTimeStamp, recoveryTimeStamp) }
        if let fSEID = c.fSEID { w.ie(.fSEID) { fSEID.encode(into: &$0) } }
        if let nodeReportType = c.nodeReportType { w.ie(.nodeReportType, nodeReportType.rawValue) }
        w.ies(.removePDR, c.removePDR) { ref, w in ref.encode(into: &w, group: .removePDR) }
        w.ies(.removeFAR, c.removeFAR) { ref, w in ref.encode(into: &w, group: .removeFAR) }
        if let removeBAR = c.removeBAR { w.ie(.removeBAR) { removeBAR.encode(into: &$0, group: .removeBAR) } }
        w.ies(.createPDR, c.createPDR) { rule, w in rule.encode(into: &w) }
        w.ies(.createFAR, c.createFAR) { rule, w in rule.encode(into: &w, create: true) }
        if let createBAR = c.createBAR { w.ie(.createBAR) { createBAR.encode(into: &$0) } }
        w.ies(.updatePDR, c.updatePDR) { rule, w in rule.encode(into: &w) }
        w.ies(.updateFAR, c.updateFAR) { rule, w in rule.encode(into: &w, create: false) }
        if let updateBAR = c.updateBAR { w.ie(.updateBAR) { updateBAR.encode(into: &$0) } }
        w.ies(.createdPDR, c.createdPDR) { ref, w in ref.encode(into: &w, group: .createdPDR) }
        if let reportType = c.reportType { w.ie(.reportType, reportType.rawValue) }
        if let downlinkDataReport = c.downlinkDataReport { w.ie(.downlinkDataReport) { downlinkDataReport.encode(into: &$0) } }
        if let loadControl = c.loadControl { w.ie(.loadControlInformation) { loadControl.encode(into: &$0) } }
        for pool in c.poolInformation { w.ie(.ueIPAddressPoolInformation) { pool.encode(into: &$0) } }
        if let resynchronization = c.resynchronization { w.ie(.resynchronization, resynchronization) }
        w.ies(c.unknown)
    }

    static func flags(_ h: PFCPHeader) -> UInt8 {
        h.version << 5 | (h.priority == nil ? 0 : 0x02) | (h.seid == nil ? 0 : 0x01)
    }

    // MARK: Decoding

    /// Decodes exactly one message filling `bytes`. A fault in a known IE
    /// names it in `WireError.element`; a missing mandatory IE is `.missing`.
    public static func decode(_ bytes: [UInt8]) throws(WireError) -> PFCPMessage {
        var m = PFCPMessage(.heartbeatRequest, sequence: 0)
        try m.read(bytes)
        return m
    }

    /// Decodes `bytes` into this message, as `decode` does, in place: a box
    /// of IEs it holds alone is emptied and filled again, its lists keeping
    /// their storage, so that a receiver reading every message into one
    /// allocates for neither. After a throw it holds part of what was read.
    public mutating func read(_ bytes: [UInt8]) throws(WireError) {
        let (header, length) = try PFCPHeader.decode(bytes)
        if header.version != PFCPHeader.version {
            throw WireError(.badValue, "PFCP version \(header.version), expected 1", at: 0)
        }
        if length < bytes.count {
            throw WireError(.badLength, "\(bytes.count - length) bytes after the \(length)-byte message", at: length)
        }
        if header.type.isSessionMessage != (header.seid != nil) {
            throw WireError(.badValue, "\(header.type.name) with the S flag \(header.seid == nil ? "clear" : "set")", at: 0)
        }
        self.header = header
        cause = nil
        try readElements(bytes, to: length)
    }

    /// The IEs after the header, read into this message in place (inlined
    /// into `decode`, the message's fields were gathered into a copy).
    @inline(never)
    private mutating func readElements(_ bytes: [UInt8], to length: Int) throws(WireError) {
        // The IEs but Cause are read into a box of this message's own, in
        // place (a value read locally and then boxed was copied whole): the
        // one it holds alone, emptied, or a new one. Only if one is there:
        // an answer often carries its Cause alone, and then has none.
        let (mandatory, carried) = Self.elements(of: header.type)
        let causeSlot = carried.firstIndex(of: .cause)
        var it = PFCPElements(from: header.encodedLength, to: length)
        var boxed = false
        while !boxed, let e = try? it.next(in: bytes) { boxed = !(e.type == .cause && causeSlot != nil) }
        // Bit i: an IE of type carried[i] was read.
        var present: UInt64 = 0
        if boxed {
            if !emptyOwnBox() { box = Box(Contents()) }
            try readElements(bytes, to: length, carried: carried, present: &present, into: &box.contents)
        } else {
            box = Box.empty
            // Each is the Cause (the walk above).
            it = PFCPElements(from: header.encodedLength, to: length)
            while let e = try it.next(in: bytes) {
                present |= 1 << causeSlot!
                cause = PFCPCause(rawValue: try e.integer(bytes, "cause"))
            }
        }
        for i in 0..<mandatory where present & 1 << i == 0 {
            throw missing(carried[i], in: header.type.name, at: 0)
        }
    }

    /// Reads every IE into this message and `g` (given once: each access
    /// to the box's contents through the box retains and releases it).
    private mutating func readElements(_ bytes: [UInt8], to length: Int, carried: [PFCPIEType], present: inout UInt64,
                                       into g: inout Contents) throws(WireError) {
        var it = PFCPElements(from: header.encodedLength, to: length)
        while let e = try it.next(in: bytes) {
            guard let i = carried.firstIndex(of: e.type) else {
                g.unknown.append(e.raw(in: bytes))
                continue
            }
            present |= 1 << i
            switch e.type {
            case .cause: cause = PFCPCause(rawValue: try e.integer(bytes, "cause"))
            case .nodeID: g.nodeID = try e.decode(bytes, PFCPNodeID.decode)
            case .offendingIE: g.offendingIE = PFCPIEType(rawValue: try e.integer(bytes, "offending IE"))
            case .recoveryTimeStamp: g.recoveryTimeStamp = try e.integer(bytes, "recovery time stamp")
            case .nodeReportType: g.nodeReportType = PFCPNodeReportType(rawValue: try e.integer(bytes, "node report type"))
            case .reportType: g.reportType = PFCPReportType(rawValue: try e.integer(bytes, "report type"))
            case .fSEID: g.fSEID = try e.decode(bytes, PFCPFSEID.decode)
            case .removePDR: g.removePDR.add(try PFCPRuleReference.decode(bytes, e))
            case .removeFAR: g.removeFAR.add(try PFCPRuleReference.decode(bytes, e))
            case .removeBAR: g.removeBAR = try PFCPRuleReference.decode(bytes, e)
            case .createPDR: try g.createPDR.add(.blank) { r throws(WireError) in try r.read(bytes, e, create: true) }
            case .createFAR: try g.createFAR.add(.blank) { r throws(WireError) in try r.read(bytes, e, create: true) }
            case .createBAR: g.createBAR = try PFCPBAR.decode(bytes, e)
            case .updatePDR: try g.updatePDR.add(.blank) { r throws(WireError) in try r.read(bytes, e, create: false) }
            case .updateFAR: try g.updateFAR.add(.blank) { r throws(WireError) in try r.read(bytes, e, create: false) }
            case .updateBAR: g.updateBAR = try PFCPBAR.decode(bytes, e)
            case .createdPDR: g.createdPDR.add(try PFCPRuleReference.decode(bytes, e))
            case .downlinkDataReport: g.downlinkDataReport = try PFCPDownlinkDataReport.decode(bytes, e)
            case .loadControlInformation: g.loadControl = try PFCPLoadControl.decode(bytes, e)
            case .ueIPAddressPoolInformation: g.poolInformation.append(try PFCPPoolInformation.decode(bytes, e))
            // An enterprise-specific type is this project's only with its
            // Enterprise ID (an optional IE, so its bit in `present` is not read).
            case .resynchronization where e.enterpriseID == dmmEnterpriseID:
                g.resynchronization = try e.integer(bytes, "resynchronization")
            default: g.unknown.append(e.raw(in: bytes))
            }
        }
    }
}
