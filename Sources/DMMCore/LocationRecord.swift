import DMMWire

/// One prefix of a mobile node in the session database (seite section 5: the
/// PMIPv6 policy store with MN-Identifier, anchor address and home network
/// prefixes mandatory), extended with the MAR now serving the node for it and
/// whether flows still use it (RFC 8818 section 4: mobility only when needed).
public struct PrefixRecord: Hashable, Sendable {
    public var mobileNode: MobileNodeID
    public var prefix: IPv6Prefix
    /// The MAR that assigned the prefix and anchors it (the LMAA).
    public var anchor: IPv6Address
    /// The MAR the node is attached to for this prefix, if any.
    public var serving: IPv6Address?
    /// Whether flows use the prefix, as last reported by the serving MAR.
    public var active: Bool
    /// When the serving MAR's binding for the prefix runs out unless it is
    /// refreshed; nil when the node is at the anchor or not served.
    public var expires: Instant?

    public init(mobileNode: MobileNodeID, prefix: IPv6Prefix, anchor: IPv6Address, serving: IPv6Address? = nil,
                active: Bool = false, expires: Instant? = nil) {
        self.mobileNode = mobileNode
        self.prefix = prefix
        self.anchor = anchor
        self.serving = serving
        self.active = active
        self.expires = expires
    }
}

/// Where location records are kept: in memory here, SQLite (and later
/// PostgreSQL) in the store layer. Every method is one atomic step; a write
/// that returns has been committed, and one that throws changed nothing.
public protocol LocationStore {
    /// LM-db:1/2: the records of one node.
    func records(of node: MobileNodeID) throws -> [PrefixRecord]
    func record(for prefix: IPv6Prefix) throws -> PrefixRecord?
    /// Creates or replaces the record of a prefix.
    mutating func put(_ record: PrefixRecord) throws
    /// Removes a prefix's record; returns it.
    @discardableResult mutating func remove(_ prefix: IPv6Prefix) throws -> PrefixRecord?
    func count() throws -> Int
    /// Up to `limit` records anchored at `anchor`, in the store's own order
    /// of prefixes, starting after `after` (nil: from the first).
    func records(anchoredAt anchor: IPv6Address, after: IPv6Prefix?, limit: Int) throws -> [PrefixRecord]
}

/// The store kept in memory: two indexes over the same records.
public struct InMemoryLocationStore: LocationStore, Sendable {
    private var byPrefix: [IPv6Prefix: PrefixRecord] = [:]
    private var byNode: [MobileNodeID: Set<IPv6Prefix>] = [:]

    public init() {}

    public func records(of node: MobileNodeID) -> [PrefixRecord] {
        (byNode[node] ?? []).compactMap { byPrefix[$0] }.sorted { $0.prefix.address < $1.prefix.address }
    }

    public func record(for prefix: IPv6Prefix) -> PrefixRecord? { byPrefix[prefix] }

    public mutating func put(_ record: PrefixRecord) {
        if let old = byPrefix[record.prefix], old.mobileNode != record.mobileNode {
            byNode[old.mobileNode]?.remove(record.prefix)
        }
        byPrefix[record.prefix] = record
        byNode[record.mobileNode, default: []].insert(record.prefix)
    }

    @discardableResult public mutating func remove(_ prefix: IPv6Prefix) -> PrefixRecord? {
        guard let old = byPrefix.removeValue(forKey: prefix) else { return nil }
        byNode[old.mobileNode]?.remove(prefix)
        if byNode[old.mobileNode]?.isEmpty == true { byNode[old.mobileNode] = nil }
        return old
    }

    public func count() -> Int { byPrefix.count }

    /// A scan: this store serves tests and small labs.
    public func records(anchoredAt anchor: IPv6Address, after: IPv6Prefix?, limit: Int) -> [PrefixRecord] {
        let mine = byPrefix.values.filter { r in r.anchor == anchor && after.map { $0.address < r.prefix.address } ?? true }
        return Array(mine.sorted { $0.prefix.address < $1.prefix.address }.prefix(limit))
    }
}
