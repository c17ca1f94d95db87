import DMMWire

/// The data-plane agent (RFC 8818's FM-DP at a DPA, section 3.1.1 with the
/// control plane centralized): a pure engine speaking PFCP with one
/// controller. It registers with the controller, saying which prefixes it
/// anchors (FM-find:2); turns the PDRs and FARs of each session into
/// forwarding rules (FM-cpdp:1); answers every request with a Cause and
/// refuses what it cannot do without changing anything; and reports that it
/// is alive and its load (FM-cpdp:2).
///
///     start --Association Setup--> associating --accepted--> associated
///                                        ^                       | controller's Recovery Time Stamp changed,
///                                        +-----------------------+ or heartbeats unanswered
public struct DataPlaneAgent: Sendable {
    public struct Config: Sendable, Hashable {
        /// Its address: its Node ID and the address of its F-SEIDs.
        public var address: IPv6Address
        public var controller: IPv6Address
        /// The prefix blocks it anchors, registered under `poolIdentity`.
        public var pools: [IPv6Prefix]
        public var poolIdentity: String
        public var tunnelMode: TunnelMode
        public var timing: PFCPTiming
        /// How long after association, and after each session the
        /// controller pushed since, it waits for the controller to push its
        /// other sessions again before rules no session asks for are stale:
        /// a controller pushing many sessions goes at the pace the agent
        /// answers, so the wait runs from the last one.
        public var resynchronization: Seconds
        /// How long after association the wait ends at the latest, however
        /// many sessions keep coming; with a controller that announced its
        /// notice of the end, how long after the last session pushed (it
        /// ends at the notice, and a push of many sessions may take longer).
        public var resynchronizationLimit: Seconds
        /// Sessions the tables are made for at start, as the controller's
        /// (`Controller.reserve`); more grow them.
        public var reservedSessions: Int

        public init(address: IPv6Address, controller: IPv6Address, pools: [IPv6Prefix], poolIdentity: String,
                    tunnelMode: TunnelMode = .ipv6InIPv6, timing: PFCPTiming = PFCPTiming(), resynchronization: Seconds = 2,
                    resynchronizationLimit: Seconds = 60, reservedSessions: Int = 0) {
            self.address = address
            self.controller = controller
            self.pools = pools
            self.poolIdentity = poolIdentity
            self.tunnelMode = tunnelMode
            self.timing = timing
            self.resynchronization = resynchronization
            self.resynchronizationLimit = max(resynchronization, resynchronizationLimit)
            self.reservedSessions = max(0, reservedSessions)
        }

        /// The registration (FM-find:2): its Node ID and every pool.
        func associationSetupRequest(recoveryTimeStamp: UInt32) -> PFCPMessage {
            var m = PFCPMessage(.associationSetupRequest, sequence: 0)
            m.nodeID = .ipv6(address)
            m.recoveryTimeStamp = recoveryTimeStamp
            m.poolInformation = [PFCPPoolInformation(identity: poolIdentity, prefixes: pools)]
            return m
        }

        /// Whether the pools fit in one registration: the Association Setup
        /// Request lists them all, the controller's response echoes them
        /// with its Cause and Resynchronization (5 and 10 octets more), and
        /// Message Length has 16 bits. An agent whose registration does not
        /// fit sends none (counted as `unencodable`).
        public var registrationFits: Bool {
            guard let bytes = try? associationSetupRequest(recoveryTimeStamp: 0).encode() else { return false }
            return bytes.count + 5 + 10 - 4 <= 0xFFFF
        }
    }

    enum State: Sendable, Hashable {
        case idle
        /// Association Setup Request sent, no answer yet.
        case associating
        /// The controller accepted; its Recovery Time Stamp, and the
        /// Sequence Number of the Association Setup Request it answered
        /// (`unexpected(_:at:)`).
        case associated(controllerRecovery: UInt32, request: UInt32)
    }

