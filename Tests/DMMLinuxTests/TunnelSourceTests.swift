import DMMTestSupport
import DMMWire
import Foundation
import Testing

@testable import DMMLinux

/// The namespace's SRv6 tunnel source, set and read over generic netlink
/// and checked with iproute2, which reads it on its own.
@Suite(.enabled(if: TestNamespace.available || ProcessInfo.processInfo.environment["CI"] != nil, TestNamespace.skipReason))
struct TunnelSourceTests {
    @Test func setsReadsAndGivesBackTheTunnelSource() throws {
        let ns = try TestNamespace("tunsrc")
        let source = try TunnelSource(namespace: ns.name)
        #expect(try source.current() == .unspecified, "a new namespace leaves the choice to the kernel")
        #expect(try ns.ip(["sr", "tunsrc", "show"]).contains("tunsrc addr ::"))

        let address = IPv6Address("2001:db8:ffff::1")!
        try source.set(address)
        #expect(try source.current() == address)
        #expect(try ns.ip(["sr", "tunsrc", "show"]).contains("tunsrc addr \(address)"))
        #expect(try TunnelSource().current() != address, "the test's own namespace is untouched")

        try source.set(.unspecified)
        #expect(try ns.ip(["sr", "tunsrc", "show"]).contains("tunsrc addr ::"))
    }
}
