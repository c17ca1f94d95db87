import DMMWire
import Testing

@testable import DMMCore

/// Anchor switching on the tree (RFC 8818 sections 5.1 and 5.2, Figure 10),
/// the controller and an agent at every router over PFCP on a logical clock:
/// which routers get which entries and no others, the buffer at the old
/// serving router released only once the new path is acknowledged,
/// successive moves with two switched prefixes, the revert when the flows
/// end, and a router that stops answering.
///
/// The tree's links, in file order (`TopologyTests.tree`): 0 ar1-agg1,
/// 1 ar2-agg1, 2 ar3-agg2, 3 ar4-agg2, 4 agg1-border, 5 agg2-border,
/// 6 border-cn, 7 border-lms. A node's Nth link is its ethN; the first end
/// of a link is fe80::1 on it, the second fe80::2.
@Suite struct AnchorSwitchingTests {
    typealias T = PFCPTestbed
    static let link = LinkID("acc0")
    static let everyAgent = ["border", "agg1", "agg2", "ar1", "ar2", "ar3", "ar4"]

    static func forward(_ p: IPv6Prefix, _ interface: String, _ via: String) -> ForwardingRule {
        .forward(p, link: LinkID(interface: interface), via: IPv6Address(via)!)
    }

    /// The tree's agents associated, and a node attached at ar1 whose
    /// prefix carries a flow (or none).
    static func nodeAtAR1(buffering: Bool = true, flow: Bool = true) throws -> (PFCPTestbed, IPv6Prefix) {
        var tb = T(topology: try TopologyTests.tree(), buffering: buffering)
        tb.run(for: 0.5)
        #expect(tb.controller.associations.count == 7)
        let hnp1 = try #require(tb.attach("mn", at: "ar1").first?.prefix)
        if flow { tb.flows(hnp1, active: true) }
        tb.run(for: 0.5)
        #expect(tb.rules(at: "ar1") == [.deliver(hnp1, link: link)])
        return (tb, hnp1)
    }

    /// Figure 10: a prefix of ar1 switched to ar2. Under the same
    /// aggregation router the paths meet at agg1: agg1 and ar1 (whose own
    /// next hop was "here") change, nobody else.
    static func switchedToAR2(_ p: IPv6Prefix) -> [String: Set<ForwardingRule>] {
        ["ar2": [.deliver(p, link: link)], "agg1": [forward(p, "eth1", "fe80::1")], "ar1": [forward(p, "eth0", "fe80::2")]]
    }

    /// Rules about `prefix` at every agent that has any.
    static func entries(_ tb: PFCPTestbed, _ prefix: IPv6Prefix) -> [String: Set<ForwardingRule>] {
        var out: [String: Set<ForwardingRule>] = [:]
        for name in everyAgent {
            let rules = tb.rules(at: name).filter { $0.prefix == prefix }
            if !rules.isEmpty { out[name] = rules }
        }
        return out
    }

    /// The agents the controller sent a session request to since `mark`.
    static func contacted(_ tb: PFCPTestbed, since mark: Int) -> Set<String> {
        Set(tb.sent[mark...].filter { $0.from == "controller" && $0.message.type.isSessionMessage }.map(\.to))
    }

    @Test func figure10OnlyTheRoutersWhoseNextHopChangesAreUpdated() throws {
        var (tb, hnp1) = try Self.nodeAtAR1()
        let mark = tb.sent.count
        let advertised = tb.attach("mn", at: "ar2")
        tb.run(for: 0.5)
        // ar2 advertises the moved prefix, deprecated, beside its own.
        #expect(advertised.count == 2 && advertised[1] == LocationManagement.Advertisement(prefix: hnp1, preferred: false))
        #expect(T.block(2).contains(advertised[0].prefix) && advertised[0].preferred)
        #expect(Self.entries(tb, hnp1) == Self.switchedToAR2(hnp1))
        #expect(Self.contacted(tb, since: mark) == ["ar1", "ar2", "agg1"], "no message to border, agg2, ar3 or ar4")
        #expect(tb.controllerActions.contains(.placed(prefix: hnp1, at: T.address(2), by: .anchorSwitching)))
        // The location management has the prefix served where the node is.
        #expect(tb.location.attachments[MobileNodeID("mn")]?.agent == T.address(2))
        #expect(tb.location.nodes[MobileNodeID("mn")]?.first { $0.prefix == hnp1 }?.anchor == T.address(1))
    }

