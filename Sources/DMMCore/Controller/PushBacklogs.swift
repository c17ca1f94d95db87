import DMMWire

/// The sessions a controller has yet to push again to agents that
/// associated anew (either side restarted), or that were marked down and
/// are heard again (the requests they left unanswered were given up), by
/// SEID. Sent at once, thousands of requests would overflow an agent's
/// socket buffer (an unread UDP socket with Linux's default 208 KiB held 256
/// datagrams of 150 octets here), and the lost ones, sent again together
/// after T1, overflow it again. From the backlog they go a window at a time
/// to each agent, one more for each answer, at the pace the agent answers;
/// and no more than a total window to all agents at once, whose answers
/// the controller's own socket must hold (a 4 MiB one held 10,082 datagrams
/// of 150 octets: the windows of a few hundred agents restarted together
/// would not fit).
struct PushBacklogs: Sendable {
    /// One agent's sessions to push, and those pushed still unanswered.
    struct Backlog: Sendable {
        var seids: [UInt64]
        var head = 0
        var inFlight: Set<UInt64> = []

        var count: Int { seids.count - head }
    }

    /// Requests in flight to one agent at most.
    let window: Int
    /// Requests in flight to all agents at most.
    let total: Int
    private var backlogs: [IPv6Address: Backlog] = [:]
    /// The agents with a backlog, in the order their turns come.
    private var turns: [IPv6Address] = []
    private var nextTurn = 0
    /// Requests in flight from every backlog.
    private(set) var inFlight = 0
    /// The agents whose backlogs went through (every session pushed and
    /// answered) since last taken (`takeThrough`).
    private var through: [IPv6Address] = []

    init(window: Int, total: Int) {
        self.window = window
        self.total = total
    }

    var isEmpty: Bool { backlogs.isEmpty }

    /// Whether `agent` has sessions yet to push or pushed and unanswered.
    func holds(_ agent: IPv6Address) -> Bool { backlogs[agent] != nil }

    /// Sessions of `agent` yet to be pushed.
    func count(of agent: IPv6Address) -> Int { backlogs[agent]?.count ?? 0 }

    /// Sessions of every agent yet to be pushed.
    var count: Int { backlogs.values.reduce(0) { $0 + $1.count } }

    /// Starts pushing `seids` to `agent`, in place of any backlog it had:
    /// it starts on an association (the requests in flight to the agent
    /// forgotten with the last one) or when the agent comes up again (its
    /// backlog dropped when it went down), so none of its requests are
    /// counted in flight any more.
    mutating func start(_ agent: IPv6Address, _ seids: [UInt64]) {
        drop(agent)
        guard !seids.isEmpty else {
            // Nothing to push: through at once.
            through.append(agent)
            return
        }
        backlogs[agent] = Backlog(seids: seids)
        turns.append(agent)
    }

    /// The next session to push, if the windows allow one: `agent`'s
    /// first (it just answered, freeing its place in the windows), then
    /// the other agents' in turn. Each session is handed out once, and
    /// what came of it told (`pushed`) before the next is asked for.
    mutating func next(preferring agent: IPv6Address) -> (agent: IPv6Address, seid: UInt64)? {
        guard inFlight < total else { return nil }
        if let seid = take(from: agent) { return (agent, seid) }
        for _ in 0..<turns.count {
            let other = turns[nextTurn]
            nextTurn = (nextTurn + 1) % turns.count
            if let seid = take(from: other) { return (other, seid) }
        }
        return nil
    }

    private mutating func take(from agent: IPv6Address) -> UInt64? {
        guard let b = backlogs[agent], b.head < b.seids.count, b.inFlight.count < window else { return nil }
        backlogs[agent]!.head += 1
        return b.seids[b.head]
    }

    /// What came of a session `next` handed out: a request to `agent`
    /// awaiting its answer (sent now, or earlier), or none (the session was
    /// set up again already, or is gone).
    mutating func pushed(_ seid: UInt64, to agent: IPv6Address, awaitingAnswer: Bool) {
        if awaitingAnswer, backlogs[agent]!.inFlight.insert(seid).inserted { inFlight += 1 }
        dropIfDone(agent)
    }

    /// A session's request to `agent` was answered, or given up.
    mutating func answered(_ seid: UInt64, by agent: IPv6Address) {
        guard backlogs[agent]?.inFlight.remove(seid) != nil else { return }
        inFlight -= 1
        dropIfDone(agent)
    }

    /// Forgets `agent`'s backlog, and its requests in flight (its association is gone).
    mutating func drop(_ agent: IPv6Address) {
        guard let b = backlogs.removeValue(forKey: agent) else { return }
        inFlight -= b.inFlight.count
        removeTurn(of: agent)
    }

    private mutating func dropIfDone(_ agent: IPv6Address) {
        guard let b = backlogs[agent], b.head == b.seids.count, b.inFlight.isEmpty else { return }
        backlogs[agent] = nil
        removeTurn(of: agent)
        through.append(agent)
    }

    /// The agents whose backlogs went through since the last call.
    mutating func takeThrough() -> [IPv6Address] {
        defer { through.removeAll(keepingCapacity: true) }
        return through
    }

    private mutating func removeTurn(of agent: IPv6Address) {
        guard let i = turns.firstIndex(of: agent) else { return }
        turns.remove(at: i)
        if nextTurn > i { nextTurn -= 1 }
        if nextTurn >= turns.count { nextTurn = 0 }
    }
}
