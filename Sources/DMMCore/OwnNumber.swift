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

/// A node's prefix as the key of the controller's tables, hashed as an own
/// number is: prefixes are given out by the network, from the pools of its
/// access routers, never chosen by a node or another peer, and the
/// controller looks the prefix up on every change (SipHash over its 17
/// octets took 2.9 % of `dmm bench controller`'s instructions).
struct OwnPrefix: Hashable, Sendable {
    let prefix: IPv6Prefix

    init(_ prefix: IPv6Prefix) { self.prefix = prefix }

    func hash(into hasher: inout Hasher) { hasher.combine(prefix) }

    /// The two halves folded into one number (odd multipliers, so that
    /// prefixes differing in either half differ), then finalized.
    func _rawHashValue(seed: Int) -> Int {
        let a = prefix.address
        return mixedHash(a.high &* 0x9E37_79B9_7F4A_7C15 ^ a.low &* 0xC2B2_AE3D_27D4_EB4F ^ UInt64(prefix.length), seed: seed)
    }
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
