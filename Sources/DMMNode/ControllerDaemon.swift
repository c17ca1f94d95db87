import DMMCore
import DMMLinux
import DMMStore
import DMMWire
import Foundation
import Logging

/// `dmm controller`: the central controller's engine wired to its PFCP
/// socket, its store, timers, logs, metrics and control socket.
///
///     start -> associations, sessions and locations from the store -> heartbeats (agents associate again)
///     an access router's report (the location protocol, or the control socket) -> location management
///         -> placements -> sessions at the agents they involve
///     each step -> its messages sent -> the agents' answers (or 5 ms) -> its changes handed to the store's thread
///         -> committed (with any later steps' changes made meanwhile) -> the access router answered
public final class ControllerDaemon {
    let config: ControllerConfig
    var engine: Controller
    var location: LocationManagement
    let store: SQLiteControllerStore
    let log: Logger
    let metrics = DaemonMetrics(durations: ["dmm_placement_seconds": [
        .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(20),
        .milliseconds(50), .milliseconds(100), .milliseconds(500), .seconds(1), .seconds(5),
    ]])
    let socket: UDPSocket
    /// The access routers' reports (LMc), in the location protocol.
    let reports: LocationPort
    let reactor: Reactor
    /// Placements not yet acknowledged by every agent they involve: when
    /// each began, and the agents still to answer.
    var placing: [IPv6Prefix: (started: Instant, agents: Set<IPv6Address>)] = [:]
    var refusals = CounterFollower<UInt8>(), malformed = CounterFollower<WireError.Kind>()
    var dropped = CounterFollower<Controller.Dropped>()
    /// The previous prefixes nodes listed in their solicitations, by what became of them.
    var listed = CounterFollower<String>()
    var storeFailures = 0
    /// Commits on a thread of its own: SQLite waits for the disk (an
    /// fdatasync took 0.3 to 4 ms here), and the loop goes on reading the
    /// agents' answers meanwhile. Each result is the commit's failure, if any.
    let commits: Worker<PendingCommit, Error?>
    /// Changes not yet handed to the store's thread.
    var pending = PendingCommit()
    /// Commits handed over and finished, counted.
    var submitted = 0, committed = 0
    /// Answers to access routers, each sent once the commit that holds its
    /// step's changes has finished.
    var answers: [(commit: Int, send: () -> Void)] = []
    /// Every message it sent and received: PFCP, and the access routers'
    /// reports with their answers.
    var signalling = 0

    public init(config: ControllerConfig) throws {
        self.config = config
        log = LogfmtLogHandler.logger(daemon: config.name)
        store = try SQLiteControllerStore(path: config.database, tunnelMode: config.controller.tunnelMode)
        let snapshot = try store.load()
        engine = Controller(config: config.controller, startedAt: wallClock(), restoring: snapshot)
        try store.write(recoveryTimeStamp: engine.recoveryTimeStamp)
        let held = try store.loadLocation()
        location = LocationManagement(restoring: held.nodes, holding: held.holding)
        location.placeAgain(controller: &engine, now: wallClock())
        socket = try UDPSocket(bindTo: config.controller.address, port: PFCPHeader.udpPort)
        reports = try LocationPort(address: config.controller.address, metrics: metrics, log: log)
        reactor = try Reactor()
        commits = try Worker(name: "dmm-store") { [store] changes in
            do {
                try changes.write(to: store)
                return nil
            } catch { return error }
        }
        log.info("restored", metadata: ["associations": "\(snapshot.associations.count)", "sessions": "\(snapshot.sessions.count)",
                                        "nodes": "\(held.nodes.count)"])
    }

