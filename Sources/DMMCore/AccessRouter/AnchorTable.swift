import DMMWire

/// The anchor's entries. Those for the prefixes of its own block are stored
/// by the prefix's place in the block. The pool hands prefixes out low first
/// and reuses released ones, so the slots stay dense: a lookup is arithmetic
/// and one memory access, with no hashing, which is what lets one core
/// handle a PBU for any of a million nodes in about a microsecond. Prefixes
/// from outside the block (adopted from another anchor) are kept apart.
struct AnchorTable<Entry: Sendable & Equatable>: Sendable, Equatable {
    private let pool: PrefixPool
    private var slots: [Entry?] = []
    private var foreign: [IPv6Prefix: Entry] = [:]
    private(set) var count = 0

    init(pool: PrefixPool) { self.pool = pool }

    subscript(prefix: IPv6Prefix) -> Entry? {
        get {
            guard let i = pool.index(of: prefix) else { return foreign[prefix] }
            return i < slots.count ? slots[Int(i)] : nil
        }
        set {
            guard let i = pool.index(of: prefix).map(Int.init) else {
                count += (newValue != nil ? 1 : 0) - (foreign[prefix] != nil ? 1 : 0)
                foreign[prefix] = newValue
                return
            }
            if i >= slots.count {
                guard newValue != nil else { return }
                slots += repeatElement(nil, count: i + 1 - slots.count)
            }
            count += (newValue != nil ? 1 : 0) - (slots[i] != nil ? 1 : 0)
            slots[i] = newValue
        }
    }

    /// Reads the prefix's entry in place (no copy of it); nil if none.
    func read<R>(_ prefix: IPv6Prefix, _ body: (borrowing Entry) throws -> R) rethrows -> R? {
        guard let i = pool.index(of: prefix).map(Int.init) else { return try foreign[prefix].map(body) }
        guard i < slots.count, slots[i] != nil else { return nil }
        return try body(slots[i]!)
    }

    /// Changes the prefix's entry in place; nil (and no call) if none.
    mutating func update<R>(_ prefix: IPv6Prefix, _ body: (inout Entry) throws -> R) rethrows -> R? {
        guard let i = pool.index(of: prefix).map(Int.init) else {
            guard foreign[prefix] != nil else { return nil }
            return try body(&foreign[prefix]!)
        }
        guard i < slots.count, slots[i] != nil else { return nil }
        return try body(&slots[i]!)
    }

    /// Every entry with its prefix: the block's in block order, then the
    /// others in address order.
    var entries: [(IPv6Prefix, Entry)] {
        slots.enumerated().compactMap { i, e in e.map { (pool.prefix(at: UInt64(i)), $0) } }
            + foreign.sorted { $0.key.address < $1.key.address }.map { ($0.key, $0.value) }
    }

    static func == (a: AnchorTable, b: AnchorTable) -> Bool {
        a.count == b.count && a.foreign == b.foreign && a.slots.lazy.compactMap { $0 }.elementsEqual(b.slots.lazy.compactMap { $0 })
    }
}
