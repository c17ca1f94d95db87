/// Mobility options (RFC 6275 section 6.2) and the ones this system speaks:
/// RFC 3963, 4283, 4285, 5094 and RFC 5213 section 8. Every option is a
/// type-length-value; `length` counts the bytes after the length field.
///
///     0                   1
///     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 ...
///    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+- - - - - - - - -
///    |  Option Type  | Option Length |   Option Data...
///    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+- - - - - - - - -
///
/// Pad1 and PadN are not values of this enum: the encoder inserts them to meet
/// each option's alignment (see `MobilityOptionCodec`) and the decoder checks
/// and drops them, so a decoded list holds only options that carry meaning.
public enum MobilityOption: Hashable, Sendable {
    /// Mobile Network Prefix (RFC 3963 section 4.3), type 6.
    case mobileNetworkPrefix(IPv6Prefix)
    /// Vendor-Specific Mobility Option (RFC 5094 section 3), type 19.
    case vendorSpecific(VendorSpecificOption)
    /// Mobile Node Identifier (RFC 4283 section 3), type 8.
    case mobileNodeIdentifier(MobileNodeIdentifier)
    /// Mobility Message Authentication (RFC 4285 section 5), type 9.
    case authentication(MobilityAuthentication)
    /// Home Network Prefix (RFC 5213 section 8.3), type 22.
    case homeNetworkPrefix(IPv6Prefix)
    /// Handoff Indicator (RFC 5213 section 8.4), type 23.
    case handoffIndicator(HandoffIndicator)
    /// Access Technology Type (RFC 5213 section 8.5), type 24.
    case accessTechnologyType(AccessTechnologyType)
    /// Mobile Node Link-layer Identifier (RFC 5213 section 8.6), type 25.
    case mobileNodeLinkLayerIdentifier([UInt8])
    /// Link-local Address (RFC 5213 section 8.7), type 26.
    case linkLocalAddress(IPv6Address)
    /// Timestamp (RFC 5213 section 8.8), type 27.
    case timestamp(Timestamp)
    /// Any other option, kept and re-encoded byte for byte.
    case unknown(type: UInt8, data: [UInt8])

    public enum Kind: UInt8, Sendable {
        case pad1 = 0, padN = 1
        case mobileNetworkPrefix = 6, mobileNodeIdentifier = 8, authentication = 9
        case vendorSpecific = 19
        case homeNetworkPrefix = 22, handoffIndicator = 23, accessTechnologyType = 24
        case mobileNodeLinkLayerIdentifier = 25, linkLocalAddress = 26, timestamp = 27
    }

    public var type: UInt8 {
        switch self {
        case .mobileNetworkPrefix: Kind.mobileNetworkPrefix.rawValue
        case .vendorSpecific: Kind.vendorSpecific.rawValue
        case .mobileNodeIdentifier: Kind.mobileNodeIdentifier.rawValue
        case .authentication: Kind.authentication.rawValue
        case .homeNetworkPrefix: Kind.homeNetworkPrefix.rawValue
        case .handoffIndicator: Kind.handoffIndicator.rawValue
        case .accessTechnologyType: Kind.accessTechnologyType.rawValue
        case .mobileNodeLinkLayerIdentifier: Kind.mobileNodeLinkLayerIdentifier.rawValue
        case .linkLocalAddress: Kind.linkLocalAddress.rawValue
        case .timestamp: Kind.timestamp.rawValue
        case .unknown(let t, _): t
        }
    }

    /// Alignment requirement `xn+y` of the option's Type byte, from each
    /// option's RFC section; (1, 0) means none.
    var alignment: (x: Int, y: Int) {
        switch self {
        case .mobileNetworkPrefix, .homeNetworkPrefix: (8, 4)
        case .vendorSpecific: (4, 2)
        case .mobileNodeLinkLayerIdentifier, .timestamp: (8, 2)
        case .linkLocalAddress: (8, 6)
        case .mobileNodeIdentifier, .authentication, .handoffIndicator, .accessTechnologyType, .unknown: (1, 0)
        }
    }

    /// Bytes after the Option Length field.
    var dataLength: Int {
        switch self {
        case .mobileNetworkPrefix, .homeNetworkPrefix: 18
        case .vendorSpecific(let v): 5 + v.data.count
        case .mobileNodeIdentifier(let m): 1 + m.identifier.count
        case .authentication(let a): 5 + a.authenticator.count
        case .handoffIndicator, .accessTechnologyType: 2
        case .mobileNodeLinkLayerIdentifier(let id): 2 + id.count
        case .linkLocalAddress: 16
        case .timestamp: 8
        case .unknown(_, let d): d.count
        }
    }
}

/// Mobile Node Identifier option body (RFC 4283): a subtype and the identifier.
public struct MobileNodeIdentifier: Hashable, Sendable {
    public var subtype: Subtype
    public var identifier: [UInt8]

    public init(subtype: Subtype = .nai, identifier: [UInt8]) {
        self.subtype = subtype
        self.identifier = identifier
    }

    /// A Network Access Identifier (RFC 4282), subtype 1.
    public static func nai(_ text: String) -> MobileNodeIdentifier {
        MobileNodeIdentifier(subtype: .nai, identifier: Array(text.utf8))
    }

    /// The identifier as text when it is valid UTF-8.
    public var text: String? { String(validating: identifier, as: UTF8.self) }