    enum Timer: Hashable, Sendable {
        case heartbeat, resynchronized
    }

    public let config: Config
    /// When this agent started, in NTP seconds: its Recovery Time Stamp.
    public let recoveryTimeStamp: UInt32
    var state = State.idle
    /// By the agent's SEID.
    var sessions: SEIDTable<AgentSession>
    /// Where each session's change is worked out (`AgentSession.apply`).
    var draft = AgentSession(controller: PFCPFSEID(seid: 0, ipv6: .unspecified))
    /// The lists of sessions ended, and those made at start, for the draft
    /// of each session set up; never more than the sessions reserved or the
    /// most held at once.
    var spareLists: [AgentSession.Lists] = []
    /// The agent's SEID of each session, by the controller's SEID.
    var byController: [ControllerSEID: UInt64] = [:]
    /// From an association to its resynchronization, the sessions the
    /// controller has set up or changed since. It pushes every session it
    /// keeps after each association, so at the resynchronization any other is
    /// one it no longer knows (it sent the request, then died before
    /// committing it) and is released. Nil outside that window.
    var confirmed: Set<OwnNumber>?
    /// When the resynchronization comes at the latest.
    var resynchronizationDeadline = Instant(nanoseconds: 0)
    /// The Sequence Number of the association whose resynchronization the
    /// controller said it would announce (`PFCPMessage.resynchronization`):
    /// until its notice, or the deadline, sessions are kept however long
    /// the controller takes to push them.
    var awaitedNotice: UInt32?
    /// The controller's Recovery Time Stamp at the last association: another
    /// at the next is a restart, whether a heartbeat told of it or the
    /// agent had lost the controller meanwhile.
    var lastControllerRecovery: UInt32?
    /// Whether the controller left the last heartbeat unanswered, and
    /// nothing was heard from it since.
    public private(set) var controllerLost = false
    var exchange: PFCPExchange
    /// The answer to each session request, written in place: the box of
    /// IEs it holds (Node ID, F-SEID) is kept from one answer to the next
    /// rather than made for each (`PFCPMessage.reset`).
    var reply = PFCPMessage(.heartbeatResponse, sequence: 0)
    var timers = TimerTable<Timer>()
    var actions: [AgentAction] = []
    var load: UInt8?
    var loadSequence: UInt32 = 0
    public private(set) var counters = Counters()

    public init(config: Config, startedAt now: Instant) {
        self.config = config
        recoveryTimeStamp = ntpSeconds(now)
        let start = startMilliseconds(recoveryTimeStamp: recoveryTimeStamp, started: now)
        exchange = PFCPExchange(node: config.address, timing: config.timing, recoveryTimeStamp: recoveryTimeStamp, start: start)
        sessions = SEIDTable(base: start << 32)
        // As the controller's (`Controller.reserve`): the sessions, the
        // answers kept for requests that may come again (one a session)
        // with a datagram each, and each session's rule lists.
        sessions.reserve(config.reservedSessions)
        byController.reserveCapacity(config.reservedSessions)
        exchange.reserve(requests: 0, answers: config.reservedSessions, now: now)
        spareLists = (0..<config.reservedSessions).map { _ in .made() }
    }

    var policy: AgentPolicy { AgentPolicy(tunnelMode: config.tunnelMode, pools: config.pools) }

    // MARK: The engine API

    /// Associates with the controller.
    public mutating func start(at now: Instant) { associate(at: now) }

    public mutating func handle(_ event: AgentEvent, at now: Instant) {
        switch event {
        case .pfcp(let bytes, let sender): receive(bytes, from: sender, at: now)
        case .load(let metric): report(load: metric, at: now)
        }
    }

