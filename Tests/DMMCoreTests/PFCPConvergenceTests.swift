import DMMTestSupport
import DMMWire
import Testing

@testable import DMMCore

/// Whatever is lost, repeated, isolated or restarted on the way, the
/// controller and its agents end, once the network is whole again, as a
/// calm run of the last placements ends: the same rules for every prefix
/// at every agent, the controller knowing exactly what each agent holds,
/// nothing pushed again still waiting, no move waiting, no association
/// down. Each seed is one random mix of placements, lost and repeated
/// datagrams, agents cut off and let back, agent and controller restarts,
/// and time passing. (Datagrams are not reordered: see the note on
/// requests forgotten at an association in docs/architecture.md.)
@Suite struct PFCPConvergenceTests {
    typealias T = PFCPTestbed

    /// A fresh network: three agents under indirection, or the tree's
    /// seven (four access routers) under anchor switching or, as anchor
    /// switching falls back to, indirection.
    static func network(_ method: ForwardingMethod, tree: Bool, buffering: Bool) -> PFCPTestbed {
        tree ? T(topology: try! TopologyTests.tree(), buffering: buffering, forwarding: method) : T(buffering: buffering)
    }

    /// Each prefix's rules, by agent.
    static func rules(of prefix: IPv6Prefix, in tb: PFCPTestbed) -> [String: Set<ForwardingRule>] {
        tb.agents.keys.reduce(into: [:]) { out, a in
            let r = tb.rules(at: a).filter { $0.prefix == prefix }
            if !r.isEmpty { out[a] = r }
        }
    }

    @Test(arguments: [ForwardingMethod.indirection, .anchorSwitching], 0..<100 as Range<UInt64>)
    func anyMixOfLossIsolationAndRestartsEndsAsACalmRunOfTheLastPlacements(method: ForwardingMethod, seed: UInt64) {
        var random = SplitMix64(seed: seed)
        func pick<C: Collection>(_ c: C) -> C.Element { c.randomElement(using: &random)! }
        let buffering = Bool.random(using: &random)
        let tree = method == .anchorSwitching
        var tb = Self.network(method, tree: tree, buffering: buffering)
        tb.run(for: 0.5)
        let agents = tb.agents.keys.sorted()
        // Two prefixes of each pool, and their anchor.
        let prefixes = tb.agentConfigs.keys.sorted().flatMap { a in
            tb.agentConfigs[a]!.pools.prefix(1).flatMap { pool in
                (1...2).map { k in (IPv6Prefix(IPv6Address(high: pool.address.high | UInt64(k), low: 0), length: 64), a) }
            }
        }
        let serving = prefixes.map(\.1)
        var last: [IPv6Prefix: String?] = [:]
        var story: [String] = []
        for _ in 0..<60 {
            switch Int.random(in: 0..<10, using: &random) {
            case 0..<4:
                let (p, anchor) = pick(prefixes)
                let at: String? = Int.random(in: 0..<4, using: &random) == 0 ? nil : pick(serving)
                tb.place(p, anchor: anchor, serving: at)
                last[p] = at
                story.append("place \(p) at \(at ?? "none")")
            case 4:
                let sender = pick(agents + ["controller"])
                let n = Int.random(in: 1...4, using: &random)
                tb.losses[sender, default: 0] += n
                story.append("\(sender) loses \(n)")
            case 5:
                let sender = pick(agents + ["controller"])
                let n = Int.random(in: 1...4, using: &random)
                tb.duplicates[sender, default: 0] += n
                story.append("\(sender) repeats \(n)")
            case 6:
                let a = pick(agents)
                if tb.isolated.remove(a) == nil { tb.isolated.insert(a) }
                story.append("\(a) \(tb.isolated.contains(a) ? "cut off" : "let back")")
            case 7:
                let a = pick(agents)
                tb.startAgent(a)
                story.append("\(a) restarts")
            case 8:
                // As the daemon does: from its store, then every prefix
                // placed again by the location management (`placeAgain`).
                tb.restartController()
                for (p, anchor) in prefixes {
                    guard let at = last[p], let at else { continue }
                    tb.place(p, anchor: anchor, serving: at)
                }
                story.append("controller restarts")
            default:
                break
            }
            let pause = Seconds(nanoseconds: Int64.random(in: 0...400, using: &random) * 1_000_000)
            tb.run(for: pause)
            story.append("\(pause)")
        }
        // The network whole again: heartbeats find every agent, each
        // agent's resynchronization passes.
        tb.isolated = []
        tb.losses = [:]
        tb.duplicates = [:]
        tb.run(for: 10)

        // What a calm run of the last placements ends with. A prefix placed
        // while a router of its switched path was down goes by indirection
        // instead, and stays so until it moves again: either is right.
        let methods: [ForwardingMethod] = tree ? [method, .indirection] : [method]
        let calm = methods.map { m -> PFCPTestbed in
                var c = Self.network(m, tree: tree, buffering: buffering)
                c.run(for: 0.5)
                for (p, anchor) in prefixes {
                    guard let at = last[p] else { continue }
                    c.place(p, anchor: anchor, serving: at)
                }
                c.run(for: 2)
                return c
            }

        // A failure tells what happened on the way.
        let told = "\(method) seed \(seed), buffering \(buffering): " + story.joined(separator: ", ")
        for (p, _) in prefixes {
            let found = Self.rules(of: p, in: tb)
            #expect(calm.contains { Self.rules(of: p, in: $0) == found }, "\(p): \(found) in \(told)")
        }
        for a in agents {
            let address = tb.addresses[a]!
            // The controller knows what each agent holds, and it is all there.
            #expect(Set(tb.controller.rules(at: address)) == tb.rules(at: a), "\(a) in \(told)")
            #expect(tb.agents[a]!.sessionCount == tb.controller.sessions.values.filter { $0.agent == address }.count, "\(a) in \(told)")
            #expect(tb.controller.associations[address]?.status == .up, "\(a) in \(told)")
        }
        #expect(tb.controller.sessions.values.allSatisfy(\.isProgrammed) && tb.controller.switches.isEmpty, "\(told)")
        #expect(tb.controller.backlog == 0 && tb.controller.backlogInFlight == 0, "\(told)")
    }
}
