import CNetlink
import Glibc

/// Access links coming and going, from rtnetlink link events (RTMGRP_LINK):
/// an interface is up when it has carrier (IFF_LOWER_UP), down when it loses
/// it or disappears, as when a node's link moves to another router.
public final class LinkMonitor {
    public let socket: NetlinkSocket
    private var state: [String: Bool] = [:]

    public enum Event: Hashable, Sendable {
        case up(String, index: Int32)
        case down(String)
    }

    /// IFF_LOWER_UP (linux/if.h), hidden from Swift behind glibc's net/if.h.
    static let lowerUp: UInt32 = 1 << 16

    public init(namespace: String? = nil) throws {
        socket = try NetlinkSocket(namespace: namespace, groups: UInt32(RTMGRP_LINK))
    }

    public var fd: Int32 { socket.fd }

    /// The links up now, as `up` events, from a dump; later changes come from `poll`.
    public func current() throws -> [Event] {
        var w = NetlinkWriter()
        w.u8(UInt8(AF_UNSPEC))
        w.bytes += [UInt8](repeating: 0, count: 15)
        return try socket.dump(NetlinkMessage(type: UInt16(RTM_GETLINK), flags: 0, payload: w.bytes)).compactMap(event)
    }

    /// The changes queued since the last call, without blocking.
    public func poll() throws -> [Event] { try socket.poll().compactMap(event) }

    func event(_ reply: NetlinkReply) -> Event? {
        let p = reply.payload
        guard reply.type == UInt16(RTM_NEWLINK) || reply.type == UInt16(RTM_DELLINK), p.count >= 16,
            let name = NetlinkAttributes(p, from: 16).string(c16(IFLA_IFNAME))
        else { return nil }
        let index = interfaceIndex(in: p)
        let flags = UInt32(p[8]) | UInt32(p[9]) << 8 | UInt32(p[10]) << 16 | UInt32(p[11]) << 24
        let up = reply.type == UInt16(RTM_NEWLINK) && flags & Self.lowerUp != 0
        // Reported only on a change (the kernel repeats NEWLINK for many
        // reasons); a link first seen down is simply not up yet.
        let was = state[name] ?? false
        state[name] = reply.type == UInt16(RTM_DELLINK) ? nil : up
        guard up != was else { return nil }
        return up ? .up(name, index: index) : .down(name)
    }
}
