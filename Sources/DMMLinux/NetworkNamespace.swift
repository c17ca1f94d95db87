import CNetlink
import Glibc

/// Runs `body` with the calling thread inside the named network namespace
/// (one made by `ip netns add`), then returns the thread to its own. A socket
/// belongs to the namespace of the thread that created it, so this is how a
/// daemon or test opens sockets in another namespace; nil runs `body` as is.
/// `body` must not suspend: the thread must stay the same throughout.
public func inNetworkNamespace<T>(_ name: String?, _ body: () throws -> T) throws -> T {
    guard let name else { return try body() }
    let target = open("/var/run/netns/\(name)", O_RDONLY | O_CLOEXEC)
    guard target >= 0 else { throw NetlinkSocket.Failure(description: "no network namespace \(name): \(NetlinkSocket.errorText(errno))") }
    defer { close(target) }
    let original = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)
    guard original >= 0 else { throw NetlinkSocket.Failure(description: "cannot read this thread's namespace: \(NetlinkSocket.errorText(errno))") }
    defer { close(original) }
    guard cnl_setns_net(target) == 0 else {
        throw NetlinkSocket.Failure(description: "cannot enter namespace \(name): \(NetlinkSocket.errorText(errno))")
    }
    defer {
        // Failing to return would leave the thread in the wrong namespace.
        if cnl_setns_net(original) != 0 { fatalError("cannot return to the original network namespace: errno \(errno)") }
    }
    return try body()
}
