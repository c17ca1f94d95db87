/// Field trees for every message, for `dmm wire decode`. Labels follow the
/// RFC field names; keys are their snake_case forms.
extension IPv6Packet {
    public var fields: Field {
        var header: [Field] = [
            .int("Traffic class", "traffic_class", trafficClass),
            .int("Flow label", "flow_label", flowLabel),
            .int("Next header", "next_header", extensionHeaders.first?.type ?? payload.protocolNumber),
            .int("Hop limit", "hop_limit", hopLimit),
            .string("Source address", "source", source.description),
            .string("Destination address", "destination", destination.description),
        ]
        for ext in extensionHeaders {
            header.append(Field("Extension header", key: "extension_header", .int(Int64(ext.type)),
                                children: [.hex("Data", "data", ext.data)]))
        }
        let upper: Field
        switch payload {
        case .mobility(let mh): upper = mh.fields
        case .icmpv6(let m): upper = m.fields
        case .udp(let d): upper = d.fields
        case .other(let p, let bytes):
            upper = Field("Payload", key: "payload", children: [.int("Protocol", "protocol", p), .hex("Data", "data", bytes)])
        }
        return Field("Internet Protocol Version 6", key: "ipv6", children: header + [upper])
    }
}

extension MobilityHeader {
    public var fields: Field {
        var children: [Field] = [
            .int("Payload protocol", "payload_proto", payloadProto),
            .int("Mobility Header Type", "mh_type", message.type, note: message.name),
        ]
        switch message {
        case .bindingUpdate(let m):
            children += [
                .int("Sequence number", "sequence", m.sequence),
                Self.flags(m.flags.rawValue, BindingUpdate.Flags.named.map { ($0.0.rawValue, $0.1, $0.2) }),
                .int("Lifetime", "lifetime", m.lifetime, note: "\(Int(m.lifetime) * 4) seconds"),
            ]
        case .bindingAcknowledgement(let m):
            children += [
                .int("Status", "status", m.status.rawValue, note: m.status.name),
                Self.flags(UInt16(m.flags.rawValue), BindingAcknowledgement.Flags.named.map { (UInt16($0.0.rawValue), $0.1, $0.2) }),
                .int("Sequence number", "sequence", m.sequence),
                .int("Lifetime", "lifetime", m.lifetime, note: "\(Int(m.lifetime) * 4) seconds"),
            ]
        case .bindingError(let m):
            children += [
                .int("Status", "status", m.status.rawValue, note: m.status.name),
                .string("Home address", "home_address", m.homeAddress.description),
            ]
        case .updateNotification(let m):
            children += [
                .int("Sequence number", "sequence", m.sequence),
                .int("Notification reason", "notification_reason", m.reason.rawValue, note: m.reason.name),
                .bool("Acknowledgement requested (A)", "a_flag", m.acknowledgeRequested),
                .bool("Deregistration (D)", "d_flag", m.deregistration),
            ]
        case .updateNotificationAcknowledgement(let m):
            children += [
                .int("Sequence number", "sequence", m.sequence),
                .int("Status", "status", m.status.rawValue, note: m.status.name),
            ]
        case .unknown(_, let data):
            children.append(.hex("Message data", "data", data))
        }
        if !message.options.isEmpty {
            children.append(Field("Mobility options", key: "options", children: message.options.map(\.fields), isList: true))
        }
        return Field("Mobility Header", key: "mobility_header", children: children)
    }

    static func flags(_ raw: UInt16, _ named: [(UInt16, Character, String)]) -> Field {
        let set = named.filter { raw & $0.0 != 0 }.map { String($0.1) }.joined()
        return Field("Flags", key: "flags", .string(set.isEmpty ? "none" : set),
                     children: named.map { .bool("\($0.2) (\($0.1))", "\($0.1.lowercased())_flag", raw & $0.0 != 0) })
    }
}

extension MobilityMessage {
    public var name: String {
        switch self {
        case .bindingUpdate(let m):
            m.flags.contains(.proxyRegistration) ? "Proxy Binding Update" : "Binding Update"
        case .bindingAcknowledgement(let m):
            m.flags.contains(.proxyRegistration) ? "Proxy Binding Acknowledgement" : "Binding Acknowledgement"
        case .bindingError: "Binding Error"
        case .updateNotification: "Update Notification"
        case .updateNotificationAcknowledgement: "Update Notification Acknowledgement"
        case .unknown: "unknown"
        }
    }
}

extension MobilityOption {
    public var name: String {
        switch self {
        case .mobileNetworkPrefix: "Mobile Network Prefix"
        case .vendorSpecific: "Vendor Specific"
        case .mobileNodeIdentifier: "Mobile Node Identifier"
        case .authentication: "Mobility Message Authentication"
        case .homeNetworkPrefix: "Home Network Prefix"
        case .handoffIndicator: "Handoff Indicator"
        case .accessTechnologyType: "Access Technology Type"
        case .mobileNodeLinkLayerIdentifier: "Mobile Node Link-layer Identifier"
        case .linkLocalAddress: "Link-local Address"
        case .timestamp: "Timestamp"
        case .unknown: "unknown"
        }
    }

