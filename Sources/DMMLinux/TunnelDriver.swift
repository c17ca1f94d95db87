import Glibc

/// How the Linux data plane builds tunnels: with the kernel's SRv6 code
/// (`KernelRule`) or with eBPF programs (`BPFTunnels`); both put the same
/// packets on the wire. `automatic` takes SRv6 where the kernel has it.
public enum TunnelDriver: String, Sendable, CaseIterable, CustomStringConvertible {
    case automatic, seg6, bpf
    public var description: String { rawValue }

    /// The driver this kernel supports, SRv6 first; nil for neither. The
    /// seg6 sysctls exist without seg6 tunnels (a kernel 6.18 here had
    /// `seg6_flowlabel` and refused every seg6 route with "lwt encapsulation
    /// type not supported"), so the test is the kernel's symbol table: the
    /// set-up code of each piece.
    public static let available: TunnelDriver? = {
        let found = Prerequisite.kernelSymbols(among: ["seg6_init", "seg6_iptunnel_init", "seg6_local_init",
                                                       "bpf_lwt_push_ip_encap", "tcx_prog_attach"])
        // Where the table is hidden (no seg6_init, which every IPv6 kernel
        // has), the sysctl is the best sign left.
        guard found.contains("seg6_init") else { return access("/proc/sys/net/ipv6/seg6_flowlabel", F_OK) == 0 ? .seg6 : nil }
        if found.contains("seg6_iptunnel_init") && found.contains("seg6_local_init") { return .seg6 }
        return found.contains("bpf_lwt_push_ip_encap") && found.contains("tcx_prog_attach") ? .bpf : nil
    }()

    /// The driver to use: this one, or for `automatic` what the kernel has.
    public var resolved: TunnelDriver { self == .automatic ? Self.available ?? .seg6 : self }
}
