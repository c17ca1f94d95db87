import DMMCore
import DMMLinux
import DMMWire
import Logging

/// Where a daemon answers the access routers' location requests (the LMc's
/// PBU-borne requests): the location server's, and the central controller's.
/// Each request is decoded with its checksum checked, answered, and counted
/// by kind and outcome; one that does not decode is counted by its fault.
final class LocationPort {
    let address: IPv6Address
    let socket: RawSocket
    let metrics: DaemonMetrics
    let log: Logger

    init(address: IPv6Address, metrics: DaemonMetrics, log: Logger) throws {
        self.address = address
        self.metrics = metrics
        self.log = log
        socket = try RawSocket(protocol: MobilityHeader.protocolNumber, bindTo: address)
    }

    /// Receives one request and sends what `answer` makes of it.
    func serve(_ answer: (LocationEnvelope<LocationRequest>, IPv6Address) -> LocationEnvelope<LocationReply>) throws {
        guard let (request, agent) = try receive() else { return }
        reply(answer(request, agent), to: request, from: agent)
    }

    /// Receives one request; nil for one that does not decode (counted).
    func receive() throws -> (LocationEnvelope<LocationRequest>, IPv6Address)? {
        let d = try socket.receive()
        do {
            let message = try MobilityHeader.decode(d.bytes, checksum: .verify(source: d.source, destination: d.destination))
            return (try LocationCodec.decodeRequest(message), d.source)
        } catch {
            // A closed set of reasons: the kind of wire fault, or an envelope that is not a location request.
            metrics.count("dmm_messages_malformed_total", [("reason", (error as? WireError)?.kind.rawValue ?? "location request")])
            log.debug("malformed", metadata: ["from": "\(d.source)", "error": "\(error)"])
            return nil
        }
    }

    /// Sends the answer to `request`, counted by the request's kind and its outcome.
    func reply(_ reply: LocationEnvelope<LocationReply>, to request: LocationEnvelope<LocationRequest>, from agent: IPv6Address) {
        metrics.count("dmm_location_requests_total", [("kind", request.body.name), ("outcome", reply.body.isRefusal ? "refused" : "answered")])
        do {
            try socket.send(try LocationCodec.encode(reply).encode(source: address, destination: agent), to: agent, from: address)
        } catch {
            log.warning("send", metadata: ["to": "\(agent)", "error": "\(error)"])
        }
    }
}
