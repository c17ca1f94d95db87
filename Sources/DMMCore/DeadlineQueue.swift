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

    /// Adds a deadline no earlier than any already queued.
    mutating func append(_ element: Element, at: Instant) {
        entries.append((at, element))
    }

    /// The earliest deadline and its element.
    var first: (at: Instant, element: Element)? { isEmpty ? nil : entries[head] }

    /// Takes the earliest entry.
    mutating func removeFirst() {
        head += 1
        // Taken entries are dropped once they are half the storage.
        if head == entries.count {
            entries.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= 1024 && head * 2 >= entries.count {
            entries.removeFirst(head)
            head = 0
        }
    }
}
