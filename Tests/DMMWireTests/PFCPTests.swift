import DMMTestSupport
import Testing

@testable import DMMWire

/// PFCP (TS 29.244): fixed byte arrays for the framing, every message kind
/// round-tripped, unknown IEs kept, and faults reported with the IE at fault.
struct PFCPTests {
    /// A Heartbeat Request, octet by octet (sections 7.2.2 and 8.2.65).
    @Test func heartbeatRequestBytes() throws {
        var m = PFCPMessage(.heartbeatRequest, sequence: 0x0A0B0C)
        m.recoveryTimeStamp = PFCPSamples.recovery
        let bytes: [UInt8] = [
            0x20, 0x01, 0x00, 0x0C,  // version 1, no S; type 1; length 12
            0x0A, 0x0B, 0x0C, 0x00,  // sequence, spare
            0x00, 0x60, 0x00, 0x04, 0xEE, 0xB9, 0xDE, 0x00,  // Recovery Time Stamp 2026-12-02
        ]
        #expect(try m.encode() == bytes)
        #expect(try PFCPMessage.decode(bytes) == m)
        #expect(m.fields.text().contains("Recovery Time Stamp: 4005158400 (Dec  2, 2026 00:00:00.000000000 UTC)"))
    }

    /// A session message carries the SEID after the length; a Remove PDR
    /// nests its PDR ID.
    @Test func sessionHeaderAndGroupedIEBytes() throws {
        var m = PFCPMessage(.sessionModificationRequest, sequence: 1, seid: 0x0102_0304_0506_0708)
        m.removePDR = [PFCPRuleReference(id: 0x0203)]
        let bytes: [UInt8] = [
            0x21, 0x34, 0x00, 0x16,  // S set; type 52; length 22
            0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,  // SEID
            0x00, 0x00, 0x01, 0x00,  // sequence, spare
            0x00, 0x0F, 0x00, 0x06,  // Remove PDR, length 6
            0x00, 0x38, 0x00, 0x02, 0x02, 0x03,  // PDR ID 0x0203
        ]
        #expect(try m.encode() == bytes)
        #expect(try PFCPMessage.decode(bytes) == m)
    }

    /// Outer Header Creation in its IPv6 form and UE IP Address with a prefix
    /// length (sections 8.2.56 and 8.2.62).
    @Test func tunnelAndPrefixIEBytes() throws {
        var w = ByteWriter()
        PFCPOuterHeaderCreation.ipv6(toward: IPv6Address("fc00:1::d6")!).encode(into: &w)
        #expect(w.bytes == [0x20, 0x00, 0xfc, 0, 0, 1] + Array(repeating: 0, count: 11) + [0xd6])
        w = ByteWriter()
        PFCPUEIPAddress(prefix: IPv6Prefix("2001:db8:1:5::/64")!, isDestination: true).encode(into: &w)
        #expect(w.bytes == [0x45, 0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 5] + Array(repeating: 0, count: 8) + [64])
    }

    /// The C-TAG and S-TAG fields of Outer Header Creation, three octets
    /// each after the address, read as they came and written back; a tag
    /// the description announces and the value lacks is refused.
    @Test func outerHeaderCreationWithVLANTags() throws {
        let bytes: [UInt8] = [0x10 | 0x40 | 0x80, 0x00, 192, 0, 2, 1, 0x01, 0x02, 0x03, 0xA4, 0xB5, 0xC6]
        var r = ByteReader(bytes)
        let o = try PFCPOuterHeaderCreation.decode(&r)
        #expect(o.description == 0xD000 && o.ipv4 == 0xC000_0201)
        #expect(o.cTag == 0x01_0203 && o.sTag == 0xA4_B5C6)
        var w = ByteWriter()
        o.encode(into: &w)
        #expect(w.bytes == bytes)
        var short = ByteReader(Array(bytes.dropLast()))
        #expect(throws: WireError.self) { try PFCPOuterHeaderCreation.decode(&short) }
    }

    @Test(arguments: PFCPSamples.all)
    func everyMessageKindRoundTrips(message: PFCPMessage) throws {
        let bytes = try message.encode()
        let decoded = try PFCPMessage.decode(bytes)
        #expect(decoded == message, "\(message.type.name)")
        #expect(try decoded.encode() == bytes)
        #expect(decoded.unknown.isEmpty)
    }

