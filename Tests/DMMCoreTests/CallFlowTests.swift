import DMMDataPlane
import DMMWire
import Testing

@testable import DMMCore

/// Every call flow of the specifications, one test each, tracing packets in
/// the network model after every step.
struct CallFlowTests {
    /// Both directions deliver; `tunnels` is the tunnel the downlink takes.
    func expectReachable(_ tb: Testbed, _ node: String, _ prefix: IPv6Prefix, cn: String = "CN1", tunnel: [String] = [],
                         sourceLocation: SourceLocation = #_sourceLocation) {
        let t = tb.traces(node, prefix, cn: cn)
        #expect(t.down.outcome == .delivered(to: node), "down \(prefix): \(t.down)", sourceLocation: sourceLocation)
        #expect(t.up.outcome == .delivered(to: cn), "up \(prefix): \(t.up)", sourceLocation: sourceLocation)
        #expect(t.down.tunnels == tunnel, "down \(prefix): \(t.down)", sourceLocation: sourceLocation)
    }

    func endpoint(_ i: Int) -> String { Testbed.marAddress(i).description }

    /// seite Figure 5, steps 1 to 6.
    @Test func seiteFigure5HandoverWithDistributedAnchoring() throws {
        var tb = Testbed()
        // (1) MN1 attaches to MAR1, which assigns and advertises HNP1 and records the session.
        tb.attach("MN1", to: "MAR1")
        tb.run(for: 0.1)
        let hnp1 = try #require(tb.preferred("MN1"))
        #expect(Testbed.block(1).contains(hnp1.address))
        #expect(tb.lms.store.record(for: hnp1)?.anchor == Testbed.marAddress(1))
        // (2) flow#1 with CN1 on HNP1, routed normally: no mobility state at all.
        tb.flows("MN1", on: hnp1, 1)
        expectReachable(tb, "MN1", hnp1)
        #expect(tb.pbus().isEmpty)
        // (3) handover to MAR2: it allocates HNP2, finds HNP1 at MAR1 in the database, and PBU/PBA.
        tb.move("MN1", to: "MAR2")
        let pbu = try #require(tb.pbus(from: "MAR2", to: "MAR1").first)
        #expect(pbu.flags.contains(.proxyRegistration) && pbu.options.contains(.homeNetworkPrefix(hnp1)))
        #expect(tb.pbas(from: "MAR1").first?.status == .accepted)
        // (4) the RA: HNP2 preferred for new flows, HNP1 deprecated.
        let hnp2 = try #require(tb.preferred("MN1"))
        #expect(Testbed.block(2).contains(hnp2.address))
        #expect(tb.prefixes(of: "MN1")[hnp1] == false)
        // (5) MAR1 tunnels flow#1 to MAR2.
        expectReachable(tb, "MN1", hnp1, tunnel: ["MAR1 -> \(endpoint(2))"])
        // (6) flow#2 with CN2 on HNP2 is routed normally.
        expectReachable(tb, "MN1", hnp2, cn: "CN2")
        #expect(tb.established.count == 1 && tb.established[0].prefix == hnp1)
        // The database says where HNP1 is served, and until when.
        let record = try #require(tb.lms.store.record(for: hnp1))
        #expect(record.anchor == Testbed.marAddress(1) && record.serving == Testbed.marAddress(2) && record.active)
        #expect(record.expires.map { $0 > tb.now + 290 } == true)
    }

