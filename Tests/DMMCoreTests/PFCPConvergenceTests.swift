import DMMTestSupport
import DMMWire
import Testing

@testable import DMMCore

/// Whatever is lost, isolated or restarted on the way, the controller and
/// its agents end, once the network is whole again, as a calm run of the
/// last placements ends: the same rules in every agent's kernel and the
/// same sessions on both sides, nothing pushed again still waiting, no
/// association down. Each seed is one random mix of placements, lost
/// datagrams, agents cut off and let back, agent and controller restarts,
/// and time passing.
@Suite struct PFCPConvergenceTests {
    typealias T = PFCPTestbed
    static let agents = ["ar1", "ar2", "ar3"]
    /// Two prefixes of each agent's pool, and their anchor.
    static let prefixes = (1...3).flatMap { i in (1...2).map { k in (IPv6Prefix("2001:db8:\(i):\(k)::/64")!, "ar\(i)") } }

    @Test(arguments: 0..<200 as Range<UInt64>)
    func anyMixOfLossIsolationAndRestartsEndsAsACalmRunOfTheLastPlacements(seed: UInt64) {
        var random = SplitMix64(seed: seed)
        func pick<C: Collection>(_ c: C) -> C.Element { c.randomElement(using: &random)! }
        let buffering = Bool.random(using: &random)
        var tb = T(buffering: buffering)
        tb.run(for: 0.5)
        // The serving agent each prefix was last placed at (nil: its flows ended).
        var last: [IPv6Prefix: String?] = [:]
        var story: [String] = []
        for _ in 0..<60 {
            switch Int.random(in: 0..<10, using: &random) {
            case 0..<4:
                let (p, anchor) = pick(Self.prefixes)
                let serving: String? = Int.random(in: 0..<4, using: &random) == 0 ? nil : pick(Self.agents)
                tb.place(p, anchor: anchor, serving: serving)
                last[p] = serving
                story.append("place \(p) at \(serving ?? "none")")
            case 4, 5:
                let sender = pick(Self.agents + ["controller"])
                let n = Int.random(in: 1...4, using: &random)
                tb.losses[sender, default: 0] += n
                story.append("\(sender) loses \(n)")
            case 6:
                let a = pick(Self.agents)
                if tb.isolated.remove(a) == nil { tb.isolated.insert(a) }
                story.append("\(a) \(tb.isolated.contains(a) ? "cut off" : "let back")")
            case 7:
                let a = pick(Self.agents)
                tb.startAgent(a)
                story.append("\(a) restarts")
            case 8:
                // As the daemon does: from its store, then every prefix
                // placed again by the location management (`placeAgain`).
                tb.restartController()
                for (p, anchor) in Self.prefixes {
                    guard let serving = last[p], let serving else { continue }
                    tb.place(p, anchor: anchor, serving: serving)
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
        tb.run(for: 10)

        var calm = T(buffering: buffering)
        calm.run(for: 0.5)
        for (p, anchor) in Self.prefixes {
            guard let serving = last[p] else { continue }
            calm.place(p, anchor: anchor, serving: serving)
        }
        calm.run(for: 2)

        // A failure tells what happened on the way.
        let told = "seed \(seed), buffering \(buffering): " + story.joined(separator: ", ")
        for a in Self.agents {
            #expect(tb.rules(at: a) == calm.rules(at: a), "\(a) in \(told)")
            #expect(tb.agents[a]!.sessionCount == calm.agents[a]!.sessionCount, "\(a) in \(told)")
            #expect(tb.controller.associations[tb.addresses[a]!]?.status == .up, "\(a) in \(told)")
            #expect(Set(tb.controller.rules(at: tb.addresses[a]!)) == calm.rules(at: a), "\(a) in \(told)")
        }
        #expect(tb.controller.sessions.count == calm.controller.sessions.count, "\(told)")
        #expect(tb.controller.sessions.values.allSatisfy(\.isProgrammed) && tb.controller.switches.isEmpty, "\(told)")
        #expect(tb.controller.backlog == 0 && tb.controller.backlogInFlight == 0, "\(told)")
    }
}
