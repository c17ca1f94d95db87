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
    private let db: SQLiteDatabase
    public var path: String { db.path }
    private var committed = InMemoryLocationStore()

    public typealias Failure = StoreFailure

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
        db = try SQLiteDatabase(path: path, schema: Self.schema)
        try db.query("SELECT \(Self.columns) FROM prefix_record", []) { committed.put(try decode($0)) }
    }

    static let columns = "prefix, mobile_node, anchor, serving, active, expires_ns"

    func decode(_ row: SQLiteDatabase.Row) throws -> PrefixRecord {
        guard let prefix = row.text(0).flatMap(IPv6Prefix.init), let anchor = row.text(2).flatMap(IPv6Address.init) else {
            throw Failure(description: "\(path): a prefix_record row that does not parse: \(row.text(0) ?? "null")")
        }
        return PrefixRecord(
            mobileNode: MobileNodeID(identifier: row.blob(1)), prefix: prefix, anchor: anchor,
            serving: row.text(3).flatMap(IPv6Address.init), active: row.int(4) != 0,
            expires: row.int(5).map { Instant(nanoseconds: $0) })
    }

    // MARK: LocationStore

    public func records(of node: MobileNodeID) throws -> [PrefixRecord] { committed.records(of: node) }

    public func record(for prefix: IPv6Prefix) throws -> PrefixRecord? { committed.record(for: prefix) }

    public func put(_ r: PrefixRecord) throws {
        try db.query("INSERT OR REPLACE INTO prefix_record (\(Self.columns)) VALUES (?, ?, ?, ?, ?, ?)", [
            .text(r.prefix.description), .blob(r.mobileNode.identifier), .text(r.anchor.description),
            r.serving.map { .text($0.description) } ?? .null, .int(r.active ? 1 : 0),
            r.expires.map { .int($0.nanoseconds) } ?? .null,
        ])
        committed.put(r)
    }

    @discardableResult
    public func remove(_ prefix: IPv6Prefix) throws -> PrefixRecord? {
        guard committed.record(for: prefix) != nil else { return nil }
        try db.query("DELETE FROM prefix_record WHERE prefix = ?", [.text(prefix.description)])
        return committed.remove(prefix)
    }

    /// Pages in the text order of the prefix column, which the index on
    /// (anchor, prefix) serves without sorting.
    public func records(anchoredAt anchor: IPv6Address, after: IPv6Prefix?, limit: Int) throws -> [PrefixRecord] {
        var out: [PrefixRecord] = []
        try db.query("SELECT \(Self.columns) FROM prefix_record WHERE anchor = ? AND prefix > ? ORDER BY prefix LIMIT ?",
                  [.text(anchor.description), .text(after?.description ?? ""), .int(Int64(limit))]) { out.append(try decode($0)) }
        return out
    }

    public func count() throws -> Int { committed.count() }
}
