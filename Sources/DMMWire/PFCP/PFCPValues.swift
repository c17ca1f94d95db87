/// The PFCP IEs with fixed fields that this system reads and writes (TS
/// 29.244 section 8.2). Each decodes from a reader over its value alone and
/// encodes its value alone; `PFCPElement` and `ByteWriter.ie` do the framing.
/// Octets beyond the known fields are ignored, as later releases may add fields.

/// Node ID (section 8.2.38): who an association is with.
public enum PFCPNodeID: Hashable, Sendable, CustomStringConvertible {
    case ipv4(UInt32)
    case ipv6(IPv6Address)
    /// A fully qualified domain name, carried as DNS labels.
    case fqdn(String)

    static func decode(_ r: inout ByteReader) throws(WireError) -> Self {
        let type = try r.u8("Node ID type") & 0x0F
        switch type {
        case 0: return .ipv4(try r.u32("Node ID IPv4 address"))
        case 1: return .ipv6(try r.address("Node ID IPv6 address"))
        case 2:
            var labels: [String] = []
            while !r.isAtEnd {
                let at = r.offset
                let length = Int(try r.u8("FQDN label length"))
                if length == 0 || length > 63 { throw WireError(.badValue, "FQDN label length \(length)", at: at) }
                let label = try r.take(length, "FQDN label")
                // Letters, digits and hyphens (RFC 1035 section 2.3.1), and
                // the underscore some names use: nothing that would change
                // when the name is split at its dots again.
                if let bad = label.first(where: { !($0 == 0x2D || $0 == 0x5F || (0x30...0x39).contains($0) || (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0)) }) {
                    throw WireError(.badValue, "FQDN label with byte 0x\(String(bad, radix: 16))", at: at + 1)
                }
                labels.append(String(decoding: label, as: UTF8.self))
            }
            if labels.isEmpty { throw WireError(.badLength, "empty FQDN", at: r.offset) }
            return .fqdn(labels.joined(separator: "."))
        default: throw WireError(.badValue, "Node ID type \(type)", at: r.offset - 1)
        }
    }

    func encode(into w: inout ByteWriter) {
        switch self {
        case .ipv4(let a): w.u8(0); w.u32(a)
        case .ipv6(let a): w.u8(1); w.address(a)
        case .fqdn(let name):
            w.u8(2)
            for label in name.split(separator: ".") {
                let bytes = Array(label.utf8.prefix(63))
                w.u8(UInt8(bytes.count))
                w.append(bytes)
            }
        }
    }

    public var description: String {
        switch self {
        case .ipv4(let a): (0..<4).map { String(a >> (24 - 8 * $0) & 0xFF) }.joined(separator: ".")
        case .ipv6(let a): a.description
        case .fqdn(let n): n
        }
    }
}

/// F-SEID (section 8.2.37): a session endpoint identifier and the address of
/// the node that chose it.
public struct PFCPFSEID: Hashable, Sendable {
    public var seid: UInt64
    public var ipv4: UInt32?
    public var ipv6: IPv6Address?

    public init(seid: UInt64, ipv6: IPv6Address?, ipv4: UInt32? = nil) {
        self.seid = seid
        self.ipv6 = ipv6
        self.ipv4 = ipv4
    }

    static func decode(_ r: inout ByteReader) throws(WireError) -> Self {
        let flags = try r.u8("F-SEID flags")
        if flags & 0x03 == 0 { throw WireError(.badValue, "F-SEID with neither V4 nor V6 set", at: r.offset - 1) }
        let seid = try r.u64("SEID")
        let v4 = flags & 0x02 != 0 ? try r.u32("F-SEID IPv4 address") : nil
        let v6 = flags & 0x01 != 0 ? try r.address("F-SEID IPv6 address") : nil
        return Self(seid: seid, ipv6: v6, ipv4: v4)
    }

    func encode(into w: inout ByteWriter) {
        w.u8((ipv4 == nil ? 0 : 0x02) | (ipv6 == nil ? 0 : 0x01))
        w.u64(seid)
        if let ipv4 { w.u32(ipv4) }
        if let ipv6 { w.address(ipv6) }
    }
}

