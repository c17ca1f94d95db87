import DMMCore
import DMMLinux
import DMMWire

/// How a MAR names the node that appears on an access link by its
/// link-layer address (`node-identity: link-layer-address`, the default).
/// A node that boots sends a Router Solicitation with its address in it. A
/// node that moves does not: when carrier returns on an interface it has
/// configured, Linux only repeats its MLD reports. So at link up the MAR
/// reads the source address of the first frame the node sends, from a packet
/// socket open only until the node is named (it sees every frame on the
/// link). The node usually sends at once, answering the link-up Router
/// Advertisement with the packets it held while its link was down; a node
/// with nothing to send is asked for a frame:
///
///     Echo Request to ff02::1 --> Echo Reply from the node: its frame's source address --> attached
///
/// the Echo Request repeated every `probeInterval`, `probeCount` times in
/// all. A Router Solicitation with a source link-layer address attaches the
/// node at any point.
extension MARDaemon {
    struct Probe {
        var interface: Int32
        var frames: FrameSource
        var sent = 0
        var next: Instant
    }

    static let probeInterval: Seconds = 0.01
    static let probeCount = 100
    /// Identifier of our Echo Requests (RFC 4443 section 4.1).
    static let probeIdentifier: UInt16 = 0x444D

    /// Opens the link's frames; called before the Router Advertisement goes
    /// out, so that the node's answer to it names the node. The first Echo
    /// Request is due at once.
    func startProbing(_ link: String, interface: Int32) {
        endProbe(link)
        do {
            let frames = try FrameSource(interface: interface)
            reactor.watch(frames.fd) { [unowned self] in framesArrived(on: link) }
            probes[link] = Probe(interface: interface, frames: frames, next: wallClock())
        } catch {
            log.error("node-naming", ["link": link, "error": error, "waiting_for": "a Router Solicitation"])
        }
    }

    /// Names the node from the first frame it sent, if one came.
    func framesArrived(on link: String) {
        guard let mac = probes[link]?.frames.nextSender() else { return }
        attachNode(MobileNodeID(linkLayerAddress: mac), on: link, linkLayerAddress: mac)
    }

    func endProbe(_ link: String) {
        if let probe = probes.removeValue(forKey: link) { reactor.unwatch(probe.frames.fd) }
    }

    /// Sends the Echo Requests that are due.
    func sendProbes(at now: Instant) {
        let a = config.router.advertisement
        for (link, var probe) in probes where probe.next <= now {
            guard probe.sent < Self.probeCount else {
                endProbe(link)
                log.warning("node-unanswered", ["link": link, "probes": probe.sent])
                continue
            }
            let id = Self.probeIdentifier
            let request = ICMPv6Message.other(type: 128, code: 0, body: [UInt8(id >> 8), UInt8(id & 0xFF), 0, UInt8(truncatingIfNeeded: probe.sent)])
            do {
                try icmp.send(try request.encode(source: .unspecified, destination: .unspecified), to: IPv6Address("ff02::1")!,
                              from: a.linkLocalAddress, interface: probe.interface, hopLimit: 255)
            } catch {
                log.warning("probe", ["link": link, "error": error])
            }
            probe.sent += 1
            probe.next = now + Self.probeInterval
            probes[link] = probe
        }
    }

    /// The earliest probe due, for the reactor's timeout.
    var nextProbe: Instant? { probes.values.map(\.next).min() }

    /// The location query goes out before the log line is written.
    func attachNode(_ node: MobileNodeID, on link: String, linkLayerAddress: [UInt8]) {
        endProbe(link)
        engine.handle(.attached(node, link: LinkID(link), linkLayerAddress: linkLayerAddress), at: wallClock())
        perform()
        log.info("attach", ["link": link, "node": node])
        metrics.add("dmm_attachments_total")
    }
}
