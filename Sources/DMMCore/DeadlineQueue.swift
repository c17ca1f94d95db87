/// Deadlines of timers that all run the same length, in the order they were
/// set, which is then also the order they fall due: appending and taking
/// the earliest are O(1), with no hashing and no heap. Entries are never
/// cancelled; the owner tells a stale one by its own records when it
/// surfaces (`PFCPExchange`'s retransmissions and kept answers).
struct DeadlineQueue<Element: Sendable>: Sendable {
    private var entries: [(at: Instant, element: Element)] = []
    /// Index of the earliest entry; those before it were taken.
    private var head = 0

    var isEmpty: Bool { head == entries.count }
    var count: Int { entries.count - head }

    /// Room for `n` entries without growing.
    mutating func reserve(_ n: Int) { entries.reserveCapacity(n) }

    /// Adds a deadline no earlier than any already queued.
    mutating func append(_ element: Element, at: Instant) {
        entries.append((at, element))
    }

    /// The earliest deadline and its element.
    var first: (at: Instant, element: Element)? { isEmpty ? nil : entries[head] }

    /// Takes the earliest entry.
    mutating func removeFirst() {
        head += 1
        entries.dropTaken(head: &head)
    }
}

extension Array {
    /// Drops the elements before `head`, taken from the front of a queue
    /// kept in this array, once they are all of it or half of a big one;
    /// `head` is then 0. A queue taken from one by one moves its elements
    /// seldom this way, and its storage stays bounded.
    mutating func dropTaken(head: inout Int) {
        if head == count {
            removeAll(keepingCapacity: true)
            head = 0
        } else if head >= 1024 && head * 2 >= count {
            removeFirst(head)
            head = 0
        }
    }
}