    /// A receiver reads every message into one (`read`), and a sender
    /// writes each into one (`reset`): what is read is what `decode` gives,
    /// whatever the message held before, and a copy taken before is left
    /// as it was. Every sample is read after every other, so an IE of any
    /// kind that `reset` or `read` failed to take away would show.
    @Test func oneMessageReadsAndIsResetForEveryKindInTurn() throws {
        let datagrams = try PFCPSamples.all.map { try $0.encode() }
        var m = PFCPMessage(.heartbeatRequest, sequence: 0)
        for before in datagrams {
            for bytes in datagrams {
                try m.read(before)
                let held = m
                try m.read(bytes)
                #expect(m == (try PFCPMessage.decode(bytes)))
                #expect(try m.encode() == bytes)
                #expect(held == (try PFCPMessage.decode(before)), "a copy is not changed by the next read")
            }
            try m.read(before)
            m.reset(.sessionDeletionRequest, sequence: 9, seid: 3)
            #expect(m == PFCPMessage(.sessionDeletionRequest, sequence: 9, seid: 3))
            #expect(try m.encode() == (try PFCPMessage(.sessionDeletionRequest, sequence: 9, seid: 3).encode()))
        }
    }

    /// A message encoded into a datagram that held another (a sender
    /// encodes into those it is done with) is the same bytes, whether the
    /// datagram was as long, longer, shorter or shared; a copy is left as it
    /// was. Every sample is encoded after every other, and after itself.
    @Test func encodingIntoADatagramThatHeldAnotherGivesTheSameBytes() throws {
        let samples = PFCPSamples.all
        let datagrams = try samples.map { try $0.encode() }
        let originals = datagrams.map { $0.map { $0 } }  // storage of their own
        for (before, original) in zip(datagrams, originals) {
            for (message, bytes) in zip(samples, datagrams) {
                var datagram = before.map { $0 }  // storage of its own
                try message.encode(into: &datagram)
                #expect(datagram == bytes)
                var shared = before
                try message.encode(into: &shared)
                #expect(shared == bytes)
                #expect(before == original, "the datagram shared is left as it was")
            }
        }
        var roomy: [UInt8] = []
        roomy.reserveCapacity(4096)
        try samples[0].encode(into: &roomy)
        #expect(roomy == datagrams[0])
        // Longer than the writer's first buffer (256 octets): written
        // through memory of the writer's own, into each datagram.
        var long = PFCPMessage(.heartbeatRequest, sequence: 1)
        long.recoveryTimeStamp = 1
        long.unknown = (0..<40).map { PFCPRawIE(type: PFCPIEType(rawValue: UInt16(1000 + $0)), value: Array(repeating: UInt8($0), count: 12)) }
        let longBytes = try long.encode()
        #expect(longBytes.count > 600)
        for before in datagrams + [longBytes, roomy] {
            var datagram = before.map { $0 }
            try long.encode(into: &datagram)
            #expect(datagram == longBytes)
        }
    }

    /// A rule IE keeps what it rarely holds apart, nil while empty
    /// (`NilWhileEmpty`): one given such IEs and then rid of them again
    /// is equal to one never given any, hashes alike, and is written alike.
    @Test func aRuleIEGivenAndRidOfRareIEsIsAsIfItNeverHadThem() throws {
        let raw = PFCPRawIE(type: PFCPIEType(rawValue: 999), value: [1, 2])
        let address = PFCPUEIPAddress(prefix: IPv6Prefix("2001:db8:1::/64")!, isDestination: false)
        var pdi = PFCPPDI(sourceInterface: .access, networkInstance: "acc0", ueIPAddresses: [address])
        let plainPDI = pdi
        pdi.unknown.append(raw)
        pdi.sdfFilters.append(PFCPSDFFilter(flowDescription: "permit out ip from any to assigned"))
        pdi.ueIPAddresses = [address, address]
        #expect(pdi != plainPDI && pdi.unknown == [raw] && pdi.sdfFilters.count == 1 && pdi.ueIPAddressCount == 2)
        pdi.unknown.removeAll()
        pdi.sdfFilters = []
        pdi.ueIPAddresses = [address]
        #expect(pdi == plainPDI && pdi.hashValue == plainPDI.hashValue)
        var pdr = PFCPPDR(id: 1, precedence: 10, pdi: plainPDI, farID: 1)
        var far = PFCPFAR(id: 1, applyAction: .forward, forwarding: PFCPForwardingParameters(destinationInterface: .access))
        let (plainPDR, plainFAR) = (pdr, far)
        pdr.unknown.append(raw)
        far.unknown.append(raw)
        far.forwarding!.unknown.append(raw)
        #expect(pdr != plainPDR && far != plainFAR && far.forwarding!.unknown == [raw])
        pdr.unknown.removeLast()
        far.unknown = []
        far.forwarding!.unknown.removeAll()
        #expect(pdr == plainPDR && far == plainFAR && pdr.hashValue == plainPDR.hashValue && far.hashValue == plainFAR.hashValue)
        var m = PFCPMessage(.sessionEstablishmentRequest, sequence: 1, seid: 1)
        m.createPDR = [pdr]
        m.createFAR = [far]
        var plain = m
        plain.createPDR = [plainPDR]
        plain.createFAR = [plainFAR]
        #expect(try m.encode() == plain.encode())
    }

