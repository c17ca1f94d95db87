import DMMCore
import DMMLinux
import DMMWire

/// How a MAR names the node that appears on an access link by its
/// link-layer address (`node-identity: link-layer-address`, the default).
/// A node that boots sends a Router Solicitation with its address in it. A
/// node that moves does not: when carrier returns on an interface it has
/// configured, Linux only repeats its MLD reports. So the MAR reads the
/// source address of the first frame the node sends, from a packet socket on
/// each access link with no node on it (it sees every frame on the link, so
/// it is closed once the node is named). Frames arrive only while the link
/// has carrier, so whatever is queued when the link comes up is the new
/// node's: usually the Neighbor Solicitation for its router and the packets
/// it held while its link was down, or else its answer to the link-up Router
/// Advertisement. A node with nothing to send is asked for a frame:
///
///     Echo Request to ff02::1 --> Echo Reply from the node: its frame's source address --> attached
///
/// the Echo Request repeated every `probeInterval`, `probeCount` times in
/// all. A Router Solicitation with a source link-layer address attaches the
/// node at any point.
extension MARDaemon {
    struct Probe {
        var frames: FrameSource
        /// The Echo Requests, once the link is up: out of which interface,
        /// how many so far, when the next is due.
        var interface: Int32?
        var sent = 0
        var next: Instant?
    }

    static let probeInterval: Seconds = 0.01
    static let probeCount = 100
    /// Identifier of our Echo Requests (RFC 4443 section 4.1).
    static let probeIdentifier: UInt16 = 0x444D

    /// Starts keeping the frames that arrive on an access link with no node,
    /// to be read when it comes up.
    func watchFrames(_ link: String, interface: Int32) {
        guard config.nodeIdentity == .linkLayerAddress, !engine.isAttached(LinkID(link)) else { return }
        endProbe(link)
        do {
            probes[link] = Probe(frames: try FrameSource(interface: interface))
        } catch {
            log.error("node-naming", ["link": link, "error": error, "waiting_for": "a Router Solicitation"])
        }
    }

    /// Names the node from the first frame it sent, if one came.
    func framesArrived(on link: String) {
        guard let mac = probes[link]?.frames.nextSender() else { return }
        attachNode(MobileNodeID(linkLayerAddress: mac), on: link, linkLayerAddress: mac)
    }

    /// The link is up and its node still unnamed: read each frame as it
    /// comes, and send Echo Requests until one does.
    func startProbing(_ link: String, interface: Int32) {
        guard var probe = probes[link] else { return }
        probe.interface = interface
        probe.next = wallClock()
        probes[link] = probe
        reactor.watch(probe.frames.fd) { [unowned self] in framesArrived(on: link) }
        sendProbes(at: wallClock())
    }

    func endProbe(_ link: String) {
        if let probe = probes.removeValue(forKey: link) { reactor.unwatch(probe.frames.fd) }
    }

    /// Sends the Echo Requests that are due.
    func sendProbes(at now: Instant) {
        let a = config.router.advertisement
        for (link, var probe) in probes {
            guard let interface = probe.interface, let next = probe.next, next <= now else { continue }
            guard probe.sent < Self.probeCount else {
                endProbe(link)
                log.warning("node-unanswered", ["link": link, "probes": probe.sent])
                continue
            }
            let id = Self.probeIdentifier
            let request = ICMPv6Message.other(type: 128, code: 0, body: [UInt8(id >> 8), UInt8(id & 0xFF), 0, UInt8(truncatingIfNeeded: probe.sent)])
            do {
                try icmp.send(try request.encode(source: .unspecified, destination: .unspecified), to: IPv6Address("ff02::1")!,
                              from: a.linkLocalAddress, interface: interface, hopLimit: 255)
            } catch {
                log.warning("probe", ["link": link, "error": error])
            }
            probe.sent += 1
            probe.next = now + Self.probeInterval
            probes[link] = probe
        }
    }

    /// The earliest probe due, for the reactor's timeout.
    var nextProbe: Instant? { probes.values.compactMap(\.next).min() }

    /// The location query goes out before the log line is written.
    func attachNode(_ node: MobileNodeID, on link: String, linkLayerAddress: [UInt8]) {
        endProbe(link)
        engine.handle(.attached(node, link: LinkID(link), linkLayerAddress: linkLayerAddress), at: wallClock())
        perform()
        log.info("attach", ["link": link, "node": node])
        metrics.add("dmm_attachments_total")
    }
}
