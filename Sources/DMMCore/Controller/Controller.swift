import DMMWire

/// The central controller's forwarding management (RFC 8818 section 3.1.1,
/// Figure 1 with FM-CP centralized; the LMs beside it is `LocationServer`):
/// a pure engine speaking PFCP with the data-plane agents. It keeps an
/// association per agent with the prefixes the agent anchors (FM-find:2),
/// finds the anchor of a prefix (FM-find:3 and 4), follows each agent's
/// liveness and load (FM-cpdp:2), and makes the rules it wants at each agent
/// true through PFCP sessions, one per prefix and agent (FM-cpdp:1).
///
/// Association of an agent:
///
///     Setup Request --> up --heartbeats unanswered--> down --any answer--> up
///                       ^ a new Recovery Time Stamp: the agent restarted, and
///                         every session it had is pushed again
public struct Controller: Sendable {
    public struct Config: Sendable, Hashable {
        public var address: IPv6Address
        public var timing: PFCPTiming
        /// No new node is anchored at an agent whose load is over this (0 to 100).
        public var loadLimit: UInt8
        /// The tunnels the agents are asked to build; each agent's own
        /// configuration must agree (PFCP's Outer Header Creation says IPv6,
        /// not which encapsulation).
        public var tunnelMode: TunnelMode
        /// Where tunnels to an agent end, where that is not its address
        /// (an SRv6 SID).
        public var endpoints: [IPv6Address: IPv6Address]
        /// The agents that may associate; empty: any.
        public var agents: Set<IPv6Address>
        /// The uplink of a node away from its prefix's anchor: straight to
        /// its destination, or tunnelled back to the anchor.
        public var uplink: UplinkMode
        /// How a prefix whose flows outlive a move follows its node.
        public var forwarding: ForwardingMethod
        /// The network, for anchor switching: which routers a move updates.
        public var topology: Topology?
        /// Whether, through a move, the agent a prefix's packets reach (the
        /// anchor, or under anchor switching the agent that served it)
        /// holds them until the new path is in place (FM-buffer,
        /// `MoveBuffering.swift`).
        public var buffering: Bool
        /// Sessions pushed again to an agent (it associated anew, or came up
        /// again) go this many in flight at a time (`PushBacklogs`)...
        public var window: Int
        /// ...and this many to all agents at once.
        public var totalWindow: Int
        /// Sessions the tables are made for at start (`reserve`); more grow them.
        public var reservedSessions: Int

        public init(address: IPv6Address, timing: PFCPTiming = PFCPTiming(), loadLimit: UInt8 = 80,
                    tunnelMode: TunnelMode = .ipv6InIPv6, endpoints: [IPv6Address: IPv6Address] = [:],
                    agents: Set<IPv6Address> = [], uplink: UplinkMode = .direct, forwarding: ForwardingMethod = .indirection,
                    topology: Topology? = nil, buffering: Bool = true, window: Int = 64, totalWindow: Int = 4096,
                    reservedSessions: Int = 0) {
            self.address = address
            self.timing = timing
            self.loadLimit = loadLimit
            self.tunnelMode = tunnelMode
            self.endpoints = endpoints
            self.agents = agents
            self.uplink = uplink
            self.forwarding = forwarding
            self.topology = topology
            self.buffering = buffering
            self.window = max(1, window)
            self.totalWindow = max(1, totalWindow)
            self.reservedSessions = max(0, reservedSessions)
        }
    }

    public enum Status: String, Sendable, Hashable, CaseIterable { case up, down }

    public struct Association: Sendable, Hashable {
        public var agent: IPv6Address
        public var pools: [PFCPPoolInformation]
        public var recoveryTimeStamp: UInt32
        public var status: Status
        /// The last load the agent reported, 0 to 100.
        public var load: UInt8?
        var loadSequence: UInt32?

        public init(agent: IPv6Address, pools: [PFCPPoolInformation], recoveryTimeStamp: UInt32, status: Status, load: UInt8? = nil) {
            self.agent = agent
            self.pools = pools
            self.recoveryTimeStamp = recoveryTimeStamp
            self.status = status
            self.load = load
        }

        /// Marks it up; whether it was down.
        mutating func comeUp() -> Bool {
            defer { status = .up }
            return status == .down
        }

        public func anchors(_ prefix: IPv6Prefix) -> Bool { Self.pools(pools, anchor: prefix) }

        static func pools(_ pools: [PFCPPoolInformation], anchor prefix: IPv6Prefix) -> Bool {
            pools.contains { $0.prefixes.contains { $0.contains(prefix) } }
        }
    }

