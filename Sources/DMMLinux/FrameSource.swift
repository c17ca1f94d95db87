import CSockets
import Glibc

/// The link-layer source address of the IPv6 frames that arrive on one
/// interface, read from a packet socket: how a MAR names a node by its
/// link-layer address from the first frame the node sends on a link that
/// just came up (a reply to the MAR's probe, or its own traffic), with no
/// further exchange. Kept open only while a node is unnamed: a packet socket
/// sees every frame on the link.
public final class FrameSource {
    public let fd: Int32

    public init(interface: Int32, namespace: String? = nil) throws {
        var code: Int32 = 0
        fd = try inNetworkNamespace(namespace) {
            let fd = csock_frames_open(interface)
            code = errno
            return fd
        }
        guard fd >= 0 else { throw NetlinkSocket.Failure(description: "packet socket on interface \(interface): \(NetlinkSocket.errorText(code))") }
    }

    /// Closed off the caller's thread: see `csock_frames_close`.
    deinit { csock_frames_close(fd) }

    /// The source of the first queued frame from another host; nil when
    /// the queue holds none.
    public func nextSender() -> [UInt8]? {
        var address = [UInt8](repeating: 0, count: 8)
        while true {
            let n = address.withUnsafeMutableBufferPointer { csock_frames_source(fd, $0.baseAddress, Int32($0.count)) }
            if n < 0 { return nil }
            if n > 0 { return Array(address.prefix(Int(n))) }
        }
    }
}
