/// Neighbor Discovery options (RFC 4861 section 4.6, RFC 4191 section 2.3).
/// Length is in units of 8 octets, type and length bytes included; a length
/// of 0 is invalid and the whole message is refused (RFC 4861 section 4.6).
public enum NDOption: Hashable, Sendable {
    /// Source Link-layer Address (type 1).
    case sourceLinkLayerAddress([UInt8])
    /// Target Link-layer Address (type 2).
    case targetLinkLayerAddress([UInt8])
    /// Prefix Information (type 3).
    case prefixInformation(PrefixInformation)
    /// MTU (type 5).
    case mtu(UInt32)
    /// Route Information (type 24, RFC 4191).
    case routeInformation(RouteInformation)
    /// Any other option: its data after the length byte, kept byte for byte.
    case unknown(type: UInt8, data: [UInt8])

    public enum Kind: UInt8, Sendable {
        case sourceLinkLayerAddress = 1, targetLinkLayerAddress = 2, prefixInformation = 3, mtu = 5
        case routeInformation = 24
    }

    public var type: UInt8 {
        switch self {
        case .sourceLinkLayerAddress: Kind.sourceLinkLayerAddress.rawValue
        case .targetLinkLayerAddress: Kind.targetLinkLayerAddress.rawValue
        case .prefixInformation: Kind.prefixInformation.rawValue
        case .mtu: Kind.mtu.rawValue
        case .routeInformation: Kind.routeInformation.rawValue
        case .unknown(let t, _): t
        }
    }

    func encode(into w: inout ByteWriter) throws(WireError) {
        let start = w.count
        w.u8(type)
        w.u8(0)  // Length, set below
        switch self {
        case .sourceLinkLayerAddress(let a), .targetLinkLayerAddress(let a):
            w.append(a)
        case .prefixInformation(let p):
            w.u8(p.prefix.length)
            w.u8((p.onLink ? 0x80 : 0) | (p.autonomous ? 0x40 : 0) | (p.routerAddress ? 0x20 : 0))
            w.u32(p.validLifetime)
            w.u32(p.preferredLifetime)
            w.u32(0)  // Reserved2
            w.address(p.prefix.address)
        case .mtu(let mtu):
            w.u16(0)
            w.u32(mtu)
        case .routeInformation(let ri):
            w.u8(ri.prefix.length)
            w.u8(ri.preference.rawValue << 3)
            w.u32(ri.lifetime)
            // The shortest prefix field that holds the prefix (RFC 4191 section 2.3).
            let prefixBytes = ri.prefix.length == 0 ? 0 : ri.prefix.length <= 64 ? 8 : 16
            w.append(ri.prefix.address.bytes.prefix(prefixBytes))
        case .unknown(_, let data):
            w.append(data)
        }
        w.zeros((8 - (w.count - start) % 8) % 8)
        let units = (w.count - start) / 8
        guard units <= 255 else { throw WireError(.tooLong, "option type \(type) needs \(units) units of 8 bytes, at most 255 fit", at: start) }
        w.set8(UInt8(units), at: start + 1)
    }

