import DMMCore
import DMMStore
import DMMWire

/// A controller's changes not yet committed, merged step after step: the
/// latest state of each association, session and node, and the latest
/// hold-down list. What several steps changed while a commit was under way
/// goes to the store in the next one, as one transaction.
struct PendingCommit {
    var associations: [IPv6Address: Controller.Association?] = [:]
    var sessions: [UInt64: Controller.Session?] = [:]
    var nodes: [MobileNodeID: LocationManagement.Node] = [:]
    var holding: [LocationManagement.Holding]?

    var isEmpty: Bool { associations.isEmpty && sessions.isEmpty && nodes.isEmpty && holding == nil }

    mutating func add(_ controller: SQLiteControllerStore.ControllerChanges, _ location: SQLiteControllerStore.LocationChanges) {
        // updateValue keeps a nil (deleted) as a value instead of removing the key.
        for (agent, a) in controller.associations { associations.updateValue(a, forKey: agent) }
        for (seid, s) in controller.sessions { sessions.updateValue(s, forKey: seid) }
        for n in location.nodes { nodes[n.node] = n }
        if let holding = location.holding { self.holding = holding }
    }

    func write(to store: SQLiteControllerStore) throws {
        try store.write(controller: (associations.sorted { $0.key < $1.key }.map { ($0.key, $0.value) },
                                     sessions.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }),
                        location: (nodes.keys.sorted().map { nodes[$0]! }, holding))
    }
}
