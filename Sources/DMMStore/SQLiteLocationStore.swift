import CSQLite
import DMMCore
import DMMWire

/// The location store in an SQLite file: the default for `dmm lms`. Every
/// write is its own transaction, committed with the write-ahead log and
/// `synchronous=FULL`, so a write that returned survives a crash of the
/// process or of the machine. Prefixes and addresses are kept as text, so the
/// file reads well with the sqlite3 shell.
///
/// Lookups by node and by prefix are answered from a copy in memory, read
/// at open and changed only after each commit: a MAR's query, which a moving
/// node waits on, costs no SQL and no disk. The file is the location
/// server's own; nothing else writes it while the server runs.
public final class SQLiteLocationStore: LocationStore {
    private var db: OpaquePointer?
    public let path: String
    private var committed = InMemoryLocationStore()
    /// Each statement compiled once: compiling costs more than running one
    /// of these lookups, and a MAR's query waits on it during a handover.
    private var statements: [String: OpaquePointer] = [:]

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    static let schema = """
        CREATE TABLE IF NOT EXISTS prefix_record (
            prefix      TEXT PRIMARY KEY,   -- 2001:db8:1::/64
            mobile_node BLOB NOT NULL,      -- MN-Identifier bytes (RFC 4283)
            anchor      TEXT NOT NULL,      -- the anchoring MAR (LMAA)
            serving     TEXT,               -- the MAR serving the node for it
            active      INTEGER NOT NULL,   -- flows use it
            expires_ns  INTEGER             -- the serving MAR's binding ends
        );
        DROP INDEX IF EXISTS prefix_record_node;  -- lookups by node are served from memory
        CREATE INDEX IF NOT EXISTS prefix_record_anchor ON prefix_record (anchor, prefix);
        """

    public init(path: String) throws {
        self.path = path
        guard sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nil) == SQLITE_OK
        else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close(db)
            throw Failure(description: "cannot open \(path): \(message)")
        }
        sqlite3_busy_timeout(db, 5000)
        try execute("PRAGMA journal_mode=WAL")
        try execute("PRAGMA synchronous=FULL")
        try execute(Self.schema)
        try query("SELECT \(Self.columns) FROM prefix_record", []) { committed.put(try decode($0)) }
    }

    deinit {
        for s in statements.values { sqlite3_finalize(s) }
        sqlite3_close(db)
    }

    func execute(_ sql: String) throws {
        var error: UnsafeMutablePointer<CChar>?
        guard sqlite3_exec(db, sql, nil, nil, &error) == SQLITE_OK else {
            let message = error.map { String(cString: $0) } ?? "unknown error"
            sqlite3_free(error)
            throw Failure(description: "\(path): \(message)")
        }
    }

    /// Runs one statement with its parameters bound, handing each row to `row`.
    func query(_ sql: String, _ parameters: [Value], row: (OpaquePointer) throws -> Void = { _ in }) throws {
        let statement = try prepared(sql)
        defer {
            sqlite3_reset(statement)
            sqlite3_clear_bindings(statement)
        }
        for (i, p) in parameters.enumerated() {
            let index = Int32(i + 1)
            switch p {
            case .null: sqlite3_bind_null(statement, index)
            case .int(let v): sqlite3_bind_int64(statement, index, v)
            case .text(let t): sqlite3_bind_text(statement, index, t, -1, Self.transient)
            case .blob(let b): b.withUnsafeBytes { _ = sqlite3_bind_blob(statement, index, $0.baseAddress, Int32($0.count), Self.transient) }
            }
        }
        while true {
            switch sqlite3_step(statement) {
            case SQLITE_ROW: try row(statement)
            case SQLITE_DONE: return
            default: throw Failure(description: "\(path): \(String(cString: sqlite3_errmsg(db)))")
            }
        }
    }

    func prepared(_ sql: String) throws -> OpaquePointer {
        if let s = statements[sql] { return s }
        var statement: OpaquePointer?
        guard sqlite3_prepare_v2(db, sql, -1, &statement, nil) == SQLITE_OK, let statement else {
            throw Failure(description: "\(path): \(String(cString: sqlite3_errmsg(db)))")
        }
        statements[sql] = statement
        return statement
    }

    enum Value {
        case null, int(Int64), text(String), blob([UInt8])
    }

    /// SQLITE_TRANSIENT: SQLite copies the bound bytes.
    static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    static let columns = "prefix, mobile_node, anchor, serving, active, expires_ns"

    func decode(_ s: OpaquePointer) throws -> PrefixRecord {
        func text(_ i: Int32) -> String? { sqlite3_column_text(s, i).map { String(cString: $0) } }
        let bytes = Int(sqlite3_column_bytes(s, 1))
        let node = sqlite3_column_blob(s, 1).map { Array(UnsafeRawBufferPointer(start: $0, count: bytes)) } ?? []
        guard let prefix = text(0).flatMap(IPv6Prefix.init), let anchor = text(2).flatMap(IPv6Address.init) else {
            throw Failure(description: "\(path): a prefix_record row that does not parse: \(text(0) ?? "null")")
        }
        return PrefixRecord(
            mobileNode: MobileNodeID(identifier: node), prefix: prefix, anchor: anchor,
            serving: text(3).flatMap(IPv6Address.init), active: sqlite3_column_int64(s, 4) != 0,
            expires: sqlite3_column_type(s, 5) == SQLITE_NULL ? nil : Instant(nanoseconds: sqlite3_column_int64(s, 5)))
    }

    // MARK: LocationStore

    public func records(of node: MobileNodeID) throws -> [PrefixRecord] { committed.records(of: node) }

    public func record(for prefix: IPv6Prefix) throws -> PrefixRecord? { committed.record(for: prefix) }

    public func put(_ r: PrefixRecord) throws {
        try query("INSERT OR REPLACE INTO prefix_record (\(Self.columns)) VALUES (?, ?, ?, ?, ?, ?)", [
            .text(r.prefix.description), .blob(r.mobileNode.identifier), .text(r.anchor.description),
            r.serving.map { .text($0.description) } ?? .null, .int(r.active ? 1 : 0),
            r.expires.map { .int($0.nanoseconds) } ?? .null,
        ])
        committed.put(r)
    }

    @discardableResult
    public func remove(_ prefix: IPv6Prefix) throws -> PrefixRecord? {
        guard committed.record(for: prefix) != nil else { return nil }
        try query("DELETE FROM prefix_record WHERE prefix = ?", [.text(prefix.description)])
        return committed.remove(prefix)
    }

    /// Pages in the text order of the prefix column, which the index on
    /// (anchor, prefix) serves without sorting.
    public func records(anchoredAt anchor: IPv6Address, after: IPv6Prefix?, limit: Int) throws -> [PrefixRecord] {
        var out: [PrefixRecord] = []
        try query("SELECT \(Self.columns) FROM prefix_record WHERE anchor = ? AND prefix > ? ORDER BY prefix LIMIT ?",
                  [.text(anchor.description), .text(after?.description ?? ""), .int(Int64(limit))]) { out.append(try decode($0)) }
        return out
    }

    public func count() throws -> Int { committed.count() }
}
