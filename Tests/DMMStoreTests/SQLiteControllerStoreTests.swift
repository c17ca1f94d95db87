import DMMCore
import DMMWire
import Foundation
import Testing

@testable import DMMStore

struct SQLiteControllerStoreTests {
    static let agent = IPv6Address("2001:db8:ffff::1")!, other = IPv6Address("2001:db8:ffff::2")!
    static let prefix = IPv6Prefix("2001:db8:1:5::/64")!

    static var association: Controller.Association {
        Controller.Association(agent: agent, pools: [PFCPPoolInformation(identity: "ar1", prefixes: [IPv6Prefix("2001:db8:1::/48")!])],
                               recoveryTimeStamp: 4_005_158_400, status: .up)
    }

    static var session: Controller.Session {
        Controller.Session(agent: other, prefix: prefix, seid: 0xEEEE_0000_0000_0001, agentSEID: 0xFFFF_FFFF_0000_0002,
                           wanted: [.deliver(prefix, link: "acc0"),
                                    .reverseTunnel(from: prefix, link: "acc0", endpoint: IPv6Address("fc00:1::d6")!, mode: .srv6)],
                           acknowledged: [.unreachable(prefix)])
    }

    @Test func whatIsWrittenIsWhatARestartedControllerLoads() throws {
        let path = SQLiteLocationStoreTests.temporaryPath("controller")
        defer { SQLiteLocationStoreTests.cleanUp(path) }
        var store: SQLiteControllerStore? = try SQLiteControllerStore(path: path, tunnelMode: .srv6)
        try store!.write(controller: (associations: [(Self.agent, Self.association)], sessions: [(Self.session.seid, Self.session)]))
        try store!.write(recoveryTimeStamp: 4_005_158_401)
        store = nil
        let reopened = try SQLiteControllerStore(path: path, tunnelMode: .srv6)
        #expect(try reopened.load() == Controller.Snapshot(associations: [Self.association], sessions: [Self.session],
                                                           recoveryTimeStamp: 4_005_158_401))
        // Gone is gone; an empty step writes nothing.
        try reopened.write(controller: (associations: [(Self.agent, nil)], sessions: [(Self.session.seid, nil)]))
        try reopened.write(controller: (associations: [], sessions: []))
        #expect(try reopened.load() == Controller.Snapshot(associations: [], sessions: [], recoveryTimeStamp: 4_005_158_401))
    }

    @Test func theLocationManagementsNodesAndHoldDownsComeBack() throws {
        let path = SQLiteLocationStoreTests.temporaryPath("controller-location")
        defer { SQLiteLocationStoreTests.cleanUp(path) }
        let store = try SQLiteControllerStore(path: path, tunnelMode: .ipv6InIPv6)
        let mn1 = MobileNodeID("mn1@dmm.example"), mn2 = MobileNodeID(identifier: [0x02, 0, 0, 0, 0, 1])
        let p1 = IPv6Prefix("2001:db8:1:1::/64")!, p2 = IPv6Prefix("2001:db8:2:1::/64")!
        let nodes = [
            LocationManagement.Node(node: mn1, held: [.init(prefix: p2, anchor: Self.other, active: true),
                                                      .init(prefix: p1, anchor: Self.agent, active: false)],
                                    attachment: .init(agent: Self.agent, link: "acc0")),
            LocationManagement.Node(node: mn2, held: [.init(prefix: IPv6Prefix("2001:db8:1:2::/64")!, anchor: Self.agent, active: true)],
                                    attachment: nil),
        ]
        let holding = [LocationManagement.Holding(prefix: IPv6Prefix("2001:db8:1:3::/64")!, anchor: Self.agent, until: Instant(seconds: 99))]
        try store.write(controller: ([], []), location: (nodes: nodes, holding: holding))
        let loaded = try SQLiteControllerStore(path: path, tunnelMode: .ipv6InIPv6).loadLocation()
        #expect(Set(loaded.nodes) == Set(nodes) && loaded.holding == holding)
        // A node with nothing left is gone; the hold-down list is replaced whole.
        try store.write(controller: ([], []), location: (nodes: [LocationManagement.Node(node: mn2, held: [], attachment: nil)], holding: []))
        let after = try store.loadLocation()
        #expect(after.nodes == [nodes[0]] && after.holding.isEmpty)
    }

    @Test func aRowThatDoesNotReadIsAClearError() throws {
        let path = SQLiteLocationStoreTests.temporaryPath("controller-bad")
        defer { SQLiteLocationStoreTests.cleanUp(path) }
        let store = try SQLiteControllerStore(path: path, tunnelMode: .ipv6InIPv6)
        try store.write(controller: (associations: [(Self.agent, Self.association)], sessions: []))
        let db = try SQLiteDatabase(path: path, schema: SQLiteControllerStore.schema)
        try db.query("UPDATE association SET pools = ?", [.blob([1, 2, 3])])
        let e = #expect(throws: StoreFailure.self) { try store.load() }
        #expect(e?.description.contains("association 2001:db8:ffff::1 does not decode") == true)
    }
}