    public enum Subtype: Hashable, Sendable, CodePoint {
        case nai
        case unknown(UInt8)
        public init(rawValue: UInt8) { self = rawValue == 1 ? .nai : .unknown(rawValue) }
        public var rawValue: UInt8 { if case .unknown(let v) = self { v } else { 1 } }
        public var name: String { self == .nai ? "NAI" : "unknown" }
    }
}

/// Mobility Message Authentication option body (RFC 4285 section 5).
public struct MobilityAuthentication: Hashable, Sendable {
    public var subtype: Subtype
    public var spi: UInt32
    public var authenticator: [UInt8]

    public init(subtype: Subtype, spi: UInt32, authenticator: [UInt8]) {
        self.subtype = subtype
        self.spi = spi
        self.authenticator = authenticator
    }

    public enum Subtype: Hashable, Sendable, CodePoint {
        case mnHA, mnAAA
        case unknown(UInt8)
        public init(rawValue: UInt8) {
            switch rawValue {
            case 1: self = .mnHA
            case 2: self = .mnAAA
            default: self = .unknown(rawValue)
            }
        }
        public var rawValue: UInt8 {
            switch self {
            case .mnHA: 1
            case .mnAAA: 2
            case .unknown(let v): v
            }
        }
        public var name: String {
            switch self {
            case .mnHA: "MN-HA"
            case .mnAAA: "MN-AAA"
            case .unknown: "unknown"
            }
        }
    }
}

/// Vendor-Specific Mobility Option body (RFC 5094 section 3).
public struct VendorSpecificOption: Hashable, Sendable {
    public var vendorID: UInt32
    public var subtype: UInt8
    public var data: [UInt8]

    public init(vendorID: UInt32, subtype: UInt8, data: [UInt8]) {
        self.vendorID = vendorID
        self.subtype = subtype
        self.data = data
    }
}

/// Handoff Indicator values (RFC 5213 section 8.4).
public enum HandoffIndicator: Hashable, Sendable, CodePoint {
    case attachmentOverNewInterface, handoffBetweenInterfaces, handoffSameInterface
    case handoffStateUnknown, handoffStateNotChanged
    case unknown(UInt8)

    static let table: [(HandoffIndicator, UInt8, String)] = [
        (.attachmentOverNewInterface, 1, "Attachment over a new interface"),
        (.handoffBetweenInterfaces, 2, "Handoff between two different interfaces of the mobile node"),
        (.handoffSameInterface, 3, "Handoff between mobile access gateways for the same interface"),
        (.handoffStateUnknown, 4, "Handoff state unknown"),
        (.handoffStateNotChanged, 5, "Handoff state not changed (Re-registration)"),
    ]
    public init(rawValue: UInt8) { self = Self.lookup(rawValue, in: Self.table) ?? .unknown(rawValue) }
    public var rawValue: UInt8 { if case .unknown(let v) = self { v } else { Self.code(of: self, in: Self.table) } }
    public var name: String { Self.name(of: rawValue, in: Self.table) }
}

/// Access Technology Type values (RFC 5213 section 8.5).
public enum AccessTechnologyType: Hashable, Sendable, CodePoint {
    case virtual, ppp, ieee8023, ieee80211, ieee80216e, geran, utran, eutran, ehrpd, hrpd, oneXRTT, umb
    case unknown(UInt8)

    static let table: [(AccessTechnologyType, UInt8, String)] = [
        (.virtual, 1, "Virtual"), (.ppp, 2, "PPP"), (.ieee8023, 3, "IEEE 802.3"),
        (.ieee80211, 4, "IEEE 802.11a/b/g"), (.ieee80216e, 5, "IEEE 802.16e"),
        (.geran, 6, "3GPP GERAN"), (.utran, 7, "3GPP UTRAN"), (.eutran, 8, "3GPP E-UTRAN"),
        (.ehrpd, 9, "3GPP2 eHRPD"), (.hrpd, 10, "3GPP2 HRPD"), (.oneXRTT, 11, "3GPP2 1xRTT"),
        (.umb, 12, "3GPP2 UMB"),
    ]
    public init(rawValue: UInt8) { self = Self.lookup(rawValue, in: Self.table) ?? .unknown(rawValue) }
    public var rawValue: UInt8 { if case .unknown(let v) = self { v } else { Self.code(of: self, in: Self.table) } }
    public var name: String { Self.name(of: rawValue, in: Self.table) }
}

/// The Timestamp option's value (RFC 5213 section 8.8): seconds since
/// 1970-01-01 00:00 UTC in fixed point, the whole seconds in the high 48 bits
/// and 1/65536 fractions of a second in the low 16 bits.
public struct Timestamp: Hashable, Sendable, Comparable {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    public init(unixSeconds: Double) {
        let t = max(0, unixSeconds)
        let whole = UInt64(t.rounded(.down))
        let fraction = UInt64((t - Double(whole)) * 65536)
        rawValue = whole << 16 | min(fraction, 0xFFFF)
    }

    /// Whole seconds since the Unix epoch.
    public var seconds: UInt64 { rawValue >> 16 }
    /// Fractions of a second in units of 1/65536.
    public var fraction: UInt16 { UInt16(truncatingIfNeeded: rawValue) }
    public var unixSeconds: Double { Double(seconds) + Double(fraction) / 65536 }

    public static func < (a: Timestamp, b: Timestamp) -> Bool { a.rawValue < b.rawValue }
}
