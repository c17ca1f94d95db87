/// Field trees of PFCP messages for `dmm wire decode`, labelled as TS 29.244
/// names the fields.
extension PFCPMessage {
    public var fields: Field {
        var c: [Field] = [
            .int("Version", "version", header.version),
            .int("Message Type", "message_type", header.type.rawValue, note: header.type.name),
        ]
        if let seid = header.seid { c.append(.string("SEID", "seid", hex64(seid))) }
        c.append(.int("Sequence Number", "sequence", header.sequence))
        if let priority = header.priority { c.append(.int("Message Priority", "priority", priority)) }
        var ies: [Field] = []
        if let nodeID { ies.append(ie(.nodeID, nodeID.fields)) }
        if let cause { ies.append(ie(.cause, [.int("Cause", "cause", cause.rawValue, note: cause.name)])) }
        if let offendingIE { ies.append(ie(.offendingIE, [.int("Type of the offending IE", "offending_ie", offendingIE.rawValue, note: offendingIE.name)])) }
        if let recoveryTimeStamp {
            ies.append(ie(.recoveryTimeStamp, [.int("Recovery Time Stamp", "recovery_time_stamp", recoveryTimeStamp,
                                                   note: ntpTime(recoveryTimeStamp))]))
        }
        if let fSEID { ies.append(ie(.fSEID, fSEID.fields)) }
        if let nodeReportType { ies.append(ie(.nodeReportType, [flagField(nodeReportType.rawValue, PFCPNodeReportType.named)])) }
        ies += removePDR.map { ie(.removePDR, $0.fields(group: .removePDR)) }
        ies += removeFAR.map { ie(.removeFAR, $0.fields(group: .removeFAR)) }
        if let removeBAR { ies.append(ie(.removeBAR, removeBAR.fields(group: .removeBAR))) }
        ies += createPDR.map { ie(.createPDR, $0.fields) }
        ies += createFAR.map { ie(.createFAR, $0.fields(create: true)) }
        if let createBAR { ies.append(ie(.createBAR, createBAR.fields)) }
        ies += updatePDR.map { ie(.updatePDR, $0.fields) }
        ies += updateFAR.map { ie(.updateFAR, $0.fields(create: false)) }
        if let updateBAR { ies.append(ie(.updateBAR, updateBAR.fields)) }
        ies += createdPDR.map { ie(.createdPDR, $0.fields(group: .createdPDR)) }
        if let reportType { ies.append(ie(.reportType, [flagField(reportType.rawValue, PFCPReportType.named)])) }
        if let downlinkDataReport {
            ies.append(ie(.downlinkDataReport, downlinkDataReport.pdrIDs.map { ie(.pdrID, [.int("Rule ID", "pdr_id", $0)]) }
                          + downlinkDataReport.unknown.map(\.fields)))
        }
        if let loadControl { ies.append(ie(.loadControlInformation, loadControl.fields)) }
        ies += poolInformation.map { ie(.ueIPAddressPoolInformation, $0.fields) }
        if let resynchronization {
            ies.append(ie(.resynchronization, [.int("Enterprise ID", "enterprise_id", dmmEnterpriseID),
                                                .int("Association Setup Sequence Number", "association_sequence", resynchronization)]))
        }
        ies += unknown.map(\.fields)
        c.append(Field("Information elements", key: "ies", children: ies, isList: true))
        return Field("Packet Forwarding Control Protocol", key: "pfcp", children: c)
    }
}

func ie(_ type: PFCPIEType, _ children: [Field]) -> Field {
    Field("IE", key: "ie", .int(Int64(type.rawValue)), note: type.name, children: children)
}

func hex64(_ v: UInt64) -> String { "0x" + String(repeating: "0", count: 16 - String(v, radix: 16).count) + String(v, radix: 16) }

/// NTP seconds (era 0, from 1900) as UTC, for Recovery Time Stamp.
func ntpTime(_ seconds: UInt32) -> String {
    CivilTime(unixSeconds: Int64(seconds) - 2_208_988_800).text(nanoseconds: 0)
}

