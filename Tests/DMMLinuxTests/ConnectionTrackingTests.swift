import DMMTestSupport
import Foundation
import Testing

@testable import DMMLinux

/// The MAR's nftables table, written through libnftables and read back by
/// the `nft` command, which parses the kernel's ruleset on its own.
@Suite(.enabled(if: TestNamespace.available || ProcessInfo.processInfo.environment["CI"] != nil, TestNamespace.skipReason))
struct ConnectionTrackingTests {
    @Test func installsReplacesAndRemovesTheTable() throws {
        let ns = try TestNamespace("nft")
        func listed() throws -> Command.Result { try Command.run("/usr/sbin/ip", ["netns", "exec", ns.name, "nft", "list", "table", "inet", "dmm"]) }
        #expect(try listed().status != 0, "a new namespace has no table")

        try inNetworkNamespace(ns.name) { try ConnectionTracking.install() }
        let first = try listed()
        #expect(first.status == 0, "\(first.err)")
        #expect(first.out.contains("hook forward priority filter") && first.out.contains("ct state new counter"))
        #expect(first.out.contains("hook prerouting priority raw") && first.out.contains("meta l4proto ipv6 notrack"))

        // A restart installs again: one table with the same rules, not two copies.
        try inNetworkNamespace(ns.name) { try ConnectionTracking.install() }
        let second = try listed()
        #expect(second.out.components(separatedBy: "ct state new").count == 2, "\(second.out)")
        #expect(try Command.output("/usr/sbin/ip", ["netns", "exec", ns.name, "nft", "list", "tables"]) == "table inet dmm\n")

        try inNetworkNamespace(ns.name) { try ConnectionTracking.remove() }
        #expect(try listed().status != 0)
        // Removing what is not there is no error (a daemon stopping twice).
        try inNetworkNamespace(ns.name) { try ConnectionTracking.remove() }
        #expect(try Command.output("/usr/sbin/ip", ["netns", "exec", ns.name, "nft", "list", "tables"]) == "")
    }

    @Test func reportsNftablesOwnErrorText() throws {
        let ns = try TestNamespace("nfterr")
        #expect {
            try inNetworkNamespace(ns.name) { try ConnectionTracking.run("add rule inet nosuch track counter") }
        } throws: { error in
            "\(error)".contains("nftables:") && "\(error)".contains("No such file or directory")
        }
    }
}
