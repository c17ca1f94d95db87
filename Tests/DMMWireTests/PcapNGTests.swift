import Testing

@testable import DMMWire

/// pcapng timestamps in the unit the Interface Description gives (if_tsresol):
/// tshark's live captures are in nanoseconds, files converted from pcap in
/// microseconds.
struct PcapNGTests {
    static func le16(_ v: Int) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF)] }
    static func le32(_ v: Int) -> [UInt8] { (0..<4).map { UInt8(v >> (8 * $0) & 0xFF) } }

    static func block(_ type: Int, _ body: [UInt8]) -> [UInt8] {
        let length = 12 + body.count
        return le32(type) + le32(length) + body + le32(length)
    }

    /// A section with one raw-IPv6 interface and one packet at `ticks`.
    static func file(resolution: UInt8?, ticks: UInt64, packet: [UInt8]) -> [UInt8] {
        let section = block(0x0A0D_0D0A, le32(0x1A2B_3C4D) + le16(1) + le16(0) + [UInt8](repeating: 0xFF, count: 8))
        var options: [UInt8] = []
        if let resolution { options = le16(9) + le16(1) + [resolution, 0, 0, 0] + le16(0) + le16(0) }
        let interface = block(1, le16(229) + le16(0) + le32(65535) + options)
        let padded = packet + [UInt8](repeating: 0, count: (4 - packet.count % 4) % 4)
        let enhanced = block(6, le32(0) + le32(Int(ticks >> 32)) + le32(Int(ticks & 0xFFFF_FFFF)) + le32(packet.count)
                                 + le32(packet.count) + padded)
        return section + interface + enhanced
    }

    @Test(arguments: [
        (UInt8?.none, UInt64(1_795_000_000_250_000), 1_795_000_000.25),
        (UInt8(6), UInt64(1_795_000_000_250_000), 1_795_000_000.25),
        (UInt8(9), UInt64(1_795_000_000_250_000_000), 1_795_000_000.25),
        (UInt8(0x80 | 10), UInt64(1_795_000_000 * 1024 + 256), 1_795_000_000.25),
    ])
    func timestampsInTheInterfacesUnit(resolution: UInt8?, ticks: UInt64, seconds: Double) throws {
        let packet = try IPv6Packet(source: IPv6Address("2001:db8::1")!, destination: IPv6Address("2001:db8::2")!,
                                    payload: .other(protocol: 59, bytes: [])).encode()
        let records = try PcapReader.read(Self.file(resolution: resolution, ticks: ticks, packet: packet))
        #expect(records.count == 1)
        #expect(records.first?.ipv6 == packet)
        #expect(abs((records.first?.time ?? 0) - seconds) < 1e-6)
    }
}
