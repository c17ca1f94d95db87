import ArgumentParser
import DMMCore
import DMMLinux
import DMMWire
import Foundation

extension BenchCommand {
    struct Kernel: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Program tunnel routes (SRv6, or eBPF where the kernel lacks SRv6 tunnels) through rtnetlink in a scratch namespace; print operations per second (root).",
            discussion: "Builds the namespace with iproute2, then installs and removes ROUTES encapsulation routes through the Linux data plane in batches of at most 16 KiB."
        )

        @Option(help: "Routes to install and then remove.")
        var routes = 100_000

        func run() throws {
            require([.root, .tunnels, .program("ip", package: "iproute2")])
            let ns = try ScratchNamespace("kernel")
            defer { withExtendedLifetime(ns) {} }  // deleted only after the measurements
            let dp = try ns.dataPlane()
            let endpoint = IPv6Address("fc00:2::d6")!
            let rules: [ForwardingRule] = (0..<routes).map { i in
                .encapsulate(IPv6Prefix(IPv6Address(high: 0x2001_0db8_0000_0000 | UInt64(i), low: 0), length: 64),
                             endpoint: endpoint, mode: .ipv6InIPv6)
            }
            print("dmm bench kernel: \(routes) IPv6-in-IPv6 tunnel routes (\(dp.config.tunnels.resolved == .bpf ? "encap bpf, one program per far end" : "seg6 encap.red")), one netlink socket, batches of at most 16 KiB")
            for (name, changes) in [("install", rules.map { LinuxDataPlane.Change.install($0) }),
                                    ("remove", rules.map { LinuxDataPlane.Change.remove($0) })] {
                let start = DispatchTime.now().uptimeNanoseconds
                let failures = try dp.apply(changes)
                let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                print(String(format: "%@: %.3f s, %.0f routes/s, %.1f µs per route, %d failed",
                             name, seconds, Double(routes) / seconds, seconds / Double(routes) * 1e6, failures.count))
            }
        }
    }
}