    /// A prefix's session at one agent: the rules the controller wants there
    /// and the rules the agent acknowledged.
    public struct Session: Sendable, Hashable {
        public var agent: IPv6Address
        public var prefix: IPv6Prefix
        /// The controller's SEID.
        public var seid: UInt64
        /// The agent's SEID, once it accepted the session.
        public var agentSEID: UInt64?
        public var wanted: [ForwardingRule]
        /// What the agent acknowledged; after a lost establishment, what it
        /// may hold (`heldUnknown`).
        public var acknowledged: [ForwardingRule]
        /// The rules the request in flight for it asks for.
        var inFlight: [ForwardingRule]?
        /// Whether the agent anchors the prefix, by the pools it registered
        /// (FM-find:2): read when the session is made and whenever the
        /// agent's pools may change (`readAnchoring`), so that a request
        /// needs no lookup of the association. Not stored: a restored
        /// controller reads it again.
        var anchoredHere = false
        /// Whether it changed since the store last took the changes (its
        /// SEID is then in `changedSessions`). Not stored.
        var unstored = false
        /// Whether what the agent holds is not known: a request was given
        /// up (`lost`), and the agent may have carried it out, only its
        /// answers lost; or the controller was restored with a change of the
        /// session pending. Not stored: a restored controller sets it again
        /// where a change is pending, and pushes every session again.
        var heldUnknown = false

        public init(agent: IPv6Address, prefix: IPv6Prefix, seid: UInt64, agentSEID: UInt64? = nil, wanted: [ForwardingRule],
                    acknowledged: [ForwardingRule]) {
            self.agent = agent
            self.prefix = prefix
            self.seid = seid
            self.agentSEID = agentSEID
            self.wanted = wanted
            self.acknowledged = acknowledged
        }

        /// Whether the agent holds what is wanted (an empty session is
        /// deleted, not held).
        public var isProgrammed: Bool { !heldUnknown && wanted == acknowledged && (agentSEID != nil || wanted.isEmpty) }

        /// Whether `next` would write a request.
        var needsRequest: Bool { inFlight == nil && !isProgrammed }

        /// What a session needs next.
        enum Next {
            /// Its request in flight to be answered.
            case waiting
            /// Nothing: the agent holds what is wanted.
            case programmed
            /// To be forgotten: nothing is wanted, and nothing is held.
            case emptied
            /// The request written, now in flight.
            case request
        }

        /// The request that takes the agent from what it acknowledged to
        /// what is wanted, if nothing is in flight, written into `m`: an
        /// establishment, a modification or a deletion. Inlined into `push`,
        /// its one caller (as a call, 0.6 % more over the controller bench).
        @inline(__always)
        mutating func next(from controller: IPv6Address, into m: inout PFCPMessage) -> (agent: IPv6Address, prefix: IPv6Prefix, next: Next) {
            guard inFlight == nil else { return (agent, prefix, .waiting) }
            guard !isProgrammed else { return (agent, prefix, wanted.isEmpty ? .emptied : .programmed) }
            var asked = wanted
            if let agentSEID, wanted.isEmpty {
                m.reset(.sessionDeletionRequest, sequence: 0, seid: agentSEID)
            } else if let agentSEID, !heldUnknown {
                m.reset(.sessionModificationRequest, sequence: 0, seid: agentSEID)
                PFCPRuleMapping.describe(from: acknowledged, to: wanted, anchoredHere: anchoredHere, in: &m)
            } else {
                // Set up whole: new, or over whatever the agent holds (it
                // matches the session by this SEID and replaces it). With
                // nothing wanted, the rules it may hold, to learn its SEID
                // and delete the session next.
                if wanted.isEmpty { asked = acknowledged }
                m.reset(.sessionEstablishmentRequest, sequence: 0, seid: 0)
                m.nodeID = .ipv6(controller)
                m.fSEID = PFCPFSEID(seid: seid, ipv6: controller)
                PFCPRuleMapping.write(asked, anchoredHere: anchoredHere, into: &m)
            }
            inFlight = asked
            return (agent, prefix, .request)
        }

        /// Takes the agent's answer to the request in flight (nil if none
        /// was): what was asked is acknowledged, or on a refusal the session
        /// is set up anew (the agent lost it, or is associating again) or
        /// wants no more than the agent accepted, until asked again.
        mutating func answered(by m: PFCPMessage) -> (agent: IPv6Address, prefix: IPv6Prefix)? {
            guard let asked = inFlight else { return nil }
            inFlight = nil
            let wasUnknown = heldUnknown
            heldUnknown = false
            if m.cause?.isAcceptance == true {
                acknowledged = asked
                if m.type == .sessionEstablishmentResponse { agentSEID = m.fSEID?.seid }
                if m.type == .sessionDeletionResponse { agentSEID = nil }
            } else if m.cause == .noEstablishedAssociation || m.cause == .sessionContextNotFound {
                reset()
            } else {
                // Refused whole: the agent changed nothing, and accepted
                // nothing of an establishment. Where what it holds was not
                // known (`lost`), what it may hold is pushed whole next,
                // unless that is what it just refused: then it holds none
                // of it, and nothing is sent again and again.
                wanted = agentSEID == nil ? [] : acknowledged
                if wasUnknown && asked != acknowledged {
                    heldUnknown = true
                } else if agentSEID == nil {
                    acknowledged = []
                }
            }
            return (agent, prefix)
        }

        /// Marks it `unstored`; whether it was not.
        mutating func markUnstored() -> Bool {
            defer { unstored = true }
            return !unstored
        }

        /// Back to nothing at the agent: it is to be set up anew.
        mutating func reset() {
            inFlight = nil
            agentSEID = nil
            acknowledged = []
            heldUnknown = false
        }

