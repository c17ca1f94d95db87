/// ICMPv6 (RFC 4443) carrying Neighbor Discovery (RFC 4861 section 4). Every
/// ICMPv6 message starts with type, code and checksum; the checksum covers the
/// IPv6 pseudo-header with next header 58.
///
///     0                   1                   2                   3
///     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
///    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
///    |     Type      |     Code      |          Checksum             |
///    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
public enum ICMPv6Message: Hashable, Sendable {
    case routerSolicitation(RouterSolicitation)
    case routerAdvertisement(RouterAdvertisement)
    case neighborSolicitation(NeighborSolicitation)
    case neighborAdvertisement(NeighborAdvertisement)
    /// Any other ICMPv6 message: type, code and the bytes after the checksum.
    case other(type: UInt8, code: UInt8, body: [UInt8])

    public static let protocolNumber: UInt8 = 58
    static let checksumOffset = 2

    public enum Kind: UInt8, Sendable {
        case routerSolicitation = 133, routerAdvertisement = 134
        case neighborSolicitation = 135, neighborAdvertisement = 136
    }

    public var type: UInt8 {
        switch self {
        case .routerSolicitation: Kind.routerSolicitation.rawValue
        case .routerAdvertisement: Kind.routerAdvertisement.rawValue
        case .neighborSolicitation: Kind.neighborSolicitation.rawValue
        case .neighborAdvertisement: Kind.neighborAdvertisement.rawValue
        case .other(let t, _, _): t
        }
    }

    /// The Neighbor Discovery options the message carries (none for `.other`).
    public var options: [NDOption] {
        switch self {
        case .routerSolicitation(let m): m.options
        case .routerAdvertisement(let m): m.options
        case .neighborSolicitation(let m): m.options
        case .neighborAdvertisement(let m): m.options
        case .other: []
        }
    }

    /// The encoded message with its checksum over the given addresses.
    public func encode(source: IPv6Address, destination: IPv6Address) throws(WireError) -> [UInt8] {
        var w = ByteWriter(capacity: 128)
        w.u8(type)
        if case .other(_, let code, _) = self { w.u8(code) } else { w.u8(0) }
        w.u16(0)  // Checksum, set below
        switch self {
        case .routerSolicitation:
            w.u32(0)
        case .routerAdvertisement(let m):
            w.u8(m.curHopLimit)
            w.u8((m.managed ? 0x80 : 0) | (m.otherConfiguration ? 0x40 : 0) | (m.homeAgent ? 0x20 : 0)
                 | m.preference.rawValue << 3 | (m.proxy ? 0x04 : 0))
            w.u16(m.routerLifetime)
            w.u32(m.reachableTime)
            w.u32(m.retransTimer)
        case .neighborSolicitation(let m):
            w.u32(0)
            w.address(m.target)
        case .neighborAdvertisement(let m):
            w.u8((m.router ? 0x80 : 0) | (m.solicited ? 0x40 : 0) | (m.override ? 0x20 : 0))
            w.zeros(3)
            w.address(m.target)
        case .other(_, _, let body):
            w.append(body)
        }
        for o in options { try o.encode(into: &w) }
        w.set16(Checksum.compute(w.bytes, range: 0..<w.count, checksumOffset: Self.checksumOffset,
                                 source: source, destination: destination, nextHeader: Self.protocolNumber),
                at: Self.checksumOffset)
        return w.bytes
    }