    @Test func everyMessageKindIsSampled() {
        let sampled = Set(PFCPSamples.all.map(\.type.rawValue))
        #expect(sampled == Set(PFCPMessageType.known.map(\.rawValue)).subtracting([PFCPMessageType.versionNotSupportedResponse.rawValue]))
    }

    /// IEs the decoder does not read, at the top and nested, enterprise-specific
    /// ones of other enterprises included, come back as the same octets.
    @Test func unknownIEsAreKeptAndWrittenBackUnchanged() throws {
        var m = PFCPSamples.all.first { $0.type == .sessionEstablishmentRequest }!
        let features = PFCPRawIE(type: PFCPIEType(rawValue: 43), value: [0x10, 0x00])
        let vendor = PFCPRawIE(type: PFCPIEType(rawValue: 0x8123), enterpriseID: 9, value: [1, 2, 3])
        m.unknown = [features, vendor]
        m.createPDR[0].unknown = [PFCPRawIE(type: PFCPIEType(rawValue: 81), value: [0, 0, 0, 1])]  // URR ID
        m.createPDR[0].pdi!.unknown = [PFCPRawIE(type: PFCPIEType(rawValue: 21), value: [0x05, 1, 2, 3, 4, 10, 0, 0, 1])]  // F-TEID
        let bytes = try m.encode()
        let decoded = try PFCPMessage.decode(bytes)
        #expect(decoded == m)
        #expect(try decoded.encode() == bytes)
        #expect(decoded.fields.json.contains("\"enterprise_id\":9"))
    }

    /// Another enterprise's IE of the type this project's Resynchronization
    /// has is not read as it: it is kept as it came.
    @Test func anotherEnterprisesIEOfAnOwnTypeIsKeptUnread() throws {
        var m = PFCPSamples.all.first { $0.type == .associationUpdateRequest }!
        m.resynchronization = nil
        let theirs = PFCPRawIE(type: .resynchronization, enterpriseID: 9, value: [0, 0, 0, 5])
        m.unknown = [theirs]
        let decoded = try PFCPMessage.decode(try m.encode())
        #expect(decoded.resynchronization == nil && decoded.unknown == [theirs])
    }

    /// A grouped IE in a message that does not carry it is not read as a rule.
    @Test func aGroupedIEOutOfPlaceIsNotRead() throws {
        var m = PFCPSamples.all[0]
        var w = ByteWriter()
        w.ie(.createPDR) { PFCPSamples.downlinkPDR.encode(into: &$0) }
        m.unknown = [PFCPRawIE(type: .createPDR, value: Array(w.bytes.dropFirst(4)))]
        let decoded = try PFCPMessage.decode(try m.encode())
        #expect(decoded.createPDR.isEmpty)
        #expect(decoded.unknown.map(\.type) == [.createPDR])
    }

