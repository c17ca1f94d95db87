import DMMDataPlane
import DMMWire
import Testing

@testable import DMMCore

/// The roles of the access router one at a time, for what the call flows do
/// not reach: naming a node on its link with the engine's clock, a node on
/// two links, a binding with two prefixes, a prefix adopted from another
/// anchor, and a Binding Update without the proxy flag.
struct AccessLinkRoleTests {
    static let link = LinkID("mn1")
    static let mac: [UInt8] = [2, 0, 0, 0, 0, 7]

    static func router(_ identity: NodeIdentity = .linkLayerAddress) -> AccessRouter {
        var config = AccessRouterConfig(address: Testbed.marAddress(1), prefixBlock: Testbed.block(1), peers: [Testbed.marAddress(2)],
                                        locationServer: Testbed.lmsAddress)
        config.nodeIdentity = identity
        var r = AccessRouter(config: config)
        r.start(at: Instant(seconds: 100))
        // Recovery finds nothing: the location server has no record.
        let recover = r.pollActions().compactMap { if case .location(let e) = $0 { e.id } else { nil } }.first!
        r.handle(.location(LocationEnvelope(id: recover, .page([], next: nil))), at: Instant(seconds: 100))
        _ = r.pollActions()
        return r
    }

    static func names(_ actions: [AccessRouterAction]) -> [String] {
        actions.map {
            switch $0 {
            case .watchFrames(let l): "watch \(l)"
            case .stopWatchingFrames(let l): "stop watching \(l)"
            case .sendRouterAdvertisement(let ra, let l): "RA on \(l) with \(ra.options.count - 2) prefixes"
            case .sendEchoRequest(let l, let n): "echo \(n) on \(l)"
            case .location(let e): if case .query = e.body { "query" } else { "location" }
            case .nodeAttached(let n, let l): "attached \(n) on \(l)"
            default: "\($0)"
            }
        }
    }

    @Test func aMovedNodeIsNamedByItsFirstFrameAfterTheLinkUpAdvertisement() {
        var r = Self.router()
        let t = Instant(seconds: 200)
        r.handle(.linkAppeared(Self.link), at: t)
        #expect(Self.names(r.pollActions()) == ["watch mn1"])
        r.handle(.linkUp(Self.link), at: t)
        #expect(Self.names(r.pollActions()) == ["RA on mn1 with 0 prefixes"])
        #expect(r.nextDeadline() == t, "the first probe is due at once, after the frames already queued")
        r.handle(.frame(link: Self.link, source: Self.mac), at: t)
        #expect(Self.names(r.pollActions()) == ["stop watching mn1", "query", "attached 02:00:00:00:00:07 on mn1"])
        r.handleTimeout(at: t)
        #expect(r.pollActions().isEmpty, "named: no probe")
        // Later frames on the link name nobody else.
        r.handle(.frame(link: Self.link, source: [2, 0, 0, 0, 0, 8]), at: t + 0.001)
        #expect(r.pollActions().isEmpty && r.counters.attachments == 1)
    }

    @Test func aSilentNodeIsProbedEvery10msAndGivenUpAfter100() {
        var r = Self.router()
        var t = Instant(seconds: 200)
        r.handle(.linkAppeared(Self.link), at: t)
        r.handle(.linkUp(Self.link), at: t)
        _ = r.pollActions()
        for n in 0..<100 {
            #expect(r.nextDeadline() == t)
            r.handleTimeout(at: t)
            #expect(Self.names(r.pollActions()) == ["echo \(n) on mn1"])
            t = t + 0.01
        }
        r.handleTimeout(at: t)
        #expect(Self.names(r.pollActions()) == ["stop watching mn1"])
        #expect(r.counters.ignored[.nodeNeverAnswered] == 1 && r.nextDeadline() == nil)
    }

    @Test func routerSolicitationsNameTheNodeOrAreAnsweredOrDropped() {
        var r = Self.router()
        let t = Instant(seconds: 200), source = IPv6Address("fe80::7")!
        r.handle(.routerSolicitation(link: Self.link, hopLimit: 64, sourceLinkLayerAddress: Self.mac, source: source), at: t)
        #expect(r.pollActions().isEmpty && r.counters.ignored[.routerSolicitationHopLimit] == 1)
        r.handle(.routerSolicitation(link: Self.link, hopLimit: 255, sourceLinkLayerAddress: Self.mac, source: source), at: t)
        let query = r.pollActions().compactMap { if case .location(let e) = $0 { e } else { nil } }.first!
        r.handle(.location(LocationEnvelope(id: query.id, .records(MobileNodeID(linkLayerAddress: Self.mac), []))), at: t)
        #expect(Self.names(r.pollActions()).contains("RA on mn1 with 1 prefixes"))
        r.handle(.routerSolicitation(link: Self.link, hopLimit: 255, sourceLinkLayerAddress: Self.mac, source: source), at: t + 1)
        #expect(Self.names(r.pollActions()) == ["RA on mn1 with 1 prefixes"], "attached: answered with the prefixes")
    }

