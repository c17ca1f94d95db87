import DMMCore
import DMMLinux
import DMMStore
import DMMWire
import Foundation
import Logging

/// `dmm lms`: the location server engine on an SQLite store, answering MARs'
/// PBU-borne requests with PBAs.
public final class LMSDaemon {
    let config: LMSConfig
    var server: LocationServer<SQLiteLocationStore>
    let log: Logger
    let metrics = DaemonMetrics()
    var refusals = CounterFollower<LocationServer<SQLiteLocationStore>.Refusal>()
    let port: LocationPort

    public init(config: LMSConfig) throws {
        self.config = config
        log = LogfmtLogHandler.logger(daemon: config.name)
        server = LocationServer(store: try SQLiteLocationStore(path: config.database), knownMARs: Set(config.mars))
        port = try LocationPort(address: config.address, metrics: metrics, log: log)
    }

    public func run() throws {
        let reactor = try Reactor()
        let control = try Listener(unixPath: config.controlSocket)
        let prometheus = try config.metrics.map { try Listener(tcp: $0) }
        let records = try server.store.count()
        log.info("start", metadata: ["address": "\(config.address)", "database": "\(config.database)", "records": "\(records)"])
        reactor.watch(port.socket.fd) { [unowned self] in try port.serve { server.handle($0, from: $1, at: wallClock()) } }
        reactor.watch(control.fd) { [unowned self] in control.serveOne { _ in self.stateJSON() } }
        if let prometheus { reactor.watch(prometheus.fd) { [unowned self] in prometheus.serveOne { Listener.http($0) { self.renderMetrics() } } } }
        reactor.run(timeout: { nil }, tick: {}, onError: { [unowned self] in log.error("loop", metadata: ["error": "\($0)"]) })
        log.info("stop")
    }

    /// Requests by kind and outcome, refusals by reason, malformed messages
    /// by reason.
    func renderMetrics() -> String {
        refusals.follow(server.counters.refused, into: metrics, "dmm_location_refusals_total", label: "reason") { $0.rawValue }
        return metrics.render()
    }

    func stateJSON() -> String {
        let c = server.counters
        return Listener.json([
            "name": config.name, "role": "lms", "records": (try? server.store.count()) ?? -1, "queries": c.queries,
            "registrations": c.registrations, "updates": c.updates, "releases": c.releases, "recoveries": c.recoveries,
        ])
    }
}
