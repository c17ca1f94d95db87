import CNetlink
import DMMWire
import Glibc

/// Flows through the router, from the kernel's connection tracking over
/// ctnetlink: a flow starts with its first packet and ends when its entry is
/// destroyed, or, for TCP, as soon as the connection starts closing (a closed
/// connection lingers in TIME_WAIT for two minutes otherwise). The router's
/// data plane turns these into per-prefix counts for the engine (RFC 8818
/// section 4: mobility only when needed).
///
/// Connection tracking runs in a namespace only while some netfilter rule
/// uses it (an nftables `ct` expression, for one); a router with a firewall
/// has that already.
public final class FlowMonitor {
    public let socket: NetlinkSocket

    public struct Flow: Hashable, Sendable {
        public var source: IPv6Address
        public var destination: IPv6Address
        public var protocolNumber: UInt8
        /// The original-direction tuple as the kernel encodes it: the identity.
        var tuple: [UInt8]
    }

    public enum Event: Hashable, Sendable {
        case started(Flow)
        case ended(Flow)
    }

    /// With `events` false, the socket only answers dumps (`current`): a
    /// dump on the socket that events arrive on would take the events that
    /// arrive meanwhile for its own replies and lose them.
    public init(namespace: String? = nil, events: Bool = true) throws {
        let groups = NF_NETLINK_CONNTRACK_NEW | NF_NETLINK_CONNTRACK_UPDATE | NF_NETLINK_CONNTRACK_DESTROY
        socket = try NetlinkSocket(namespace: namespace, protocol: NETLINK_NETFILTER, groups: events ? UInt32(groups) : 0)
    }

    public var fd: Int32 { socket.fd }

    static let messageNew = UInt16(NFNL_SUBSYS_CTNETLINK << 8 | Int32(IPCTNL_MSG_CT_NEW.rawValue))
    static let messageGet = UInt16(NFNL_SUBSYS_CTNETLINK << 8 | Int32(IPCTNL_MSG_CT_GET.rawValue))
    static let messageDelete = UInt16(NFNL_SUBSYS_CTNETLINK << 8 | Int32(IPCTNL_MSG_CT_DELETE.rawValue))

    /// The IPv6 flows tracked now, as `started` events.
    public func current() throws -> [Event] {
        try socket.dump(NetlinkMessage(type: Self.messageGet, flags: 0, payload: [UInt8(AF_INET6), 0, 0, 0])).compactMap(event)
    }

    /// Flow changes queued since the last call, without blocking.
    public func poll() throws -> [Event] { try socket.poll().compactMap(event) }

    /// TCP states in which the connection is going away.
    static let closing: Set<UInt8> = [
        UInt8(TCP_CONNTRACK_FIN_WAIT.rawValue), UInt8(TCP_CONNTRACK_CLOSE_WAIT.rawValue), UInt8(TCP_CONNTRACK_LAST_ACK.rawValue),
        UInt8(TCP_CONNTRACK_TIME_WAIT.rawValue), UInt8(TCP_CONNTRACK_CLOSE.rawValue),
    ]

    func event(_ reply: NetlinkReply) -> Event? {
        guard reply.type == Self.messageNew || reply.type == Self.messageDelete, reply.payload.count >= 4,
            reply.payload[0] == UInt8(AF_INET6)
        else { return nil }
        let a = NetlinkAttributes(reply.payload, from: 4)
        guard let tuple = a[c16(CTA_TUPLE_ORIG)] else { return nil }
        let t = NetlinkAttributes(tuple, from: 0)
        guard let ip = t[c16(CTA_TUPLE_IP)], let proto = t[c16(CTA_TUPLE_PROTO)] else { return nil }
        let addresses = NetlinkAttributes(ip, from: 0)
        guard let source = addresses.address(c16(CTA_IP_V6_SRC)), let destination = addresses.address(c16(CTA_IP_V6_DST)),
            let number = NetlinkAttributes(proto, from: 0)[c16(CTA_PROTO_NUM)]?.first
        else { return nil }
        let flow = Flow(source: source, destination: destination, protocolNumber: number, tuple: tuple)
        if reply.type == Self.messageDelete { return .ended(flow) }
        if let info = a[c16(CTA_PROTOINFO)], let tcp = NetlinkAttributes(info, from: 0)[c16(CTA_PROTOINFO_TCP)],
            let state = NetlinkAttributes(tcp, from: 0)[c16(CTA_PROTOINFO_TCP_STATE)]?.first, Self.closing.contains(state)
        {
            return .ended(flow)
        }
        return .started(flow)
    }
}

/// Counts flows per prefix from flow events, for the prefixes the router
/// asks about; a flow counts for the prefix of its source and of its
/// destination. Repeated events for one flow count once.
public struct FlowCounter: Sendable {
    private var flows: [FlowMonitor.Flow: Set<IPv6Prefix>] = [:]
    public private(set) var counts: [IPv6Prefix: Int] = [:]
    /// Flows an event changed since the dump in progress began (nil: none in
    /// progress): the dump may have been read before or after the event, so
    /// the event's word on them stands.
    private var changedSinceScan: Set<FlowMonitor.Flow>?

    public init() {}

    /// A dump begins now; `reconcile` with its result leaves alone the flows
    /// that events change meanwhile.
    public mutating func beginScan() { changedSinceScan = [] }

    /// Applies an event; returns the prefixes whose count changed.
    public mutating func apply(_ event: FlowMonitor.Event, prefixOf: (IPv6Address) -> IPv6Prefix?) -> [IPv6Prefix] {
        switch event {
        case .started(let f), .ended(let f): changedSinceScan?.insert(f)
        }
        return count(event, prefixOf: prefixOf)
    }

    private mutating func count(_ event: FlowMonitor.Event, prefixOf: (IPv6Address) -> IPv6Prefix?) -> [IPv6Prefix] {
        switch event {
        case .started(let f):
            guard flows[f] == nil else { return [] }
            let prefixes = Set([f.source, f.destination].compactMap(prefixOf))
            flows[f] = prefixes
            for p in prefixes { counts[p, default: 0] += 1 }
            return Array(prefixes)
        case .ended(let f):
            guard let prefixes = flows.removeValue(forKey: f) else { return [] }
            for p in prefixes {
                counts[p, default: 0] -= 1
                if counts[p] == 0 { counts[p] = nil }
            }
            return Array(prefixes)
        }
    }

    public func count(_ p: IPv6Prefix) -> Int { counts[p] ?? 0 }

    /// Makes the flows exactly those of a fresh dump: events can be late (the
    /// kernel reports an expired UDP or ICMP entry only when its collector
    /// gets to it, up to a minute later) or lost (a full socket buffer).
    /// Flows that events changed since `beginScan` keep what the events said.
    public mutating func reconcile(present: [FlowMonitor.Event], prefixOf: (IPv6Address) -> IPv6Prefix?) -> [IPv6Prefix] {
        let settled = changedSinceScan ?? []
        changedSinceScan = nil
        let live = Set(present.compactMap { if case .started(let f) = $0 { f } else { nil } })
        var changed = Set<IPv6Prefix>()
        for f in flows.keys where !live.contains(f) && !settled.contains(f) { changed.formUnion(count(.ended(f), prefixOf: prefixOf)) }
        for f in live where flows[f] == nil && !settled.contains(f) { changed.formUnion(count(.started(f), prefixOf: prefixOf)) }
        return Array(changed)
    }
}
