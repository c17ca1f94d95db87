import DMMLinux
import DMMWire
import Foundation

/// A network namespace of a benchmark's own, built with iproute2: an uplink
/// `up0` (a veth to `core0`) and the given access links (veths to `PEER`s),
/// all up. It is deleted when released.
final class ScratchNamespace {
    let name: String

    /// `accessLinks`: (link, peer) pairs.
    init(_ label: String, accessLinks: [(String, String)] = []) throws {
        name = "dmm-bench-\(label)-\(getpid())"
        try Self.ip(["netns", "add", name])
        do {
            for (link, peer) in [("up0", "core0")] + accessLinks {
                try Self.ip(["-n", name, "link", "add", link, "type", "veth", "peer", "name", peer])
                for device in [link, peer] { try Self.ip(["-n", name, "link", "set", device, "up"]) }
            }
        } catch {
            _ = try? Self.ip(["netns", "del", name])
            throw error
        }
    }

    deinit { _ = try? Self.ip(["netns", "del", name]) }

    /// The Linux data plane in it, on `up0`; its tunnels' outer source (which
    /// eBPF tunnels need) is a documentation address: no packet goes.
    func dataPlane() throws -> LinuxDataPlane {
        var config = LinuxDataPlane.Config(uplink: "up0")
        config.tunnelSource = IPv6Address("2001:db8:ffff::1")
        return try LinuxDataPlane(netlink: NetlinkSocket(namespace: name), config: config)
    }

    static func ip(_ arguments: [String]) throws { _ = try Command.output(try Command.require("ip"), arguments) }
}
