import DMMCore
import DMMLinux
import DMMWire
import Foundation
import Logging

/// `dmm agent`: the data-plane agent engine wired to its PFCP socket, the
/// Linux data plane, timers, logs, metrics and control socket.
///
///     start -> its own rules (the tunnel endpoint, its pools unreachable) -> Association Setup
///     session requests -> rules written to the kernel, then the answer
///     resynchronized -> rules no session asks for removed;  SIGTERM -> remove what it owns, exit
///
/// A restart keeps what the kernel holds: the controller pushes the sessions
/// again, rules that stay the same are not rewritten, and only what no
/// session asks for after the resynchronization time is removed.
public final class AgentDaemon {
    let config: AgentConfig
    var engine: DataPlaneAgent
    let log: Logger
    let metrics = DaemonMetrics()
    let rules: KernelRules
    let socket: UDPSocket
    let reactor: Reactor
    var refusals = CounterFollower<UInt8>(), malformed = CounterFollower<WireError.Kind>()
    var dropped = CounterFollower<DataPlaneAgent.Dropped>()

    public init(config: AgentConfig) throws {
        self.config = config
        log = LogfmtLogHandler.logger(daemon: config.name)
        engine = DataPlaneAgent(config: config.agent, startedAt: wallClock())
        let dataPlane = try LinuxDataPlane(netlink: NetlinkSocket(), config: config.dataPlane)
        try dataPlane.prepareRouter()
        rules = KernelRules(dataPlane: dataPlane, metrics: metrics, log: log)
        socket = try UDPSocket(bindTo: config.agent.address, port: PFCPHeader.udpPort)
        reactor = try Reactor()
    }

    /// The rules that are the agent's own, not a session's.
    var ownRules: [ForwardingRule] { [.decapsulate(endpoint: config.tunnelEndpoint)] + config.agent.pools.map { .unreachable($0) } }

    public func run() throws {
        let control = try Listener(unixPath: config.controlSocket)
        let prometheus = try config.metrics.map { try Listener(tcp: $0) }
        log.info("start", metadata: ["address": "\(config.agent.address)", "controller": "\(config.agent.controller)"])
        for rule in ownRules { rules.install(rule) }
        rules.apply()
        engine.start(at: wallClock())
        perform()
        reactor.watch(socket.fd) { [unowned self] in try receive() }
        reactor.watch(control.fd) { [unowned self] in control.serveOne { _ in self.stateJSON() } }
        if let prometheus {
            reactor.watch(prometheus.fd) { [unowned self] in prometheus.serveOne { Listener.http($0) { self.renderMetrics() } } }
        }
        reactor.run(
            timeout: { [unowned self] in
                guard let next = [engine.nextDeadline(), rules.nextRetry()].compactMap({ $0 }).min() else { return nil }
                return Int32(clamping: (next.nanoseconds - wallClock().nanoseconds + 999_999) / 1_000_000)
            },
            tick: { [unowned self] in
                let now = wallClock()
                engine.handleTimeout(at: now)
                perform()
                rules.retry(at: now)
            },
            onError: { [unowned self] in log.error("loop", metadata: ["error": "\($0)"]) })
        let removed = try rules.dataPlane.reconcile([])
        log.info("stop", metadata: ["removed": "\(removed.removed)"])
    }

    func receive() throws {
        let d = try socket.receive()
        engine.handle(.pfcp(d.bytes, from: d.source), at: wallClock())
        perform()
    }

    /// Carries out what the engine asked for, in order: an answer goes out
    /// only once the rules it reports are in the kernel.
    func perform() {
        // The load it reports (sent when it changes): its sessions against its capacity.
        engine.handle(.load(UInt8(min(100, engine.sessionCount * 100 / config.capacity))), at: wallClock())
        for action in engine.pollActions() {
            switch action {
            case .install(let rule): rules.install(rule)
            case .remove(let rule): rules.remove(rule)
            case .send(let m, let to):
                rules.apply()
                send(m, to: to)
            case .associated(let controller):
                log.info("associated", metadata: ["controller": "\(controller)"])
            case .controllerLost:
                log.warning("controller-lost", metadata: ["controller": "\(config.agent.controller)"])
            case .resynchronized:
                rules.apply()
                do {
                    let r = try rules.reconcile()
                    log.info("resynchronized", metadata: ["sessions": "\(engine.sessionCount)", "stale_removed": "\(r.removed)", "added": "\(r.added)"])
                } catch {
                    log.error("reconcile", metadata: ["error": "\(error)"])
                }
            case .refused(let reason):
                log.info("refused", metadata: ["reason": "\(reason)"])
            }
        }
        rules.apply()
    }

    func send(_ m: PFCPMessage, to peer: IPv6Address) {
        do {
            try socket.send(try m.encode(), to: peer, port: PFCPHeader.udpPort)
            metrics.count("dmm_pfcp_messages_sent_total", [("type", m.type.name)])
        } catch {
            log.warning("send", metadata: ["to": "\(peer)", "type": "\(m.type.name)", "error": "\(error)"])
        }
    }

    /// Messages sent by type; requests refused by Cause; malformed messages
    /// by fault; messages dropped by reason; sessions, association, rules.
    func renderMetrics() -> String {
        let pfcp = engine.pfcpCounters
        refusals.follow(pfcp.refused, into: metrics, "dmm_pfcp_refused_total", label: "cause") { PFCPCause(rawValue: $0).name }
        malformed.follow(pfcp.malformed, into: metrics, "dmm_pfcp_malformed_total", label: "reason") { $0.rawValue }
        dropped.follow(engine.counters.dropped, into: metrics, "dmm_pfcp_dropped_total", label: "reason") { $0.rawValue }
        metrics.gauge("dmm_sessions", engine.sessionCount)
        metrics.gauge("dmm_associated", engine.isAssociated ? 1 : 0)
        rules.recordGauges()
        return metrics.render()
    }

    func stateJSON() -> String {
        let pfcp = engine.pfcpCounters
        return Listener.json([
            "name": config.name, "role": "agent", "associated": engine.isAssociated, "controller": "\(config.agent.controller)",
            "sessions": engine.sessionCount,
            "rules": rules.rules.map { "\($0)" }.sorted(),
            "counters": [
                "retransmissions": pfcp.retransmissions, "unanswered": pfcp.unanswered, "duplicates": pfcp.duplicates,
                "unexpected_responses": pfcp.unexpectedResponses, "controller_restarts": engine.counters.controllerRestarts,
                "rule_changes": rules.changes,
            ],
            "refused": Dictionary(uniqueKeysWithValues: pfcp.refused.map { (PFCPCause(rawValue: $0.key).name, $0.value) }),
            "malformed": Dictionary(uniqueKeysWithValues: pfcp.malformed.map { ($0.key.rawValue, $0.value) }),
            "dropped": Dictionary(uniqueKeysWithValues: engine.counters.dropped.map { ($0.key.rawValue, $0.value) }),
        ])
    }
}
