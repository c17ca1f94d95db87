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
/// datagrams overtaking each other, and time passing.
@Suite struct PFCPConvergenceTests {
    typealias T = PFCPTestbed

    /// A fresh network: three agents under indirection, or the tree's
    /// seven (four access routers) under anchor switching or, as anchor
    /// switching falls back to, indirection.
    /// `reserved`: sessions every engine's tables are made for at start.
    static func network(_ method: ForwardingMethod, tree: Bool, buffering: Bool, reserved: Int = 0) -> PFCPTestbed {
        tree ? T(topology: try! TopologyTests.tree(), buffering: buffering, forwarding: method, reserved: reserved)
            : T(buffering: buffering, reserved: reserved)
    }

    /// Each prefix's rules, by agent.
    static func rules(of prefix: IPv6Prefix, in tb: PFCPTestbed) -> [String: Set<ForwardingRule>] {
        tb.agents.keys.reduce(into: [:]) { out, a in
            let r = tb.rules(at: a).filter { $0.prefix == prefix }
            if !r.isEmpty { out[a] = r }
        }
    }

    /// One disturbance drawn from `random`: datagrams delayed at random by
    /// up to 20 ms or no longer, an agent's or the controller's next
    /// datagrams lost or repeated, an agent cut off or let back, an
    /// agent or the controller restarted (the latter from its store, then
    /// `placeAgain`, as its daemon places every prefix again); what it was.
    static func disturb(_ tb: inout PFCPTestbed, _ random: inout SplitMix64, placeAgain: (inout PFCPTestbed) -> Void) -> String {
        let agents = tb.agents.keys.sorted()
        switch Int.random(in: 0..<6, using: &random) {
        case 0:
            // Datagrams overtake each other, or stop doing so.
            tb.jitter = tb.jitter == 0 ? Seconds(nanoseconds: Int64.random(in: 1...20, using: &random) * 1_000_000) : 0
            return "jitter \(tb.jitter)"
        case 1:
            let sender = (agents + ["controller"]).randomElement(using: &random)!
            let n = Int.random(in: 1...4, using: &random)
            if Bool.random(using: &random) {
                tb.losses[sender, default: 0] += n
                return "\(sender) loses \(n)"
            }
            tb.duplicates[sender, default: 0] += n
            return "\(sender) repeats \(n)"
        case 2:
            let a = agents.randomElement(using: &random)!
            if tb.isolated.remove(a) == nil { tb.isolated.insert(a) }
            return "\(a) \(tb.isolated.contains(a) ? "cut off" : "let back")"
        case 3:
            let a = agents.randomElement(using: &random)!
            tb.startAgent(a)
            return "\(a) restarts"
        default:
            tb.restartController()
            placeAgain(&tb)
            return "controller restarts"
        }
    }

    /// The network whole again, for long enough that heartbeats find every
    /// agent and each agent's resynchronization passes.
    static func heal(_ tb: inout PFCPTestbed) {
        tb.isolated = []
        tb.losses = [:]
        tb.duplicates = [:]
        tb.jitter = 0
        tb.run(for: 10)
    }

    /// A run on a fresh network of `method`, as its seed draws it.
    struct Run {
        let method: ForwardingMethod
        let tree: Bool
        let buffering: Bool
        var random: SplitMix64
        var tb: PFCPTestbed
        var story: [String] = []

        init(_ method: ForwardingMethod, seed: UInt64, reserved: Int = 0) {
            self.method = method
            tree = method == .anchorSwitching
            random = SplitMix64(seed: seed)
            buffering = Bool.random(using: &random)
            tb = PFCPConvergenceTests.network(method, tree: tree, buffering: buffering, reserved: reserved)
            tb.run(for: 0.5)
        }

        mutating func pick<C: Collection>(_ c: C) -> C.Element { c.randomElement(using: &random)! }

