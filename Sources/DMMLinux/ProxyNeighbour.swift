import CNetlink
import DMMCore
import DMMWire
import Glibc

/// Proxy neighbour entries for tunnel endpoints. With a routed core, each
/// MAR's SIDs are routed to it; on an uplink segment shared with the other
/// MARs instead, they resolve a SID as an on-link neighbour, and since a SID
/// is not a local address the kernel answers for it only through a proxy
/// entry (`ip -6 neigh add proxy SID dev UPLINK`, with `proxy_ndp` on).
/// With `Config.proxyNeighbours` every decapsulation SID gets one, carrying
/// the daemon's protocol number as its routes do.
extension KernelRule {
    /// ndmsg (family, ifindex, state, flags NTF_PROXY, type) with NDA_DST and NDA_PROTOCOL.
    static func proxyNeighbour(_ op: Operation, _ address: IPv6Address, interface: Int32, protocolNumber: UInt8) -> NetlinkMessage {
        var w = NetlinkWriter()
        w.u8(UInt8(AF_INET6))
        w.u8(0)
        w.u16(0)
        w.u32(UInt32(bitPattern: interface))
        w.u16(UInt16(NUD_PERMANENT))
        w.u8(UInt8(NTF_PROXY))
        w.u8(0)
        w.attribute(c16(NDA_DST), address: address)
        w.attribute(c16(NDA_PROTOCOL), u8: protocolNumber)
        return NetlinkMessage(type: op == .install ? UInt16(RTM_NEWNEIGH) : UInt16(RTM_DELNEIGH),
                              flags: op == .install ? UInt16(NLM_F_CREATE | NLM_F_REPLACE) : 0, payload: w.bytes)
    }

    /// A proxy entry from an RTM_NEWNEIGH dump reply, if it carries our protocol.
    static func parseProxyNeighbour(_ payload: [UInt8], protocolNumber: UInt8) -> (address: IPv6Address, interface: Int32)? {
        guard payload.count >= 12, payload[0] == UInt8(AF_INET6), payload[10] & UInt8(NTF_PROXY) != 0 else { return nil }
        let a = NetlinkAttributes(payload, from: 12)
        guard a[c16(NDA_PROTOCOL)]?.first == protocolNumber, let address = a.address(c16(NDA_DST)) else { return nil }
        let interface = interfaceIndex(in: payload)
        return (address, interface)
    }
}

extension LinuxDataPlane {
    /// The proxy entry that goes with a decapsulation SID, if configured.
    func proxy(_ op: KernelRule.Operation, _ endpoint: IPv6Address, _ uplink: Int32) -> [NetlinkMessage] {
        config.proxyNeighbours
            ? [KernelRule.proxyNeighbour(op, endpoint, interface: uplink, protocolNumber: config.routeProtocol)] : []
    }

    /// The addresses our proxy entries answer for, on any interface.
    public func proxiedAddresses() throws -> [(address: IPv6Address, interface: Int32)] {
        var w = NetlinkWriter()
        w.u8(UInt8(AF_INET6))
        w.bytes += [0, 0, 0, 0, 0, 0, 0, 0, 0]
        w.u8(UInt8(NTF_PROXY))  // ndm_flags NTF_PROXY: the kernel dumps proxy entries
        w.u8(0)
        return try netlink.dump(NetlinkMessage(type: UInt16(RTM_GETNEIGH), flags: 0, payload: w.bytes))
            .compactMap { KernelRule.parseProxyNeighbour($0.payload, protocolNumber: config.routeProtocol) }
    }

    /// Makes our proxy entries exactly one on the uplink per decapsulation
    /// SID in `desired` (none when proxying is off).
    func reconcileProxies(_ desired: Set<ForwardingRule>) throws -> [Failure] {
        let uplink = try index(of: config.uplink)
        let wanted: Set<IPv6Address> = config.proxyNeighbours
            ? Set(desired.compactMap { if case .decapsulation(let e) = $0.key { e } else { nil } }) : []
        var changes: [(Change, NetlinkMessage)] = []
        var present: Set<IPv6Address> = []
        for (address, interface) in try proxiedAddresses() {
            if interface == uplink && wanted.contains(address) {
                present.insert(address)
            } else {
                let m = KernelRule.proxyNeighbour(.remove, address, interface: interface, protocolNumber: config.routeProtocol)
                changes.append((.remove(.decapsulate(endpoint: address)), m))
            }
        }
        for address in wanted.subtracting(present) {
            let m = KernelRule.proxyNeighbour(.install, address, interface: uplink, protocolNumber: config.routeProtocol)
            changes.append((.install(.decapsulate(endpoint: address)), m))
        }
        let results = try netlink.transact(changes.map(\.1))
        return zip(changes, results).compactMap { c, code in Self.succeeded(code, c.1) ? nil : Failure(change: c.0, errno: code) }
    }
}
