import DMMWire
import Testing

@testable import DMMCore

/// Access routers under central control (RFC 8818 Figure 1): each keeps its
/// access links and reports to the controller as its LMc, in the location
/// protocol (encoded and decoded on the way); the controller's location
/// management decides, and its agents carry the forwarding out.
@Suite struct CentralAccessRouterTests {
    typealias T = PFCPTestbed
    static let node = MobileNodeID("mn1@dmm.example")
    static let link = LinkID("acc0")

    static func started() -> PFCPTestbed {
        var tb = T()
        for i in 1...3 {
            var config = AccessRouterConfig(address: T.address(i), prefixBlock: T.block(i), peers: [], locationServer: T.controllerAddress)
            config.control = .central
            var router = AccessRouter(config: config)
            router.start(at: tb.now)
            tb.routers["ar\(i)"] = router
        }
        tb.run(for: 0.5)
        tb.pumpRouters()
        return tb
    }

    /// The prefixes of the last Router Advertisement on `router`'s link:
    /// (prefix, preferred lifetime > 0, valid lifetime > 0).
    static func advertised(_ tb: PFCPTestbed, _ router: String) -> [(IPv6Prefix, preferred: Bool, valid: Bool)] {
        guard let ra = tb.advertisements.last(where: { $0.router == router })?.ra else { return [] }
        return ra.options.compactMap {
            if case .prefixInformation(let p) = $0 { (p.prefix, p.preferredLifetime > 0, p.validLifetime > 0) } else { nil }
        }
    }

    @Test func startingInstallsNothingAndAMobilityHeaderIsNotHeard() {
        var tb = Self.started()
        var ar1 = tb.routers["ar1"]!
        ar1.start(at: tb.now)
        #expect(ar1.pollActions().isEmpty, "its agent installs the router's own rules")
        ar1.handle(.mobility(MobilityHeader(.bindingUpdate(BindingUpdate(sequence: 1, flags: .proxyRegistration, lifetime: 1, options: []))),
                             from: T.address(2)), at: tb.now)
        #expect(ar1.pollActions().isEmpty && ar1.counters.ignored[.unexpectedMessage] == 1)
        tb.routers["ar1"] = ar1
    }