        /// 60 steps, each then a pause of up to 0.4 s: `act` (4 in 10),
        /// a disturbance (5 in 10), or nothing.
        mutating func steps(act: (inout Run) -> String?, placeAgain: (inout PFCPTestbed) -> Void) {
            for _ in 0..<60 {
                switch Int.random(in: 0..<10, using: &random) {
                case 0..<4: if let done = act(&self) { story.append(done) }
                case 4..<9: story.append(PFCPConvergenceTests.disturb(&tb, &random, placeAgain: placeAgain))
                default: break
                }
                let pause = Seconds(nanoseconds: Int64.random(in: 0...400, using: &random) * 1_000_000)
                tb.run(for: pause)
                story.append("\(pause)")
            }
        }

        /// What happened, for a failure to tell.
        func told(_ seed: UInt64) -> String { "\(method) seed \(seed), buffering \(buffering): " + story.joined(separator: ", ") }
    }

    /// Prefixes placed at random through the seed's disturbances: the
    /// run, unhealed, each prefix with its anchor, and each one's last placement.
    static func placeAtRandom(_ method: ForwardingMethod, seed: UInt64, reserved: Int = 0)
        -> (Run, prefixes: [(IPv6Prefix, String)], last: [IPv6Prefix: String?]) {
        var run = Run(method, seed: seed, reserved: reserved)
        // Two prefixes of each pool, and their anchor.
        let prefixes = run.tb.agentConfigs.keys.sorted().flatMap { a in
            run.tb.agentConfigs[a]!.pools.prefix(1).flatMap { pool in
                (1...2).map { k in (IPv6Prefix(IPv6Address(high: pool.address.high | UInt64(k), low: 0), length: 64), a) }
            }
        }
        let serving = prefixes.map(\.1)
        var last: [IPv6Prefix: String?] = [:]
        run.steps(act: { run in
            let (p, anchor) = run.pick(prefixes)
            let at: String? = Int.random(in: 0..<4, using: &run.random) == 0 ? nil : run.pick(serving)
            run.tb.place(p, anchor: anchor, serving: at)
            last[p] = at
            return "place \(p) at \(at ?? "none")"
        }, placeAgain: { tb in
            for (p, anchor) in prefixes {
                guard let at = last[p], let at else { continue }
                tb.place(p, anchor: anchor, serving: at)
            }
        })
        return (run, prefixes, last)
    }

    @Test(arguments: [ForwardingMethod.indirection, .anchorSwitching], 0..<100 as Range<UInt64>)
    func anyMixOfLossIsolationAndRestartsEndsAsACalmRunOfTheLastPlacements(method: ForwardingMethod, seed: UInt64) {
        var (run, prefixes, last) = Self.placeAtRandom(method, seed: seed)
        Self.heal(&run.tb)
        let tb = run.tb
        Self.expectConverged(run, to: prefixes.compactMap { p, anchor in
            last[p].map { Placement(prefix: p, anchor: tb.addresses[anchor]!, serving: $0.map { .init(agent: tb.addresses[$0]!, link: PFCPCallFlowTests.link($0)) }) }
        }, told: run.told(seed))
    }

    /// Tables made at start for sessions (`reserve-sessions`) change no
    /// datagram: the same seed sends the same messages, in the same order,
    /// whether the engines' tables were made for none, for fewer sessions
    /// than the run sets up (they grow past it), or for many more.
    @Test(arguments: [ForwardingMethod.indirection, .anchorSwitching], 0..<20 as Range<UInt64>)
    func tablesMadeAtStartChangeNoDatagram(method: ForwardingMethod, seed: UInt64) {
        func sent(reserved: Int) -> [String] {
            var (run, _, _) = Self.placeAtRandom(method, seed: seed, reserved: reserved)
            Self.heal(&run.tb)
            return run.tb.sent.map { "\($0.from) to \($0.to): \($0.message)" }
        }
        let grown = sent(reserved: 0)
        #expect(grown.count > 100, "\(grown.count) messages")
        for reserved in [2, 1000] {
            let made = sent(reserved: reserved)
            #expect(made == grown, "reserved \(reserved): \(made.count) messages, \(grown.count) grown; first difference at \(Array(zip(made, grown)).firstIndex { $0.0 != $0.1 } ?? min(made.count, grown.count))")
        }
    }