    @Test func aMissingMandatoryIEIsNamed() throws {
        var setup = PFCPSamples.all.first { $0.type == .associationSetupRequest }!
        setup.nodeID = nil
        let e1 = #expect(throws: WireError.self) { try PFCPMessage.decode(try setup.encode()) }
        #expect(e1?.kind == .missing && e1?.element == PFCPIEType.nodeID.rawValue)

        var establish = PFCPSamples.all.first { $0.type == .sessionEstablishmentRequest }!
        establish.createPDR[1].pdi = nil
        let e2 = #expect(throws: WireError.self) { try PFCPMessage.decode(try establish.encode()) }
        #expect(e2?.kind == .missing && e2?.element == PFCPIEType.pdi.rawValue)

        // An update may leave out what a create must carry.
        var modify = PFCPMessage(.sessionModificationRequest, sequence: 1, seid: 5)
        modify.updatePDR = [PFCPPDR(id: 1, precedence: nil, pdi: nil, farID: nil)]
        #expect(try PFCPMessage.decode(try modify.encode()) == modify)
    }

    @Test func faultsNameTheIEAndTheOffset() throws {
        // A PDR ID of one octet inside a Remove PDR.
        let short: [UInt8] = [0x21, 0x34, 0x00, 0x15] + Array(repeating: 0, count: 8) + [0, 0, 1, 0,
                              0x00, 0x0F, 0x00, 0x05, 0x00, 0x38, 0x00, 0x01, 0x02]
        let e1 = #expect(throws: WireError.self) { try PFCPMessage.decode(short) }
        #expect(e1?.kind == .truncated && e1?.element == PFCPIEType.pdrID.rawValue && e1?.offset == 24)
        // An IE whose length runs past the message.
        let long: [UInt8] = [0x20, 0x01, 0x00, 0x08, 0, 0, 1, 0, 0x00, 0x60, 0x00, 0x09]
        let e2 = #expect(throws: WireError.self) { try PFCPMessage.decode(long) }
        #expect(e2?.kind == .badLength && e2?.element == PFCPIEType.recoveryTimeStamp.rawValue && e2?.offset == 10)
        // Version 2, an S flag on a node message, a length past the bytes.
        #expect(throws: WireError.self) { try PFCPMessage.decode([0x40, 0x01, 0x00, 0x04, 0, 0, 1, 0]) }
        #expect(throws: WireError.self) { try PFCPMessage.decode([0x21, 0x01, 0x00, 0x0C] + Array(repeating: 0, count: 12)) }
        #expect(throws: WireError.self) { try PFCPMessage.decode([0x20, 0x01, 0x00, 0x10, 0, 0, 1, 0]) }
        // A load metric over 100, an FQDN label with a dot.
        var report = PFCPSamples.all.first { $0.type == .nodeReportRequest }!
        report.loadControl = PFCPLoadControl(sequence: 1, metric: 101)
        let e3 = #expect(throws: WireError.self) { try PFCPMessage.decode(try report.encode()) }
        #expect(e3?.kind == .badValue && e3?.element == PFCPIEType.metric.rawValue)
        let dotted: [UInt8] = [0x20, 0x09, 0x00, 0x0C, 0, 0, 1, 0, 0x00, 0x3C, 0x00, 0x04, 0x02, 0x02, 0x61, 0x2E]
        let e4 = #expect(throws: WireError.self) { try PFCPMessage.decode(dotted) }
        #expect(e4?.kind == .badValue && e4?.element == PFCPIEType.nodeID.rawValue)
    }

    @Test func theHeaderAloneIsReadForAnAnswer() throws {
        let bytes: [UInt8] = [0x41, 0x32, 0x00, 0x0C, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 5, 0x70]
        let (header, length) = try PFCPHeader.decode(bytes)
        #expect(header.version == 2 && header.type == .sessionEstablishmentRequest && header.seid == 9 && header.sequence == 5)
        #expect(length == 16 && header.priority == nil)
        // A Message Length past the datagram: the fields still read, for an
        // answer with Invalid Length; the header does not decode.
        var long = bytes
        long[3] = 0x20
        #expect(try PFCPHeader.read(long).length == 36)
        let e = #expect(throws: WireError.self) { try PFCPHeader.decode(long) }
        #expect(e?.kind == .truncated && e?.offset == 2)
    }