    @Test func aLinkNamedNodeAttachesAtLinkUp() {
        var r = Self.router(.interfaceName)
        r.handle(.linkAppeared(Self.link), at: Instant(seconds: 200))
        #expect(r.pollActions().isEmpty, "nothing to watch")
        r.handle(.linkUp(Self.link), at: Instant(seconds: 200))
        #expect(Self.names(r.pollActions()) == ["RA on mn1 with 0 prefixes", "query", "attached mn1 on mn1"])
    }

    /// A node on two links of one router is two attachments, each with a
    /// prefix of its own; one link going down leaves the other as it was.
    @Test func aNodeOnTwoLinksIsTwoAttachments() throws {
        var tb = Testbed()
        let p1 = try tb.start("MN1", at: "MAR1")
        let second = LinkID("mn1-mar1-wlan")
        tb.mars["MAR1"]!.handle(.attached(tb.identities["MN1"]!, link: second, linkLayerAddress: []), at: tb.now)
        tb.collect("MAR1")
        tb.run(for: 0.1)
        let s = tb.mars["MAR1"]!.snapshot()
        #expect(s.attachments.map(\.link) == ["mn1-mar1", "mn1-mar1-wlan"] && s.attachments.allSatisfy(\.served))
        let homes = s.anchored.filter { $0.state.hasPrefix("home") }.map(\.state)
        #expect(homes == ["home on mn1-mar1", "home on mn1-mar1-wlan"], "a prefix for each link, the first kept on its link")
        #expect(tb.network.rules(mentioning: p1) == ["MAR1: deliver \(p1) on mn1-mar1"])
        tb.mars["MAR1"]!.handle(.detached(second), at: tb.now)
        tb.collect("MAR1")
        #expect(tb.network.rules(mentioning: p1) == ["MAR1: deliver \(p1) on mn1-mar1"])
        #expect(tb.mars["MAR1"]!.snapshot().attachments.map(\.link) == ["mn1-mar1"])
    }
}

struct AnchorRoleTests {
    static func pbu(_ prefixes: [IPv6Prefix], node: String = "mn1@dmm.example", at now: Instant, flags: BindingUpdate.Flags) -> MobilityHeader {
        MobilityHeader(.bindingUpdate(BindingUpdate(sequence: 7, flags: flags, lifetime: 75, options:
            [.mobileNodeIdentifier(.nai(node))] + prefixes.map { .homeNetworkPrefix($0) }
            + [.handoffIndicator(.handoffSameInterface), .accessTechnologyType(.ieee8023), .timestamp(Timestamp(unixSeconds: now.seconds))])))
    }

    static func reply(_ r: inout AccessRouter) -> BindingAcknowledgement? {
        r.pollActions().lazy.compactMap { if case .sendMobility(let mh, _) = $0, case .bindingAcknowledgement(let ba) = mh.message { ba } else { nil } }.first
    }