func flagField<T: OptionSet>(_ raw: T.RawValue, _ named: [(T, String)]) -> Field where T.RawValue: BinaryInteger {
    let set = named.filter { raw & $0.0.rawValue != 0 }.map(\.1)
    return Field("Flags", key: "flags", .string(set.isEmpty ? "none" : set.joined(separator: " ")),
                 children: named.map { .bool($0.1, $0.1.lowercased(), raw & $0.0.rawValue != 0) })
}

func ipv4Text(_ a: UInt32) -> String { PFCPNodeID.ipv4(a).description }

extension PFCPRawIE {
    var fields: Field {
        var c: [Field] = []
        if let enterpriseID { c.append(.int("Enterprise ID", "enterprise_id", enterpriseID)) }
        c.append(.hex("Value", "value", value))
        return ie(type, c)
    }
}

extension PFCPNodeID {
    var fields: [Field] {
        switch self {
        case .ipv4(let a): [.int("Node ID Type", "node_id_type", 0, note: "IPv4"), .string("IPv4", "ipv4", ipv4Text(a))]
        case .ipv6(let a): [.int("Node ID Type", "node_id_type", 1, note: "IPv6"), .string("IPv6", "ipv6", a.description)]
        case .fqdn(let n): [.int("Node ID Type", "node_id_type", 2, note: "FQDN"), .string("FQDN", "fqdn", n)]
        }
    }
}

extension PFCPFSEID {
    var fields: [Field] {
        var c: [Field] = [.string("SEID", "seid", hex64(seid))]
        if let ipv4 { c.append(.string("IPv4 address", "ipv4", ipv4Text(ipv4))) }
        if let ipv6 { c.append(.string("IPv6 address", "ipv6", ipv6.description)) }
        return c
    }
}

extension PFCPPDR {
    var fields: [Field] {
        var c = [ie(.pdrID, [.int("Rule ID", "pdr_id", id)])]
        if let precedence { c.append(ie(.precedence, [.int("Precedence", "precedence", precedence)])) }
        if let pdi { c.append(ie(.pdi, pdi.fields)) }
        if let outerHeaderRemoval {
            var f: [Field] = [.int("Outer Header Removal Description", "description", outerHeaderRemoval.description,
                                   note: outerHeaderRemoval.description == 5 ? "IPv6" : nil)]
            if let d = outerHeaderRemoval.extensionHeaderDeletion { f.append(.int("GTP-U Extension Header Deletion", "extension_header_deletion", d)) }
            c.append(ie(.outerHeaderRemoval, f))
        }
        if let farID { c.append(ie(.farID, [.int("FAR ID", "far_id", farID)])) }
        return c + unknown.map(\.fields)
    }
}

extension PFCPPDI {
    var fields: [Field] {
        var c = [ie(.sourceInterface, [.int("Interface value", "interface", sourceInterface.rawValue, note: sourceInterface.name)])]
        if let networkInstance { c.append(ie(.networkInstance, [.string("Network Instance", "network_instance", networkInstance.text)])) }
        c += ueIPAddresses.map { ie(.ueIPAddress, $0.fields) }
        c += sdfFilters.map { ie(.sdfFilter, $0.fields) }
        return c + unknown.map(\.fields)
    }
}

extension PFCPUEIPAddress {
    var fields: [Field] {
        var c: [Field] = [.bool("S/D", "sd", isDestination)]
        if let ipv4 { c.append(.string("IPv4 address", "ipv4", ipv4Text(ipv4))) }
        if let ipv6 { c.append(.string("IPv6 address", "ipv6", ipv6.description)) }
        if let prefixDelegationBits { c.append(.int("IPv6 Prefix Delegation Bits", "prefix_delegation_bits", prefixDelegationBits)) }
        if let prefixLength { c.append(.int("IPv6 Prefix Length", "prefix_length", prefixLength)) }
        if chooseIPv4 { c.append(.bool("CHV4", "chv4", true)) }
        if chooseIPv6 { c.append(.bool("CHV6", "chv6", true)) }
        return c
    }
}

