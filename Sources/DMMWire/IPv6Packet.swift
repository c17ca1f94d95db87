/// An IPv6 packet (RFC 8200 section 3) as far as this system looks into it:
/// the fixed header, the extension headers it passes over, and the upper-layer
/// message: a Mobility Header, an ICMPv6 message, a UDP datagram (PFCP), or
/// other bytes.
///
///    |Version| Traffic Class |           Flow Label                  |  offset 0
///    |         Payload Length        |  Next Header  |   Hop Limit   |  offset 4
///    |                         Source Address                        |  offset 8
///    |                      Destination Address                      |  offset 24
public struct IPv6Packet: Hashable, Sendable {
    public static let headerLength = 40

    public var trafficClass: UInt8
    public var flowLabel: UInt32
    public var hopLimit: UInt8
    public var source: IPv6Address
    public var destination: IPv6Address
    /// Hop-by-Hop, Routing and Destination Options headers before the payload.
    public var extensionHeaders: [IPv6ExtensionHeader]
    public var payload: IPv6Payload

    public init(source: IPv6Address, destination: IPv6Address, hopLimit: UInt8 = 64, trafficClass: UInt8 = 0,
                flowLabel: UInt32 = 0, extensionHeaders: [IPv6ExtensionHeader] = [], payload: IPv6Payload) {
        self.source = source
        self.destination = destination
        self.hopLimit = hopLimit
        self.trafficClass = trafficClass
        self.flowLabel = flowLabel & 0xFFFFF
        self.extensionHeaders = extensionHeaders
        self.payload = payload
    }

    /// The packet on the wire, upper-layer checksum computed.
    public func encode() throws(WireError) -> [UInt8] {
        let upper: [UInt8]
        switch payload {
        case .mobility(let mh): upper = try mh.encode(source: source, destination: destination)
        case .icmpv6(let m): upper = try m.encode(source: source, destination: destination)
        case .udp(let d): upper = try d.encode(source: source, destination: destination)
        case .other(_, let bytes): upper = bytes
        }
        for ext in extensionHeaders where ext.data.first.map({ Int($0) * 8 + 7 }) != ext.data.count {
            throw WireError(.badLength, "extension header \(ext.type) data must be 8n+7 bytes with n in its first byte", at: Self.headerLength)
        }
        let extensionLength = extensionHeaders.reduce(0) { $0 + 1 + $1.data.count }
        let payloadLength = extensionLength + upper.count
        guard payloadLength <= 0xFFFF else { throw WireError(.tooLong, "payload of \(payloadLength) bytes needs a jumbogram", at: 4) }
        var w = ByteWriter(capacity: Self.headerLength + payloadLength)
        w.u32(6 << 28 | UInt32(trafficClass) << 20 | flowLabel & 0xFFFFF)
        w.u16(UInt16(payloadLength))
        w.u8(extensionHeaders.first?.type ?? payload.protocolNumber)
        w.u8(hopLimit)
        w.address(source)
        w.address(destination)
        for (i, ext) in extensionHeaders.enumerated() {
            w.u8(i + 1 < extensionHeaders.count ? extensionHeaders[i + 1].type : payload.protocolNumber)
            w.append(ext.data)
        }
        w.append(upper)
        return w.bytes
    }

    /// Decodes a whole packet; bytes after Payload Length are refused.
    public static func decode(_ bytes: [UInt8], verifyChecksum: Bool = true) throws(WireError) -> IPv6Packet {
        var r = ByteReader(bytes)
        let first = try r.u32("version, traffic class and flow label")
        if first >> 28 != 6 { throw WireError(.badValue, "IP version \(first >> 28), expected 6", at: 0) }
        let payloadLength = Int(try r.u16("payload length"))
        var next = try r.u8("next header")
        let hopLimit = try r.u8("hop limit")
        let source = try r.address("source address")
        let destination = try r.address("destination address")
        let end = headerLength + payloadLength
        if end > bytes.count { throw WireError(.truncated, "payload length \(payloadLength) exceeds the \(bytes.count - headerLength) bytes present", at: 4) }
        if end < bytes.count { throw WireError(.badLength, "\(bytes.count - end) bytes after the payload length", at: end) }
        var extensions: [IPv6ExtensionHeader] = []
        var payloadReader = ByteReader(bytes, from: r.offset, to: end)
        while IPv6ExtensionHeader.skippable.contains(next) {
            let following = try payloadReader.u8("extension next header")
            let units = try payloadReader.u8("extension header length")
            let data = try payloadReader.take(Int(units) * 8 + 6, "extension header \(next)")
            extensions.append(IPv6ExtensionHeader(type: next, data: [units] + data))
            next = following
        }
        let policy: Checksum.Policy = verifyChecksum ? .verify(source: source, destination: destination) : .skip
        let payload: IPv6Payload
        switch next {
        case MobilityHeader.protocolNumber:
            payload = .mobility(try MobilityHeader.decode(bytes, from: payloadReader.offset, to: end, checksum: policy))
        case ICMPv6Message.protocolNumber:
            payload = .icmpv6(try ICMPv6Message.decode(bytes, from: payloadReader.offset, to: end, checksum: policy))
        case UDPDatagram.protocolNumber:
            payload = .udp(try UDPDatagram.decode(bytes, from: payloadReader.offset, to: end, checksum: policy))
        default:
            payload = .other(protocol: next, bytes: try payloadReader.take(payloadReader.remaining, "payload"))
        }
        return IPv6Packet(source: source, destination: destination, hopLimit: hopLimit,
                          trafficClass: UInt8(truncatingIfNeeded: first >> 20), flowLabel: first & 0xFFFFF,
                          extensionHeaders: extensions, payload: payload)
    }
}

/// An extension header passed over on the way to the upper layer: its type
/// and its bytes after the Next Header field (Hdr Ext Len included).
public struct IPv6ExtensionHeader: Hashable, Sendable {
    /// Hop-by-Hop Options, Routing, Destination Options (RFC 8200 section 4).
    static let skippable: Set<UInt8> = [0, 43, 60]
    public var type: UInt8
    public var data: [UInt8]
    public init(type: UInt8, data: [UInt8]) {
        self.type = type
        self.data = data
    }
}

public enum IPv6Payload: Hashable, Sendable {
    case mobility(MobilityHeader)
    case icmpv6(ICMPv6Message)
    case udp(UDPDatagram)
    case other(protocol: UInt8, bytes: [UInt8])

    public var protocolNumber: UInt8 {
        switch self {
        case .mobility: MobilityHeader.protocolNumber
        case .icmpv6: ICMPv6Message.protocolNumber
        case .udp: UDPDatagram.protocolNumber
        case .other(let p, _): p
        }
    }
}
