import DMMWire

/// What every PFCP node does alike, whichever end it is (TS 29.244 section
/// 6.4): it numbers its requests and sends each again after T1, at most N1
/// times; it answers a request that comes again (its answer was lost) with
/// the same answer without carrying it out twice; it answers a request that
/// does not decode with the Cause its fault calls for; and it counts all of
/// it. The engine decides what requests mean and what to do when one is
/// given up; it sends the datagrams this returns, encoded once: a request
/// is kept as it was sent, to be sent again, and an answer to be given again.
struct PFCPExchange: Sendable {
    /// What a datagram turned out to be. The message of a request or a
    /// response is the exchange's to lend (`lendReceived`).
    enum Arrival {
        /// A request seen for the first time: the engine answers it.
        case request
        /// The response to a request still waiting, with what that request was for.
        case response(to: PFCPRequests.Purpose)
        /// An answer owed, encoded: to a request sent again, or to one that
        /// does not decode.
        case answer([UInt8])
        /// A response to no request waiting for one (counted): most often a
        /// second answer to a request sent twice.
        case unexpected
        /// Nothing to do (counted).
        case ignored
    }

    /// A request whose T1 ran out.
    enum Retry {
        case resend([UInt8], to: IPv6Address)
        case givenUp(PFCPRequests.Pending)
    }

    let timing: PFCPTiming
    /// This node's Node ID address and Recovery Time Stamp, for answers to
    /// requests that do not decode.
    let node: IPv6Address
    let recoveryTimeStamp: UInt32
    private var requests: PFCPRequests
    private var answers = PFCPAnswers()
    /// Every datagram is read into this one message (`PFCPMessage.read`),
    /// whose storage is used again once the engine is done with the last.
    /// Nil while lent to the engine (`lendReceived`), which takes it back
    /// before the next datagram.
    private var received: PFCPMessage? = PFCPMessage(.heartbeatRequest, sequence: 0)
    /// When each request is due to be sent again, in the order sent: every
    /// request waits T1. An entry is stale when its request was answered or
    /// sent again since (`PFCPRequests.Pending.due` differs).
    private var retransmissions = DeadlineQueue<UInt32>()
    /// Datagrams done with (requests answered, answers forgotten), to
    /// encode the next ones in: a change through a controller and an agent
    /// otherwise allocated two and freed two, about 1,200 of its 12,000 to
    /// 20,000 instructions (BENCHMARKS.md, `dmm bench controller`, stop
    /// 32). One whose storage is still shared (the engine's caller kept the
    /// datagram it sent) is copied before it is written, as any array is.
    /// They never outnumber the most datagrams the node held at once, or
    /// those made at start (`reserve`).
    private var spare: [[UInt8]] = []
    private(set) var counters = PFCPCounters()

    /// `start`: the milliseconds of the node's start (`startMilliseconds`),
    /// which the first sequence number counts, 256 numbers apart.
    init(node: IPv6Address, timing: PFCPTiming, recoveryTimeStamp: UInt32, start: UInt64) {
        self.node = node
        self.timing = timing
        self.recoveryTimeStamp = recoveryTimeStamp
        requests = PFCPRequests(first: UInt32(truncatingIfNeeded: start) << 8)
    }

    /// A datagram done with, or a new one. `removeLast`: `popLast` was a
    /// call, of about 30 instructions, on every request and answer.
    private mutating func spareDatagram() -> [UInt8] { spare.isEmpty ? [] : spare.removeLast() }

    /// Room for `requests` pending and `answers` kept without growing, and
    /// a spare datagram made for each: a node keeps a request per session
    /// in flight at most, and an answer per request it answered within the
    /// answers' lifetime.
    mutating func reserve(requests: Int, answers: Int, now: Instant) {
        self.requests.reserve(requests)
        retransmissions.reserve(requests)
        self.answers.reserve(answers, now: now)
        // A Session Establishment Request of one PDR and FAR is 157
        // octets, its answer 71 (`dmm bench controller`); a longer one
        // grows its datagram.
        spare.reserveCapacity(requests + answers)
        for (count, octets) in [(requests, 256), (answers, 128)] {
            for _ in 0..<count { spare.append([UInt8](unsafeUninitializedCapacity: octets) { _, n in n = 0 }) }
        }
    }

    /// Requests sent and not yet answered or given up.
    var requestsInFlight: Int { requests.count }

    /// When a request is next due to be sent again. Kept answers need no
    /// wake-up: they are forgotten as later ones come, and one past its
    /// lifetime is not used.
    mutating func next() -> Instant? {
        dropStale()
        return retransmissions.first?.at
    }

    private mutating func dropStale() {
        while let (at, sequence) = retransmissions.first, requests.request(sequence)?.due != at {
            retransmissions.removeFirst()
        }
    }

