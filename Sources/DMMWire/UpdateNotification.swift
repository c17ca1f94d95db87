/// Update Notification (UPN, RFC 7077 section 4.1), MH type 19: an anchor
/// tells a mobile access gateway that a session changed.
///
///                                    +-------------------------------+
///    offset 6 of the MH ->           |        Sequence Number        |
///    +---------------+-+-+-----------+-------------------------------+
///    | Notification  |A|D|                Reserved                   |
///    |    Reason     | | |                                           |
///    +---------------+-+-+-------------------------------------------+
///    |                       Mobility options                        |
public struct UpdateNotification: Hashable, Sendable {
    public var sequence: UInt16
    public var reason: Reason
    /// A: the sender asks for an Update Notification Acknowledgement.
    public var acknowledgeRequested: Bool
    /// D: the notification concerns a deregistration (RFC 7077).
    public var deregistration: Bool
    public var options: [MobilityOption]

    public init(sequence: UInt16, reason: Reason, acknowledgeRequested: Bool, deregistration: Bool = false,
                options: [MobilityOption] = []) {
        self.sequence = sequence
        self.reason = reason
        self.acknowledgeRequested = acknowledgeRequested
        self.deregistration = deregistration
        self.options = options
    }

    /// Notification reasons (RFC 7077 section 6 registry).
    public enum Reason: Hashable, Sendable, CodePoint {
        case forceReregistration, updateSessionParameters, vendorSpecificReason, aniParametersRequested
        case unknown(UInt8)

        static let table: [(Reason, UInt8, String)] = [
            (.forceReregistration, 1, "FORCE-REREGISTRATION"),
            (.updateSessionParameters, 2, "UPDATE-SESSION-PARAMETERS"),
            (.vendorSpecificReason, 3, "VENDOR-SPECIFIC-REASON"),
            (.aniParametersRequested, 4, "ANI-PARAMS-REQUESTED"),
        ]
        public init(rawValue: UInt8) { self = Self.lookup(rawValue, in: Self.table) ?? .unknown(rawValue) }
        public var rawValue: UInt8 { if case .unknown(let v) = self { v } else { Self.code(of: self, in: Self.table) } }
        public var name: String { Self.name(of: rawValue, in: Self.table) }
    }

    static let fixedLength = 6

    func encodeBody(into w: inout ByteWriter) {
        w.u16(sequence)
        w.u8(reason.rawValue)
        w.u8((acknowledgeRequested ? 0x80 : 0) | (deregistration ? 0x40 : 0))
        w.u16(0)
    }

    static func decodeBody(_ r: inout ByteReader) throws(WireError) -> UpdateNotification {
        let seq = try r.u16("sequence number")
        let reason = Reason(rawValue: try r.u8("notification reason"))
        let flags = try r.u8("flags")
        try r.skip(2, "reserved")
        return UpdateNotification(sequence: seq, reason: reason, acknowledgeRequested: flags & 0x80 != 0,
                                  deregistration: flags & 0x40 != 0, options: try MobilityOptionCodec.decode(&r))
    }
}

/// Update Notification Acknowledgement (UPA, RFC 7077 section 4.2), MH type 20.
///
///                                    +-------------------------------+
///    offset 6 of the MH ->           |        Sequence Number        |
///    +---------------+---------------+-------------------------------+
///    |    Status     |                  Reserved                     |
///    +---------------+-----------------------------------------------+
///    |                       Mobility options                        |
public struct UpdateNotificationAcknowledgement: Hashable, Sendable {
    public var sequence: UInt16
    public var status: Status
    public var options: [MobilityOption]

    public init(sequence: UInt16, status: Status, options: [MobilityOption] = []) {
        self.sequence = sequence
        self.status = status
        self.options = options
    }

    /// UPA status codes (RFC 7077 section 6 registry); below 128 is success.
    public enum Status: Hashable, Sendable, CodePoint {
        case success, failedToUpdateSessionParameters, missingVendorSpecificOption
        case unknown(UInt8)

        static let table: [(Status, UInt8, String)] = [
            (.success, 0, "Success"),
            (.failedToUpdateSessionParameters, 128, "FAILED-TO-UPDATE-SESSION-PARAMETERS"),
            (.missingVendorSpecificOption, 129, "MISSING-VENDOR-SPECIFIC-OPTION"),
        ]
        public init(rawValue: UInt8) { self = Self.lookup(rawValue, in: Self.table) ?? .unknown(rawValue) }
        public var rawValue: UInt8 { if case .unknown(let v) = self { v } else { Self.code(of: self, in: Self.table) } }
        public var name: String { Self.name(of: rawValue, in: Self.table) }
    }

    static let fixedLength = 6

    func encodeBody(into w: inout ByteWriter) {
        w.u16(sequence)
        w.u8(status.rawValue)
        w.u8(0)
        w.u16(0)
    }

    static func decodeBody(_ r: inout ByteReader) throws(WireError) -> UpdateNotificationAcknowledgement {
        let seq = try r.u16("sequence number")
        let status = Status(rawValue: try r.u8("status"))
        try r.skip(3, "reserved")
        return UpdateNotificationAcknowledgement(sequence: seq, status: status, options: try MobilityOptionCodec.decode(&r))
    }
}
