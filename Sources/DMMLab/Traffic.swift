import DMMLinux
import DMMNode
import DMMWire
import Foundation
import Glibc

/// The lab's traffic tools, run inside namespaces as `dmm lab traffic ...`:
/// a TCP echo server, a TCP stream that timestamps every message and its
/// echo, a ping over a raw ICMPv6 socket, and the Router Solicitations of a
/// node that lists its previous prefixes. Each client prints one JSON
/// object with what it saw, so the lab can measure interruptions.
public enum Traffic {
    public struct Failure: Error, CustomStringConvertible { public var description: String }

    /// Seconds since the Unix epoch.
    static func now() -> Double { wallClock().seconds }

    static func address(_ a: IPv6Address, port: UInt16) -> sockaddr_in6 {
        var s = sockaddr_in6()
        s.sin6_family = sa_family_t(AF_INET6)
        s.sin6_port = port.bigEndian
        withUnsafeMutableBytes(of: &s.sin6_addr) { raw in for (i, b) in a.bytes.enumerated() { raw[i] = b } }
        return s
    }

    static func call(_ what: String, _ result: Int32) throws {
        if result < 0 { throw Failure(description: "\(what): \(String(cString: strerror(errno)))") }
    }

    /// Echoes every byte back on each connection, until killed.
    public static func serve(address: IPv6Address, port: UInt16) throws -> Never {
        let listener = socket(AF_INET6, Int32(SOCK_STREAM.rawValue), 0)
        var on: Int32 = 1
        setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
        var sa = Self.address(address, port: port)
        try call("bind", withUnsafePointer(to: &sa) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) } })
        try call("listen", listen(listener, 64))
        var fds = [pollfd(fd: listener, events: Int16(POLLIN), revents: 0)]
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            _ = poll(&fds, nfds_t(fds.count), -1)
            var closed: [Int32] = []
            for p in fds where p.revents != 0 {
                if p.fd == listener {
                    let c = accept(listener, nil, nil)
                    if c >= 0 {
                        var one: Int32 = 1
                        setsockopt(c, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
                        fds.append(pollfd(fd: c, events: Int16(POLLIN), revents: 0))
                    }
                } else {
                    let n = read(p.fd, &buffer, buffer.count)
                    if n <= 0 { closed.append(p.fd); continue }
                    var sent = 0
                    while sent < n {
                        let w = buffer[sent..<n].withUnsafeBytes { write(p.fd, $0.baseAddress, $0.count) }
                        if w <= 0 { break }
                        sent += w
                    }
                }
            }
            for c in closed { close(c) }
            fds.removeAll { closed.contains($0.fd) }
        }
    }

    /// What a stream saw: every echo's send and arrival time, and how it ended.
    public struct StreamLog: Codable, Sendable {
        public var source: String
        public var port: UInt16
        public var sent: Int
        public var echoed: Int
        /// Arrival times of echoes, in seconds since the Unix epoch.
        public var arrivals: [Double]
        /// "none", or why the connection failed (a reset shows here).
        public var error: String
    }

    /// Sends a numbered line every `interval` for `duration` seconds (or until
    /// `stopFile` appears) and reads the echoes.
    /// The node's own source address selection picks the source (RFC 6724:
    /// a deprecated address is not chosen), and the log records it.
    public static func stream(to destination: IPv6Address, port: UInt16, interval: Double,
                              duration: Double, stopFile: String?) throws -> StreamLog {
        let fd = socket(AF_INET6, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var dst = Self.address(destination, port: port)
        try call("connect", withUnsafePointer(to: &dst) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) } })
        var local = sockaddr_in6()
        var length = socklen_t(MemoryLayout<sockaddr_in6>.size)
        _ = withUnsafeMutablePointer(to: &local) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        let source = withUnsafeBytes(of: local.sin6_addr) { IPv6Address(bytes: Array($0))! }
        let port = UInt16(bigEndian: local.sin6_port)
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        var log = StreamLog(source: source.description, port: port, sent: 0, echoed: 0, arrivals: [], error: "none")
        let start = now()
        var pending: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        var next = start
        while now() - start < duration && !(stopFile.map { FileManager.default.fileExists(atPath: $0) } ?? false) {
            if now() >= next {
                let line = Array("\(log.sent)\n".utf8)
                if write(fd, line, line.count) != line.count {
                    log.error = String(cString: strerror(errno))
                    return log
                }
                log.sent += 1
                next += interval
            }
            if isReadable(fd, within: min(next - now(), 0.05)) {
                let n = read(fd, &buffer, buffer.count)
                if n < 0 { log.error = String(cString: strerror(errno)); return log }
                if n == 0 { log.error = "closed by the peer"; return log }
                pending += buffer[0..<n]
                let t = now()
                while let nl = pending.firstIndex(of: 10) {
                    pending.removeSubrange(...nl)
                    log.echoed += 1
                    log.arrivals.append(t)
                }
            }
        }
        // Collect the echoes still in flight.
        let drainEnd = now() + 2
        while log.echoed < log.sent && now() < drainEnd {
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&p, 1, 100) > 0 else { continue }
            let n = read(fd, &buffer, buffer.count)
            if n <= 0 { break }
            pending += buffer[0..<n]
            while let nl = pending.firstIndex(of: 10) {
                pending.removeSubrange(...nl)
                log.echoed += 1
                log.arrivals.append(now())
            }
        }
        return log
    }

    /// ICMPv6 echo requests every `interval`; the arrival time of each reply.
    public struct PingLog: Codable, Sendable {
        public var sent: Int
        public var received: Int
        public var arrivals: [Double]
    }

    /// The Router Solicitations sent, each with the time and the prefixes it listed.
    public struct SolicitLog: Codable, Sendable {
        public struct Solicitation: Codable, Sendable {
            public var at: Double
            public var prefixes: [String]
        }
        public var sent: [Solicitation]
    }

    /// Each time `interface` gets carrier, a Router Solicitation to all
    /// routers listing the prefixes of the node's global addresses as
    /// Prefix Information options: the previous prefixes of the node that
    /// moved, as I-D.jhlee-dmm-dnpp has it (an unmodified Linux node sends
    /// no solicitation when carrier returns). With its link-layer address,
    /// which names the node as its other frames do.
    public static func solicit(interface: String, duration: Double, stopFile: String?) throws -> SolicitLog {
        let links = try LinkMonitor()
        _ = try links.current()
        guard let mac = try LinkMonitor.linkLayerAddress(of: interface) else { throw Failure(description: "no interface \(interface)") }
        let s = try RawSocket(protocol: ICMPv6Message.protocolNumber, icmpTypes: [])
        var log = SolicitLog(sent: [])
        let start = now()
        while now() - start < duration && !(stopFile.map { FileManager.default.fileExists(atPath: $0) } ?? false) {
            guard isReadable(links.fd, within: 0.05) else { continue }
            for case .up(interface, let index) in try links.poll() {
                let prefixes = globalPrefixes(of: interface)
                let options = [NDOption.sourceLinkLayerAddress(mac)] + prefixes.map {
                    NDOption.prefixInformation(PrefixInformation(prefix: $0, validLifetime: 0, preferredLifetime: 0))
                }
                // The kernel fills in the link-local source and the checksum.
                let rs = try ICMPv6Message.routerSolicitation(RouterSolicitation(options: options)).encode(source: .unspecified, destination: .unspecified)
                try s.send(rs, to: IPv6Address("ff02::2")!, interface: index, hopLimit: 255)
                log.sent.append(.init(at: now(), prefixes: prefixes.map(\.description)))
            }
        }
        return log
    }

    /// The prefixes of `interface`'s global addresses, each once.
    static func globalPrefixes(of interface: String) -> [IPv6Prefix] {
        var out: [IPv6Prefix] = []
        for a in InterfaceAddress.current() where a.interface == interface && a.isGlobal {
            let p = IPv6Prefix(covering: a.address, length: a.prefixLength)
            if !out.contains(p) { out.append(p) }
        }
        return out
    }

    public static func ping(to destination: IPv6Address, interval: Double, duration: Double, stopFile: String?) throws -> PingLog {
        let s = try RawSocket(protocol: ICMPv6Message.protocolNumber, icmpTypes: [129])
        var log = PingLog(sent: 0, received: 0, arrivals: [])
        let identifier = UInt16(truncatingIfNeeded: getpid())
        let start = now()
        var next = start
        var seen: Set<UInt16> = []
        while now() - start < duration && !(stopFile.map { FileManager.default.fileExists(atPath: $0) } ?? false) {
            if now() >= next {
                var body = ByteWriter()
                body.u16(identifier)
                body.u16(UInt16(truncatingIfNeeded: log.sent))
                // The kernel fills in the source and the checksum.
                let request = try ICMPv6Message.other(type: 128, code: 0, body: body.bytes).encode(source: .unspecified, destination: destination)
                try? s.send(request, to: destination)
                log.sent += 1
                next += interval
            }
            if s.readable(within: max(0, min(0.05, next - now()))) {
                let d = try s.receive()
                if case .other(129, 0, let b) = try? ICMPv6Message.decode(d.bytes, checksum: .skip), b.count >= 4,
                    UInt16(b[0]) << 8 | UInt16(b[1]) == identifier, seen.insert(UInt16(b[2]) << 8 | UInt16(b[3])).inserted
                {
                    log.received += 1
                    log.arrivals.append(now())
                }
            }
        }
        return log
    }
}