    /// The node leaves ar1 with a flow on its prefix: ar1 holds the
    /// prefix's packets from then on; the move to ar2 finds step 1 done and
    /// releases them into ar1's final route, and a return to the same link
    /// releases them into the delivery there. Under indirection, or with
    /// buffering off, leaving changes no rule.
    @Test func theServingRouterBuffersFromTheNodesDeparture() throws {
        var (tb, hnp1) = try Self.nodeAtAR1()
        tb.detach("mn", from: "ar1")
        tb.run(for: 0.5)
        #expect(Self.entries(tb, hnp1) == ["ar1": [.buffer(hnp1)]])
        let mark = tb.sent.count
        _ = tb.attach("mn", at: "ar2")
        tb.run(for: 0.5)
        #expect(Self.entries(tb, hnp1) == Self.switchedToAR2(hnp1))
        #expect(Self.contacted(tb, since: mark) == ["ar1", "ar2", "agg1"])
        // Leaving ar2 and coming back to it: ar2 buffers, then delivers again.
        tb.detach("mn", from: "ar2")
        tb.run(for: 0.5)
        #expect(Self.entries(tb, hnp1)["ar2"] == [.buffer(hnp1)])
        _ = tb.attach("mn", at: "ar2")
        tb.run(for: 0.5)
        #expect(Self.entries(tb, hnp1) == Self.switchedToAR2(hnp1))

        var (plain, p) = try Self.nodeAtAR1(buffering: false)
        plain.detach("mn", from: "ar1")
        plain.run(for: 0.5)
        #expect(Self.entries(plain, p) == ["ar1": [.deliver(p, link: Self.link)]])
    }

    /// A prefix with no flow counted that the node lists as a previous one
    /// (I-D.jhlee-dmm-dnpp) is switched like one with flows, after it was
    /// released when the node left ar1.
    @Test func aListedPrefixIsSwitchedWithoutCountedFlows() throws {
        var (tb, hnp1) = try Self.nodeAtAR1(flow: false)
        tb.detach("mn", from: "ar1")
        tb.run(for: 0.5)
        #expect(Self.entries(tb, hnp1).isEmpty)
        let advertised = tb.attach("mn", at: "ar2", previous: [hnp1])
        tb.run(for: 0.5)
        #expect(advertised.count == 2 && advertised[1] == LocationManagement.Advertisement(prefix: hnp1, preferred: false))
        #expect(Self.entries(tb, hnp1) == Self.switchedToAR2(hnp1))
    }

    @Test func theOldServingRouterBuffersUntilTheNewPathIsAcknowledged() throws {
        var (tb, hnp1) = try Self.nodeAtAR1()
        let mark = tb.sent.count
        tb.dropNext(from: "agg1")  // agg1's answer is lost: the controller sends again after T1
        _ = tb.attach("mn", at: "ar2")
        // FM-buffer:1: the first request of the move tells ar1 to buffer, with the session's BAR.
        let first = try #require(tb.sent[mark...].first { $0.from == "controller" })
        #expect(first.to == "ar1")
        #expect(first.message.updateFAR.first?.applyAction == .buffer || first.message.createFAR.first?.applyAction == .buffer)
        #expect(first.message.createBAR == PFCPRuleMapping.bar)
        tb.run(for: 0.05)
        #expect(tb.rules(at: "ar1") == [.buffer(hnp1)])
        #expect(Self.entries(tb, hnp1)["ar2"] == [.deliver(hnp1, link: Self.link)])
        #expect(tb.rules(at: "agg1") == [Self.forward(hnp1, "eth1", "fe80::1")], "installed, its answer lost")
        tb.run(for: 0.5)
        // FM-buffer:2: released into forwarding toward ar2 only after agg1's answer came.
        #expect(tb.rules(at: "ar1") == [Self.forward(hnp1, "eth0", "fe80::2")])
        let release = try #require(tb.sent.lastIndex { $0.from == "controller" && $0.to == "ar1" })
        let agg1Answers = tb.sent.indices.filter { tb.sent[$0].from == "agg1" && tb.sent[$0].message.type == .sessionEstablishmentResponse }
        #expect(agg1Answers.count == 2 && agg1Answers.allSatisfy { $0 < release }, "the release follows agg1's answer to the request sent again")
        #expect(tb.sent[release].message.removeBAR != nil, "the BAR goes with the buffer")
    }

