import DMMTestSupport
import Foundation
import Testing

@testable import DMMWire

/// Wireshark's PFCP dissector as an independent reader: every message kind
/// with every IE this system reads, in IPv6 and UDP on port 8805; each field
/// tshark reports must equal the encoded value, and no packet may be malformed.
@Suite(.enabled(if: Tshark.path != nil || ProcessInfo.processInfo.environment["CI"] != nil,
                "needs tshark (apt-get install tshark); CI installs it and runs this suite"))
struct PFCPTsharkTests {
    /// Expected field values, each field's occurrences in packet order.
    struct Expected {
        var fields: [String: [String]] = [:]
        mutating func add(_ field: String, _ value: some CustomStringConvertible) { fields[field, default: []].append(value.description) }
        mutating func add(_ field: String, _ flag: Bool) { add(field, flag ? "1" : "0") }
    }

    static func hex(_ bytes: [UInt8]) -> String { bytes.map { h2($0) }.joined() }

    /// The fields tshark shows for `m`, walked in the order `encode` writes.
    static func expected(_ m: PFCPMessage) -> [String: String] {
        var e = Expected()
        e.add("pfcp.version", 1)
        e.add("pfcp.msg_type", m.type.rawValue)
        e.add("pfcp.s", m.seid != nil)
        if let seid = m.seid { e.add("pfcp.seid", hex64(seid)) }
        e.add("pfcp.seqno", m.sequence)
        if let n = m.nodeID {
            switch n {
            case .ipv4(let a): e.add("pfcp.node_id_type", 0); e.add("pfcp.node_id_ipv4", ipv4Text(a))
            case .ipv6(let a): e.add("pfcp.node_id_type", 1); e.add("pfcp.node_id_ipv6", a)
            case .fqdn(let name): e.add("pfcp.node_id_type", 2); e.add("pfcp.node_id_fqdn", name)
            }
        }
        if let c = m.cause { e.add("pfcp.cause", c.rawValue) }
        if let o = m.offendingIE { e.add("pfcp.offending_ie", o.rawValue) }
        if let t = m.recoveryTimeStamp { e.add("pfcp.recovery_time_stamp", ntpTime(t)) }
        if let f = m.fSEID {
            e.add("pfcp.f_seid_flags.v4", f.ipv4 != nil)
            e.add("pfcp.f_seid_flags.v6", f.ipv6 != nil)
            e.add("pfcp.seid", hex64(f.seid))
            if let a = f.ipv4 { e.add("pfcp.f_seid.ipv4", ipv4Text(a)) }
            if let a = f.ipv6 { e.add("pfcp.f_seid.ipv6", a) }
        }
        if let t = m.nodeReportType { e.add("pfcp.node_report_type.pvsrurr", t.contains(.vendorSpecific)) }
        for r in m.removePDR { e.add("pfcp.pdr_id", r.id) }
        for r in m.removeFAR { e.add("pfcp.far_id", r.id) }
        if let r = m.removeBAR { e.add("pfcp.bar_id", r.id) }
        for rule in m.createPDR { pdr(rule, &e) }
        for rule in m.createFAR { far(rule, &e) }
        if let b = m.createBAR { bar(b, &e) }
        for rule in m.updatePDR { pdr(rule, &e) }
        for rule in m.updateFAR { far(rule, &e) }
        if let b = m.updateBAR { bar(b, &e) }
        for r in m.createdPDR { e.add("pfcp.pdr_id", r.id) }
        if let t = m.reportType {
            e.add("pfcp.report_type.dldr", t.contains(.downlinkData))
            e.add("pfcp.report_type.upir", t.contains(.inactivity))
        }
        for id in m.downlinkDataReport?.pdrIDs ?? [] { e.add("pfcp.pdr_id", id) }
        if let l = m.loadControl {
            e.add("pfcp.sequence_number", l.sequence)
            e.add("pfcp.metric", l.metric)
        }
        for pool in m.poolInformation {
            e.add("pfcp.ue_ip_address_pool_identity", hex(Array(pool.identity.utf8)))
            for p in pool.prefixes {
                e.add("pfcp.enterprise_id", dmmEnterpriseID)
                e.add("pfcp.enterprise_ie_data", hex([p.length] + p.address.bytes))
            }
        }
        if let r = m.resynchronization {
            e.add("pfcp.enterprise_id", dmmEnterpriseID)
            e.add("pfcp.enterprise_ie_data", hex(withUnsafeBytes(of: r.bigEndian) { Array($0) }))
        }
        return e.fields.mapValues { $0.joined(separator: ";") }
    }

