import DMMLinux
import DMMTestSupport
import Foundation
import Testing

@testable import DMMWire

/// Wireshark's dissector as an independent reader: every message kind that
/// tshark 4.0 knows is written to a capture, and every field tshark reports
/// must equal the value that was encoded. tshark 4.0 has no UPN/UPA dissector
/// (those are checked against the hand-built vectors instead) and does not
/// verify Mobility Header checksums, which the golden vectors check against an
/// independent implementation; ICMPv6 checksums it does verify.
@Suite(.enabled(if: Tshark.path != nil || ProcessInfo.processInfo.environment["CI"] != nil,
                "needs tshark (apt-get install tshark); CI installs it and runs this suite"))
struct TsharkConformanceTests {
    static let mag = GoldenVectorTests.mag, lma = GoldenVectorTests.lma
    static let mar = IPv6Address("fe80::1")!, node = IPv6Address("fe80::200:ff:fe00:1")!

    /// A message in a packet, with the tshark fields it must show.
    struct Case {
        var packet: IPv6Packet
        var fields: [String: String]
    }

    static func mobility(_ m: MobilityMessage, from s: IPv6Address, to d: IPv6Address) -> IPv6Packet {
        IPv6Packet(source: s, destination: d, payload: .mobility(MobilityHeader(m)))
    }

    static func nd(_ m: ICMPv6Message, from s: IPv6Address, to d: IPv6Address) -> IPv6Packet {
        IPv6Packet(source: s, destination: d, hopLimit: 255, payload: .icmpv6(m))
    }

    /// The fields tshark shows for each option, joined the way `-E occurrence=a` joins repeats.
    static func optionFields(_ options: [MobilityOption]) -> [String: String] {
        var f: [String: [String]] = [:]
        for o in options {
            switch o {
            case .homeNetworkPrefix(let p), .mobileNetworkPrefix(let p):
                f["mip6.nemo.mnp.mnp", default: []].append(p.address.description)
                f["mip6.nemo.mnp.pfl", default: []].append(String(p.length))
            case .mobileNodeIdentifier(let m):
                f["mip6.mnid.subtype", default: []].append(String(m.subtype.rawValue))
                f["mip6.mnid.identifier", default: []].append(m.text ?? "")
            case .handoffIndicator(let hi): f["mip6.hi", default: []].append(String(hi.rawValue))
            case .accessTechnologyType(let att): f["mip6.att", default: []].append(String(att.rawValue))
            case .mobileNodeLinkLayerIdentifier(let id):
                f["mip6.mnlli.lli", default: []].append(id.map { h2($0) }.joined())
            case .linkLocalAddress(let a): f["mip6.lila_lla", default: []].append(a.description)
            case .timestamp(let t): f["mip6.timestamp_tmp", default: []].append(MobilityOption.utc(t))
            case .vendorSpecific(let v):
                f["mip6.vsm.vendorId", default: []].append(String(v.vendorID))
                f["mip6.vsm.subtype", default: []].append(String(v.subtype))
            case .authentication(let a):
                f["mip6.auth.subtype", default: []].append(String(a.subtype.rawValue))
                f["mip6.auth.mobility_spi", default: []].append(String(a.spi))
                // Not compared: tshark 4.0 shows Option Length - 7 bytes of Authentication
                // Data, two short of RFC 4285 section 5 (Length counts subtype, SPI and
                // data); the golden and round-trip tests cover those bytes.
            case .unknown: break
            }
        }
        return f.mapValues { $0.joined(separator: ";") }
    }

    static func flagFields(_ prefix: String, _ raw: UInt16, _ named: [(UInt16, Character)]) -> [String: String] {
        var f: [String: String] = [:]
        for (bit, letter) in named {
            let key = letter == "R" ? prefix.replacingOccurrences(of: "mip6.", with: "mip6.nemo.") : prefix
            f["\(key).\(letter.lowercased())_flag"] = raw & bit != 0 ? "1" : "0"
        }
        return f
    }