extension PFCPSDFFilter {
    var fields: [Field] {
        var c: [Field] = []
        if let flowDescription { c.append(.string("Flow Description", "flow_description", flowDescription)) }
        if let typeOfService { c.append(.int("ToS Traffic Class", "tos", typeOfService)) }
        if let securityParameterIndex { c.append(.int("Security Parameter Index", "spi", securityParameterIndex)) }
        if let flowLabel { c.append(.int("Flow Label", "flow_label", flowLabel)) }
        if let filterID { c.append(.int("SDF Filter ID", "sdf_filter_id", filterID)) }
        return c
    }
}

extension PFCPFAR {
    func fields(create: Bool) -> [Field] {
        var c = [ie(.farID, [.int("FAR ID", "far_id", id)])]
        if let applyAction { c.append(ie(.applyAction, [flagField(applyAction.rawValue, PFCPApplyAction.named)])) }
        if let forwarding { c.append(ie(create ? .forwardingParameters : .updateForwardingParameters, forwarding.fields)) }
        if let barID { c.append(ie(.barID, [.int("BAR ID", "bar_id", barID)])) }
        return c + unknown.map(\.fields)
    }
}

extension PFCPForwardingParameters {
    var fields: [Field] {
        var c: [Field] = []
        if let d = destinationInterface { c.append(ie(.destinationInterface, [.int("Interface value", "interface", d.rawValue, note: d.name)])) }
        if let networkInstance { c.append(ie(.networkInstance, [.string("Network Instance", "network_instance", networkInstance.text)])) }
        if let o = outerHeaderCreation {
            var f: [Field] = [.int("Outer Header Creation Description", "description", o.description)]
            if let teid = o.teid { f.append(.int("TEID", "teid", teid)) }
            if let a = o.ipv4 { f.append(.string("IPv4 Address", "ipv4", ipv4Text(a))) }
            if let a = o.ipv6 { f.append(.string("IPv6 Address", "ipv6", a.description)) }
            if let p = o.port { f.append(.int("Port Number", "port", p)) }
            if let t = o.cTag { f.append(.int("C-TAG", "c_tag", t)) }
            if let t = o.sTag { f.append(.int("S-TAG", "s_tag", t)) }
            c.append(ie(.outerHeaderCreation, f))
        }
        if let nextHop {
            c.append(ie(.nextHop, [.int("Enterprise ID", "enterprise_id", dmmEnterpriseID), .string("Next Hop", "next_hop", nextHop.description)]))
        }
        return c + unknown.map(\.fields)
    }
}

extension PFCPBAR {
    var fields: [Field] {
        var c = [ie(.barID, [.int("BAR ID", "bar_id", id)])]
        if let packetCount { c.append(ie(.suggestedBufferingPacketsCount, [.int("Packet count", "packet_count", packetCount)])) }
        return c + unknown.map(\.fields)
    }
}

extension PFCPRuleReference {
    func fields(group: PFCPIEType) -> [Field] {
        let (type, _) = Self.identifier(of: group)
        let key = type == .farID ? "far_id" : type == .barID ? "bar_id" : "pdr_id"
        return [ie(type, [.int(type.name, key, id)])] + unknown.map(\.fields)
    }
}

extension PFCPLoadControl {
    var fields: [Field] {
        [ie(.sequenceNumber, [.int("Sequence Number", "sequence_number", sequence)]),
         ie(.metric, [.int("Metric", "metric", metric)])] + unknown.map(\.fields)
    }
}

extension PFCPPoolInformation {
    var fields: [Field] {
        [ie(.ueIPAddressPoolIdentity, [.string("UE IP address Pool Identity", "pool_identity", identity)])]
            + prefixes.map { ie(.poolPrefix, [.int("Enterprise ID", "enterprise_id", dmmEnterpriseID), .string("Prefix", "prefix", $0.description)]) }
            + unknown.map(\.fields)
    }
}
