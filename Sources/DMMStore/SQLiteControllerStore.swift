import DMMCore
import DMMWire

/// The controller's associations and sessions in an SQLite file: what a
/// controller restarted after a crash needs (`Controller.Snapshot`). The
/// daemon writes each step's changes in one transaction before the step's
/// messages go out, so nothing an agent was asked to do is unknown to the
/// store. Rules are kept as the PDR and FAR IEs that carry them in PFCP.
public final class SQLiteControllerStore {
    private let db: SQLiteDatabase
    public var path: String { db.path }
    /// The controller's tunnel mode, which the rules' IEs do not carry.
    let tunnelMode: TunnelMode

    static let schema = """
        CREATE TABLE IF NOT EXISTS association (
            agent         TEXT PRIMARY KEY,   -- its Node ID address
            recovery      INTEGER NOT NULL,   -- its Recovery Time Stamp (NTP seconds)
            status        TEXT NOT NULL,      -- up or down
            pools         BLOB NOT NULL       -- UE IP address Pool Information IEs, as it registered them
        );
        CREATE TABLE IF NOT EXISTS node (
            node          BLOB PRIMARY KEY,    -- MN-Identifier bytes (RFC 4283)
            agent         TEXT,                -- where it is attached, if it is
            link          TEXT
        );
        CREATE TABLE IF NOT EXISTS held (
            prefix        TEXT PRIMARY KEY,
            node          BLOB NOT NULL,
            anchor        TEXT NOT NULL,
            active        INTEGER NOT NULL,    -- flows use it
            position      INTEGER NOT NULL     -- its place among the node's prefixes, oldest first
        );
        CREATE TABLE IF NOT EXISTS holding (
            prefix        TEXT PRIMARY KEY,    -- released, not handed out again before until_ns
            anchor        TEXT NOT NULL,
            until_ns      INTEGER NOT NULL
        );
        CREATE TABLE IF NOT EXISTS controller (
            recovery      INTEGER NOT NULL     -- the Recovery Time Stamp of the controller that last ran
        );
        CREATE TABLE IF NOT EXISTS session (
            seid          INTEGER PRIMARY KEY, -- the controller's SEID
            agent         TEXT NOT NULL,
            prefix        TEXT NOT NULL,
            agent_seid    INTEGER,             -- the agent's SEID, once it accepted
            wanted        BLOB NOT NULL,       -- Create PDR and Create FAR IEs
            acknowledged  BLOB NOT NULL
        );
        """

    public init(path: String, tunnelMode: TunnelMode) throws {
        db = try SQLiteDatabase(path: path, schema: Self.schema)
        self.tunnelMode = tunnelMode
    }

    public func load() throws -> Controller.Snapshot {
        var associations: [Controller.Association] = [], sessions: [Controller.Session] = []
        try db.query("SELECT agent, recovery, status, pools FROM association ORDER BY agent", []) { row in
            guard let agent = row.text(0).flatMap(IPv6Address.init), let recovery = row.int(1).flatMap(UInt32.init(exactly:)),
                  let status = row.text(2).flatMap(Controller.Status.init(rawValue:))
            else { throw StoreFailure(description: "\(path): an association row that does not parse: \(row.text(0) ?? "null")") }
            let registration = try message(row.blob(3), "association \(agent)")
            associations.append(Controller.Association(agent: agent, pools: registration.poolInformation, recoveryTimeStamp: recovery,
                                                       status: status))
        }
        try db.query("SELECT seid, agent, prefix, agent_seid, wanted, acknowledged FROM session ORDER BY seid", []) { row in
            guard let seid = row.int(0), let agent = row.text(1).flatMap(IPv6Address.init), let prefix = row.text(2).flatMap(IPv6Prefix.init)
            else { throw StoreFailure(description: "\(path): a session row that does not parse: \(row.int(0) ?? -1)") }
            let what = "session \(UInt64(bitPattern: seid))"
            sessions.append(Controller.Session(agent: agent, prefix: prefix, seid: UInt64(bitPattern: seid),
                                               agentSEID: row.int(3).map { UInt64(bitPattern: $0) },
                                               wanted: try rules(row.blob(4), what), acknowledged: try rules(row.blob(5), what)))
        }
        var recovery: UInt32?
        try db.query("SELECT recovery FROM controller", []) { recovery = $0.int(0).flatMap(UInt32.init(exactly:)) }
        return Controller.Snapshot(associations: associations, sessions: sessions, recoveryTimeStamp: recovery)
    }

    /// Keeps the Recovery Time Stamp of the controller now running.
    public func write(recoveryTimeStamp: UInt32) throws {
        try db.transaction {
            try db.query("DELETE FROM controller", [])
            try db.query("INSERT INTO controller (recovery) VALUES (?)", [.int(Int64(recoveryTimeStamp))])
        }
    }

    public typealias ControllerChanges = (associations: [(IPv6Address, Controller.Association?)], sessions: [(UInt64, Controller.Session?)])
    public typealias LocationChanges = (nodes: [LocationManagement.Node], holding: [LocationManagement.Holding]?)

    /// Writes what `Controller.takeChanges()` and
    /// `LocationManagement.takeChanges()` gave for one step, all or nothing.
    public func write(controller: ControllerChanges, location: LocationChanges = ([], nil)) throws {
        guard !controller.associations.isEmpty || !controller.sessions.isEmpty || !location.nodes.isEmpty || location.holding != nil
        else { return }
        try db.transaction {
            try write(controller)
            try write(location)
        }
    }

