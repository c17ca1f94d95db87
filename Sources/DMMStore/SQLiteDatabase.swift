import CSQLite

/// One SQLite file as the stores use it: the write-ahead log with
/// `synchronous=FULL`, so that a write that returned survives a crash of the
/// process or of the machine, and each statement compiled once.
final class SQLiteDatabase {
    private var db: OpaquePointer?
    let path: String
    private var statements: [String: OpaquePointer] = [:]

    enum Value {
        case null, int(Int64), text(String), blob([UInt8])
    }

    /// Opens (creating) the file and runs `schema`.
    init(path: String, schema: String) throws {
        self.path = path
        guard sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nil) == SQLITE_OK
        else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close(db)
            throw StoreFailure(description: "cannot open \(path): \(message)")
        }
        sqlite3_busy_timeout(db, 5000)
        try execute("PRAGMA journal_mode=WAL")
        try execute("PRAGMA synchronous=FULL")
        try execute(schema)
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
            throw StoreFailure(description: "\(path): \(message)")
        }
    }

    /// Runs `body` as one transaction: all of its writes or none.
    func transaction(_ body: () throws -> Void) throws {
        try execute("BEGIN IMMEDIATE")
        do {
            try body()
            try execute("COMMIT")
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }

    /// Runs one statement with its parameters bound, handing each row to `row`.
    func query(_ sql: String, _ parameters: [Value], row: (Row) throws -> Void = { _ in }) throws {
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
            case SQLITE_ROW: try row(Row(statement: statement))
            case SQLITE_DONE: return
            default: throw StoreFailure(description: "\(path): \(String(cString: sqlite3_errmsg(db)))")
            }
        }
    }

    private func prepared(_ sql: String) throws -> OpaquePointer {
        if let s = statements[sql] { return s }
        var statement: OpaquePointer?
        guard sqlite3_prepare_v2(db, sql, -1, &statement, nil) == SQLITE_OK, let statement else {
            throw StoreFailure(description: "\(path): \(String(cString: sqlite3_errmsg(db)))")
        }
        statements[sql] = statement
        return statement
    }

    /// SQLITE_TRANSIENT: SQLite copies the bound bytes.
    static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    /// The current row of a query, read by column.
    struct Row {
        let statement: OpaquePointer

        func text(_ i: Int32) -> String? { sqlite3_column_text(statement, i).map { String(cString: $0) } }
        func int(_ i: Int32) -> Int64? { sqlite3_column_type(statement, i) == SQLITE_NULL ? nil : sqlite3_column_int64(statement, i) }
        func blob(_ i: Int32) -> [UInt8] {
            let count = Int(sqlite3_column_bytes(statement, i))
            return sqlite3_column_blob(statement, i).map { Array(UnsafeRawBufferPointer(start: $0, count: count)) } ?? []
        }
    }
}

public struct StoreFailure: Error, CustomStringConvertible {
    public var description: String
}
