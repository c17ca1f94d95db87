/// Capture files. The writer makes classic pcap files (the libpcap format)
/// with link type LINKTYPE_IPV6 (229): each record is one IPv6 packet. The
/// reader takes classic pcap (either byte order, micro- or nanosecond) and
/// pcapng, with raw IP, Ethernet and Linux cooked (SLL, SLL2) link types, so
/// captures made by tcpdump, tshark or dumpcap on a router decode too.
public struct PcapWriter: Sendable {
    public static let linkTypeIPv6: UInt32 = 229
    public private(set) var bytes: [UInt8]

    public init(snapLength: UInt32 = 65535) {
        var w = LittleEndianWriter()
        w.u32(0xA1B2_C3D4)  // magic, microsecond timestamps
        w.u16(2)
        w.u16(4)  // version 2.4
        w.u32(0)  // thiszone
        w.u32(0)  // sigfigs
        w.u32(snapLength)
        w.u32(Self.linkTypeIPv6)
        bytes = w.bytes
    }

    /// Appends one packet captured at `time` (seconds since the Unix epoch).
    public mutating func append(packet: [UInt8], time: Double = 0) {
        var w = LittleEndianWriter()
        let seconds = max(0, time)
        w.u32(UInt32(truncatingIfNeeded: Int64(seconds)))
        w.u32(UInt32((seconds - seconds.rounded(.down)) * 1_000_000))
        w.u32(UInt32(packet.count))
        w.u32(UInt32(packet.count))
        bytes += w.bytes
        bytes += packet
    }
}

struct LittleEndianWriter {
    var bytes: [UInt8] = []
    mutating func u16(_ v: UInt16) { bytes += [UInt8(truncatingIfNeeded: v), UInt8(v >> 8)] }
    mutating func u32(_ v: UInt32) { for s in stride(from: 0, to: 32, by: 8) { bytes.append(UInt8(truncatingIfNeeded: v >> UInt32(s))) } }
}

/// One record of a capture file: when, and the IPv6 packet it holds (nil when
/// the frame is not IPv6, with the reason in `skipped`).
public struct PcapRecord: Sendable {
    public var number: Int
    public var time: Double
    public var ipv6: [UInt8]?
    public var skipped: String?
}

public enum PcapReader {
    /// Reads every record; a damaged file is an error naming the offset.
    public static func read(_ bytes: [UInt8]) throws(WireError) -> [PcapRecord] {
        guard bytes.count >= 4 else { throw WireError(.truncated, "file too short for a capture header", at: 0) }
        let magicBE = UInt32(bytes[0]) << 24 | UInt32(bytes[1]) << 16 | UInt32(bytes[2]) << 8 | UInt32(bytes[3])
        if magicBE == 0x0A0D_0D0A { return try readPcapNG(bytes) }
        return try readClassic(bytes)
    }

    static func readClassic(_ bytes: [UInt8]) throws(WireError) -> [PcapRecord] {
        var r = EndianReader(bytes: bytes, littleEndian: true)
        let magic = try r.u32("magic")
        let nanos: Bool
        switch magic {
        case 0xA1B2_C3D4: nanos = false
        case 0xA1B2_3C4D: nanos = true
        case 0xD4C3_B2A1: r.littleEndian = false; nanos = false
        case 0x4D3C_B2A1: r.littleEndian = false; nanos = true
        default: throw WireError(.unknownFormat, "not a pcap or pcapng file (magic 0x\(String(magic, radix: 16)))", at: 0)
        }
        try r.skip(4 + 4 + 4 + 4, "file header")
        let linkType = try r.u32("link type") & 0xFFFF
        var records: [PcapRecord] = []
        while r.offset < bytes.count {
            let sec = try r.u32("record seconds")
            let frac = try r.u32("record fraction")
            let captured = Int(try r.u32("captured length"))
            try r.skip(4, "original length")
            let frame = try r.take(captured, "packet data")
            let time = Double(sec) + Double(frac) / (nanos ? 1e9 : 1e6)
            records.append(record(records.count + 1, time, frame, linkType: linkType))
        }
        return records
    }

