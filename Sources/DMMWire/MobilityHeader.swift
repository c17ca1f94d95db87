/// The IPv6 Mobility Header (RFC 6275 section 6.1.1), IPv6 next header 135.
///
///     0                   1                   2                   3
///     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
///    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
///    | Payload Proto |  Header Len   |   MH Type     |   Reserved    |  offset 0
///    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
///    |           Checksum            |                               |  offset 4
///    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               |
///    .                       Message Data                            .  offset 6
///
/// Header Len is the length in 8-octet units, not counting the first 8.
public struct MobilityHeader: Hashable, Sendable {
    /// IPv6 next-header value of the Mobility Header.
    public static let protocolNumber: UInt8 = 135
    /// Offset of the checksum (what `IPV6_CHECKSUM` is set to on MH sockets).
    public static let checksumOffset = 4
    /// Header Len is 8 bits of 8-octet units: at most 2048 bytes.
    public static let maximumLength = 2048

    /// Payload Proto: 59 (no next header) unless a payload follows.
    public var payloadProto: UInt8
    public var message: MobilityMessage

    public init(_ message: MobilityMessage, payloadProto: UInt8 = 59) {
        self.message = message
        self.payloadProto = payloadProto
    }

    /// The encoded header. With addresses the checksum is computed; without
    /// it is left 0 for a socket whose kernel fills it in (`IPV6_CHECKSUM`).
    public func encode(source: IPv6Address? = nil, destination: IPv6Address? = nil) throws(WireError) -> [UInt8] {
        var w = ByteWriter(capacity: 256)
        w.u8(payloadProto)
        w.u8(0)  // Header Len, set below
        w.u8(message.type)
        w.u8(0)  // Reserved
        w.u16(0)  // Checksum, set below
        switch message {
        case .bindingUpdate(let m): m.encodeBody(into: &w)
        case .bindingAcknowledgement(let m): m.encodeBody(into: &w)
        case .bindingError(let m): m.encodeBody(into: &w)
        case .updateNotification(let m): m.encodeBody(into: &w)
        case .updateNotificationAcknowledgement(let m): m.encodeBody(into: &w)
        case .unknown(_, let data): w.append(data)
        }
        try MobilityOptionCodec.encode(message.options, into: &w)
        guard w.count <= Self.maximumLength else {
            throw WireError(.tooLong, "Mobility Header of \(w.count) bytes exceeds \(Self.maximumLength)", at: 1)
        }
        w.set8(UInt8(w.count / 8 - 1), at: 1)
        if let source, let destination {
            w.set16(Checksum.compute(w.bytes, range: 0..<w.count, checksumOffset: Self.checksumOffset,
                                     source: source, destination: destination, nextHeader: Self.protocolNumber),
                    at: Self.checksumOffset)
        }
        return w.bytes
    }

