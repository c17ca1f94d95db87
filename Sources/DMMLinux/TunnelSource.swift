import CNetlink
import DMMWire
import Glibc

/// The source address of every SRv6 encapsulation in a namespace (what
/// `ip sr tunsrc` shows), through generic netlink's SEG6 family. Without one
/// the kernel selects a source for each packet it encapsulates, scoring
/// every local address (RFC 6724), which showed as a few percent of the
/// tunnelled throughput in the lab; with one, the outer source is the MAR's
/// own address.
public struct TunnelSource {
    let socket: NetlinkSocket
    /// The SEG6 family's message type, which the kernel assigns at boot.
    let family: UInt16

    public init(namespace: String? = nil) throws {
        socket = try NetlinkSocket(namespace: namespace, protocol: NETLINK_GENERIC)
        var w = NetlinkWriter()
        Self.header(&w, command: UInt8(CTRL_CMD_GETFAMILY), version: 1)
        w.attribute(c16(CTRL_ATTR_FAMILY_NAME), string: SEG6_GENL_NAME)
        let replies: [NetlinkReply]
        do {
            replies = try socket.request(NetlinkMessage(type: UInt16(GENL_ID_CTRL), flags: 0, payload: w.bytes))
        } catch {
            throw NetlinkSocket.Failure(description: "the kernel has no SRv6 generic netlink family (\(SEG6_GENL_NAME)): \(error)")
        }
        guard let id = replies.lazy.compactMap({ NetlinkAttributes($0.payload, from: 4).u16(c16(CTRL_ATTR_FAMILY_ID)) }).first else {
            throw NetlinkSocket.Failure(description: "the kernel named no id for the \(SEG6_GENL_NAME) generic netlink family")
        }
        family = id
    }

    /// genlmsghdr: command, version, two reserved bytes.
    static func header(_ w: inout NetlinkWriter, command: UInt8, version: UInt8) {
        w.u8(command)
        w.u8(version)
        w.u16(0)
    }

    /// The address in place; `::` when the kernel selects per packet.
    public func current() throws -> IPv6Address {
        var w = NetlinkWriter()
        Self.header(&w, command: UInt8(SEG6_CMD_GET_TUNSRC), version: UInt8(SEG6_GENL_VERSION))
        let replies = try socket.request(NetlinkMessage(type: family, flags: 0, payload: w.bytes))
        guard let address = replies.lazy.compactMap({ NetlinkAttributes($0.payload, from: 4).address(c16(SEG6_ATTR_DST)) }).first else {
            throw NetlinkSocket.Failure(description: "the kernel's tunnel source reply carries no address")
        }
        return address
    }

    /// Sets the address; `::` gives selection back to the kernel.
    public func set(_ address: IPv6Address) throws {
        var w = NetlinkWriter()
        Self.header(&w, command: UInt8(SEG6_CMD_SET_TUNSRC), version: UInt8(SEG6_GENL_VERSION))
        w.attribute(c16(SEG6_ATTR_DST), address: address)
        _ = try socket.request(NetlinkMessage(type: family, flags: 0, payload: w.bytes))
    }
}
