/// Deadlines keyed by what they are for. Setting a key replaces its deadline;
/// the heap keeps stale entries and skips them when they surface, so set and
/// cancel are O(log n) and an extra wake-up finds nothing due. Keys due at
/// the same instant expire in the order they were set, so the engines'
/// actions never depend on hashing.
public struct TimerTable<Key: Hashable & Sendable>: Sendable {
    private struct Entry {
        var at: Instant
        /// When it was set, among all sets: breaks ties between equal deadlines.
        var order: UInt64
        var key: Key
        static func < (a: Entry, b: Entry) -> Bool { (a.at, a.order) < (b.at, b.order) }
    }
    private var deadlines: [Key: (at: Instant, order: UInt64)] = [:]
    private var heap: [Entry] = []
    private var sets: UInt64 = 0

    public init() {}

    public var count: Int { deadlines.count }

    /// Entries in the heap, stale ones included.
    var heapSize: Int { heap.count }

    public mutating func set(_ key: Key, at: Instant) {
        sets += 1
        deadlines[key] = (at, sets)
        heap.append(Entry(at: at, order: sets, key: key))
        siftUp(heap.count - 1)
        if heap.count > 2 * deadlines.count + 1024 { compact() }
    }

    /// Rebuilds the heap from the live deadlines when stale entries pile up.
    private mutating func compact() {
        heap = deadlines.map { Entry(at: $0.value.at, order: $0.value.order, key: $0.key) }.sorted(by: <)
    }

    public mutating func cancel(_ key: Key) { deadlines[key] = nil }

    public func isSet(_ key: Key) -> Bool { deadlines[key] != nil }

    /// The earliest live deadline.
    public mutating func next() -> Instant? {
        dropStale()
        return heap.first?.at
    }

    /// Removes and returns every key due at `now`, earliest first.
    public mutating func expire(at now: Instant) -> [Key] {
        var due: [Key] = []
        while true {
            dropStale()
            guard let top = heap.first, top.at <= now else { return due }
            popTop()
            deadlines[top.key] = nil
            due.append(top.key)
        }
    }

    private mutating func dropStale() {
        while let top = heap.first, deadlines[top.key]?.order != top.order { popTop() }
    }

    private mutating func popTop() {
        heap.swapAt(0, heap.count - 1)
        heap.removeLast()
        var i = 0
        while true {
            let l = 2 * i + 1, r = l + 1
            var m = i
            if l < heap.count && heap[l] < heap[m] { m = l }
            if r < heap.count && heap[r] < heap[m] { m = r }
            if m == i { return }
            heap.swapAt(i, m)
            i = m
        }
    }

    private mutating func siftUp(_ index: Int) {
        var i = index
        while i > 0 {
            let p = (i - 1) / 2
            if !(heap[i] < heap[p]) { return }
            heap.swapAt(p, i)
            i = p
        }
    }
}