    @Test func aNodeMovesWithAFlowAndTheControllerDecidesEverything() throws {
        var tb = Self.started()
        // Attached at ar1: a prefix of ar1's pool, preferred, delivered there.
        tb.routerEvent("ar1", .attached(Self.node, link: Self.link, linkLayerAddress: [2, 0, 0, 0, 0, 1]))
        tb.run(for: 0.5)
        let first = Self.advertised(tb, "ar1")
        try #require(first.count == 1)
        let p1 = first[0].0
        #expect(first[0].preferred && T.block(1).contains(p1.address))
        #expect(tb.rules(at: "ar1") == [.deliver(p1, link: Self.link)])
        // A flow starts on it; the node moves to ar2.
        tb.routerEvent("ar1", .flows(p1, count: 1))
        tb.routerEvent("ar1", .detached(Self.link))
        tb.routerEvent("ar2", .attached(Self.node, link: Self.link, linkLayerAddress: [2, 0, 0, 0, 0, 1]))
        tb.run(for: 0.5)
        let second = Self.advertised(tb, "ar2")
        try #require(second.count == 2)
        let p2 = second.first { $0.preferred }!.0
        #expect(T.block(2).contains(p2.address))
        #expect(second.contains { $0.0 == p1 && !$0.preferred && $0.valid }, "the moved prefix deprecated")
        #expect(tb.rules(at: "ar1") == [.encapsulate(p1, endpoint: T.address(2), mode: .ipv6InIPv6)])
        #expect(Set(tb.rules(at: "ar2")) == [.deliver(p1, link: Self.link), .deliver(p2, link: Self.link),
                                            .reverseTunnel(from: p1, link: Self.link, endpoint: T.address(1), mode: .ipv6InIPv6)])
        // ar2 counts the flow, then it ends: p1 is withdrawn from the node
        // and every entry for it goes.
        tb.routerEvent("ar2", .flows(p1, count: 1))
        tb.routerEvent("ar2", .flows(p1, count: 0))
        tb.run(for: 0.5)
        #expect(Self.advertised(tb, "ar2").contains { $0.0 == p1 && !$0.valid }, "withdrawn: valid lifetime 0")
        #expect(tb.rules(at: "ar1").isEmpty)
        #expect(tb.rules(at: "ar2") == [.deliver(p2, link: Self.link)])
        #expect(tb.location.nodes[Self.node]?.map(\.prefix) == [p2])
        // The node leaves: nothing is left anywhere.
        tb.routerEvent("ar2", .detached(Self.link))
        tb.run(for: 0.5)
        #expect(["ar1", "ar2", "ar3"].allSatisfy { tb.rules(at: $0).isEmpty })
        #expect(tb.controller.sessions.isEmpty && tb.location.nodes.isEmpty)
    }

    /// The flows that made a prefix follow the node may have ended on the
    /// way: if the new access router counts none on it within its idle
    /// grace, it reports them ended, and the prefix goes.
    @Test func aDeprecatedPrefixWithNoFlowHereGoesAfterTheIdleGrace() throws {
        var tb = Self.started()
        tb.routerEvent("ar1", .attached(Self.node, link: Self.link, linkLayerAddress: [2, 0, 0, 0, 0, 1]))
        let p1 = try #require(Self.advertised(tb, "ar1").first?.0)
        tb.routerEvent("ar1", .flows(p1, count: 1))
        tb.routerEvent("ar1", .detached(Self.link))
        tb.routerEvent("ar2", .attached(Self.node, link: Self.link, linkLayerAddress: [2, 0, 0, 0, 0, 1]))
        tb.run(for: 1)
        #expect(tb.rules(at: "ar1") == [.encapsulate(p1, endpoint: T.address(2), mode: .ipv6InIPv6)])
        let grace = tb.routers["ar2"]!.config.idleGrace
        tb.runRouters(for: grace)
        #expect(tb.reports.last == .update(p1, serving: T.address(2), active: false))
        #expect(Self.advertised(tb, "ar2").contains { $0.0 == p1 && !$0.valid })
        tb.run(for: 0.5)
        #expect(tb.rules(at: "ar1").isEmpty && tb.location.holder(of: p1) == nil)
    }

    /// A node that lists its previous prefixes in its Router Solicitation
    /// (I-D.jhlee-dmm-dnpp): the access router reports them with the
    /// attachment, whether the solicitation names the node or comes after
    /// a frame did; what cannot be a node's prefix is not reported.
    @Test func previousPrefixesListedInASolicitationGoToTheController() throws {
        var tb = Self.started()
        let mac: [UInt8] = [2, 0, 0, 0, 0, 9], node = MobileNodeID(linkLayerAddress: mac)
        let source = IPv6Address("fe80::9")!
        func solicit(_ router: String, _ listing: [IPv6Prefix]) {
            tb.routerEvent(router, .routerSolicitation(link: Self.link, hopLimit: 255, sourceLinkLayerAddress: mac, source: source,
                                                       listing: listing))
        }
        solicit("ar1", [])
        let p1 = try #require(Self.advertised(tb, "ar1").first?.0)
        #expect(tb.reports.last == .attached(node, link: Self.link), "an unmodified host lists nothing")
        tb.routerEvent("ar1", .detached(Self.link))
        // The solicitation names the node at ar2: p1 is carried though no
        // flow was counted on it; a link-local and a multicast prefix are
        // dropped, and p1 listed twice (once not masked) is listed once.
        let unmasked = IPv6Prefix(IPv6Address(high: p1.address.high, low: 5), length: 64)
        solicit("ar2", [IPv6Prefix("fe80::/64")!, p1, IPv6Prefix("ff02::/16")!, unmasked])
        tb.run(for: 0.5)
        #expect(tb.reports.last == .attached(node, link: Self.link, previous: [p1]))
        #expect(Self.advertised(tb, "ar2").contains { $0.0 == p1 && !$0.preferred && $0.valid })
        #expect(tb.routers["ar2"]!.counters.ignored[.previousPrefixUnusable] == 2)
        #expect(tb.rules(at: "ar1") == [.encapsulate(p1, endpoint: T.address(2), mode: .ipv6InIPv6)])
        // At ar3 a frame names the node first; p1, released when the node
        // left ar2 (no flows), is not in the answer. Its solicitation then
        // lists p1: reported again, p1 back from the hold-down.
        tb.routerEvent("ar2", .detached(Self.link))
        tb.routerEvent("ar3", .attached(node, link: Self.link, linkLayerAddress: mac))
        tb.run(for: 0.5)
        #expect(tb.location.holder(of: p1) == nil && !Self.advertised(tb, "ar3").contains { $0.0 == p1 && $0.valid })
        solicit("ar3", [p1])
        tb.run(for: 0.5)
        #expect(tb.reports.suffix(2) == [.attached(node, link: Self.link), .attached(node, link: Self.link, previous: [p1])])
        #expect(tb.location.holder(of: p1) == node)
        #expect(Self.advertised(tb, "ar3").contains { $0.0 == p1 && !$0.preferred && $0.valid })
        #expect(tb.rules(at: "ar1") == [.encapsulate(p1, endpoint: T.address(3), mode: .ipv6InIPv6)])
        // The same listing again is only a solicitation: answered, not reported.
        let reports = tb.reports.count
        solicit("ar3", [p1])
        #expect(tb.reports.count == reports)
    }

    /// A listing that comes while the report of the frame that named the
    /// node is unanswered replaces that report: only the report with the
    /// listing is sent again, never the one without (whose answer would
    /// release what the node listed).
    @Test func aListingReplacesAnUnansweredReport() {
        var config = AccessRouterConfig(address: T.address(1), prefixBlock: T.block(1), peers: [], locationServer: T.controllerAddress)
        config.control = .central
        var ar = AccessRouter(config: config)
        let mac: [UInt8] = [2, 0, 0, 0, 0, 9], node = MobileNodeID(linkLayerAddress: mac), p = IPv6Prefix("2001:db8:2::/64")!
        var now = Instant(seconds: 1_795_000_000)
        ar.start(at: now)
        ar.handle(.attached(node, link: Self.link, linkLayerAddress: mac), at: now)
        ar.handle(.routerSolicitation(link: Self.link, hopLimit: 255, sourceLinkLayerAddress: mac, source: IPv6Address("fe80::9")!,
                                      listing: [p]), at: now)
        var sent: [LocationRequest] = []
        for _ in 0..<40 {
            for case .location(let e) in ar.pollActions() { sent.append(e.body) }
            guard let next = ar.nextDeadline() else { break }
            now = next
            ar.handleTimeout(at: now)
        }
        #expect(sent.first == .attached(node, link: Self.link) && sent.count > 2, "\(sent)")
        #expect(sent.dropFirst().allSatisfy { $0 == .attached(node, link: Self.link, previous: [p]) }, "\(sent)")
    }

    @Test func aFlowOnAPrefixNotAdvertisedHereIsNotReported() {
        var tb = Self.started()
        tb.routerEvent("ar1", .flows(IPv6Prefix("2001:db8:9:1::/64")!, count: 3))
        #expect(tb.location.nodes.isEmpty && tb.controller.sessions.isEmpty)
        #expect(tb.reports.isEmpty)
    }
}

