/// Binding Error (RFC 6275 section 6.1.9), MH type 7.
///
///                                    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
///    offset 6 of the MH ->           |     Status    |   Reserved    |
///    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
///    |                          Home Address                         |
///    |                          (128 bits)                           |
///    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
///    |                       Mobility options                        |
public struct BindingError: Hashable, Sendable {
    public var status: Status
    public var homeAddress: IPv6Address
    public var options: [MobilityOption]

    public init(status: Status, homeAddress: IPv6Address, options: [MobilityOption] = []) {
        self.status = status
        self.homeAddress = homeAddress
        self.options = options
    }

    public enum Status: Hashable, Sendable, CodePoint {
        case unknownBindingForHomeAddressDestinationOption, unrecognizedMHType
        case unknown(UInt8)

        static let table: [(Status, UInt8, String)] = [
            (.unknownBindingForHomeAddressDestinationOption, 1, "Unknown binding for Home Address destination option"),
            (.unrecognizedMHType, 2, "Unrecognized MH Type value"),
        ]
        public init(rawValue: UInt8) { self = Self.lookup(rawValue, in: Self.table) ?? .unknown(rawValue) }
        public var rawValue: UInt8 { if case .unknown(let v) = self { v } else { Self.code(of: self, in: Self.table) } }
        public var name: String { Self.name(of: rawValue, in: Self.table) }
    }

    static let fixedLength = 18

    func encodeBody(into w: inout ByteWriter) {
        w.u8(status.rawValue)
        w.u8(0)
        w.address(homeAddress)
    }

    static func decodeBody(_ r: inout ByteReader) throws(WireError) -> BindingError {
        let status = Status(rawValue: try r.u8("status"))
        try r.skip(1, "reserved")
        let home = try r.address("home address")
        return BindingError(status: status, homeAddress: home, options: try MobilityOptionCodec.decode(&r))
    }
}