/// UE IP Address (section 8.2.62): the node's address or prefix a PDR
/// matches, as source (uplink) or destination (downlink).
public struct PFCPUEIPAddress: Hashable, Sendable {
    /// The address; with `prefixLength` it names a prefix.
    public var ipv6: IPv6Address?
    public var ipv4: UInt32?
    /// S/D: the address is a destination (downlink) rather than a source.
    public var isDestination: Bool
    /// IPv6 Prefix Delegation Bits (IPv6D).
    public var prefixDelegationBits: UInt8?
    /// IPv6 Prefix Length (IP6PL, release 16).
    public var prefixLength: UInt8?
    /// CHV4 and CHV6: the UP function is to choose the address.
    public var chooseIPv4 = false
    public var chooseIPv6 = false

    public init(prefix: IPv6Prefix, isDestination: Bool) {
        ipv6 = prefix.address
        prefixLength = prefix.length
        self.isDestination = isDestination
    }

    /// The IPv6 prefix, when the IE names one.
    public var prefix: IPv6Prefix? {
        guard let ipv6 else { return nil }
        if let prefixLength { return IPv6Prefix(ipv6, length: prefixLength) }
        if let prefixDelegationBits { return IPv6Prefix(ipv6, length: UInt8(clamping: 64 - Int(prefixDelegationBits))) }
        return IPv6Prefix(ipv6, length: 128)
    }

    static func decode(_ r: inout ByteReader) throws(WireError) -> Self {
        let flags = try r.u8("UE IP Address flags")
        var ie = Self(prefix: IPv6Prefix(IPv6Address(high: 0, low: 0), length: 0), isDestination: flags & 0x04 != 0)
        ie.ipv6 = nil
        ie.prefixLength = nil
        ie.chooseIPv4 = flags & 0x10 != 0
        ie.chooseIPv6 = flags & 0x20 != 0
        if flags & 0x02 != 0 { ie.ipv4 = try r.u32("UE IPv4 address") }
        if flags & 0x01 != 0 { ie.ipv6 = try r.address("UE IPv6 address") }
        if flags & 0x08 != 0 { ie.prefixDelegationBits = try r.u8("IPv6 prefix delegation bits") }
        if flags & 0x40 != 0 {
            let at = r.offset
            let length = try r.u8("IPv6 prefix length")
            if length > 128 { throw WireError(.badValue, "IPv6 prefix length \(length)", at: at) }
            ie.prefixLength = length
        }
        return ie
    }

    func encode(into w: inout ByteWriter) {
        var flags: UInt8 = isDestination ? 0x04 : 0
        if ipv6 != nil { flags |= 0x01 }
        if ipv4 != nil { flags |= 0x02 }
        if prefixDelegationBits != nil { flags |= 0x08 }
        if chooseIPv4 { flags |= 0x10 }
        if chooseIPv6 { flags |= 0x20 }
        if prefixLength != nil { flags |= 0x40 }
        w.u8(flags)
        if let ipv4 { w.u32(ipv4) }
        if let ipv6 { w.address(ipv6) }
        if let prefixDelegationBits { w.u8(prefixDelegationBits) }
        if let prefixLength { w.u8(prefixLength) }
    }
}

/// SDF Filter (section 8.2.5): a packet filter, for rules per flow.
public struct PFCPSDFFilter: Hashable, Sendable {
    /// Flow Description: an IPFilterRule (RFC 6733), e.g. "permit out 6 from any to 2001:db8::1 80".
    public var flowDescription: String?
    public var typeOfService: UInt16?
    public var securityParameterIndex: UInt32?
    /// 20 bits.
    public var flowLabel: UInt32?
    /// SDF Filter ID (flag BID).
    public var filterID: UInt32?

    public init(flowDescription: String?, filterID: UInt32? = nil) {
        self.flowDescription = flowDescription
        self.filterID = filterID
    }

