import CNetlink
import DMMCore
import DMMWire

/// How forwarding rules look in the kernel (see DESIGN.md for the shapes):
///
///     deliver(P, link)          route P dev LINK                                  (main table)
///     encapsulate(P, E, mode)   route P encap seg6 mode encap.red|encap segs E dev UPLINK
///     decapsulate(E)            route E/128 encap seg6local action End.DT6 table main dev UPLINK
///     crossConnect(E, link)     route E/128 encap seg6local action End.DX6 nh6 :: dev LINK
///     unreachable(B)            route unreachable B
///     reverseTunnel(P, L, E)    rule from P iif L lookup T; route default encap seg6 ... segs E table T
///
/// On a kernel without seg6 tunnels the encapsulations are `encap bpf` and
/// the decapsulations entries in a map (`BPFTunnels.swift`).
///
/// Every route and rule carries the daemon's `rtm_protocol`, which is how it
/// recognises what it owns when it reads the kernel back.
enum KernelRule {
    static let mainTable: UInt32 = c32(RT_TABLE_MAIN)

    /// rtmsg (RFC 3549 section 3.1.1) for an IPv6 route.
    static func routeHeader(prefixLength: UInt8, protocolNumber: UInt8, forDelete: Bool = false, type: UInt8 = c8(RTN_UNICAST)) -> NetlinkWriter {
        var w = NetlinkWriter()
        w.u8(UInt8(AF_INET6))
        w.u8(prefixLength)
        w.u8(0)  // src_len
        w.u8(0)  // tos
        w.u8(c8(RT_TABLE_UNSPEC))  // the table goes in RTA_TABLE
        w.u8(protocolNumber)
        w.u8(forDelete ? c8(RT_SCOPE_NOWHERE) : c8(RT_SCOPE_UNIVERSE))
        w.u8(type)
        w.u32(0)
        return w
    }

    enum Route: Equatable {
        case plain
        /// Through a neighbour on the interface (RTA_GATEWAY).
        case gateway(IPv6Address)
        case seg6(IPv6Address, TunnelMode)
        case endDT6
        /// Next hop `::`: Linux looks the inner destination up, which the
        /// route on the node's link answers.
        case endDX6
        /// No device: the kernel answers with ICMPv6 destination unreachable.
        case unreachable
        /// An eBPF program at the route's transmit hook (`BPFTunnels`).
        case bpf(program: Int32, name: String, headroom: UInt32)
    }

    static func route(_ op: Operation, destination: IPv6Prefix, table: UInt32, interface: Int32, kind: Route,
                      protocolNumber: UInt8) -> NetlinkMessage {
        var w = routeHeader(prefixLength: destination.length, protocolNumber: protocolNumber, forDelete: op == .remove,
                            type: kind == .unreachable ? c8(RTN_UNREACHABLE) : c8(RTN_UNICAST))
        w.attribute(c16(RTA_DST), address: destination.address)
        w.attribute(c16(RTA_TABLE), u32: table)
        if kind != .unreachable { w.attribute(c16(RTA_OIF), u32: UInt32(bitPattern: interface)) }
        switch kind {
        case .plain, .unreachable: break
        case .gateway(let via): w.attribute(c16(RTA_GATEWAY), address: via)
        case .seg6(let endpoint, let mode):
            w.attribute(c16(RTA_ENCAP_TYPE), u16: c16(LWTUNNEL_ENCAP_SEG6))
            w.nested(c16(RTA_ENCAP)) { n in
                n.attribute(c16(SEG6_IPTUNNEL_SRH), seg6Encap(endpoint, mode))
            }
        case .endDT6:
            w.attribute(c16(RTA_ENCAP_TYPE), u16: c16(LWTUNNEL_ENCAP_SEG6_LOCAL))
            w.nested(c16(RTA_ENCAP)) { n in
                n.attribute(c16(SEG6_LOCAL_ACTION), u32: c32(SEG6_LOCAL_ACTION_END_DT6))
                n.attribute(c16(SEG6_LOCAL_TABLE), u32: mainTable)
            }
        case .endDX6:
            w.attribute(c16(RTA_ENCAP_TYPE), u16: c16(LWTUNNEL_ENCAP_SEG6_LOCAL))
            w.nested(c16(RTA_ENCAP)) { n in
                n.attribute(c16(SEG6_LOCAL_ACTION), u32: c32(SEG6_LOCAL_ACTION_END_DX6))
                n.attribute(c16(SEG6_LOCAL_NH6), address: .unspecified)
            }
        case .bpf(let program, let name, let headroom):
            w.attribute(c16(RTA_ENCAP_TYPE), u16: c16(LWTUNNEL_ENCAP_BPF))
            w.nested(c16(RTA_ENCAP)) { n in
                n.nested(c16(LWT_BPF_XMIT)) { x in
                    x.attribute(c16(LWT_BPF_PROG_FD), u32: UInt32(bitPattern: program))
                    x.attribute(c16(LWT_BPF_PROG_NAME), string: name)
                }
                n.attribute(c16(LWT_BPF_XMIT_HEADROOM), u32: headroom)
            }
        }
        return NetlinkMessage(type: op == .install ? UInt16(RTM_NEWROUTE) : UInt16(RTM_DELROUTE),
                              flags: op == .install ? UInt16(NLM_F_CREATE | NLM_F_REPLACE) : 0, payload: w.bytes)
    }

