import DMMCore
import DMMLinux
import DMMStore
import DMMWire
import Foundation
import Logging

/// `dmm controller`: the central controller's engine wired to its PFCP
/// socket, its store, timers, logs, metrics and control socket.
///
///     start -> associations and sessions from the store -> heartbeats (agents associate again)
///     a placement (control socket: place) -> sessions at the agents it involves
///     each step -> its changes committed to the store, then its messages sent
public final class ControllerDaemon {
    let config: ControllerConfig
    var engine: Controller
    let store: SQLiteControllerStore
    let log: Logger
    let metrics = DaemonMetrics(durations: ["dmm_placement_seconds": [
        .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(20),
        .milliseconds(50), .milliseconds(100), .milliseconds(500), .seconds(1), .seconds(5),
    ]])
    let socket: UDPSocket
    let reactor: Reactor
    /// Placements not yet acknowledged by every agent they involve: when
    /// each began, and the agents still to answer.
    var placing: [IPv6Prefix: (started: Instant, agents: Set<IPv6Address>)] = [:]
    var refusals = CounterFollower<UInt8>(), malformed = CounterFollower<WireError.Kind>()
    var dropped = CounterFollower<Controller.Dropped>()
    var storeFailures = 0

    public init(config: ControllerConfig) throws {
        self.config = config
        log = LogfmtLogHandler.logger(daemon: config.name)
        store = try SQLiteControllerStore(path: config.database, tunnelMode: config.controller.tunnelMode)
        let snapshot = try store.load()
        engine = Controller(config: config.controller, startedAt: wallClock(), restoring: snapshot)
        try store.write(recoveryTimeStamp: engine.recoveryTimeStamp)
        socket = try UDPSocket(bindTo: config.controller.address, port: PFCPHeader.udpPort)
        reactor = try Reactor()
        log.info("restored", metadata: ["associations": "\(snapshot.associations.count)", "sessions": "\(snapshot.sessions.count)"])
    }

    public func run() throws {
        let control = try Listener(unixPath: config.controlSocket)
        let prometheus = try config.metrics.map { try Listener(tcp: $0) }
        log.info("start", metadata: ["address": "\(config.controller.address)", "database": "\(config.database)"])
        engine.start(at: wallClock())
        perform()
        reactor.watch(socket.fd) { [unowned self] in try receive() }
        reactor.watch(control.fd) { [unowned self] in control.serveOne { self.command($0) } }
        if let prometheus {
            reactor.watch(prometheus.fd) { [unowned self] in prometheus.serveOne { Listener.http($0) { self.renderMetrics() } } }
        }
        reactor.run(
            timeout: { [unowned self] in
                guard let next = engine.nextDeadline() else { return nil }
                return Int32(clamping: (next.nanoseconds - wallClock().nanoseconds + 999_999) / 1_000_000)
            },
            tick: { [unowned self] in
                engine.handleTimeout(at: wallClock())
                perform()
            },
            onError: { [unowned self] in log.error("loop", metadata: ["error": "\($0)"]) })
        log.info("stop")
    }

    func receive() throws {
        let d = try socket.receive()
        engine.handle(.pfcp(d.bytes, from: d.source), at: wallClock())
        perform()
    }

    /// Commits the step's changes, then sends its messages: an agent is never
    /// asked for what a restarted controller would not know it asked.
    func perform() {
        do {
            try store.write(engine.takeChanges())
        } catch {
            storeFailures += 1
            metrics.count("dmm_store_failures_total")
            log.error("store", metadata: ["error": "\(error)"])
        }
        for action in engine.pollActions() {
            switch action {
            case .send(let m, let to): send(m, to: to)
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
            }
        }
    }

    func send(_ m: PFCPMessage, to peer: IPv6Address) {
        do {
            try socket.send(try m.encode(), to: peer, port: PFCPHeader.udpPort)
            metrics.count("dmm_pfcp_messages_sent_total", [("type", m.type.name)])
        } catch {
            log.warning("send", metadata: ["to": "\(peer)", "type": "\(m.type.name)", "error": "\(error)"])
        }
    }

    // MARK: The control socket

