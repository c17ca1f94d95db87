import DMMCore
import DMMLinux
import DMMWire
import Foundation
import Logging

/// The data-plane agent engine with its PFCP socket, writing into a
/// daemon's kernel rules: `dmm agent` is one alone, and an access router
/// under central control runs one beside its access links.
///
///     start -> its own rules (the tunnel endpoint, its pools unreachable) -> Association Setup
///     session requests -> rules written to the kernel, then the answer
///     resynchronized -> rules no session asks for removed
///
/// A restart keeps what the kernel holds: the controller pushes the sessions
/// again, rules that stay the same are not rewritten, and only what no
/// session asks for after the resynchronization time is removed.
final class AgentSide {
    let config: DataPlaneAgent.Config
    let tunnelEndpoint: IPv6Address?
    /// Sessions at which it reports a load of 100.
    let capacity: Int
    var engine: DataPlaneAgent
    let socket: UDPSocket
    let rules: KernelRules
    let metrics: DaemonMetrics
    let log: Logger
    var refusals = CounterFollower<UInt8>(), malformed = CounterFollower<WireError.Kind>()
    var dropped = CounterFollower<DataPlaneAgent.Dropped>()
    var buffered = CounterFollower<String>()

    init(config: DataPlaneAgent.Config, tunnelEndpoint: IPv6Address?, capacity: Int, rules: KernelRules, metrics: DaemonMetrics,
         log: Logger) throws {
        self.config = config
        self.tunnelEndpoint = tunnelEndpoint
        self.capacity = capacity
        self.rules = rules
        self.metrics = metrics
        self.log = log
        engine = DataPlaneAgent(config: config, startedAt: wallClock())
        socket = try UDPSocket(bindTo: config.address, port: PFCPHeader.udpPort)
    }

    /// The rules that are the agent's own, not a session's.
    var ownRules: [ForwardingRule] {
        (tunnelEndpoint.map { [.decapsulate(endpoint: $0)] } ?? []) + config.pools.map { .unreachable($0) }
    }

    func start() {
        for rule in ownRules { rules.install(rule) }
        rules.apply()
        engine.start(at: wallClock())
        perform()
    }

    func receive() throws {
        let d = try socket.receive()
        engine.handle(.pfcp(d.bytes, from: d.source), at: wallClock())
        perform()
    }

    func handleTimeout(at now: Instant) {
        engine.handleTimeout(at: now)
        perform()
    }

    func nextDeadline() -> Instant? { engine.nextDeadline() }

    /// Carries out what the engine asked for, in order: an answer goes out
    /// only once the rules it reports are in the kernel.
    func perform() {
        // The load it reports (sent when it changes): its sessions against its capacity.
        engine.handle(.load(UInt8(min(100, engine.sessionCount * 100 / capacity))), at: wallClock())
        for action in engine.pollActions() {
            switch action {
            case .install(let rule): rules.install(rule)
            case .remove(let rule): rules.remove(rule)
            case .send(let datagram, let to):
                rules.apply()
                send(datagram, to: to)
            case .associated(let controller):
                log.info("associated", metadata: ["controller": "\(controller)"])
            case .controllerLost:
                log.warning("controller-lost", metadata: ["controller": "\(config.controller)"])
            case .controllerHeardAgain:
                log.info("controller-heard-again", metadata: ["controller": "\(config.controller)"])
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

    func send(_ datagram: [UInt8], to peer: IPv6Address) {
        let type = PFCPHeader.type(of: datagram)?.name ?? "none"
        do {
            try socket.send(datagram, to: peer, port: PFCPHeader.udpPort)
            metrics.count("dmm_pfcp_messages_sent_total", [("type", type)])
        } catch {
            log.warning("send", metadata: ["to": "\(peer)", "type": "\(type)", "error": "\(error)"])
        }
    }

    /// Brings its metrics up to date: messages sent by type; requests
    /// refused by Cause; malformed messages by fault; messages dropped by
    /// reason; sessions, association, rules.
    func recordMetrics() {
        let pfcp = engine.pfcpCounters
        refusals.follow(pfcp.refused, into: metrics, "dmm_pfcp_refused_total", label: "cause") { PFCPCause(rawValue: $0).name }
        malformed.follow(pfcp.malformed, into: metrics, "dmm_pfcp_malformed_total", label: "reason") { $0.rawValue }
        dropped.follow(engine.counters.dropped, into: metrics, "dmm_pfcp_dropped_total", label: "reason") { $0.rawValue }
        buffered.follow(bufferCounts, into: metrics, "dmm_buffer_packets_total", label: "outcome") { $0 }
        metrics.gauge("dmm_sessions", engine.sessionCount)
        metrics.gauge("dmm_associated", engine.isAssociated ? 1 : 0)
        metrics.gauge("dmm_controller_lost", engine.controllerLost ? 1 : 0)
        rules.recordGauges()
    }

    /// What the kernel path's buffer (FM-buffer) did with packets so far.
    var bufferCounts: [String: Int] {
        guard let c = rules.dataPlane.buffer?.counters else { return [:] }
        return ["held": c.held, "released": c.released, "dropped": c.dropped, "stray": c.stray]
    }

    /// What `dmm ctl` shows of it.
    func state(name: String) -> [String: Any] {
        let pfcp = engine.pfcpCounters
        return [
            "name": name, "role": "agent", "associated": engine.isAssociated, "controller_lost": engine.controllerLost,
            "controller": "\(config.controller)",
            "sessions": engine.sessionCount,
            "rules": rules.rules.map { "\($0)" }.sorted(),
            "counters": [
                "retransmissions": pfcp.retransmissions, "unanswered": pfcp.unanswered, "duplicates": pfcp.duplicates,
                "unexpected_responses": pfcp.unexpectedResponses, "unencodable": pfcp.unencodable, "controller_restarts": engine.counters.controllerRestarts,
                "stale_associations": engine.counters.staleAssociations,
                "unconfirmed_released": engine.counters.unconfirmedReleased, "rule_changes": rules.changes,
            ],
            "refused": Dictionary(uniqueKeysWithValues: pfcp.refused.map { (PFCPCause(rawValue: $0.key).name, $0.value) }),
            "malformed": Dictionary(uniqueKeysWithValues: pfcp.malformed.map { ($0.key.rawValue, $0.value) }),
            "dropped": Dictionary(uniqueKeysWithValues: engine.counters.dropped.map { ($0.key.rawValue, $0.value) }),
            "buffer": bufferCounts,
        ]
    }
}
