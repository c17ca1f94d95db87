import DMMWire
import Testing

@testable import DMMCore

/// The controller's location management over the PFCP test bed: the flat
/// scheme with LM and FM-CP centralized (RFC 8818 Figure 1, indirection),
/// from the access routers' reports to the rules in each agent's kernel.
@Suite struct LocationManagementTests {
    typealias T = PFCPTestbed
    static let link = LinkID("acc0")

    static func started(agents: Int = 3) -> PFCPTestbed {
        var tb = T(agents: agents)
        tb.run(for: 0.5)
        return tb
    }

    @Test func aNodeGetsAPrefixOfItsAccessRoutersPoolDeliveredThere() throws {
        var tb = Self.started()
        let ads = tb.attach("mn1", at: "ar1")
        tb.run(for: 0.5)
        let p = try #require(ads.first?.prefix)
        #expect(ads == [LocationManagement.Advertisement(prefix: p, preferred: true)])
        #expect(T.block(1).contains(p.address) && p.length == 64)
        #expect(tb.rules(at: "ar1") == [.deliver(p, link: Self.link)])
        #expect(tb.rules(at: "ar2").isEmpty && tb.rules(at: "ar3").isEmpty)
        // A second node, another prefix.
        let other = tb.attach("mn2", at: "ar1")
        #expect(other.count == 1 && other[0].prefix != p)
    }