    public mutating func handleTimeout(at now: Instant) {
        for retry in exchange.expire(at: now) {
            switch retry {
            case .resend(let datagram, let peer): actions.append(.send(datagram, to: peer))
            case .givenUp(let p): givenUp(p, at: now)
            }
        }
        for timer in timers.expire(at: now) {
            switch timer {
            case .heartbeat: heartbeat(at: now)
            case .resynchronized: resynchronize()
            }
        }
    }

    public mutating func nextDeadline() -> Instant? { [timers.next(), exchange.next()].compactMap { $0 }.min() }

    public mutating func pollActions() -> [AgentAction] {
        defer { actions = [] }
        return actions
    }

    /// The actions so far, to `perform` in order; the list keeps its room
    /// for the next ones (a batch of requests grows it again otherwise).
    public mutating func pollActions<E: Error>(_ perform: (AgentAction) throws(E) -> Void) throws(E) {
        try actions.drain(perform)
    }

    /// Every rule the sessions ask for, in session order.
    public var rules: [ForwardingRule] { sessions.seids.flatMap { sessions[$0]!.rules } }
    public var isAssociated: Bool { if case .associated = state { true } else { false } }
    public var sessionCount: Int { sessions.count }
    public var pfcpCounters: PFCPCounters { exchange.counters }

    // MARK: Association and heartbeats

    mutating func associate(at now: Instant) {
        state = .associating
        var m = config.associationSetupRequest(recoveryTimeStamp: recoveryTimeStamp)
        send(&m, purpose: .association, at: now)
    }

    mutating func heartbeat(at now: Instant) {
        var m = PFCPMessage(.heartbeatRequest, sequence: 0)
        m.recoveryTimeStamp = recoveryTimeStamp
        send(&m, purpose: .heartbeat, at: now)
        timers.set(.heartbeat, at: now + config.timing.heartbeatInterval)
    }

    mutating func report(load metric: UInt8, at now: Instant) {
        let metric = min(metric, 100)
        guard load != metric else { return }
        load = metric
        sendLoad(at: now)
    }

    /// A Node Report with the load (Load Control Information; see
    /// `PFCPMessage.elements(of:)` for why in a Node Report).
    mutating func sendLoad(at now: Instant) {
        guard isAssociated, let load else { return }
        loadSequence &+= 1
        var m = PFCPMessage(.nodeReportRequest, sequence: 0)
        m.nodeID = .ipv6(config.address)
        m.nodeReportType = .vendorSpecific
        m.loadControl = PFCPLoadControl(sequence: loadSequence, metric: load)
        send(&m, purpose: .nodeReport, at: now)
    }

    /// The controller's Recovery Time Stamp, from any message carrying one:
    /// a new one means it restarted, and the association is set up again.
    mutating func heard(controllerRecovery stamp: UInt32?, at now: Instant) {
        guard let stamp, case .associated(let known, _) = state, known != stamp else { return }
        associate(at: now)
    }

    mutating func send(_ message: inout PFCPMessage, purpose: PFCPRequests.Purpose, at now: Instant) {
        // Nil (counted) for an Association Setup Request with more pools than 64 KiB hold.
        if let datagram = exchange.request(&message, to: config.controller, for: purpose, at: now) {
            actions.append(.send(datagram, to: config.controller))
        }
    }

    /// The controller is unreachable. Associated, the agent keeps the
    /// association, its sessions and their rules (packets still flow; the
    /// controller keeps the sessions too, and pushes whatever it could not
    /// meanwhile once it hears the agent again), and heartbeats on: an
    /// answer with another Recovery Time Stamp is a restart, and only then
    /// does it associate anew (`heard`). Associating again after every
    /// loss, it had every session pushed again and a resynchronization
    /// each time: on a loaded machine, where heartbeats go unanswered
    /// while thousands of sessions are pushed, that began again and again.
    /// Not associated, it keeps asking to associate, one Association Setup
    /// Request at a time: a second one sent while the first was
    /// unanswered (a heartbeat given up meanwhile) made two associations,
    /// and the second's answer, overtaken by the sessions pushed after the
    /// first, started the resynchronization again without them.
    mutating func givenUp(_ p: PFCPRequests.Pending, at now: Instant) {
        switch (p.purpose, state) {
        case (.heartbeat, .associated):
            if !controllerLost { actions.append(.controllerLost) }
            controllerLost = true
        case (.heartbeat, .idle), (.association, .associating):
            timers.cancel(.heartbeat)
            associate(at: now)
        default: break
        }
    }

