import DMMLinux
import DMMTestSupport
import Foundation
import Testing

@testable import DMMWire

/// `dmm wire decode`, run as a user runs it: the built executable next to the
/// test bundle.
struct DecodeCommandTests {
    static let dmm = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("dmm")

    static func run(_ arguments: [String]) throws -> Command.Result { try Command.run(dmm.path, arguments) }

    static let pbuPacket: [UInt8] = {
        let mh = try! MobilityHeader.decode(GoldenVectorTests.pbuBytes, checksum: .skip)
        return try! IPv6Packet(source: GoldenVectorTests.mag, destination: GoldenVectorTests.lma, payload: .mobility(mh)).encode()
    }()

    static func hex(_ b: [UInt8]) -> String { b.map { h2($0) }.joined() }

    @Test func printsAPacketFieldByField() throws {
        let r = try Self.run(["wire", "decode", Self.hex(Self.pbuPacket)])
        #expect(r.status == 0, "\(r.err)")
        for line in ["Mobility Header Type: 5 (Proxy Binding Update)", "Sequence number: 7", "Lifetime: 900 (3600 seconds)",
                     "Identifier: mn1@dmm.example", "Prefix: 2001:db8:1:1::", "Handoff Indicator: 3 (Handoff between mobile access gateways for the same interface)",
                     "Link-local address: fe80::1", "Time: Nov 18, 2026 11:06:40.250000000 UTC", "Proxy Registration (P): Set"] {
            #expect(r.out.contains(line), "missing \(line)")
        }
    }

    @Test func printsJSON() throws {
        let r = try Self.run(["wire", "decode", "--json", Self.hex(Self.pbuPacket)])
        #expect(r.status == 0)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any])
        let ipv6 = try #require(json["ipv6"] as? [String: Any])
        #expect(ipv6["source"] as? String == "2001:db8:ffff::2")
        let mh = try #require(ipv6["mobility_header"] as? [String: Any])
        #expect(mh["sequence"] as? Int == 7 && mh["mh_type_name"] as? String == "Proxy Binding Update")
        let options = try #require(mh["options"] as? [[String: Any]])
        #expect(options.count == 7)
        let hnp = try #require(options[1]["option"] as? [String: Any])
        #expect(hnp["value"] as? Int == 22 && hnp["prefix"] as? String == "2001:db8:1:1::" && hnp["prefix_length"] as? Int == 64)
    }

    @Test func verifiesABareMessageWithGivenAddresses() throws {
        let mh = Self.hex(GoldenVectorTests.upnBytes)
        let good = try Self.run(["wire", "decode", "--source", "2001:db8:ffff::2", "--destination", "2001:db8:ffff::1", mh])
        #expect(good.status == 0 && good.out.contains("Notification reason: 2 (UPDATE-SESSION-PARAMETERS)"))
        let bad = try Self.run(["wire", "decode", "--source", "2001:db8:ffff::3", "--destination", "2001:db8:ffff::1", mh])
        #expect(bad.status == 1 && bad.err.contains("bad checksum"))
    }

    @Test(arguments: [
        (["wire", "decode", "zz"], "'z' at position 0 is not a hex digit"),
        (["wire", "decode", "abc"], "odd number of hex digits"),
        (["wire", "decode", "60000000ffff"], "malformed message"),
        (["wire", "decode", "--layer", "mh", "3b0d0500"], "truncated"),
        (["wire", "decode", "--source", "nope", "--destination", "::1", "00"], "is not an IPv6 address"),
        (["wire", "decode"], "give either HEX or --pcap FILE"),
        (["wire", "decode", "--pcap", "/nonexistent/file.pcap"], "cannot read"),
    ])
    func refusesBadInputWithAClearError(_ arguments: [String], _ message: String) throws {
        let r = try Self.run(arguments)
        #expect(r.status != 0)
        #expect(r.err.contains(message), "\(r.err)")
    }

    @Test func decodesPFCPBareInUDPAndInACapture() throws {
        let modification = PFCPSamples.all.first { $0.type == .sessionModificationRequest }!
        let bare = try modification.encode()
        let r = try Self.run(["wire", "decode", Self.hex(bare)])
        #expect(r.status == 0, "\(r.err)")
        for line in ["Message Type: 52 (Session Modification Request)", "IE: 10 (Update FAR)", "Outer Header Creation Description"] {
            #expect(r.out.contains(line), "missing \(line) in \(r.out)")
        }
        let json = try Self.run(["wire", "decode", "--json", "--layer", "pfcp", Self.hex(bare)])
        let pfcp = try #require((try JSONSerialization.jsonObject(with: Data(json.out.utf8)) as? [String: Any])?["pfcp"] as? [String: Any])
        #expect(pfcp["message_type"] as? Int == 52 && pfcp["seid"] as? String != nil)
        let packet = try IPv6Packet(source: PFCPSamples.controller, destination: PFCPSamples.agent,
                                    payload: .udp(UDPDatagram(sourcePort: 8805, destinationPort: 8805, payload: .pfcp(modification)))).encode()
        var writer = PcapWriter()
        writer.append(packet: packet, time: 1)
        var cut = packet
        cut[40 + 8 + 3] &+= 4  // PFCP Message Length changed: the UDP checksum no longer matches
        writer.append(packet: cut, time: 2)
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("dmm-decode-pfcp-\(getpid()).pcap")
        try Data(writer.bytes).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let capture = try Self.run(["wire", "decode", "--pcap", file.path])
        #expect(capture.status == 1 && capture.err.contains("1 of 2 packets"), "\(capture.err)")
        #expect(capture.out.contains("Session Modification Request") && capture.out.contains("bad UDP checksum"), "\(capture.out)")
    }

    @Test func decodesACaptureAndCountsMalformedPackets() throws {
        var writer = PcapWriter()
        writer.append(packet: Self.pbuPacket, time: 1)
        var broken = Self.pbuPacket
        broken[60] ^= 0xff  // inside the options: the checksum no longer matches
        writer.append(packet: broken, time: 2)
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("dmm-decode-\(getpid()).pcap")
        try Data(writer.bytes).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let r = try Self.run(["wire", "decode", "--pcap", file.path])
        #expect(r.status == 1)
        #expect(r.out.contains("Frame: 1") && r.out.contains("Sequence number: 7"))
        #expect(r.out.contains("Frame: 2") && r.out.contains("bad checksum"))
        #expect(r.err.contains("1 of 2 packets"))
        let json = try Self.run(["wire", "decode", "--json", "--pcap", file.path])
        let frames = try #require(try JSONSerialization.jsonObject(with: Data(json.out.utf8)) as? [[String: Any]])
        #expect(frames.count == 2)
    }
}