    static func cases() throws -> [Case] {
        var cases: [Case] = []
        for (_, _, message) in GoldenVectorTests.vectors {
            switch message {
            case .bindingUpdate(let bu):
                cases.append(Case(packet: mobility(message, from: mag, to: lma), fields: [
                    "mip6.mhtype": "5", "mip6.bu.seqnr": String(bu.sequence), "mip6.bu.lifetime": String(bu.lifetime),
                ].merging(flagFields("mip6.bu", bu.flags.rawValue, BindingUpdate.Flags.named.map { ($0.0.rawValue, $0.1) })) { a, _ in a }
                 .merging(optionFields(bu.options)) { a, _ in a }))
            case .bindingAcknowledgement(let ba):
                cases.append(Case(packet: mobility(message, from: lma, to: mag), fields: [
                    "mip6.mhtype": "6", "mip6.ba.status": String(ba.status.rawValue), "mip6.ba.seqnr": String(ba.sequence),
                    "mip6.ba.lifetime": String(ba.lifetime),
                ].merging(flagFields("mip6.ba", UInt16(ba.flags.rawValue), BindingAcknowledgement.Flags.named.map { (UInt16($0.0.rawValue), $0.1) })) { a, _ in a }
                 .merging(optionFields(ba.options)) { a, _ in a }))
            default: break  // UPN and UPA: no dissector in tshark 4.0
            }
        }
        // A mobile router's Binding Update (RFC 3963) with the other options.
        let nemo: [MobilityOption] = [
            .mobileNetworkPrefix(IPv6Prefix("2001:db8:77::/48")!),
            .vendorSpecific(VendorSpecificOption(vendorID: 32473, subtype: 1, data: [1, 2, 3])),
            .authentication(MobilityAuthentication(subtype: .mnHA, spi: 0x1000, authenticator: Array(repeating: 0xab, count: 12))),
        ]
        let bu = BindingUpdate(sequence: 65535, flags: [.acknowledge, .homeRegistration, .mobileRouter, .keyManagement],
                               lifetime: 1, options: nemo)
        cases.append(Case(packet: mobility(.bindingUpdate(bu), from: mag, to: lma), fields: [
            "mip6.bu.seqnr": "65535", "mip6.bu.lifetime": "1",
        ].merging(flagFields("mip6.bu", bu.flags.rawValue, BindingUpdate.Flags.named.map { ($0.0.rawValue, $0.1) })) { a, _ in a }
         .merging(optionFields(nemo)) { a, _ in a }))
        // A rejection, and a deregistration acknowledgement.
        let reject = BindingAcknowledgement(status: .notAuthorizedForHomeNetworkPrefix, flags: .proxyRegistration, sequence: 3,
                                            lifetime: 0, options: [.timestamp(Timestamp(unixSeconds: 1_800_000_000.5))])
        cases.append(Case(packet: mobility(.bindingAcknowledgement(reject), from: lma, to: mag), fields: [
            "mip6.ba.status": "155", "mip6.ba.seqnr": "3", "mip6.ba.lifetime": "0", "mip6.ba.p_flag": "1",
        ].merging(optionFields(reject.options)) { a, _ in a }))
        cases.append(Case(packet: mobility(.bindingError(BindingError(status: .unrecognizedMHType, homeAddress: node)),
                                           from: lma, to: mag),
                          fields: ["mip6.mhtype": "7", "mip6.be.status": "2", "mip6.be.haddr": node.description]))
        // Neighbor Discovery.
        let mac: [UInt8] = [0x02, 0xdd, 0, 0, 0, 1]
        let ra = RouterAdvertisement(curHopLimit: 64, managed: false, otherConfiguration: true, preference: .high,
                                     routerLifetime: 1800, reachableTime: 30000, retransTimer: 10, options: [
            .sourceLinkLayerAddress(mac), .mtu(1400),
            .prefixInformation(PrefixInformation(prefix: IPv6Prefix("2001:db8:2:1::/64")!, validLifetime: 86400, preferredLifetime: 14400)),
            .prefixInformation(PrefixInformation(prefix: IPv6Prefix("2001:db8:1:1::/64")!, onLink: true, autonomous: true,
                                                 routerAddress: true, validLifetime: 3600, preferredLifetime: 0)),
            .routeInformation(RouteInformation(prefix: IPv6Prefix("2001:db8:100::/48")!, preference: .low, lifetime: 600)),
        ])
        cases.append(Case(packet: nd(.routerAdvertisement(ra), from: mar, to: IPv6Address("ff02::1")!), fields: [
            "icmpv6.type": "134", "icmpv6.nd.ra.cur_hop_limit": "64", "icmpv6.nd.ra.flag.m": "0", "icmpv6.nd.ra.flag.o": "1",
            "icmpv6.nd.ra.flag.prf": "1", "icmpv6.nd.ra.router_lifetime": "1800", "icmpv6.nd.ra.reachable_time": "30000",
            "icmpv6.nd.ra.retrans_timer": "10", "icmpv6.opt.src_linkaddr": "02:dd:00:00:00:01", "icmpv6.opt.mtu": "1400",
            // The Route Information option reports its prefix in the same fields.
            "icmpv6.opt.prefix.length": "64;64;48", "icmpv6.opt.prefix.flag.l": "1;1", "icmpv6.opt.prefix.flag.a": "1;1",
            "icmpv6.opt.prefix.flag.r": "0;1", "icmpv6.opt.prefix.valid_lifetime": "86400;3600",
            "icmpv6.opt.prefix.preferred_lifetime": "14400;0",
            "icmpv6.opt.prefix": "2001:db8:2:1::;2001:db8:1:1::;2001:db8:100::",
            "icmpv6.opt.route_info.flag.route_preference": "3", "icmpv6.opt.route_lifetime": "600",
            "icmpv6.checksum.status": "1",
        ]))
        cases.append(Case(packet: nd(.routerSolicitation(RouterSolicitation(options: [.sourceLinkLayerAddress([2, 0, 0, 0, 0, 1])])),
                                     from: node, to: IPv6Address("ff02::2")!),
                          fields: ["icmpv6.type": "133", "icmpv6.opt.src_linkaddr": "02:00:00:00:00:01", "icmpv6.checksum.status": "1"]))
        let target = IPv6Address("2001:db8:2:1::1")!
        cases.append(Case(packet: nd(.neighborSolicitation(NeighborSolicitation(target: target, options: [.sourceLinkLayerAddress(mac)])),
                                     from: mar, to: IPv6Address("ff02::1:ff00:1")!),
                          fields: ["icmpv6.type": "135", "icmpv6.nd.ns.target_address": target.description, "icmpv6.checksum.status": "1"]))
        cases.append(Case(packet: nd(.neighborAdvertisement(NeighborAdvertisement(router: true, solicited: true, override: false,
                                                                                  target: mar, options: [.targetLinkLayerAddress(mac)])),
                                     from: mar, to: node),
                          fields: ["icmpv6.type": "136", "icmpv6.nd.na.flag.r": "1", "icmpv6.nd.na.flag.s": "1",
                                   "icmpv6.nd.na.flag.o": "0", "icmpv6.nd.na.target_address": mar.description,
                                   "icmpv6.opt.target_linkaddr": "02:dd:00:00:00:01", "icmpv6.checksum.status": "1"]))
        return cases
    }