    // MARK: Receiving

    /// Only the controller is listened to; anything else is dropped unread.
    mutating func receive(_ bytes: [UInt8], from sender: IPv6Address, at now: Instant) {
        guard sender == config.controller else {
            counters.dropped[.notTheController, default: 0] += 1
            return
        }
        if controllerLost {
            controllerLost = false
            actions.append(.controllerHeardAgain)
        }
        let arrival = exchange.receive(bytes, from: sender, at: now, seid: { self.sessions[$0]?.controller.seid })
        let m = exchange.lendReceived()
        defer { exchange.takeBack(m) }
        switch arrival {
        case .request:
            request(m, at: now)
            if let datagram = exchange.answer(reply, to: sender, at: now) { actions.append(.send(datagram, to: sender)) }
        case .response(let purpose): response(m, to: purpose, at: now)
        case .answer(let datagram): actions.append(.send(datagram, to: sender))
        case .unexpected: unexpected(m, at: now)
        case .ignored: break
        }
    }

    /// A response to no request waiting for one. An accepted Association
    /// Setup Response from the controller the agent is associated with,
    /// to another request than the one its association answered: the
    /// controller took an old duplicate of an earlier request of the
    /// agent's (its kept answer to it forgotten) for a new association,
    /// and pushes the sessions again naming that one, which an agent
    /// waiting for the notice of its own refuses until its
    /// resynchronization limit. It associates again, so that both name
    /// the same. A second answer to its association's own request (sent
    /// twice) changes nothing.
    mutating func unexpected(_ m: PFCPMessage, at now: Instant) {
        guard m.type == .associationSetupResponse, m.cause == .requestAccepted, case .associated(let stamp, let request) = state,
              m.recoveryTimeStamp == stamp, m.sequence != request
        else { return }
        counters.staleAssociations += 1
        associate(at: now)
    }

    /// Carries out request `m` and writes its answer into `reply`, where
    /// the exchange encodes it: an answer returned was a copy of `reply`.
    mutating func request(_ m: PFCPMessage, at now: Instant) {
        switch m.type {
        case .heartbeatRequest:
            heard(controllerRecovery: m.recoveryTimeStamp, at: now)
            reply.reset(.heartbeatResponse, sequence: m.sequence)
            reply.recoveryTimeStamp = recoveryTimeStamp
        case .associationReleaseRequest:
            nodeResponse(to: m, .requestAccepted)
            if isAssociated {
                releaseAll()
                state = .idle
                timers.cancel(.heartbeat)
            } else {
                reply.cause = .noEstablishedAssociation
            }
        case .associationUpdateRequest: noticed(m)
        case .sessionEstablishmentRequest, .sessionModificationRequest, .sessionDeletionRequest: session(m, at: now)
        default:
            counters.dropped[.unexpectedMessage, default: 0] += 1
            reply.reset(m.type.response, sequence: m.sequence, seid: m.seid)
            reply.cause = .serviceNotSupported
        }
    }

    /// An Association Update Request: the controller's notice that it
    /// pushed every session again after the association named, and the
    /// resynchronization at once. A notice of an earlier association (late,
    /// or sent again) changes nothing; nor does a request without one.
    mutating func noticed(_ m: PFCPMessage) {
        guard isAssociated else { return nodeResponse(to: m, .noEstablishedAssociation) }
        if let sequence = m.resynchronization {
            if sequence == awaitedNotice { resynchronize() } else { counters.dropped[.staleNotice, default: 0] += 1 }
        }
        nodeResponse(to: m, .requestAccepted)
    }

