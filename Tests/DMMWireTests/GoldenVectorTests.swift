import Testing

@testable import DMMWire

/// Byte vectors built by hand from the RFC layouts. Offsets in the comments are
/// from the first byte of the Mobility Header. Checksums were computed with an
/// independent implementation (Python, RFC 1071 over the RFC 8200 pseudo-header)
/// for source 2001:db8:ffff::2 and destination 2001:db8:ffff::1.
struct GoldenVectorTests {
    static let mag = IPv6Address("2001:db8:ffff::2")!
    static let lma = IPv6Address("2001:db8:ffff::1")!

    /// The options of RFC 5213 section 8, in the order a MAG sends them, with
    /// the padding RFC 6275 section 6.2 requires for their alignment.
    static let pmipOptionBytes: [UInt8] = [
        // 12: Mobile Node Identifier (RFC 4283): type 8, length 16, subtype 1 (NAI), "mn1@dmm.example"
        0x08, 0x10, 0x01, 0x6d, 0x6e, 0x31, 0x40, 0x64, 0x6d, 0x6d, 0x2e, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65,
        // 30: PadN, 4 zero bytes: the Home Network Prefix option must start at 8n+4
        0x01, 0x04, 0x00, 0x00, 0x00, 0x00,
        // 36: Home Network Prefix (8.3): type 22, length 18, reserved, prefix length 64, 2001:db8:1:1::
        0x16, 0x12, 0x00, 0x40, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01, 0x00, 0x01,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        // 56: Handoff Indicator (8.4): type 23, length 2, reserved, 3 (same interface)
        0x17, 0x02, 0x00, 0x03,
        // 60: Access Technology Type (8.5): type 24, length 2, reserved, 3 (IEEE 802.3)
        0x18, 0x02, 0x00, 0x03,
        // 64: PadN, 0 bytes: the link-layer identifier must start at 8n+2
        0x01, 0x00,
        // 66: Mobile Node Link-layer Identifier (8.6): type 25, length 8, reserved 16 bits, 02:00:00:00:00:01
        0x19, 0x08, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01,
        // 76: PadN, 0 bytes: the link-local address must start at 8n+6
        0x01, 0x00,
        // 78: Link-local Address (8.7): type 26, length 16, fe80::1
        0x1a, 0x10, 0xfe, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
        // 96: PadN, 0 bytes: the timestamp must start at 8n+2
        0x01, 0x00,
        // 98: Timestamp (8.8): type 27, length 8, 48-bit seconds since 1970 0x6afd86c0 (2026-11-18 11:06:40 UTC)
        //     and 16-bit fraction 0x4000 (.25 s)
        0x1b, 0x08, 0x00, 0x00, 0x6a, 0xfd, 0x86, 0xc0, 0x40, 0x00,
        // 108: PadN, 2 zero bytes: the header ends on a multiple of 8 (112)
        0x01, 0x02, 0x00, 0x00,
    ]

    static let pmipOptions: [MobilityOption] = [
        .mobileNodeIdentifier(.nai("mn1@dmm.example")),
        .homeNetworkPrefix(IPv6Prefix("2001:db8:1:1::/64")!),
        .handoffIndicator(.handoffSameInterface),
        .accessTechnologyType(.ieee8023),
        .mobileNodeLinkLayerIdentifier([0x02, 0x00, 0x00, 0x00, 0x00, 0x01]),
        .linkLocalAddress(IPv6Address("fe80::1")!),
        .timestamp(Timestamp(unixSeconds: 1_795_000_000.25)),
    ]

    static let pbuBytes: [UInt8] = [
        // 0: payload proto 59 (none), header len 13 (112 bytes), MH type 5, reserved
        0x3b, 0x0d, 0x05, 0x00,
        // 4: checksum
        0xff, 0x5e,
        // 6: sequence 7; 8: flags A|H|P (0xc200); 10: lifetime 900 (3600 s)
        0x00, 0x07, 0xc2, 0x00, 0x03, 0x84,
    ] + pmipOptionBytes