        /// Its request in flight given up: the agent may have carried it
        /// out, only its answers lost, and would refuse a change sent again
        /// (a PDR it made exists). What it holds is then not known: the
        /// session is set up whole next, or deleted if nothing is wanted
        /// (a deletion of a session it no longer holds is answered as
        /// such), never forgotten while the agent may hold it. A lost
        /// establishment's rules are what the agent may hold.
        mutating func lost() {
            guard let asked = inFlight else { return }
            inFlight = nil
            if agentSEID == nil { acknowledged = asked }
            heldUnknown = true
        }
    }

    enum Timer: Hashable, Sendable {
        case heartbeat(IPv6Address)
        /// An agent refused a session for want of an association it had
        /// been answered: its sessions are pushed again then.
        case pushAgain(IPv6Address)
    }

    public let config: Config
    public let recoveryTimeStamp: UInt32
    public private(set) var associations: [IPv6Address: Association] = [:] {
        didSet {
            noteAgentsDown()
            poolsReadOf = nil
        }
    }
    /// The agent whose pools `anchors(_:at:)` read last, and its pools,
    /// until an association changes: sessions are set up at one agent after
    /// another, and finding its association hashed its address (SipHash)
    /// for each, about 270 instructions an establishment.
    private var poolsReadOf: IPv6Address?
    private var poolsRead: [PFCPPoolInformation] = []
    /// The agents it was restored with that have not associated with it
    /// yet, which they do once they hear its Recovery Time Stamp. They are
    /// sent no session request until then: the association forgets the
    /// requests in flight and pushes every session whole, and a request
    /// that the association's answer overtook would still be carried out.
    var awaitingAssociation: Set<IPv6Address> = []
    /// The agents whose sessions are being pushed again after they
    /// associated, by the Sequence Number of their Association Setup
    /// Request; and whether the notice that every session is through
    /// (`noticeResynchronization`) is in flight. An agent waiting for it
    /// keeps its sessions however long the push takes, then releases at
    /// once those not pushed; one left to guess the end from a pause
    /// between pushes released sessions the controller was still to push
    /// on a loaded machine (docs/architecture.md).
    var resynchronizing: [IPv6Address: (sequence: UInt32, noticeSent: Bool)] = [:]
    /// Whether an agent is marked down, kept with `associations`: a message
    /// from an agent that is up (nearly every message) then needs no lookup
    /// to bring it up (`heard(from:at:)`).
    private(set) var anyAgentDown = false
    /// By the controller's SEID.
    public private(set) var sessions: SEIDTable<Session>
    /// Each prefix's sessions, by agent.
    var sessionOf: [OwnPrefix: PrefixSessions] = [:]
    var exchange: PFCPExchange
    /// Agents' sessions yet to be pushed again since they associated or came up again.
    var backlogs: PushBacklogs
    /// Every request is written into this one message (see
    /// `PFCPMessage.reset`), and `send` numbers it where it lies: taken as
    /// a value, it was copied for each. The exchange keeps it as encoded.
    var outgoing = PFCPMessage(.sessionModificationRequest, sequence: 0, seid: 0)
    var timers = TimerTable<Timer>()
    var actions: [ControllerAction] = []
    public internal(set) var counters = Counters()
    /// What changed for the store since `takeChanges()` last ran.
    var changedAssociations: Set<IPv6Address> = []
    /// Sessions marked `unstored`, and sessions gone since, by SEID: a
    /// list and a mark in the session found anyway, not a set hashed on
    /// every change.
    var changedSessions: [UInt64] = []
    /// Prefixes placed by anchor switching, as placed (`AnchorSwitching.swift`).
    var placements: [IPv6Prefix: Placement] = [:]
    /// Moves waiting for their last step.
    var switches: [IPv6Prefix: Switch] = [:]

    public init(config: Config, startedAt now: Instant) { self.init(config: config, recoveryTimeStamp: ntpSeconds(now), startedAt: now) }

    init(config: Config, recoveryTimeStamp: UInt32, startedAt now: Instant) {
        self.config = config
        self.recoveryTimeStamp = recoveryTimeStamp
        let start = startMilliseconds(recoveryTimeStamp: recoveryTimeStamp, started: now)
        exchange = PFCPExchange(node: config.address, timing: config.timing, recoveryTimeStamp: recoveryTimeStamp, start: start)
        sessions = SEIDTable(base: start << 32)
        backlogs = PushBacklogs(window: config.window, total: config.totalWindow)
        reserve(config.reservedSessions, now: now)
    }

    /// Makes the tables of sessions and of requests in flight (one per
    /// session at most) hold `n` without growing, with a datagram made for
    /// each request: growing copies every entry while nothing else is
    /// handled (a pause that grows with the sessions), and memory is
    /// touched for the first time now rather than as sessions come (`dmm
    /// bench controller`, BENCHMARKS.md, stop 42).
    mutating func reserve(_ n: Int, now: Instant) {
        sessions.reserve(n)
        sessionOf.reserveCapacity(n)
        exchange.reserve(requests: n, answers: 0, now: now)
    }

    /// What a controller restarted from its store needs: the associations
    /// and sessions, with the rules each agent acknowledged.
    public struct Snapshot: Sendable, Hashable {
        public var associations: [Association]
        public var sessions: [Session]
        /// The Recovery Time Stamp of the controller that had them.
        public var recoveryTimeStamp: UInt32?