    /// Writes the answer to node request `m` into `reply`.
    mutating func nodeResponse(to m: PFCPMessage, _ cause: PFCPCause) {
        reply.reset(m.type.response, sequence: m.sequence)
        reply.nodeID = .ipv6(config.address)
        reply.cause = cause
    }

    mutating func response(_ m: PFCPMessage, to purpose: PFCPRequests.Purpose, at now: Instant) {
        switch purpose {
        case .association:
            guard m.cause == .requestAccepted, let stamp = m.recoveryTimeStamp else {
                counters.refusedByController += 1
                timers.set(.heartbeat, at: now + config.timing.heartbeatInterval)  // try again later
                state = .idle
                return
            }
            state = .associated(controllerRecovery: stamp, request: m.sequence)
            if let last = lastControllerRecovery, last != stamp { counters.controllerRestarts += 1 }
            lastControllerRecovery = stamp
            confirmed = []
            actions.append(.associated(controller: config.controller))
            timers.set(.heartbeat, at: now + config.timing.heartbeatInterval)
            resynchronizationDeadline = now + config.resynchronizationLimit
            awaitedNotice = m.resynchronization == m.sequence ? m.sequence : nil
            timers.set(.resynchronized, at: awaitedNotice == nil ? now + config.resynchronization : resynchronizationDeadline)
            sendLoad(at: now)
        case .heartbeat:
            if case .idle = state { associate(at: now) } else { heard(controllerRecovery: m.recoveryTimeStamp, at: now) }
        case .nodeReport, .session: break
        }
    }

    // MARK: Sessions (FM-cpdp:1)

    /// A session request: refused with Cause 72 (no established
    /// association), changing nothing, while the agent is not associated,
    /// or if it is from before the association. Until the notice that
    /// every session was pushed again, the controller names in each request
    /// the association it belongs to. One naming another, or none, was sent
    /// before the association (by the controller's previous instance, or
    /// to this agent's) and overtaken by its answer: carried out, it would
    /// count as pushed again, and a session the restarted controller no
    /// longer knows would stay. Such a request is counted.
    ///
    /// Inlined: a call of its own cost about 28 instructions a change
    /// (callgrind, `dmm bench controller`).
    @inline(__always)
    mutating func session(_ m: PFCPMessage, at now: Instant) {
        guard isAssociated else { return noAssociation(m) }
        if let awaitedNotice, m.resynchronization != awaitedNotice {
            counters.dropped[.earlierAssociation, default: 0] += 1
            return noAssociation(m)
        }
        switch m.type {
        case .sessionEstablishmentRequest: return establish(m, at: now)
        case .sessionModificationRequest: return modify(m, at: now)
        default: return delete(m)
        }
    }

    /// The answer to session request `m` that there is no association.
    mutating func noAssociation(_ m: PFCPMessage) {
        startReply(to: m, seid: m.seid.flatMap { sessions[$0]?.controller.seid } ?? m.fSEID?.seid ?? 0)
        reply.cause = .noEstablishedAssociation
    }

    /// Starts the answer to session request `m` in `reply`.
    mutating func startReply(to m: PFCPMessage, seid: UInt64) {
        reply.reset(m.type.response, sequence: m.sequence, seid: seid)
        if m.type == .sessionEstablishmentRequest { reply.nodeID = .ipv6(config.address) }
    }