    /// Reads options until the reader's end.
    static func decodeAll(_ r: inout ByteReader) throws(WireError) -> [NDOption] {
        var options: [NDOption] = []
        while !r.isAtEnd {
            let start = r.offset
            let type = try r.u8("option type")
            let units = Int(try r.u8("option length"))
            if units == 0 { throw WireError(.badLength, "option type \(type) has length 0", at: start + 1) }
            let dataLength = units * 8 - 2
            try r.need(dataLength, "option type \(type) data")
            var body = ByteReader(r.bytes, from: r.offset, to: r.offset + dataLength)
            try r.skip(dataLength, "option data")
            func expect(_ n: Int, _ name: String) throws(WireError) {
                if units != n { throw WireError(.badLength, "\(name) option length \(units), expected \(n)", at: start + 1) }
            }
            switch Kind(rawValue: type) {
            case .sourceLinkLayerAddress:
                options.append(.sourceLinkLayerAddress(try body.take(dataLength, "link-layer address")))
            case .targetLinkLayerAddress:
                options.append(.targetLinkLayerAddress(try body.take(dataLength, "link-layer address")))
            case .prefixInformation:
                try expect(4, "Prefix Information")
                let length = try body.u8("prefix length")
                if length > 128 { throw WireError(.badValue, "prefix length \(length) exceeds 128", at: start + 2) }
                let flags = try body.u8("flags")
                let valid = try body.u32("valid lifetime")
                let preferred = try body.u32("preferred lifetime")
                try body.skip(4, "reserved2")
                let prefix = IPv6Prefix(try body.address("prefix"), length: length)
                options.append(.prefixInformation(PrefixInformation(
                    prefix: prefix, onLink: flags & 0x80 != 0, autonomous: flags & 0x40 != 0,
                    routerAddress: flags & 0x20 != 0, validLifetime: valid, preferredLifetime: preferred)))
            case .mtu:
                try expect(1, "MTU")
                try body.skip(2, "reserved")
                options.append(.mtu(try body.u32("MTU")))
            case .routeInformation:
                let length = try body.u8("prefix length")
                // RFC 4191 section 2.3: Length 1 holds /0, 2 up to /64, 3 any.
                if length > 128 || units > 3 || (length > 0 && units < 2) || (length > 64 && units < 3) {
                    throw WireError(.badLength, "Route Information option length \(units) cannot hold prefix length \(length)", at: start + 1)
                }
                let flags = try body.u8("flags")
                let lifetime = try body.u32("route lifetime")
                var prefixBytes = try body.take(body.remaining, "prefix")
                prefixBytes += repeatElement(0, count: 16 - prefixBytes.count)
                let address = IPv6Address(bytes: prefixBytes)!.masked(to: Int(length))
                options.append(.routeInformation(RouteInformation(
                    prefix: IPv6Prefix(address, length: length),
                    preference: RouterPreference(bits: flags >> 3), lifetime: lifetime)))
            case nil:
                options.append(.unknown(type: type, data: try body.take(dataLength, "option data")))
            }
        }
        return options
    }
}

/// Prefix Information option body (RFC 4861 section 4.6.2; R flag from RFC
/// 6275 section 7.2). Lifetimes are in seconds, 0xFFFFFFFF meaning infinity.
public struct PrefixInformation: Hashable, Sendable {
    public var prefix: IPv6Prefix
    public var onLink: Bool
    public var autonomous: Bool
    public var routerAddress: Bool
    public var validLifetime: UInt32
    public var preferredLifetime: UInt32

    public init(prefix: IPv6Prefix, onLink: Bool = true, autonomous: Bool = true, routerAddress: Bool = false,
                validLifetime: UInt32, preferredLifetime: UInt32) {
        self.prefix = prefix
        self.onLink = onLink
        self.autonomous = autonomous
        self.routerAddress = routerAddress
        self.validLifetime = validLifetime
        self.preferredLifetime = preferredLifetime
    }
}

/// Route Information option body (RFC 4191 section 2.3).
public struct RouteInformation: Hashable, Sendable {
    /// Bits past the prefix length are zero after decoding.
    public var prefix: IPv6Prefix
    public var preference: RouterPreference
    public var lifetime: UInt32

    public init(prefix: IPv6Prefix, preference: RouterPreference = .medium, lifetime: UInt32) {
        self.prefix = prefix
        self.preference = preference
        self.lifetime = lifetime
    }
}

/// Default router and route preference (RFC 4191 section 2.1), a 2-bit field.
public enum RouterPreference: UInt8, Hashable, Sendable {
    case medium = 0, high = 1, reserved = 2, low = 3

    /// From the two low bits of `bits`.
    public init(bits: UInt8) {
        switch bits & 0x3 {
        case 1: self = .high
        case 2: self = .reserved
        case 3: self = .low
        default: self = .medium
        }
    }
}