    /// A controller that dies between steps 2 and 3 of a move: restarted
    /// from its store, it places the prefix again, and the buffering
    /// router gets its final entry, which releases what it held.
    @Test func aControllerRestartedMidMoveFinishesIt() throws {
        var (tb, hnp1) = try Self.nodeAtAR1()
        tb.isolated = ["agg1"]  // agg1's answer does not come: the move waits at step 2
        _ = tb.attach("mn", at: "ar2")
        tb.run(for: 0.05)
        #expect(tb.rules(at: "ar1") == [.buffer(hnp1)])
        tb.restartController()
        tb.isolated = []
        tb.location.placeAgain(controller: &tb.controller, now: tb.now)
        tb.collect()
        tb.run(for: 1)
        #expect(Self.entries(tb, hnp1) == Self.switchedToAR2(hnp1))
        #expect(tb.controller.sessions.values.allSatisfy { $0.isProgrammed })
    }

    @Test func withoutBufferingTheOldRouterForwardsAtOnce() throws {
        var (tb, hnp1) = try Self.nodeAtAR1(buffering: false)
        _ = tb.attach("mn", at: "ar2")
        tb.run(for: 0.5)
        #expect(!tb.agentActions["ar1"]!.contains(.install(.buffer(hnp1))))
        #expect(tb.rules(at: "ar1") == [Self.forward(hnp1, "eth0", "fe80::2")])
    }

