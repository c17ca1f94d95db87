import DMMWire

/// The requests a PFCP node sent and awaits answers to (TS 29.244 section
/// 6.4): each is sent again after T1, at most N1 times, then given up. The
/// sequence number names a request; a response must come from the peer the
/// request went to and be of the request's response type.
struct PFCPRequests: Sendable {
    struct Pending: Sendable {
        /// The request as sent: sent again as it is (TS 29.244 section 6.4
        /// wants the same message with the same sequence number).
        let datagram: [UInt8]
        let type: PFCPMessageType
        let peer: IPv6Address
        /// What the request is for, to the engine that sent it.
        let purpose: Purpose
        var retransmissions = 0
        /// When it is to be sent again.
        var due: Instant

        /// Its datagram, the rest let go of: moved out rather than copied
        /// (a copy counted a reference in memory written long before, at
        /// every answer).
        consuming func takeDatagram() -> [UInt8] { datagram }
    }

    /// Why a request was sent, so that its answer or its loss can be acted on.
    enum Purpose: Hashable, Sendable {
        case association, heartbeat, nodeReport
        /// A session request for the session with this CP SEID.
        case session(UInt64)
    }

    /// The requests in the order sent, from the oldest still pending: a
    /// node numbers its requests in that order, so a request is found at
    /// its sequence number less the oldest one's: no hashing, and requests
    /// sent together lie together, where a table keyed by number probed
    /// its buckets at random on every request and answer (a controller
    /// pushing 100,000 sessions holds as many). A request answered or given
    /// up leaves nil in its slot until the slots before it are done too.
    private var slots: [Pending?] = []
    /// Index in `slots` of the oldest request still pending (or of the end).
    private var head = 0
    /// The sequence number of `slots[head]`, or of the next request when none is pending.
    private var oldest: UInt32
    private var last: UInt32
    /// Requests pending.
    private(set) var count = 0

    /// Sequence numbers start from `first`, which the engine derives from its
    /// recovery time stamp, so that a restarted node does not reuse numbers
    /// its predecessor's peers may still hold answers for.
    init(first: UInt32) {
        last = first & 0xFF_FFFF
        oldest = (last + 1) & 0xFF_FFFF
    }

    /// Room for `n` requests pending without growing.
    mutating func reserve(_ n: Int) { slots.reserveCapacity(n) }

    /// Numbers `message` and records it encoded, in `storage` (see
    /// `PFCPMessage.encode(into:)`); the caller sends what this returns with
    /// its sequence number. Nil if it does not encode (over 64 KiB): nothing
    /// is recorded.
    mutating func register(_ message: inout PFCPMessage, to peer: IPv6Address, for purpose: Purpose, due: Instant,
                           into storage: consuming [UInt8]) -> (datagram: [UInt8], sequence: UInt32)? {
        let sequence = (last + 1) & 0xFF_FFFF
        message.header.sequence = sequence
        var datagram = storage
        guard (try? message.encode(into: &datagram)) != nil else { return nil }
        last = sequence
        slots.add(Pending(datagram: datagram, type: message.type, peer: peer, purpose: purpose, due: due))
        count += 1
        return (datagram, sequence)
    }

    /// The slot of request `sequence`, if it is within those kept.
    private func slot(of sequence: UInt32) -> Int? {
        let i = head + Int((sequence &- oldest) & 0xFF_FFFF)
        return i < slots.count ? i : nil
    }

    /// Request `sequence`, if pending.
    func request(_ sequence: UInt32) -> Pending? { slot(of: sequence).flatMap { slots[$0] } }

    /// One request fewer pending, its slot emptied, and the done slots at
    /// the front let go of. An answered request's slot is left as taking it
    /// emptied it: set to nil again, the nil there was destroyed first,
    /// through the run time's generic path (60 instructions an answer).
    private mutating func finish() {
        count -= 1
        dropDone()
    }

    /// Lets go of the done slots at the front.
    private mutating func dropDone() {
        while head < slots.count && slots[head] == nil {
            head += 1
            oldest = (oldest + 1) & 0xFF_FFFF
        }
        slots.dropTaken(head: &head)
    }

    /// The request `response` answers, no longer pending; nil if none.
    mutating func answered(by response: PFCPMessage, from peer: IPv6Address) -> Pending? {
        // Taken out to be looked at, and put back if it is not the one: read
        // in its slot, it was copied, with a reference to count.
        guard let i = slot(of: response.sequence), let p = slots[i].take() else { return nil }
        guard p.peer == peer, p.type.response == response.type else {
            slots[i] = p
            return nil
        }
        finish()
        return p
    }

    enum Retry {
        case again(Pending)
        case givenUp(Pending)
    }

    /// T1 ran out for a request: send it again (due again at `due`), or give
    /// it up after `n1` retransmissions. Nil if it is no longer pending.
    mutating func timedOut(_ sequence: UInt32, n1: Int, due: Instant) -> Retry? {
        guard let i = slot(of: sequence), let p = slots[i] else { return nil }
        guard p.retransmissions < n1 else {
            slots[i] = nil
            finish()
            return .givenUp(p)
        }
        slots[i]!.retransmissions += 1
        slots[i]!.due = due
        return .again(slots[i]!)
    }