    private func write(_ changes: ControllerChanges) throws {
        do {
            for (agent, a) in changes.associations {
                guard let a else {
                    try db.query("DELETE FROM association WHERE agent = ?", [.text(agent.description)])
                    continue
                }
                var registration = PFCPMessage(.associationUpdateRequest, sequence: 0)
                registration.nodeID = .ipv6(agent)
                registration.poolInformation = a.pools
                try db.query("INSERT OR REPLACE INTO association (agent, recovery, status, pools) VALUES (?, ?, ?, ?)", [
                    .text(agent.description), .int(Int64(a.recoveryTimeStamp)), .text(a.status.rawValue), .blob(try registration.encode()),
                ])
            }
            for (seid, s) in changes.sessions {
                guard let s else {
                    try db.query("DELETE FROM session WHERE seid = ?", [.int(Int64(bitPattern: seid))])
                    continue
                }
                try db.query("INSERT OR REPLACE INTO session (seid, agent, prefix, agent_seid, wanted, acknowledged) VALUES (?, ?, ?, ?, ?, ?)", [
                    .int(Int64(bitPattern: seid)), .text(s.agent.description), .text(s.prefix.description),
                    s.agentSEID.map { .int(Int64(bitPattern: $0)) } ?? .null, .blob(try Self.encode(s.wanted)), .blob(try Self.encode(s.acknowledged)),
                ])
            }
        }
    }

    // MARK: Location management

    public func loadLocation() throws -> (nodes: [LocationManagement.Node], holding: [LocationManagement.Holding]) {
        var nodes: [MobileNodeID: LocationManagement.Node] = [:]
        try db.query("SELECT node, agent, link FROM node", []) { row in
            let id = MobileNodeID(identifier: row.blob(0))
            var attachment: Placement.Attachment?
            if let agent = row.text(1) {
                guard let address = IPv6Address(agent), let link = row.text(2).flatMap(LinkID.init) else {
                    throw StoreFailure(description: "\(path): a node row that does not parse: \(id)")
                }
                attachment = Placement.Attachment(agent: address, link: link)
            }
            nodes[id] = LocationManagement.Node(node: id, held: [], attachment: attachment)
        }
        try db.query("SELECT prefix, node, anchor, active FROM held ORDER BY node, position", []) { row in
            let id = MobileNodeID(identifier: row.blob(1))
            guard let prefix = row.text(0).flatMap(IPv6Prefix.init), let anchor = row.text(2).flatMap(IPv6Address.init) else {
                throw StoreFailure(description: "\(path): a held row that does not parse: \(row.text(0) ?? "null")")
            }
            nodes[id, default: LocationManagement.Node(node: id, held: [], attachment: nil)].held
                .append(LocationManagement.Held(prefix: prefix, anchor: anchor, active: row.int(3) != 0))
        }
        var holding: [LocationManagement.Holding] = []
        try db.query("SELECT prefix, anchor, until_ns FROM holding ORDER BY until_ns", []) { row in
            guard let prefix = row.text(0).flatMap(IPv6Prefix.init), let anchor = row.text(1).flatMap(IPv6Address.init), let until = row.int(2)
            else { throw StoreFailure(description: "\(path): a holding row that does not parse: \(row.text(0) ?? "null")") }
            holding.append(LocationManagement.Holding(prefix: prefix, anchor: anchor, until: Instant(nanoseconds: until)))
        }
        return (nodes.keys.sorted().map { nodes[$0]! }, holding)
    }

    private func write(_ changes: LocationChanges) throws {
        do {
            for n in changes.nodes {
                try db.query("DELETE FROM held WHERE node = ?", [.blob(n.node.identifier)])
                try db.query("DELETE FROM node WHERE node = ?", [.blob(n.node.identifier)])
                guard !n.held.isEmpty || n.attachment != nil else { continue }
                try db.query("INSERT INTO node (node, agent, link) VALUES (?, ?, ?)", [
                    .blob(n.node.identifier), n.attachment.map { .text($0.agent.description) } ?? .null,
                    n.attachment.map { .text($0.link.name) } ?? .null,
                ])
                for (i, h) in n.held.enumerated() {
                    try db.query("INSERT OR REPLACE INTO held (prefix, node, anchor, active, position) VALUES (?, ?, ?, ?, ?)", [
                        .text(h.prefix.description), .blob(n.node.identifier), .text(h.anchor.description), .int(h.active ? 1 : 0), .int(Int64(i)),
                    ])
                }
            }
            if let holding = changes.holding {
                try db.query("DELETE FROM holding", [])
                for h in holding {
                    try db.query("INSERT OR REPLACE INTO holding (prefix, anchor, until_ns) VALUES (?, ?, ?)",
                                 [.text(h.prefix.description), .text(h.anchor.description), .int(h.until.nanoseconds)])
                }
            }
        }
    }

    static func encode(_ rules: [ForwardingRule]) throws -> [UInt8] {
        var m = PFCPMessage(.sessionModificationRequest, sequence: 0, seid: 0)
        PFCPRuleMapping.write(rules, anchoredHere: true, into: &m)
        return try m.encode()
    }

    func message(_ bytes: [UInt8], _ what: String) throws -> PFCPMessage {
        do { return try PFCPMessage.decode(bytes) } catch {
            throw StoreFailure(description: "\(path): \(what) does not decode: \(error)")
        }
    }

    func rules(_ bytes: [UInt8], _ what: String) throws -> [ForwardingRule] {
        let m = try message(bytes, what)
        switch PFCPRuleMapping.rules(pdrs: m.createPDR.sorted { $0.id < $1.id }, fars: m.createFAR, tunnelMode: tunnelMode) {
        case .success(let rules): return rules
        case .failure(let refusal): throw StoreFailure(description: "\(path): \(what) holds rules that do not read: \(refusal.reason)")
        }
    }
}