    @Test func successiveMovesWithTwoSwitchedPrefixesAndBackHome() throws {
        var (tb, hnp1) = try Self.nodeAtAR1()
        let hnp2 = try #require(tb.attach("mn", at: "ar2").first?.prefix)
        tb.flows(hnp2, active: true)
        tb.run(for: 0.5)
        #expect(Self.entries(tb, hnp2) == ["ar2": [.deliver(hnp2, link: Self.link)]], "at its anchor, a prefix needs no host route")

        // To ar3, under the other aggregation router: both prefixes are switched there.
        let mark = tb.sent.count
        _ = tb.attach("mn", at: "ar3")
        tb.run(for: 0.5)
        #expect(Self.entries(tb, hnp1) == [
            "ar3": [.deliver(hnp1, link: Self.link)],
            "agg2": [Self.forward(hnp1, "eth0", "fe80::1")],
            "border": [Self.forward(hnp1, "eth1", "fe80::1")],
            "agg1": [Self.forward(hnp1, "eth2", "fe80::2")],
            "ar1": [Self.forward(hnp1, "eth0", "fe80::2")],
        ])
        #expect(Self.entries(tb, hnp2) == [
            "ar3": [.deliver(hnp2, link: Self.link)],
            "agg2": [Self.forward(hnp2, "eth0", "fe80::1")],
            "border": [Self.forward(hnp2, "eth1", "fe80::1")],
            "agg1": [Self.forward(hnp2, "eth2", "fe80::2")],
            "ar2": [Self.forward(hnp2, "eth0", "fe80::2")],
        ])
        // ar1's entry for the first prefix was right already: not touched.
        #expect(!Self.contacted(tb, since: mark).contains("ar1"))
        #expect(!Self.contacted(tb, since: mark).contains("ar4"))

        // Back at ar1: the first prefix is home (no entry anywhere else),
        // the second switched to ar1 through agg1.
        _ = tb.attach("mn", at: "ar1")
        tb.run(for: 0.5)
        #expect(Self.entries(tb, hnp1) == ["ar1": [.deliver(hnp1, link: Self.link)]])
        #expect(Self.entries(tb, hnp2) == [
            "ar1": [.deliver(hnp2, link: Self.link)],
            "agg1": [Self.forward(hnp2, "eth0", "fe80::1")],
            "ar2": [Self.forward(hnp2, "eth0", "fe80::2")],
        ])
        #expect(tb.controller.sessions.values.allSatisfy { $0.isProgrammed })
    }

    @Test func whenTheFlowsEndThePrefixGoesHomeAndNoHostRouteRemains() throws {
        var (tb, hnp1) = try Self.nodeAtAR1()
        let hnp2 = try #require(tb.attach("mn", at: "ar2").first?.prefix)
        tb.run(for: 0.5)
        #expect(Self.entries(tb, hnp1).count == 3)
        tb.flows(hnp1, active: false)
        tb.run(for: 0.5)
        // FM-path-tbl:7: every entry that moved it is gone, at every router.
        #expect(Self.entries(tb, hnp1).isEmpty)
        #expect(!tb.controller.sessions.values.contains { $0.prefix == hnp1 })
        #expect(tb.location.holding.map(\.prefix) == [hnp1] && tb.location.holding[0].anchor == T.address(1), "back to ar1's pool after the hold-down")
        #expect(Self.entries(tb, hnp2) == ["ar2": [.deliver(hnp2, link: Self.link)]])
    }

    /// GL-switch:3 and 4: an access router advertises a moved prefix only
    /// because the controller moved it there; one without flows is not moved.
    @Test func onlyAPrefixTheControllerMovesIsAdvertisedAtTheNewRouter() throws {
        var (tb, idle) = try Self.nodeAtAR1(flow: false)
        let advertised = tb.attach("mn", at: "ar2")
        tb.run(for: 0.5)
        #expect(advertised.count == 1 && advertised[0].preferred && T.block(2).contains(advertised[0].prefix))
        #expect(Self.entries(tb, idle).isEmpty, "nothing moved it")
        #expect(!tb.controllerActions.contains { if case .placed(idle, _, _) = $0 { true } else { false } })
    }

    @Test func aRouterThatDoesNotAnswerTurnsTheMoveIntoIndirection() throws {
        var (tb, hnp1) = try Self.nodeAtAR1()
        tb.isolated = ["agg1"]
        _ = tb.attach("mn", at: "ar2")
        tb.run(for: 1)
        // agg1 never answered (T1 0.1 s, N1 2): the move completed by
        // indirection, and says so.
        #expect(tb.controller.associations[T.address(2, router: "agg1")]?.status == .down)
        #expect(tb.controllerActions.contains(.placed(prefix: hnp1, at: T.address(2), by: .anchorSwitching)))
        #expect(tb.controllerActions.last { if case .placed = $0 { true } else { false } }
                == .placed(prefix: hnp1, at: T.address(2), by: .indirection))
        #expect(tb.controller.counters.switchesByIndirection == 1)
        #expect(tb.rules(at: "ar1") == [.encapsulate(hnp1, endpoint: T.address(2), mode: .ipv6InIPv6)])
        #expect(Self.entries(tb, hnp1)["ar2"] == [.deliver(hnp1, link: Self.link)])

        // A move that needs a router known to be down goes by indirection at once.
        _ = tb.attach("mn", at: "ar3")
        tb.run(for: 0.5)
        #expect(tb.controllerActions.last { if case .placed = $0 { true } else { false } }
                == .placed(prefix: hnp1, at: T.address(3), by: .indirection))
        #expect(tb.rules(at: "ar1") == [.encapsulate(hnp1, endpoint: T.address(3), mode: .ipv6InIPv6)])
        #expect(Self.entries(tb, hnp1)["ar2"] == nil)
    }

    /// A node attaching at an access router that is down is anchored at
    /// another access router, never at a router between them: those
    /// registered no prefixes, and handing one out of no pool stopped the
    /// controller.
    @Test func aNodeAtAnAccessRouterThatIsDownIsAnchoredAtAnotherAccessRouter() throws {
        var tb = T(topology: try TopologyTests.tree())
        tb.run(for: 0.5)
        tb.isolated = ["ar1"]
        tb.run(for: 3)  // its heartbeats unanswered: marked down
        #expect(tb.controller.associations[tb.addresses["ar1"]!]?.status == .down)
        let p = try #require(tb.attach("mn", at: "ar1").first?.prefix)
        #expect(tb.controller.anchor(of: p).map(tb.name(of:)) == "ar2", "the least loaded access router up, lowest address first")
        #expect(Self.everyAgent.filter { !$0.hasPrefix("ar") }.allSatisfy { !tb.controller.canAnchor(at: tb.addresses[$0]!) })
    }
}

extension PFCPTestbed {
    /// A router's address in the tree's plan (2001:db8:fffe::K for the Kth router).
    static func address(_ k: Int, router: String) -> IPv6Address { IPv6Address("2001:db8:fffe::\(k)")! }
}