    static func decode(_ r: inout ByteReader) throws(WireError) -> Self {
        let flags = try r.u8("SDF Filter flags")
        try r.skip(1, "SDF Filter spare")
        var ie = Self(flowDescription: nil)
        if flags & 0x01 != 0 {
            let length = Int(try r.u16("flow description length"))
            ie.flowDescription = try r.text(length, "flow description")
        }
        if flags & 0x02 != 0 { ie.typeOfService = try r.u16("ToS traffic class") }
        if flags & 0x04 != 0 { ie.securityParameterIndex = try r.u32("security parameter index") }
        if flags & 0x08 != 0 { ie.flowLabel = try r.u24("flow label") & 0xFFFFF }
        if flags & 0x10 != 0 { ie.filterID = try r.u32("SDF filter ID") }
        return ie
    }

    func encode(into w: inout ByteWriter) {
        var flags: UInt8 = 0
        if flowDescription != nil { flags |= 0x01 }
        if typeOfService != nil { flags |= 0x02 }
        if securityParameterIndex != nil { flags |= 0x04 }
        if flowLabel != nil { flags |= 0x08 }
        if filterID != nil { flags |= 0x10 }
        w.u8(flags)
        w.u8(0)
        if let flowDescription {
            let bytes = Array(flowDescription.utf8.prefix(0xFFFF))
            w.u16(UInt16(bytes.count))
            w.append(bytes)
        }
        if let typeOfService { w.u16(typeOfService) }
        if let securityParameterIndex { w.u32(securityParameterIndex) }
        if let flowLabel { w.u24(flowLabel & 0xFFFFF) }
        if let filterID { w.u32(filterID) }
    }
}

/// Apply Action (section 8.2.26): what a FAR does with a packet. The first
/// octet is the low byte; the second (release 16) is written only when set.
public struct PFCPApplyAction: OptionSet, Hashable, Sendable {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let drop = Self(rawValue: 0x01)
    public static let forward = Self(rawValue: 0x02)
    public static let buffer = Self(rawValue: 0x04)
    /// NOCP: notify the CP function of the first buffered packet.
    public static let notifyCP = Self(rawValue: 0x08)
    public static let duplicate = Self(rawValue: 0x10)

    static let named: [(Self, String)] = [(.drop, "DROP"), (.forward, "FORW"), (.buffer, "BUFF"), (.notifyCP, "NOCP"),
                                          (.duplicate, "DUPL")]

    static func decode(_ r: inout ByteReader) throws(WireError) -> Self {
        let low = UInt16(try r.u8("Apply Action"))
        let high = r.isAtEnd ? 0 : UInt16(try r.u8("Apply Action second octet"))
        return Self(rawValue: high << 8 | low)
    }

    func encode(into w: inout ByteWriter) {
        w.u8(UInt8(truncatingIfNeeded: rawValue))
        if rawValue > 0xFF { w.u8(UInt8(rawValue >> 8)) }
    }
}

/// Outer Header Creation (section 8.2.56): the tunnel header a FAR puts on.
/// This system uses the IPv6 form (an IPv6 header toward `ipv6`, RFC 2473
/// tunnelling); the GTP-U and UDP forms decode too.
public struct PFCPOuterHeaderCreation: Hashable, Sendable {
    /// The description bits, octet 5 high and octet 6 low.
    public var description: UInt16
    public var teid: UInt32?
    public var ipv4: UInt32?
    public var ipv6: IPv6Address?
    public var port: UInt16?
    /// The C-TAG and S-TAG fields (3 octets each, section 8.2.56), kept as
    /// they came. Integers, not a list of octets: a FAR is copied several
    /// times a change, and a list is a reference counted on every copy.
    public var cTag: UInt32?
    public var sTag: UInt32?

    public static let gtpUIPv4: UInt16 = 0x0100, gtpUIPv6: UInt16 = 0x0200
    public static let udpIPv4: UInt16 = 0x0400, udpIPv6: UInt16 = 0x0800
    public static let plainIPv4: UInt16 = 0x1000, plainIPv6: UInt16 = 0x2000
    static let cTagBit: UInt16 = 0x4000, sTagBit: UInt16 = 0x8000

