/// The sessions a controller has yet to push again to an agent that
/// associated anew (either side restarted), or that was marked down and is
/// heard again (the requests it left unanswered were given up), by SEID.
/// Sent at once, thousands of requests would overflow the agent's socket
/// buffer (an unread UDP socket with Linux's default 208 KiB held 256
/// datagrams of 150 octets here), and the lost ones, sent again together
/// after T1, overflow it again; from a backlog they go a window at a time,
/// one more for each answer, at the pace the agent answers.
struct PushBacklog: Sendable {
    private var seids: [UInt64]
    private var head = 0

    init(_ seids: [UInt64]) { self.seids = seids }

    var isEmpty: Bool { head == seids.count }
    var count: Int { seids.count - head }

    /// The next session to push.
    mutating func next() -> UInt64? {
        guard !isEmpty else { return nil }
        let seid = seids[head]
        head += 1
        seids.dropTaken(head: &head)
        return seid
    }
}
