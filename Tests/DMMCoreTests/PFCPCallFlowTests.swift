import DMMWire
import Testing

@testable import DMMCore

/// The central controller and its agents over PFCP, on a logical clock
/// (RFC 8818 section 3.1.1 with LM and FM-CP centralized): registration and
/// discovery, indirection pushed as sessions, restarts of either side,
/// liveness and load, and hostile messages at both ends.
@Suite struct PFCPCallFlowTests {
    typealias T = PFCPTestbed
    static let prefix = IPv6Prefix("2001:db8:1:5::/64")!
    static func link(_ agent: String) -> LinkID { LinkID(interface: "\(agent)-n1") }

    /// One agent, ar1, waiting `resynchronization` for sessions pushed
    /// again after an association (at most `limit`), started and associated.
    static func oneAgent(resynchronization: Seconds, limit: Seconds? = nil) -> PFCPTestbed {
        var tb = PFCPTestbed(agents: 1)
        tb.agentConfigs["ar1"]!.resynchronization = resynchronization
        if let limit { tb.agentConfigs["ar1"]!.resynchronizationLimit = limit }
        tb.startAgent("ar1")
        tb.run(for: 0.5)
        return tb
    }

    /// Up and associated, with the node of `prefix` at ar1 and moved to ar2.
    static func movedToAR2() -> PFCPTestbed {
        var tb = T()
        tb.run(for: 0.5)
        tb.place(prefix, anchor: "ar1", serving: "ar2")
        tb.run(for: 0.5)
        return tb
    }

    /// Up and associated, with a node attached at ar1 whose prefix, of
    /// ar1's pool, carries a flow.
    static func nodeWithAFlowAtAR1(buffering: Bool = true) throws -> (PFCPTestbed, IPv6Prefix) {
        var tb = T(buffering: buffering)
        tb.run(for: 0.5)
        let p = try #require(tb.attach("mn", at: "ar1").first?.prefix)
        tb.flows(p, active: true)
        tb.run(for: 0.5)
        #expect(tb.rules(at: "ar1") == [.deliver(p, link: "acc0")])
        return (tb, p)
    }

    @Test func agentsRegisterTheirPoolsAndAnchorsAreFoundByPrefix() {
        var tb = T()
        tb.run(for: 0.5)
        for i in 1...3 {
            let a = tb.controller.associations[T.address(i)]
            #expect(a?.status == .up)
            #expect(a?.pools == [PFCPPoolInformation(identity: "ar\(i)", prefixes: [T.block(i)])])
            #expect(tb.agents["ar\(i)"]!.isAssociated)
        }
        // FM-find:2: the answer echoes what the agent registered.
        let setups = tb.messages(.associationSetupResponse)
        #expect(setups.count == 3 && setups.allSatisfy { $0.cause == .requestAccepted && $0.poolInformation.count == 1 })
        // FM-find:3 and 4.
        #expect(tb.controller.anchor(of: IPv6Prefix("2001:db8:2:7::/64")!) == T.address(2))
        #expect(tb.controller.anchor(of: IPv6Prefix("2001:db8:3::/48")!) == T.address(3))
        #expect(tb.controller.anchor(of: IPv6Prefix("2001:db8:4:1::/64")!) == nil)
        #expect(tb.controller.anchor(of: IPv6Prefix("2001:db8::/32")!) == nil)
    }