    mutating func establish(_ m: PFCPMessage, at now: Instant) {
        startReply(to: m, seid: m.fSEID?.seid ?? 0)
        let controller = m.fSEID!
        // The controller pushing a session it set up before (it restarted,
        // or this agent re-associated): the session is replaced, and rules
        // that stay the same are left as they are in the kernel.
        let existing = byController[ControllerSEID(controller.seid)].flatMap(sessions.index(of:))
        var session = AgentSession(controller: controller)
        if !draft.hasLists, let lists = spareLists.popLast() { draft.use(lists) }
        if let refusal = session.apply(m, policy: policy, draft: &draft) { return refused(refusal) }
        change(from: existing.map { sessions[at: $0].pdrs } ?? [], to: session.pdrs)
        let seid: UInt64
        // Moved into the table: stored as is, it was copied, and the copy left behind dropped.
        if let i = existing {
            sessions[at: i] = consume session
            seid = sessions.seid(at: i)
        } else {
            seid = sessions.insert(consume session).seid
            byController[ControllerSEID(controller.seid)] = seid
        }
        confirm(seid, at: now)
        // No Created PDR: TS 29.244 (table 7.5.3.1-1) wants one only for a
        // PDR whose F-TEID or UE IP address the UP function was asked to
        // allocate, and an agent allocates neither.
        reply.fSEID = PFCPFSEID(seid: seid, ipv6: config.address)
        return accepted()
    }

    mutating func modify(_ m: PFCPMessage, at now: Instant) {
        guard let seid = m.seid, let i = sessions.index(of: seid) else {
            return sessionContextNotFound(m)
        }
        // Carried out in place: a session copied out of the table and
        // stored back costs a copy of each of its lists.
        let (controller, after, refusal) = sessions[at: i].modify(m, policy: policy, draft: &draft)
        startReply(to: m, seid: controller.seid)
        if let refusal { return refused(refusal) }
        confirm(seid, at: now)
        change(from: draft.pdrs, to: after)
        return accepted()
    }

    mutating func delete(_ m: PFCPMessage) {
        guard let seid = m.seid, let session = sessions.remove(seid) else {
            return sessionContextNotFound(m)
        }
        byController[ControllerSEID(session.controller.seid)] = nil
        change(from: session.pdrs, to: [])
        startReply(to: m, seid: session.controller.seid)
        spareLists.append(session.emptied())
        return accepted()
    }

    /// A session request carried out: the answer says so. Without the
    /// load: each change of it goes to the controller in a Node Report
    /// (`sendLoad`); repeated in every answer, unchanged, it was decoded
    /// and set aside as stale by the controller at every change, and every
    /// answer took the slower way of a message with more than a Cause.
    mutating func accepted() {
        reply.cause = .requestAccepted
    }

    mutating func sessionContextNotFound(_ m: PFCPMessage) {
        // The header's SEID is unknown, so the answer carries 0 (section 7.2.2.4.2).
        startReply(to: m, seid: 0)
        reply.cause = .sessionContextNotFound
    }

    mutating func refused(_ refusal: PFCPRuleMapping.Refusal) {
        reply.cause = refusal.cause
        reply.offendingIE = refusal.offendingIE
        reply.fSEID = nil
        actions.append(.refused(refusal.reason))
    }

    /// The rule actions that take the data plane from the rules of PDRs
    /// `before` to those of `after`: removals first, and a rule that stays
    /// the same is not touched. A session holds a few rules, so the lists
    /// are searched, not hashed.
    mutating func change(from before: [HeldPDR], to after: [HeldPDR]) {
        for case let rule? in before.lazy.map(\.rule)
        where !after.contains(where: { $0.rule == rule || $0.rule?.key == rule.key }) {
            actions.append(.remove(rule))
        }
        for case let rule? in after.lazy.map(\.rule) where !before.contains(where: { $0.rule == rule }) {
            actions.append(.install(rule))
        }
    }

    /// Notes a session the controller set up or changed since it last
    /// associated; the first time, the resynchronization is put off to
    /// `resynchronization` from now (up to its deadline), or, if the
    /// controller is to announce the end of its pushes, to
    /// `resynchronizationLimit` from now.
    mutating func confirm(_ seid: UInt64, at now: Instant) {
        guard confirmed?.insert(OwnNumber(seid)).inserted == true else { return }
        guard awaitedNotice == nil else {
            // Only a controller gone quiet ends the wait for its notice early.
            timers.set(.resynchronized, at: now + config.resynchronizationLimit)
            return
        }
        timers.set(.resynchronized, at: min(now + config.resynchronization, resynchronizationDeadline))
    }

