import DMMLinux
import Foundation
import Testing

@testable import DMMWire

/// scapy's PFCP (`scapy.contrib.pfcp`, Debian's python3-scapy) as a second
/// independent implementation: it reads every message this system writes
/// and writes back the same bytes, and this system reads what scapy builds.
@Suite(.enabled(if: Scapy.available || ProcessInfo.processInfo.environment["CI"] != nil,
                "needs scapy (apt-get install python3-scapy); CI installs it and runs this suite"))
struct PFCPScapyTests {
    static func scapy(_ script: String, _ arguments: [String] = []) throws -> String {
        let r = try Command.run(Scapy.python, ["-c", script] + arguments)
        try #require(r.status == 0, "scapy failed: \(r.err)")
        return r.out
    }

    @Test func scapyReadsEveryMessageKindAndWritesTheSameBytes() throws {
        let messages = PFCPSamples.all
        let hex = try messages.map { try $0.encode().map { h2($0) }.joined() }
        // For each message: its type, sequence number, whether scapy left any
        // bytes unread inside an IE it knows, and whether its bytes are ours.
        let out = try Self.scapy("""
            import sys
            from scapy.contrib.pfcp import PFCP
            from scapy.packet import Raw
            def ies(layer):
                for ie in getattr(layer, "IE_list", None) or []:
                    yield ie
                    yield from ies(ie)
            for h in sys.argv[1:]:
                b = bytes.fromhex(h)
                p = PFCP(b)
                # Bytes scapy could not place: inside an IE it knows, or after the
                # message. Its UE IP Address predates the IPv6 Prefix Length octet
                # (flag IP6PL), which it leaves over; Wireshark reads that one.
                leftover = [ie.__class__.__name__ for l in p.iterpayloads() for ie in [l, *ies(l)]
                            if getattr(ie, "extra_data", b"") and not (ie.__class__.__name__ == "IE_UE_IP_Address" and ie.extra_data == b"\\x40")]
                print(p.message_type, p.seq, int(bool(leftover) or p.haslayer(Raw)), int(bytes(p) == b))
            """, hex)
        let rows = out.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
        try #require(rows.count == messages.count, "\(out)")
        for (m, row) in zip(messages, rows) {
            #expect(row == ["\(m.type.rawValue)", "\(m.sequence)", "0", "1"], "\(m.type.name): \(row)")
        }
    }

    @Test func thisSystemReadsWhatScapyBuilds() throws {
        let hex = try Self.scapy("""
            from scapy.contrib.pfcp import *
            m = PFCP(version=1, S=1, seid=0x1234, seq=7)/PFCPSessionEstablishmentRequest(IE_list=[
                IE_NodeId(id_type=1, ipv6="2001:db8:ffff::100"),
                IE_FSEID(v6=1, seid=0x99, ipv6="2001:db8:ffff::100"),
                IE_CreatePDR(IE_list=[IE_PDR_Id(id=1), IE_Precedence(precedence=200),
                    IE_PDI(IE_list=[IE_SourceInterface(interface=1), IE_UE_IP_Address(V6=1, SD=1, ipv6="2001:db8:1:5::")]),
                    IE_OuterHeaderRemoval(header=5), IE_FAR_Id(id=1)]),
                IE_CreateFAR(IE_list=[IE_FAR_Id(id=1), IE_ApplyAction(FORW=1),
                    IE_ForwardingParameters(IE_list=[IE_DestinationInterface(interface=0), IE_NetworkInstance(instance="acc0"),
                        IE_OuterHeaderCreation(IPV6=1, ipv6="fc00:2::d6")])]),
            ])
            print(bytes(m).hex())
            """).trimmingCharacters(in: .whitespacesAndNewlines)
        let digits = Array(hex)
        let bytes = try stride(from: 0, to: digits.count, by: 2).map { i in
            try #require(UInt8(String(digits[i..<min(i + 2, digits.count)]), radix: 16), "not hex: \(hex)")
        }
        let m = try PFCPMessage.decode(bytes)
        #expect(m.type == .sessionEstablishmentRequest && m.seid == 0x1234 && m.sequence == 7)
        #expect(m.nodeID == .ipv6(IPv6Address("2001:db8:ffff::100")!))
        #expect(m.fSEID == PFCPFSEID(seid: 0x99, ipv6: IPv6Address("2001:db8:ffff::100")!))
        let pdr = try #require(m.createPDR.first)
        #expect(pdr.id == 1 && pdr.precedence == 200 && pdr.farID == 1 && pdr.outerHeaderRemoval?.description == 5)
        #expect(pdr.pdi?.sourceInterface == .core && pdr.pdi?.ueIPAddresses.first?.ipv6 == IPv6Address("2001:db8:1:5::")!)
        #expect(pdr.pdi?.ueIPAddresses.first?.isDestination == true)
        let far = try #require(m.createFAR.first)
        #expect(far.id == 1 && far.applyAction == .forward)
        // scapy writes the Network Instance as DNS labels ("\u{4}acc0").
        #expect(far.forwarding?.destinationInterface == .access && far.forwarding?.networkInstance?.name == "acc0")
        #expect(far.forwarding?.outerHeaderCreation == .ipv6(toward: IPv6Address("fc00:2::d6")!))
        #expect(m.unknown.isEmpty && pdr.unknown.isEmpty && far.unknown.isEmpty)
    }
}

/// Debian's Python with its scapy.
enum Scapy {
    static let python = "/usr/bin/python3"
    static var available: Bool { (try? Command.run(python, ["-c", "import scapy.contrib.pfcp"]).status) == 0 }
}
