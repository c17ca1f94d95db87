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
    let socket: RawSocket

    public init(config: LMSConfig) throws {
        self.config = config
        log = LogfmtLogHandler.logger(daemon: config.name)
        server = LocationServer(store: try SQLiteLocationStore(path: config.database), knownMARs: Set(config.mars))
        socket = try RawSocket(protocol: MobilityHeader.protocolNumber, bindTo: config.address)
    }

    public func run() throws {
        let reactor = try Reactor()
        let control = try Listener(unixPath: config.controlSocket)
        let prometheus = try config.metrics.map { try Listener(tcp: $0) }
        let records = try server.store.count()
        log.info("start", metadata: ["address": "\(config.address)", "database": "\(config.database)", "records": "\(records)"])
        reactor.watch(socket.fd) { [unowned self] in try receive() }
        reactor.watch(control.fd) { [unowned self] in control.serveOne { _ in self.stateJSON() } }
        if let prometheus { reactor.watch(prometheus.fd) { [unowned self] in prometheus.serveOne { Listener.http($0) { self.renderMetrics() } } } }
        reactor.run(timeout: { nil }, tick: {}, onError: { [unowned self] in log.error("loop", metadata: ["error": "\($0)"]) })
        log.info("stop")
    }

    func receive() throws {
        let d = try socket.receive()
        let request: LocationEnvelope<LocationRequest>
        do {
            let message = try MobilityHeader.decode(d.bytes, checksum: .verify(source: d.source, destination: d.destination))
            request = try LocationCodec.decodeRequest(message)
        } catch {
            // A closed set of reasons: the kind of wire fault, or an envelope that is not a location request.
            metrics.count("dmm_messages_malformed_total", [("reason", (error as? WireError)?.kind.rawValue ?? "location request")])
            log.debug("malformed", metadata: ["from": "\(d.source)", "error": "\(error)"])
            return
        }
        let reply = server.handle(request, from: d.source, at: wallClock())
        let outcome = reply.body.isRefusal ? "refused" : "answered"
        metrics.count("dmm_location_requests_total", [("kind", request.body.name), ("outcome", outcome)])
        do {
            try socket.send(try LocationCodec.encode(reply).encode(source: config.address, destination: d.source), to: d.source,
                            from: config.address)
        } catch {
            log.warning("send", metadata: ["to": "\(d.source)", "error": "\(error)"])
        }
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
