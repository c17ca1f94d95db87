import DMMWire

/// The sessions of one prefix, by agent: the anchor's, and those of the
/// agents a move or a switch involves, so a handful. Searched in order:
/// a dictionary per prefix hashed the agent's address on every change (the
/// cost of the whole search several times over) and was an allocation of
/// its own. The first is held in place: most prefixes have one session, and
/// a list of one was an allocation, and a pointer to follow on every change.
struct PrefixSessions: Sendable, Sequence, ExpressibleByDictionaryLiteral {
    typealias Entry = (agent: IPv6Address, seid: UInt64)
    private var first: Entry?
    private var others: [Entry] = []

    /// A prefix's first session (a literal of one made a list to read it from).
    init(agent: IPv6Address, seid: UInt64) { first = (agent, seid) }

    init(dictionaryLiteral elements: (IPv6Address, UInt64)...) {
        for (agent, seid) in elements { self[agent] = seid }
    }

    /// The session with `agent`; setting nil ends it.
    subscript(agent: IPv6Address) -> UInt64? {
        get {
            if let first, first.agent == agent { return first.seid }
            return others.first { $0.agent == agent }?.seid
        }
        set {
            if let held = first, held.agent == agent {
                // The next oldest takes the first place, keeping the order.
                first = newValue.map { (agent, $0) } ?? (others.isEmpty ? nil : others.removeFirst())
                return
            }
            let i = others.firstIndex { $0.agent == agent }
            switch (i, newValue) {
            case (let i?, let seid?): others[i].seid = seid
            case (let i?, nil): others.remove(at: i)
            case (nil, let seid?): if first == nil { first = (agent, seid) } else { others.add((agent, seid)) }
            case (nil, nil): break
            }
        }
    }

    var isEmpty: Bool { first == nil }
    /// The agents, in the order their sessions began.
    var agents: [IPv6Address] { map(\.agent) }

    func makeIterator() -> Iterator { Iterator(first: first, others: others.makeIterator()) }

    /// The first, then the others: no list is made to walk them.
    struct Iterator: IteratorProtocol {
        var first: Entry?
        var others: IndexingIterator<[Entry]>

        mutating func next() -> Entry? {
            guard let entry = first else { return others.next() }
            first = nil
            return entry
        }
    }
}
