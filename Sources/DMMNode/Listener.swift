import DMMWire
import Foundation
import Glibc

/// A small request-response server in the reactor: a Unix socket for
/// `dmm ctl`, or TCP for the Prometheus endpoint (`GET /metrics`). Each
/// connection sends one request and gets one answer; nothing else is kept.
public final class Listener {
    public let fd: Int32
    let path: String?

    public struct Failure: Error, CustomStringConvertible { public var description: String }

    /// Listens on a Unix socket path (replacing a stale socket file).
    public init(unixPath: String) throws {
        path = unixPath
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket: errno \(errno)") }
        let directory = unixPath.split(separator: "/").dropLast().joined(separator: "/")
        if !directory.isEmpty { mkdir("/" + directory, 0o755) }
        unlink(unixPath)
        var a = sockaddr_un()
        a.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(unixPath.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: a.sun_path) else { throw Failure(description: "socket path too long: \(unixPath)") }
        withUnsafeMutableBytes(of: &a.sun_path) { raw in for (i, b) in bytes.enumerated() { raw[i] = b } }
        let ok = withUnsafePointer(to: &a) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard ok == 0, listen(fd, 16) == 0 else {
            close(fd)
            throw Failure(description: "cannot listen on \(unixPath): \(String(cString: strerror(errno)))")
        }
    }

    /// Listens on TCP `[address]:port`.
    public init(tcp endpoint: String) throws {
        path = nil
        guard let close = endpoint.lastIndex(of: "]"), endpoint.hasPrefix("["),
            let address = IPv6Address(endpoint[endpoint.index(after: endpoint.startIndex)..<close]),
            let port = UInt16(endpoint[endpoint.index(close, offsetBy: 2)...]), endpoint[endpoint.index(after: close)] == ":"
        else { throw Failure(description: "'\(endpoint)' is not [IPv6 address]:port") }
        fd = socket(AF_INET6, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket: errno \(errno)") }
        var on: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
        var a = sockaddr_in6()
        a.sin6_family = sa_family_t(AF_INET6)
        a.sin6_port = port.bigEndian
        withUnsafeMutableBytes(of: &a.sin6_addr) { raw in for (i, b) in address.bytes.enumerated() { raw[i] = b } }
        let ok = withUnsafePointer(to: &a) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
        }
        guard ok == 0, listen(fd, 16) == 0 else {
            Glibc.close(fd)
            throw Failure(description: "cannot listen on \(endpoint): \(String(cString: strerror(errno)))")
        }
    }

    deinit {
        close(fd)
        if let path { unlink(path) }
    }

    /// Accepts one connection, reads its request, writes `answer(request)`.
    public func serveOne(_ answer: (String) -> String) {
        let c = accept(fd, nil, nil)
        guard c >= 0 else { return }
        defer { close(c) }
        var timeout = timeval(tv_sec: 1, tv_usec: 0)
        setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = read(c, &buffer, buffer.count)
        guard n > 0 else { return }
        let reply = Array(answer(String(decoding: buffer[0..<n], as: UTF8.self)).utf8)
        var sent = 0
        while sent < reply.count {
            let w = reply[sent...].withUnsafeBytes { write(c, $0.baseAddress, $0.count) }
            if w <= 0 { return }
            sent += w
        }
    }

    /// A control-socket answer: one JSON object and a newline.
    public static func json(_ object: [String: Any]) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    /// The Prometheus endpoint's answer.
    public static func http(_ request: String, metrics: () -> String) -> String {
        guard request.hasPrefix("GET /metrics") else { return "HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n" }
        let body = metrics()
        return "HTTP/1.0 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: \(body.utf8.count)\r\n\r\n" + body
    }
}
