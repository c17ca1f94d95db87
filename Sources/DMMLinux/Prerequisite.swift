import Glibc

/// Something a command needs from the machine, checked before it builds
/// anything, so that a missing piece is named with what brings it instead of
/// failing half way with namespaces left behind.
public struct Prerequisite: Sendable, CustomStringConvertible {
    public var description: String
    /// What brings it: a Debian package, or what to do.
    public var remedy: String
    let isMet: @Sendable () -> Bool

    public static let root = Prerequisite(description: "root (namespaces, routes and raw sockets)", remedy: "run it as root") { getuid() == 0 }

    /// SRv6 encapsulation and End.DT6/End.DX6, which every tunnel uses
    /// (DESIGN.md); the sysctl exists only with CONFIG_IPV6_SEG6_LWTUNNEL.
    public static let segmentRouting = Prerequisite(
        description: "the kernel's IPv6 Segment Routing (CONFIG_IPV6_SEG6_LWTUNNEL)",
        remedy: "a kernel built with it") { access("/proc/sys/net/ipv6/seg6_flowlabel", F_OK) == 0 }

    /// A program found on PATH, as `Command.locate` finds it.
    public static func program(_ name: String, package: String) -> Prerequisite {
        Prerequisite(description: "the program \(name)", remedy: "Debian package \(package)") { Command.locate(name) != nil }
    }

    public struct Unmet: Error, CustomStringConvertible {
        public var missing: [Prerequisite]
        public var description: String {
            (["missing prerequisites:"] + missing.map { "  \($0.description): \($0.remedy)" }
                + ["scripts/setup installs the packages (apt-get install as root)."]).joined(separator: "\n")
        }
    }

    /// Throws naming every prerequisite that is not met.
    public static func check(_ list: [Prerequisite]) throws {
        let missing = list.filter { !$0.isMet() }
        if !missing.isEmpty { throw Unmet(missing: missing) }
    }
}