    /// struct seg6_iptunnel_encap: the mode, then an SRH with one segment.
    /// Reduced mode (encap.red) leaves the SRH out on the wire: plain
    /// IPv6-in-IPv6, RFC 2473.
    static func seg6Encap(_ endpoint: IPv6Address, _ mode: TunnelMode) -> [UInt8] {
        var w = NetlinkWriter()
        w.u32(mode == .ipv6InIPv6 ? c32(SEG6_IPTUN_MODE_ENCAP_RED) : c32(SEG6_IPTUN_MODE_ENCAP))
        w.u8(0)  // nexthdr, set by the kernel
        w.u8(2)  // hdrlen: 16 bytes of segments in 8-byte units
        w.u8(4)  // type 4: Segment Routing Header
        w.u8(0)  // segments_left
        w.u8(0)  // first_segment (last entry)
        w.u8(0)  // flags
        w.u16(0)  // tag
        w.address(endpoint)
        return w.bytes
    }

    /// fib_rule_hdr with its attributes: packets from `source` arriving on
    /// `interface` look up `table`.
    static func rule(_ op: Operation, source: IPv6Prefix, interface: String, table: UInt32, priority: UInt32,
                     protocolNumber: UInt8) -> NetlinkMessage {
        var w = NetlinkWriter()
        w.u8(UInt8(AF_INET6))
        w.u8(0)  // dst_len
        w.u8(source.length)
        w.u8(0)  // tos
        w.u8(c8(RT_TABLE_UNSPEC))
        w.u8(0)
        w.u8(0)
        w.u8(c8(FR_ACT_TO_TBL))
        w.u32(0)
        w.attribute(c16(FRA_SRC), address: source.address)
        w.attribute(c16(FRA_IIFNAME), string: interface)
        w.attribute(c16(FRA_TABLE), u32: table)
        w.attribute(c16(FRA_PRIORITY), u32: priority)
        w.attribute(c16(FRA_PROTOCOL), u8: protocolNumber)
        return NetlinkMessage(type: op == .install ? UInt16(RTM_NEWRULE) : UInt16(RTM_DELRULE),
                              flags: op == .install ? UInt16(NLM_F_CREATE | NLM_F_EXCL) : 0, payload: w.bytes)
    }

    enum Operation: Equatable { case install, remove }

    // MARK: Reading the kernel back

    struct DumpedRoute: Equatable {
        var destination: IPv6Prefix
        var table: UInt32
        var interface: Int32
        var kind: KernelRoute
    }

    enum KernelRoute: Equatable {
        case plain
        case gateway(IPv6Address)
        /// An encapsulation, by seg6 or by one of `BPFTunnels`' programs.
        case seg6(IPv6Address, TunnelMode)
        case endDT6
        case endDX6
        case unreachable
        case other
    }