    /// A PDI's UE IP Addresses, the first held apart from the others, are
    /// written and read back in order, whichever way they were given; none
    /// is none.
    @Test func aPDIKeepsEveryUEIPAddressInOrder() throws {
        let addresses = (1...3).map { PFCPUEIPAddress(prefix: IPv6Prefix(IPv6Address(high: 0x2001_0db8_0000_0000 | $0, low: 0), length: 64),
                                                      isDestination: true) }
        var set = PFCPPDI(sourceInterface: .core, ueIPAddresses: [])
        set.ueIPAddresses = addresses
        var added = PFCPPDI(sourceInterface: .core, ueIPAddresses: [])
        for a in addresses { added.add(a) }
        let made = PFCPPDI(sourceInterface: .core, ueIPAddresses: addresses)
        #expect(set == made && added == made)
        #expect(made.ueIPAddresses == addresses && made.ueIPAddressCount == 3 && made.firstUEIPAddress == addresses[0])
        var m = PFCPMessage(.sessionEstablishmentRequest, sequence: 1, seid: 0)
        m.nodeID = .ipv6(IPv6Address("2001:db8::1")!)
        m.fSEID = PFCPFSEID(seid: 1, ipv6: IPv6Address("2001:db8::1")!)
        m.createPDR = [PFCPPDR(id: 1, precedence: 1, pdi: made, farID: 1)]
        m.createFAR = [PFCPFAR(id: 1, applyAction: .drop)]
        let decoded = try PFCPMessage.decode(m.encode())
        #expect(decoded.createPDR.first?.pdi?.ueIPAddresses == addresses)
        #expect(decoded == m)
        let none = PFCPPDI(sourceInterface: .core, ueIPAddresses: [])
        #expect(none.ueIPAddresses.isEmpty && none.ueIPAddressCount == 0 && none.firstUEIPAddress == nil)
    }

    /// Setting a PDR's PDI in place (the rule mapping's) leaves no IE of
    /// the PDI it held: it equals the PDI made anew with the same IEs.
    @Test func aPDISetInPlaceKeepsNothingOfTheOldOne() {
        let address = PFCPUEIPAddress(prefix: IPv6Prefix("2001:db8:5::/64")!, isDestination: false)
        var old = PFCPPDI(sourceInterface: .core, networkInstance: "old", ueIPAddresses: [address, address, address],
                          sdfFilters: [PFCPSDFFilter(flowDescription: "permit out 17 from any to any", filterID: 1)])
        old.unknown = [PFCPRawIE(type: PFCPIEType(rawValue: 81), value: [0, 0, 0, 1])]
        var pdr = PFCPPDR(id: 1, precedence: 1, pdi: old, farID: 1)
        pdr.setDetection(source: .access, networkInstance: "acc0", ueIPAddress: address)
        #expect(pdr.pdi == PFCPPDI(sourceInterface: .access, networkInstance: "acc0", ueIPAddresses: [address]))
        var blank = PFCPPDR.blank
        blank.setDetection(source: .core, networkInstance: nil, ueIPAddress: address)
        #expect(blank.pdi == PFCPPDI(sourceInterface: .core, ueIPAddresses: [address]))
    }

    /// Network Instance is an octet string; peers may write it as DNS
    /// labels. Its octets are kept as they came, short or long, and
    /// written back unchanged.
    @Test func aNetworkInstanceInDNSLabelsReadsAsItsName() throws {
        #expect(PFCPNetworkInstance("\u{4}acc0").name == "acc0")
        #expect(PFCPNetworkInstance("\u{3}ims\u{7}example").name == "ims.example")
        #expect(PFCPNetworkInstance("eth1").name == "eth1", "plain text stays as it is")
        for notLabels in ["\u{5}acc0", "\u{0}", "\u{2}a\u{1}"] {
            #expect(PFCPNetworkInstance(notLabels).name == notLabels)
        }
        #expect(PFCPNetworkInstance(octets: [0x61, 0xFF]).name == nil && PFCPNetworkInstance(octets: [0x61, 0xFF]).text == "a\u{FFFD}")
        let long = PFCPNetworkInstance("\u{8}internet\u{6}mnc001\u{6}mcc001\u{4}gprs")
        #expect(long.text == "internet.mnc001.mcc001.gprs")
        for instance in [long, "", "sixteen-octets!!", "seventeen-octets!", "\u{4}acc0", PFCPNetworkInstance(octets: [0xFF, 0, 1])] {
            let far = PFCPFAR(id: 1, applyAction: .forward,
                              forwarding: PFCPForwardingParameters(destinationInterface: .access, networkInstance: instance))
            var m = PFCPMessage(.sessionModificationRequest, sequence: 1, seid: 2)
            m.createFAR = [far]
            let decoded = try PFCPMessage.decode(try m.encode()).createFAR.first?.forwarding?.networkInstance
            #expect(decoded == instance && decoded?.bytes == instance.bytes, "\(instance.bytes)")
        }
    }

