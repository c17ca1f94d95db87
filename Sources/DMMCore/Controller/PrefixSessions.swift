import DMMWire

/// The sessions of one prefix, by agent: the anchor's, and those of the
/// agents a move or a switch involves, so a handful. Searched in order:
/// a dictionary per prefix hashed the agent's address on every change (the
/// cost of the whole search several times over) and was an allocation of
/// its own.
struct PrefixSessions: Sendable, Sequence, ExpressibleByDictionaryLiteral {
    private var entries: [(agent: IPv6Address, seid: UInt64)] = []

    init(dictionaryLiteral elements: (IPv6Address, UInt64)...) {
        for (agent, seid) in elements { self[agent] = seid }
    }

    /// The session with `agent`; setting nil ends it.
    subscript(agent: IPv6Address) -> UInt64? {
        get { entries.first { $0.agent == agent }?.seid }
        set {
            let i = entries.firstIndex { $0.agent == agent }
            switch (i, newValue) {
            case (let i?, let seid?): entries[i].seid = seid
            case (let i?, nil): entries.remove(at: i)
            case (nil, let seid?): entries.add((agent, seid))
            case (nil, nil): break
            }
        }
    }

    var isEmpty: Bool { entries.isEmpty }
    /// The agents, in the order their sessions began.
    var agents: [IPv6Address] { entries.map(\.agent) }

    func makeIterator() -> IndexingIterator<[(agent: IPv6Address, seid: UInt64)]> { entries.makeIterator() }
}