    /// A route from an RTM_NEWROUTE dump reply, if it carries our protocol.
    static func parseRoute(_ payload: [UInt8], protocolNumber: UInt8) -> DumpedRoute? {
        guard payload.count >= 12, payload[0] == UInt8(AF_INET6), payload[5] == protocolNumber else { return nil }
        let a = NetlinkAttributes(payload, from: 12)
        let destination = IPv6Prefix(a.address(c16(RTA_DST)) ?? .unspecified, length: payload[1])
        let table = a.u32(c16(RTA_TABLE)) ?? UInt32(payload[4])
        let interface = Int32(bitPattern: a.u32(c16(RTA_OIF)) ?? 0)
        var kind = payload[7] == c8(RTN_UNREACHABLE) ? KernelRoute.unreachable : a.address(c16(RTA_GATEWAY)).map { .gateway($0) } ?? .plain
        if let type = a.u16(c16(RTA_ENCAP_TYPE)), let encap = a[c16(RTA_ENCAP)] {
            let inner = NetlinkAttributes(encap, from: 0)
            if type == c16(LWTUNNEL_ENCAP_SEG6), let srh = inner[c16(SEG6_IPTUNNEL_SRH)], srh.count >= 28,
                let endpoint = IPv6Address(bytes: Array(srh[12..<28]))
            {
                let mode = UInt32(srh[0]) | UInt32(srh[1]) << 8 | UInt32(srh[2]) << 16 | UInt32(srh[3]) << 24
                kind = .seg6(endpoint, mode == c32(SEG6_IPTUN_MODE_ENCAP_RED) ? .ipv6InIPv6 : .srv6)
            } else if type == c16(LWTUNNEL_ENCAP_SEG6_LOCAL), let action = inner.u32(c16(SEG6_LOCAL_ACTION)),
                action == c32(SEG6_LOCAL_ACTION_END_DT6) || action == c32(SEG6_LOCAL_ACTION_END_DX6)
            {
                kind = action == c32(SEG6_LOCAL_ACTION_END_DT6) ? .endDT6 : .endDX6
            } else if type == c16(LWTUNNEL_ENCAP_BPF), let xmit = inner[c16(LWT_BPF_XMIT)],
                let name = NetlinkAttributes(xmit, from: 0).string(c16(LWT_BPF_PROG_NAME)),
                let tunnel = BPFTunnels.parse(name: name)
            {
                kind = .seg6(tunnel.endpoint, tunnel.mode)
            } else {
                kind = .other
            }
        }
        return DumpedRoute(destination: destination, table: table, interface: interface, kind: kind)
    }

    struct DumpedRule: Equatable {
        var source: IPv6Prefix
        var interface: String
        var table: UInt32
        var priority: UInt32
    }

    static func parseRule(_ payload: [UInt8], protocolNumber: UInt8) -> DumpedRule? {
        guard payload.count >= 12, payload[0] == UInt8(AF_INET6) else { return nil }
        let a = NetlinkAttributes(payload, from: 12)
        guard a[c16(FRA_PROTOCOL)]?.first == protocolNumber, let interface = a.string(c16(FRA_IIFNAME)),
            let table = a.u32(c16(FRA_TABLE))
        else { return nil }
        let source = IPv6Prefix(a.address(c16(FRA_SRC)) ?? .unspecified, length: payload[2])
        return DumpedRule(source: source, interface: interface, table: table, priority: a.u32(c16(FRA_PRIORITY)) ?? 0)
    }
}

/// The kernel's constants come into Swift either as plain integers (from
/// anonymous enums and #defines) or as wrapper structs (from named enums);
/// these read both.
func c8<T: BinaryInteger>(_ v: T) -> UInt8 { UInt8(truncatingIfNeeded: v) }
func c8<T: RawRepresentable>(_ v: T) -> UInt8 where T.RawValue: BinaryInteger { UInt8(truncatingIfNeeded: v.rawValue) }
func c16<T: BinaryInteger>(_ v: T) -> UInt16 { UInt16(truncatingIfNeeded: v) }
func c16<T: RawRepresentable>(_ v: T) -> UInt16 where T.RawValue: BinaryInteger { UInt16(truncatingIfNeeded: v.rawValue) }
func c32<T: BinaryInteger>(_ v: T) -> UInt32 { UInt32(truncatingIfNeeded: v) }
func c32<T: RawRepresentable>(_ v: T) -> UInt32 where T.RawValue: BinaryInteger { UInt32(truncatingIfNeeded: v.rawValue) }
