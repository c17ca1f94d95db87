import CNetlink
import Glibc

/// A rtnetlink socket, optionally opened inside a named network namespace
/// (one made by `ip netns add`): a socket belongs to the namespace of the
/// thread that created it, so the thread enters the namespace just long
/// enough to create it. Requests go out in batches of at most 16 KiB (larger
/// batches make the kernel's seg6 code fail with ENOMEM far more often, see
/// DESIGN.md) and acknowledgements are matched by sequence number.
public final class NetlinkSocket {
    let fd: Int32
    /// The namespace the socket was opened in (nil: the thread's own); bpf(2)
    /// names devices by index in the caller's namespace, so the eBPF tunnels
    /// enter it too.
    public let namespace: String?
    private var sequence: UInt32 = 1
    private var buffer = [UInt8](repeating: 0, count: 1 << 17)
    static let batchLimit = 16 * 1024

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    public init(namespace: String? = nil, protocol family: Int32 = NETLINK_ROUTE, groups: UInt32 = 0) throws {
        self.namespace = namespace
        var socketErrno: Int32 = 0
        fd = try inNetworkNamespace(namespace) {
            let fd = socket(AF_NETLINK, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), family)
            socketErrno = errno
            return fd
        }
        guard fd >= 0 else { throw Failure(description: "netlink socket: \(Self.errorText(socketErrno))") }
        var address = sockaddr_nl()
        address.nl_family = sa_family_t(AF_NETLINK)
        address.nl_groups = groups
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_nl>.size)) }
        }
        guard bound == 0 else {
            close(fd)
            throw Failure(description: "netlink bind: \(Self.errorText(errno))")
        }
        var size: Int32 = 4 << 20
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        var on: Int32 = 1
        setsockopt(fd, Int32(SOL_NETLINK), NETLINK_EXT_ACK, &on, socklen_t(MemoryLayout<Int32>.size))
        // Acknowledgements without a copy of each request: less to copy both ways.
        setsockopt(fd, Int32(SOL_NETLINK), NETLINK_CAP_ACK, &on, socklen_t(MemoryLayout<Int32>.size))
    }

    deinit { close(fd) }

    static func errorText(_ code: Int32) -> String { String(cString: strerror(code)) + " (errno \(code))" }

    /// Sends each message with NLM_F_ACK and returns each one's errno (0 for
    /// success), in order.
    public func transact(_ messages: [NetlinkMessage]) throws -> [Int32] {
        var results = [Int32](repeating: 0, count: messages.count)
        var start = 0
        while start < messages.count {
            var batch = NetlinkWriter()
            batch.bytes.reserveCapacity(Self.batchLimit)
            var sequences: [UInt32: Int] = [:]
            var end = start
            while end < messages.count {
                var m = messages[end]
                if !batch.bytes.isEmpty && batch.bytes.count + m.encodedLength > Self.batchLimit { break }
                m.flags |= UInt16(NLM_F_REQUEST | NLM_F_ACK)
                let seq = nextSequence()
                m.encode(sequence: seq, into: &batch)
                sequences[seq] = end
                end += 1
            }
            try send(batch.bytes)
            while !sequences.isEmpty {
                for message in try receive() where message.type == NLMSG_ERROR {
                    guard let index = sequences.removeValue(forKey: message.sequence) else { continue }
                    results[index] = message.errorCode
                }
            }
            start = end
        }
        return results
    }

    /// Sends a dump request and returns every reply message until NLMSG_DONE.
    public func dump(_ request: NetlinkMessage) throws -> [NetlinkReply] {
        try replies(to: try send(request, adding: NLM_F_REQUEST | NLM_F_DUMP))
    }

    /// Sends one request with NLM_F_ACK and returns the messages it answered
    /// with before its acknowledgement (a generic netlink command's reply).
    public func request(_ message: NetlinkMessage) throws -> [NetlinkReply] {
        try replies(to: try send(message, adding: NLM_F_REQUEST | NLM_F_ACK))
    }

    /// Sends one message with `flags` added; returns its sequence number.
    private func send(_ message: NetlinkMessage, adding flags: Int32) throws -> UInt32 {
        var m = message
        m.flags |= UInt16(flags)
        let seq = nextSequence()
        var w = NetlinkWriter()
        m.encode(sequence: seq, into: &w)
        try send(w.bytes)
        return seq
    }

    /// The messages answering `seq`, up to the one that ends them: NLMSG_DONE
    /// after a dump, the acknowledgement after a request, or an error.
    private func replies(to seq: UInt32) throws -> [NetlinkReply] {
        var replies: [NetlinkReply] = []
        while true {
            for reply in try receive() where reply.sequence == seq {
                if reply.type == NLMSG_DONE { return replies }
                if reply.type == NLMSG_ERROR {
                    guard reply.errorCode == 0 else { throw Failure(description: "netlink request failed: \(Self.errorText(reply.errorCode))") }
                    return replies
                }
                replies.append(reply)
            }
        }
    }

    private func nextSequence() -> UInt32 {
        defer { sequence &+= 1 }
        return sequence
    }

    private func send(_ bytes: [UInt8]) throws {
        var address = sockaddr_nl()
        address.nl_family = sa_family_t(AF_NETLINK)
        let sent = bytes.withUnsafeBytes { buffer in
            withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd, buffer.baseAddress, buffer.count, 0, $0, socklen_t(MemoryLayout<sockaddr_nl>.size))
                }
            }
        }
        guard sent == bytes.count else { throw Failure(description: "netlink send: \(Self.errorText(errno))") }
    }

    /// Reads one datagram (blocking) and splits it into messages.
    func receive() throws -> [NetlinkReply] {
        var received = 0
        repeat {
            received = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        } while received < 0 && errno == EINTR
        guard received >= 0 else { throw Failure(description: "netlink receive: \(Self.errorText(errno))") }
        return NetlinkReply.split(Array(buffer[0..<received]))
    }

    /// Reads whatever multicast events are queued, without blocking.
    public func poll() throws -> [NetlinkReply] {
        var replies: [NetlinkReply] = []
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if n < 0 {
                if errno == EAGAIN || errno == EWOULDBLOCK { return replies }
                if errno == EINTR { continue }
                throw Failure(description: "netlink receive: \(Self.errorText(errno))")
            }
            replies += NetlinkReply.split(Array(buffer[0..<n]))
        }
    }
}

