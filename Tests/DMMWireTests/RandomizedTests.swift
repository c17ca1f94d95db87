import Testing

@testable import DMMWire

/// Round trips of random valid values, and random or mutated bytes that the
/// decoders must refuse with an error, never a trap.
struct RandomizedTests {
    static let seeds: [UInt64] = Array(1...8)

    @Test(arguments: seeds)
    func mobilityHeadersRoundTrip(seed: UInt64) throws {
        var g = Generate(seed: seed)
        for _ in 0..<2000 {
            let mh = g.mobilityHeader()
            let (s, d) = (g.address(), g.address())
            let bytes = try mh.encode(source: s, destination: d)
            #expect(bytes.count % 8 == 0 && bytes.count == (Int(bytes[1]) + 1) * 8)
            let decoded = try MobilityHeader.decode(bytes, checksum: .verify(source: s, destination: d))
            #expect(decoded == mh, "seed \(seed)")
        }
    }

    @Test(arguments: seeds)
    func optionsMeetTheirAlignment(seed: UInt64) throws {
        var g = Generate(seed: seed)
        for _ in 0..<500 {
            let options = g.mobilityOptions()
            let bytes = try MobilityHeader(.bindingUpdate(BindingUpdate(sequence: 1, flags: [], lifetime: 1, options: options))).encode()
            var offset = 12
            var seen: [MobilityOption] = []
            while offset < bytes.count {
                if bytes[offset] == 0 { offset += 1; continue }
                let length = Int(bytes[offset + 1])
                if bytes[offset] != 1 {
                    let option = options[seen.count]
                    #expect(offset % option.alignment.x == option.alignment.y, "\(option) at \(offset)")
                    seen.append(option)
                }
                offset += 2 + length
            }
            #expect(seen.count == options.count && offset == bytes.count)
        }
    }

    @Test(arguments: seeds)
    func neighborDiscoveryRoundTrips(seed: UInt64) throws {
        var g = Generate(seed: seed)
        for _ in 0..<2000 {
            let m = g.icmpv6()
            let (s, d) = (g.address(), g.address())
            let bytes = try m.encode(source: s, destination: d)
            #expect(try ICMPv6Message.decode(bytes, checksum: .verify(source: s, destination: d)) == m, "seed \(seed)")
        }
    }

    @Test(arguments: seeds)
    func packetsRoundTrip(seed: UInt64) throws {
        var g = Generate(seed: seed)
        for _ in 0..<1000 {
            let p = g.packet()
            let bytes = try p.encode()
            #expect(try IPv6Packet.decode(bytes) == p, "seed \(seed)")
        }
    }

    /// Random bytes, and valid messages with bytes flipped, cut short or
    /// lengthened: decoding either fails with an offset inside the buffer or
    /// gives a value that encodes and decodes to itself.
    @Test(arguments: seeds)
    func hostileBytesNeverTrap(seed: UInt64) throws {
        var g = Generate(seed: seed)
        var refused = 0, accepted = 0
        for round in 0..<20_000 {
            var bytes: [UInt8]
            switch round % 4 {
            case 0: bytes = g.bytes(0...200)
            case 1: bytes = try g.mobilityHeader().encode()
            case 2: bytes = try g.icmpv6().encode(source: .unspecified, destination: .unspecified)
            default: bytes = try g.packet().encode()
            }
            if round % 4 != 0 {
                for _ in 0..<g.int(1...4) where !bytes.isEmpty { bytes[g.int(0...bytes.count - 1)] = g.u8() }
                if g.int(0...3) == 0 { bytes = Array(bytes.prefix(g.int(0...bytes.count))) }
                if g.int(0...7) == 0 { bytes += g.bytes(1...16) }
            }
            for decoder in 0..<4 {
                do {
                    try Self.decode(with: decoder, bytes)
                    accepted += 1
                } catch {
                    refused += 1
                    #expect(error.offset >= 0 && error.offset <= bytes.count, "\(error) for \(bytes.count) bytes")
                }
            }
        }
        #expect(refused > 0 && accepted > 0)
    }

    /// Each decoder; a value it accepts must encode and decode to itself.
    static func decode(with decoder: Int, _ b: [UInt8]) throws(WireError) {
        switch decoder {
        case 0:
            let m = try MobilityHeader.decode(b, checksum: .skip)
            #expect(try MobilityHeader.decode(try m.encode(), checksum: .skip) == m)
        case 1:
            let m = try ICMPv6Message.decode(b, checksum: .skip)
            #expect(try ICMPv6Message.decode(try m.encode(source: .unspecified, destination: .unspecified), checksum: .skip) == m)
        case 2:
            let p = try IPv6Packet.decode(b, verifyChecksum: false)
            #expect(try IPv6Packet.decode(try p.encode()) == p)
        default:
            _ = try PcapReader.read(b)
        }
    }

    @Test func oversizedValuesAreRefusedByTheEncoder() {
        let big = MobilityHeader(.bindingUpdate(BindingUpdate(sequence: 0, flags: [], lifetime: 0, options: [
            .mobileNodeIdentifier(MobileNodeIdentifier(identifier: Array(repeating: 0x61, count: 255))),
        ])))
        #expect(throws: WireError.self) { try big.encode() }
        let tooMany = MobilityHeader(.bindingUpdate(BindingUpdate(sequence: 0, flags: [], lifetime: 0, options:
            Array(repeating: .linkLocalAddress(.unspecified), count: 200))))
        #expect(throws: WireError.self) { try tooMany.encode() }
    }
}