    /// Forgets every request to `peer` (its association is gone).
    mutating func drop(peer: IPv6Address) {
        for i in head..<slots.count where slots[i]?.peer == peer {
            slots[i] = nil
            count -= 1
        }
        dropDone()
    }
}

/// The answers a PFCP node gave recently, so that a request sent again (its
/// answer was lost) gets the same answer and is not carried out twice (TS
/// 29.244 section 6.4).
struct PFCPAnswers: Sendable {
    struct Key: Hashable, Sendable {
        var peer: IPv6Address
        var sequence: UInt32

        /// The sequence number's hash alone (a node answers few peers, and
        /// an address hashes at three times the cost of an integer), mixed
        /// as an own number is rather than by SipHash: a peer chooses it,
        /// but 24 bits of it, kept 2 s, against a seed it never learns,
        /// give it no way to pile answers into one bucket.
        func _rawHashValue(seed: Int) -> Int { mixedHash(UInt64(sequence), seed: seed) }
    }

    struct Answer: Sendable {
        let key: Key
        /// As it was sent.
        let datagram: [UInt8]
        let until: Instant
    }

    /// Each answer in the slot its sequence number's low bits name: a peer
    /// numbers its requests in order, so answers given one after the other
    /// lie one after the other, where a table hashing the number probed its
    /// buckets at random on every request and answer (an agent answering
    /// 100,000 session requests keeps as many answers). At most half full;
    /// a power of two long, or empty.
    private var slots: [Answer?] = []
    /// Answers in `slots` (some may be past their time, until taken out).
    private var inSlots = 0
    /// Answers whose slot another answer holds: requests of several peers,
    /// or of one numbering far apart (a peer chooses its numbers, and this
    /// keeps it from growing the slots without bound).
    private var others: [Key: Answer] = [:]
    /// When each kept answer is to be forgotten, in the order given: every
    /// answer is kept as long.
    private var lifetimes = DeadlineQueue<Key>()

    private func slot(of sequence: UInt32) -> Int { Int(sequence) & (slots.count - 1) }

    /// Answers kept, past their time or not.
    var count: Int { inSlots + others.count }
    /// Slots there are room for.
    var capacity: Int { slots.count }

    /// Room for `n` answers kept without growing, made now.
    mutating func reserve(_ n: Int, now: Instant) {
        guard n > 0 else { return }
        var size = max(64, slots.count)
        while size < 2 * n { size *= 2 }
        if size > slots.count { resize(to: size, now: now) }
        lifetimes.reserve(n)
    }

    /// The answer given to request `sequence` from `peer`, if still kept.
    func answer(to peer: IPv6Address, _ sequence: UInt32, at now: Instant) -> [UInt8]? {
        let key = Key(peer: peer, sequence: sequence)
        let kept: Answer?
        if !slots.isEmpty, let a = slots[slot(of: sequence)], a.key == key {
            kept = a
        } else {
            kept = others.isEmpty ? nil : others[key]
        }
        guard let kept, kept.until > now else { return nil }
        return kept.datagram
    }

    /// Forgets the answers whose time is over at `now`, adding their
    /// datagrams to `forgotten`.
    mutating func forget(at now: Instant, into forgotten: inout [[UInt8]]) {
        while let (at, key) = lifetimes.first, at <= now {
            lifetimes.removeFirst()
            if let d = forget(key, keptUntil: at) { forgotten.append(d) }
        }
    }

    /// Keeps the answer `datagram` to request `sequence` until `until`.
    mutating func remember(_ datagram: [UInt8], _ sequence: UInt32, to peer: IPv6Address, until: Instant, now: Instant) {
        let key = Key(peer: peer, sequence: sequence)
        if 2 * (inSlots + 1) > slots.count { resize(to: max(64, 2 * slots.count), now: now) }
        place(Answer(key: key, datagram: datagram, until: until), now: now)
        lifetimes.append(key, at: until)
    }

    /// Puts `answer` in its slot if that is free, past its time or its own,
    /// else among the others. An answer is kept in one place: one to the
    /// same request among the others is dropped.
    private mutating func place(_ answer: consuming Answer, now: Instant) {
        let key = answer.key
        let i = slot(of: key.sequence)
        if let held = slots[i], held.key != key, held.until > now {
            others[key] = consume answer
            return
        }
        if slots[i] == nil { inSlots += 1 }
        slots[i] = consume answer
        if !others.isEmpty { others[key] = nil }
    }

    /// Forgets the answer to `key` if it is the one kept until `at` (the
    /// request may have been answered again since); its datagram.
    private mutating func forget(_ key: Key, keptUntil at: Instant) -> [UInt8]? {
        let i = slot(of: key.sequence)
        // Taken out to be looked at, and put back if it is not the one:
        // read in its slot, it was copied, and its datagram then shared.
        if let held = slots[i].take() {
            if held.key == key, held.until == at {
                inSlots -= 1
                return held.datagram
            }
            slots[i] = held
        }
        guard !others.isEmpty, let j = others.index(forKey: key), others.values[j].until == at else { return nil }
        return others.remove(at: j).value.datagram
    }

