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

    /// Tunnels, which every scheme uses: the kernel's SRv6 tunnels
    /// (DESIGN.md) or, where the kernel lacks them, eBPF encapsulation and
    /// tcx (`BPFTunnels.swift`).
    public static let tunnels = Prerequisite(
        description: "the kernel's IPv6 Segment Routing tunnels (CONFIG_IPV6_SEG6_LWTUNNEL) or eBPF tunnels (CONFIG_LWTUNNEL_BPF, tcx: kernel 6.6)",
        remedy: "a kernel built with either") { TunnelDriver.available != nil }

    /// Which of `symbols` /proc/kallsyms names (names are listed even where
    /// addresses are hidden), in one pass that stops once all are found.
    static func kernelSymbols(among symbols: Set<String>) -> Set<String> {
        guard let file = fopen("/proc/kallsyms", "r") else { return [] }
        defer { fclose(file) }
        var line: UnsafeMutablePointer<CChar>?
        var capacity = 0
        defer { free(line) }
        var found: Set<String> = []
        // Each line: address, type, name, then a tab and [module] for a module's.
        while found.count < symbols.count, getline(&line, &capacity, file) > 0, let line {
            guard let name = strrchr(line, 0x20) else { continue }
            let symbol = String(String(cString: name + 1).prefix { $0 != "\n" && $0 != "\t" })
            if symbols.contains(symbol) { found.insert(symbol) }
        }
        return found
    }

    /// A program found on PATH, as `Command.locate` finds it.
    public static func program(_ name: String, package: String) -> Prerequisite {
        Prerequisite(description: "the program \(name)", remedy: "Debian package \(package)") { Command.locate(name) != nil }
    }

    public struct Unmet: Error, CustomStringConvertible {
        public var missing: [Prerequisite]
        public var description: String {
            let packages = missing.contains { $0.remedy.hasPrefix("Debian package") }
            return (["missing prerequisites:"] + missing.map { "  \($0.description): \($0.remedy)" }
                + (packages ? ["scripts/setup installs the packages (apt-get install as root)."] : [])).joined(separator: "\n")
        }
    }

    /// Throws naming every prerequisite that is not met.
    public static func check(_ list: [Prerequisite]) throws {
        let missing = list.filter { !$0.isMet() }
        if !missing.isEmpty { throw Unmet(missing: missing) }
    }
}