        public init(associations: [Association], sessions: [Session], recoveryTimeStamp: UInt32?) {
            self.associations = associations
            self.sessions = sessions
            self.recoveryTimeStamp = recoveryTimeStamp
        }
    }

    public var snapshot: Snapshot {
        Snapshot(associations: associations.keys.sorted().map { stored(associations[$0]!) },
                 sessions: sessions.seids.map { stored(sessions[$0]!) }, recoveryTimeStamp: recoveryTimeStamp)
    }

    /// A session as the store keeps it: without the request in flight, which
    /// a restarted controller sends anew.
    func stored(_ s: Session) -> Session {
        var s = s
        s.inFlight = nil
        s.anchoredHere = false
        s.unstored = false
        return s
    }

    /// An association as the store keeps it: without the load, which the
    /// agent reports again.
    func stored(_ a: Association) -> Association {
        var a = a
        a.load = nil
        a.loadSequence = nil
        return a
    }

    /// The associations and sessions changed since the last call, each
    /// with its value now (nil: gone), in order: what the store writes,
    /// before the messages of the same step go out.
    public mutating func takeChanges() -> (associations: [(IPv6Address, Association?)], sessions: [(UInt64, Session?)]) {
        defer {
            changedAssociations = []
            changedSessions.removeAll(keepingCapacity: true)
        }
        // Each session found once, to unmark it and to take it.
        var taken: [(UInt64, Session?)] = []
        taken.reserveCapacity(changedSessions.count)
        changedSessions.sort()
        for seid in changedSessions {
            guard let i = sessions.index(of: seid) else {
                taken.append((seid, nil))
                continue
            }
            sessions[at: i].unstored = false
            taken.append((seid, stored(sessions[at: i])))
        }
        return (changedAssociations.sorted().map { ($0, associations[$0].map(stored)) }, taken)
    }

    /// A controller restarted with what it had. Its new Recovery Time Stamp,
    /// sent in the first heartbeats (`start(at:)`), tells each agent to
    /// associate again; the sessions are then pushed as establishments with
    /// their old SEIDs, which the agents match, so rules that are still right
    /// are not touched.
    ///
    /// The Recovery Time Stamp has whole seconds: a controller restarted
    /// within the second of its predecessor takes the next second, so that
    /// the agents still see that it changed.
    public init(config: Config, startedAt now: Instant, restoring snapshot: Snapshot) {
        self.init(config: config, recoveryTimeStamp: snapshot.recoveryTimeStamp.map { max(ntpSeconds(now), $0 &+ 1) } ?? ntpSeconds(now),
                  startedAt: now)
        for a in snapshot.associations { associations[a.agent] = a }
        awaitingAssociation = Set(associations.keys)
        noteAgentsDown()  // observers do not run in an initializer
        for var s in snapshot.sessions {
            s.anchoredHere = anchors(s.prefix, at: s.agent)
            // A session with a change not yet acknowledged had a request in
            // flight, perhaps carried out, when the controller died: what
            // the agent holds of it is not known (whatever is wanted of it
            // next, even what was acknowledged) until it is pushed whole,
            // at the agent's new association, as every session is
            // (nothing goes to the agent before: `awaitingAssociation`).
            s.heldUnknown = s.agentSEID != nil && s.wanted != s.acknowledged
            sessionOf[OwnPrefix(s.prefix), default: [:]][s.agent] = s.seid
            sessions.restore(s, as: s.seid)
        }
    }

    /// Heartbeats to every agent it knows, now.
    public mutating func start(at now: Instant) {
        for agent in associations.keys.sorted() { timers.set(.heartbeat(agent), at: now) }
    }

    // MARK: The engine API