    /// An IPv6-in-IPv6 tunnel toward `farEnd`.
    public static func ipv6(toward farEnd: IPv6Address) -> Self {
        Self(description: plainIPv6, teid: nil, ipv4: nil, ipv6: farEnd, port: nil)
    }

    static func decode(_ r: inout ByteReader) throws(WireError) -> Self {
        let d = try r.u16("Outer Header Creation Description")
        if d & 0x3F00 == 0 { throw WireError(.badValue, "Outer Header Creation without an IP header (description 0x\(String(d, radix: 16)))", at: r.offset - 2) }
        var ie = Self(description: d, teid: nil, ipv4: nil, ipv6: nil, port: nil)
        if d & (gtpUIPv4 | gtpUIPv6) != 0 { ie.teid = try r.u32("TEID") }
        if d & (gtpUIPv4 | udpIPv4 | plainIPv4) != 0 { ie.ipv4 = try r.u32("IPv4 address") }
        if d & (gtpUIPv6 | udpIPv6 | plainIPv6) != 0 { ie.ipv6 = try r.address("IPv6 address") }
        if d & (udpIPv4 | udpIPv6) != 0 { ie.port = try r.u16("port number") }
        if d & cTagBit != 0 { ie.cTag = try r.u24("C-TAG") }
        if d & sTagBit != 0 { ie.sTag = try r.u24("S-TAG") }
        return ie
    }

    func encode(into w: inout ByteWriter) {
        w.u16(description)
        if let teid { w.u32(teid) }
        if let ipv4 { w.u32(ipv4) }
        if let ipv6 { w.address(ipv6) }
        if let port { w.u16(port) }
        if let cTag { w.u24(cTag) }
        if let sTag { w.u24(sTag) }
    }
}

/// Outer Header Removal (section 8.2.64): the tunnel header a PDR takes off.
public struct PFCPOuterHeaderRemoval: Hashable, Sendable {
    /// 5 is IPv6 (this system's tunnels); 0 to 8 are defined.
    public var description: UInt8
    /// GTP-U Extension Header Deletion, when present.
    public var extensionHeaderDeletion: UInt8?

    public static let ipv6 = Self(description: 5, extensionHeaderDeletion: nil)

    public init(description: UInt8, extensionHeaderDeletion: UInt8?) {
        self.description = description
        self.extensionHeaderDeletion = extensionHeaderDeletion
    }

    static func decode(_ r: inout ByteReader) throws(WireError) -> Self {
        let d = try r.u8("Outer Header Removal Description")
        return Self(description: d, extensionHeaderDeletion: r.isAtEnd ? nil : try r.u8("GTP-U extension header deletion"))
    }

    func encode(into w: inout ByteWriter) {
        w.u8(description)
        if let extensionHeaderDeletion { w.u8(extensionHeaderDeletion) }
    }
}

/// Report Type (section 8.2.21) of a Session Report Request.
public struct PFCPReportType: OptionSet, Hashable, Sendable {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    /// DLDR: downlink data arrived for a buffering FAR.
    public static let downlinkData = Self(rawValue: 0x01)
    public static let usage = Self(rawValue: 0x02)
    public static let errorIndication = Self(rawValue: 0x04)
    /// UPIR: user plane inactivity (the flows of a session have ended).
    public static let inactivity = Self(rawValue: 0x08)
    static let named: [(Self, String)] = [(.downlinkData, "DLDR"), (.usage, "USAR"), (.errorIndication, "ERIR"),
                                          (.inactivity, "UPIR")]
}

/// Node Report Type (section 8.2.69) of a Node Report Request.
public struct PFCPNodeReportType: OptionSet, Hashable, Sendable {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let pathFailure = Self(rawValue: 0x01)
    public static let pathRecovery = Self(rawValue: 0x02)
    /// VSR (release 17): a vendor-specific report; here, a load report.
    public static let vendorSpecific = Self(rawValue: 0x20)
    static let named: [(Self, String)] = [(.pathFailure, "UPFR"), (.pathRecovery, "UPRR"), (.vendorSpecific, "VSR")]
}