    @Test func onlyAPrefixWithFlowsFollowsTheNodeAndItGoesWhenTheyEnd() throws {
        var tb = Self.started()
        let p1 = try #require(tb.attach("mn1", at: "ar1").first?.prefix)
        tb.flows(p1, active: true)
        tb.run(for: 0.5)
        // To ar2: a new preferred prefix there, p1 deprecated and tunnelled.
        let ads = tb.attach("mn1", at: "ar2")
        tb.run(for: 0.5)
        let p2 = try #require(ads.first?.prefix)
        #expect(ads == [.init(prefix: p2, preferred: true), .init(prefix: p1, preferred: false)])
        #expect(T.block(2).contains(p2.address))
        #expect(tb.rules(at: "ar1") == [.encapsulate(p1, endpoint: T.address(2), mode: .ipv6InIPv6)])
        #expect(tb.rules(at: "ar2") == [.deliver(p1, link: Self.link),
                                        .reverseTunnel(from: p1, link: Self.link, endpoint: T.address(1), mode: .ipv6InIPv6),
                                        .deliver(p2, link: Self.link)])
        // On to ar3 with flows on p1 only: p2 (no flows) is released at once.
        let ads3 = tb.attach("mn1", at: "ar3")
        tb.run(for: 0.5)
        let p3 = try #require(ads3.first?.prefix)
        #expect(Set(ads3.map(\.prefix)) == [p3, p1])
        #expect(tb.rules(at: "ar2").isEmpty)
        #expect(tb.rules(at: "ar1") == [.encapsulate(p1, endpoint: T.address(3), mode: .ipv6InIPv6)])
        #expect(tb.location.holder(of: p2) == nil)
        // p1's flows end: every entry for it goes; p3 stays, preferred where the node is.
        tb.flows(p1, active: false)
        tb.run(for: 0.5)
        #expect(tb.rules(at: "ar1").isEmpty)
        #expect(tb.rules(at: "ar3") == [.deliver(p3, link: Self.link)])
        #expect(tb.location.nodes[MobileNodeID("mn1")]?.map(\.prefix) == [p3])
        #expect(tb.controller.sessions.count == 1)
    }

    /// A node that lists its previous prefixes in its Router Solicitation
    /// (I-D.jhlee-dmm-dnpp) has those it holds carried, flows counted or
    /// not; a listed prefix it does not hold is neither advertised nor
    /// touched.
    @Test func listedPrefixesTheNodeHoldsFollowItAndOthersAreIgnored() throws {
        var tb = Self.started()
        let p1 = try #require(tb.attach("mn1", at: "ar1").first?.prefix)
        let theirs = try #require(tb.attach("mn2", at: "ar3").first?.prefix)
        let nobodys = IPv6Prefix("2001:db8:77::/64")!
        tb.run(for: 0.5)
        let ads = tb.attach("mn1", at: "ar2", previous: [p1, theirs, nobodys])
        tb.run(for: 0.5)
        let p2 = try #require(ads.first?.prefix)
        #expect(ads == [.init(prefix: p2, preferred: true), .init(prefix: p1, preferred: false)], "no flow was counted on p1")
        #expect(tb.rules(at: "ar1") == [.encapsulate(p1, endpoint: T.address(2), mode: .ipv6InIPv6)])
        #expect(tb.rules(at: "ar3") == [.deliver(theirs, link: Self.link)], "mn2's prefix stays where mn2 is")
        #expect(tb.location.holder(of: theirs) == MobileNodeID("mn2") && tb.location.holder(of: nobodys) == nil)
        #expect(tb.location.listed == .init(used: 1, notTheNodes: 2))
        // Unlisted and without flows at the next move: released as for any node.
        _ = tb.attach("mn1", at: "ar3")
        tb.run(for: 0.5)
        #expect(tb.location.holder(of: p1) == nil && tb.rules(at: "ar1").isEmpty)
    }

    /// A prefix released from the node when it left (no flow was counted
    /// on it) and listed at its next attachment comes back from the
    /// hold-down; not for another node, nor once the hold-down is over.
    @Test func aListedPrefixReleasedFromTheNodeComesBackWithinTheHoldDown() throws {
        var tb = Self.started()
        let p1 = try #require(tb.attach("mn1", at: "ar1").first?.prefix)
        tb.run(for: 0.5)
        tb.detach("mn1", from: "ar1")
        tb.run(for: 0.5)
        #expect(tb.location.holder(of: p1) == nil && tb.location.holding.map(\.prefix) == [p1] && tb.rules(at: "ar1").isEmpty)
        let ads = tb.attach("mn1", at: "ar2", previous: [p1])
        tb.run(for: 0.5)
        #expect(ads.count == 2 && ads[1] == .init(prefix: p1, preferred: false))
        #expect(tb.location.holder(of: p1) == MobileNodeID("mn1") && tb.location.holding.isEmpty)
        #expect(tb.rules(at: "ar1") == [.encapsulate(p1, endpoint: T.address(2), mode: .ipv6InIPv6)])
        // Released again (unlisted, no flows): another node listing it gets nothing.
        _ = tb.attach("mn1", at: "ar3")
        tb.run(for: 0.5)
        _ = tb.attach("mn2", at: "ar3", previous: [p1])
        #expect(tb.location.holder(of: p1) == nil && tb.location.holding.map(\.prefix).contains(p1))
        // Once the hold-down is over, not even for the node it was released from.
        tb.run(for: tb.location.holdDown * 1.1)
        _ = tb.attach("mn1", at: "ar2", previous: [p1])
        #expect(tb.location.holder(of: p1) == nil)
        #expect(tb.location.listed == .init(used: 1, notTheNodes: 2))
    }

    /// A prefix released because its flows ended was withdrawn from the
    /// node; a node that still lists it (Linux keeps the address) does not
    /// get it back.
    @Test func aListedPrefixWhoseFlowsEndedStaysReleased() throws {
        var tb = Self.started()
        let p1 = try #require(tb.attach("mn1", at: "ar1").first?.prefix)
        tb.flows(p1, active: true)
        _ = tb.attach("mn1", at: "ar2")
        tb.flows(p1, active: false)
        tb.run(for: 0.5)
        #expect(tb.location.holder(of: p1) == nil && tb.rules(at: "ar1").isEmpty)
        _ = tb.attach("mn1", at: "ar3", previous: [p1])
        tb.run(for: 0.5)
        #expect(tb.location.holder(of: p1) == nil && tb.rules(at: "ar1").isEmpty)
        #expect(tb.location.listed == .init(used: 0, notTheNodes: 1))
    }

    @Test func backHomeThePrefixIsDeliveredAgainAndPreferred() throws {
        var tb = Self.started()
        let p1 = try #require(tb.attach("mn1", at: "ar1").first?.prefix)
        tb.flows(p1, active: true)
        _ = tb.attach("mn1", at: "ar2")
        tb.run(for: 0.5)
        let ads = tb.attach("mn1", at: "ar1")
        tb.run(for: 0.5)
        #expect(ads.first == .init(prefix: p1, preferred: true))
        #expect(tb.rules(at: "ar1") == [.deliver(p1, link: Self.link)])
        #expect(tb.rules(at: "ar2").isEmpty, "ar2's prefix had no flows: released")
    }

    @Test func aNodeThatLeavesKeepsOnlyPrefixesWithFlows() throws {
        var tb = Self.started()
        let p1 = try #require(tb.attach("mn1", at: "ar1").first?.prefix)
        tb.flows(p1, active: true)
        let p2 = try #require(tb.attach("mn1", at: "ar2").first?.prefix)
        tb.run(for: 0.5)
        tb.detach("mn1", from: "ar2")
        tb.run(for: 0.5)
        #expect(tb.location.holder(of: p2) == nil && tb.location.holder(of: p1) == MobileNodeID("mn1"))
        #expect(tb.rules(at: "ar2").count == 2, "p1 still served where the node was")
        // A stale detach (the node is elsewhere already) changes nothing.
        _ = tb.attach("mn1", at: "ar3")
        tb.detach("mn1", from: "ar2")
        #expect(tb.location.attachments[MobileNodeID("mn1")]?.agent == T.address(3))
    }

    @Test func aNodeAtAnAgentThatIsDownIsAnchoredElsewhere() throws {
        var tb = Self.started()
        tb.isolated = ["ar1"]
        tb.run(for: 2)
        tb.isolated = []
        #expect(tb.controller.associations[T.address(1)]?.status == .down)
        let ads = tb.attach("mn1", at: "ar1")
        let p = try #require(ads.first?.prefix)
        #expect(T.block(2).contains(p.address), "anchored at the least loaded agent that is up")
        tb.run(for: 0.5)
        #expect(tb.rules(at: "ar2") == [.encapsulate(p, endpoint: T.address(1), mode: .ipv6InIPv6)])
        #expect(tb.rules(at: "ar1").contains(.deliver(p, link: Self.link)))
    }

    @Test func aReleasedPrefixWaitsOutTheHoldDownBeforeItIsHandedOutAgain() throws {
        var tb = Self.started(agents: 1)
        let p = try #require(tb.attach("mn1", at: "ar1").first?.prefix)
        tb.detach("mn1", from: "ar1")
        let q = try #require(tb.attach("mn2", at: "ar1").first?.prefix)
        #expect(q != p)
        tb.detach("mn2", from: "ar1")
        tb.run(for: 11)
        let again = Set([tb.attach("mn3", at: "ar1").first?.prefix, tb.attach("mn4", at: "ar1").first?.prefix])
        #expect(again == [p, q])
    }

    /// The store keeps what `takeChanges` hands it; a controller restarted
    /// from it carries on where the old one stopped.
    @Test func aRestoredLocationManagementCarriesOn() throws {
        var tb = Self.started()
        var stored: [MobileNodeID: LocationManagement.Node] = [:]
        var holding: [LocationManagement.Holding] = []
        func replay() {
            let changes = tb.location.takeChanges()
            for n in changes.nodes { stored[n.node] = n.held.isEmpty && n.attachment == nil ? nil : n }
            if let h = changes.holding { holding = h }
            #expect(stored.keys.sorted().map { stored[$0]! } == tb.location.stored && holding == tb.location.holding)
        }
        let p1 = try #require(tb.attach("mn1", at: "ar1").first?.prefix)
        replay()
        tb.flows(p1, active: true)
        replay()
        let p2 = try #require(tb.attach("mn1", at: "ar2").first?.prefix)
        _ = tb.attach("mn2", at: "ar1")
        tb.detach("mn2", from: "ar1")
        replay()
        #expect(holding.count == 1)
        tb.run(for: 0.5)

        tb.restartController()
        tb.location = LocationManagement(holdDown: 10, restoring: stored.keys.sorted().map { stored[$0]! }, holding: holding)
        tb.run(for: 2)
        // The held-down prefix of mn2 is not handed out at once, nor is p1.
        let p3 = try #require(tb.attach("mn3", at: "ar1").first?.prefix)
        #expect(p3 != p1 && !holding.map(\.prefix).contains(p3))
        tb.flows(p1, active: false)
        tb.run(for: 0.5)
        #expect(!tb.rules(at: "ar1").contains { $0.prefix == p1 } && !tb.rules(at: "ar2").contains { $0.prefix == p1 })
        #expect(tb.rules(at: "ar2") == [.deliver(p2, link: Self.link)])
    }

    @Test func aReportAboutAPrefixNobodyHoldsChangesNothing() {
        var tb = Self.started()
        tb.flows(IPv6Prefix("2001:db8:1:99::/64")!, active: false)
        tb.detach("nobody", from: "ar1")
        #expect(tb.location.nodes.isEmpty && tb.controller.sessions.isEmpty)
    }
}
