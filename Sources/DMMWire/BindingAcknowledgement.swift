/// Binding Acknowledgement (RFC 6275 section 6.1.8), MH type 6; with the P
/// flag it is a Proxy Binding Acknowledgement (RFC 5213 section 8.2).
///
///                                    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
///    offset 6 of the MH ->           |    Status     |K|R|P|T|B|Rsvd |
///    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
///    |           Sequence #          |           Lifetime            |
///    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
///    |                       Mobility options                        |
public struct BindingAcknowledgement: Hashable, Sendable {
    public var status: BindingAckStatus
    public var flags: Flags
    public var sequence: UInt16
    /// Granted lifetime in units of 4 seconds.
    public var lifetime: UInt16
    public var options: [MobilityOption]

    public init(status: BindingAckStatus, flags: Flags, sequence: UInt16, lifetime: UInt16, options: [MobilityOption] = []) {
        self.status = status
        self.flags = flags
        self.sequence = sequence
        self.lifetime = lifetime
        self.options = options
    }

    public struct Flags: OptionSet, Hashable, Sendable {
        public let rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        /// Key management mobility capability (RFC 6275).
        public static let keyManagement = Flags(rawValue: 0x80)
        /// Mobile router (RFC 3963).
        public static let mobileRouter = Flags(rawValue: 0x40)
        /// Proxy registration (RFC 5213).
        public static let proxyRegistration = Flags(rawValue: 0x20)
        /// TLV-header format (RFC 5845).
        public static let tlvHeaderFormat = Flags(rawValue: 0x10)
        /// Bulk binding update (RFC 6602).
        public static let bulkBinding = Flags(rawValue: 0x08)

        public static let named: [(Flags, Character, String)] = [
            (.keyManagement, "K", "Key Management Compatibility"), (.mobileRouter, "R", "Mobile Router"),
            (.proxyRegistration, "P", "Proxy Registration"), (.tlvHeaderFormat, "T", "TLV-header format"),
            (.bulkBinding, "B", "Bulk Binding Update"),
        ]
    }

    static let fixedLength = 6

    func encodeBody(into w: inout ByteWriter) {
        w.u8(status.rawValue)
        w.u8(flags.rawValue)
        w.u16(sequence)
        w.u16(lifetime)
    }

    static func decodeBody(_ r: inout ByteReader) throws(WireError) -> BindingAcknowledgement {
        let status = BindingAckStatus(rawValue: try r.u8("status"))
        let flags = Flags(rawValue: try r.u8("flags"))
        let seq = try r.u16("sequence number")
        let lifetime = try r.u16("lifetime")
        return BindingAcknowledgement(status: status, flags: flags, sequence: seq, lifetime: lifetime,
                                      options: try MobilityOptionCodec.decode(&r))
    }
}

/// Binding Acknowledgement status codes: RFC 6275 section 6.1.8, RFC 3963
/// section 4.2, RFC 4285 section 8 and RFC 5213 section 8.9. Values below 128
/// mean the update was accepted.
public enum BindingAckStatus: Hashable, Sendable, CodePoint {
    case accepted, acceptedPrefixDiscoveryNecessary
    case reasonUnspecified, administrativelyProhibited, insufficientResources
    case homeRegistrationNotSupported, notHomeSubnet, notHomeAgentForThisMobileNode
    case duplicateAddressDetectionFailed, sequenceNumberOutOfWindow
    case expiredHomeNonceIndex, expiredCareOfNonceIndex, expiredNonces, registrationTypeChangeDisallowed
    case mobileRouterOperationNotPermitted, invalidPrefix, notAuthorizedForPrefix, forwardingSetupFailed
    case mipv6IDMismatch, mipv6MessageIDRequired, mipv6AuthFail
    case proxyRegistrationNotEnabled, notLMAForThisMobileNode, magNotAuthorizedForProxyRegistration
    case notAuthorizedForHomeNetworkPrefix, timestampMismatch, timestampLowerThanPreviousAccepted
    case missingHomeNetworkPrefixOption, bcePBUPrefixSetDoNotMatch, missingMNIdentifierOption
    case missingHandoffIndicatorOption, missingAccessTechTypeOption
    case unknown(UInt8)

    static let table: [(BindingAckStatus, UInt8, String)] = [
        (.accepted, 0, "Binding Update accepted"),
        (.acceptedPrefixDiscoveryNecessary, 1, "Accepted but prefix discovery necessary"),
        (.reasonUnspecified, 128, "Reason unspecified"),
        (.administrativelyProhibited, 129, "Administratively prohibited"),
        (.insufficientResources, 130, "Insufficient resources"),
        (.homeRegistrationNotSupported, 131, "Home registration not supported"),
        (.notHomeSubnet, 132, "Not home subnet"),
        (.notHomeAgentForThisMobileNode, 133, "Not home agent for this mobile node"),
        (.duplicateAddressDetectionFailed, 134, "Duplicate Address Detection failed"),
        (.sequenceNumberOutOfWindow, 135, "Sequence number out of window"),
        (.expiredHomeNonceIndex, 136, "Expired home nonce index"),
        (.expiredCareOfNonceIndex, 137, "Expired care-of nonce index"),
        (.expiredNonces, 138, "Expired nonces"),
        (.registrationTypeChangeDisallowed, 139, "Registration type change disallowed"),
        (.mobileRouterOperationNotPermitted, 140, "Mobile Router Operation not permitted"),
        (.invalidPrefix, 141, "Invalid Prefix"),
        (.notAuthorizedForPrefix, 142, "Not Authorized for Prefix"),
        (.forwardingSetupFailed, 143, "Forwarding Setup failed"),
        (.mipv6IDMismatch, 144, "MIPV6-ID-MISMATCH"),
        (.mipv6MessageIDRequired, 145, "MIPV6-MESG-ID-REQD"),
        (.mipv6AuthFail, 146, "MIPV6-AUTH-FAIL"),
        (.proxyRegistrationNotEnabled, 152, "PROXY_REG_NOT_ENABLED"),
        (.notLMAForThisMobileNode, 153, "NOT_LMA_FOR_THIS_MOBILE_NODE"),
        (.magNotAuthorizedForProxyRegistration, 154, "MAG_NOT_AUTHORIZED_FOR_PROXY_REG"),
        (.notAuthorizedForHomeNetworkPrefix, 155, "NOT_AUTHORIZED_FOR_HOME_NETWORK_PREFIX"),
        (.timestampMismatch, 156, "TIMESTAMP_MISMATCH"),
        (.timestampLowerThanPreviousAccepted, 157, "TIMESTAMP_LOWER_THAN_PREV_ACCEPTED"),
        (.missingHomeNetworkPrefixOption, 158, "MISSING_HOME_NETWORK_PREFIX_OPTION"),
        (.bcePBUPrefixSetDoNotMatch, 159, "BCE_PBU_PREFIX_SET_DO_NOT_MATCH"),
        (.missingMNIdentifierOption, 160, "MISSING_MN_IDENTIFIER_OPTION"),
        (.missingHandoffIndicatorOption, 161, "MISSING_HANDOFF_INDICATOR_OPTION"),
        (.missingAccessTechTypeOption, 162, "MISSING_ACCESS_TECH_TYPE_OPTION"),
    ]
    public init(rawValue: UInt8) { self = Self.lookup(rawValue, in: Self.table) ?? .unknown(rawValue) }
    public var rawValue: UInt8 { if case .unknown(let v) = self { v } else { Self.code(of: self, in: Self.table) } }
    public var name: String { Self.name(of: rawValue, in: Self.table) }
    public var isAccepted: Bool { rawValue < 128 }
}