    public func run() throws {
        let control = try Listener(unixPath: config.controlSocket)
        let prometheus = try config.metrics.map { try Listener(tcp: $0) }
        log.info("start", metadata: ["address": "\(config.controller.address)", "database": "\(config.database)"])
        engine.start(at: wallClock())
        perform()
        reactor.watch(socket.fd) { [unowned self] in try receive() }
        reactor.watch(reports.socket.fd) { [unowned self] in
            guard let (request, agent) = try reports.receive() else { return }
            signalling += 2
            let reply = LocationEnvelope(id: request.id, answer(request.body, from: agent))
            afterCommit { [unowned self] in reports.reply(reply, to: request, from: agent) }
        }
        reactor.watch(commits.fd) { [unowned self] in commitsFinished() }
        reactor.watch(control.fd) { [unowned self] in control.serveOne { self.command($0) } }
        if let prometheus {
            reactor.watch(prometheus.fd) { [unowned self] in prometheus.serveOne { Listener.http($0) { self.renderMetrics() } } }
        }
        reactor.run(
            timeout: { [unowned self] in
                let due = submitted == committed ? pending.deadline : nil
                guard let next = [engine.nextDeadline(), due].compactMap({ $0 }).min() else { return nil }
                return Int32(clamping: (next.nanoseconds - wallClock().nanoseconds + 999_999) / 1_000_000)
            },
            tick: { [unowned self] in
                engine.handleTimeout(at: wallClock())
                perform()
            },
            onError: { [unowned self] in log.error("loop", metadata: ["error": "\($0)"]) })
        commitAll()
        commits.stop()
        log.info("stop")
    }

    func receive() throws {
        let d = try socket.receive()
        signalling += 1
        engine.handle(.pfcp(d.bytes, from: d.source), at: wallClock())
        perform()
    }

    /// Sends the step's messages, then hands its changes to the store's
    /// thread: the agents start on their rules while the store syncs, which
    /// takes the commit off a handover's path. What a crash before the
    /// commit leaves at an agent is safe: the restarted controller pushes
    /// every session it kept, and the agent releases any other at its
    /// resynchronization. An access router is answered only once its step is
    /// committed (`afterCommit`), so nothing it is told is lost.
    /// With `reportedAt`, the step answers an access router's report, and
    /// each session it left waiting on an agent is timed from then.
    func perform(reportedAt: Instant? = nil) {
        let actions = engine.pollActions()
        send(actions.compactMap { if case .send(let m, let to) = $0 { (m, to) } else { nil } })
        let changes = engine.takeChanges()
        if let reportedAt {
            for case let (_, s?) in changes.sessions where !s.isProgrammed {
                placing[s.prefix, default: (reportedAt, [])].agents.insert(s.agent)
            }
        }
        pending.add(changes, location.takeChanges(), at: wallClock())
        commitIfDue()
        for action in actions {
            switch action {
            case .send: break  // sent above
            case .associationChanged(let agent, let status):
                log.info("association", metadata: ["agent": "\(agent)", "status": "\(status.rawValue)"])
            case .programmed(let agent, let prefix):
                guard var p = placing[prefix] else { break }
                p.agents.remove(agent)
                placing[prefix] = p.agents.isEmpty ? nil : p
                if p.agents.isEmpty {
                    let seconds = (wallClock() - p.started).seconds
                    metrics.time("dmm_placement_seconds", seconds: seconds)
                    log.info("placed", metadata: ["prefix": "\(prefix)", "ms": "\(seconds * 1000)"])
                }
            case .sessionRefused(let agent, let prefix, let cause):
                log.warning("session-refused", metadata: ["agent": "\(agent)", "prefix": "\(prefix)", "cause": "\(cause.name)"])
            case .placed(let prefix, let agent, let method):
                metrics.count("dmm_moves_total", [("forwarding", method.rawValue)])
                log.info("moved", metadata: ["prefix": "\(prefix)", "to": "\(agent)", "forwarding": "\(method.rawValue)"])
            case .resynchronized(let agent, let accepted):
                log.info("pushed-again", metadata: ["agent": "\(agent)", "notice": accepted ? "accepted" : "refused"])
            }
        }
    }

    // MARK: The store

    /// Hands the pending changes over when they are due (`PendingCommit`),
    /// or when forced, unless a commit is under way.
    func commitIfDue(force: Bool = false) {
        guard submitted == committed, !pending.isEmpty,
            force || pending.isDue(requestsInFlight: engine.requestsInFlight, at: wallClock())
        else { return }
        commits.submit(pending)
        pending = PendingCommit()
        submitted += 1
    }

    /// Runs `send` once the step just performed is committed: at once if
    /// nothing of it waits.
    func afterCommit(_ send: @escaping () -> Void) {
        let needed = pending.isEmpty ? submitted : submitted + 1
        if needed <= committed { send() } else { answers.append((needed, send)) }
    }

    /// Counts the finished commits, sends the answers they held, starts the next.
    func commitsFinished() {
        for failure in commits.take() {
            committed += 1
            guard let failure else { continue }
            storeFailures += 1
            metrics.count("dmm_store_failures_total")
            log.error("store", metadata: ["error": "\(failure)"])
        }
        let due = answers.filter { $0.commit <= committed }
        answers.removeAll { $0.commit <= committed }
        for a in due { a.send() }
        commitIfDue()
    }

