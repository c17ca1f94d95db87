import CNetlink
import DMMWire

/// One netlink request: its type, flags and the payload after the 16-byte
/// header (a family header such as rtmsg, then attributes). Netlink fields are
/// in host byte order; addresses inside attributes are in network order.
public struct NetlinkMessage: Sendable, Hashable {
    public var type: UInt16
    public var flags: UInt16
    public var payload: [UInt8]

    public init(type: UInt16, flags: UInt16, payload: [UInt8] = []) {
        self.type = type
        self.flags = flags
        self.payload = payload
    }

    static let headerLength = 16

    /// Appends the message with its header, padded to 4 bytes.
    func encode(sequence: UInt32, into w: inout NetlinkWriter) {
        w.u32(UInt32(Self.headerLength + payload.count))
        w.u16(type)
        w.u16(flags)
        w.u32(sequence)
        w.u32(0)  // port id: the kernel
        w.bytes += payload
        w.align()
    }

    var encodedLength: Int { (Self.headerLength + payload.count + 3) & ~3 }
}

/// Builds netlink payloads: little-endian fields and type-length-value
/// attributes padded to 4 bytes (NLA_ALIGN).
struct NetlinkWriter {
    var bytes: [UInt8] = []

    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func u16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    mutating func align() { bytes += repeatElement(0, count: (4 - bytes.count % 4) % 4) }

    mutating func attribute(_ type: UInt16, _ data: [UInt8]) {
        u16(UInt16(4 + data.count))
        u16(type)
        bytes += data
        align()
    }
    /// An attribute whose `length` data bytes `body` appends directly.
    mutating func attribute(_ type: UInt16, length: Int, _ body: (inout NetlinkWriter) -> Void) {
        u16(UInt16(4 + length))
        u16(type)
        body(&self)
        align()
    }
    mutating func attribute(_ type: UInt16, u8 v: UInt8) { attribute(type, length: 1) { $0.u8(v) } }
    mutating func attribute(_ type: UInt16, u16 v: UInt16) { attribute(type, length: 2) { $0.u16(v) } }
    mutating func attribute(_ type: UInt16, u32 v: UInt32) { attribute(type, length: 4) { $0.u32(v) } }
    mutating func attribute(_ type: UInt16, address: IPv6Address) { attribute(type, length: 16) { $0.address(address) } }

    /// 16 bytes in network order.
    mutating func address(_ a: IPv6Address) {
        withUnsafeBytes(of: a.high.bigEndian) { bytes += $0 }
        withUnsafeBytes(of: a.low.bigEndian) { bytes += $0 }
    }
    mutating func attribute(_ type: UInt16, string: String) { attribute(type, Array(string.utf8) + [0]) }

    /// A nested attribute (NLA_F_NESTED) holding what `body` writes.
    mutating func nested(_ type: UInt16, _ body: (inout NetlinkWriter) -> Void) {
        var inner = NetlinkWriter()
        body(&inner)
        attribute(type | UInt16(NLA_F_NESTED), inner.bytes)
    }
}

/// The interface index at offset 4 of an ifinfomsg or ndmsg, in host
/// (little-endian) byte order.
func interfaceIndex(in payload: [UInt8]) -> Int32 {
    Int32(bitPattern: UInt32(payload[4]) | UInt32(payload[5]) << 8 | UInt32(payload[6]) << 16 | UInt32(payload[7]) << 24)
}

/// Reads the attributes of a payload, from `offset` to the end; a malformed
/// attribute ends the walk rather than trapping.
struct NetlinkAttributes {
    private(set) var values: [UInt16: [UInt8]] = [:]

    init(_ bytes: [UInt8], from offset: Int) {
        var i = offset
        while i + 4 <= bytes.count {
            let length = Int(bytes[i]) | Int(bytes[i + 1]) << 8
            let type = (UInt16(bytes[i + 2]) | UInt16(bytes[i + 3]) << 8) & 0x3FFF  // NLA_TYPE_MASK: without the nested and byte-order flags
            guard length >= 4, i + length <= bytes.count else { break }
            values[type] = Array(bytes[i + 4..<i + length])
            i += (length + 3) & ~3
        }
    }

    subscript(type: UInt16) -> [UInt8]? { values[type] }

    func u32(_ type: UInt16) -> UInt32? {
        guard let v = values[type], v.count >= 4 else { return nil }
        return UInt32(v[0]) | UInt32(v[1]) << 8 | UInt32(v[2]) << 16 | UInt32(v[3]) << 24
    }

    func u16(_ type: UInt16) -> UInt16? {
        guard let v = values[type], v.count >= 2 else { return nil }
        return UInt16(v[0]) | UInt16(v[1]) << 8
    }

    func address(_ type: UInt16) -> IPv6Address? { values[type].flatMap(IPv6Address.init(bytes:)) }

    func string(_ type: UInt16) -> String? {
        values[type].map { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }
}