    /// Decodes one ICMPv6 message filling `bytes[start..<end]`. Neighbor
    /// Discovery messages must have code 0 (RFC 4861 sections 6.1 and 7.1.1).
    public static func decode(_ bytes: [UInt8], from start: Int = 0, to end: Int? = nil,
                              checksum: Checksum.Policy) throws(WireError) -> ICMPv6Message {
        let end = min(end ?? bytes.count, bytes.count)
        var r = ByteReader(bytes, from: start, to: end)
        let type = try r.u8("ICMPv6 type")
        let code = try r.u8("ICMPv6 code")
        let stored = try r.u16("checksum")
        if case .verify(let src, let dst) = checksum {
            let computed = Checksum.compute(bytes, range: start..<end, checksumOffset: checksumOffset,
                                            source: src, destination: dst, nextHeader: protocolNumber)
            if computed != stored && !(computed == 0xFFFF && stored == 0) {
                throw WireError(.badChecksum, "bad checksum 0x\(String(stored, radix: 16)), expected 0x\(String(computed, radix: 16))",
                                at: start + checksumOffset)
            }
        }
        guard let kind = Kind(rawValue: type) else {
            return .other(type: type, code: code, body: try r.take(r.remaining, "message body"))
        }
        if code != 0 { throw WireError(.badValue, "code \(code) in a Neighbor Discovery message, must be 0", at: start + 1) }
        switch kind {
        case .routerSolicitation:
            try r.skip(4, "reserved")
            return .routerSolicitation(RouterSolicitation(options: try NDOption.decodeAll(&r)))
        case .routerAdvertisement:
            let hop = try r.u8("cur hop limit")
            let flags = try r.u8("flags")
            let lifetime = try r.u16("router lifetime")
            let reachable = try r.u32("reachable time")
            let retrans = try r.u32("retrans timer")
            return .routerAdvertisement(RouterAdvertisement(
                curHopLimit: hop, managed: flags & 0x80 != 0, otherConfiguration: flags & 0x40 != 0,
                homeAgent: flags & 0x20 != 0, preference: RouterPreference(bits: flags >> 3), proxy: flags & 0x04 != 0,
                routerLifetime: lifetime, reachableTime: reachable, retransTimer: retrans,
                options: try NDOption.decodeAll(&r)))
        case .neighborSolicitation:
            try r.skip(4, "reserved")
            let target = try r.address("target address")
            return .neighborSolicitation(NeighborSolicitation(target: target, options: try NDOption.decodeAll(&r)))
        case .neighborAdvertisement:
            let flags = try r.u8("flags")
            try r.skip(3, "reserved")
            let target = try r.address("target address")
            return .neighborAdvertisement(NeighborAdvertisement(
                router: flags & 0x80 != 0, solicited: flags & 0x40 != 0, override: flags & 0x20 != 0,
                target: target, options: try NDOption.decodeAll(&r)))
        }
    }
}

/// Router Solicitation (RFC 4861 section 4.1), type 133.
public struct RouterSolicitation: Hashable, Sendable {
    public var options: [NDOption]
    public init(options: [NDOption] = []) { self.options = options }
}

/// Router Advertisement (RFC 4861 section 4.2), type 134, with the H flag
/// (RFC 6275), Prf (RFC 4191) and P flag (RFC 4389).
///
///    |     Type      |     Code      |          Checksum             |
///    | Cur Hop Limit |M|O|H|Prf|P|Rsv|       Router Lifetime         |  offset 4
///    |                         Reachable Time                        |  offset 8
///    |                          Retrans Timer                        |  offset 12
///    |   Options ...                                                    offset 16
public struct RouterAdvertisement: Hashable, Sendable {
    public var curHopLimit: UInt8
    public var managed: Bool
    public var otherConfiguration: Bool
    public var homeAgent: Bool
    public var preference: RouterPreference
    public var proxy: Bool
    /// Seconds; 0 means not a default router.
    public var routerLifetime: UInt16
    /// Milliseconds; 0 means unspecified.
    public var reachableTime: UInt32
    /// Milliseconds; 0 means unspecified.
    public var retransTimer: UInt32
    public var options: [NDOption]

    public init(curHopLimit: UInt8 = 64, managed: Bool = false, otherConfiguration: Bool = false,
                homeAgent: Bool = false, preference: RouterPreference = .medium, proxy: Bool = false,
                routerLifetime: UInt16, reachableTime: UInt32 = 0, retransTimer: UInt32 = 0,
                options: [NDOption] = []) {
        self.curHopLimit = curHopLimit
        self.managed = managed
        self.otherConfiguration = otherConfiguration
        self.homeAgent = homeAgent
        self.preference = preference
        self.proxy = proxy
        self.routerLifetime = routerLifetime
        self.reachableTime = reachableTime
        self.retransTimer = retransTimer
        self.options = options
    }
}

/// Neighbor Solicitation (RFC 4861 section 4.3), type 135.
public struct NeighborSolicitation: Hashable, Sendable {
    public var target: IPv6Address
    public var options: [NDOption]
    public init(target: IPv6Address, options: [NDOption] = []) {
        self.target = target
        self.options = options
    }
}

/// Neighbor Advertisement (RFC 4861 section 4.4), type 136.
public struct NeighborAdvertisement: Hashable, Sendable {
    public var router: Bool
    public var solicited: Bool
    public var override: Bool
    public var target: IPv6Address
    public var options: [NDOption]
    public init(router: Bool, solicited: Bool, override: Bool, target: IPv6Address, options: [NDOption] = []) {
        self.router = router
        self.solicited = solicited
        self.override = override
        self.target = target
        self.options = options
    }
}
