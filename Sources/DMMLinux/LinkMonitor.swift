import CNetlink
import Glibc

/// Access links coming and going, from rtnetlink link events (RTMGRP_LINK):
/// an interface is up when it has carrier (IFF_LOWER_UP) and the kernel has
/// acted on it (operational state up, RFC 2863), down when it loses it or
/// disappears, as when a node's link moves to another router.
///
/// The kernel reports IFF_LOWER_UP as soon as a link is opened, and only
/// later, from its link-watch work, sets the operational state and lets
/// IPv6 configure the link (its multicast routes among the rest): an RA sent
/// in between fails with "network unreachable".
public final class LinkMonitor {
    public let socket: NetlinkSocket
    private var state: [String: Seen] = [:]

    public enum Event: Hashable, Sendable {
        /// The link is new here, or is administratively up again after being
        /// down, which flushed its IPv6 addresses: the time to configure it,
        /// so that little is left to do when it comes up.
        case needsSetup(String, index: Int32)
        case up(String, index: Int32)
        case down(String)
        /// The link left this namespace, or was deleted.
        case removed(String)
    }

    struct Seen {
        var index: Int32
        var administrativelyUp: Bool
        var up: Bool
        /// Set down since it was last offered for setup.
        var flushed = false
    }

    /// IFF_LOWER_UP (linux/if.h), hidden from Swift behind glibc's net/if.h.
    static let lowerUp: UInt32 = 1 << 16
    /// IF_OPER_UNKNOWN and IF_OPER_UP (linux/if.h): a driver that does not
    /// keep the operational state leaves it unknown.
    static let operationalStatesUp: Set<UInt8> = [0, 6]

    public init(namespace: String? = nil) throws {
        socket = try NetlinkSocket(namespace: namespace, groups: UInt32(RTMGRP_LINK))
    }

    public var fd: Int32 { socket.fd }

    /// Every link, as `needsSetup` events, and those up now, as `up` events,
    /// from a dump; later changes come from `poll`.
    public func current() throws -> [Event] {
        try socket.dump(Self.everyLink).flatMap(events)
    }

    /// RTM_GETLINK for a dump of every link.
    static var everyLink: NetlinkMessage {
        var w = NetlinkWriter()
        w.u8(UInt8(AF_UNSPEC))
        w.bytes += [UInt8](repeating: 0, count: 15)
        return NetlinkMessage(type: UInt16(RTM_GETLINK), flags: 0, payload: w.bytes)
    }

    /// Link `name`'s link-layer address (IFLA_ADDRESS), nil if there is no
    /// such link; asked on a socket of its own, where no event comes
    /// between the dump's parts.
    public static func linkLayerAddress(of name: String) throws -> [UInt8]? {
        for reply in try NetlinkSocket().dump(everyLink) where reply.type == UInt16(RTM_NEWLINK) && reply.payload.count >= 16 {
            let attributes = NetlinkAttributes(reply.payload, from: 16)
            if attributes.string(c16(IFLA_IFNAME)) == name { return attributes[c16(IFLA_ADDRESS)] }
        }
        return nil
    }

    /// The changes queued since the last call, without blocking.
    public func poll() throws -> [Event] { try socket.poll().flatMap(events) }

    func events(_ reply: NetlinkReply) -> [Event] {
        let p = reply.payload
        guard reply.type == UInt16(RTM_NEWLINK) || reply.type == UInt16(RTM_DELLINK), p.count >= 16 else { return [] }
        let attributes = NetlinkAttributes(p, from: 16)
        guard let name = attributes.string(c16(IFLA_IFNAME)) else { return [] }
        let was = state[name]
        guard reply.type == UInt16(RTM_NEWLINK) else {
            state[name] = nil
            return was == nil ? [] : (was!.up ? [.down(name)] : []) + [.removed(name)]
        }
        let flags = UInt32(p[8]) | UInt32(p[9]) << 8 | UInt32(p[10]) << 16 | UInt32(p[11]) << 24
        let operational = attributes[c16(IFLA_OPERSTATE)]?.first.map(Self.operationalStatesUp.contains) ?? true
        var now = Seen(index: interfaceIndex(in: p), administrativelyUp: flags & c32(IFF_UP) != 0,
                       up: flags & Self.lowerUp != 0 && operational)
        let new = was == nil || was?.index != now.index
        now.flushed = !new && (was!.flushed || was!.administrativelyUp) && !now.administrativelyUp
        // Reported only on a change (the kernel repeats NEWLINK for many
        // reasons); a link first seen down is simply not up yet. One that
        // goes down on its way to another namespace is not offered for
        // setup: it is leaving.
        var out: [Event] = []
        if was?.up == true && (!now.up || new) { out.append(.down(name)) }
        if new || (was!.flushed && now.administrativelyUp) { out.append(.needsSetup(name, index: now.index)) }
        state[name] = now
        if now.up && (was?.up != true || new) { out.append(.up(name, index: now.index)) }
        return out
    }
}
