import CNetlink
import CSockets
import DMMWire
import Glibc

/// An IPv6 raw socket for one upper-layer protocol: the Mobility Header (135)
/// or ICMPv6 (58). Each datagram comes with its sender, the address and
/// interface it arrived on, and its hop limit (RFC 4861 requires 255 on
/// Neighbor Discovery). For the Mobility Header the daemon computes and
/// checks checksums itself, so that a bad one is counted, not silently
/// dropped by the kernel; ICMPv6 checksums are always the kernel's.
public final class RawSocket {
    public let fd: Int32
    public let protocolNumber: UInt8
    private var buffer = [UInt8](repeating: 0, count: 65536)

    public struct Datagram: Sendable {
        public var bytes: [UInt8]
        public var source: IPv6Address
        public var destination: IPv6Address
        public var interface: Int32
        public var hopLimit: Int32
    }

    public init(protocol number: UInt8, namespace: String? = nil, bindTo address: IPv6Address? = nil,
                icmpTypes: [UInt8]? = nil) throws {
        protocolNumber = number
        var code: Int32 = 0
        fd = try inNetworkNamespace(namespace) {
            let fd = socket(AF_INET6, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), Int32(number))
            code = errno
            return fd
        }
        guard fd >= 0 else { throw NetlinkSocket.Failure(description: "raw socket for protocol \(number): \(NetlinkSocket.errorText(code))") }
        do {
            guard csock_enable_ancillary(fd) == 0 else { throw NetlinkSocket.Failure(description: "IPV6_RECVPKTINFO: \(NetlinkSocket.errorText(errno))") }
            if number != ICMPv6Message.protocolNumber {
                // Linux checksums Mobility Header sockets itself (offset 4)
                // and drops bad ones unseen; turned off, the daemon checks
                // and counts them.
                var off: Int32 = -1
                guard setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_CHECKSUM, &off, socklen_t(MemoryLayout<Int32>.size)) == 0 else {
                    throw NetlinkSocket.Failure(description: "IPV6_CHECKSUM: \(NetlinkSocket.errorText(errno))")
                }
            }
            if let icmpTypes {
                guard csock_icmp6_filter(fd, icmpTypes, Int32(icmpTypes.count)) == 0 else {
                    throw NetlinkSocket.Failure(description: "ICMP6_FILTER: \(NetlinkSocket.errorText(errno))")
                }
            }
            if let address { try Self.bind(fd, to: address) }
        } catch {
            close(fd)
            throw error
        }
    }

    deinit { close(fd) }

    /// Binds `fd` to `address` (and `port`, for UDP).
    static func bind(_ fd: Int32, to address: IPv6Address, port: UInt16 = 0) throws {
        var sa = socketAddress(address)
        sa.sin6_port = port.bigEndian
        let bound = withUnsafePointer(to: &sa) {
            $0.withMemoryRebound(to: Glibc.sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
        }
        guard bound == 0 else {
            throw NetlinkSocket.Failure(description: "bind [\(address)]\(port == 0 ? "" : ":\(port)"): \(NetlinkSocket.errorText(errno))")
        }
    }

    /// Receives one datagram into `buffer`, waiting for it: its length, sender,
    /// destination, interface and hop limit.
    static func receive(_ fd: Int32, into buffer: inout [UInt8]) throws -> (count: Int, from: sockaddr_in6, destination: IPv6Address,
                                                                           interface: Int32, hopLimit: Int32) {
        var from = sockaddr_in6(), destination = in6_addr()
        var interface: Int32 = -1, hopLimit: Int32 = -1
        var n = 0
        repeat {
            n = buffer.withUnsafeMutableBytes { csock_receive(fd, $0.baseAddress, $0.count, &from, &destination, &interface, &hopLimit) }
        } while n < 0 && errno == EINTR
        guard n >= 0 else { throw NetlinkSocket.Failure(description: "receive: \(NetlinkSocket.errorText(errno))") }
        return (n, from, address(destination), interface, hopLimit)
    }

    static func socketAddress(_ a: IPv6Address, interface: Int32 = 0) -> sockaddr_in6 {
        var sa = sockaddr_in6()
        sa.sin6_family = sa_family_t(AF_INET6)
        sa.sin6_addr = in6(a)
        sa.sin6_scope_id = UInt32(bitPattern: interface)
        return sa
    }

    static func in6(_ a: IPv6Address) -> in6_addr {
        var x = in6_addr()
        withUnsafeMutableBytes(of: &x) { raw in
            for (i, b) in a.bytes.enumerated() { raw[i] = b }
        }
        return x
    }

    static func address(_ x: in6_addr) -> IPv6Address {
        withUnsafeBytes(of: x) { IPv6Address(bytes: Array($0))! }
    }

    /// Sends `bytes` (the upper-layer message) to `destination`, optionally
    /// from a given source, out of a given interface, with a hop limit.
    public func send(_ bytes: [UInt8], to destination: IPv6Address, from source: IPv6Address? = nil,
                     interface: Int32 = 0, hopLimit: Int32 = -1) throws {
        var to = Self.socketAddress(destination, interface: destination.isLinkLocal || destination.isMulticast ? interface : 0)
        var from = source.map(Self.in6)
        let sent = bytes.withUnsafeBytes { b in
            withUnsafePointer(to: &to) { toPointer in
                if from != nil {
                    return withUnsafePointer(to: &from!) { csock_send(fd, b.baseAddress, b.count, toPointer, $0, interface, hopLimit) }
                }
                return csock_send(fd, b.baseAddress, b.count, toPointer, nil, interface, hopLimit)
            }
        }
        guard sent == bytes.count else {
            throw NetlinkSocket.Failure(description: "send to \(destination): \(NetlinkSocket.errorText(errno))")
        }
    }

    /// Whether a datagram arrives within `seconds`.
    public func readable(within seconds: Double) -> Bool { isReadable(fd, within: seconds) }

    /// Receives one datagram, waiting for it.
    public func receive() throws -> Datagram {
        let r = try Self.receive(fd, into: &buffer)
        return Datagram(bytes: Array(buffer[0..<r.count]), source: Self.address(r.from.sin6_addr), destination: r.destination,
                        interface: r.interface, hopLimit: r.hopLimit)
    }
}