    @Test func anOversizedMessageIsRefusedByTheEncoder() {
        var m = PFCPMessage(.sessionModificationRequest, sequence: 1, seid: 1)
        m.unknown = Array(repeating: PFCPRawIE(type: PFCPIEType(rawValue: 200), value: Array(repeating: 0, count: 1000)), count: 70)
        #expect(throws: WireError.self) { try m.encode() }
    }

    /// The encoder writes on the stack up to 256 octets and moves to memory
    /// of its own past them: messages either side of the move, and one at
    /// the largest length, come back whole with their Message Length right.
    @Test(arguments: [0, 200, 300, 5_000, 65_523])
    func messagesOfEveryLengthAreWrittenWhole(unknownOctets: Int) throws {
        var m = PFCPMessage(.sessionModificationRequest, sequence: 7, seid: 9)
        var left = unknownOctets
        while left > 0 {
            let octets = min(left - 4, 1_000)
            m.unknown.append(PFCPRawIE(type: PFCPIEType(rawValue: 200), value: (0..<octets).map { UInt8(truncatingIfNeeded: $0) }))
            left -= octets + 4
        }
        let bytes = try m.encode()
        #expect(bytes.count == 16 + unknownOctets)
        #expect(Int(bytes[2]) << 8 | Int(bytes[3]) == bytes.count - 4)
        #expect(try PFCPMessage.decode(bytes) == m)

        let written = ByteWriter.collect(capacity: 16) { w in for i in 0..<unknownOctets { w.u8(UInt8(truncatingIfNeeded: i)) } }
        #expect(written == (0..<unknownOctets).map { UInt8(truncatingIfNeeded: $0) })
    }

    /// Sample messages with octets changed, cut short or lengthened, and
    /// random octets: each is refused with an offset inside the buffer, or
    /// decodes to a value that encodes and decodes to itself.
    @Test(arguments: [1, 2, 3] as [UInt64])
    func hostileBytesNeverTrap(seed: UInt64) throws {
        var g = Generate(seed: seed)
        let samples = try PFCPSamples.all.map { try $0.encode() }
        var refused = 0, accepted = 0
        for round in 0..<20_000 {
            var bytes = round % 5 == 0 ? g.bytes(0...120) : g.pick(samples)
            if round % 5 != 0 {
                for _ in 0..<g.int(1...4) where !bytes.isEmpty { bytes[g.int(0...bytes.count - 1)] = g.u8() }
                if g.int(0...3) == 0 { bytes = Array(bytes.prefix(g.int(0...bytes.count))) }
                if g.int(0...7) == 0 { bytes += g.bytes(1...16) }
            }
            do {
                let m = try PFCPMessage.decode(bytes)
                #expect(try PFCPMessage.decode(try m.encode()) == m)
                accepted += 1
            } catch {
                refused += 1
                #expect(error.offset >= 0 && error.offset <= bytes.count, "\(error) for \(bytes.count) bytes")
            }
        }
        #expect(refused > 0 && accepted > 0)
    }

    /// PFCP inside UDP inside IPv6, as a capture holds it.
    @Test func pfcpInIPv6AndUDP() throws {
        let message = PFCPSamples.all[2]
        let packet = IPv6Packet(source: PFCPSamples.agent, destination: PFCPSamples.controller,
                                payload: .udp(UDPDatagram(sourcePort: 8805, destinationPort: 8805, payload: .pfcp(message))))
        var bytes = try packet.encode()
        #expect(try IPv6Packet.decode(bytes) == packet)
        bytes[bytes.count - 1] ^= 1
        let e = #expect(throws: WireError.self) { try IPv6Packet.decode(bytes) }
        #expect(e?.kind == .badChecksum)
    }
}
