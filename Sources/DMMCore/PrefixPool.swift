import DMMWire

/// The /64s a MAR hands out from its configured block (seite section 4.1:
/// each MAR advertises its own per-MN prefixes). A released prefix waits out
/// a hold-down before it is handed out again, so that packets still in flight
/// for the old owner never reach a new one.
public struct PrefixPool: Sendable {
    public let block: IPv6Prefix
    public let prefixLength: UInt8
    private var nextIndex: UInt64 = 0
    private var free: [UInt64] = []
    private var assigned: Set<UInt64> = []

    /// `block` must be no longer than `prefixLength` (default /64).
    public init(block: IPv6Prefix, prefixLength: UInt8 = 64) {
        precondition(block.length <= prefixLength && prefixLength <= 64, "pool block must be shorter than the assigned prefixes")
        self.block = IPv6Prefix(block.address.masked(to: Int(block.length)), length: block.length)
        self.prefixLength = prefixLength
    }

    /// How many prefixes the block holds.
    public var capacity: UInt64 {
        let bits = UInt64(prefixLength - block.length)
        return bits >= 64 ? UInt64.max : 1 << bits
    }

    public var assignedCount: Int { assigned.count }

    /// The next free prefix; reserved ones are skipped as they come up.
    public mutating func allocate() -> IPv6Prefix? {
        var index: UInt64
        repeat {
            if let reused = free.popLast() {
                index = reused
            } else {
                guard nextIndex < capacity else { return nil }
                index = nextIndex
                nextIndex += 1
            }
        } while !assigned.insert(index).inserted
        return prefix(at: index)
    }

    /// Marks a prefix handed out before (a MAR restoring its bindings after a
    /// restart); false if it is not the block's or is taken already.
    public mutating func reserve(_ p: IPv6Prefix) -> Bool {
        guard let index = index(of: p) else { return false }
        return assigned.insert(index).inserted
    }

    public func contains(_ p: IPv6Prefix) -> Bool {
        p.length == prefixLength && block.contains(p.address)
    }

    /// Returns a prefix to the pool (call after the hold-down).
    public mutating func release(_ p: IPv6Prefix) {
        guard let index = index(of: p), assigned.remove(index) != nil else { return }
        free.append(index)
    }

    /// The prefix at `index` in the block, in the order prefixes are handed out.
    public func prefix(at index: UInt64) -> IPv6Prefix {
        let shift = UInt64(64 - prefixLength)
        let high = block.address.high | (index << shift)
        return IPv6Prefix(IPv6Address(high: high, low: 0), length: prefixLength)
    }

    /// The prefix's place in the block, or nil if it is not one of the block's.
    func index(of p: IPv6Prefix) -> UInt64? {
        guard contains(p) else { return nil }
        let shift = UInt64(64 - prefixLength)
        let mask: UInt64 = capacity == UInt64.max ? ~0 : capacity - 1
        return (p.address.high >> shift) & mask
    }
}
