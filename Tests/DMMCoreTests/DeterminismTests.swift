import DMMDataPlane
import DMMWire
import Testing

@testable import DMMCore

/// The same events give byte-identical actions. Sets and dictionaries in
/// Swift are seeded per instance, so an iteration order that leaked into the
/// actions would differ between runs in one process.
struct DeterminismTests {
    /// A node with three prefixes in use (MAR1, MAR2, MAR3), then back home
    /// at MAR1 and gone: every PBU, RA, location request and rule, in order.
    static func threePrefixRun() throws -> [String] {
        var tb = Testbed()
        let hnp1 = try tb.start("MN1", at: "MAR1")
        tb.move("MN1", to: "MAR2")
        let hnp2 = try #require(tb.preferred("MN1"))
        tb.flows("MN1", on: hnp2, 1)
        tb.move("MN1", to: "MAR3")
        let hnp3 = try #require(tb.preferred("MN1"))
        tb.flows("MN1", on: hnp3, 1)
        tb.move("MN1", to: "MAR1")
        #expect(tb.prefixes(of: "MN1").keys.count == 3, "three prefixes in use: \(hnp1), \(hnp2), \(hnp3)")
        tb.detach("MN1")
        tb.run(for: 30)
        return tb.actionLog
    }

    @Test func theSameEventsGiveTheSameActions() throws {
        let first = try Self.threePrefixRun()
        #expect(first.count > 40)
        for run in 2...6 {
            let again = try Self.threePrefixRun()
            let i = first.indices.first { $0 >= again.count || first[$0] != again[$0] }
            #expect(i == nil && again.count == first.count,
                    "run \(run) differs at action \(i ?? first.count): \(i.map { first[$0] } ?? "") against \(i.flatMap { $0 < again.count ? again[$0] : nil } ?? "")")
        }
    }
}

struct RuleTableTests {
    static let p = IPv6Prefix("2001:db8:1:5::/64")!
    static let deliver = ForwardingRule.deliver(p, link: "mn1")
    static let tunnel = ForwardingRule.encapsulate(p, endpoint: IPv6Address("fc00:2::d6")!, mode: .ipv6InIPv6)
    let t0 = Instant(seconds: 100)

    @Test func installReplacesAndRemoveTakesOnlyTheRuleInPlace() {
        var t = RuleTable()
        #expect(t.install(Self.deliver) == .install(Self.deliver))
        #expect(t.install(Self.tunnel) == .install(Self.tunnel), "the same key: replaced")
        #expect(t.count == 1 && t[.route(Self.p)] == Self.tunnel)
        #expect(t.remove(Self.deliver) == nil, "replaced already: must not take its successor with it")
        #expect(t[.route(Self.p)] == Self.tunnel)
        #expect(t.remove(Self.tunnel) == .remove(Self.tunnel))
        #expect(t.count == 0 && t.remove(Self.tunnel) == nil)
    }

    @Test func aFailedWriteComesBackWithDoublingBackoffUntilItIsMade() {
        var t = RuleTable()
        let change = t.install(Self.deliver)
        t.failed(change, at: t0)
        #expect(t.pendingRetries == 1 && t.nextRetry() == t0 + 0.1)
        #expect(t.dueRetries(at: t0 + 0.09).isEmpty)
        #expect(t.dueRetries(at: t0 + 0.1) == [change])
        t.failed(change, at: t0 + 0.1)
        #expect(t.nextRetry() == t0 + 0.3, "0.2 s after the second failure")
        #expect(t.dueRetries(at: t0 + 0.3) == [change])
        t.failed(change, at: t0 + 0.3)
        #expect(t.nextRetry() == t0 + 0.7)
        #expect(t.dueRetries(at: t0 + 0.7) == [change])
        t.succeeded(change)
        #expect(t.pendingRetries == 0 && t.nextRetry() == nil)
    }

    @Test func theBackoffStopsGrowingAtItsMaximum() {
        var t = RuleTable()
        let change = t.install(Self.deliver)
        var now = t0
        for _ in 0..<12 {
            t.failed(change, at: now)
            now = t.nextRetry()!
            #expect(t.dueRetries(at: now) == [change])
        }
        t.failed(change, at: now)
        #expect(t.nextRetry() == now + t.maximumBackoff)
    }

    @Test func aRetryEndsWhenTheRuleIsNoLongerWanted() {
        var t = RuleTable()
        let install = t.install(Self.deliver)
        t.failed(install, at: t0)
        #expect(t.remove(Self.deliver) == .remove(Self.deliver))
        #expect(t.pendingRetries == 0 && t.dueRetries(at: t0 + 60).isEmpty, "a removed rule is not installed again")

        // A failed remove is retried while nothing else is wanted under its key...
        _ = t.install(Self.deliver)
        let remove = t.remove(Self.deliver)!
        t.failed(remove, at: t0)
        #expect(t.dueRetries(at: t0 + 0.1) == [remove])
        t.failed(remove, at: t0 + 0.1)
        // ...and not once the key holds a new rule (the install replaces it).
        #expect(t.install(Self.tunnel) == .install(Self.tunnel))
        #expect(t.pendingRetries == 0 && t.dueRetries(at: t0 + 60).isEmpty)
        // A failure reported for a change that no longer matters is ignored.
        t.failed(remove, at: t0 + 1)
        #expect(t.pendingRetries == 0)
    }

    @Test func replacingEverythingEndsTheRetries() {
        var t = RuleTable()
        t.failed(t.install(Self.deliver), at: t0)
        t.replaceAll(with: [Self.tunnel])
        #expect(t.pendingRetries == 0 && Array(t.rules) == [Self.tunnel])
    }
}