    static let pbaBytes: [UInt8] = [
        // 0: payload proto 59, header len 13, MH type 6, reserved
        0x3b, 0x0d, 0x06, 0x00,
        // 4: checksum
        0xc0, 0x3f,
        // 6: status 0 (accepted); 7: flags P (0x20); 8: sequence 7; 10: lifetime 900
        0x00, 0x20, 0x00, 0x07, 0x03, 0x84,
    ] + pmipOptionBytes

    static let sessionOptionBytes = Array(pmipOptionBytes[0..<44])

    static let upnBytes: [UInt8] = [
        // 0: payload proto 59, header len 6 (56 bytes), MH type 19 (UPN), reserved
        0x3b, 0x06, 0x13, 0x00,
        // 4: checksum
        0x68, 0x0e,
        // 6: sequence 9; 8: notification reason 2 (UPDATE-SESSION-PARAMETERS); 9: A set; 10: reserved
        0x00, 0x09, 0x02, 0x80, 0x00, 0x00,
    ] + sessionOptionBytes  // 12: MN identifier, PadN, HNP: ends at 56

    static let upaBytes: [UInt8] = [
        // 0: payload proto 59, header len 6, MH type 20 (UPA), reserved
        0x3b, 0x06, 0x14, 0x00,
        // 4: checksum
        0x69, 0x8e,
        // 6: sequence 9; 8: status 0 (success); 9: reserved (24 bits)
        0x00, 0x09, 0x00, 0x00, 0x00, 0x00,
    ] + sessionOptionBytes

    static let sessionOptions = Array(pmipOptions[0..<2])

    static let vectors: [(String, [UInt8], MobilityMessage)] = [
        ("PBU", pbuBytes, .bindingUpdate(BindingUpdate(
            sequence: 7, flags: [.acknowledge, .homeRegistration, .proxyRegistration], lifetime: 900, options: pmipOptions))),
        ("PBA", pbaBytes, .bindingAcknowledgement(BindingAcknowledgement(
            status: .accepted, flags: .proxyRegistration, sequence: 7, lifetime: 900, options: pmipOptions))),
        ("UPN", upnBytes, .updateNotification(UpdateNotification(
            sequence: 9, reason: .updateSessionParameters, acknowledgeRequested: true, options: sessionOptions))),
        ("UPA", upaBytes, .updateNotificationAcknowledgement(UpdateNotificationAcknowledgement(
            sequence: 9, status: .success, options: sessionOptions))),
    ]

    @Test(arguments: 0..<4)
    func encodesToTheHandBuiltBytes(_ i: Int) throws {
        let (name, bytes, message) = Self.vectors[i]
        #expect(try MobilityHeader(message).encode(source: Self.mag, destination: Self.lma) == bytes, "\(name)")
    }

    @Test(arguments: 0..<4)
    func decodesTheHandBuiltBytes(_ i: Int) throws {
        let (name, bytes, message) = Self.vectors[i]
        let decoded = try MobilityHeader.decode(bytes, checksum: .verify(source: Self.mag, destination: Self.lma))
        #expect(decoded.message == message, "\(name)")
        #expect(decoded.payloadProto == 59)
    }

    @Test func withoutAddressesTheChecksumIsLeftForTheKernel() throws {
        let bytes = try MobilityHeader(Self.vectors[0].2).encode()
        #expect(bytes[4] == 0 && bytes[5] == 0)
        #expect(Array(bytes[6...]) == Array(Self.pbuBytes[6...]))
    }

