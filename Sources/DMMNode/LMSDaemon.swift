import DMMCore
import DMMLinux
import DMMStore
import DMMWire
import Foundation

/// `dmm lms`: the location server engine on an SQLite store, answering MARs'
/// PBU-borne requests with PBAs.
public final class LMSDaemon {
    let config: LMSConfig
    var server: LocationServer<SQLiteLocationStore>
    let log: Log
    let metrics = Metrics()
    let socket: RawSocket

    public init(config: LMSConfig) throws {
        self.config = config
        log = Log(daemon: config.name)
        server = LocationServer(store: try SQLiteLocationStore(path: config.database), knownMARs: Set(config.mars))
        socket = try RawSocket(protocol: MobilityHeader.protocolNumber, bindTo: config.address)
        metrics.describe("dmm_location_requests_total", type: "counter", "requests answered, by kind and outcome")
        metrics.describe("dmm_messages_malformed_total", type: "counter", "messages refused before the engine saw them, by reason")
    }

    public func run() throws {
        let reactor = try Reactor()
        let control = try Listener(unixPath: config.controlSocket)
        let prometheus = try config.metrics.map { try Listener(tcp: $0) }
        log.info("start", ["address": config.address, "database": config.database, "records": try server.store.count()])
        reactor.watch(socket.fd) { [unowned self] in try receive() }
        reactor.watch(control.fd) { [unowned self] in control.serveOne { _ in self.stateJSON() } }
        if let prometheus { reactor.watch(prometheus.fd) { [unowned self] in prometheus.serveOne { Listener.http($0) { self.metrics.render() } } } }
        reactor.run(timeout: { nil }, tick: {}, onError: { [unowned self] in log.error("loop", ["error": $0]) })
        log.info("stop")
    }

    func receive() throws {
        let d = try socket.receive()
        let request: LocationEnvelope<LocationRequest>
        do {
            let message = try MobilityHeader.decode(d.bytes, checksum: .verify(source: d.source, destination: d.destination))
            request = try LocationCodec.decodeRequest(message)
        } catch {
            metrics.add("dmm_messages_malformed_total", ["reason": "\(error)".prefix(40).description])
            log.trace("malformed", ["from": d.source, "error": error])
            return
        }
        let reply = server.handle(request, from: d.source, at: wallClock())
        let outcome: String = if case .refused(let why) = reply.body { "refused: \(why)" } else { "answered" }
        metrics.add("dmm_location_requests_total", ["kind": Self.kind(request.body), "outcome": outcome])
        do {
            try socket.send(try LocationCodec.encode(reply).encode(source: config.address, destination: d.source), to: d.source,
                            from: config.address)
        } catch {
            log.warning("send", ["to": d.source, "error": error])
        }
    }

    static func kind(_ r: LocationRequest) -> String {
        switch r {
        case .query: "query"
        case .register: "register"
        case .update: "update"
        case .release: "release"
        case .recover: "recover"
        }
    }

    func stateJSON() -> String {
        let c = server.counters
        return Listener.json([
            "name": config.name, "role": "lms", "records": (try? server.store.count()) ?? -1, "queries": c.queries,
            "registrations": c.registrations, "updates": c.updates, "releases": c.releases, "recoveries": c.recoveries,
        ])
    }
}
