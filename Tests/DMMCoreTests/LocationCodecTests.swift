import DMMTestSupport
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
    static let other = PrefixRecord(mobileNode: MobileNodeID("mn2@dmm.example"), prefix: IPv6Prefix("2001:db8:1:7::/64")!,
                                    anchor: mar1, serving: mar1)

    static func wire(_ mh: MobilityHeader) throws -> MobilityHeader {
        try MobilityHeader.decode(try mh.encode(source: mar1, destination: mar2), checksum: .verify(source: mar1, destination: mar2))
    }

    @Test(arguments: [
        LocationRequest.query(node), .register(full), .register(bare), .update(p, serving: mar2, active: true, expires: full.expires),
        .update(p, serving: nil, active: false), .release(p), .recover(after: nil), .recover(after: p),
        .attached(node, link: "acc0"), .attached(node, link: "acc0", previous: [p, IPv6Prefix("2001:db8:2:9::/64")!]),
        .detached(MobileNodeID(identifier: [2, 0, 0, 0, 0, 1]), link: "mn-1.ü"),
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
        .page([full, other], next: p), .page([], next: nil), .refused("nicht erlaubt: ü"),
        .advertise([.init(prefix: p, preferred: true), .init(prefix: IPv6Prefix("2001:db8:2:9::/64")!, preferred: false)]), .advertise([]),
    ])
    func repliesRoundTrip(_ reply: LocationReply) throws {
        let e = LocationEnvelope(id: 7, reply)
        #expect(try LocationCodec.decodeReply(Self.wire(LocationCodec.encode(e))) == e)
    }

    /// A report of a link no interface can be named (16 octets) is refused
    /// and names the link; one of 15 octets is read.
    @Test func aLinkLongerThanAnInterfaceNameIsRefused() throws {
        func report(link: String) throws -> MobilityHeader {
            guard case .bindingUpdate(var pbu) = LocationCodec.encode(LocationEnvelope(id: 3, .detached(Self.node, link: "acc0"))).message
            else { throw LocationCodec.Malformed(description: "not a PBU") }
            pbu.options = pbu.options.map { o in
                guard case .vendorSpecific(let v) = o, v.subtype == LocationCodec.Subtype.link.rawValue else { return o }
                return LocationCodec.vendor(.link, Array(link.utf8))
            }
            return try Self.wire(MobilityHeader(.bindingUpdate(pbu)))
        }
        #expect(try LocationCodec.decodeRequest(report(link: "fifteen-octets!")).body == .detached(Self.node, link: "fifteen-octets!"))
        #expect(throws: LocationCodec.Malformed(description: "link 'sixteen-octets!!' is not an interface name (up to 15 octets, none zero)")) {
            try LocationCodec.decodeRequest(report(link: "sixteen-octets!!"))
        }
    }

    /// Records of nodes with the longest identifiers do not fit one message:
    /// the page is cut and its cursor points after the last record sent, so
    /// paging on loses none.
    @Test func aPageTooBigForOneMessageIsCutAtItsCursor() throws {
        let records = (0..<16).map { i in
            PrefixRecord(mobileNode: MobileNodeID(identifier: Array(repeating: UInt8(65 + i), count: 254)),
                         prefix: IPv6Prefix(IPv6Address(high: 0x2001_0db8_0001_0000 | UInt64(i), low: 0), length: 64), anchor: Self.mar1)
        }
        let e = LocationEnvelope(id: 9, LocationReply.page(records, next: records.last!.prefix))
        guard case .page(let sent, let next) = try LocationCodec.decodeReply(Self.wire(LocationCodec.encode(e))).body else {
            Issue.record("not a page")
            return
        }
        #expect(sent.count > 1 && sent.count < records.count)
        #expect(sent == Array(records.prefix(sent.count)))
        #expect(next == sent.last?.prefix)
    }

    /// Every message damaged at random: decoding refuses it or accepts
    /// something, and never traps.
    @Test(arguments: [1, 2, 3] as [UInt64]) func randomDamageNeverTraps(seed: UInt64) throws {
        var g = SplitMix64(seed: seed)
        let requests: [LocationRequest] = [.query(Self.node), .register(Self.full), .update(Self.p, serving: Self.mar2, active: true),
                                           .release(Self.p), .recover(after: Self.p), .attached(Self.node, link: "acc0", previous: [Self.p]),
                                           .detached(Self.node, link: "acc0")]
        let replies: [LocationReply] = [.records(Self.node, [Self.full, Self.bare]), .page([Self.full, Self.other], next: Self.p),
                                        .done, .refused("x"), .advertise([.init(prefix: Self.p, preferred: true)])]
        let messages = requests.map { LocationCodec.encode(LocationEnvelope(id: 1, $0)) } + replies.map { LocationCodec.encode(LocationEnvelope(id: 2, $0)) }
        var accepted = 0
        for _ in 0..<20_000 {
            var bytes = try messages.randomElement(using: &g)!.encode()
            for _ in 0...Int.random(in: 0...3, using: &g) { bytes[Int.random(in: 6..<bytes.count, using: &g)] = UInt8.random(in: 0...255, using: &g) }
            guard let mh = try? MobilityHeader.decode(bytes, checksum: .skip) else { continue }
            if (try? LocationCodec.decodeRequest(mh)) != nil || (try? LocationCodec.decodeReply(mh)) != nil { accepted += 1 }
        }
        #expect(accepted > 0, "seed \(seed): some damage leaves a message that still decodes")
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
        // An attachment without its link, or with a link that is not text.
        let noLink = MobilityHeader(.bindingUpdate(BindingUpdate(sequence: 1, flags: .proxyRegistration, lifetime: 0,
                                                                 options: [LocationCodec.envelope(1, .attached), Self.node.option])))
        #expect(throws: LocationCodec.Malformed(description: "attached without a link")) { try LocationCodec.decodeRequest(noLink) }
        let badLink = MobilityHeader(.bindingUpdate(BindingUpdate(sequence: 1, flags: .proxyRegistration, lifetime: 0, options: [
            LocationCodec.envelope(1, .detached), Self.node.option, LocationCodec.vendor(.link, [0xFF, 0xFE]),
        ])))
        #expect(throws: LocationCodec.Malformed(description: "link option is not UTF-8 text")) { try LocationCodec.decodeRequest(badLink) }
        let shortAdvertisement = LocationCodec.acknowledgement(1, .accepted, [LocationCodec.envelope(1, .advertise), LocationCodec.vendor(.advertisement, [64])])
        #expect(throws: LocationCodec.Malformed(description: "bad advertisement option")) { try LocationCodec.decodeReply(shortAdvertisement) }
    }
}