    @Test func everyFieldTsharkReportsEqualsTheEncodedValue() throws {
        let tshark = try #require(Tshark.path, "tshark is not installed")
        let cases = try Self.cases()
        var writer = PcapWriter()
        var checksums: [String] = []
        for c in cases {
            let bytes = try c.packet.encode()
            writer.append(packet: bytes, time: 1_795_000_000)
            checksums.append(bytes[6] == MobilityHeader.protocolNumber ? "0x" + h2(bytes[44]) + h2(bytes[45]) : "")
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dmm-tshark-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("messages.pcap")
        try Data(writer.bytes).write(to: file)

        let names = ["_ws.malformed", "_ws.expert.severity", "mip6.csum"]
            + Array(Set(cases.flatMap(\.fields.keys))).sorted()
        let output = try Tshark.run(tshark, ["-r", file.path, "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=;",
                                             "-E", "separator=/t"] + names.flatMap { ["-e", $0] })
        let rows = output.split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.isEmpty }
        #expect(rows.count == cases.count)
        for (i, (c, row)) in zip(cases, rows).enumerated() {
            let values = row.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            try #require(values.count == names.count, "frame \(i + 1): \(values.count) columns")
            let got = Dictionary(uniqueKeysWithValues: zip(names, values))
            #expect(got["_ws.malformed"] == "", "frame \(i + 1) malformed")
            #expect(got["_ws.expert.severity"] == "", "frame \(i + 1) has expert info")
            #expect(got["mip6.csum"] == checksums[i], "frame \(i + 1) checksum")
            for (field, expected) in c.fields {
                #expect(got[field] == expected, "frame \(i + 1) \(field)")
            }
        }
    }

    /// The pcap reader takes the pcapng that tshark writes and finds the same packets.
    @Test func readsTsharksPcapng() throws {
        let tshark = try #require(Tshark.path, "tshark is not installed")
        var writer = PcapWriter()
        let packets = try Self.cases().map { try $0.packet.encode() }
        for p in packets { writer.append(packet: p, time: 1_795_000_000.5) }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dmm-pcapng-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let pcap = dir.appendingPathComponent("in.pcap"), pcapng = dir.appendingPathComponent("out.pcapng")
        try Data(writer.bytes).write(to: pcap)
        _ = try Tshark.run(tshark, ["-r", pcap.path, "-F", "pcapng", "-w", pcapng.path])
        let records = try PcapReader.read(Array(try Data(contentsOf: pcapng)))
        #expect(records.map(\.ipv6) == packets)
        #expect(records.allSatisfy { abs($0.time - 1_795_000_000.5) < 1e-6 })
    }
}

enum Tshark {
    static let path: String? = ["/usr/bin/tshark", "/usr/local/bin/tshark"].first { FileManager.default.isExecutableFile(atPath: $0) }

    static func run(_ path: String, _ arguments: [String]) throws -> String { try Command.output(path, arguments) }
}