    public mutating func handle(_ event: ControllerEvent, at now: Instant) {
        switch event {
        case .pfcp(let bytes, let sender): receive(bytes, from: sender, at: now)
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
            case .heartbeat(let agent): heartbeat(agent, at: now)
            case .pushAgain(let agent):
                // One that went down meanwhile gets them when it is heard again.
                if associations[agent]?.status == .up { pushAgain(to: agent, at: now) }
            }
        }
    }

    public mutating func nextDeadline() -> Instant? { [timers.next(), exchange.next()].compactMap { $0 }.min() }

    public var pfcpCounters: PFCPCounters { exchange.counters }

    /// PFCP requests it awaits an answer to.
    public var requestsInFlight: Int { exchange.requestsInFlight }

    public mutating func pollActions() -> [ControllerAction] {
        defer { actions = [] }
        return actions
    }

    /// The actions so far, to `perform` in order; the list keeps its room
    /// for the next ones (a batch of requests grows it again otherwise).
    public mutating func pollActions<E: Error>(_ perform: (ControllerAction) throws(E) -> Void) throws(E) {
        try actions.drain(perform)
    }

    // MARK: Discovery (FM-find:3 and 4) and choice of anchor

    /// The agent that anchors `prefix`, from the pools agents registered.
    public func anchor(of prefix: IPv6Prefix) -> IPv6Address? {
        associations.keys.sorted().first { associations[$0]!.anchors(prefix) }
    }

    /// Whether a new node may be anchored at `agent`: it registered
    /// prefixes (a router between access routers has none), is up, and its
    /// load is within the limit.
    public func canAnchor(at agent: IPv6Address) -> Bool {
        guard let a = associations[agent], a.status == .up, a.pools.contains(where: { !$0.prefixes.isEmpty }) else { return false }
        return (a.load ?? 0) <= config.loadLimit
    }

    /// Where to anchor a new node attached at `agent`: there if it can, else
    /// the least loaded agent that can (lowest address on a tie).
    public func chooseAnchor(preferring agent: IPv6Address) -> IPv6Address? {
        if canAnchor(at: agent) { return agent }
        return associations.keys.sorted().filter(canAnchor).min { (associations[$0]!.load ?? 0) < (associations[$1]!.load ?? 0) }
    }

    // MARK: Sessions (FM-cpdp:1)

    /// Makes `rules` the rules for `prefix` at `agent`: a session is set up,
    /// changed, or deleted (no rules) as needed. One request per session is
    /// in flight at a time; the newest wish is sent when it is answered.
    public mutating func program(_ rules: [ForwardingRule], at agent: IPv6Address, for prefix: IPv6Prefix, at now: Instant) {
        let i: Int
        // The prefix found once: a new session is added where it was found.
        let p = sessionOf.index(forKey: OwnPrefix(prefix))
        if let p, let known = sessionOf.values[p][agent] {
            i = sessions.index(of: known)!
        } else {
            guard !rules.isEmpty else { return }
            var session = Session(agent: agent, prefix: prefix, seid: 0, wanted: [], acknowledged: [])
            session.anchoredHere = anchors(prefix, at: agent)
            // Moved into the table: stored as is, it was copied.
            let seid: UInt64
            (i, seid) = sessions.insert(consume session)
            sessions[at: i].seid = seid
            if let p { sessionOf.values[p][agent] = seid } else { sessionOf[OwnPrefix(prefix)] = PrefixSessions(agent: agent, seid: seid) }
        }
        // The session is read and written in place, by slot, from here to
        // its request: a copy retains its lists.
        sessions[at: i].wanted = rules.count < 2 ? rules : rules.sorted { PFCPRuleMapping.slot(of: $0.key) < PFCPRuleMapping.slot(of: $1.key) }
        noteChanged(at: i)
        push(at: i, at: now)
    }

    /// The rules `agent` acknowledged, every session's, in session order
    /// (not those a lost establishment may have left, never acknowledged).
    public func rules(at agent: IPv6Address) -> [ForwardingRule] {
        sessions.seids.compactMap { sessions[$0] }.filter { $0.agent == agent && ($0.agentSEID != nil || !$0.heldUnknown) }
            .flatMap(\.acknowledged)
    }

    /// Sends what a session needs to go from what the agent acknowledged to
    /// what is wanted, if nothing is in flight for it; whether a request for
    /// it now awaits its answer (sent now, or earlier and unanswered: that
    /// answer comes as surely).
    @discardableResult
    mutating func push(at i: Int, at now: Instant) -> Bool {
        if !awaitingAssociation.isEmpty, sessions[at: i].needsRequest, awaitingAssociation.contains(sessions[at: i].agent) { return false }
        let seid = sessions.seid(at: i)
        // A mutating call reaches the session in place; reading it by SEID
        // would copy it whole.
        let (agent, prefix, next) = sessions[at: i].next(from: config.address, into: &outgoing)
        switch next {
        case .waiting: return true
        case .programmed:
            actions.append(.programmed(agent: agent, prefix: prefix))
            completeSwitch(of: prefix, at: now)
        case .emptied:
            forget(seid)
            completeSwitch(of: prefix, at: now)
        case .request:
            // Until the agent takes the notice, each request names the
            // association it belongs to: the agent refuses one sent before.
            if !resynchronizing.isEmpty, let r = resynchronizing[agent] { outgoing.resynchronization = r.sequence }
            send(to: agent, purpose: .session(seid), at: now)
            return true
        }
        return false
    }

    /// Whether `agent` associated and has not yet taken the notice that
    /// every session of it was pushed again.
    public func isResynchronizing(_ agent: IPv6Address) -> Bool { resynchronizing[agent] != nil }

    /// Agents associated and yet to take that notice.
    public var agentsResynchronizing: Int { resynchronizing.count }

    /// Sessions of `agent` yet to be pushed again since it associated or came up again.
    public func backlog(of agent: IPv6Address) -> Int { backlogs.count(of: agent) }

    /// Sessions of every agent yet to be pushed again.
    public var backlog: Int { backlogs.count }

    /// Session requests pushed from the backlogs and still unanswered.
    public var backlogInFlight: Int { backlogs.inFlight }

    /// Pushes every session of `agent` that needs a request, a window at a
    /// time: after it associated anew, or came up again.
    mutating func pushAgain(to agent: IPv6Address, at now: Instant) {
        // In slot order, read where they lie: by sorted SEID, each session
        // was copied out of the table.
        backlogs.start(agent, sessions.indices.filter { sessions[at: $0].agent == agent }.map(sessions.seid(at:)))
        pushBacklogs(preferring: agent, at: now)
        noticeResynchronizations(at: now)
    }

    /// Pushes `agent`'s sessions again T1 from now (once, however many
    /// refusals ask for it): it refused a request for want of an
    /// association it has been answered but not yet read.
    mutating func pushAgainLater(to agent: IPv6Address, at now: Instant) {
        if !timers.isSet(.pushAgain(agent)) { timers.set(.pushAgain(agent), at: now + config.timing.t1) }
    }

    /// Tells the agents whose backlogs went through (`noticeResynchronization`).
    /// Only those are looked at: every agent being resynchronized, looked
    /// at on every answer, would make a restart with hundreds of agents
    /// cost their number for each session pushed.
    mutating func noticeResynchronizations(at now: Instant) {
        for agent in backlogs.takeThrough() { noticeResynchronization(of: agent, at: now) }
    }

    /// Tells `agent`, if it is being resynchronized, that every session is
    /// pushed again: each one was answered since the association (or holds
    /// nothing), none waits to be pushed again after a refusal, and the
    /// agent is up.
    mutating func noticeResynchronization(of agent: IPv6Address, at now: Instant) {
        guard let r = resynchronizing[agent], !r.noticeSent, !backlogs.holds(agent), !timers.isSet(.pushAgain(agent)),
            associations[agent]?.status == .up
        else { return }
        outgoing.reset(.associationUpdateRequest, sequence: 0)
        outgoing.nodeID = .ipv6(config.address)
        outgoing.resynchronization = r.sequence
        resynchronizing[agent]!.noticeSent = true
        send(to: agent, purpose: .association, at: now)
    }

    /// Pushes sessions from the backlogs while the windows allow, `agent`'s
    /// first (one already set up again, or in flight, sends nothing).
    mutating func pushBacklogs(preferring agent: IPv6Address, at now: Instant) {
        while let next = backlogs.next(preferring: agent) {
            let awaitingAnswer = sessions.index(of: next.seid).map { push(at: $0, at: now) } ?? false
            backlogs.pushed(next.seid, to: next.agent, awaitingAnswer: awaitingAnswer)
        }
    }

    /// A session request to `agent` was answered or given up: its place
    /// in the windows goes to the next session of a backlog.
    mutating func backlogAnswered(_ seid: UInt64, by agent: IPv6Address, at now: Instant) {
        guard !backlogs.isEmpty else { return }
        backlogs.answered(seid, by: agent)
        pushBacklogs(preferring: agent, at: now)
        noticeResynchronizations(at: now)
    }

    /// Marks the session at `i` for the store.
    mutating func noteChanged(at i: Int) {
        // One mutating call: reading the mark through the table copied the session.
        if sessions[at: i].markUnstored() { changedSessions.append(sessions.seid(at: i)) }
    }

    mutating func forget(_ seid: UInt64) {
        guard let s = sessions.remove(seid) else { return }
        if !s.unstored { changedSessions.append(seid) }
        if let i = sessionOf.index(forKey: OwnPrefix(s.prefix)) {
            sessionOf.values[i][s.agent] = nil
            if sessionOf.values[i].isEmpty { sessionOf.remove(at: i) }
        }
        actions.append(.programmed(agent: s.agent, prefix: s.prefix))
    }

    mutating func sessionAnswered(_ seid: UInt64, _ m: PFCPMessage, at now: Instant) {
        guard let i = sessions.index(of: seid), let (agent, prefix) = sessions[at: i].answered(by: m) else { return }
        noteChanged(at: i)
        if m.cause?.isAcceptance != true {
            counters.sessionsRefused += 1
            actions.append(.sessionRefused(agent: agent, prefix: prefix, cause: m.cause ?? .requestRejected))
            // The agent has not (yet) got the answer to its Association
            // Setup: lost, it asks again and is answered from the cache,
            // which runs no `associate`; overtaken by this request, it
            // arrives after. Either way nothing else pushes the session, so
            // the agent's sessions are pushed again T1 after the first such
            // refusal (a new association pushes them at once).
            if m.cause == .noEstablishedAssociation {
                pushAgainLater(to: agent, at: now)
                return
            }
        }
        if let load = m.loadControl { heard(load: load, from: agent) }
        push(at: i, at: now)
    }

    // MARK: Associations, heartbeats and load (FM-find:2, FM-cpdp:2)

    mutating func associate(_ m: PFCPMessage, from sender: IPv6Address, at now: Instant) -> PFCPMessage {
        var r = PFCPMessage(.associationSetupResponse, sequence: m.sequence)
        r.nodeID = .ipv6(config.address)
        r.recoveryTimeStamp = recoveryTimeStamp
        guard case .ipv6(let id) = m.nodeID, id == sender else {
            // The Node ID is at fault; an Association Setup Response has no
            // Offending IE to say so (TS 29.244 Table 7.4.4.2-1).
            r.cause = .mandatoryIEIncorrect
            return r
        }
        guard config.agents.isEmpty || config.agents.contains(sender) else {
            counters.dropped[.unknownAgent, default: 0] += 1
            r.cause = .requestRejected
            return r
        }
        let stamp = m.recoveryTimeStamp!
        var association = Association(agent: sender, pools: m.poolInformation, recoveryTimeStamp: stamp, status: .up)
        if let previous = associations[sender] {
            // The load an agent reported holds until it restarts.
            if previous.recoveryTimeStamp == stamp {
                association.load = previous.load
                association.loadSequence = previous.loadSequence
            } else {
                counters.agentRestarts += 1
            }
        }
        associations[sender] = association
        awaitingAssociation.remove(sender)
        actions.append(.associationChanged(agent: sender, status: .up))
        changedAssociations.insert(sender)
        r.cause = .requestAccepted
        r.poolInformation = m.poolInformation
        // The notice that every session is pushed again is to come.
        r.resynchronization = m.sequence
        resynchronizing[sender] = (m.sequence, false)
        timers.set(.heartbeat(sender), at: now + config.timing.heartbeatInterval)
        // A new association, after a restart of either side: every session
        // is to be pushed again (after this answer), as an establishment the
        // agent matches by SEID. The requests in flight to it are
        // forgotten (and its backlog, started anew).
        exchange.forget(peer: sender)
        timers.cancel(.pushAgain(sender))
        resetSessions(of: sender)
        return r
    }

    mutating func heartbeat(_ agent: IPv6Address, at now: Instant) {
        guard associations[agent] != nil else { return }
        outgoing.reset(.heartbeatRequest, sequence: 0)
        outgoing.recoveryTimeStamp = recoveryTimeStamp
        send(to: agent, purpose: .heartbeat, at: now)
        timers.set(.heartbeat(agent), at: now + config.timing.heartbeatInterval)
    }

    /// Any message from an agent marked down brings it up again, and the
    /// requests given up while it was down are sent again. (One that
    /// restarted associates again, and its sessions are pushed then; so
    /// does one awaiting its association with this controller.)
    mutating func heard(from agent: IPv6Address, at now: Instant) {
        guard anyAgentDown else { return }
        // Set in place, by index: read out of the table an association is
        // copied, and the table's optional subscript yields a copy to set.
        guard let i = associations.index(forKey: agent), associations.values[i].comeUp() else { return }
        actions.append(.associationChanged(agent: agent, status: .up))
        pushAgain(to: agent, at: now)
    }

    mutating func noteAgentsDown() { anyAgentDown = associations.values.contains { $0.status == .down } }

    mutating func heard(load: PFCPLoadControl, from agent: IPv6Address) {
        guard var a = associations[agent] else { return }
        // Sequence numbers order the reports; an older one is stale (TS 29.244 section 6.2.5.3).
        if let last = a.loadSequence, Int32(bitPattern: load.sequence &- last) <= 0 { return }
        a.load = load.metric
        a.loadSequence = load.sequence
        associations[agent] = a
    }

    /// Sends the request written into `outgoing`. Inlined: as a call it
    /// cost every session request 32 instructions.
    @inline(__always)
    mutating func send(to peer: IPv6Address, purpose: PFCPRequests.Purpose, at now: Instant) {
        // Always encoded: a session request carries three rules at most, and
        // a heartbeat a time stamp.
        if let datagram = exchange.request(&outgoing, to: peer, for: purpose, at: now) { actions.append(.send(datagram, to: peer)) }
    }

    /// An agent that leaves a request unanswered is down. Its backlog
    /// waits until it is heard again, which pushes every session it needs
    /// anew (`heard`): sent on, each would only be given up in turn.
    mutating func givenUp(_ p: PFCPRequests.Pending, at now: Instant) {
        if associations[p.peer]?.status == .up {
            associations[p.peer]!.status = .down
            actions.append(.associationChanged(agent: p.peer, status: .down))
            backlogs.drop(p.peer)
        }
        if case .association = p.purpose, resynchronizing[p.peer] != nil {
            // Sent again once the agent is heard and its backlog is through.
            resynchronizing[p.peer]!.noticeSent = false
        }
        guard case .session(let seid) = p.purpose else { return }
        if let i = sessions.index(of: seid) {
            sessions[at: i].lost()
            noteChanged(at: i)
            let prefix = sessions[at: i].prefix
            switchLost(prefix, at: now)
        }
        backlogAnswered(seid, by: p.peer, at: now)
    }

    // MARK: Receiving

    mutating func receive(_ bytes: [UInt8], from sender: IPv6Address, at now: Instant) {
        let arrival = exchange.receive(bytes, from: sender, at: now, seid: { self.sessions[$0]?.agentSEID })
        let m = exchange.lendReceived()
        defer { exchange.takeBack(m) }
        switch arrival {
        case .request:
            let r = request(m, from: sender, at: now)
            if let datagram = exchange.answer(r, to: sender, at: now) { actions.append(.send(datagram, to: sender)) }
            if r.type == .associationSetupResponse, r.cause == .requestAccepted { pushAgain(to: sender, at: now) }
        case .response(let purpose):
            heard(from: sender, at: now)
            switch purpose {
            case .session(let seid):
                sessionAnswered(seid, m, at: now)
                backlogAnswered(seid, by: sender, at: now)
            case .association:
                // The notice of the agent's resynchronization, answered.
                guard resynchronizing[sender] != nil else { break }
                if m.cause == .noEstablishedAssociation {
                    // It overtook the answer to the agent's Association
                    // Setup, which the agent has yet to read: told again
                    // once every session is pushed again, T1 later (as
                    // for a session request refused so).
                    resynchronizing[sender]!.noticeSent = false
                    pushAgainLater(to: sender, at: now)
                    break
                }
                resynchronizing[sender] = nil
                actions.append(.resynchronized(agent: sender, accepted: m.cause == .requestAccepted))
            case .heartbeat, .nodeReport: break
            }
        case .answer(let datagram): actions.append(.send(datagram, to: sender))
        case .unexpected, .ignored: break
        }
    }

    mutating func request(_ m: PFCPMessage, from sender: IPv6Address, at now: Instant) -> PFCPMessage {
        switch m.type {
        case .associationSetupRequest: return associate(m, from: sender, at: now)
        case .heartbeatRequest:
            heard(from: sender, at: now)
            var r = PFCPMessage(.heartbeatResponse, sequence: m.sequence)
            r.recoveryTimeStamp = recoveryTimeStamp
            return r
        default:
            var r = PFCPMessage(m.type.response, sequence: m.sequence, seid: m.type.isSessionMessage ? 0 : nil)
            if !m.type.isSessionMessage { r.nodeID = .ipv6(config.address) }
            guard associations[sender] != nil else {
                counters.dropped[.noAssociation, default: 0] += 1
                r.cause = .noEstablishedAssociation
                return r
            }
            heard(from: sender, at: now)
            switch m.type {
            case .nodeReportRequest:
                if let load = m.loadControl { heard(load: load, from: sender) }
                r.cause = .requestAccepted
            case .associationUpdateRequest:
                if !m.poolInformation.isEmpty {
                    associations[sender]!.pools = m.poolInformation
                    changedAssociations.insert(sender)
                    readAnchoring(of: sender)
                }
                r.cause = .requestAccepted
            case .associationReleaseRequest:
                release(sender)
                r.cause = .requestAccepted
            case .sessionReportRequest:
                r.cause = .requestAccepted
            default:
                counters.dropped[.unexpectedMessage, default: 0] += 1
                r.cause = .serviceNotSupported
            }
            return r
        }
    }

    mutating func release(_ agent: IPv6Address) {
        associations[agent] = nil
        awaitingAssociation.remove(agent)
        resynchronizing[agent] = nil
        timers.cancel(.heartbeat(agent))
        timers.cancel(.pushAgain(agent))
        exchange.forget(peer: agent)
        backlogs.drop(agent)
        resetSessions(of: agent)
        changedAssociations.insert(agent)
        actions.append(.associationChanged(agent: agent, status: .down))
    }

    /// Nothing of `agent`'s sessions is at the agent any more (it
    /// associated anew, or was released), and its pools may have changed.
    mutating func resetSessions(of agent: IPv6Address) {
        for i in sessions.indices where sessions[at: i].agent == agent {
            sessions[at: i].reset()
            noteChanged(at: i)
        }
        readAnchoring(of: agent)
    }

    /// Whether `agent` anchors each of its sessions' prefixes, read anew.
    mutating func readAnchoring(of agent: IPv6Address) {
        for i in sessions.indices where sessions[at: i].agent == agent {
            sessions[at: i].anchoredHere = anchors(sessions[at: i].prefix, at: agent)
        }
    }

    /// Whether `agent` anchors `prefix`, by the pools of its association
    /// (none: it anchors nothing).
    mutating func anchors(_ prefix: IPv6Prefix, at agent: IPv6Address) -> Bool {
        if poolsReadOf != agent {
            poolsRead = associations[agent]?.pools ?? []
            poolsReadOf = agent
        }
        return Association.pools(poolsRead, anchor: prefix)
    }
}