/// One message from the kernel.
public struct NetlinkReply: Sendable {
    public var type: UInt16
    public var flags: UInt16
    public var sequence: UInt32
    /// The bytes after the 16-byte header.
    public var payload: [UInt8]

    /// For NLMSG_ERROR: 0 (an acknowledgement) or a positive errno.
    var errorCode: Int32 {
        guard payload.count >= 4 else { return EPROTO }
        let raw = UInt32(payload[0]) | UInt32(payload[1]) << 8 | UInt32(payload[2]) << 16 | UInt32(payload[3]) << 24
        return -Int32(bitPattern: raw)
    }

    /// Splits a datagram into messages; a truncated message ends the split.
    static func split(_ bytes: [UInt8]) -> [NetlinkReply] {
        var out: [NetlinkReply] = []
        var i = 0
        while i + 16 <= bytes.count {
            func u32(_ at: Int) -> UInt32 {
                UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16 | UInt32(bytes[at + 3]) << 24
            }
            let length = Int(u32(i))
            guard length >= 16, i + length <= bytes.count else { break }
            out.append(NetlinkReply(type: UInt16(bytes[i + 4]) | UInt16(bytes[i + 5]) << 8,
                                    flags: UInt16(bytes[i + 6]) | UInt16(bytes[i + 7]) << 8,
                                    sequence: u32(i + 8), payload: Array(bytes[i + 16..<i + length])))
            i += (length + 3) & ~3
        }
        return out
    }
}
