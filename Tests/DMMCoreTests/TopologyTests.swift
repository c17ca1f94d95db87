import DMMTestSupport
import DMMWire
import Testing

@testable import DMMCore

/// The topology type: the addressing plan, shortest paths and what a file
/// may not say.
struct TopologyTests {
    /// The tree of the lab's second topology.
    static func tree() throws -> Topology {
        try Topology(name: "tree", nodes: [
            .init(name: "border", kind: .router), .init(name: "agg1", kind: .router), .init(name: "agg2", kind: .router),
            .init(name: "cn", kind: .correspondent), .init(name: "lms", kind: .locationServer),
            .init(name: "ar1", kind: .accessRouter), .init(name: "ar2", kind: .accessRouter),
            .init(name: "ar3", kind: .accessRouter), .init(name: "ar4", kind: .accessRouter, prefixBlock: IPv6Prefix("2001:db8:44::/48")!),
            .init(name: "mn", kind: .mobileNode),
        ], links: [
            .init("ar1", "agg1"), .init("ar2", "agg1"), .init("ar3", "agg2"), .init("ar4", "agg2"),
            .init("agg1", "border"), .init("agg2", "border"), .init("border", "cn"), .init("border", "lms", mtu: 9000),
        ])
    }

    @Test func addressesFollowThePlanUnlessGiven() throws {
        let t = try Self.tree()
        #expect(t.addressing("ar3") == .init(address: IPv6Address("2001:db8:ffff::3")!, prefixBlock: IPv6Prefix("2001:db8:3::/48")!,
                                             tunnelEndpoint: IPv6Address("fc00:3::d6")!))
        #expect(t.addressing("ar4")?.prefixBlock == IPv6Prefix("2001:db8:44::/48")!, "given in the file")
        #expect(t.addressing("lms")?.address == IPv6Address("2001:db8:ffff::100")!)
        #expect(t.addressing("cn")?.address == IPv6Address("2001:db8:cc::1")!)
        #expect(t.addressing("agg2")?.address == IPv6Address("2001:db8:fffe::3")!)
        #expect(t.addressing("ar1")!.routed.map(\.description) == ["2001:db8:ffff::1/128", "2001:db8:1::/48", "fc00:1::/64"])
        #expect(t.addressing("nowhere") == nil)
    }

    @Test func pathsAreShortestAndTakeEarlierLinksFirst() throws {
        let t = try Self.tree()
        #expect(t.path(from: "ar1", to: "ar2") == ["ar1", "agg1", "ar2"])
        #expect(t.path(from: "ar1", to: "ar4") == ["ar1", "agg1", "border", "agg2", "ar4"])
        #expect(t.path(from: "cn", to: "ar3") == ["cn", "border", "agg2", "ar3"])
        #expect(t.path(from: "ar1", to: "ar1") == ["ar1"])
        #expect(t.path(from: "ar1", to: "mn") == nil, "a mobile node has no fixed links")
        #expect(t.links(of: "agg1").map(\.peer) == ["ar1", "ar2", "border"])
        // A square: two equal paths, the one through the earlier link wins.
        let square = try Topology(name: "square", nodes: ["a", "b", "c", "d"].map { .init(name: $0, kind: .router) },
                                  links: [.init("a", "b"), .init("a", "c"), .init("b", "d"), .init("c", "d")])
        #expect(square.path(from: "a", to: "d") == ["a", "b", "d"])
        #expect(square.path(from: "d", to: "a") == ["d", "b", "a"])
    }

    /// `nextHop` comes from a table made at load; it must be the first hop
    /// of `path`, the search made on demand, for every pair of nodes of
    /// random meshes (with parallel links and equal paths).
    @Test func firstHopsAreThoseOfThePaths() throws {
        for seed in UInt64(1)...20 {
            var rng = SplitMix64(seed: seed)
            let count = Int.random(in: 2...12, using: &rng)
            let names = (0..<count).map { "r\($0)" }
            // A random tree keeps it connected; random extra links add loops.
            var links = (1..<count).map { Topology.Link(names[Int.random(in: 0..<$0, using: &rng)], names[$0]) }
            for _ in 0..<Int.random(in: 0...count, using: &rng) {
                let a = Int.random(in: 0..<count, using: &rng), b = Int.random(in: 0..<count, using: &rng)
                if a != b { links.append(.init(names[a], names[b])) }
            }
            let t = try Topology(name: "mesh", nodes: names.map { .init(name: $0, kind: .router) }, links: links)
            for from in names {
                for to in names {
                    let hop = t.nextHop(from: from, to: to)
                    guard let path = t.path(from: from, to: to), path.count > 1 else {
                        #expect(hop == nil, "seed \(seed): \(from) to \(to)")
                        continue
                    }
                    let position = try #require(t.links(of: from).firstIndex { $0.peer == path[1] })
                    let link = t.links(of: from)[position].link
                    #expect(hop?.interface == "eth\(position)", "seed \(seed): \(from) to \(to)")
                    #expect(hop?.via == t.linkLocal(of: path[1], link: link), "seed \(seed): \(from) to \(to)")
                }
            }
        }
    }

    @Test func badTopologiesNameTheProblem() {
        let r = Topology.Node(name: "r", kind: .router)
        func check(_ nodes: [Topology.Node], _ links: [Topology.Link], _ message: String, sourceLocation: SourceLocation = #_sourceLocation) {
            #expect(throws: Topology.Invalid(message), sourceLocation: sourceLocation) { try Topology(name: "t", nodes: nodes, links: links) }
        }
        check([r, r], [], "node 'r' is named twice")
        check([.init(name: "a b", kind: .router)], [], "node 'a b': a name is 1 to 12 letters, digits or '-'")
        check([r], [.init("r", "x")], "link 1: no node 'x'")
        check([r], [.init("r", "r")], "link 1 joins 'r' to itself")
        check([r, .init(name: "m", kind: .mobileNode)], [.init("r", "m")], "link 1: mobile node 'm' has no fixed links; the scenario moves it")
        check([r, .init(name: "s", kind: .router)], [.init("r", "s", mtu: 1000)], "link 1: MTU 1000 is not from 1280 to 65535")
        check([r, .init(name: "s", kind: .router)], [], "node 's' is not connected to 'r'")
        check([r, .init(name: "s", kind: .router, address: IPv6Address("2001:db8:fffe::1")!)], [.init("r", "s")],
              "nodes 'r' and 's' have the same address 2001:db8:fffe::1")
    }
}