    public var fields: Field {
        var c: [Field] = [.int("Length", "length", dataLength)]
        switch self {
        case .mobileNetworkPrefix(let p), .homeNetworkPrefix(let p):
            c += [.int("Prefix length", "prefix_length", p.length), .string("Prefix", "prefix", p.address.description)]
        case .vendorSpecific(let v):
            c += [.int("Vendor ID", "vendor_id", v.vendorID), .int("Sub-type", "subtype", v.subtype), .hex("Data", "data", v.data)]
        case .mobileNodeIdentifier(let m):
            c.append(.int("Subtype", "subtype", m.subtype.rawValue, note: m.subtype.name))
            c.append(m.text.map { .string("Identifier", "identifier", $0) } ?? .hex("Identifier", "identifier", m.identifier))
        case .authentication(let a):
            c += [.int("Subtype", "subtype", a.subtype.rawValue, note: a.subtype.name),
                  .int("Mobility SPI", "spi", a.spi), .hex("Authentication data", "authenticator", a.authenticator)]
        case .handoffIndicator(let hi):
            c.append(.int("Handoff Indicator", "handoff_indicator", hi.rawValue, note: hi.name))
        case .accessTechnologyType(let att):
            c.append(.int("Access Technology Type", "access_technology_type", att.rawValue, note: att.name))
        case .mobileNodeLinkLayerIdentifier(let id):
            c.append(.hex("Link-layer identifier", "link_layer_identifier", id))
        case .linkLocalAddress(let a):
            c.append(.string("Link-local address", "link_local_address", a.description))
        case .timestamp(let t):
            c += [.int("Timestamp", "timestamp", Int64(bitPattern: t.rawValue), note: "\(t.seconds) s + \(t.fraction)/65536"),
                  .string("Time", "time", Self.utc(t))]
        case .unknown(_, let data):
            c.append(.hex("Data", "data", data))
        }
        return Field("Option", key: "option", .int(Int64(type)), note: name, children: c)
    }

    /// UTC calendar time of a timestamp, to the nanosecond, as tshark prints it.
    public static func utc(_ t: Timestamp) -> String {
        let nanos = (Int64(t.fraction) * 1_000_000_000) >> 16
        return CivilTime(unixSeconds: Int64(clamping: t.seconds)).text(nanoseconds: nanos)
    }
}

extension ICMPv6Message {
    public var name: String {
        switch self {
        case .routerSolicitation: "Router Solicitation"
        case .routerAdvertisement: "Router Advertisement"
        case .neighborSolicitation: "Neighbor Solicitation"
        case .neighborAdvertisement: "Neighbor Advertisement"
        case .other: "other"
        }
    }

    public var fields: Field {
        var c: [Field] = [.int("Type", "type", type, note: name)]
        switch self {
        case .routerSolicitation: break
        case .routerAdvertisement(let m):
            c += [
                .int("Cur hop limit", "cur_hop_limit", m.curHopLimit),
                .bool("Managed address configuration (M)", "m_flag", m.managed),
                .bool("Other configuration (O)", "o_flag", m.otherConfiguration),
                .bool("Home Agent (H)", "h_flag", m.homeAgent),
                .int("Default router preference (Prf)", "preference", m.preference.rawValue, note: "\(m.preference)"),
                .bool("Proxy (P)", "p_flag", m.proxy),
                .int("Router lifetime", "router_lifetime", m.routerLifetime, note: "seconds"),
                .int("Reachable time", "reachable_time", m.reachableTime, note: "ms"),
                .int("Retrans timer", "retrans_timer", m.retransTimer, note: "ms"),
            ]
        case .neighborSolicitation(let m):
            c.append(.string("Target address", "target", m.target.description))
        case .neighborAdvertisement(let m):
            c += [.bool("Router (R)", "r_flag", m.router), .bool("Solicited (S)", "s_flag", m.solicited),
                  .bool("Override (O)", "o_flag", m.override), .string("Target address", "target", m.target.description)]
        case .other(_, let code, let body):
            c += [.int("Code", "code", code), .hex("Body", "body", body)]
        }
        if !options.isEmpty {
            c.append(Field("ND options", key: "options", children: options.map(\.fields), isList: true))
        }
        return Field("Internet Control Message Protocol v6", key: "icmpv6", children: c)
    }
}

extension NDOption {
    public var name: String {
        switch self {
        case .sourceLinkLayerAddress: "Source link-layer address"
        case .targetLinkLayerAddress: "Target link-layer address"
        case .prefixInformation: "Prefix information"
        case .mtu: "MTU"
        case .routeInformation: "Route Information"
        case .unknown: "unknown"
        }
    }

    public var fields: Field {
        var c: [Field] = []
        switch self {
        case .sourceLinkLayerAddress(let a), .targetLinkLayerAddress(let a):
            c.append(.hex("Link-layer address", "link_layer_address", a))
        case .prefixInformation(let p):
            c += [
                .int("Prefix length", "prefix_length", p.prefix.length),
                .bool("On-link (L)", "l_flag", p.onLink),
                .bool("Autonomous address-configuration (A)", "a_flag", p.autonomous),
                .bool("Router address (R)", "r_flag", p.routerAddress),
                .int("Valid lifetime", "valid_lifetime", p.validLifetime, note: "seconds"),
                .int("Preferred lifetime", "preferred_lifetime", p.preferredLifetime, note: "seconds"),
                .string("Prefix", "prefix", p.prefix.address.description),
            ]
        case .mtu(let mtu):
            c.append(.int("MTU", "mtu", mtu))
        case .routeInformation(let ri):
            c += [
                .int("Prefix length", "prefix_length", ri.prefix.length),
                .int("Route preference", "preference", ri.preference.rawValue, note: "\(ri.preference)"),
                .int("Route lifetime", "route_lifetime", ri.lifetime, note: "seconds"),
                .string("Prefix", "prefix", ri.prefix.address.description),
            ]
        case .unknown(_, let data):
            c.append(.hex("Data", "data", data))
        }
        return Field("Option", key: "option", .int(Int64(type)), note: name, children: c)
    }
}
