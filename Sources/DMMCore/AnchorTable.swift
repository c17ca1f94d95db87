import DMMWire

/// The anchor's entries for the prefixes of its own block, stored by the
/// prefix's place in the block. The pool hands prefixes out low first and
/// reuses released ones, so the slots stay dense: a lookup is arithmetic and
/// one memory access, with no hashing, which is what lets one core handle a
/// PBU for any of a million nodes in about a microsecond.
struct AnchorTable<Entry: Sendable & Equatable>: Sendable, Equatable {
    private let pool: PrefixPool
    private var slots: [Entry?] = []
    private(set) var count = 0

    init(pool: PrefixPool) { self.pool = pool }

    subscript(prefix: IPv6Prefix) -> Entry? {
        get {
            guard let i = pool.index(of: prefix), i < slots.count else { return nil }
            return slots[Int(i)]
        }
        set {
            guard let i = pool.index(of: prefix).map(Int.init) else { return }
            if i >= slots.count {
                guard newValue != nil else { return }
                slots += repeatElement(nil, count: i + 1 - slots.count)
            }
            count += (newValue != nil ? 1 : 0) - (slots[i] != nil ? 1 : 0)
            slots[i] = newValue
        }
    }

    /// Every entry with its prefix, in block order.
    var entries: [(IPv6Prefix, Entry)] {
        slots.enumerated().compactMap { i, e in e.map { (pool.prefix(at: UInt64(i)), $0) } }
    }

    static func == (a: AnchorTable, b: AnchorTable) -> Bool {
        a.count == b.count && a.slots.lazy.compactMap { $0 }.elementsEqual(b.slots.lazy.compactMap { $0 })
    }
}