    /// The same through the location management: nodes attach, leave, and
    /// start and end flows on their prefixes, and the controller's rules
    /// end as a calm run of where the location management then has each
    /// prefix (every node on a link at the end: one away has its packets
    /// held).
    @Test(arguments: [ForwardingMethod.indirection, .anchorSwitching], 0..<100 as Range<UInt64>)
    func nodesComingGoingAndUsingPrefixesThroughLossAndRestartsEndWhereTheLocationManagementHasThem(method: ForwardingMethod,
                                                                                                  seed: UInt64) {
        var run = Run(method, seed: seed)
        let accessRouters = run.tb.agentConfigs.keys.filter { !run.tb.agentConfigs[$0]!.pools.isEmpty }.sorted()
        let nodes = ["mn1", "mn2", "mn3"]
        run.steps(act: { run in
            switch Int.random(in: 0..<4, using: &run.random) {
            case 0, 1:
                let (node, ar) = (run.pick(nodes), run.pick(accessRouters))
                _ = run.tb.attach(node, at: ar)
                return "\(node) attaches at \(ar)"
            case 2:
                let node = run.pick(nodes)
                guard let at = run.tb.location.attachments[MobileNodeID(node)] else { return nil }
                run.tb.detach(node, from: run.tb.name(of: at.agent))
                return "\(node) leaves"
            default:
                let held = nodes.flatMap { run.tb.location.nodes[MobileNodeID($0)] ?? [] }
                guard !held.isEmpty else { return nil }
                let (h, active) = (run.pick(held), Bool.random(using: &run.random))
                run.tb.flows(h.prefix, active: active)
                return "flows \(active ? "on" : "off") \(h.prefix)"
            }
        }, placeAgain: { tb in
            tb.location.placeAgain(controller: &tb.controller, now: tb.now)
            tb.collect()
        })
        for node in nodes where run.tb.location.attachments[MobileNodeID(node)] == nil && run.tb.location.nodes[MobileNodeID(node)] != nil {
            let ar = run.pick(accessRouters)
            _ = run.tb.attach(node, at: ar)
            run.story.append("\(node) attaches at \(ar)")
        }
        Self.heal(&run.tb)
        // Where the location management has each prefix: every prefix a
        // node holds, served where it is.
        var placements: [Placement] = []
        for node in nodes.map(MobileNodeID.init) {
            for h in run.tb.location.nodes[node] ?? [] {
                placements.append(Placement(prefix: h.prefix, anchor: h.anchor, serving: run.tb.location.attachments[node]))
            }
        }
        Self.expectConverged(run, to: placements, told: run.told(seed))
    }

    /// Once the network is whole again: every prefix's rules at every
    /// agent are those a calm run of `placements` ends with (under anchor
    /// switching, or the indirection it falls back to for a prefix placed
    /// while a router of its path was down, until it moves again); the
    /// controller knows exactly what each agent holds; every session is
    /// programmed; no move waits; nothing is left to push again. `told`
    /// says what happened on the way.
    static func expectConverged(_ run: Run, to placements: [Placement], told: String) {
        let tb = run.tb
        let methods: [ForwardingMethod] = run.tree ? [run.method, .indirection] : [run.method]
        let calm = methods.map { m -> PFCPTestbed in
            var c = Self.network(m, tree: run.tree, buffering: run.buffering)
            c.run(for: 0.5)
            for p in placements { c.controller.place(p, at: c.now) }
            c.collect()
            c.run(for: 2)
            return c
        }
        for p in Set(placements.map(\.prefix)).union(tb.controller.sessions.values.map(\.prefix)) {
            let found = Self.rules(of: p, in: tb)
            let right = calm.map { Self.rules(of: p, in: $0) }
            #expect(right.contains(found), "\(p): \(found), not any of \(right), in \(told)")
        }
        for a in tb.agents.keys.sorted() {
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