    /// Numbers `message` and waits for its answer; the caller sends the
    /// datagram this returns. Nil (counted) if it does not encode: it is
    /// over 64 KiB, which only a list of pools that long makes. The
    /// message is numbered where it lies: taken as a value, the
    /// controller's one message for session requests was copied.
    mutating func request(_ message: inout PFCPMessage, to peer: IPv6Address, for purpose: PFCPRequests.Purpose,
                          at now: Instant) -> [UInt8]? {
        let due = now + timing.t1
        guard let (datagram, sequence) = requests.register(&message, to: peer, for: purpose, due: due, into: spareDatagram())
        else {
            counters.unencodable += 1
            return nil
        }
        retransmissions.append(sequence, at: due)
        return datagram
    }

    /// Keeps `answer` for a request that may come again, and counts a
    /// refusal by its Cause; the caller sends the datagram this returns
    /// (nil, counted, if it does not encode).
    mutating func answer(_ answer: PFCPMessage, to peer: IPv6Address, at now: Instant) -> [UInt8]? {
        if let cause = answer.cause, !cause.isAcceptance { counters.refused[cause.rawValue, default: 0] += 1 }
        // Answers past their time first, to encode this one in the last one's datagram.
        answers.forget(at: now, into: &spare)
        var datagram = spareDatagram()
        guard (try? answer.encode(into: &datagram)) != nil else {
            counters.unencodable += 1
            return nil
        }
        answers.remember(datagram, answer.sequence, to: peer, until: now + timing.answerLifetime, now: now)
        return datagram
    }

    /// Reads a datagram from `sender`. `seid` gives the sender's SEID of the
    /// session with this node's SEID, for the answer to a session request
    /// that does not decode.
    mutating func receive(_ bytes: [UInt8], from sender: IPv6Address, at now: Instant,
                          seid: (UInt64) -> UInt64?) -> Arrival {
        do {
            try received!.read(bytes)
        } catch {
            counters.malformed[error.kind, default: 0] += 1
            guard let r = PFCPMessage.answer(toUndecodable: bytes, error, node: node, recoveryTimeStamp: recoveryTimeStamp,
                                             seid: seid)
            else { return .ignored }
            return answer(r, to: sender, at: now).map(Arrival.answer) ?? .ignored
        }
        let (type, sequence) = (received!.type, received!.sequence)
        if type.isRequest {
            guard let previous = answers.answer(to: sender, sequence, at: now) else { return .request }
            counters.duplicates += 1
            return .answer(previous)
        }
        guard let request = requests.answered(by: received!, from: sender) else {
            counters.unexpectedResponses += 1
            return .unexpected
        }
        let purpose = request.purpose
        spare.append(request.takeDatagram())
        return .response(to: purpose)
    }

    /// The message `receive` read, moved out for the engine to act on;
    /// `takeBack` returns it, so that its storage is read into again.
    /// Handed out as a copy, with its arrival, it was copied and destroyed
    /// for every message (about 190 instructions a change through a
    /// controller and an agent, `dmm bench controller`, stop 41).
    mutating func lendReceived() -> PFCPMessage { received.take()! }

    mutating func takeBack(_ message: consuming PFCPMessage) { received = message }

    /// The requests to send again and those given up, as of `now`.
    mutating func expire(at now: Instant) -> [Retry] {
        var retries: [Retry] = []
        while true {
            dropStale()
            guard let (at, sequence) = retransmissions.first, at <= now else { return retries }
            retransmissions.removeFirst()
            let due = now + timing.t1
            switch requests.timedOut(sequence, n1: timing.n1, due: due) {
            case nil: break
            case .again(let p)?:
                counters.retransmissions += 1
                retransmissions.append(sequence, at: due)
                retries.append(.resend(p.datagram, to: p.peer))
            case .givenUp(let p)?:
                counters.unanswered += 1
                retries.append(.givenUp(p))
            }
        }
    }

    /// Stops waiting for answers from `peer` (its association is gone).
    mutating func forget(peer: IPv6Address) {
        requests.drop(peer: peer)
    }
}

/// What a PFCP node counts of its exchanges.
public struct PFCPCounters: Sendable, Hashable {
    /// Datagrams that did not decode, by fault.
    public var malformed: [WireError.Kind: Int] = [:]
    /// Requests answered with a Cause other than acceptance, by Cause value.
    public var refused: [UInt8: Int] = [:]
    public var retransmissions = 0
    /// Requests given up after N1 retransmissions.
    public var unanswered = 0
    /// Requests that came again and were answered from the cache.
    public var duplicates = 0
    /// Responses to no request waiting for one.
    public var unexpectedResponses = 0
    /// Messages not sent because they do not encode (over 64 KiB).
    public var unencodable = 0
}