public enum ControllerEvent: Sendable {
    /// A UDP datagram on port 8805.
    case pfcp([UInt8], from: IPv6Address)
}

public enum ControllerAction: Hashable, Sendable {
    /// A PFCP message, encoded.
    case send([UInt8], to: IPv6Address)
    case associationChanged(agent: IPv6Address, status: Controller.Status)
    /// The agent holds every rule the controller wants for the prefix there.
    case programmed(agent: IPv6Address, prefix: IPv6Prefix)
    /// The agent refused a session request; the session holds what it had.
    case sessionRefused(agent: IPv6Address, prefix: IPv6Prefix, cause: PFCPCause)
    /// A prefix anchored elsewhere now follows its node to `agent`, by the
    /// method named (anchor switching falls back to indirection where it
    /// cannot be done).
    case placed(prefix: IPv6Prefix, at: IPv6Address, by: ForwardingMethod)
    /// Every session was pushed again to `agent` after it associated, and
    /// the agent answered the notice (`accepted`: it took it).
    case resynchronized(agent: IPv6Address, accepted: Bool)
}

extension Controller {
    public enum Dropped: String, CaseIterable, Sendable {
        case noAssociation = "no association"
        case unknownAgent = "agent not configured"
        case unexpectedMessage = "unexpected message"
    }

    /// What the controller counts beside its PFCP exchanges (`pfcpCounters`).
    public struct Counters: Sendable, Hashable {
        public var dropped: [Dropped: Int] = [:]
        public var agentRestarts = 0, sessionsRefused = 0
        /// Prefixes placed by anchor switching that went over to
        /// indirection when an agent stopped answering.
        public var switchesByIndirection = 0
    }
}
