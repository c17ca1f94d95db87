/// Deadlines keyed by what they are for. Setting a key replaces its deadline;
/// the heap keeps stale entries and skips them when they surface, so set and
/// cancel are O(log n) and an extra wake-up finds nothing due.
public struct TimerTable<Key: Hashable & Sendable>: Sendable {
    private var deadlines: [Key: Instant] = [:]
    private var heap: [(at: Instant, key: Key)] = []

    public init() {}

    public var count: Int { deadlines.count }

    public mutating func set(_ key: Key, at: Instant) {
        deadlines[key] = at
        heap.append((at, key))
        siftUp(heap.count - 1)
        if heap.count > 2 * deadlines.count + 1024 { compact() }
    }

    /// Rebuilds the heap from the live deadlines when stale entries pile up.
    private mutating func compact() {
        heap = deadlines.map { ($0.value, $0.key) }.sorted { $0.at < $1.at }
    }

    public mutating func cancel(_ key: Key) { deadlines[key] = nil }

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
        while let top = heap.first, deadlines[top.key] != top.at { popTop() }
    }

    private mutating func popTop() {
        heap.swapAt(0, heap.count - 1)
        heap.removeLast()
        var i = 0
        while true {
            let l = 2 * i + 1, r = l + 1
            var m = i
            if l < heap.count && heap[l].at < heap[m].at { m = l }
            if r < heap.count && heap[r].at < heap[m].at { m = r }
            if m == i { return }
            heap.swapAt(i, m)
            i = m
        }
    }

    private mutating func siftUp(_ index: Int) {
        var i = index
        while i > 0 {
            let p = (i - 1) / 2
            if heap[p].at <= heap[i].at { return }
            heap.swapAt(p, i)
            i = p
        }
    }
}