    static func readPcapNG(_ bytes: [UInt8]) throws(WireError) -> [PcapRecord] {
        var r = EndianReader(bytes: bytes, littleEndian: true)
        var linkTypes: [UInt32] = []
        /// Timestamp units per second, by interface.
        var resolutions: [Double] = []
        var records: [PcapRecord] = []
        while r.offset < bytes.count {
            let start = r.offset
            let blockType = try r.u32("block type")
            if blockType == 0x0A0D_0D0A {
                // Section Header: the byte-order magic decides the endianness.
                guard start + 12 <= bytes.count else { throw WireError(.truncated, "truncated section header", at: start) }
                r.littleEndian = bytes[start + 8] == 0x4D
                linkTypes = []
                resolutions = []
            }
            let length = Int(try r.u32("block length"))
            guard length >= 12, length % 4 == 0, start + length <= bytes.count else {
                throw WireError(.badLength, "bad pcapng block length \(length)", at: start + 4)
            }
            var body = EndianReader(bytes: Array(bytes[start + 8..<start + length - 4]), littleEndian: r.littleEndian)
            switch blockType {
            case 1:  // Interface Description
                linkTypes.append(UInt32(try body.u16("link type")))
                try body.skip(2 + 4, "reserved and snap length")
                resolutions.append(try timestampResolution(options: &body))
            case 6:  // Enhanced Packet
                let interface = Int(try body.u32("interface ID"))
                let high = UInt64(try body.u32("timestamp high"))
                let low = UInt64(try body.u32("timestamp low"))
                let captured = Int(try body.u32("captured length"))
                try body.skip(4, "original length")
                let frame = try body.take(captured, "packet data")
                guard interface < linkTypes.count else {
                    throw WireError(.badValue, "packet on undeclared interface \(interface)", at: start + 8)
                }
                records.append(record(records.count + 1, Double(high << 32 | low) / resolutions[interface], frame,
                                      linkType: linkTypes[interface]))
            case 3:  // Simple Packet: first interface, no timestamp
                let original = Int(try body.u32("original length"))
                let frame = try body.take(min(original, body.bytes.count - 4), "packet data")
                guard !linkTypes.isEmpty else { throw WireError(.badValue, "packet before any interface", at: start) }
                records.append(record(records.count + 1, 0, frame, linkType: linkTypes[0]))
            default:
                break
            }
            r.offset = start + length
        }
        return records
    }

    /// Timestamp units per second from an Interface Description's options:
    /// if_tsresol (code 9) is 10^-n, or 2^-n with the top bit set; without
    /// it, microseconds (tshark writes nanoseconds).
    static func timestampResolution(options body: inout EndianReader) throws(WireError) -> Double {
        while body.offset + 4 <= body.bytes.count {
            let code = try body.u16("option code")
            let length = Int(try body.u16("option length"))
            if code == 0 { break }
            let value = try body.take(length, "option value")
            try body.skip((4 - length % 4) % 4, "option padding")
            if code == 9, let n = value.first {
                return n & 0x80 == 0 ? pow10(Int(n)) : Double(sign: .plus, exponent: Int(n & 0x7F), significand: 1)
            }
        }
        return 1e6
    }

    static func pow10(_ n: Int) -> Double { (0..<n).reduce(1.0) { r, _ in r * 10 } }

    /// The IPv6 packet inside a frame of the given link type.
    static func record(_ number: Int, _ time: Double, _ frame: [UInt8], linkType: UInt32) -> PcapRecord {
        func ipv6(at offset: Int, etherType: UInt16?) -> PcapRecord {
            if let etherType, etherType != 0x86DD {
                return PcapRecord(number: number, time: time, skipped: "EtherType 0x\(String(etherType, radix: 16)), not IPv6")
            }
            guard offset <= frame.count else {
                return PcapRecord(number: number, time: time, skipped: "frame too short for its link-layer header")
            }
            return PcapRecord(number: number, time: time, ipv6: Array(frame[offset...]))
        }
        func be16(_ i: Int) -> UInt16? { i + 1 < frame.count ? UInt16(frame[i]) << 8 | UInt16(frame[i + 1]) : nil }
        switch linkType {
        case 101, 229:  // raw IP, raw IPv6
            return ipv6(at: 0, etherType: nil)
        case 1:  // Ethernet, with any 802.1Q tags
            var offset = 12
            while let t = be16(offset), t == 0x8100 || t == 0x88A8 { offset += 4 }
            guard let t = be16(offset) else { return ipv6(at: frame.count + 1, etherType: nil) }
            return ipv6(at: offset + 2, etherType: t)
        case 113:  // Linux cooked v1: protocol at 14
            guard let t = be16(14) else { return ipv6(at: frame.count + 1, etherType: nil) }
            return ipv6(at: 16, etherType: t)
        case 276:  // Linux cooked v2: protocol at 0
            guard let t = be16(0) else { return ipv6(at: frame.count + 1, etherType: nil) }
            return ipv6(at: 20, etherType: t)
        default:
            return PcapRecord(number: number, time: time, skipped: "link type \(linkType) is not read")
        }
    }
}

/// A reader for capture files, whose byte order is set by the file itself.
struct EndianReader {
    let bytes: [UInt8]
    var littleEndian: Bool
    var offset = 0

    init(bytes: [UInt8], littleEndian: Bool) {
        self.bytes = bytes
        self.littleEndian = littleEndian
    }

    mutating func take(_ n: Int, _ what: String) throws(WireError) -> [UInt8] {
        guard n >= 0, n <= bytes.count - offset else {
            throw WireError(.truncated, "truncated \(what): need \(n) bytes, \(bytes.count - offset) left", at: offset)
        }
        defer { offset += n }
        return Array(bytes[offset..<offset + n])
    }

    mutating func skip(_ n: Int, _ what: String) throws(WireError) { _ = try take(n, what) }

    mutating func u16(_ what: String) throws(WireError) -> UInt16 {
        let b = try take(2, what)
        return littleEndian ? UInt16(b[1]) << 8 | UInt16(b[0]) : UInt16(b[0]) << 8 | UInt16(b[1])
    }

    mutating func u32(_ what: String) throws(WireError) -> UInt32 {
        let b = try take(4, what)
        let v = b.reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        return littleEndian ? v.byteSwapped : v
    }
}
