import DMMWire

/// A number this node gave out itself (its SEIDs) as the key of a hashed
/// table (the sessions an agent's controller confirmed; a node finds its
/// sessions by SEID without hashing, `SEIDTable`).
///
/// Swift hashes an integer key with SipHash, seeded per table, so that keys
/// someone else chose cannot be made to pile into one bucket. A node's own
/// numbers are counters no peer chooses, and a few multiplies spread them as
/// well at a fifth of the cost. Keys a peer chooses stay plain integers, but
/// for the sequence numbers of the answers a node keeps (`PFCPAnswers.Key`)
/// and an agent's controller's SEIDs (`ControllerSEID`), which say why.
struct OwnNumber: Hashable, Comparable, Sendable {
    let value: UInt64

    init(_ value: UInt64) { self.value = value }

    static func < (a: Self, b: Self) -> Bool { a.value < b.value }

    func hash(into hasher: inout Hasher) { hasher.combine(value) }

    /// What `Set` and `Dictionary` place a key by (the hook they call
    /// instead of `hash(into:)`): the seeded number through MurmurHash3's
    /// 64-bit finalizer, whose every output bit depends on every input bit,
    /// so consecutive counters and counters in the high half alike spread
    /// over the low bits a table masks.
    func _rawHashValue(seed: Int) -> Int { mixedHash(value, seed: seed) }
}

/// A node's prefix as the key of the controller's tables, hashed as the
/// network numbers it: prefixes are given out by the network, from the
/// pools of its access routers, never chosen by a node or another peer, and
/// the controller looks the prefix up on every change (SipHash over its 17
/// octets took 2.9 % of `dmm bench controller`'s instructions).
struct OwnPrefix: Hashable, Sendable {
    let prefix: IPv6Prefix

    init(_ prefix: IPv6Prefix) { self.prefix = prefix }

    func hash(into hasher: inout Hasher) { hasher.combine(prefix) }

    /// The prefix's number among the prefixes of its length (for a /64,
    /// its high half), with the length, in runs (`groupedHash`): prefixes
    /// given out one after the other lie side by side.
    func _rawHashValue(seed: Int) -> Int {
        let a = prefix.address
        let length = Int(prefix.length)
        let number = length <= 64 ? a.high >> (64 - length) : a.high ^ a.low >> (128 - length)
        return groupedHash(number ^ UInt64(length) << 56, seed: seed)
    }
}

/// `value` with the values next to it, in runs of 8: each run in 8
/// buckets side by side, the runs spread by `mixedHash`. A controller and an
/// agent set up sessions for numbers given out one after the other (a
/// pool's prefixes, a table's SEIDs), and spread one by one each was a
/// miss in every cache for the table's occupancy, key and value at 100,000
/// sessions (`dmm bench controller`, stop 41: the establishments after
/// the first pass, 504,000 to 544,000 a second in two runs before, 619,000
/// to 731,000 in three runs after, minutes apart).
/// Runs, not the numbers as they are: a table probes linearly, and a run of
/// 100,000 numbers in as many buckets made each removal shift the run
/// (removals fell from about 760,000 a second to 9,000 to 17,000). Runs of
/// 16 probed longer for no more speed, runs of 4 gave less.
@inline(__always)
func groupedHash(_ value: UInt64, seed: Int) -> Int {
    mixedHash(value >> 3, seed: seed) << 3 | Int(truncatingIfNeeded: value & 7)
}

/// `value` and a table's seed through MurmurHash3's 64-bit finalizer
/// (`OwnNumber`).
@inline(__always)
func mixedHash(_ value: UInt64, seed: Int) -> Int {
    var x = value ^ UInt64(UInt(bitPattern: seed))
    x = (x ^ x >> 33) &* 0xFF51_AFD7_ED55_8CCD
    x = (x ^ x >> 33) &* 0xC4CE_B9FE_1A85_EC53
    return Int(truncatingIfNeeded: x ^ x >> 33)
}