    static func pdr(_ rule: PFCPPDR, _ e: inout Expected) {
        e.add("pfcp.pdr_id", rule.id)
        if let p = rule.precedence { e.add("pfcp.precedence", p) }
        if let pdi = rule.pdi {
            e.add("pfcp.source_interface", pdi.sourceInterface.rawValue)
            if let n = pdi.networkInstance { e.add("pfcp.network_instance", n.text) }
            for u in pdi.ueIPAddresses {
                e.add("pfcp.ue_ip_address_flag.sd", u.isDestination)
                if let a = u.ipv6 { e.add("pfcp.ue_ip_addr_ipv6", a) }
                if let l = u.prefixLength { e.add("pfcp.ue_ip_addr_ipv6_prefix_length", l) }
            }
            for f in pdi.sdfFilters {
                if let d = f.flowDescription { e.add("pfcp.flow_desc", d) }
                if let id = f.filterID { e.add("pfcp.sdf_filter_id", id) }
            }
        }
        if let r = rule.outerHeaderRemoval { e.add("pfcp.out_hdr_desc", r.description) }
        if let f = rule.farID { e.add("pfcp.far_id", f) }
    }

    static func far(_ rule: PFCPFAR, _ e: inout Expected) {
        e.add("pfcp.far_id", rule.id)
        if let a = rule.applyAction {
            e.add("pfcp.apply_action.drop", a.contains(.drop))
            e.add("pfcp.apply_action.forw", a.contains(.forward))
            e.add("pfcp.apply_action.buff", a.contains(.buffer))
            e.add("pfcp.apply_action.nocp", a.contains(.notifyCP))
        }
        if let f = rule.forwarding {
            if let d = f.destinationInterface { e.add("pfcp.dst_interface", d.rawValue) }
            if let n = f.networkInstance { e.add("pfcp.network_instance", n.text) }
            if let o = f.outerHeaderCreation {
                e.add("pfcp.outer_hdr_desc", o.description)
                if let a = o.ipv6 { e.add("pfcp.outer_hdr_creation.ipv6", a) }
            }
            if let h = f.nextHop {
                e.add("pfcp.enterprise_id", dmmEnterpriseID)
                e.add("pfcp.enterprise_ie_data", hex(h.bytes))
            }
        }
        if let b = rule.barID { e.add("pfcp.bar_id", b) }
    }

    static func bar(_ b: PFCPBAR, _ e: inout Expected) {
        e.add("pfcp.bar_id", b.id)
        if let c = b.packetCount { e.add("pfcp.suggested_buffering_packets_count.packet_count", c) }
    }

    @Test func everyFieldTsharkReportsEqualsTheEncodedValue() throws {
        let tshark = try #require(Tshark.path, "tshark is not installed")
        let messages = PFCPSamples.all
        var writer = PcapWriter()
        for m in messages {
            let packet = IPv6Packet(source: PFCPSamples.agent, destination: PFCPSamples.controller,
                                    payload: .udp(UDPDatagram(sourcePort: 8805, destinationPort: 8805, payload: .pfcp(m))))
            writer.append(packet: try packet.encode(), time: 1_795_000_000)
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dmm-pfcp-tshark-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("pfcp.pcap")
        try Data(writer.bytes).write(to: file)

        let expected = messages.map(Self.expected)
        let names = ["_ws.malformed", "_ws.expert.severity", "udp.checksum.status"]
            + Array(Set(expected.flatMap(\.keys))).sorted()
        let output = try Tshark.run(tshark, ["-r", file.path, "-o", "udp.check_checksum:TRUE", "-T", "fields",
                                             "-E", "occurrence=a", "-E", "aggregator=;", "-E", "separator=/t"]
                                    + names.flatMap { ["-e", $0] })
        let rows = output.split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.isEmpty }
        #expect(rows.count == messages.count)
        for (i, (fields, row)) in zip(expected, rows).enumerated() {
            let values = row.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            try #require(values.count == names.count, "frame \(i + 1): \(values.count) columns")
            let got = Dictionary(uniqueKeysWithValues: zip(names, values))
            let what = "frame \(i + 1) (\(messages[i].type.name))"
            #expect(got["_ws.malformed"] == "", "\(what) malformed")
            #expect(got["_ws.expert.severity"] == "", "\(what) has expert info")
            #expect(got["udp.checksum.status"] == "1", "\(what) UDP checksum")
            for (field, value) in fields {
                #expect(got[field] == value, "\(what) \(field)")
            }
        }
    }
}