    /// Decodes exactly one Mobility Header filling `bytes[start..<end]`.
    public static func decode(_ bytes: [UInt8], from start: Int = 0, to end: Int? = nil,
                              checksum: Checksum.Policy) throws(WireError) -> MobilityHeader {
        let end = min(end ?? bytes.count, bytes.count)
        var r = ByteReader(bytes, from: start, to: end)
        let proto = try r.u8("payload proto")
        let headerLen = try r.u8("header length")
        let type = try r.u8("MH type")
        try r.skip(1, "reserved")
        let stored = try r.u16("checksum")
        let length = (Int(headerLen) + 1) * 8
        if length > end - start {
            throw WireError(.truncated, "header length says \(length) bytes, only \(end - start) present", at: start + 1)
        }
        if length < end - start {
            throw WireError(.badLength, "\(end - start - length) bytes after the \(length)-byte Mobility Header", at: start + length)
        }
        if case .verify(let src, let dst) = checksum {
            let computed = Checksum.compute(bytes, range: start..<start + length, checksumOffset: checksumOffset,
                                            source: src, destination: dst, nextHeader: protocolNumber)
            if computed != stored && !(computed == 0xFFFF && stored == 0) {
                throw WireError(.badChecksum, "bad checksum 0x\(String(stored, radix: 16)), expected 0x\(String(computed, radix: 16))",
                                at: start + checksumOffset)
            }
        }
        var body = ByteReader(bytes, from: start + 6, to: start + length)
        func decode<M: MobilityMessageBody>(_: M.Type) throws(WireError) -> M {
            // RFC 6275 section 9.2: a Header Len too small for the type is an error.
            if body.remaining < M.fixedLength {
                throw WireError(.badLength, "header length \(length) too short for \(M.name) (needs \(6 + M.fixedLength) bytes)",
                                at: start + 1)
            }
            return try M.decodeBody(&body)
        }
        let message: MobilityMessage
        switch MobilityMessage.Kind(rawValue: type) {
        case .bindingUpdate: message = .bindingUpdate(try decode(BindingUpdate.self))
        case .bindingAcknowledgement: message = .bindingAcknowledgement(try decode(BindingAcknowledgement.self))
        case .bindingError: message = .bindingError(try decode(BindingError.self))
        case .updateNotification: message = .updateNotification(try decode(UpdateNotification.self))
        case .updateNotificationAcknowledgement:
            message = .updateNotificationAcknowledgement(try decode(UpdateNotificationAcknowledgement.self))
        case nil: message = .unknown(type: type, data: try body.take(body.remaining, "message data"))
        }
        return MobilityHeader(message, payloadProto: proto)
    }
}

/// The messages of the Mobility Header this system speaks; any other type is
/// kept whole as `.unknown`.
public enum MobilityMessage: Hashable, Sendable {
    case bindingUpdate(BindingUpdate)
    case bindingAcknowledgement(BindingAcknowledgement)
    case bindingError(BindingError)
    case updateNotification(UpdateNotification)
    case updateNotificationAcknowledgement(UpdateNotificationAcknowledgement)
    /// Any other MH type: the bytes after the checksum, padding included.
    case unknown(type: UInt8, data: [UInt8])

    public enum Kind: UInt8, Sendable {
        case bindingUpdate = 5, bindingAcknowledgement = 6, bindingError = 7
        case updateNotification = 19, updateNotificationAcknowledgement = 20
    }

    public var type: UInt8 {
        switch self {
        case .bindingUpdate: Kind.bindingUpdate.rawValue
        case .bindingAcknowledgement: Kind.bindingAcknowledgement.rawValue
        case .bindingError: Kind.bindingError.rawValue
        case .updateNotification: Kind.updateNotification.rawValue
        case .updateNotificationAcknowledgement: Kind.updateNotificationAcknowledgement.rawValue
        case .unknown(let t, _): t
        }
    }

    /// The options the message carries (none for an unknown type).
    public var options: [MobilityOption] {
        switch self {
        case .bindingUpdate(let m): m.options
        case .bindingAcknowledgement(let m): m.options
        case .bindingError(let m): m.options
        case .updateNotification(let m): m.options
        case .updateNotificationAcknowledgement(let m): m.options
        case .unknown: []
        }
    }
}

/// What each message type's codec provides to the Mobility Header framing: the
/// fields between the checksum and the options.
protocol MobilityMessageBody {
    /// Bytes of fixed fields after the 6-byte header.
    static var fixedLength: Int { get }
    static var name: String { get }
    func encodeBody(into w: inout ByteWriter)
    static func decodeBody(_ r: inout ByteReader) throws(WireError) -> Self
}

extension BindingUpdate: MobilityMessageBody { static let name = "Binding Update" }
extension BindingAcknowledgement: MobilityMessageBody { static let name = "Binding Acknowledgement" }
extension BindingError: MobilityMessageBody { static let name = "Binding Error" }
extension UpdateNotification: MobilityMessageBody { static let name = "Update Notification" }
extension UpdateNotificationAcknowledgement: MobilityMessageBody {
    static let name = "Update Notification Acknowledgement"
}