    @Test func aFlippedBitFailsTheChecksumAtItsOffset() {
        var bytes = Self.pbuBytes
        bytes[40] ^= 0x01
        #expect(throws: WireError(.badChecksum, "bad checksum 0xff5e, expected 0xfe5e", at: 4)) {
            try MobilityHeader.decode(bytes, checksum: .verify(source: Self.mag, destination: Self.lma))
        }
        #expect((try? MobilityHeader.decode(bytes, checksum: .skip)) != nil)
    }

    @Test func bindingErrorLayout() throws {
        let be = MobilityHeader(.bindingError(BindingError(status: .unrecognizedMHType, homeAddress: Self.lma)))
        let bytes = try be.encode()
        // 1: header len 2 (24 bytes, no padding needed); 6: status 2, reserved; 8: home address
        #expect(bytes.count == 24 && bytes[1] == 2 && bytes[2] == 7 && bytes[6] == 2 && bytes[7] == 0)
        #expect(Array(bytes[8..<24]) == Self.lma.bytes)
        #expect(try MobilityHeader.decode(bytes, checksum: .skip) == be)
    }

    /// A Router Advertisement as a MAR sends it after a move (seite section
    /// 4.2 step 4): the new prefix preferred, the old one deprecated.
    @Test func routerAdvertisementLayout() throws {
        let ra = ICMPv6Message.routerAdvertisement(RouterAdvertisement(
            curHopLimit: 64, preference: .high, routerLifetime: 1800, reachableTime: 0, retransTimer: 10,
            options: [
                .sourceLinkLayerAddress([0x02, 0xdd, 0, 0, 0, 0x01]),
                .mtu(1400),
                .prefixInformation(PrefixInformation(prefix: IPv6Prefix("2001:db8:2:1::/64")!,
                                                     validLifetime: 3600, preferredLifetime: 1800)),
                .prefixInformation(PrefixInformation(prefix: IPv6Prefix("2001:db8:1:1::/64")!,
                                                     validLifetime: 3600, preferredLifetime: 0)),
                .routeInformation(RouteInformation(prefix: IPv6Prefix("2001:db8:100::/48")!, lifetime: 600)),
            ]))
        let ll = IPv6Address("fe80::1")!, all = IPv6Address("ff02::1")!
        let bytes = try ra.encode(source: ll, destination: all)
        let expected: [UInt8] = [
            // 0: type 134, code 0, checksum (checked below)
            0x86, 0x00, bytes[2], bytes[3],
            // 4: cur hop limit 64; flags: Prf high (01) in bits 3-4; router lifetime 1800
            0x40, 0x08, 0x07, 0x08,
            // 8: reachable time 0; 12: retrans timer 10 ms
            0, 0, 0, 0, 0, 0, 0, 0x0a,
            // 16: Source Link-layer Address: type 1, length 1 (8 bytes)
            0x01, 0x01, 0x02, 0xdd, 0, 0, 0, 0x01,
            // 24: MTU: type 5, length 1, reserved, 1400
            0x05, 0x01, 0, 0, 0, 0, 0x05, 0x78,
            // 32: Prefix Information: type 3, length 4, /64, L|A, valid 3600, preferred 1800, reserved2, prefix
            0x03, 0x04, 0x40, 0xc0, 0, 0, 0x0e, 0x10, 0, 0, 0x07, 0x08, 0, 0, 0, 0,
            0x20, 0x01, 0x0d, 0xb8, 0x00, 0x02, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 0,
            // 64: Prefix Information: deprecated, preferred lifetime 0
            0x03, 0x04, 0x40, 0xc0, 0, 0, 0x0e, 0x10, 0, 0, 0, 0, 0, 0, 0, 0,
            0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 0,
            // 96: Route Information (RFC 4191): type 24, length 2 (prefix up to /64), /48, Prf medium, lifetime 600
            0x18, 0x02, 0x30, 0x00, 0, 0, 0x02, 0x58, 0x20, 0x01, 0x0d, 0xb8, 0x01, 0x00, 0, 0,
        ]
        #expect(bytes == expected)
        #expect(try ICMPv6Message.decode(bytes, checksum: .verify(source: ll, destination: all)) == ra)
        var corrupted = bytes
        corrupted[50] ^= 0xff
        #expect(throws: WireError.self) { try ICMPv6Message.decode(corrupted, checksum: .verify(source: ll, destination: all)) }
    }
}