    /// Waits until every change so far is committed: before the control
    /// socket answers a report, and at shutdown.
    func commitAll() {
        while true {
            commitIfDue(force: true)
            guard committed < submitted else { return }
            _ = isReadable(commits.fd, within: 1)
            commitsFinished()
        }
    }

    /// Sends a step's messages together: with a send each, an agent woken by
    /// the first took this core until it was done and held back the second
    /// agent's (see `UDPSocket.send(_:port:)`).
    func send(_ datagrams: [(bytes: [UInt8], to: IPv6Address)]) {
        let types = datagrams.map { PFCPHeader.type(of: $0.bytes)?.name ?? "none" }
        let failures = socket.send(datagrams, port: PFCPHeader.udpPort)
        for (i, error) in failures {
            log.warning("send", metadata: ["to": "\(datagrams[i].to)", "type": "\(types[i])", "error": "\(error)"])
        }
        let failed = Set(failures.map(\.index))
        for (i, type) in types.enumerated() where !failed.contains(i) {
            signalling += 1
            metrics.count("dmm_pfcp_messages_sent_total", [("type", type)])
        }
    }

    // MARK: The access routers' reports

    /// What the location management makes of a report from `agent`, its
    /// PFCP requests sent; the caller sends the answer once the step is
    /// committed.
    func answer(_ request: LocationRequest, from agent: IPv6Address) -> LocationReply {
        let now = wallClock()
        let reply = location.answer(request, from: agent, controller: &engine, now: now)
        perform(reportedAt: now)
        return reply
    }

    // MARK: The control socket

    /// `state` (what `dmm ctl` shows), or an access router's report in words,
    /// answered as the location protocol would: `attach NODE AGENT LINK
    /// [PREFIX...]` (the prefixes the node listed as its previous ones),
    /// `detach NODE AGENT LINK`, `flows PREFIX active|ended` (from the agent
    /// the node is attached to, else the prefix's anchor). NODE is the
    /// node's identifier as text (its NAI).
    func command(_ request: String) -> String {
        let words = request.split(whereSeparator: \.isWhitespace).map(String.init)
        guard let verb = words.first, verb != "state" else { return stateJSON() }
        switch Self.report(words, location) {
        case .failure(let e): return Listener.json(["error": e.description])
        case .success(let (request, agent)):
            let reply = answer(request, from: agent)
            commitAll()
            switch reply {
            case .advertise(let prefixes): return Listener.json(["advertise": prefixes.map { ["prefix": "\($0.prefix)", "preferred": $0.preferred] }])
            case .refused(let reason): return Listener.json(["error": reason])
            default: return Listener.json(["done": true])
            }
        }
    }

    struct CommandError: Error, CustomStringConvertible { var description: String }

    static let usage = "state, attach NODE AGENT LINK [PREFIX...], detach NODE AGENT LINK, or flows PREFIX active|ended"

    static func report(_ w: [String], _ location: LocationManagement) -> Result<(LocationRequest, IPv6Address), CommandError> {
        switch (w.first, w.count) {
        case ("attach", 4...), ("detach", 4):
            guard let agent = IPv6Address(w[2]) else { return .failure(CommandError(description: "'\(w[2])' is not an IPv6 address")) }
            guard !w[3].isEmpty, let link = LinkID(w[3]) else { return .failure(CommandError(description: "'\(w[3])' \(LinkID.misfit)")) }
            let node = MobileNodeID(w[1])
            guard w[0] == "attach" else { return .success((.detached(node, link: link), agent)) }
            var previous: [IPv6Prefix] = []
            for word in w.dropFirst(4) {
                guard let p = IPv6Prefix(word) else { return .failure(CommandError(description: "'\(word)' is not an IPv6 prefix")) }
                previous.append(p)
            }
            return .success((.attached(node, link: link, previous: previous), agent))
        case ("flows", 3):
            guard let prefix = IPv6Prefix(w[1]) else { return .failure(CommandError(description: "'\(w[1])' is not an IPv6 prefix")) }
            guard w[2] == "active" || w[2] == "ended" else { return .failure(CommandError(description: "flows are 'active' or 'ended', not '\(w[2])'")) }
            guard let node = location.holder(of: prefix), let held = location.nodes[node]?.first(where: { $0.prefix == prefix }) else {
                return .failure(CommandError(description: "no node holds \(prefix)"))
            }
            let agent = location.attachments[node]?.agent ?? held.anchor
            return .success((.update(prefix, serving: agent, active: w[2] == "active"), agent))
        default:
            return .failure(CommandError(description: "'\(w.joined(separator: " "))' is not a command: \(usage)"))
        }
    }