    /// Releases every session the controller did not push again since it
    /// last associated (see `confirmed`).
    mutating func resynchronize() {
        timers.cancel(.resynchronized)
        awaitedNotice = nil
        guard let confirmed else { return }
        self.confirmed = nil
        defer { actions.append(.resynchronized) }
        var released: [ForwardingRule] = []
        for seid in sessions.seids where !confirmed.contains(OwnNumber(seid)) {
            let session = sessions.remove(seid)!
            byController[ControllerSEID(session.controller.seid)] = nil
            released += session.rules
            counters.unconfirmedReleased += 1
        }
        guard !released.isEmpty else { return }
        // A rule a session pushed again also asks for stays: the controller
        // may have set up anew, under another SEID, what a stale session held.
        let kept = Set(rules)
        for rule in released where !kept.contains(rule) { actions.append(.remove(rule)) }
    }

    mutating func releaseAll() {
        // Taken out one by one: a table made anew would give their SEIDs again.
        for seid in sessions.seids { change(from: sessions.remove(seid)!.pdrs, to: []) }
        byController = [:]
    }
}

/// The controller's SEID of a session, as the key of the agent's table:
/// hashed in runs of numbers (`groupedHash`: a controller gives its SEIDs
/// one after the other), not by SipHash, though the controller chooses
/// it. The controller is the one peer an agent takes requests from, and
/// may have it set up any number of sessions anyway; SipHash made an
/// establishment 1.2 % and a deletion 1.7 % dearer in instructions (`dmm
/// bench controller`).
struct ControllerSEID: Hashable, Sendable {
    let value: UInt64

    init(_ value: UInt64) { self.value = value }

    func _rawHashValue(seed: Int) -> Int { groupedHash(value, seed: seed) }
}

public enum AgentEvent: Sendable {
    /// A UDP datagram on port 8805.
    case pfcp([UInt8], from: IPv6Address)
    /// The load of this agent now, 0 to 100.
    case load(UInt8)
}

public enum AgentAction: Hashable, Sendable {
    /// A PFCP message, encoded.
    case send([UInt8], to: IPv6Address)
    case install(ForwardingRule)
    case remove(ForwardingRule)
    /// The controller accepted the association.
    case associated(controller: IPv6Address)
    /// The controller stopped answering heartbeats; the association,
    /// sessions and rules stay as they are.
    case controllerLost
    /// A message from the controller after it was lost.
    case controllerHeardAgain
    /// The controller pushed every session again after the association
    /// (it said so, or had the time): a rule of this agent that no session
    /// asks for is stale.
    case resynchronized
    /// A request refused, why (for the log).
    case refused(String)
}

extension DataPlaneAgent {
    public enum Dropped: String, CaseIterable, Sendable {
        case notTheController = "not from the controller"
        case unexpectedMessage = "unexpected message"
        /// A notice of the end of an earlier association's resynchronization.
        case staleNotice = "stale resynchronization notice"
        /// A session request sent before the association (`session(_:at:)`), refused.
        case earlierAssociation = "session request of an earlier association"
    }

    /// What the agent counts beside its PFCP exchanges (`pfcpCounters`).
    public struct Counters: Sendable, Hashable {
        public var dropped: [Dropped: Int] = [:]
        public var controllerRestarts = 0, refusedByController = 0
        /// Associations set up again because the controller took an old
        /// request of the agent's for a new one (`unexpected(_:at:)`).
        public var staleAssociations = 0
        /// Sessions released at a resynchronization because the controller
        /// did not push them again.
        public var unconfirmedReleased = 0
    }
}
