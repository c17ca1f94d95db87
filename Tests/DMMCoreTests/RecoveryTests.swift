import DMMDataPlane
import DMMWire
import Testing

@testable import DMMCore

/// A MAR killed mid-session and started again: it reads back what it
/// anchored, the kernel keeps forwarding meanwhile, and afterwards it holds
/// exactly the rules it did before.
extension CallFlowTests {
    func states(_ tb: Testbed, _ mar: String) -> [IPv6Prefix: String] {
        Dictionary(uniqueKeysWithValues: tb.mars[mar]!.snapshot().anchored.map { ($0.prefix, $0.state) })
    }

    @Test func anAnchorRestartedMidSessionRestoresItsBindings() throws {
        var tb = Testbed()
        let away = try tb.startAway("MN1")
        let home = try tb.start("MN2", at: "MAR1")
        let released = try tb.start("MN3", at: "MAR1", flows: 0)
        tb.detach("MN3")
        tb.run(for: 0.1)
        let rulesBefore = Set(tb.network.routers["MAR1"]!.rules.rules)

        tb.restart("MAR1")
        // The old rules forward while it recovers.
        expectReachable(tb, "MN1", away, tunnel: ["MAR1 -> \(endpoint(2))"])
        tb.run(for: 0.1)
        #expect(tb.recovered["MAR1"] == 3)
        #expect(states(tb, "MAR1") == [
            away: "tunnelled to \(Testbed.marAddress(2))", home: "home on mn2-mar1", released: "hold-down",
        ])
        #expect(Set(tb.network.routers["MAR1"]!.rules.rules) == rulesBefore, "no rule lost, none left stale")
        expectReachable(tb, "MN1", away, tunnel: ["MAR1 -> \(endpoint(2))"])
        expectReachable(tb, "MN2", home)

        // The pool knows what is taken: a new node gets a prefix of its own.
        let fresh = try tb.start("MN4", at: "MAR1")
        #expect(![away, home, released].contains(fresh))
        // The binding is refreshed as before, and the next move takes it over.
        tb.run(for: 300)
        #expect(tb.mars["MAR1"]!.counters.rejected.isEmpty)
        expectReachable(tb, "MN1", away, tunnel: ["MAR1 -> \(endpoint(2))"])
        tb.move("MN1", to: "MAR3")
        expectReachable(tb, "MN1", away, tunnel: ["MAR1 -> \(endpoint(3))"])
        // The restored hold-down ran out: the prefix and its record are gone.
        #expect(tb.lms.store.record(for: released) == nil && tb.network.rules(mentioning: released).isEmpty)
    }

    /// A visited MAR restarted with its node still attached registers again.
    /// With sequence numbers its counter restarted, so the anchor refuses the
    /// first PBU with status 135 and its last accepted number, and the MAR
    /// continues after that number (RFC 6275 sections 9.5.1 and 11.7.1).
    @Test func aVisitedMARRestartedMidSessionRegistersAgain() throws {
        var tb = Testbed { $0.freshness = .sequenceNumbers }
        let hnp1 = try tb.startAway("MN1")
        let hnp2 = try #require(tb.preferred("MN1"))
        let before = tb.pbas(from: "MAR1").count

        tb.restart("MAR2")
        tb.flows("MN1", on: hnp1, 1)  // read from connection tracking at start
        tb.run(for: 0.1)
        let answers = tb.pbas(from: "MAR1").dropFirst(before).map(\.status)
        #expect(answers == [.sequenceNumberOutOfWindow, .accepted])
        #expect(tb.recovered["MAR2"] == 1)
        #expect(states(tb, "MAR2") == [hnp2: "home on mn1-mar2"])
        expectReachable(tb, "MN1", hnp1, tunnel: ["MAR1 -> \(endpoint(2))"])
        expectReachable(tb, "MN1", hnp2)
        #expect(tb.mars["MAR2"]!.snapshot().visiting.map(\.state) == ["registered"])
    }

    /// A PBU that reaches the anchor while it still reads its records is held
    /// back and answered once the binding is restored, not refused.
    @Test func aPBUDuringRecoveryWaitsForTheBinding() throws {
        var tb = Testbed()
        // Enough records for several pages, so reading them takes a while;
        // MN1's prefix comes last, on the last page.
        for i in 2...40 { _ = try tb.start("MN\(i)", at: "MAR1", flows: 1) }
        let hnp1 = try tb.startAway("MN1")

        tb.restart("MAR1")
        tb.move("MN1", to: "MAR3")
        // MAR2's deregistration as the node left it, and MAR3's PBU.
        #expect(tb.mars["MAR1"]!.counters.heldBack == 2)
        #expect(tb.recovered["MAR1"] == 40)
        #expect(tb.pbas(from: "MAR1").last?.status == .accepted && tb.mars["MAR1"]!.counters.rejected.isEmpty)
        expectReachable(tb, "MN1", hnp1, tunnel: ["MAR1 -> \(endpoint(3))"])
        expectReachable(tb, "MN2", try #require(tb.preferred("MN2")))
    }

    /// With no location server the MAR gives recovery up after the usual
    /// retransmissions and serves its nodes anyway.
    @Test func recoveryWithoutALocationServerGivesUp() throws {
        var tb = Testbed()
        tb.isolated = ["MAR1"]
        tb.restart("MAR1")
        tb.attach("MN1", to: "MAR1")
        tb.run(for: 130)
        #expect(tb.recovered["MAR1"] == 0)
        #expect(tb.preferred("MN1").map { Testbed.block(1).contains($0.address) } == true)
    }
}