    /// seite Figure 4: MAR1 to MAR2 to MAR3 with flows on HNP1 and HNP2; two
    /// anchors serve one node; the tunnel end moves from MAR2 to MAR3.
    @Test func seiteFigure4TwoAnchorsServeOneNode() throws {
        var tb = Testbed()
        let hnp1 = try tb.start("MN1", at: "MAR1")  // flow#1
        tb.move("MN1", to: "MAR2")
        let hnp2 = try #require(tb.preferred("MN1"))
        tb.flows("MN1", on: hnp1, 1)
        tb.flows("MN1", on: hnp2, 1)  // flow#2
        expectReachable(tb, "MN1", hnp1, tunnel: ["MAR1 -> \(endpoint(2))"])
        expectReachable(tb, "MN1", hnp2)
        tb.move("MN1", to: "MAR3")
        let hnp3 = try #require(tb.preferred("MN1"))
        #expect(Testbed.block(3).contains(hnp3.address))
        // MAR1's tunnel end moved from MAR2 to MAR3; MAR2 anchors HNP2 toward MAR3.
        expectReachable(tb, "MN1", hnp1, tunnel: ["MAR1 -> \(endpoint(3))"])
        expectReachable(tb, "MN1", hnp2, cn: "CN2", tunnel: ["MAR2 -> \(endpoint(3))"])
        // flow#3 on HNP3 is routed normally.
        expectReachable(tb, "MN1", hnp3, cn: "CN2")
        // The old visited MAR removed its far end for HNP1: only the anchor and MAR3 mention it.
        #expect(tb.network.rules(mentioning: hnp1) == [
            "MAR1: encapsulate \(hnp1) toward \(endpoint(3)) (ipv6-in-ipv6)", "MAR3: deliver \(hnp1) on mn1-mar3",
        ])
        #expect(tb.prefixes(of: "MN1")[hnp1] == false && tb.prefixes(of: "MN1")[hnp2] == false)
    }

    /// RFC 8818 Figure 6: the flow ended before the move, so there is no
    /// mobility support at all: no PBU, no tunnel, IP1 withdrawn and released.
    @Test func rfc8818Figure6FlowEndedBeforeTheMove() throws {
        var tb = Testbed()
        let ip1 = try tb.start("MN1", at: "MAR1")
        expectReachable(tb, "MN1", ip1)
        tb.flows("MN1", on: ip1, 0)
        tb.move("MN1", to: "MAR2")
        let ip2 = try #require(tb.preferred("MN1"))
        #expect(tb.pbus().isEmpty)
        #expect(tb.network.rules(mentioning: ip1).isEmpty)
        #expect(tb.lms.store.record(for: ip1)?.active == false)
        #expect(tb.prefixes(of: "MN1")[ip1] == nil, "MAR2 withdrew the idle IP1")
        expectReachable(tb, "MN1", ip2)
        // Packets for IP1 now stop at MAR1, which no longer routes it.
        #expect(tb.traces("MN1", ip1).down.outcome == .blackHole(at: "MAR1", reason: "unreachable: \(Testbed.address(in: ip1)) is in \(Testbed.block(1))"))
        // After the hold-down the prefix is back in MAR1's pool.
        #expect(tb.mars["MAR1"]!.pool.assignedCount == 1)
        tb.run(for: 11)
        #expect(tb.mars["MAR1"]!.pool.assignedCount == 0)
        #expect(tb.lms.store.record(for: ip1) == nil)
    }

    /// RFC 8818 Figure 7: the flow continues on IP1 after the move; new flows
    /// use IP2; when the IP1 flow ends, IP1 is released everywhere.
    @Test func rfc8818Figure7FlowContinuesThenIP1IsReleased() throws {
        var tb = Testbed()
        let ip1 = try tb.start("MN1", at: "MAR1")
        tb.move("MN1", to: "MAR2")
        let ip2 = try #require(tb.preferred("MN1"))
        tb.flows("MN1", on: ip1, 1)
        expectReachable(tb, "MN1", ip1, tunnel: ["MAR1 -> \(endpoint(2))"])
        tb.flows("MN1", on: ip2, 1)
        expectReachable(tb, "MN1", ip2)
        // Flow(IP1) terminates; the release follows the idle grace.
        tb.flows("MN1", on: ip1, 0)
        tb.run(for: 4.9)
        #expect(tb.pbus(from: "MAR2").count == 1)
        tb.run(for: 0.2)
        let dereg = try #require(tb.pbus(from: "MAR2", to: "MAR1").last)
        #expect(dereg.lifetime == 0)
        #expect(tb.pbas(from: "MAR1").last?.status == .accepted)
        #expect(tb.network.rules(mentioning: ip1).isEmpty)
        #expect(tb.prefixes(of: "MN1")[ip1] == nil, "an RA with valid lifetime 0 removed IP1")
        #expect(tb.lms.store.record(for: ip1)?.active == false)
        #expect(tb.mars["MAR1"]!.anchored[ip1]?.state == .holdDown)
        tb.run(for: 11)
        #expect(tb.mars["MAR1"]!.anchored[ip1] == nil && tb.mars["MAR1"]!.pool.assignedCount == 0)
        #expect(tb.lms.store.record(for: ip1) == nil)
        // The new flow on IP2 is untouched.
        expectReachable(tb, "MN1", ip2)
        #expect(tb.preferred("MN1") == ip2)
    }

    /// Back at MAR1 after MAR2: HNP1 is delivered natively and preferred again;
    /// MAR2's idle HNP2 is released and withdrawn.
    @Test func returnHome() throws {
        var tb = Testbed()
        let hnp1 = try tb.start("MN1", at: "MAR1")
        tb.move("MN1", to: "MAR2")
        let hnp2 = try #require(tb.preferred("MN1"))
        tb.flows("MN1", on: hnp1, 1)
        tb.move("MN1", to: "MAR1")
        #expect(tb.preferred("MN1") == hnp1)
        #expect(tb.prefixes(of: "MN1")[hnp2] == nil)
        expectReachable(tb, "MN1", hnp1)
        #expect(tb.network.rules(mentioning: hnp1) == ["MAR1: deliver \(hnp1) on mn1-mar1"])
        #expect(tb.network.rules(mentioning: hnp2).isEmpty)
        #expect(tb.lms.store.record(for: hnp1)?.serving == Testbed.marAddress(1))
        // Only the one binding of the first move was ever made; MAR2
        // deregistered it as the node left.
        #expect(tb.pbus().map(\.lifetime) == [75, 0])
    }

    /// A node reported attached twice on the same link (its Router
    /// Solicitation and the link coming up both name it) is one attachment:
    /// it keeps its prefix.
    @Test func anAttachmentReportedTwiceIsOne() throws {
        var tb = Testbed()
        let hnp1 = try tb.start("MN1", at: "MAR1", flows: 0)
        tb.attach("MN1", to: "MAR1")
        tb.run(for: 0.1)
        #expect(tb.preferred("MN1") == hnp1 && tb.mars["MAR1"]!.counters.attachments == 1)
        expectReachable(tb, "MN1", hnp1)
    }

    /// The first PBU is lost: it goes again after INITIAL_BINDACK_TIMEOUT, and
    /// the binding is made; meanwhile the far end was ready.
    @Test func lostPBUIsRetransmitted() throws {
        var tb = Testbed()
        let hnp1 = try tb.start("MN1", at: "MAR1")
        tb.dropPBUs = 1
        tb.move("MN1", to: "MAR2", settle: 0.5)
        #expect(tb.pbas().isEmpty)
        #expect(!tb.traces("MN1", hnp1).down.delivered)
        tb.run(for: 1)
        let pbus = tb.pbus(from: "MAR2")
        #expect(pbus.count == 2 && pbus[1].sequence != pbus[0].sequence)
        #expect(tb.mars["MAR2"]!.counters.retransmissions == 1)
        expectReachable(tb, "MN1", hnp1, tunnel: ["MAR1 -> \(endpoint(2))"])
        #expect(tb.established.count == 1 && tb.established[0].signalling.seconds > 1)
    }

    /// Without a PBA at all, the timeout doubles up to MAX_BINDACK_TIMEOUT and
    /// the visited MAR gives the prefix up, leaving no rule behind.
    @Test func unansweredPBUsAreGivenUp() throws {
        var tb = Testbed()
        let hnp1 = try tb.start("MN1", at: "MAR1")
        tb.isolated = ["MAR1"]
        tb.move("MN1", to: "MAR2")
        tb.flows("MN1", on: hnp1, 1)
        tb.run(for: 100)
        // Sent at 0, 1, 3, 7, 15 and 31 s, the timeout doubling from 1 s;
        // at 63 s the next timeout, 64 s, is past MAX_BINDACK_TIMEOUT.
        #expect(tb.pbus(from: "MAR2").count == 6)
        #expect(tb.network.rules(mentioning: hnp1).filter { $0.hasPrefix("MAR2") }.isEmpty)
        #expect(tb.prefixes(of: "MN1")[hnp1] == nil)
    }

    /// The anchor's binding lapses when the visited MAR stops refreshing; it
    /// is kept as long as refreshes come.
    @Test func bindingLifetimeRefreshAndExpiry() throws {
        var tb = Testbed { $0.bindingLifetime = 40 }
        let hnp1 = try tb.startAway("MN1")
        tb.run(for: 100)
        #expect(tb.pbus(from: "MAR2").count == 4, "refreshed every 32 s, at 80% of 40 s")
        expectReachable(tb, "MN1", hnp1, tunnel: ["MAR1 -> \(endpoint(2))"])
        tb.isolated = ["MAR2"]
        tb.run(for: 41)
        #expect(tb.network.rules(mentioning: hnp1).filter { $0.hasPrefix("MAR1") }.isEmpty)
        #expect(tb.mars["MAR1"]!.anchored[hnp1]?.state == .holdDown)
    }

    /// A node that never moves gets no binding and no tunnel, however long it stays.
    @Test func aNodeThatNeverMovesNeverSignals() throws {
        var tb = Testbed()
        let hnp1 = try tb.start("MN1", at: "MAR1", flows: 3)
        tb.run(for: 3600)
        #expect(tb.pbus().isEmpty)
        #expect(tb.network.rules(mentioning: hnp1) == ["MAR1: deliver \(hnp1) on mn1-mar1"])
        expectReachable(tb, "MN1", hnp1)
    }

    /// Tunnels end at SIDs apart from the signalling addresses (as on Linux,
    /// where a local address cannot carry the decapsulation route).
    @Test func tunnelsEndAtSeparateEndpoints() throws {
        var tb = Testbed(separateEndpoints: true) { $0.uplink = .reverseTunnel }
        let hnp1 = try tb.start("MN1", at: "MAR1")
        tb.move("MN1", to: "MAR2")
        expectReachable(tb, "MN1", hnp1, tunnel: ["MAR1 -> \(Testbed.sid(2))"])
        #expect(tb.traces("MN1", hnp1).up.tunnels == ["MAR2 -> \(Testbed.sid(1))"])
        #expect(tb.network.rules(mentioning: hnp1).contains("MAR1: encapsulate \(hnp1) toward \(Testbed.sid(2)) (ipv6-in-ipv6)"))
    }

    /// The node leaves its visited MAR for nowhere: the MAR deregisters
    /// (handoff state unknown), the anchor stops tunnelling at once so
    /// downlink packets end at the anchor instead of going round, waits
    /// MinDelayBeforeBCEDelete for a next MAR, then releases the prefix.
    @Test func aNodeThatLeavesForNowhereIsDeregistered() throws {
        var tb = Testbed()
        let hnp1 = try tb.startAway("MN1")
        tb.detach("MN1")
        tb.run(for: 0.1)
        let dereg = try #require(tb.pbus(from: "MAR2", to: "MAR1").last)
        #expect(dereg.lifetime == 0 && dereg.options.contains(.handoffIndicator(.handoffStateUnknown)))
        #expect(tb.pbas(from: "MAR1").last?.status == .accepted)
        #expect(tb.network.rules(mentioning: hnp1).isEmpty, "no tunnel and no far end")
        #expect(states(tb, "MAR1")[hnp1] == "left, waiting for a PBU")
        #expect(tb.network.trace(fromHost: "CN1", to: Testbed.address(in: hnp1)).outcome
                == .blackHole(at: "MAR1", reason: "unreachable: \(Testbed.address(in: hnp1)) is in \(Testbed.block(1))"))
        tb.run(for: 10)
        #expect(states(tb, "MAR1")[hnp1] == "hold-down")
    }

    /// The node shows up at a third MAR within the wait: its PBU takes the
    /// binding over as at any handover, and a deregistration from the MAR it
    /// left that arrives late changes nothing.
    @Test func aNodeThatLeavesAndReappearsKeepsItsPrefix() throws {
        var tb = Testbed()
        let hnp1 = try tb.startAway("MN1")
        tb.detach("MN1")
        tb.run(for: 3)
        tb.attach("MN1", to: "MAR3")
        tb.run(for: 0.1)
        expectReachable(tb, "MN1", hnp1, tunnel: ["MAR1 -> \(endpoint(3))"])
        let late = BindingUpdateCheckTests.pbu(hnp1, timestamp: tb.now, lifetime: 0)
        #expect(try BindingUpdateCheckTests.answer(&tb, late, from: Testbed.marAddress(2)).status == .accepted)
        expectReachable(tb, "MN1", hnp1, tunnel: ["MAR1 -> \(endpoint(3))"])
    }

    /// With End.DX6 each binding has a SID of its own in the visited MAR's
    /// locator, which the visited MAR cross-connects to the node's link; it
    /// goes with the binding.
    @Test func endDX6GivesEachBindingItsOwnSID() throws {
        var tb = Testbed(separateEndpoints: true) { $0.decapsulation = .endDX6 }
        let hnp1 = try tb.start("MN1", at: "MAR1")
        tb.move("MN1", to: "MAR2")
        let hnp2 = try #require(tb.preferred("MN1"))
        tb.flows("MN1", on: hnp2, 1)
        func sid(_ mar: Int, _ p: IPv6Prefix) -> IPv6Address { IPv6Address(high: Testbed.sid(mar).high, low: p.address.high) }
        #expect(sid(2, hnp1).description == "fc00:2::2001:db8:1:0")
        expectReachable(tb, "MN1", hnp1, tunnel: ["MAR1 -> \(sid(2, hnp1))"])
        #expect(tb.network.rules(mentioning: hnp1) == ["MAR1: encapsulate \(hnp1) toward \(sid(2, hnp1)) (ipv6-in-ipv6)",
                                                       "MAR2: deliver \(hnp1) on mn1-mar2"])
        #expect(tb.network.routers["MAR2"]!.rules[.decapsulation(sid(2, hnp1))] == .crossConnect(endpoint: sid(2, hnp1), link: "mn1-mar2"))
        tb.move("MN1", to: "MAR3")
        expectReachable(tb, "MN1", hnp1, tunnel: ["MAR1 -> \(sid(3, hnp1))"])
        expectReachable(tb, "MN1", hnp2, cn: "CN2", tunnel: ["MAR2 -> \(sid(3, hnp2))"])
        #expect(tb.network.routers["MAR2"]!.rules[.decapsulation(sid(2, hnp1))] == nil, "the old binding's SID went with it")
        #expect(tb.network.routers["MAR2"]!.rules[.route(IPv6Prefix("fc00:2::/64")!)] == .unreachable(IPv6Prefix("fc00:2::/64")!),
                "packets for it are refused in the locator")
    }

    /// With reverse tunnelling the uplink goes back through the anchor too.
    @Test func reverseTunnelledUplink() throws {
        var tb = Testbed { $0.uplink = .reverseTunnel }
        let hnp1 = try tb.start("MN1", at: "MAR1")
        tb.move("MN1", to: "MAR2")
        let up = tb.traces("MN1", hnp1).up
        #expect(up.outcome == .delivered(to: "CN1") && up.tunnels == ["MAR2 -> \(endpoint(1))"])
        // No flow is ever reported at MAR2: released after the idle grace.
        tb.run(for: 5)
        #expect(tb.network.rules(mentioning: hnp1).isEmpty)
    }
}
