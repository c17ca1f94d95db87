import DMMCore
import DMMStore
import DMMWire

/// A controller's changes not yet committed, merged step after step: the
/// latest state of each association, session and node, and the latest
/// hold-down list. What several steps changed while a commit was under way
/// goes to the store in the next one, as one transaction.
///
/// It falls due once no request to an agent awaits its answer, or once its
/// oldest change has waited `wait`: the answers' acknowledged rules then go
/// into the commit of the step that asked for them (one commit for most
/// moves where there were two), and a commit's CPU (0.3 to 0.5 ms of the
/// store thread's on the development machine) is not taken while the
/// agents program a move.
struct PendingCommit {
    /// How long a change waits at most for the agents' answers.
    static let wait: Seconds = 0.005

    var associations: [IPv6Address: Controller.Association?] = [:]
    var sessions: [UInt64: Controller.Session?] = [:]
    var nodes: [MobileNodeID: LocationManagement.Node] = [:]
    var holding: [LocationManagement.Holding]?
    /// When the oldest change was added.
    private(set) var since: Instant?

    var isEmpty: Bool { associations.isEmpty && sessions.isEmpty && nodes.isEmpty && holding == nil }

    mutating func add(_ controller: SQLiteControllerStore.ControllerChanges, _ location: SQLiteControllerStore.LocationChanges,
                      at now: Instant) {
        // updateValue keeps a nil (deleted) as a value instead of removing the key.
        for (agent, a) in controller.associations { associations.updateValue(a, forKey: agent) }
        for (seid, s) in controller.sessions { sessions.updateValue(s, forKey: seid) }
        for n in location.nodes { nodes[n.node] = n }
        if let holding = location.holding { self.holding = holding }
        if since == nil && !isEmpty { since = now }
    }

    /// Whether to commit now, with `requestsInFlight` requests to agents unanswered.
    func isDue(requestsInFlight: Int, at now: Instant) -> Bool {
        guard let since else { return false }
        return requestsInFlight == 0 || now >= since + Self.wait
    }

    /// When it falls due whatever the agents do; nil when empty.
    var deadline: Instant? { since.map { $0 + Self.wait } }

    func write(to store: SQLiteControllerStore) throws {
        try store.write(controller: (associations.sorted { $0.key < $1.key }.map { ($0.key, $0.value) },
                                     sessions.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }),
                        location: (nodes.keys.sorted().map { nodes[$0]! }, holding))
    }
}