    /// Messages sent by type; requests refused by Cause; malformed messages
    /// by fault; messages dropped by reason; associations by status;
    /// sessions; the time from a placement to its last acknowledgement.
    func renderMetrics() -> String {
        let pfcp = engine.pfcpCounters
        refusals.follow(pfcp.refused, into: metrics, "dmm_pfcp_refused_total", label: "cause") { PFCPCause(rawValue: $0).name }
        malformed.follow(pfcp.malformed, into: metrics, "dmm_pfcp_malformed_total", label: "reason") { $0.rawValue }
        dropped.follow(engine.counters.dropped, into: metrics, "dmm_pfcp_dropped_total", label: "reason") { $0.rawValue }
        for status in Controller.Status.allCases {
            metrics.gauge("dmm_associations", engine.associations.values.filter { $0.status == status }.count, [("status", status.rawValue)])
        }
        metrics.gauge("dmm_sessions", engine.sessions.count)
        metrics.gauge("dmm_sessions_to_push_again", engine.backlog)
        metrics.gauge("dmm_sessions_pushed_again_in_flight", engine.backlogInFlight)
        metrics.gauge("dmm_agents_resynchronizing", engine.agentsResynchronizing)
        listed.follow(["used": location.listed.used, "not the node's": location.listed.notTheNodes], into: metrics,
                      "dmm_listed_prefixes_total", label: "outcome") { $0 }
        return metrics.render()
    }

    func stateJSON() -> String {
        let pfcp = engine.pfcpCounters
        return Listener.json([
            "name": config.name, "role": "controller",
            "associations": engine.associations.keys.sorted().map { agent in
                let a = engine.associations[agent]!
                return ["agent": "\(agent)", "status": a.status.rawValue, "load": a.load.map { "\($0)" } ?? "-",
                        "to_push_again": engine.backlog(of: agent), "resynchronizing": engine.isResynchronizing(agent),
                        "pools": a.pools.flatMap(\.prefixes).map { "\($0)" }.joined(separator: " ")]
            },
            "sessions": engine.sessions.seids.map { seid in
                let s = engine.sessions[seid]!
                return ["seid": String(seid, radix: 16), "agent": "\(s.agent)", "prefix": "\(s.prefix)",
                        "state": s.isProgrammed ? "programmed" : "pending"]
            },
            "rules": engine.associations.keys.sorted().flatMap { agent in engine.rules(at: agent).map { "\(agent): \($0)" } },
            "nodes": location.stored.map { n in
                ["node": "\(n.node)", "at": n.attachment.map { "\($0.agent) \($0.link)" } ?? "-",
                 "prefixes": n.held.map { "\($0.prefix)\($0.active ? " (flows)" : "")" }.joined(separator: " "),
                 "held": n.held.map { ["prefix": "\($0.prefix)", "anchor": "\($0.anchor)", "active": $0.active] }] as [String: Any]
            },
            "counters": [
                "retransmissions": pfcp.retransmissions, "unanswered": pfcp.unanswered, "duplicates": pfcp.duplicates,
                "unexpected_responses": pfcp.unexpectedResponses, "unencodable": pfcp.unencodable, "agent_restarts": engine.counters.agentRestarts,
                "sessions_refused": engine.counters.sessionsRefused, "sessions_pushed_again_in_flight": engine.backlogInFlight,
                "store_failures": storeFailures,
                "signalling_messages": signalling, "listed_prefixes_used": location.listed.used,
                "listed_prefixes_not_the_nodes": location.listed.notTheNodes,
            ],
            "refused": Dictionary(uniqueKeysWithValues: pfcp.refused.map { (PFCPCause(rawValue: $0.key).name, $0.value) }),
            "malformed": Dictionary(uniqueKeysWithValues: pfcp.malformed.map { ($0.key.rawValue, $0.value) }),
            "dropped": Dictionary(uniqueKeysWithValues: engine.counters.dropped.map { ($0.key.rawValue, $0.value) }),
        ])
    }
}
