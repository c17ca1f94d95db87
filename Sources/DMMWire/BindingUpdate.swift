/// Binding Update (RFC 6275 section 6.1.7), MH type 5; with the P flag set it
/// is a Proxy Binding Update (RFC 5213 section 8.1).
///
///                                    +-------------------------------+
///    offset 6 of the MH ->           |          Sequence #           |
///    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-------------------------------+
///    |A|H|L|K|M|R|P|F|T|B| Reserved  |           Lifetime            |
///    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-------------------------------+
///    |                       Mobility options                        |
public struct BindingUpdate: Hashable, Sendable {
    public var sequence: UInt16
    public var flags: Flags
    /// Lifetime in units of 4 seconds (RFC 6275); 0 asks for deregistration.
    public var lifetime: UInt16
    public var options: [MobilityOption]

    public init(sequence: UInt16, flags: Flags, lifetime: UInt16, options: [MobilityOption] = []) {
        self.sequence = sequence
        self.flags = flags
        self.lifetime = lifetime
        self.options = options
    }

    /// The 16-bit flags word; bits past B are reserved and kept as received.
    public struct Flags: OptionSet, Hashable, Sendable {
        public let rawValue: UInt16
        public init(rawValue: UInt16) { self.rawValue = rawValue }
        /// Acknowledge requested (RFC 6275).
        public static let acknowledge = Flags(rawValue: 0x8000)
        /// Home registration (RFC 6275).
        public static let homeRegistration = Flags(rawValue: 0x4000)
        /// Link-local address compatibility (RFC 6275).
        public static let linkLocalCompatibility = Flags(rawValue: 0x2000)
        /// Key management mobility capability (RFC 6275).
        public static let keyManagement = Flags(rawValue: 0x1000)
        /// MAP registration (RFC 5380).
        public static let mapRegistration = Flags(rawValue: 0x0800)
        /// Mobile router (RFC 3963).
        public static let mobileRouter = Flags(rawValue: 0x0400)
        /// Proxy registration (RFC 5213).
        public static let proxyRegistration = Flags(rawValue: 0x0200)
        /// Forcing UDP encapsulation (RFC 5555).
        public static let forceUDPEncapsulation = Flags(rawValue: 0x0100)
        /// TLV-header format (RFC 5845).
        public static let tlvHeaderFormat = Flags(rawValue: 0x0080)
        /// Bulk binding update (RFC 6602).
        public static let bulkBinding = Flags(rawValue: 0x0040)

        /// Each named flag with its letter, in wire order.
        public static let named: [(Flags, Character, String)] = [
            (.acknowledge, "A", "Acknowledge"), (.homeRegistration, "H", "Home Registration"),
            (.linkLocalCompatibility, "L", "Link-Local Compatibility"), (.keyManagement, "K", "Key Management Compatibility"),
            (.mapRegistration, "M", "MAP Registration"), (.mobileRouter, "R", "Mobile Router"),
            (.proxyRegistration, "P", "Proxy Registration"), (.forceUDPEncapsulation, "F", "Forcing UDP encapsulation"),
            (.tlvHeaderFormat, "T", "TLV-header format"), (.bulkBinding, "B", "Bulk Binding Update"),
        ]
    }

    static let fixedLength = 6

    func encodeBody(into w: inout ByteWriter) {
        w.u16(sequence)
        w.u16(flags.rawValue)
        w.u16(lifetime)
    }

    static func decodeBody(_ r: inout ByteReader) throws(WireError) -> BindingUpdate {
        let seq = try r.u16("sequence number")
        let flags = Flags(rawValue: try r.u16("flags"))
        let lifetime = try r.u16("lifetime")
        return BindingUpdate(sequence: seq, flags: flags, lifetime: lifetime, options: try MobilityOptionCodec.decode(&r))
    }
}