    /// Without buffering, so that each move is one request per agent.
    @Test func aMoveWithIndirectionIsPushedAsSessions() throws {
        var tb = T(buffering: false)
        tb.run(for: 0.5)
        let p = Self.prefix
        // The node at its anchor: one session, at the anchor, nothing elsewhere.
        tb.place(p, anchor: "ar1", serving: "ar1")
        tb.run(for: 0.5)
        #expect(tb.rules(at: "ar1") == [.deliver(p, link: Self.link("ar1"))])
        #expect(tb.rules(at: "ar2").isEmpty && tb.rules(at: "ar3").isEmpty)
        #expect(tb.controller.sessions.count == 1)

        // To ar2: the anchor's delivery becomes a tunnel by its FAR alone
        // (written anew: an Update FAR cannot take the access link away);
        // ar2 gets a session.
        var mark = tb.sent.count
        tb.place(p, anchor: "ar1", serving: "ar2")
        tb.run(for: 0.5)
        #expect(tb.rules(at: "ar1") == [.encapsulate(p, endpoint: T.address(2), mode: .ipv6InIPv6)])
        #expect(tb.rules(at: "ar2") == [.deliver(p, link: Self.link("ar2")),
                                        .reverseTunnel(from: p, link: Self.link("ar2"), endpoint: T.address(1), mode: .ipv6InIPv6)])
        let modification = try #require(tb.messages(.sessionModificationRequest, from: mark).first)
        #expect(modification.removeFAR.map(\.id) == [1] && modification.createFAR.map(\.id) == [1] && modification.updateFAR.isEmpty
                && modification.createPDR.isEmpty && modification.removePDR.isEmpty && modification.updatePDR.isEmpty)
        #expect(modification.createFAR[0].forwarding?.outerHeaderCreation == .ipv6(toward: T.address(2)))
        #expect(modification.createFAR[0].forwarding?.networkInstance == nil)
        let establishment = try #require(tb.messages(.sessionEstablishmentRequest, from: mark).first)
        // ar2 does not anchor the prefix: its packets come out of a tunnel.
        #expect(establishment.createPDR.first { $0.pdi?.sourceInterface == .core }?.outerHeaderRemoval == .ipv6)
        // Accepted, with the agent's F-SEID and no Created PDR (the agent
        // allocates no F-TEID or UE IP address; TS 29.244 table 7.5.3.1-1).
        #expect(tb.messages(.sessionEstablishmentResponse, from: mark).allSatisfy {
            $0.cause == .requestAccepted && $0.fSEID?.ipv6 == T.address(2) && $0.createdPDR.isEmpty
        })

        // On to ar3: the tunnel follows, ar2's session is deleted.
        mark = tb.sent.count
        tb.place(p, anchor: "ar1", serving: "ar3")
        tb.run(for: 0.5)
        #expect(tb.rules(at: "ar1") == [.encapsulate(p, endpoint: T.address(3), mode: .ipv6InIPv6)])
        #expect(tb.rules(at: "ar2").isEmpty)
        #expect(tb.rules(at: "ar3").count == 2)
        #expect(tb.messages(.sessionDeletionRequest, from: mark).count == 1)
        #expect(tb.agents["ar2"]!.sessionCount == 0)
        // The tunnel's far end moves by an Update FAR alone.
        let move = try #require(tb.messages(.sessionModificationRequest, from: mark).first)
        #expect(move.updateFAR.map(\.id) == [1] && move.removeFAR.isEmpty && move.createFAR.isEmpty)
        #expect(move.updateFAR[0].forwarding?.outerHeaderCreation == .ipv6(toward: T.address(3)))

        // The flows end: nothing is left anywhere.
        tb.place(p, anchor: "ar1", serving: nil)
        tb.run(for: 0.5)
        for name in ["ar1", "ar2", "ar3"] {
            #expect(tb.rules(at: name).isEmpty, "\(name)")
            #expect(tb.agents[name]!.sessionCount == 0, "\(name)")
        }
        #expect(tb.controller.sessions.isEmpty)
        #expect(tb.controllerActions.contains(.programmed(agent: T.address(1), prefix: p)))
    }

    /// FM-buffer under indirection: the anchor holds the prefix's packets
    /// from the node's departure (or the start of a move it did not hear
    /// of) and sends them into the tunnel once the new serving agent has
    /// acknowledged its delivery; a return to the anchor releases them into
    /// the delivery there at once.
    @Test func theAnchorBuffersThroughAMoveUnderIndirection() throws {
        var (tb, p) = try Self.nodeWithAFlowAtAR1()
        tb.detach("mn", from: "ar1")
        tb.run(for: 0.5)
        #expect(tb.rules(at: "ar1") == [.buffer(p)])

        // To ar2, whose first answer is lost: the anchor buffers until the
        // answer to the request sent again has come.
        tb.dropNext(from: "ar2")
        _ = tb.attach("mn", at: "ar2")
        tb.run(for: 0.05)
        #expect(tb.rules(at: "ar1") == [.buffer(p)])
        #expect(tb.rules(at: "ar2").contains(.deliver(p, link: "acc0")), "installed, its answer lost")
        tb.run(for: 0.5)
        let tunnel = ForwardingRule.encapsulate(p, endpoint: T.address(2), mode: .ipv6InIPv6)
        #expect(tb.rules(at: "ar1") == [tunnel])
        let release = try #require(tb.sent.lastIndex { $0.from == "controller" && $0.to == "ar1" && $0.message.type.isSessionMessage })
        // ar2's answers: the one lost, the one for its own prefix, and the one to the request sent again.
        let answers = tb.sent.indices.filter { tb.sent[$0].from == "ar2" && tb.sent[$0].message.type == .sessionEstablishmentResponse }
        #expect(answers.count == 3 && answers.allSatisfy { $0 < release }, "the release follows ar2's answers")
        #expect(tb.sent[release].message.removeBAR != nil, "the BAR goes with the buffer")

        // On to ar3 with no departure heard: the move's first request tells
        // the anchor to buffer.
        var mark = tb.sent.count
        _ = tb.attach("mn", at: "ar3")
        let first = try #require(tb.sent[mark...].first { $0.from == "controller" })
        #expect(first.to == "ar1" && first.message.createBAR == PFCPRuleMapping.bar)
        tb.run(for: 0.5)
        #expect(tb.rules(at: "ar1") == [.encapsulate(p, endpoint: T.address(3), mode: .ipv6InIPv6)])
        #expect(tb.rules(at: "ar2").isEmpty && tb.rules(at: "ar3").contains(.deliver(p, link: "acc0")))

        // Back at the anchor: one request there, delivery at once.
        tb.detach("mn", from: "ar3")
        tb.run(for: 0.5)
        #expect(tb.rules(at: "ar1") == [.buffer(p)])
        mark = tb.sent.count
        _ = tb.attach("mn", at: "ar1")
        tb.run(for: 0.5)
        #expect(tb.rules(at: "ar1") == [.deliver(p, link: "acc0")] && tb.rules(at: "ar3").isEmpty)
        #expect(tb.sent[mark...].filter { $0.from == "controller" && $0.to == "ar1" }.count == 1)

        // With buffering off, leaving changes no rule.
        var (plain, q) = try Self.nodeWithAFlowAtAR1(buffering: false)
        plain.detach("mn", from: "ar1")
        plain.run(for: 0.5)
        #expect(plain.rules(at: "ar1") == [.deliver(q, link: "acc0")])
    }

    /// A move whose new serving agent stops answering: the anchor sends
    /// what it held after the node anyway, as indirection would have.
    @Test func theAnchorReleasesWhenTheNewServingAgentIsLost() throws {
        var (tb, p) = try Self.nodeWithAFlowAtAR1()
        tb.isolated.insert("ar2")
        _ = tb.attach("mn", at: "ar2")
        tb.run(for: 0.1)
        #expect(tb.rules(at: "ar1") == [.buffer(p)])
        tb.run(for: 1)
        #expect(tb.controller.associations[T.address(2)]?.status == .down)
        #expect(tb.rules(at: "ar1") == [.encapsulate(p, endpoint: T.address(2), mode: .ipv6InIPv6)])
    }

    @Test func theUplinkIsTunnelledBackOnlyWhenConfigured() {
        let away = Placement(prefix: Self.prefix, anchor: T.address(1), serving: .init(agent: T.address(2), link: "acc0"))
        let direct = away.rules(endpoint: { $0 }, mode: .srv6, uplink: .direct)
        #expect(direct == [T.address(1): [.encapsulate(Self.prefix, endpoint: T.address(2), mode: .srv6)],
                           T.address(2): [.deliver(Self.prefix, link: "acc0")]])
        let back = away.rules(endpoint: { $0 }, mode: .srv6, uplink: .reverseTunnel)
        #expect(back[T.address(2)] == [.deliver(Self.prefix, link: "acc0"),
                                       .reverseTunnel(from: Self.prefix, link: "acc0", endpoint: T.address(1), mode: .srv6)])
        let home = Placement(prefix: Self.prefix, anchor: T.address(1), serving: .init(agent: T.address(1), link: "acc0"))
        #expect(home.rules(endpoint: { $0 }, mode: .srv6, uplink: .reverseTunnel) == [T.address(1): [.deliver(Self.prefix, link: "acc0")]])
        #expect(Placement(prefix: Self.prefix, anchor: T.address(1), serving: nil).rules(endpoint: { $0 }, mode: .srv6, uplink: .direct).isEmpty)
    }

    @Test func aRestartedAgentGetsItsSessionsAgain() {
        var tb = Self.movedToAR2()
        let before = tb.rules(at: "ar2")
        tb.run(for: 1)  // a new second, so a new Recovery Time Stamp
        tb.agents["ar2"] = nil
        tb.startAgent("ar2")
        #expect(tb.agents["ar2"]!.sessionCount == 0)
        tb.run(for: 1)
        #expect(tb.controller.counters.agentRestarts == 1)
        #expect(tb.agents["ar2"]!.sessionCount == 1)
        #expect(Set(tb.agents["ar2"]!.rules) == before)
        #expect(tb.rules(at: "ar2") == before)
        #expect(tb.controller.sessions.values.allSatisfy { $0.acknowledged == $0.wanted })
    }

    /// The controller's answer to a restarted agent's Association Setup is
    /// lost, and the sessions it pushes at once are refused for want of an
    /// association (72). The agent asks again and is answered from the
    /// controller's cache, which sets nothing in motion; the sessions are
    /// pushed again T1 after the refusals.
    @Test func anAgentThatMissedItsAssociationAnswerGetsItsSessionsPushedAgain() {
        var tb = Self.movedToAR2()
        let before = tb.rules(at: "ar2")
        tb.run(for: 1)
        tb.startAgent("ar2")
        tb.dropNext(from: "controller")  // the Association Setup Response
        let mark = tb.sent.count
        tb.run(for: 3)
        #expect(tb.sent[mark...].contains { $0.from == "ar2" && $0.message.cause == .noEstablishedAssociation })
        #expect(tb.agents["ar2"]!.sessionCount == 1 && tb.rules(at: "ar2") == before)
        #expect(tb.controller.sessions.values.allSatisfy { $0.isProgrammed })
    }

    /// An agent restarted twice within a second keeps its Recovery Time
    /// Stamp. The second one's Association Setup Request must still not
    /// pass for the first one's sent again, or it would be answered from
    /// the controller's cache, with none of its sessions pushed, and at its
    /// resynchronization it would release the rules it found.
    @Test func anAgentRestartedTwiceWithinASecondGetsItsSessionsPushedAgain() {
        var tb = Self.movedToAR2()
        let before = tb.rules(at: "ar2")
        tb.run(for: Seconds(nanoseconds: 1_100_000_000 - tb.now.nanoseconds % 1_000_000_000))  // 0.1 s into a second
        tb.startAgent("ar2")
        tb.run(for: 0.2)
        tb.startAgent("ar2")
        tb.run(for: 3)
        #expect(tb.agents["ar2"]!.sessionCount == 1 && tb.rules(at: "ar2") == before)
        #expect(tb.agents["ar2"]!.counters.unconfirmedReleased == 0)
    }

    /// A session the agent keeps from before (the controller came back
    /// without it, from an earlier store) holds the same rule as one the
    /// controller then set up anew: the stale one is released at the
    /// resynchronization, and the rule stays for the new one.
    @Test func aRuleOfAReleasedSessionThatAnotherHoldsStays() {
        var tb = T(agents: 1)
        tb.run(for: 0.5)
        let empty = tb.controller.snapshot
        tb.place(Self.prefix, anchor: "ar1", serving: "ar1")
        tb.run(for: 1)
        tb.restartController(restoring: empty)
        tb.run(for: 0.1)
        tb.place(Self.prefix, anchor: "ar1", serving: "ar1")
        tb.run(for: 3)
        #expect(tb.agents["ar1"]!.counters.unconfirmedReleased == 1 && tb.agents["ar1"]!.sessionCount == 1)
        #expect(tb.rules(at: "ar1") == [.deliver(Self.prefix, link: Self.link("ar1"))])
    }

    /// The controller dies with a request in flight that the agent then
    /// carries out: the anchor's tunnel that releases a buffer (its BAR
    /// removed). Restored, the controller does not know what the agent
    /// holds, so the next change (the node back on the anchor's link) sets
    /// the session up whole. Made on what was acknowledged (the buffer), it
    /// was refused (no BAR to remove), and the refusal took it back for good.
    @Test func aChangeAfterAControllerRestartDoesNotRestOnWhatWasInFlight() {
        var tb = T()
        tb.run(for: 0.5)
        tb.place(Self.prefix, anchor: "ar1", serving: "ar1")
        tb.run(for: 0.5)
        tb.place(Self.prefix, anchor: "ar1", serving: "ar2")
        let release = ForwardingRule.encapsulate(Self.prefix, endpoint: T.address(2), mode: .ipv6InIPv6)
        while !tb.controller.sessions.values.contains(where: { $0.agent == T.address(1) && $0.inFlight == [release] }) {
            tb.run(for: 0.0001)
        }
        let committed = tb.controller.snapshot
        tb.run(for: 0.01)
        #expect(tb.rules(at: "ar1") == [release])
        // Restored, it hears the node is back on the anchor's link.
        tb.restartController(restoring: committed)
        tb.place(Self.prefix, anchor: "ar1", serving: "ar1")
        tb.run(for: 3)
        #expect(tb.rules(at: "ar1") == [.deliver(Self.prefix, link: Self.link("ar1"))])
        #expect(tb.controller.counters.sessionsRefused == 0)
    }

    /// An agent restarted twice within a second keeps its Recovery Time
    /// Stamp, yet gives its sessions SEIDs its first life did not: a change
    /// the controller sent for a session of the first life, still on its
    /// way, must not land on another session of the second.
    @Test func aChangeForAnAgentsEarlierLifeLandsOnNoSessionOfItsNext() {
        var tb = T(agents: 2, buffering: false)
        tb.run(for: Seconds(nanoseconds: 1_100_000_000 - tb.now.nanoseconds % 1_000_000_000))  // 0.1 s into a second
        tb.startAgent("ar1")
        tb.run(for: 0.02)
        let (a, b) = (Self.prefix, IPv6Prefix("2001:db8:1:6::/64")!)
        tb.place(a, anchor: "ar1", serving: "ar1")
        tb.place(b, anchor: "ar1", serving: "ar1")
        tb.run(for: 0.02)
        // A's change to ar1 is lost, and sent again once ar1, restarted,
        // has associated and been pushed B, its one session then.
        tb.dropNext(from: "controller")
        tb.place(a, anchor: "ar1", serving: "ar2")
        tb.startAgent("ar1")
        tb.run(for: 3)
        #expect(tb.rules(at: "ar1") == [.encapsulate(a, endpoint: T.address(2), mode: .ipv6InIPv6), .deliver(b, link: Self.link("ar1"))])
        #expect(tb.agents["ar1"]!.sessionCount == 2 && tb.controller.sessions.values.allSatisfy { $0.isProgrammed })
    }

    /// The agent a node left restarts while its session's deletion is on
    /// the way: associating anew, it has the session forgotten without an
    /// answer. That is the move's last step but the anchor's, which then
    /// follows at once rather than buffer for good.
    @Test func aMoveWhoseLastSessionIsForgottenAtAnAssociationFinishes() {
        var tb = T()
        tb.run(for: 0.5)
        tb.place(Self.prefix, anchor: "ar1", serving: "ar3")
        tb.run(for: 0.5)
        tb.isolated = ["ar3"]
        tb.place(Self.prefix, anchor: "ar1", serving: "ar2")
        tb.run(for: 0.05)
        #expect(tb.rules(at: "ar1") == [.buffer(Self.prefix)])
        tb.isolated = []
        tb.startAgent("ar3")
        tb.run(for: 2)
        #expect(tb.rules(at: "ar1") == [.encapsulate(Self.prefix, endpoint: T.address(2), mode: .ipv6InIPv6)])
        #expect(tb.rules(at: "ar3").isEmpty && tb.controller.switches.isEmpty)
    }

    /// A change sent to an agent that restarted and has not associated yet:
    /// it has no association (72: checked before whether it knows the
    /// session, as for every session request); the controller sets the
    /// session up anew once the agent has associated.
    @Test func aChangeThatMeetsARestartedAgentIsCarriedOutOnceItAssociates() {
        var tb = Self.movedToAR2()
        tb.run(for: 1)
        tb.agents["ar2"] = nil
        tb.dropNext(from: "ar2")  // its first Association Setup Request
        tb.startAgent("ar2")
        let mark = tb.sent.count
        tb.controller.place(Placement(prefix: Self.prefix, anchor: T.address(1), serving: .init(agent: T.address(2), link: "ar2-n2")),
                            at: tb.now)
        tb.collect()
        tb.run(for: 2)
        let answers = tb.sent[mark...].filter { $0.from == "ar2" }.compactMap(\.message.cause)
        #expect(answers.prefix(2) == [.noEstablishedAssociation, .requestAccepted])
        #expect(tb.rules(at: "ar2") == [.deliver(Self.prefix, link: "ar2-n2"),
                                        .reverseTunnel(from: Self.prefix, link: "ar2-n2", endpoint: T.address(1), mode: .ipv6InIPv6)])
        #expect(tb.controller.sessions.values.allSatisfy { $0.acknowledged == $0.wanted })
        #expect(tb.messages(.sessionEstablishmentRequest, from: mark).count <= 3, "no storm of requests while it associates")
    }

    @Test func aRestartedControllerRestoresEverySessionWithoutTouchingTheKernels() {
        var tb = Self.movedToAR2()
        let rules = ["ar1", "ar2", "ar3"].map { tb.rules(at: $0) }
        let writes = tb.writes
        let seids = Set(tb.controller.sessions.seids)
        let mark = tb.sent.count
        let stamp = tb.controller.recoveryTimeStamp
        tb.restartController()
        #expect(tb.controller.recoveryTimeStamp > stamp)
        tb.run(for: 2)
        for name in ["ar1", "ar2", "ar3"] { #expect(tb.agents[name]!.counters.controllerRestarts == 1, "\(name)") }
        // Re-associated, and every session pushed again under its old SEID.
        #expect(tb.messages(.associationSetupRequest, from: mark).count == 3)
        #expect(Set(tb.messages(.sessionEstablishmentRequest, from: mark).compactMap { $0.fSEID?.seid }) == seids)
        #expect(tb.controller.sessions.values.allSatisfy { $0.acknowledged == $0.wanted && $0.agentSEID != nil })
        #expect(["ar1", "ar2", "ar3"].map { tb.rules(at: $0) } == rules)
        #expect(tb.writes == writes, "no kernel write")
        #expect(tb.agents["ar2"]!.sessionCount == 1)
    }

    /// An agent that loses the controller for a while (heartbeats
    /// unanswered both ways) keeps its association and sessions: heard
    /// again, it does not associate anew, releases nothing, and only the
    /// session that changed meanwhile is pushed to it (whole, its request
    /// having been given up), not every session it holds.
    @Test func anAgentThatLostTheControllerForAWhileKeepsItsAssociationAndSessions() {
        var tb = Self.movedToAR2()
        let other = IPv6Prefix("2001:db8:1:6::/64")!
        tb.place(other, anchor: "ar1", serving: "ar1")
        tb.run(for: 0.5)
        let mark = tb.sent.count
        tb.isolated = ["ar1"]
        tb.run(for: 3)
        #expect(tb.agentActions["ar1"]?.contains(.controllerLost) == true)
        #expect(tb.controller.associations[T.address(1)]?.status == .down)
        tb.place(other, anchor: "ar1", serving: "ar2")
        tb.run(for: 1)
        tb.isolated = []
        tb.run(for: 3)
        #expect(tb.agentActions["ar1"]?.contains(.controllerHeardAgain) == true)
        #expect(tb.messages(.associationSetupRequest, from: mark).isEmpty)
        let establishments = tb.sent[mark...].filter { $0.to == "ar1" && $0.message.type == .sessionEstablishmentRequest }
        #expect(establishments.count == 1)
        #expect(tb.agents["ar1"]!.counters.unconfirmedReleased == 0)
        #expect(tb.controller.associations[T.address(1)]?.status == .up)
        #expect(tb.controller.sessions.values.allSatisfy { $0.isProgrammed })
        var calm = Self.movedToAR2()
        calm.place(other, anchor: "ar1", serving: "ar2")
        calm.run(for: 0.5)
        for name in ["ar1", "ar2", "ar3"] { #expect(tb.rules(at: name) == calm.rules(at: name), "\(name)") }
    }

    /// A restored controller sends an agent no session request until the
    /// agent has associated with it (the association forgets the requests
    /// in flight, and one that the association's answer overtook would
    /// still be carried out): not the prefixes placed at once, as its
    /// daemon places every prefix again, nor, for an agent cut off before
    /// it heard of the restart, what it was to be pushed when heard again.
    @Test func aRestoredControllerSendsAnAgentNoSessionRequestBeforeItAssociates() {
        let other = IPv6Prefix("2001:db8:1:6::/64")!
        /// From `mark` on, ar1 is sent no session request before the answer
        /// to its Association Setup, and it ends delivering `other`.
        func expectAssociatedFirst(_ tb: PFCPTestbed, since mark: Int) {
            let associated = tb.sent[mark...].firstIndex { $0.to == "ar1" && $0.message.type == .associationSetupResponse }
            #expect(associated != nil)
            #expect(!tb.sent[mark..<(associated ?? tb.sent.endIndex)].contains { $0.to == "ar1" && $0.message.type.isSessionMessage })
            #expect(tb.rules(at: "ar1").contains(.deliver(other, link: Self.link("ar1"))))
            #expect(tb.controller.sessions.values.allSatisfy { $0.isProgrammed })
        }
        // A prefix placed at once after the restart.
        var tb = Self.movedToAR2()
        var mark = tb.sent.count
        tb.restartController()
        tb.place(other, anchor: "ar1", serving: "ar1")
        tb.run(for: 1)
        expectAssociatedFirst(tb, since: mark)

        // The agent cut off before it heard of the restart, marked down,
        // a session for it given up meanwhile, then heard again.
        tb = Self.movedToAR2()
        tb.isolated = ["ar1"]
        tb.restartController()
        tb.run(for: 2)
        #expect(tb.controller.associations[T.address(1)]?.status == .down)
        tb.place(other, anchor: "ar1", serving: "ar1")
        tb.run(for: 1)
        // Heard before it can associate (a heartbeat that got through): up
        // again, and still nothing sent, nor counted in flight.
        var heartbeat = PFCPMessage(.heartbeatRequest, sequence: 1)
        heartbeat.recoveryTimeStamp = tb.agents["ar1"]!.recoveryTimeStamp
        tb.inject(try! heartbeat.encode(), from: T.address(1), to: "controller")
        #expect(tb.controller.associations[T.address(1)]?.status == .up)
        #expect(tb.controller.backlogInFlight == 0)
        mark = tb.sent.count
        tb.isolated = []
        tb.run(for: 3)
        expectAssociatedFirst(tb, since: mark)
    }

    /// An agent asks to associate one Association Setup Request at a time:
    /// a heartbeat of its given up while it waits for the answer does not
    /// send another (two associations, the second's answer overtaken by
    /// sessions pushed after the first, started its resynchronization again
    /// without them).
    @Test func anAgentAsksToAssociateOnceAtATime() throws {
        let timing = T.timing
        let controller = T.controllerAddress
        var now = Instant(seconds: 1_795_000_000)
        var agent = DataPlaneAgent(config: .init(address: T.address(1), controller: controller, pools: [T.block(1)],
                                                 poolIdentity: "ar1", timing: timing), startedAt: now)
        var associationRequests: [UInt32] = []
        func sent(_ agent: inout DataPlaneAgent) throws -> [PFCPMessage] {
            let messages = try agent.pollActions().compactMap { a -> PFCPMessage? in
                guard case .send(let d, _) = a else { return nil }
                return try PFCPMessage.decode(d)
            }
            associationRequests += messages.filter { $0.type == .associationSetupRequest }.map(\.sequence)
            return messages
        }
        func fromController(_ m: PFCPMessage) throws { agent.handle(.pfcp(try m.encode(), from: controller), at: now) }
        agent.start(at: now)
        let setup = try #require(try sent(&agent).first)
        var answer = PFCPMessage(.associationSetupResponse, sequence: setup.sequence)
        answer.nodeID = .ipv6(controller)
        answer.cause = .requestAccepted
        answer.recoveryTimeStamp = 100
        try fromController(answer)
        _ = try sent(&agent)
        #expect(agent.isAssociated)
        // Its heartbeat goes out, unanswered; then the controller's, with
        // another Recovery Time Stamp, makes it associate anew.
        now = now + timing.heartbeatInterval
        agent.handleTimeout(at: now)
        #expect(try sent(&agent).map(\.type) == [.heartbeatRequest])
        now = now + 0.05
        var heartbeat = PFCPMessage(.heartbeatRequest, sequence: 7)
        heartbeat.recoveryTimeStamp = 101
        try fromController(heartbeat)
        _ = try sent(&agent)
        #expect(associationRequests.count == 2)
        // Up to just before the Association Setup Request is given up, T1 x
        // (N1 + 1) after it was sent; the heartbeat, sent 50 ms before it,
        // is given up meanwhile.
        let end = now + Seconds(timing.t1.seconds * Double(timing.n1 + 1) - 0.02)
        while now < end {
            now = now + 0.01
            agent.handleTimeout(at: now)
            _ = try sent(&agent)
        }
        #expect(agent.pfcpCounters.unanswered == 1, "the heartbeat given up")
        #expect(associationRequests.count == 2 + timing.n1, "sent again N1 times")
        #expect(Set(associationRequests.dropFirst()).count == 1, "one Association Setup Request, sent again")
    }

    /// A controller restart the agent learns of only by associating again
    /// (it had lost the controller first) is counted as one.
    @Test func aControllerRestartSeenAfterLosingItIsCountedOnce() {
        var tb = Self.movedToAR2()
        tb.isolated = ["ar1"]
        tb.run(for: 2)  // its heartbeats, sent again N1 times, unanswered
        #expect(tb.agentActions["ar1"]?.contains(.controllerLost) == true)
        tb.run(for: 1)  // a new second, so a new Recovery Time Stamp
        tb.restartController()
        tb.isolated = []
        tb.run(for: 3)
        #expect(tb.agents["ar1"]!.isAssociated)
        #expect(tb.agents["ar1"]!.counters.controllerRestarts == 1)
        #expect(tb.agents["ar2"]!.counters.controllerRestarts == 1)
    }

    /// The controller sends a step's requests before it commits the step. If
    /// it dies in between, it comes back without the session it asked for;
    /// it pushes every session it kept, and the agent releases the one it
    /// was not pushed again, with its rules.
    @Test func aSessionTheControllerDiedBeforeCommittingIsReleasedByItsAgent() {
        var tb = Self.movedToAR2()
        let committed = tb.controller.snapshot
        let rules = tb.rules(at: "ar1")
        let other = IPv6Prefix("2001:db8:1:6::/64")!
        tb.place(other, anchor: "ar1", serving: "ar1")
        tb.run(for: 0.1)
        #expect(tb.agents["ar1"]!.sessionCount == 2)
        #expect(tb.rules(at: "ar1").contains(.deliver(other, link: Self.link("ar1"))))
        tb.restartController(restoring: committed)
        tb.run(for: 2)
        #expect(tb.agents["ar1"]!.counters.unconfirmedReleased == 1)
        #expect(tb.agents["ar1"]!.sessionCount == 1)
        #expect(tb.rules(at: "ar1") == rules)
        #expect(tb.agents["ar2"]!.counters.unconfirmedReleased == 0 && tb.agents["ar2"]!.sessionCount == 1)
    }

    /// An agent with many sessions: a restarted controller pushes them again
    /// a window at a time, one more for each answer, and the agent waits
    /// for them as long as they keep coming (here five times its wait):
    /// none is released, and the kernel is not written.
    @Test func manySessionsArePushedAgainAWindowAtATimeAndNoneIsReleased() {
        var tb = Self.oneAgent(resynchronization: 0.02)
        let prefixes = (0..<200).map { IPv6Prefix("2001:db8:1:\(String($0, radix: 16))::/64")! }
        for p in prefixes { tb.place(p, anchor: "ar1", serving: "ar1") }
        tb.run(for: 0.5)
        #expect(tb.agents["ar1"]!.sessionCount == 200)
        let rules = tb.rules(at: "ar1")
        let writes = tb.writes
        let mark = tb.sent.count
        var config = tb.controller.config
        config.window = 4
        tb.restartController(config: config)
        tb.run(for: 0.01)
        #expect((1..<200).contains(tb.controller.backlog(of: T.address(1))), "pushed a window at a time")
        tb.run(for: 1)
        #expect(tb.controller.backlog(of: T.address(1)) == 0)
        // Requests sent less answers given, in the order sent: never over the window.
        var inFlight = 0, most = 0
        for s in tb.sent[mark...] {
            switch s.message.type {
            case .sessionEstablishmentRequest: inFlight += 1
            case .sessionEstablishmentResponse: inFlight -= 1
            default: continue
            }
            most = max(most, inFlight)
        }
        #expect(most == 4)
        #expect(tb.messages(.sessionEstablishmentRequest, from: mark).count == 200)
        #expect(tb.messages(.sessionEstablishmentResponse, from: mark).allSatisfy { $0.cause == .requestAccepted })
        #expect(tb.agents["ar1"]!.counters.unconfirmedReleased == 0 && tb.agents["ar1"]!.sessionCount == 200)
        #expect(tb.rules(at: "ar1") == rules)
        #expect(tb.writes == writes, "no kernel write")
        #expect(tb.controller.sessions.values.allSatisfy { $0.acknowledged == $0.wanted && $0.agentSEID != nil })
    }

    /// An establishment the agent refused, its refusals lost: given up, it
    /// is sent once more when the agent is heard again, refused again, and
    /// then the session is dropped (the agent holds none of it), not sent
    /// over and over.
    @Test func anEstablishmentRefusedWithItsAnswersLostIsNotSentOverAndOver() {
        var tb = T(agents: 2)
        tb.run(for: 0.5)
        // A tunnel from ar1 for a prefix of ar2's pool: ar1 does not anchor it.
        let foreign = IPv6Prefix("2001:db8:2:9::/64")!, agent = T.address(1)
        for _ in 0..<3 { tb.dropNext(from: "ar1") }
        tb.controller.program([.encapsulate(foreign, endpoint: T.sid(3), mode: .ipv6InIPv6)], at: agent, for: foreign, at: tb.now)
        tb.collect()
        let mark = tb.sent.count
        tb.run(for: 3)
        #expect(tb.controller.associations[agent]?.status == .up)
        let sent = tb.messages(.sessionEstablishmentRequest, from: mark).count
        #expect(sent <= 5, "\(sent) establishments")
        #expect(tb.controller.sessions.isEmpty)
        #expect(tb.agents["ar1"]!.sessionCount == 0 && tb.rules(at: "ar1").isEmpty)
    }

    /// An establishment carried out with its answers lost, then a change
    /// the agent refuses: the agent still holds the first, which is set up
    /// again to learn the agent's SEID and then deleted.
    @Test func aRefusalAfterALostEstablishmentLeavesNothingAtTheAgent() {
        var tb = T(agents: 2)
        tb.run(for: 0.5)
        // A prefix of ar2's pool: ar1 delivers it out of a tunnel, and refuses to tunnel it as its anchor.
        let foreign = IPv6Prefix("2001:db8:2:9::/64")!, agent = T.address(1)
        for _ in 0..<3 { tb.dropNext(from: "ar1") }
        tb.controller.program([.deliver(foreign, link: Self.link("ar1"))], at: agent, for: foreign, at: tb.now)
        tb.collect()
        tb.run(for: 0.35)
        #expect(tb.controller.associations[agent]?.status == .down)
        #expect(tb.rules(at: "ar1") == [.deliver(foreign, link: Self.link("ar1"))], "carried out")
        tb.controller.program([.encapsulate(foreign, endpoint: T.sid(3), mode: .ipv6InIPv6)], at: agent, for: foreign, at: tb.now)
        tb.collect()
        tb.run(for: 1)
        #expect(tb.controller.counters.sessionsRefused == 1)
        #expect(tb.controller.sessions.isEmpty)
        #expect(tb.agents["ar1"]!.sessionCount == 0 && tb.rules(at: "ar1").isEmpty)
    }

    /// A restarted controller pushes the sessions of every agent again
    /// within its total window as well as each agent's: the agents' answers
    /// must fit the controller's socket. Every session still gets there.
    @Test func sessionsPushedAgainToManyAgentsStayWithinTheTotalWindow() {
        var tb = T(agents: 3)
        tb.run(for: 0.5)
        for agent in 1...3 {
            for i in 0..<60 {
                tb.place(IPv6Prefix("2001:db8:\(agent):\(String(i, radix: 16))::/64")!, anchor: "ar\(agent)", serving: "ar\(agent)")
            }
        }
        tb.run(for: 0.5)
        let mark = tb.sent.count
        var config = tb.controller.config
        config.window = 4
        config.totalWindow = 6
        tb.restartController(config: config)
        tb.run(for: 3)
        // Requests sent less answers given, in the order sent, in all and by agent.
        var inFlight: [String: Int] = [:], mostByAgent: [String: Int] = [:], most = 0
        for s in tb.sent[mark...] {
            switch s.message.type {
            case .sessionEstablishmentRequest: inFlight[s.to, default: 0] += 1
            case .sessionEstablishmentResponse: inFlight[s.from, default: 0] -= 1
            default: continue
            }
            for (agent, n) in inFlight { mostByAgent[agent] = max(mostByAgent[agent] ?? 0, n) }
            most = max(most, inFlight.values.reduce(0, +))
        }
        #expect(most == 6)
        #expect(mostByAgent == ["ar1": 4, "ar2": 4, "ar3": 4])
        #expect(tb.messages(.sessionEstablishmentRequest, from: mark).count == 180)
        #expect(tb.controller.backlogInFlight == 0)
        let sent = Array(tb.sent[mark...])
        for agent in ["ar1", "ar2", "ar3"] {
            #expect(tb.controller.backlog(of: tb.addresses[agent]!) == 0)
            #expect(tb.agents[agent]!.counters.unconfirmedReleased == 0 && tb.agents[agent]!.sessionCount == 60)
            // Told once that every session was pushed again, after its last answer.
            let notices = sent.indices.filter { sent[$0].to == agent && sent[$0].message.type == .associationUpdateRequest }
            let lastAnswer = sent.indices.last { sent[$0].from == agent && sent[$0].message.type == .sessionEstablishmentResponse }
            #expect(notices.count == 1 && lastAnswer.map { notices[0] > $0 } == true, "\(agent): \(notices), \(String(describing: lastAnswer))")
        }
        #expect(tb.controller.sessions.values.allSatisfy { $0.isProgrammed })
    }

    /// An agent that stops answering while its sessions are pushed again is
    /// marked down, and its backlog waits for it: no more than the window
    /// in flight is sent (with its retransmissions), not every session.
    /// Heard again (it associates anew, having lost the controller too,
    /// and the requests in flight to it are forgotten), it gets them all.
    @Test func anAgentDownWhileItsSessionsArePushedAgainGetsThemOnceHeardAgain() {
        var tb = Self.oneAgent(resynchronization: 30, limit: 60)
        for i in 0..<100 { tb.place(IPv6Prefix("2001:db8:1:\(String(i, radix: 16))::/64")!, anchor: "ar1", serving: "ar1") }
        tb.run(for: 0.5)
        var config = tb.controller.config
        config.window = 4
        tb.restartController(config: config)
        tb.run(for: 0.01)  // associated again, the first window sent
        tb.isolated = ["ar1"]
        let mark = tb.sent.count
        tb.run(for: 2)
        #expect(tb.controller.associations[T.address(1)]?.status == .down)
        let sent = tb.messages(.sessionEstablishmentRequest, from: mark).count
        #expect(sent <= 4 * (T.timing.n1 + 1), "\(sent) establishments sent to an agent that does not answer")
        tb.isolated = []
        tb.run(for: 3)
        #expect(tb.controller.associations[T.address(1)]?.status == .up)
        #expect(tb.controller.backlog(of: T.address(1)) == 0 && tb.controller.backlogInFlight == 0)
        #expect(tb.controller.sessions.values.allSatisfy { $0.isProgrammed })
        #expect(tb.agents["ar1"]!.counters.unconfirmedReleased == 0 && tb.agents["ar1"]!.sessionCount == 100)
    }

    /// A change whose requests an agent left unanswered (given up, the
    /// agent marked down) is carried out once the agent is heard again.
    @Test func aChangeGivenUpIsCarriedOutWhenTheAgentIsHeardAgain() {
        var tb = Self.movedToAR2()
        // The controller's next 20 datagrams lost: the requests of the move
        // (each sent N1 times more) and heartbeats; ar2's deletion is given up.
        for _ in 0..<20 { tb.dropNext(from: "controller") }
        tb.place(Self.prefix, anchor: "ar1", serving: "ar3")
        tb.run(for: 0.5)
        #expect(tb.controller.associations[T.address(2)]?.status == .down)
        #expect(!tb.controller.sessions.values.allSatisfy { $0.isProgrammed })
        tb.run(for: 3)
        #expect(tb.controller.associations[T.address(2)]?.status == .up)
        #expect(tb.controller.sessions.values.allSatisfy { $0.isProgrammed })
        #expect(tb.rules(at: "ar2").isEmpty)
    }

    /// A change the agent carried out but whose answers were lost: given
    /// up, it is pushed whole (as an establishment the agent matches by
    /// SEID) once the agent is heard again, not sent again as a change
    /// the agent would refuse (its PDR exists).
    @Test func aChangeWhoseAnswersWereLostIsPushedWholeWhenTheAgentIsHeardAgain() {
        var tb = T(agents: 1)
        tb.run(for: 0.5)
        let link = Self.link("ar1"), agent = T.address(1)
        tb.controller.program([.deliver(Self.prefix, link: link)], at: agent, for: Self.prefix, at: tb.now)
        tb.collect()
        tb.run(for: 0.1)
        let wanted: [ForwardingRule] = [.deliver(Self.prefix, link: link),
                                        .reverseTunnel(from: Self.prefix, link: link, endpoint: T.address(2), mode: .ipv6InIPv6)]
        for _ in 0..<3 { tb.dropNext(from: "ar1") }  // its answer, and its answers to the request sent again
        tb.controller.program(wanted, at: agent, for: Self.prefix, at: tb.now)
        tb.collect()
        tb.run(for: 0.35)
        #expect(tb.controller.associations[agent]?.status == .down)
        #expect(tb.rules(at: "ar1") == Set(wanted), "carried out")
        tb.run(for: 2)
        #expect(tb.controller.associations[agent]?.status == .up)
        #expect(tb.controller.counters.sessionsRefused == 0)
        #expect(tb.controller.sessions.values.map { Set($0.acknowledged) } == [Set(wanted)])
        #expect(tb.controller.sessions.values.allSatisfy { $0.isProgrammed })
        #expect(tb.rules(at: "ar1") == Set(wanted))
    }

    /// A request the agent carried out but whose answers were lost, and
    /// then nothing wanted of the session any more (the node's flows
    /// ended): the agent may hold the session, so it is deleted there, not
    /// forgotten. Given up as an establishment (the agent's SEID never
    /// heard) or as a modification.
    @Test(arguments: [false, true])
    func aSessionGivenUpAndThenEmptiedIsDeletedAtTheAgent(modified: Bool) {
        var tb = T(agents: 1)
        tb.run(for: 0.5)
        let link = Self.link("ar1"), agent = T.address(1)
        let deliver = ForwardingRule.deliver(Self.prefix, link: link)
        if modified {
            tb.controller.program([deliver], at: agent, for: Self.prefix, at: tb.now)
            tb.collect()
            tb.run(for: 0.1)
        }
        for _ in 0..<3 { tb.dropNext(from: "ar1") }  // its answer, and its answers to the request sent again
        let wanted = modified
            ? [deliver, .reverseTunnel(from: Self.prefix, link: link, endpoint: T.address(2), mode: .ipv6InIPv6)] : [deliver]
        tb.controller.program(wanted, at: agent, for: Self.prefix, at: tb.now)
        tb.collect()
        tb.run(for: 0.35)
        #expect(tb.controller.associations[agent]?.status == .down)
        #expect(tb.rules(at: "ar1") == Set(wanted), "carried out")
        #expect(tb.controller.rules(at: agent) == (modified ? [deliver] : []), "what the agent acknowledged")
        tb.controller.program([], at: agent, for: Self.prefix, at: tb.now)
        tb.collect()
        tb.run(for: 2)
        #expect(tb.controller.associations[agent]?.status == .up)
        #expect(tb.controller.sessions.isEmpty)
        #expect(tb.agents["ar1"]!.sessionCount == 0)
        #expect(tb.rules(at: "ar1").isEmpty)
    }

    /// A restarted controller tells the agent when it has pushed every
    /// session again; until then the agent keeps them all, however long
    /// the push takes, and then releases at once those not pushed. Here
    /// the restored session's push is lost and sent again T1 (0.1 s)
    /// later, twice the pause after which the agent would otherwise take
    /// the push for over: it is not released meanwhile.
    @Test func anAgentKeepsEverySessionUntilTheRestartedControllerSaysItPushedThemAll() {
        var (tb, committed) = Self.sessionAFailedCommitForgets(resynchronization: 0.05, limit: 30)
        let kept = tb.rules(at: "ar1").filter { $0.prefix == Self.prefix }
        #expect(kept.count == 1)
        var lost = false
        tb.filter = { m, _ in
            guard m.type == .sessionEstablishmentRequest, !lost else { return true }
            lost = true
            return false
        }
        let before = tb.agentActions["ar1"]!.count
        tb.restartController(restoring: committed)
        tb.run(for: 0.09)
        #expect(lost && tb.agents["ar1"]!.sessionCount == 2, "nothing released before the notice")
        #expect(tb.controller.isResynchronizing(T.address(1)))
        // A notice of another association changes nothing.
        var stale = PFCPMessage(.associationUpdateRequest, sequence: 77)
        stale.nodeID = .ipv6(T.controllerAddress)
        stale.resynchronization = 12345
        tb.inject(try! stale.encode(), from: T.controllerAddress, to: "ar1")
        #expect(tb.agents["ar1"]!.counters.dropped[.staleNotice] == 1 && tb.agents["ar1"]!.sessionCount == 2)
        tb.run(for: 0.5)
        #expect(tb.controllerActions.contains(.resynchronized(agent: T.address(1), accepted: true)))
        #expect(!tb.controller.isResynchronizing(T.address(1)))
        #expect(tb.agents["ar1"]!.counters.unconfirmedReleased == 1 && tb.agents["ar1"]!.sessionCount == 1)
        #expect(tb.rules(at: "ar1") == kept)
        // The restored session's rule stayed in the kernel throughout.
        let after = tb.agentActions["ar1"]![before...]
        #expect(!after.contains { if case .remove(let r) = $0 { r.prefix == Self.prefix } else { false } }, "\(Array(after))")
        #expect(after.contains { if case .remove(let r) = $0 { r.prefix == Self.forgotten } else { false } })
    }

    /// A request sent before the association, overtaken by its answer, is
    /// refused (Cause 72) until the notice, and changes nothing: here the
    /// establishment of a session the controller died before committing,
    /// held on its way and delivered once the restarted controller's push
    /// is under way. Carried out, it would count as pushed again and the
    /// session would stay. The controller names the association in every
    /// request until the notice, and in none after.
    @Test func aRequestSentBeforeTheAssociationIsRefusedUntilTheNotice() throws {
        var (tb, committed, kept) = Self.oneSessionCommitted(resynchronization: 0.05, limit: 30)
        var held: PFCPMessage?
        var pushLost = false
        tb.filter = { m, _ in
            guard m.type == .sessionEstablishmentRequest else { return true }
            if held == nil {
                held = m
                return false
            }
            // The first push after the restart is lost, so the notice waits T1 for it.
            defer { pushLost = true }
            return pushLost
        }
        tb.place(Self.forgotten, anchor: "ar1", serving: "ar1")
        tb.run(for: 0.01)
        let restart = tb.sent.count
        tb.restartController(restoring: committed)
        tb.run(for: 0.05)
        #expect(pushLost && tb.agents["ar1"]!.isAssociated && tb.controller.isResynchronizing(T.address(1)))
        let answer = try tb.deliverLate(try #require(held), to: "ar1")
        #expect(answer.map(\.type) == [.sessionEstablishmentResponse] && answer.first?.cause == .noEstablishedAssociation)
        #expect(tb.agents["ar1"]!.counters.dropped[.earlierAssociation] == 1)
        #expect(tb.agents["ar1"]!.sessionCount == 1 && tb.rules(at: "ar1") == kept)
        tb.run(for: 0.5)
        #expect(!tb.controller.isResynchronizing(T.address(1)))
        #expect(tb.agents["ar1"]!.sessionCount == 1 && tb.agents["ar1"]!.counters.unconfirmedReleased == 0)
        #expect(tb.rules(at: "ar1") == kept)

        let association = try #require(tb.messages(.associationSetupResponse, from: restart).last?.resynchronization)
        let pushes = tb.messages(.sessionEstablishmentRequest, from: restart)
        #expect(pushes.count == 2 && pushes.allSatisfy { $0.resynchronization == association })
        let afterNotice = tb.sent.count
        tb.place(IPv6Prefix("2001:db8:1:1::/64")!, anchor: "ar1", serving: "ar1")
        tb.run(for: 0.1)
        #expect(tb.messages(.sessionEstablishmentRequest, from: afterNotice).map(\.resynchronization) == [nil])
        #expect(tb.agents["ar1"]!.sessionCount == 2)
    }

    /// An agent asking to associate again (the controller restarted) holds
    /// its sessions, and refuses a session request meanwhile (Cause 72),
    /// a deletion too: here one the controller sent before it died,
    /// delivered while the answer to the agent's Association Setup is
    /// on its way. Carried out, it removed the session's rule, which the
    /// restarted controller then pushed again.
    @Test func aDeletionArrivingWhileTheAgentAssociatesIsRefused() throws {
        var (tb, committed, kept) = Self.oneSessionCommitted(resynchronization: 0.05, limit: 30)
        var held: PFCPMessage?
        var answerHeld = false
        tb.filter = { m, _ in
            switch m.type {
            case .sessionDeletionRequest where held == nil:
                held = m
                return false
            case .associationSetupResponse where !answerHeld:
                // Lost: the agent asks again T1 later.
                answerHeld = true
                return false
            default: return true
            }
        }
        tb.place(Self.prefix, anchor: "ar1", serving: nil)
        tb.run(for: 0.01)
        #expect(held?.type == .sessionDeletionRequest)
        tb.restartController(restoring: committed)
        tb.run(for: 0.05)
        #expect(answerHeld && !tb.agents["ar1"]!.isAssociated)
        let answer = try tb.deliverLate(try #require(held), to: "ar1")
        #expect(answer.map(\.type) == [.sessionDeletionResponse] && answer.first?.cause == .noEstablishedAssociation)
        #expect(tb.agents["ar1"]!.sessionCount == 1 && tb.rules(at: "ar1") == kept)
        let writes = tb.writes["ar1"]!
        tb.run(for: 0.5)
        #expect(tb.agents["ar1"]!.isAssociated && !tb.controller.isResynchronizing(T.address(1)))
        #expect(tb.agents["ar1"]!.sessionCount == 1 && tb.rules(at: "ar1") == kept)
        #expect(tb.writes["ar1"]! == writes, "no rule written again")
        // Not counted as of an earlier association: there was none yet.
        #expect(tb.agents["ar1"]!.counters.dropped[.earlierAssociation] == nil)
    }

    /// An old duplicate of the agent's first Association Setup Request
    /// reaches the controller after the agent associated again (the
    /// controller restarted), while the agent waits for the notice of its
    /// new association. The controller, which kept no answer to it, takes
    /// it for a new association and pushes the sessions naming it; the
    /// agent refused those (72) until its resynchronization limit ran out.
    /// Its answer, accepted, to a request of the agent's that is not its
    /// association's, from the controller it is associated with, makes the
    /// agent associate again, and the push goes through.
    @Test func anOldDuplicateOfAnAssociationSetupMakesTheAgentAssociateAgain() throws {
        var (tb, _, kept) = Self.oneSessionCommitted(resynchronization: 0.05, limit: 30)
        let first = try #require(tb.sent.first { $0.from == "ar1" && $0.message.type == .associationSetupRequest }?.message)
        var noticeHeld = false
        tb.filter = { m, sender in
            guard sender == "controller", m.type == .associationUpdateRequest, !noticeHeld else { return true }
            noticeHeld = true
            return false
        }
        tb.restartController()
        for _ in 0..<300 where !noticeHeld { tb.run(for: 0.01) }
        #expect(noticeHeld && tb.agents["ar1"]!.isAssociated && tb.controller.isResynchronizing(T.address(1)))
        tb.inject(try first.encode(), from: T.address(1), to: "controller")
        tb.run(for: 1)
        #expect(tb.agents["ar1"]!.counters.staleAssociations == 1)
        #expect(tb.agents["ar1"]!.isAssociated && !tb.controller.isResynchronizing(T.address(1)))
        #expect(tb.agents["ar1"]!.sessionCount == 1 && tb.rules(at: "ar1") == kept)
        #expect(tb.agents["ar1"]!.counters.unconfirmedReleased == 0)
        #expect(tb.controller.sessions.values.allSatisfy { $0.isProgrammed })
    }

    /// Answers to Association Setup Requests that are no reason to
    /// associate again: a second answer to the request that set up the
    /// association (sent twice, the second answered from the controller's
    /// kept answers), and a late answer of the controller's previous
    /// instance to the agent's earlier request.
    @Test func otherAnswersToAnAgentsAssociationSetupsChangeNothing() throws {
        var tb = Self.oneAgent(resynchronization: 0.05)
        let previous = try #require(tb.sent.first { $0.from == "controller" && $0.message.type == .associationSetupResponse }?.message)
        let mark = tb.sent.count
        tb.restartController()
        for _ in 0..<300 where tb.messages(.associationSetupResponse, from: mark).isEmpty { tb.run(for: 0.01) }
        let request = try #require(tb.sent[mark...].first { $0.from == "ar1" && $0.message.type == .associationSetupRequest }?.message)
        let unexpected = tb.agents["ar1"]!.pfcpCounters.unexpectedResponses
        tb.inject(try request.encode(), from: T.address(1), to: "controller")
        tb.run(for: 0.5)
        #expect(tb.controller.pfcpCounters.duplicates == 1)
        tb.inject(try previous.encode(), from: T.controllerAddress, to: "ar1")
        tb.run(for: 0.5)
        #expect(tb.agents["ar1"]!.pfcpCounters.unexpectedResponses == unexpected + 2)
        #expect(tb.agents["ar1"]!.isAssociated && tb.agents["ar1"]!.counters.staleAssociations == 0)
        #expect(tb.messages(.associationSetupRequest, from: mark).count == 1)
    }

    /// ar1 with the session of `prefix` programmed: the testbed, the
    /// controller's state as its store holds it, and ar1's rules.
    static func oneSessionCommitted(resynchronization: Seconds, limit: Seconds)
        -> (PFCPTestbed, Controller.Snapshot, Set<ForwardingRule>) {
        var tb = Self.oneAgent(resynchronization: resynchronization, limit: limit)
        tb.place(Self.prefix, anchor: "ar1", serving: "ar1")
        tb.run(for: 0.1)
        return (tb, tb.controller.snapshot, tb.rules(at: "ar1"))
    }

    /// The prefix of the session a controller that died before committing forgets.
    static let forgotten = IPv6Prefix("2001:db8:1:ff::/64")!

    /// ar1 with the sessions of `prefix` and `forgotten`, and the
    /// controller's state as its store held it before the second.
    static func sessionAFailedCommitForgets(resynchronization: Seconds, limit: Seconds) -> (PFCPTestbed, Controller.Snapshot) {
        var (tb, committed, _) = oneSessionCommitted(resynchronization: resynchronization, limit: limit)
        tb.place(forgotten, anchor: "ar1", serving: "ar1")
        tb.run(for: 0.1)
        #expect(tb.agents["ar1"]!.sessionCount == 2)
        return (tb, committed)
    }

    /// With the notice announced, the agent waits however long sessions
    /// keep coming, past `resynchronizationLimit` after the association,
    /// and only a controller gone quiet for that long ends the wait
    /// without its notice. Here the notice arrives naming no association,
    /// while the requests go on naming the association (the controller
    /// names it in every request until the notice is taken).
    @Test func anAnnouncedNoticeIsWaitedForWhileSessionsComeAndTheLimitCountsFromTheLast() {
        var (tb, committed) = Self.sessionAFailedCommitForgets(resynchronization: 0.05, limit: 1)
        var association: UInt32?
        tb.filter = { m, _ in
            switch m.type {
            case .associationSetupResponse: association = m.resynchronization
            case .associationUpdateRequest: m.resynchronization = 1
            case .sessionEstablishmentRequest, .sessionModificationRequest, .sessionDeletionRequest: m.resynchronization = association
            default: break
            }
            return true
        }
        tb.restartController(restoring: committed)
        // A new session every 0.3 s for 3 s, three times the limit.
        for i in 0..<10 {
            tb.place(IPv6Prefix("2001:db8:1:1\(i)::/64")!, anchor: "ar1", serving: "ar1")
            tb.run(for: 0.3)
            #expect(tb.agents["ar1"]!.counters.unconfirmedReleased == 0, "after \(0.3 * Double(i + 1)) s")
        }
        // The last came at 2.7 s.
        tb.run(for: 0.6)
        #expect(tb.agents["ar1"]!.counters.unconfirmedReleased == 0)
        tb.run(for: 0.2)
        #expect(tb.agents["ar1"]!.counters.unconfirmedReleased == 1 && tb.agents["ar1"]!.sessionCount == 11)
        #expect(tb.agents["ar1"]!.counters.dropped[.staleNotice] == 1)
    }

    /// From a controller that does not announce the end of its pushes
    /// (another make: the IE taken out on the way), the agent takes a
    /// pause in them for the end. Sessions that keep coming put that off
    /// only up to its limit: a session the restarted controller does not
    /// know is released then, though new ones still come.
    @Test func theAgentsWaitEndsAtItsLimitHoweverManySessionsKeepComing() {
        var (tb, committed) = Self.sessionAFailedCommitForgets(resynchronization: 0.5, limit: 2)
        tb.filter = { m, _ in
            m.resynchronization = nil
            return true
        }
        tb.restartController(restoring: committed)
        // A new session every 0.3 s, each before the last wait ran out.
        for i in 0..<10 {
            tb.place(IPv6Prefix("2001:db8:1:1\(i)::/64")!, anchor: "ar1", serving: "ar1")
            tb.run(for: 0.3)
            #expect(tb.agents["ar1"]!.counters.unconfirmedReleased == (i < 6 ? 0 : 1), "after \(0.3 * Double(i + 1)) s")
        }
        #expect(tb.agents["ar1"]!.sessionCount == 11)
    }

    /// Recovery Time Stamps have whole seconds; agents tell a restart by a
    /// new one, so a controller restarted within the second takes the next.
    @Test func aControllerRestartedWithinTheSecondStillChangesItsStamp() {
        var tb = T(agents: 1)
        let first = tb.controller.recoveryTimeStamp
        tb.restartController()
        tb.restartController()
        #expect(tb.controller.recoveryTimeStamp == first + 2)
        tb.run(for: 0.5)
        #expect(tb.agents["ar1"]!.isAssociated)
    }

    @Test func anAgentThatStopsAnsweringIsDownAndNewNodesAreAnchoredElsewhere() {
        var tb = T()
        tb.run(for: 0.5)
        #expect(tb.controller.chooseAnchor(preferring: T.address(2)) == T.address(2))
        tb.isolated = ["ar2"]
        tb.run(for: 2)  // a heartbeat and its N1 retransmissions unanswered
        #expect(tb.controller.associations[T.address(2)]?.status == .down)
        #expect(tb.controllerActions.contains(.associationChanged(agent: T.address(2), status: .down)))
        #expect(!tb.controller.canAnchor(at: T.address(2)))
        #expect(tb.controller.chooseAnchor(preferring: T.address(2)) == T.address(1))
        // Heard again: up.
        tb.isolated = []
        tb.run(for: 2)
        #expect(tb.controller.associations[T.address(2)]?.status == .up)
        #expect(tb.controller.chooseAnchor(preferring: T.address(2)) == T.address(2))
    }

    /// An agent marked down is brought up by the first message the
    /// controller hears from it, whether the controller marked it down
    /// itself (its heartbeats unanswered) or was restored with it down
    /// (the controller reads the agents' status only when one is down, and
    /// a restored table is not set through the table's observer).
    @Test func anAgentMarkedDownIsUpOnTheFirstMessageHeardFromIt() throws {
        let agent = T.address(1)
        var heartbeat = PFCPMessage(.heartbeatRequest, sequence: 1)
        heartbeat.recoveryTimeStamp = 7
        func hearHeartbeat(_ controller: inout Controller, at now: Instant) throws {
            _ = controller.pollActions()
            controller.handle(.pfcp(try heartbeat.encode(), from: agent), at: now)
            #expect(controller.associations[agent]?.status == .up)
            #expect(controller.pollActions().contains(.associationChanged(agent: agent, status: .up)))
        }
        var now = Instant(seconds: 1_000)
        var live = Controller(config: .init(address: T.controllerAddress, timing: T.timing), startedAt: now)
        var setup = PFCPMessage(.associationSetupRequest, sequence: 1)
        setup.nodeID = .ipv6(agent)
        setup.recoveryTimeStamp = 7
        live.handle(.pfcp(try setup.encode(), from: agent), at: now)
        while live.associations[agent]?.status == .up && now < Instant(seconds: 1_010) {
            now = now + 0.05
            live.handleTimeout(at: now)
        }
        #expect(live.associations[agent]?.status == .down, "heartbeats unanswered")
        try hearHeartbeat(&live, at: now)
        let snapshot = Controller.Snapshot(associations: [Controller.Association(
            agent: agent, pools: [], recoveryTimeStamp: 7, status: .down)], sessions: [], recoveryTimeStamp: 100)
        var restored = Controller(config: .init(address: T.controllerAddress), startedAt: now, restoring: snapshot)
        try hearHeartbeat(&restored, at: now)
    }

    /// Whether an agent anchors a prefix is read from the pools of its
    /// association as it is now: a delivery there comes out of a tunnel
    /// (Outer Header Removal) while the prefix is another's, and no longer
    /// once the agent, restarted, associates again with the prefix's block
    /// among its pools and gets its session pushed anew.
    @Test func aDeliveryIsWrittenForThePoolsTheAgentHasNow() throws {
        let agent = T.address(1), x = IPv6Prefix("2001:db8:9::/64")!
        let now = Instant(seconds: 1_000)
        var controller = Controller(config: .init(address: T.controllerAddress, timing: T.timing), startedAt: now)
        func associate(pools: [IPv6Prefix], stamp: UInt32) throws {
            var m = PFCPMessage(.associationSetupRequest, sequence: stamp)
            m.nodeID = .ipv6(agent)
            m.recoveryTimeStamp = stamp
            m.poolInformation = [PFCPPoolInformation(identity: "pool", prefixes: pools)]
            controller.handle(.pfcp(try m.encode(), from: agent), at: now)
        }
        func establishment() throws -> PFCPMessage? {
            for case .send(let d, _) in controller.pollActions() where PFCPHeader.type(of: d) == .sessionEstablishmentRequest {
                return try PFCPMessage.decode(d)
            }
            return nil
        }
        try associate(pools: [IPv6Prefix("2001:db8:1::/48")!], stamp: 7)
        controller.program([.deliver(x, link: "acc0")], at: agent, for: x, at: now)
        let first = try #require(try establishment())
        #expect(first.createPDR.first?.outerHeaderRemoval == .ipv6, "anchored elsewhere")
        var accepted = PFCPMessage(.sessionEstablishmentResponse, sequence: first.sequence, seid: first.fSEID!.seid)
        accepted.nodeID = .ipv6(agent)
        accepted.cause = .requestAccepted
        accepted.fSEID = PFCPFSEID(seid: 1, ipv6: agent)
        controller.handle(.pfcp(try accepted.encode(), from: agent), at: now)
        #expect(controller.sessions.values.allSatisfy { $0.isProgrammed })
        try associate(pools: [IPv6Prefix("2001:db8:9::/48")!], stamp: 8)
        let again = try #require(try establishment())
        #expect(again.createPDR.first?.pdi?.ueIPAddresses.first?.prefix == x)
        #expect(again.createPDR.first?.outerHeaderRemoval == nil, "anchored there now")
    }

    @Test func anAgentOverTheLoadLimitAnchorsNoNewNode() {
        var tb = T(loadLimit: 80)
        tb.run(for: 0.5)
        tb.agents["ar1"]!.handle(.load(90), at: tb.now)
        tb.agents["ar3"]!.handle(.load(30), at: tb.now)
        tb.collect()
        tb.run(for: 0.5)
        #expect(tb.messages(.nodeReportRequest).count == 2)
        #expect(tb.controller.associations[T.address(1)]?.load == 90)
        #expect(!tb.controller.canAnchor(at: T.address(1)))
        // ar2 reported nothing: counted as no load, so the least loaded.
        #expect(tb.controller.chooseAnchor(preferring: T.address(1)) == T.address(2))
        tb.agents["ar1"]!.handle(.load(50), at: tb.now)
        tb.collect()
        tb.run(for: 0.5)
        #expect(tb.controller.associations[T.address(1)]?.load == 50)
        #expect(tb.controller.chooseAnchor(preferring: T.address(1)) == T.address(1))
        // The load went in Node Reports: a session answer does not repeat it.
        let mark = tb.sent.count
        tb.place(Self.prefix, anchor: "ar1", serving: "ar1")
        tb.run(for: 0.5)
        let answers = tb.messages(.sessionEstablishmentResponse, from: mark)
        #expect(answers.count == 1 && answers.allSatisfy { $0.cause == .requestAccepted && $0.loadControl == nil })
        #expect(tb.controller.associations[T.address(1)]?.load == 50)
    }

    @Test func onlyConfiguredAgentsAssociate() {
        var tb = T(agents: 2, allowed: [T.address(1)])
        tb.run(for: 0.5)
        #expect(tb.controller.associations.keys.sorted() == [T.address(1)])
        #expect(tb.agents["ar1"]!.isAssociated && !tb.agents["ar2"]!.isAssociated)
        #expect(tb.messages(.associationSetupResponse).contains { $0.cause == .requestRejected })
        #expect(tb.controller.counters.dropped[.unknownAgent]! >= 1)
    }

    /// The store keeps what `takeChanges` hands it; replayed, the changes
    /// give the controller's snapshot, at every step.
    @Test func theChangesForTheStoreRebuildTheSnapshot() {
        var tb = T()
        var associations: [IPv6Address: Controller.Association] = [:]
        var sessions: [UInt64: Controller.Session] = [:]
        func replay() {
            let changes = tb.controller.takeChanges()
            for (agent, a) in changes.associations { associations[agent] = a }
            for (seid, s) in changes.sessions { sessions[seid] = s }
            let snapshot = tb.controller.snapshot
            #expect(snapshot.associations == associations.keys.sorted().map { associations[$0]! })
            #expect(snapshot.sessions == sessions.keys.sorted().map { sessions[$0]! })
        }
        tb.run(for: 0.5)
        replay()
        #expect(associations.count == 3)
        for serving in ["ar1", "ar2", "ar3"] {
            tb.place(Self.prefix, anchor: "ar1", serving: serving)
            replay()  // wanted, before any answer
            tb.run(for: 0.5)
            replay()  // acknowledged
        }
        tb.place(Self.prefix, anchor: "ar1", serving: nil)
        tb.run(for: 0.5)
        replay()
        #expect(sessions.isEmpty)
    }

    // MARK: Hostile PFCP at the agent

    /// A Session Establishment from the controller with the rules of `rules`.
    static func establishment(_ rules: [ForwardingRule], seid: UInt64, sequence: UInt32, anchoredHere: Bool = true) -> PFCPMessage {
        var m = PFCPMessage(.sessionEstablishmentRequest, sequence: sequence, seid: 0)
        m.nodeID = .ipv6(T.controllerAddress)
        m.fSEID = PFCPFSEID(seid: seid, ipv6: T.controllerAddress)
        PFCPRuleMapping.write(rules, anchoredHere: anchoredHere, into: &m)
        return m
    }

    /// Sends `bytes` to ar1 as the controller (or `from`), and returns its answer.
    static func ask(_ tb: inout PFCPTestbed, _ bytes: [UInt8], from: IPv6Address = T.controllerAddress) -> PFCPMessage? {
        let mark = tb.sent.count
        tb.inject(bytes, from: from, to: "ar1")
        return tb.sent[mark...].first { $0.from == "ar1" }?.message
    }

    @Test func hostileRequestsAtAnAgentAreAnsweredWithTheirCauseAndChangeNothing() throws {
        var tb = Self.movedToAR2()
        let writes = tb.writes["ar1"]!
        let sessions = tb.agents["ar1"]!.sessionCount
        var sequence: UInt32 = 0x10
        func next() -> UInt32 { sequence += 1; return sequence }

        // Anchoring a prefix of another agent's pool.
        let foreign = IPv6Prefix("2001:db8:2:9::/64")!
        let steal = Self.establishment([.encapsulate(foreign, endpoint: T.address(3), mode: .ipv6InIPv6)], seid: 900, sequence: next())
        var r = try #require(Self.ask(&tb, steal.encode()))
        #expect(r.cause == .ruleCreationModificationFailure && r.offendingIE == .ueIPAddress && r.fSEID == nil)
        let deliver = Self.establishment([.deliver(foreign, link: "ar1-n1")], seid: 901, sequence: next())
        r = try #require(Self.ask(&tb, deliver.encode()))
        #expect(r.cause == .ruleCreationModificationFailure)

        // A session the agent does not have.
        var modify = PFCPMessage(.sessionModificationRequest, sequence: next(), seid: 0xDEAD)
        modify.removePDR = [PFCPRuleReference(id: 1)]
        r = try #require(Self.ask(&tb, modify.encode()))
        #expect(r.cause == .sessionContextNotFound && r.seid == 0)

        // A mandatory IE missing: no F-SEID.
        var missing = Self.establishment([.deliver(Self.prefix, link: "ar1-n1")], seid: 902, sequence: next())
        missing.fSEID = nil
        r = try #require(Self.ask(&tb, missing.encode()))
        #expect(r.cause == .mandatoryIEMissing && r.offendingIE == .fSEID)

        // Bad lengths: an IE running past the message, and a message length
        // longer than the datagram.
        var bytes = try Self.establishment([.deliver(Self.prefix, link: "ar1-n1")], seid: 903, sequence: next()).encode()
        bytes[18] = 0xFF  // the first IE's length (after the 16-byte header)
        r = try #require(Self.ask(&tb, bytes))
        #expect(r.cause == .invalidLength && r.type == .sessionEstablishmentResponse)
        bytes = try Self.establishment([.deliver(Self.prefix, link: "ar1-n1")], seid: 904, sequence: next()).encode()
        bytes[2] &+= 1
        r = try #require(Self.ask(&tb, bytes))
        #expect(r.cause == .invalidLength)

        // A grouped IE out of place (a Create PDR in a heartbeat) is not read.
        var heartbeat = PFCPMessage(.heartbeatRequest, sequence: next())
        heartbeat.recoveryTimeStamp = tb.controller.recoveryTimeStamp
        var inner = ByteWriter(capacity: 16)
        inner.u16(PFCPIEType.pdrID.rawValue); inner.u16(2); inner.u16(1)
        heartbeat.unknown = [PFCPRawIE(type: .createPDR, value: inner.bytes)]
        r = try #require(Self.ask(&tb, heartbeat.encode()))
        #expect(r.type == .heartbeatResponse)

        // A valid request from someone other than the controller: dropped, no answer.
        let impostor = Self.establishment([.deliver(Self.prefix, link: "ar1-n1")], seid: 905, sequence: next())
        #expect(Self.ask(&tb, try impostor.encode(), from: T.address(3)) == nil)
        #expect(tb.agents["ar1"]!.counters.dropped[.notTheController] == 1)

        // Nothing changed; each refusal counted by its Cause.
        #expect(tb.writes["ar1"] == writes)
        #expect(tb.agents["ar1"]!.sessionCount == sessions)
        let refused = tb.agents["ar1"]!.pfcpCounters.refused
        #expect(refused[PFCPCause.ruleCreationModificationFailure.rawValue] == 2)
        #expect(refused[PFCPCause.sessionContextNotFound.rawValue] == 1)
        #expect(refused[PFCPCause.mandatoryIEMissing.rawValue] == 1)
        #expect(refused[PFCPCause.invalidLength.rawValue] == 2)
    }

    @Test func anAgentWithoutAnAssociationRefusesSessions() throws {
        var tb = T(agents: 1)
        tb.isolated = ["ar1"]  // its Association Setup never arrives
        tb.run(for: 0.05)
        let r = try #require(Self.ask(&tb, Self.establishment([.deliver(Self.prefix, link: "ar1-n1")], seid: 1, sequence: 1).encode()))
        #expect(r.cause == .noEstablishedAssociation)
        #expect(tb.writes["ar1"] == 0 && tb.agents["ar1"]!.sessionCount == 0)
    }

    @Test func aRequestSentAgainIsAnsweredAgainAndCarriedOutOnce() throws {
        var tb = T(agents: 1)
        tb.run(for: 0.5)
        let bytes = try Self.establishment([.deliver(Self.prefix, link: "ar1-n1")], seid: 77, sequence: 5).encode()
        let first = try #require(Self.ask(&tb, bytes))
        let second = try #require(Self.ask(&tb, bytes))
        #expect(first.cause == .requestAccepted && second == first)
        #expect(tb.agents["ar1"]!.pfcpCounters.duplicates == 1)
        #expect(tb.writes["ar1"] == 1)
    }

    @Test func aLostAnswerIsRecoveredByRetransmission() {
        var tb = T(agents: 2)
        tb.run(for: 0.5)
        // The agent's answer is lost once: the controller sends the request
        // again after T1 and the agent answers from its cache.
        tb.place(Self.prefix, anchor: "ar1", serving: "ar1")
        tb.dropNext(from: "ar1")
        tb.run(for: 0.5)
        #expect(tb.controller.pfcpCounters.retransmissions == 1)
        #expect(tb.agents["ar1"]!.pfcpCounters.duplicates == 1)
        #expect(tb.writes["ar1"] == 1)
        #expect(tb.controller.sessions.values.allSatisfy { $0.acknowledged == $0.wanted })
    }

    /// A message over 64 KiB cannot be written (its Message Length has 16
    /// bits): an Association Setup Request with 4,000 pools is not sent,
    /// and is counted; the configuration says so beforehand (the agent's
    /// configuration reader refuses it).
    @Test func aMessageTooLongToEncodeIsCountedAndNotSent() {
        func pools(_ n: Int) -> [IPv6Prefix] {
            (0..<n).map { IPv6Prefix(IPv6Address(high: 0x2001_0db8_0000_0000 | UInt64($0) << 16, low: 0), length: 48) }
        }
        let now = Instant(seconds: 1_795_000_000)
        let config = DataPlaneAgent.Config(address: T.address(1), controller: T.controllerAddress, pools: pools(4000), poolIdentity: "big")
        #expect(!config.registrationFits)
        var agent = DataPlaneAgent(config: config, startedAt: now)
        agent.start(at: now)
        #expect(!agent.pollActions().contains { if case .send = $0 { true } else { false } })
        #expect(agent.pfcpCounters.unencodable == 1 && !agent.isAssociated)
        // The most that fit: the controller's answer, echoing them, is sent;
        // one more does not fit.
        var lo = 1, hi = 4000
        while lo < hi {
            let n = (lo + hi + 1) / 2
            var c = config
            c.pools = pools(n)
            if c.registrationFits { lo = n } else { hi = n - 1 }
        }
        var most = config, tooMany = config
        most.pools = pools(lo)
        tooMany.pools = pools(lo + 1)
        #expect(most.registrationFits && !tooMany.registrationFits && lo > 2000, "\(lo) pools")
        var fitting = DataPlaneAgent(config: most, startedAt: now)
        fitting.start(at: now)
        var controller = Controller(config: .init(address: T.controllerAddress), startedAt: now)
        for case .send(let datagram, _) in fitting.pollActions() { controller.handle(.pfcp(datagram, from: T.address(1)), at: now) }
        #expect(controller.associations[T.address(1)]?.pools.first?.prefixes.count == lo)
        #expect(controller.pollActions().contains { if case .send = $0 { true } else { false } }, "the answer is sent")
        #expect(controller.pfcpCounters.unencodable == 0)
    }

    // MARK: Hostile PFCP at the controller

    @Test func hostileMessagesAtTheControllerAreCountedAndChangeNothing() throws {
        var tb = T(agents: 1)
        tb.run(for: 0.5)
        let stranger = T.address(9)
        func ask(_ m: PFCPMessage, from: IPv6Address) throws -> PFCPMessage? {
            let mark = tb.sent.count
            tb.inject(try m.encode(), from: from, to: "controller")
            return tb.sent[mark...].first { $0.from == "controller" }?.message
        }
        // A Node Report from no association.
        var report = PFCPMessage(.nodeReportRequest, sequence: 3)
        report.nodeID = .ipv6(stranger)
        report.nodeReportType = .vendorSpecific
        report.loadControl = PFCPLoadControl(sequence: 1, metric: 99)
        #expect(try ask(report, from: stranger)?.cause == .noEstablishedAssociation)
        #expect(tb.controller.associations[stranger] == nil)
        // An association for a Node ID that is not the sender.
        var setup = PFCPMessage(.associationSetupRequest, sequence: 4)
        setup.nodeID = .ipv6(T.address(1))
        setup.recoveryTimeStamp = 1
        setup.poolInformation = [PFCPPoolInformation(identity: "x", prefixes: [IPv6Prefix("2001:db8::/32")!])]
        let answer = try ask(setup, from: stranger)
        #expect(answer?.cause == .mandatoryIEIncorrect && answer?.unknown.isEmpty == true)
        // One whose Node ID IE is cut short: refused with what an Association
        // Setup Response must carry (the test bed decodes every datagram sent).
        var cut = try setup.encode()
        #expect(cut[8...9] == [0, 60])  // the Node ID IE first, after the 8-octet header
        cut[10...11] = [0, 3]  // its length: too short for an IPv6 address
        let mark = tb.sent.count
        tb.inject(cut, from: stranger, to: "controller")
        let refusal = tb.sent[mark...].first { $0.from == "controller" }?.message
        #expect(refusal?.type == .associationSetupResponse && refusal?.recoveryTimeStamp != nil && refusal?.nodeID != nil)
        #expect(refusal?.cause != nil && refusal?.cause?.isAcceptance == false && refusal?.unknown.isEmpty == true)
        #expect(tb.controller.associations[T.address(1)]?.pools.first?.identity == "ar1")
        // A response to nothing it asked.
        var response = PFCPMessage(.sessionModificationResponse, sequence: 0xABCD, seid: 1)
        response.cause = .requestAccepted
        #expect(try ask(response, from: T.address(1)) == nil)
        #expect(tb.controller.pfcpCounters.unexpectedResponses == 1)
        // Bytes that are not PFCP.
        tb.inject([0x21, 0x01, 0x00], from: stranger, to: "controller")
        #expect(tb.controller.pfcpCounters.malformed.values.reduce(0, +) == 2, "these and the cut Association Setup Request")
        #expect(tb.controller.counters.dropped[.noAssociation] == 1)
        #expect(tb.controller.sessions.isEmpty && tb.controller.associations.count == 1)
    }
}

extension PFCPTestbed {
    mutating func place(_ prefix: IPv6Prefix, anchor: String, serving: String?) {
        let at = serving.map { Placement.Attachment(agent: addresses[$0]!, link: PFCPCallFlowTests.link($0)) }
        controller.place(Placement(prefix: prefix, anchor: addresses[anchor]!, serving: at), at: now)
        collect()
    }
}
