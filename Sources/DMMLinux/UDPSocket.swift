import CNetlink
import CSockets
import DMMWire
import Glibc

/// An IPv6 UDP socket bound to an address and port, as PFCP uses (port
/// 8805 at both ends). Datagrams arrive with their sender and the local
/// address they were sent to.
public final class UDPSocket {
    /// Octets of datagrams waiting to be read that the socket asks room
    /// for (the kernel doubles it, and counts each datagram's own overhead
    /// against it): Linux's default, 212,992, held 256 datagrams of 150
    /// octets, fewer than a controller's windows to a few agents
    /// (`Controller.Config.window`) bring back at once; this held 10,082.
    public static let receiveBuffer: Int32 = 4 << 20
    public let fd: Int32
    private var buffer = [UInt8](repeating: 0, count: 65536)

    public struct Datagram: Sendable {
        public var bytes: [UInt8]
        public var source: IPv6Address
        public var sourcePort: UInt16
        public var destination: IPv6Address
    }

    public init(bindTo address: IPv6Address, port: UInt16, namespace: String? = nil) throws {
        var code: Int32 = 0
        fd = try inNetworkNamespace(namespace) {
            let fd = socket(AF_INET6, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            code = errno
            return fd
        }
        guard fd >= 0 else { throw NetlinkSocket.Failure(description: "UDP socket: \(NetlinkSocket.errorText(code))") }
        do {
            guard csock_enable_ancillary(fd) == 0 else { throw NetlinkSocket.Failure(description: "IPV6_RECVPKTINFO: \(NetlinkSocket.errorText(errno))") }
            try RawSocket.bind(fd, to: address, port: port)
            // Past net.core.rmem_max as root (SO_RCVBUFFORCE); up to it otherwise.
            var size = Self.receiveBuffer
            let length = socklen_t(MemoryLayout<Int32>.size)
            if setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, length) != 0 {
                setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, length)
            }
        } catch {
            close(fd)
            throw error
        }
    }

    deinit { close(fd) }

    public func send(_ bytes: [UInt8], to destination: IPv6Address, port: UInt16) throws {
        var to = RawSocket.socketAddress(destination)
        to.sin6_port = port.bigEndian
        let sent = bytes.withUnsafeBytes { b in
            withUnsafePointer(to: &to) { csock_send(fd, b.baseAddress, b.count, $0, nil, 0, -1) }
        }
        guard sent == bytes.count else {
            throw NetlinkSocket.Failure(description: "send to [\(destination)]:\(port): \(NetlinkSocket.errorText(errno))")
        }
    }

    /// Sends each datagram to its address in one call where the kernel
    /// takes them all (see `csock_send_many`), so that a receiver woken by
    /// the first one seldom runs before the others are sent. Returns the
    /// failures, by index; the rest were sent.
    public func send(_ datagrams: [(bytes: [UInt8], to: IPv6Address)], port: UInt16) -> [(index: Int, error: NetlinkSocket.Failure)] {
        guard !datagrams.isEmpty else { return [] }
        let joined = datagrams.flatMap(\.bytes), lengths = datagrams.map(\.bytes.count)
        let addresses = datagrams.map { d in
            var a = RawSocket.socketAddress(d.to)
            a.sin6_port = port.bigEndian
            return a
        }
        var failures: [(Int, NetlinkSocket.Failure)] = []
        joined.withUnsafeBytes { all in
            var starts: [UnsafeRawPointer?] = [], offset = 0
            for n in lengths {
                starts.append(all.baseAddress.map { $0 + offset })
                offset += n
            }
            var first = 0
            while first < datagrams.count {
                let sent = csock_send_many(fd, starts, lengths, addresses, UInt32(first), UInt32(datagrams.count))
                if sent > 0 {
                    first += Int(sent)
                } else {
                    let d = datagrams[first]
                    failures.append((first, NetlinkSocket.Failure(description: "send to [\(d.to)]:\(port): \(NetlinkSocket.errorText(errno))")))
                    first += 1
                }
            }
        }
        return failures
    }

    /// Receives one datagram, waiting for it.
    public func receive() throws -> Datagram {
        let r = try RawSocket.receive(fd, into: &buffer)
        return Datagram(bytes: Array(buffer[0..<r.count]), source: RawSocket.address(r.from.sin6_addr),
                        sourcePort: UInt16(bigEndian: r.from.sin6_port), destination: r.destination)
    }
}
