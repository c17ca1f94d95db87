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

    /// Writes what `Controller.takeChanges()` gave, all or nothing.
    public func write(_ changes: (associations: [(IPv6Address, Controller.Association?)], sessions: [(UInt64, Controller.Session?)])) throws {
        guard !changes.associations.isEmpty || !changes.sessions.isEmpty else { return }
        try db.transaction {
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
        let fars = Dictionary(m.createFAR.map { ($0.id, $0) }) { a, _ in a }
        switch PFCPRuleMapping.rules(pdrs: m.createPDR, fars: fars, tunnelMode: tunnelMode) {
        case .success(let made): return made.map(\.rule)
        case .failure(let refusal): throw StoreFailure(description: "\(path): \(what) holds rules that do not read: \(refusal.reason)")
        }
    }
}