    /// `state` (what `dmm ctl` shows), or `place PREFIX ANCHOR [AGENT LINK]`:
    /// the prefix anchored at ANCHOR and served at AGENT on LINK, or with
    /// no serving agent, not in use (every entry for it removed).
    func command(_ request: String) -> String {
        let words = request.split(whereSeparator: \.isWhitespace).map(String.init)
        switch words.first {
        case nil, "state": return stateJSON()
        case "place":
            switch Self.placement(Array(words.dropFirst())) {
            case .failure(let e): return Listener.json(["error": e.description])
            case .success(let placement):
                for agent in [placement.anchor] + (placement.serving.map { [$0.agent] } ?? []) where engine.associations[agent] == nil {
                    return Listener.json(["error": "\(agent) is not an associated agent"])
                }
                guard engine.associations[placement.anchor]!.anchors(placement.prefix) else {
                    return Listener.json(["error": "\(placement.prefix) is not in a pool \(placement.anchor) registered"])
                }
                let now = wallClock()
                let before = Set(engine.sessions.values.filter { $0.prefix == placement.prefix }.map(\.agent))
                engine.place(placement, at: now)
                let involved = before.union(placement.rules(endpoint: engine.endpoint(of:), mode: config.controller.tunnelMode).keys)
                placing[placement.prefix] = (now, involved)
                perform()
                return Listener.json(["placed": "\(placement.prefix)", "agents": involved.map { "\($0)" }.sorted()])
            }
        default:
            return Listener.json(["error": "unknown command '\(words[0])': state, or place PREFIX ANCHOR [AGENT LINK]"])
        }
    }

    struct CommandError: Error, CustomStringConvertible { var description: String }

    static func placement(_ w: [String]) -> Result<Placement, CommandError> {
        guard w.count == 2 || w.count == 4 else { return .failure(CommandError(description: "place takes PREFIX ANCHOR [AGENT LINK]")) }
        guard let prefix = IPv6Prefix(w[0]) else { return .failure(CommandError(description: "'\(w[0])' is not an IPv6 prefix")) }
        guard let anchor = IPv6Address(w[1]) else { return .failure(CommandError(description: "'\(w[1])' is not an IPv6 address")) }
        guard w.count == 4 else { return .success(Placement(prefix: prefix, anchor: anchor, serving: nil)) }
        guard let agent = IPv6Address(w[2]) else { return .failure(CommandError(description: "'\(w[2])' is not an IPv6 address")) }
        guard !w[3].isEmpty, w[3].utf8.count < 16 else { return .failure(CommandError(description: "'\(w[3])' is not an interface name")) }
        return .success(Placement(prefix: prefix, anchor: anchor, serving: .init(agent: agent, link: LinkID(w[3]))))
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
        return metrics.render()
    }

    func stateJSON() -> String {
        let pfcp = engine.pfcpCounters
        return Listener.json([
            "name": config.name, "role": "controller",
            "associations": engine.associations.keys.sorted().map { agent in
                let a = engine.associations[agent]!
                return ["agent": "\(agent)", "status": a.status.rawValue, "load": a.load.map { "\($0)" } ?? "-",
                        "pools": a.pools.flatMap(\.prefixes).map { "\($0)" }.joined(separator: " ")]
            },
            "sessions": engine.sessions.keys.sorted().map { seid in
                let s = engine.sessions[seid]!
                return ["seid": String(seid, radix: 16), "agent": "\(s.agent)", "prefix": "\(s.prefix)",
                        "state": s.acknowledged == s.wanted && s.agentSEID != nil ? "programmed" : "pending"]
            },
            "rules": engine.associations.keys.sorted().flatMap { agent in engine.rules(at: agent).map { "\(agent): \($0)" } },
            "counters": [
                "retransmissions": pfcp.retransmissions, "unanswered": pfcp.unanswered, "duplicates": pfcp.duplicates,
                "unexpected_responses": pfcp.unexpectedResponses, "agent_restarts": engine.counters.agentRestarts,
                "sessions_refused": engine.counters.sessionsRefused, "store_failures": storeFailures,
            ],
            "refused": Dictionary(uniqueKeysWithValues: pfcp.refused.map { (PFCPCause(rawValue: $0.key).name, $0.value) }),
            "malformed": Dictionary(uniqueKeysWithValues: pfcp.malformed.map { ($0.key.rawValue, $0.value) }),
            "dropped": Dictionary(uniqueKeysWithValues: engine.counters.dropped.map { ($0.key.rawValue, $0.value) }),
        ])
    }
}