    /// Two prefixes of one node in one PBU: one binding for both, one PBA
    /// echoing both; with one of them not the node's, refused whole.
    @Test func oneBindingForTwoPrefixes() throws {
        var tb = Testbed()
        let p1 = try tb.start("MN1", at: "MAR1")
        tb.mars["MAR1"]!.handle(.attached(tb.identities["MN1"]!, link: "mn1-mar1-wlan", linkLayerAddress: []), at: tb.now)
        tb.collect("MAR1")
        tb.run(for: 0.1)
        let p2 = try #require(tb.mars["MAR1"]!.snapshot().anchored.map(\.prefix).first { $0 != p1 })
        let p3 = try tb.start("MN2", at: "MAR1")
        let flags: BindingUpdate.Flags = [.acknowledge, .homeRegistration, .proxyRegistration]
        let before = tb.mars["MAR1"]!.anchored
        tb.mars["MAR1"]!.handle(.mobility(Self.pbu([p1, p3], at: tb.now, flags: flags), from: Testbed.marAddress(2)), at: tb.now)
        #expect(Self.reply(&tb.mars["MAR1"]!)?.status == .notAuthorizedForHomeNetworkPrefix)
        #expect(tb.mars["MAR1"]!.anchored == before, "nothing changed")
        tb.mars["MAR1"]!.handle(.mobility(Self.pbu([p1, p1], at: tb.now, flags: flags), from: Testbed.marAddress(2)), at: tb.now)
        #expect(Self.reply(&tb.mars["MAR1"]!)?.status == .bcePBUPrefixSetDoNotMatch)

        tb.mars["MAR1"]!.handle(.mobility(Self.pbu([p1, p2], at: tb.now, flags: flags), from: Testbed.marAddress(2)), at: tb.now)
        let actions = tb.mars["MAR1"]!.pollActions()
        let tunnels = actions.compactMap { if case .install(.encapsulate(let p, _, _)) = $0 { p } else { nil } }
        #expect(tunnels == [p1, p2])
        let pba = actions.compactMap { if case .sendMobility(let mh, _) = $0, case .bindingAcknowledgement(let ba) = mh.message { ba } else { nil } }
        #expect(pba.count == 1 && pba[0].status == .accepted)
        #expect(pba[0].options.compactMap { if case .homeNetworkPrefix(let p) = $0 { p } else { nil } } == [p1, p2])
        for p in [p1, p2] { #expect(tb.mars["MAR1"]!.anchored[p]?.state == .away(.init(visited: Testbed.marAddress(2), sequence: 7))) }
    }

    /// A prefix of another router's block, adopted here, is this anchor's
    /// like its own: a PBU for it is accepted, one for a prefix not adopted
    /// is not this anchor's business.
    @Test func anAdoptedPrefixFromOutsideThePool() throws {
        var tb = Testbed()
        tb.run(for: 0.1)  // start-up recovery over
        let node = MobileNodeID("mn9@dmm.example")
        let foreign = IPv6Prefix("2001:db8:2:77::/64")!
        var context = tb.mars["MAR3"]!.context
        #expect(tb.mars["MAR3"]!.anchor.adopt(foreign, node: node, link: "mn9-mar3", &context))
        #expect(!tb.mars["MAR3"]!.anchor.adopt(foreign, node: node, link: "mn9-mar3", &context), "once")
        #expect(!tb.mars["MAR3"]!.anchor.adopt(IPv6Prefix("2001:db8:3:1::/64")!, node: node, link: "mn9-mar3", &context), "its own block")
        tb.mars["MAR3"]!.context = context
        #expect(tb.mars["MAR3"]!.pollActions() == [.install(.deliver(foreign, link: "mn9-mar3"))])
        #expect(tb.mars["MAR3"]!.snapshot().anchored.map(\.prefix) == [foreign])

        let flags: BindingUpdate.Flags = [.acknowledge, .homeRegistration, .proxyRegistration]
        tb.mars["MAR3"]!.handle(.mobility(Self.pbu([foreign], node: "mn9@dmm.example", at: tb.now, flags: flags), from: Testbed.marAddress(1)),
                                at: tb.now)
        #expect(Self.reply(&tb.mars["MAR3"]!)?.status == .accepted)
        #expect(tb.mars["MAR3"]!.anchored[foreign]?.state == .away(.init(visited: Testbed.marAddress(1), sequence: 7)))
        let other = IPv6Prefix("2001:db8:2:78::/64")!
        tb.mars["MAR3"]!.handle(.mobility(Self.pbu([other], node: "mn9@dmm.example", at: tb.now + 0.01, flags: flags), from: Testbed.marAddress(1)),
                                at: tb.now + 0.01)
        #expect(Self.reply(&tb.mars["MAR3"]!)?.status == .notLMAForThisMobileNode)
    }

    /// A Binding Update without the proxy flag goes to the role for mobile
    /// nodes' own bindings, which refuses it for now: a status, a count, no
    /// state change.
    @Test(arguments: [
        (BindingUpdate.Flags([.acknowledge, .homeRegistration]), BindingAckStatus.homeRegistrationNotSupported),
        (BindingUpdate.Flags([.acknowledge]), BindingAckStatus.administrativelyProhibited),
    ])
    func aBindingUpdateWithoutTheProxyFlag(flags: BindingUpdate.Flags, status: BindingAckStatus) throws {
        var tb = Testbed()
        let p1 = try tb.start("MN1", at: "MAR1")
        let before = tb.mars["MAR1"]!.anchored
        tb.mars["MAR1"]!.handle(.mobility(Self.pbu([p1], at: tb.now, flags: flags), from: IPv6Address("2001:db8:1::99")!), at: tb.now)
        let actions = tb.mars["MAR1"]!.pollActions()
        #expect(actions.count == 1)
        guard case .sendMobility(let mh, _)? = actions.first, case .bindingAcknowledgement(let ba) = mh.message else {
            Issue.record("no BA: \(actions)")
            return
        }
        #expect(ba.status == status && !ba.flags.contains(.proxyRegistration) && ba.lifetime == 0 && ba.sequence == 7)
        #expect(tb.mars["MAR1"]!.counters.rejected[status] == 1)
        #expect(tb.mars["MAR1"]!.anchored == before)
    }
}

struct ServingRoleTests {
    /// A refresh is a state of its own: "refreshing" until its PBA.
    @Test func aRefreshIsAStateOfItsOwn() throws {
        var tb = Testbed()
        _ = try tb.startAway("MN1")
        #expect(tb.mars["MAR2"]!.snapshot().visiting.map(\.state) == ["registered"])
        // Refreshed at 80% of the granted 300 s; its PBA comes 2 ms later.
        tb.run(for: 239.5)
        var seen: [String] = []
        for _ in 0..<1000 where seen.last != "registered" || seen.count < 2 {
            tb.run(for: 0.0005)
            let state = tb.mars["MAR2"]!.snapshot().visiting.map(\.state).first ?? "none"
            if state != seen.last { seen.append(state) }
        }
        #expect(seen == ["registered", "refreshing", "registered"])
        #expect(tb.mars["MAR2"]!.snapshot().visiting.map(\.state) == ["registered"])
        #expect(tb.mars["MAR2"]!.counters.bindingsEstablished == 1, "a refresh is no new binding")
    }
}
