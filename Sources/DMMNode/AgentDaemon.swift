import DMMCore
import DMMLinux
import DMMWire
import Foundation
import Logging

/// `dmm agent`: a data-plane agent alone, for a router with no access
/// links (or one whose access links another program handles).
public final class AgentDaemon {
    let config: AgentConfig
    let agent: AgentSide
    let metrics = DaemonMetrics()
    let rules: KernelRules
    let reactor: Reactor

    public init(config: AgentConfig) throws {
        self.config = config
        let log = LogfmtLogHandler.logger(daemon: config.name)
        let dataPlane = try LinuxDataPlane(netlink: NetlinkSocket(), config: config.dataPlane)
        try dataPlane.prepareRouter()
        rules = KernelRules(dataPlane: dataPlane, metrics: metrics, log: log)
        agent = try AgentSide(config: config.agent, tunnelEndpoint: config.tunnelEndpoint, capacity: config.capacity, rules: rules,
                              metrics: metrics, log: log)
        reactor = try Reactor()
    }

    public func run() throws {
        let control = try Listener(unixPath: config.controlSocket)
        let prometheus = try config.metrics.map { try Listener(tcp: $0) }
        agent.log.info("start", metadata: ["address": "\(config.agent.address)", "controller": "\(config.agent.controller)"])
        agent.start()
        reactor.watch(agent.socket.fd) { [unowned self] in try agent.receive() }
        reactor.watch(control.fd) { [unowned self] in control.serveOne { _ in Listener.json(self.agent.state(name: config.name)) } }
        if let prometheus {
            reactor.watch(prometheus.fd) { [unowned self] in prometheus.serveOne {
                Listener.http($0) {
                    self.agent.recordMetrics()
                    return self.metrics.render()
                }
            } }
        }
        reactor.run(
            timeout: { [unowned self] in
                guard let next = [agent.nextDeadline(), rules.nextRetry()].compactMap({ $0 }).min() else { return nil }
                return Int32(clamping: (next.nanoseconds - wallClock().nanoseconds + 999_999) / 1_000_000)
            },
            tick: { [unowned self] in
                let now = wallClock()
                agent.handleTimeout(at: now)
                rules.retry(at: now)
            },
            onError: { [unowned self] in agent.log.error("loop", metadata: ["error": "\($0)"]) })
        let removed = try rules.dataPlane.reconcile([])
        agent.log.info("stop", metadata: ["removed": "\(removed.removed)"])
    }
}
