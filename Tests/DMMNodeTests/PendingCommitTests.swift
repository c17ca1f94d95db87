import DMMCore
import DMMStore
import DMMWire
import Foundation
import Testing

@testable import DMMNode

/// Steps whose changes meet in one commit: each association, session and
/// node as the last step left it, a deletion included.
struct PendingCommitTests {
    static let agent = IPv6Address("2001:db8:ffff::1")!
    static let p1 = IPv6Prefix("2001:db8:1:1::/64")!, p2 = IPv6Prefix("2001:db8:1:2::/64")!

    static func session(_ seid: UInt64, _ prefix: IPv6Prefix, _ rules: [ForwardingRule]) -> Controller.Session {
        Controller.Session(agent: agent, prefix: prefix, seid: seid, agentSEID: seid + 100, wanted: rules, acknowledged: rules)
    }

    @Test func theLastStepOfEachRecordIsWhatIsCommitted() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("pending-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).sqlite").path
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        let store = try SQLiteControllerStore(path: path, tunnelMode: .ipv6InIPv6)
        let association = Controller.Association(agent: Self.agent, pools: [], recoveryTimeStamp: 7, status: .up)
        let node = MobileNodeID("mn1@dmm.example")
        let at = Placement.Attachment(agent: Self.agent, link: "acc0")
        let hold = LocationManagement.Holding(prefix: Self.p2, anchor: Self.agent, until: Instant(seconds: 5))

        var pending = PendingCommit()
        #expect(pending.isEmpty)
        // Step 1: an association, two sessions, a node holding both prefixes.
        pending.add((associations: [(Self.agent, association)],
                     sessions: [(1, Self.session(1, Self.p1, [.deliver(Self.p1, link: "acc0")])), (2, Self.session(2, Self.p2, [.deliver(Self.p2, link: "acc0")]))]),
                    (nodes: [.init(node: node, held: [.init(prefix: Self.p1, anchor: Self.agent, active: true),
                                                      .init(prefix: Self.p2, anchor: Self.agent, active: false)], attachment: at)], holding: nil),
                    at: Instant(seconds: 1))
        // Step 2: session 1 changes, session 2 and its prefix go, held down.
        let moved = Self.session(1, Self.p1, [.encapsulate(Self.p1, endpoint: IPv6Address("fc00:3::d6")!, mode: .ipv6InIPv6)])
        pending.add((associations: [], sessions: [(1, moved), (2, nil)]),
                    (nodes: [.init(node: node, held: [.init(prefix: Self.p1, anchor: Self.agent, active: true)], attachment: nil)], holding: [hold]),
                    at: Instant(seconds: 2))
        #expect(!pending.isEmpty)
        try pending.write(to: store)

        #expect(try store.load().sessions == [moved])
        #expect(try store.load().associations == [association])
        let location = try store.loadLocation()
        #expect(location.nodes == [.init(node: node, held: [.init(prefix: Self.p1, anchor: Self.agent, active: true)], attachment: nil)])
        #expect(location.holding == [hold])
    }

    /// A step's changes wait for the agents' answers to its requests, and
    /// for 5 ms at most, counted from the oldest change.
    @Test func changesFallDueWhenTheAgentsHaveAnsweredOrAfterTheWait() {
        let t = Instant(seconds: 100)
        var pending = PendingCommit()
        #expect(!pending.isDue(requestsInFlight: 0, at: t))  // nothing to commit
        #expect(pending.deadline == nil)
        pending.add((associations: [], sessions: []), (nodes: [], holding: nil), at: t)
        #expect(pending.isEmpty && pending.deadline == nil)  // no change: no clock started
        pending.add((associations: [], sessions: [(1, Self.session(1, Self.p1, [.deliver(Self.p1, link: "acc0")]))]),
                    (nodes: [], holding: nil), at: t)
        #expect(pending.deadline == t + PendingCommit.wait)
        #expect(!pending.isDue(requestsInFlight: 2, at: t))
        #expect(pending.isDue(requestsInFlight: 0, at: t))
        // A later step's changes do not push the deadline back.
        pending.add((associations: [], sessions: [(2, Self.session(2, Self.p2, []))]), (nodes: [], holding: nil), at: t + 0.004)
        #expect(pending.deadline == t + PendingCommit.wait)
        #expect(!pending.isDue(requestsInFlight: 1, at: t + 0.004))
        #expect(pending.isDue(requestsInFlight: 1, at: t + PendingCommit.wait))
    }
}
