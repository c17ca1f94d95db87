/// The sessions of a PFCP node by the SEIDs it gave them (its end of each
/// F-SEID): the SEID names the slot its session lies in, as an array
/// index, so that finding a session hashes nothing and sessions lie side
/// by side.
///
/// A dictionary keyed by SEID spread 100,000 sessions over 262,144 buckets,
/// keys, values and occupancy in three places, at random: every change
/// through a controller and an agent then read memory no cache held
/// (`dmm bench controller`, BENCHMARKS.md, stop 33).
///
/// An SEID given here is `base` in the high 32 bits, the milliseconds of the
/// node's start (`startMilliseconds`: so a node restarted, even within the
/// second, does not give out its predecessor's SEIDs),
/// then 4 bits counting the slot's uses (so an SEID is not given again as
/// soon as its session is gone, and a late message for the old session
/// finds none), then the slot, 28 bits. A freed slot is used again first.
///
/// Sessions restored with SEIDs another node gave (a restarted controller's
/// store) lie in the slot their SEID names when it is free and near, else
/// in a slot of their own, found through `moved`.
public struct SEIDTable<Value> {
    struct Slot {
        /// Meaningful while `value` is there.
        var seid: UInt64
        /// The sessions this node gave the slot, counted in 4 bits of
        /// their SEIDs (a restored session is not counted).
        var uses: UInt8 = 0
        var value: Value?
    }

    static var slotBits: Int { 28 }
    static var slotMask: UInt64 { 1 << slotBits - 1 }

    /// The high 32 bits of every SEID given.
    let base: UInt64
    private var slots: [Slot] = []
    /// Slots free below `slots.count`, the last freed last.
    private var free: [UInt32] = []
    /// Restored sessions whose SEID names another slot.
    private var moved: [UInt64: Int] = [:]
    /// Whether slots were added or filled by `restore` since `free` was made.
    private var freeUnlisted = false
    public private(set) var count = 0

    init(base: UInt64) { self.base = base & ~0xFFFF_FFFF }

    public var isEmpty: Bool { count == 0 }
    /// Slots held, in use or free.
    var slotCount: Int { slots.count }

    /// Makes `n` slots at least, the new ones free and used lowest first
    /// after any freed before: written now, so that the sessions later
    /// set up in them neither grow the table (a copy of every session,
    /// and the loop stalled meanwhile) nor touch memory for the first time.
    mutating func reserve(_ n: Int) {
        let n = min(n, Int(Self.slotMask) + 1)
        guard n > slots.count else { return }
        let added = slots.count..<n
        slots.append(contentsOf: repeatElement(Slot(seid: 0, value: nil), count: added.count))
        if !freeUnlisted { free.insert(contentsOf: added.reversed().map { UInt32($0) }, at: 0) }
    }

    /// The slot of the session `seid` names, if any.
    @inline(__always)
    func index(of seid: UInt64) -> Int? {
        let i = Int(truncatingIfNeeded: seid & Self.slotMask)
        if i < slots.count, slots[i].seid == seid, slots[i].value != nil { return i }
        return moved.isEmpty ? nil : moved[seid]
    }

    public subscript(seid: UInt64) -> Value? { index(of: seid).map { slots[$0].value! } }

    /// The session in slot `i` (from `index(of:)`), read and changed where it lies.
    subscript(at i: Int) -> Value {
        _read { yield slots[i].value! }
        _modify { yield &slots[i].value! }
    }

    func seid(at i: Int) -> UInt64 { slots[i].seid }

    /// Gives a new session an SEID: its slot and the SEID.
    mutating func insert(_ value: consuming Value) -> (index: Int, seid: UInt64) {
        if freeUnlisted {
            // Lowest last, to be used first.
            free = slots.indices.reversed().filter { slots[$0].value == nil }.map { UInt32($0) }
            freeUnlisted = false
        }
        let i: Int
        if !free.isEmpty {
            i = Int(free.removeLast())
        } else {
            i = slots.count
            // 268 million sessions: memory runs out long before.
            precondition(UInt64(i) <= Self.slotMask, "SEIDTable: every slot is in use")
            slots.append(Slot(seid: 0, value: nil))
        }
        slots[i].uses = (slots[i].uses &+ 1) & 0xF
        let seid = base | UInt64(slots[i].uses) << Self.slotBits | UInt64(i)
        slots[i].seid = seid
        // The slot is free, its value nil, which holds nothing to release:
        // the session is written in without that nil being destroyed first,
        // which went through the run time's generic path (about 60
        // instructions a session set up).
        var moved: Value? = consume value
        withUnsafeMutablePointer(to: &slots[i].value) { $0.initialize(to: moved.take()) }
        count += 1
        return (i, seid)
    }

    /// Puts back a session with the SEID it had (a restored controller's),
    /// replacing one with the same SEID.
    mutating func restore(_ value: consuming Value, as seid: UInt64) {
        if let i = index(of: seid) {
            slots[i].value = value
            return
        }
        // The free slots are listed again at the next `insert`, once: kept
        // listed here, each restored session would search the list.
        freeUnlisted = true
        count += 1
        let named = Int(truncatingIfNeeded: seid & Self.slotMask)
        // Near: the empty slots up to there cost less than the sessions.
        if named < slots.count + count + 1024 {
            while slots.count <= named { slots.append(Slot(seid: 0, value: nil)) }
            if slots[named].value == nil {
                slots[named].seid = seid
                slots[named].value = value
                return
            }
        }
        moved[seid] = slots.count
        slots.append(Slot(seid: seid, value: value))
    }

    /// Takes the session `seid` names out.
    mutating func remove(_ seid: UInt64) -> Value? {
        guard let i = index(of: seid) else { return nil }
        let value = slots[i].value.take()
        if !moved.isEmpty { moved[seid] = nil }
        free.append(UInt32(i))
        count -= 1
        return value
    }

    /// The slots in use, in slot order.
    var indices: [Int] { slots.indices.filter { slots[$0].value != nil } }

    /// Every SEID in use, in order.
    public var seids: [UInt64] { indices.map { slots[$0].seid }.sorted() }

    /// Every session, in slot order.
    public var values: [Value] { slots.compactMap(\.value) }
}

extension SEIDTable: Sendable where Value: Sendable {}
extension SEIDTable.Slot: Sendable where Value: Sendable {}
