import DMMWire
import Testing

@testable import DMMCore

/// Location requests and replies survive the trip through PBU/PBA bytes.
struct LocationCodecTests {
    static let node = MobileNodeID("mn1@dmm.example"), p = IPv6Prefix("2001:db8:1:5::/64")!
    static let mar1 = IPv6Address("2001:db8:ffff::1")!, mar2 = IPv6Address("2001:db8:ffff::2")!
    static let full = PrefixRecord(mobileNode: node, prefix: p, anchor: mar1, serving: mar2, active: true,
                                   expires: Instant(seconds: 1_795_000_300.5))
    static let bare = PrefixRecord(mobileNode: node, prefix: IPv6Prefix("2001:db8:1:6::/64")!, anchor: mar1)

    static func wire(_ mh: MobilityHeader) throws -> MobilityHeader {
        try MobilityHeader.decode(try mh.encode(source: mar1, destination: mar2), checksum: .verify(source: mar1, destination: mar2))
    }

    @Test(arguments: [
        LocationRequest.query(node), .register(full), .register(bare), .update(p, serving: mar2, active: true, expires: full.expires),
        .update(p, serving: nil, active: false), .release(p),
    ])
    func requestsRoundTrip(_ request: LocationRequest) throws {
        let e = LocationEnvelope(id: 0x1234_5678, request)
        let mh = try Self.wire(LocationCodec.encode(e))
        guard case .bindingUpdate(let pbu) = mh.message else { Issue.record("not a PBU"); return }
        #expect(pbu.flags.contains(.proxyRegistration) && pbu.sequence == 0x5678)
        #expect(try LocationCodec.decodeRequest(mh) == e)
    }

    @Test(arguments: [
        LocationReply.records(node, [full, bare]), .records(node, []), .done, .refused("unknown MAR"),
    ])
    func repliesRoundTrip(_ reply: LocationReply) throws {
        let e = LocationEnvelope(id: 7, reply)
        #expect(try LocationCodec.decodeReply(Self.wire(LocationCodec.encode(e))) == e)
    }

    @Test func foreignOrDamagedMessagesAreRefused() {
        let plain = MobilityHeader(.bindingUpdate(BindingUpdate(sequence: 1, flags: .proxyRegistration, lifetime: 1, options: [Self.node.option])))
        #expect(throws: LocationCodec.Malformed(description: "no envelope option (vendor 32473)")) { try LocationCodec.decodeRequest(plain) }
        #expect(throws: LocationCodec.Malformed.self) { try LocationCodec.decodeReply(plain) }
        let shortRecord = MobilityHeader(.bindingUpdate(BindingUpdate(sequence: 1, flags: .proxyRegistration, lifetime: 0, options: [
            LocationCodec.envelope(1, .register), Self.node.option, .homeNetworkPrefix(Self.p),
            .vendorSpecific(VendorSpecificOption(vendorID: LocationCodec.vendorID, subtype: 2, data: [64])),
        ])))
        #expect(throws: LocationCodec.Malformed.self) { try LocationCodec.decodeRequest(shortRecord) }
        // A reply kind in a request.
        let wrongWay = MobilityHeader(.bindingUpdate(BindingUpdate(sequence: 1, flags: .proxyRegistration, lifetime: 0,
                                                                   options: [LocationCodec.envelope(1, .done)])))
        #expect(throws: LocationCodec.Malformed.self) { try LocationCodec.decodeRequest(wrongWay) }
    }
}