extension PFCPTestbed {
    /// Runs the routers' timers, and everything else, for `duration`.
    mutating func runRouters(for duration: Seconds) {
        let end = now + duration
        while let next = routers.keys.sorted().compactMap({ routers[$0]!.nextDeadline() }).min(), next <= end {
            run(for: next - now)
            for name in routers.keys.sorted() { routers[name]!.handleTimeout(at: now) }
            pumpRouters()
        }
        run(for: end - now)
    }

    /// Hands an event to access router `name`, then carries its reports
    /// to the controller and the answers back.
    mutating func routerEvent(_ name: String, _ event: AccessRouterEvent) {
        routers[name]!.handle(event, at: now)
        pumpRouters()
    }

    /// Carries every report of the access routers to the controller's
    /// location management and its answer back, in the location protocol's
    /// encoding, until none is left; keeps the Router Advertisements.
    mutating func pumpRouters() {
        var quiet = false
        while !quiet {
            quiet = true
            for name in routers.keys.sorted() {
                for action in routers[name]!.pollActions() {
                    switch action {
                    case .location(let request):
                        quiet = false
                        reports.append(request.body)
                        let decoded = try! LocationCodec.decodeRequest(LocationCodec.encode(request))
                        let reply = location.answer(decoded.body, from: addresses[name]!, controller: &controller, now: now)
                        collect()
                        let back = try! LocationCodec.decodeReply(LocationCodec.encode(LocationEnvelope(id: decoded.id, reply)))
                        routers[name]!.handle(.location(back), at: now)
                    case .sendRouterAdvertisement(let ra, let link):
                        advertisements.append((name, link, ra))
                    default:
                        break
                    }
                }
            }
        }
    }
}