    /// `count` empty slots, each made nil where it lies (a fill of zeros):
    /// `Array(repeating: nil, count:)` copied its nil into every slot
    /// through the type's value witnesses, about 100 instructions a slot.
    private static func empty(_ count: Int) -> [Answer?] {
        [Answer?](unsafeUninitializedCapacity: count) { slots, initialized in
            for i in 0..<count { (slots.baseAddress! + i).initialize(to: nil) }
            initialized = count
        }
    }

    /// `count` slots, a power of two, every answer placed again.
    private mutating func resize(to count: Int, now: Instant) {
        var old = Self.empty(count)
        swap(&old, &slots)
        let moved = others
        inSlots = 0
        others = [:]
        // Taken out, not copied: each copy retained its datagram, and the
        // old slots released them all again.
        for i in old.indices { if let a = old[i].take() { place(a, now: now) } }
        for a in moved.values { place(a, now: now) }
    }
}

/// PFCP's timing (TS 29.244 section 6.4 leaves the values to the operator).
public struct PFCPTiming: Hashable, Sendable {
    /// T1: how long a request waits for its answer before it is sent again.
    public var t1: Seconds
    /// N1: how many times a request is sent again before it is given up.
    public var n1: Int
    /// Between heartbeats to each peer; a peer that misses a heartbeat (N1
    /// retransmissions unanswered) is marked down.
    public var heartbeatInterval: Seconds

    public init(t1: Seconds = 0.5, n1: Int = 3, heartbeatInterval: Seconds = 5) {
        self.t1 = t1
        self.n1 = n1
        self.heartbeatInterval = heartbeatInterval
    }

    /// How long an answer is kept for a request that may come again.
    var answerLifetime: Seconds { Seconds(t1.seconds * Double(n1 + 1)) }
}

/// NTP seconds (era 0) of an instant: PFCP's Recovery Time Stamp.
public func ntpSeconds(_ t: Instant) -> UInt32 {
    UInt32(truncatingIfNeeded: t.nanoseconds / 1_000_000_000 + 2_208_988_800)
}

/// A node's start in milliseconds: its Recovery Time Stamp's, and those of
/// `started` within the second. Two starts within one second share the
/// stamp; numbers a node gives from its start (its first request's, its
/// SEIDs) must still differ from its predecessor's, or the peer takes them
/// for the predecessor's: a first request for one sent again (answered
/// from the cache), a change for a session of the predecessor applied to
/// another.
func startMilliseconds(recoveryTimeStamp: UInt32, started: Instant) -> UInt64 {
    UInt64(recoveryTimeStamp) &* 1000 &+ UInt64(truncatingIfNeeded: started.nanoseconds / 1_000_000 % 1000)
}

extension PFCPMessage {
    /// The answer owed to a request that does not decode (TS 29.244 section
    /// 7.6): nil unless its header reads as a request; Version Not Supported
    /// for another version; a heartbeat's answer; otherwise the response
    /// with the Cause the fault calls for and the IE at fault. `seid` gives
    /// the sender's SEID of the session the header names, if known.
    static func answer(toUndecodable bytes: [UInt8], _ error: WireError, node: IPv6Address, recoveryTimeStamp: UInt32,
                       seid: (UInt64) -> UInt64?) -> PFCPMessage? {
        guard let (header, _) = try? PFCPHeader.read(bytes), header.type.isRequest else { return nil }
        guard header.version == PFCPHeader.version else {
            return PFCPMessage(.versionNotSupportedResponse, sequence: header.sequence)
        }
        var r = PFCPMessage(header.type.response, sequence: header.sequence, seid: header.seid.map { seid($0) ?? 0 })
        if header.type == .heartbeatRequest {
            r.recoveryTimeStamp = recoveryTimeStamp
            return r
        }
        r.cause = PFCPCause.refusing(error)
        // Node ID is mandatory in node responses and in a Session Establishment Response.
        if !header.type.isSessionMessage || header.type == .sessionEstablishmentRequest { r.nodeID = .ipv6(node) }
        if header.type == .associationSetupRequest {
            // Its response carries the Recovery Time Stamp and has no
            // Offending IE (TS 29.244 Table 7.4.4.2-1).
            r.recoveryTimeStamp = recoveryTimeStamp
        } else {
            r.offendingIE = error.element.map(PFCPIEType.init(rawValue:))
        }
        return r
    }
}

extension PFCPCause {
    /// The Cause that answers a request refused for `error`: a missing IE,
    /// a wrong length, or a wrong value.
    static func refusing(_ error: WireError) -> PFCPCause {
        switch error.kind {
        case .missing: .mandatoryIEMissing
        case .truncated, .badLength: .invalidLength
        default: .mandatoryIEIncorrect
        }
    }
}
